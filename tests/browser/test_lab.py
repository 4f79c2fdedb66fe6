"""The kernel in JupyterLab, driven as a person does and checked in the page itself.

Each test opens a notebook of its own; screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

import re
import time


def test_a_limiter_gauge_moves_after_its_cell_has_finished(open_notebook):
    nb = open_notebook(
        "limiter",
        [
            "lim = cru.ratelimit.new{capacity = 10, interval = 0.1}\n"
            "for i = 1, 10 do lim:try_acquire() end\n"
            "cru.spawn(function()\n"
            "  for i = 1, 30 do lim:acquire() cru.timer.sleep(0.05) end\n"
            "end)\n"
            "lim",
            "print('another cell')",
        ],
    )
    nb.run(0)
    gauge = nb.cell(0).locator(".crucible-limiter")
    gauge.wait_for()
    assert "RateLimiter" in gauge.inner_text()
    assert nb.prompt(0) == "[1]:"  # the cell has finished; the task goes on

    def granted() -> int:
        return int(gauge.locator(".cl-granted").inner_text())

    first = granted()
    nb.screenshot("early")
    later = nb.wait_for(lambda: granted() >= first + 5 and granted(), what="more granted acquires")
    assert later > first
    assert "waiting" in gauge.inner_text()
    nb.run(1)
    assert "another cell" in nb.output_text(1)
    nb.wait_for(lambda: granted() == 40, timeout=20, what="all 40 acquires")
    # Left alone, the gauge refills in the page (one token every 0.1 s) with no message.
    low = float(gauge.get_attribute("data-tokens"))
    full = nb.wait_for(lambda: float(gauge.get_attribute("data-tokens")) >= 9.99, what="a full gauge")
    assert full and low < 9.99
    assert gauge.locator(".cl-tokens").inner_text() == "10.0 / 10 tokens"
    nb.screenshot("full")


def test_a_streamed_session_appears_grows_and_keeps_growing_after_a_reload(open_notebook):
    words = " ".join(f"word{i}" for i in range(1, 81))
    nb = open_notebook(
        "session",
        [
            'chat = cru.sessions.create({provider = "echo", delay = 0.1})\n'
            f'cru.sessions.send_message(chat.id, "{words}")\n'
            "cru.sessions.widget(chat.id)"
        ],
    )
    nb.run(0)

    def reply() -> str:
        output = nb.cell(0).locator(".widget-output")
        text = output.inner_text() if output.count() else ""
        return " ".join(text.split("Echo:", 1)[1].split()) if "Echo:" in text else ""

    early = nb.wait_for(reply, what="the reply")
    grown = nb.wait_for(lambda: len(reply()) > len(early) and reply(), what="more of the reply")
    assert grown.startswith(early.removesuffix("..."))
    nb.screenshot("streaming")
    # The widget's content lives in the kernel: a reloaded page shows it and follows it on.
    nb.save()
    nb.reload()
    resumed = nb.wait_for(reply, what="the reply after the reload")
    assert "word80" not in resumed, "the turn ended before the page was back: nothing left to check"
    final = nb.wait_for(lambda: "word80" in reply() and reply(), timeout=30, what="the whole reply")
    assert final.startswith(words)
    nb.wait_for(lambda: "tokens" in nb.output_text(0), what="the end of the turn")
    nb.screenshot("after-reload")


def test_late_output_of_a_task_lands_in_its_own_cell_while_another_runs(open_notebook):
    nb = open_notebook(
        "late-output",
        [
            "cru.spawn(function()\n"
            "  for i = 1, 8 do cru.timer.sleep(0.3) print('tick ' .. i) end\n"
            "end)\n"
            "print('spawned')",
            "cru.timer.sleep(2)\nprint('busy cell done')",
        ],
    )
    nb.run(0)
    nb.run(1, wait=False)
    nb.wait_for(lambda: "tick 3" in nb.output_text(0), what="late ticks in the first cell")
    assert nb.prompt(1) == "[*]:"  # the second cell is still running
    assert "tick" not in nb.output_text(1)
    nb.screenshot("while-busy")
    nb.wait_done(1)
    nb.wait_for(lambda: "tick 8" in nb.output_text(0), what="the last tick")
    assert nb.output_text(1).strip() == "busy cell done"
    assert re.findall(r"tick \d", nb.output_text(0)) == [f"tick {i}" for i in range(1, 9)]


def test_the_stop_button_interrupts_a_busy_loop_and_the_next_cell_runs(open_notebook):
    nb = open_notebook(
        "interrupt",
        ["n = 0\nwhile true do n = n + 1 end", "print('next cell ran', n > 0)"],
    )
    nb.run(0, wait=False)
    nb.wait_for(lambda: nb.prompt(0) == "[*]:", what="the busy cell")
    nb.page.wait_for_timeout(500)
    stop = nb.page.locator('.jp-NotebookPanel:not(.lm-mod-hidden) [data-command="notebook:interrupt-kernel"]')
    clicked = time.monotonic()
    stop.click()
    nb.wait_done(0, timeout=1)  # the bound: the loop stops within a second
    took = time.monotonic() - clicked
    assert "interrupted" in nb.output_text(0)
    nb.screenshot("interrupted")
    nb.run(1)
    assert nb.output_text(1).strip() == "next cell ran\ttrue", f"(interrupted after {took:.2f} s)"


CARDY_INIT = """
return {
  tools = {
    greet = {desc = "Says hello", fn = function(args) return "hello" end},
    %s
  },
  commands = {ping = {desc = "Answers pong", fn = function() return "pong" end}},
  services = {beat = {desc = "beats", fn = function() while true do cru.timer.sleep(0.1) end end}},
}
"""


def write_cardy(folder, version: str, extra_tool: str = "") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plugin.yaml").write_text(
        f"name: cardy\nversion: {version}\ndescription: A plugin with a card\n"
    )
    (folder / "init.lua").write_text(CARDY_INIT % extra_tool)


def test_the_services_panel_follows_a_service_and_a_plugin_card_reloads(open_notebook, lab):
    cardy = lab.home / "plugins" / "cardy"
    write_cardy(cardy, "1.0.0")
    nb = open_notebook(
        "panels",
        [
            "%services",
            "attempts = 0\n"
            'cru.service.define{name = "flaky", desc = "fails twice, then runs",\n'
            "  restart = {max_retries = 5, base_delay = 1, max_delay = 1},\n"
            "  start = function()\n"
            "    attempts = attempts + 1\n"
            '    print("attempt " .. attempts)\n'
            "    cru.timer.sleep(1)\n"
            '    if attempts <= 2 then error("lost the connection (attempt " .. attempts .. ")") end\n'
            '    while true do cru.timer.sleep(0.2) print("working") end\n'
            "  end}\n"
            'cru.services.start("flaky")',
            f"p = cru.plugins.load({str(cardy)!r})\np",
        ],
    )
    nb.run(0)
    panel = nb.cell(0).locator(".crucible-services")
    panel.wait_for()
    assert "No services yet" in panel.inner_text()
    nb.run(1)
    row = panel.locator('.cp-row[data-service="flaky"]')
    row.wait_for()

    # Watch the row while the service runs, fails, is restarted, fails and runs again.
    seen: list[tuple[str, str]] = []

    def settled() -> bool:
        if not row.count():
            return False
        # One snapshot of the row: the view may redraw between two separate reads.
        state, restarts, label, text = row.evaluate(
            "el => [el.dataset.state, el.dataset.restarts,"
            " el.querySelector('.cp-state').textContent, el.innerText]"
        )
        if not seen or seen[-1] != (state, restarts):
            seen.append((state, restarts))
        if (state, restarts) == ("starting", "0") and "lost the connection (attempt 1)" in text:
            assert label == "restarting"
            nb.screenshot("services-failed-once")
        return seen[-1:] == [("running", "2")] and "working" in text

    nb.wait_for(settled, timeout=30, what="the service running after two restarts")
    # It ran, failed (restarting, no restart counted yet), ran again, failed, and runs.
    expected = iter(seen)
    order = [("running", "0"), ("starting", "0"), ("running", "1"), ("starting", "1"), ("running", "2")]
    assert all(state in expected for state in order), seen  # in this order, others between
    assert "lost the connection (attempt 2)" in row.locator(".cp-error summary").inner_text()
    assert row.locator(".cp-up").inner_text().startswith("up ")
    # Opened details stay open while the row is redrawn with new output.
    row.locator(".cp-error summary").click()
    row.locator(".cp-recent summary").click()
    output = row.locator("pre.cp-output")
    lines = output.inner_text().count("working")
    nb.wait_for(lambda: output.count() and output.inner_text().count("working") > lines, what="more output")
    assert "stack traceback:" in row.locator("pre.cp-traceback").inner_text()
    nb.screenshot("services-restarted")

    # The stop button stops it.
    row.locator(".cp-stop").click()
    nb.wait_for(lambda: row.get_attribute("data-state") == "stopped", what="the service stopped")
    nb.wait_for(lambda: "stopped flaky" in panel.locator(".cp-notice").inner_text(), what="the notice")
    assert row.locator(".cp-stop").is_disabled()
    nb.screenshot("services-stopped")

    # A plugin's card: a reload picks up the changed files, and the card follows.
    nb.run(2)
    card = nb.cell(2).locator(".crucible-plugin")
    card.wait_for()
    assert card.get_attribute("data-version") == "1.0.0"
    nb.wait_for(
        lambda: card.locator('.cp-service[data-service="beat"]').get_attribute("data-state") == "running",
        what="the plugin's service running on its card",
    )
    assert "greet" in card.locator(".cp-tools").inner_text()
    assert nb.wait_for(lambda: panel.locator('.cp-row[data-service="cardy/beat"]').count(), what="its row")
    write_cardy(cardy, "1.1.0", 'wave = {desc = "Waves", fn = function() return "wave" end},')
    card.locator(".cp-reload").click()
    nb.wait_for(lambda: card.get_attribute("data-version") == "1.1.0", what="the reloaded version")
    nb.wait_for(lambda: "reloaded cardy" in card.inner_text(), what="the card's notice")
    assert "wave" in card.locator(".cp-tools").inner_text()
    nb.screenshot("plugin-card-reloaded")

    # Both live in the kernel: a reloaded page shows them as they are, and their buttons work.
    nb.save()
    nb.reload()
    panel.wait_for()
    nb.wait_for(
        lambda: row.get_attribute("data-state") == "stopped", what="the stopped service after the reload"
    )
    beat = panel.locator('.cp-row[data-service="cardy/beat"]')
    assert beat.get_attribute("data-state") == "running"
    assert card.get_attribute("data-version") == "1.1.0"
    row.locator(".cp-restart").click()
    nb.wait_for(lambda: row.get_attribute("data-state") == "running", what="the service started again")
    nb.wait_for(lambda: "restarted flaky" in panel.locator(".cp-notice").inner_text(), what="the notice")
    nb.screenshot("after-page-reload")
