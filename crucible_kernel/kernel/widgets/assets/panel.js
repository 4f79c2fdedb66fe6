// Shared by the panel views (the services panel, the plugin card): the kernel puts this file in
// front of each view's module.

// A duration as the panels show it: 42s, 5m, 1.5h.
function age(seconds) {
  if (seconds < 60) return `${Math.max(0, Math.round(seconds))}s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)}m`;
  return `${(seconds / 3600).toFixed(1)}h`;
}

// An element; `text` becomes its textContent, so what a plugin wrote is never read as HTML.
function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("data-")) node.setAttribute(key, value);
    else node[key] = value;
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

// Draws once now and once per burst of changes to `fields` (one message may change several),
// ticks the clock every second, and asks the kernel for fresh state: what was saved may be old
// (a second view, a reloaded page). Returns the view's clean-up.
function follow(model, fields, draw, tick) {
  let scheduled = false;
  function schedule() {
    if (scheduled) return;
    scheduled = true;
    queueMicrotask(() => {
      scheduled = false;
      draw();
    });
  }
  for (const f of fields) model.on(`change:${f}`, schedule);
  draw();
  const ticker = setInterval(tick, 1000);
  model.send({ refresh: true });
  return () => {
    clearInterval(ticker);
    for (const f of fields) model.off(`change:${f}`, schedule);
  };
}
