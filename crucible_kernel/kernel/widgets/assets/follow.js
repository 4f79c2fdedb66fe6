// Shared by the panel views: the kernel prepends this file to each view's module.

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
