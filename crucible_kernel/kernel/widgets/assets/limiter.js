// The rate limiter gauge (an anywidget view).
//
// The kernel sends the token count as of its last update; between updates the view refills the
// gauge itself, at one token every `interval` seconds up to `capacity`, as the bucket does. So
// the gauge moves smoothly while the kernel sends at most a few updates a second, and nothing
// at all while the limiter is left alone.

function number(x) {
  return x >= 100 ? Math.round(x).toLocaleString("en-US") : String(+x.toPrecision(3));
}

function rate(interval) {
  const perSecond = 1 / interval;
  if (perSecond === 1) return "1 token/s";
  if (perSecond > 1) return `${number(perSecond)} tokens/s`;
  return `1 token every ${number(interval)} s`;
}

function render({ model, el }) {
  el.classList.add("crucible-limiter");
  el.innerHTML = `
    <div class="cl-head">
      <span><span class="cl-title">RateLimiter</span> <span class="cl-tokens"></span></span>
      <span class="cl-rate"></span>
    </div>
    <div class="cl-gauge" role="meter"><div class="cl-fill"></div></div>
    <div class="cl-counts">
      <span>granted <b class="cl-granted"></b></span>
      <span>refused <b class="cl-refused"></b></span>
      <span>waiting <b class="cl-waiting"></b></span>
    </div>`;
  const $ = (selector) => el.querySelector(selector);
  const gauge = $(".cl-gauge");
  const fill = $(".cl-fill");
  const tokensText = $(".cl-tokens");
  let base = { tokens: 0, at: 0 };
  let frame = 0;

  function current() {
    const capacity = model.get("capacity");
    const elapsed = (performance.now() - base.at) / 1000;
    return Math.min(capacity, base.tokens + elapsed / model.get("interval"));
  }

  function draw() {
    frame = 0;
    const capacity = model.get("capacity");
    const tokens = current();
    const share = capacity > 0 ? tokens / capacity : 0;
    fill.style.width = `${(share * 100).toFixed(2)}%`;
    fill.classList.toggle("cl-empty", tokens < 1);
    fill.classList.toggle("cl-low", tokens >= 1 && share < 0.34);
    tokensText.textContent = `${tokens.toFixed(1)} / ${number(capacity)} token${capacity === 1 ? "" : "s"}`;
    gauge.setAttribute("aria-valuenow", tokens.toFixed(2));
    gauge.setAttribute("aria-valuemax", String(capacity));
    el.dataset.tokens = tokens.toFixed(3);
    if (tokens < capacity) frame = requestAnimationFrame(draw); // stop once full
  }

  function update() {
    base = { tokens: model.get("tokens"), at: performance.now() };
    $(".cl-rate").textContent = `capacity ${number(model.get("capacity"))} · refills ${rate(model.get("interval"))}`;
    $(".cl-granted").textContent = model.get("granted");
    $(".cl-refused").textContent = model.get("refused");
    $(".cl-waiting").textContent = model.get("waiting");
    if (!frame) frame = requestAnimationFrame(draw);
  }

  const fields = ["tokens", "capacity", "interval", "granted", "refused", "waiting"];
  for (const f of fields) model.on(`change:${f}`, update);
  update();
  // The saved token count may be old (a second view, a reloaded page): ask for a fresh one.
  model.send({ refresh: true });
  return () => {
    cancelAnimationFrame(frame);
    for (const f of fields) model.off(`change:${f}`, update);
  };
}

export default { render };
