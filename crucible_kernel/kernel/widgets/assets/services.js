// The services panel (an anywidget view): one row per supervised service.
//
// The kernel writes the rows when a service changes (at most 10 times a second) with its clock;
// between writes the view counts the up time on by itself. The stop and restart buttons send
// {action, service} to the kernel, which runs them as Lua tasks and answers with a notice.
// Everything a service wrote is put in the page as text (textContent), never as HTML.

const STATES = ["starting", "restarting", "running", "completed", "failed", "stopped"];

function render({ model, el }) {
  el.classList.add("crucible-panel", "crucible-services");
  const head = h("div", { class: "cp-head" });
  const title = h("span", { class: "cp-title", text: "Services" });
  const summary = h("span", { class: "cp-summary" });
  head.append(title, summary);
  const body = h("div", { class: "cp-body" });
  const notice = h("div", { class: "cp-notice" });
  el.append(head, body, notice);

  const open = new Set(); // the rows whose output or traceback the reader opened
  let offset = 0; // the page's clock minus the kernel's, at the last write

  function now() {
    return Date.now() / 1000 - offset;
  }

  function press(action, id, button) {
    button.disabled = true;
    model.send({ action, service: id });
  }

  function details(key, label, build, extra = "") {
    const node = h("details", { class: `cp-details ${extra}` }, h("summary", { text: label }));
    node.open = open.has(key);
    node.addEventListener("toggle", () => {
      if (node.open) open.add(key);
      else open.delete(key);
    });
    node.append(build());
    return node;
  }

  function row(service, busy, ended) {
    const item = h("div", {
      class: `cp-row cp-${service.state}`,
      "data-service": service.id,
      "data-state": service.state,
      "data-label": service.label,
      "data-restarts": String(service.restarts),
    });
    const name = h(
      "div",
      { class: "cp-name" },
      h("span", { class: "cp-id", text: service.id }),
      h("span", { class: "cp-kind", text: service.kind === "plugin" ? "plugin service" : "cru.service" }),
    );
    if (service.desc) name.append(h("span", { class: "cp-desc", text: service.desc }));
    const state = h("span", { class: `cp-state cp-badge-${service.label}`, text: service.label });
    const timing = h("span", { class: "cp-up" });
    timing.dataset.alive = service.alive ? "1" : "";
    timing.dataset.started = String(service.started_at);
    timing.dataset.since = String(service.state_since);
    const restarts = h("span", {
      class: "cp-restarts",
      text: service.restarts === 1 ? "1 restart" : `${service.restarts} restarts`,
    });
    const stop = h("button", { class: "cp-button cp-stop", text: "Stop", title: `stop ${service.id}` });
    stop.disabled = ended || !service.alive || busy.has(service.id);
    stop.addEventListener("click", () => press("stop", service.id, stop));
    const restart = h("button", {
      class: "cp-button cp-restart",
      text: service.alive ? "Restart" : "Start again",
      title: `${service.alive ? "restart" : "start"} ${service.id}`,
    });
    restart.disabled = ended || !service.restartable || busy.has(service.id);
    restart.addEventListener("click", () => press("restart", service.id, restart));
    const status = h("div", { class: "cp-status" }, state, timing, restarts);
    const buttons = h("div", { class: "cp-buttons" }, stop, restart);
    item.append(h("div", { class: "cp-line" }, name, status, buttons));
    if (service.error) {
      const traceback = () => h("pre", { class: "cp-traceback", text: service.traceback });
      item.append(details(`${service.id}:error`, `last error: ${service.error}`, traceback, "cp-error"));
    }
    if (service.output.length) {
      const lines = service.output;
      const last = lines[lines.length - 1].text;
      item.append(
        details(
          `${service.id}:output`,
          `output (last ${lines.length} lines): ${last}`,
          () => {
            const pre = h("pre", { class: "cp-output" });
            for (const line of lines) {
              pre.append(h("span", { class: `cp-${line.stream}`, text: `${line.text}\n` }));
            }
            return pre;
          },
          "cp-recent",
        ),
      );
    }
    return item;
  }

  function tick() {
    const t = now();
    for (const node of body.querySelectorAll(".cp-up")) {
      node.textContent = node.dataset.alive
        ? `up ${age(t - Number(node.dataset.started))}`
        : `${age(t - Number(node.dataset.since))} ago`;
    }
  }

  function draw() {
    offset = Date.now() / 1000 - model.get("clock");
    const services = model.get("services");
    const busy = new Set(model.get("busy"));
    const ended = model.get("ended");
    const counts = {};
    for (const s of services) counts[s.label] = (counts[s.label] || 0) + 1;
    summary.textContent = STATES.filter((s) => counts[s])
      .map((s) => `${counts[s]} ${s}`)
      .join(" · ");
    body.replaceChildren();
    if (!services.length) {
      body.append(
        h("div", {
          class: "cp-empty",
          text: "No services yet. A plugin's services start when it loads; cru.services.start(name) runs a cru.service.",
        }),
      );
    }
    for (const service of services) body.append(row(service, busy, ended));
    notice.textContent = ended
      ? "This Lua state has ended (%reset or a restart): the panel shows its last state."
      : model.get("notice");
    el.classList.toggle("cp-ended", ended);
    tick();
    for (const pre of body.querySelectorAll(".cp-output")) pre.scrollTop = pre.scrollHeight;
  }

  return follow(model, ["services", "clock", "notice", "busy", "ended"], draw, tick);
}

export default { render };
