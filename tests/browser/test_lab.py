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
