// The card of a loaded plugin (an anywidget view): what it is, what it registered, its services
// with their live state, its last error, and a reload button.
//
// The kernel writes the plugin when it loads, fails, is unloaded or one of its services changes.
// The reload button sends {action: "reload"}; the kernel reloads the plugin in a Lua task and
// answers with a notice. What the plugin declared is put in the page as text, never as HTML.

function render({ model, el }) {
  el.classList.add("crucible-panel", "crucible-plugin");
  let offset = 0;
  let errorOpen = false;

  function chips(label, entries, make) {
    const list = h("div", { class: `cp-chips cp-${label}` }, h("span", { class: "cp-label", text: label }));
    if (!entries.length) list.append(h("span", { class: "cp-none", text: "none" }));
    for (const entry of entries) list.append(make(entry));
    return list;
  }

  function tick() {
    const loaded = el.querySelector(".cp-loaded");
    if (loaded) loaded.textContent = `loaded ${age(Date.now() / 1000 - offset - Number(loaded.dataset.at))} ago`;
  }

  function draw() {
    offset = Date.now() / 1000 - model.get("clock");
    const p = model.get("plugin");
    const busy = model.get("busy");
    const ended = model.get("ended");
    el.dataset.state = p.state;
    el.dataset.version = p.version;
    const reload = h("button", {
      class: "cp-button cp-reload",
      text: busy ? "Reloading…" : "Reload",
      title: `stop ${p.name}'s services, forget what it registered, and load it again from its files`,
    });
    reload.disabled = busy || ended || p.state === "unloaded";
    reload.addEventListener("click", () => {
      reload.disabled = true;
      model.send({ action: "reload" });
    });
    const head = h(
      "div",
      { class: "cp-head" },
      h(
        "span",
        { class: "cp-heading" },
        h("span", { class: "cp-title", text: p.name }),
        h("span", { class: "cp-version", text: p.version }),
        h("span", { class: `cp-state cp-badge-${p.state}`, text: p.state }),
      ),
      reload,
    );
    const meta = h("div", { class: "cp-meta" }, h("span", { class: "cp-path", text: p.path }));
    if (p.state === "active") {
      const loaded = h("span", { class: "cp-loaded" });
      loaded.dataset.at = String(p.loaded_at);
      meta.append(loaded);
    }
    const parts = [head];
    if (p.description) parts.push(h("div", { class: "cp-desc", text: p.description }));
    parts.push(meta);
    parts.push(chips("tools", p.tools, (t) => h("span", { class: "cp-chip", text: t.name, title: t.desc })));
    parts.push(
      chips("commands", p.commands, (c) =>
        h("span", { class: "cp-chip", text: c.name, title: [c.desc, c.hint].filter(Boolean).join(" — ") }),
      ),
    );
    parts.push(
      chips("services", p.services, (s) =>
        h(
          "span",
          {
            class: `cp-chip cp-service cp-${s.state.replace(" ", "-")}`,
            title: [s.desc, s.error].filter(Boolean).join("\n"),
            "data-service": s.name,
            "data-state": s.state,
          },
          h("span", { class: "cp-service-name", text: s.name }),
          h("span", {
            class: `cp-state cp-badge-${s.state.replace(" ", "-")}`,
            text: s.restarts ? `${s.state} · ${s.restarts} restarts` : s.state,
          }),
        ),
      ),
    );
    if (p.last_error) {
      const details = h(
        "details",
        { class: "cp-details cp-error" },
        h("summary", { text: `last error: ${p.last_error.split("\n")[0]}` }),
        h("pre", { class: "cp-traceback", text: p.last_error }),
      );
      details.open = errorOpen;
      details.addEventListener("toggle", () => (errorOpen = details.open));
      parts.push(details);
    }
    for (const w of p.warnings) parts.push(h("div", { class: "cp-warning", text: `warning: ${w}` }));
    parts.push(
      h("div", {
        class: "cp-notice",
        text: ended ? "This Lua state has ended (%reset or a restart): the card shows its last state." : model.get("notice"),
      }),
    );
    el.replaceChildren(...parts);
    el.classList.toggle("cp-ended", ended);
    tick();
  }

  return follow(model, ["plugin", "clock", "notice", "busy", "ended"], draw, tick);
}

export default { render };
