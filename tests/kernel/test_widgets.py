"""Widgets through jupyter_client, as a frontend drives them: the limiter gauge, controls whose
callbacks run Lua, the session widget, and the widget state an executed notebook keeps."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from typing import Any

import pytest

import tests.runtime.conftest as runtime_fixtures
from crucible_kernel.notebooks import execute_notebook, format_outputs

from .conftest import KERNEL_NAME, Kernel, Run, notebook

host = runtime_fixtures.host
lua = runtime_fixtures.lua

VIEW = "application/vnd.jupyter.widget-view+json"


def view_of(run: Run) -> dict[str, Any]:
    """The one widget output a cell made: its data."""
    shown = [m["content"]["data"] for m in run.of_type("display_data") if VIEW in m["content"]["data"]]
    assert len(shown) == 1, f"expected one widget output, got {len(shown)}"
    return shown[0]


def model_id(run: Run) -> str:
    return view_of(run)[VIEW]["model_id"]


def updates(messages: list[dict[str, Any]], comm_id: str) -> list[dict[str, Any]]:
    """The states sent to the frontend in comm_msg updates of one model."""
    return [
        m["content"]["data"]["state"]
        for m in messages
        if m["msg_type"] == "comm_msg"
        and m["content"]["comm_id"] == comm_id
        and m["content"]["data"].get("method") == "update"
    ]


def listen(k: Kernel, seconds: float) -> list[dict[str, Any]]:
    """Every IOPub message that arrives in the next `seconds` (kept as strays too)."""
    got = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            msg = k.client.get_iopub_msg(timeout=left)
        except Exception:
            break
        msg["received"] = time.monotonic()
        k.stray.append(msg)
        got.append(msg)
    return got


def send_comm(k: Kernel, comm_id: str, data: dict[str, Any]) -> None:
    """A comm_msg as a frontend's widget manager sends it."""
    msg = k.client.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
    k.client.shell_channel.send(msg)


def click(k: Kernel, comm_id: str) -> None:
    send_comm(k, comm_id, {"method": "custom", "content": {"event": "click"}})


def stream_of(k: Kernel, parent: str, needle: str, name: str = "stdout", timeout: float = 10) -> str:
    """Wait for late output of cell `parent` containing `needle`; return all of it so far."""

    def found(_msg: dict[str, Any]) -> bool:
        return needle in late_text(k, parent, name)

    k.wait_for_stray(found, timeout)
    return late_text(k, parent, name)


def late_text(k: Kernel, parent: str, name: str = "stdout") -> str:
    return "".join(
        m["content"]["text"]
        for m in k.stray
        if m["msg_type"] == "stream"
        and m["content"]["name"] == name
        and m["parent_header"].get("msg_id") == parent
    )


def parent_of(run: Run) -> str:
    return run.reply["parent_header"]["msg_id"]


# Rate limiters ------------------------------------------------------------------------------------


def test_a_limiter_as_a_cells_value_is_a_gauge_with_its_numbers_as_text(kernel):
    run = kernel.execute("lim = cru.ratelimit.new{capacity = 4, interval = 0.5}\nlim:try_acquire()\nlim")
    assert run.content["status"] == "ok"
    data = view_of(run)
    assert re.fullmatch(
        r"RateLimiter: 3\.\d of 4 tokens, refills 2 tokens/s; granted 1, refused 0, waiting 0",
        data["text/plain"],
    )
    opened = [m for m in run.of_type("comm_open") if m["content"]["comm_id"] == data[VIEW]["model_id"]]
    state = opened[0]["content"]["data"]["state"]
    assert state["_model_module"] == "anywidget" and "refill" in state["_esm"]
    assert (state["capacity"], state["interval"], state["granted"], state["refused"]) == (4.0, 0.5, 1, 0)


def test_every_display_of_a_limiter_shares_one_model(kernel):
    first = kernel.execute("shared = cru.ratelimit.new{}\ndisplay(shared)")
    again = kernel.execute("display(shared)\nshared")
    ids = {model_id(first)} | {m["content"]["data"][VIEW]["model_id"] for m in again.of_type("display_data")}
    assert len(ids) == 1
    assert again.of_type("comm_open") == []


def test_the_gauge_changes_after_its_cell_has_finished(kernel):
    run = kernel.execute(
        """
        bg = cru.ratelimit.new{capacity = 2, interval = 0.05}
        cru.spawn(function() for i = 1, 8 do bg:acquire() end end)
        bg
        """
    )
    finished = time.monotonic()
    comm_id = model_id(run)
    late = []
    deadline = time.monotonic() + 10
    while not any(s.get("granted") == 8 for s in late) and time.monotonic() < deadline:
        late += updates(listen(kernel, 0.2), comm_id)
    assert any(s.get("granted") == 8 for s in late), late
    opened = [m["content"]["data"]["state"] for m in run.of_type("comm_open")]
    assert any(s.get("waiting") == 1 for s in opened + late)  # while the task waited for a refill
    assert late[-1]["waiting"] == 0
    late_messages = [
        m for m in kernel.stray if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id
    ]
    assert late_messages and all(m["received"] > finished for m in late_messages)


def test_ten_thousand_acquires_give_a_few_messages(kernel):
    run = kernel.execute(
        """
        busy = cru.ratelimit.new{capacity = 100, interval = 0.001}
        display(busy)
        for i = 1, 10000 do busy:try_acquire() end
        """
    )
    comm_id = model_id(run)
    during = updates(run.messages, comm_id)
    after = updates(listen(kernel, 0.5), comm_id)
    assert 1 <= len(during) + len(after) <= 3
    last = (during + after)[-1]
    assert last["granted"] + last["refused"] == 10000


def test_a_limiter_under_load_sends_about_ten_updates_a_second(kernel):
    run = kernel.execute(
        """
        load = cru.ratelimit.new{capacity = 50, interval = 0.0001}
        cru.spawn(function()
          local t0 = cru.timer.clock()
          while cru.timer.clock() - t0 < 1 do
            for i = 1, 200 do load:try_acquire() end
            cru.timer.sleep(0)
          end
        end)
        load
        """
    )
    sent = updates(listen(kernel, 1.5), model_id(run))
    assert 3 <= len(sent) <= 16  # at most one per 0.1 s of the 1 s of load, plus the first


# Controls ---------------------------------------------------------------------------------------------


def test_a_button_click_runs_its_lua_callback_with_output_in_its_cell(kernel):
    run = kernel.execute(
        """
        clicks = 0
        go = cru.widgets.button("Go", function(b) clicks = clicks + 1 print("clicked", clicks, b.label) end)
        go
        """
    )
    assert view_of(run)["text/plain"] == "[ Go ] button (0 clicks)"
    comm_id = model_id(run)
    click(kernel, comm_id)
    click(kernel, comm_id)
    text = stream_of(kernel, parent_of(run), "clicked\t2\tGo")
    assert "clicked\t1\tGo" in text
    assert kernel.execute("return clicks, go.clicks").result == "2\t2"
    assert kernel.execute("tostring(go)").result == '"[ Go ] button (2 clicks)"'


def test_a_callback_may_wait_and_runs_while_a_cell_is_busy(kernel):
    run = kernel.execute(
        'patient = cru.widgets.button("wait", function() cru.timer.sleep(0.05) print("waited") end)\npatient'
    )
    comm_id = model_id(run)
    busy = kernel.client.execute("cru.timer.sleep(1)")
    time.sleep(0.2)
    click(kernel, comm_id)
    stream_of(kernel, parent_of(run), "waited")
    kernel.collect(busy)


def test_the_stop_button_interrupts_a_busy_callback_and_the_kernel_answers(kernel):
    run = kernel.execute(
        'spin = cru.widgets.button("spin", function() print("spinning") while true do end end)\nspin'
    )
    click(kernel, model_id(run))
    stream_of(kernel, parent_of(run), "spinning")
    time.sleep(0.2)
    kernel.manager.interrupt_kernel()
    assert kernel.execute("1 + 1", timeout=10).result == "2"


def test_a_failing_callback_reports_its_error_in_its_cell(kernel):
    run = kernel.execute('bad = cru.widgets.button("bad", function() error("boom") end)\nbad')
    click(kernel, model_id(run))
    text = stream_of(kernel, parent_of(run), "boom", name="stderr")
    assert "Widget callback error:" in text and "boom" in text


def test_a_slider_runs_on_change_for_changes_from_the_page_and_from_lua(kernel):
    run = kernel.execute(
        """
        level = cru.widgets.slider{min = 0, max = 10, label = "level",
          on_change = function(v, s) print("now", v, s.value) end}
        level
        """
    )
    assert view_of(run)["text/plain"] == "level: 0 (slider 0..10, step 1)"
    send_comm(kernel, model_id(run), {"method": "update", "state": {"value": 7}, "buffer_paths": []})
    stream_of(kernel, parent_of(run), "now\t7\t7")
    assert kernel.execute("level.value").result == "7"
    kernel.execute("level.value = 3")
    stream_of(kernel, parent_of(run), "now\t3\t3")


def test_a_float_slider_and_its_defaults(kernel):
    run = kernel.execute("f = cru.widgets.slider{min = 0, max = 1.5, value = 0.25}\nf")
    assert view_of(run)["text/plain"] == "0.25 (slider 0..1.5, step 0.015)"
    opened = [m["content"]["data"]["state"] for m in run.of_type("comm_open")]
    assert any(s["_model_name"] == "FloatSliderModel" for s in opened)


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("cru.widgets.button()", "bad argument #1 to 'button' (string expected, got nil)"),
        ("cru.widgets.button('x', 5)", "bad argument #2 to 'button' (function expected, got number)"),
        ("cru.widgets.slider{min = 5, max = 1}", "slider: min (5) must be less than max (1)"),
        ("cru.widgets.slider{value = 200}", "slider: value 200 is outside min..max (0..100)"),
        (
            "cru.widgets.slider{max = 'a lot'}",
            "bad option 'max' to 'slider' (finite number expected, got string)",
        ),
        (
            "cru.widgets.slider{on_change = 1}",
            "bad option 'on_change' to 'slider' (function expected, got number)",
        ),
        ("cru.widgets.slider{step = 0}", "slider: step must be positive, got 0"),
        (
            "cru.widgets.button('x').nope = 1",
            "a button has no property 'nope' that can be set (label, disabled)",
        ),
        ("cru.widgets.slider{}.value = 'x'", "a slider's value must be a finite number, got string"),
        ("cru.widgets.slider{}.value = 2.5", "an integer slider's value must be an integer, got 2.5"),
        ("cru.widgets.slider{}.max = -1", "a slider's min must stay below its max (now 0..100; max -1)"),
    ],
)
def test_bad_widget_arguments_are_clear_errors_at_the_callers_line(kernel, code, message):
    run = kernel.execute(code)
    assert run.content["status"] == "error"
    assert run.content["evalue"].endswith(message), run.content["evalue"]
    assert re.match(r"cell\[\d+\]:1: ", run.content["evalue"])


def test_widget_properties_read_and_write(kernel):
    kernel.execute("p = cru.widgets.button('one')\np.label = 'two'\np.disabled = true")
    assert kernel.execute("return p.label, p.disabled, p.clicks, p.nothing").result == '"two"\ttrue\t0\tnil'
    assert kernel.execute("tostring(p)").result == '"[ two ] button (0 clicks, disabled)"'


def test_a_closed_widget_stops_running_callbacks(kernel):
    run = kernel.execute('gone = cru.widgets.button("gone", function() print("should not run") end)\ngone')
    comm_id = model_id(run)
    closed = kernel.execute("gone:close()")
    assert any(m["msg_type"] == "comm_close" and m["content"]["comm_id"] == comm_id for m in closed.messages)
    click(kernel, comm_id)
    listen(kernel, 0.3)
    assert "should not run" not in late_text(kernel, parent_of(run))
    assert kernel.execute("tostring(gone)").result == '"<closed widget>"'


def test_running_a_cell_again_closes_the_controls_its_previous_run_made(kernel):
    code = 'again = cru.widgets.button("again", function() print("clicked " .. tostring(again)) end)\nagain'
    first = kernel.execute(code)
    kept = kernel.execute('kept = cru.widgets.slider{label = "kept"}\nkept')
    second = kernel.execute(code)
    old, new = model_id(first), model_id(second)
    assert old != new
    assert any(m["msg_type"] == "comm_close" and m["content"]["comm_id"] == old for m in second.messages)
    assert not any(
        m["msg_type"] == "comm_close" and m["content"]["comm_id"] == model_id(kept) for m in second.messages
    )
    click(kernel, old)
    click(kernel, new)
    assert stream_of(kernel, parent_of(second), "clicked") == "clicked [ again ] button (1 click)\n"
    assert "clicked" not in late_text(kernel, parent_of(first))
    assert kernel.execute("kept.value = 3\nreturn kept.value").result == "3"


def test_after_a_reset_old_widgets_go_inert_and_new_ones_work(fresh_kernel):
    old = fresh_kernel.execute('old = cru.widgets.button("old", function() print("old ran") end)\nold')
    reset = fresh_kernel.execute("%reset")
    disabled = updates(reset.messages + listen(fresh_kernel, 0.3), model_id(old))
    assert {"disabled": True} in disabled
    click(fresh_kernel, model_id(old))
    listen(fresh_kernel, 0.3)
    assert "old ran" not in late_text(fresh_kernel, parent_of(old))
    new = fresh_kernel.execute('new = cru.widgets.button("new", function() print("new ran") end)\nnew')
    click(fresh_kernel, model_id(new))
    stream_of(fresh_kernel, parent_of(new), "new ran")


# Sessions ---------------------------------------------------------------------------------------------


def test_a_session_widget_follows_the_conversation(kernel):
    run = kernel.execute(
        """
        chat = cru.sessions.create({provider = "echo", delay = 0.01})
        chat_view = cru.sessions.widget(chat.id)
        chat_view
        """
    )
    comm_id = model_id(run)
    assert view_of(run)["text/plain"].startswith("session ")
    kernel.execute('cru.sessions.send_message(chat.id, "hello there widget")')
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        seen += updates(listen(kernel, 0.2), comm_id) + updates(kernel.stray, comm_id)
        texts = [o["data"]["text/markdown"] for s in seen for o in s.get("outputs", [])]
        if any("Echo: hello there widget" in t and "tokens" in t for t in texts):
            break
    texts = [o["data"]["text/markdown"] for s in seen for o in s.get("outputs", [])]
    assert any("Echo: hello there widget" in t for t in texts), texts
    assert kernel.execute("tostring(chat_view)").result.count("agent: Echo: hello there widget") == 1


def test_a_session_widget_of_an_unknown_session_is_an_error_value(kernel):
    assert kernel.execute("return cru.sessions.widget('nope')").result == 'nil\t"Session not found: nope"'
    run = kernel.execute("cru.widgets.session({})")
    assert "bad argument #1 to 'widget' (string expected, got nil)" in run.content["evalue"]


# Start-up and saved notebooks ---------------------------------------------------------------------


def test_the_widget_comm_targets_answer_a_frontend_from_the_start(fresh_kernel):
    k = fresh_kernel
    comm_id = "control-1"
    opening = k.client.session.msg(
        "comm_open",
        {"comm_id": comm_id, "target_name": "jupyter.widget.control", "data": {}},
    )
    opening["metadata"] = {"version": "1.0.0"}
    k.client.shell_channel.send(opening)
    send_comm(k, comm_id, {"method": "request_states"})
    deadline = time.monotonic() + 10
    replies: list[dict[str, Any]] = []
    while not replies and time.monotonic() < deadline:
        replies = [
            m for m in listen(k, 0.2) if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == comm_id
        ]
    assert replies and replies[0]["content"]["data"]["method"] == "update_states"
    errors = [m for m in k.stray if m["msg_type"] == "stream" and "No such comm" in m["content"]["text"]]
    assert errors == []


def test_the_kernel_module_does_not_import_ipywidgets():
    code = (
        "import sys\n"
        "import crucible_kernel.kernel.kernel\n"
        "from crucible_kernel.kernel.widgets.comms import WidgetComms\n"
        "class Manager:\n"
        "    targets = {}\n"
        "    def register_target(self, name, fn): self.targets[name] = fn\n"
        "WidgetComms(Manager())\n"
        "print(sorted(m for m in ('ipywidgets', 'anywidget') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_an_executed_notebook_keeps_the_widget_state_and_current_text(tmp_path):
    cells = [
        "lim = cru.ratelimit.new{capacity = 5, interval = 100}\nlim",
        "for i = 1, 7 do lim:try_acquire() end",
        "b = cru.widgets.button('press')\nb.label = 'pressed'\nb",
    ]
    path = notebook(tmp_path / "widgets.ipynb", *cells)
    nb = execute_notebook(str(path), kernel_name=KERNEL_NAME, timeout=60)
    states = nb.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    limiter = next(
        s["state"] for s in states.values() if s["state"].get("_anywidget_id", "").endswith("LimiterModel")
    )
    assert (limiter["granted"], limiter["refused"]) == (5, 2)
    button = next(s["state"] for s in states.values() if s["model_name"] == "ButtonModel")
    assert button["description"] == "pressed"
    # The limiter's output shows its numbers at the last cell's end, not those it had when shown.
    text = nb.cells[0].outputs[0]["data"]["text/plain"]
    assert "granted 5, refused 2" in text
    assert "[ pressed ] button (0 clicks)" in format_outputs(nb)


# Help -------------------------------------------------------------------------------------------------


async def test_every_widget_function_has_a_description(lua):
    from crucible_kernel.kernel.docs import doc_of, public_functions
    from crucible_kernel.kernel.widgets.binding import WidgetBinding

    rt = lua.runtime
    WidgetBinding(None, rt)  # type: ignore[arg-type]  # installing needs no kernel
    close = await lua.eval("return cru.widgets.button('x').close")
    roots = {"cru.widgets": rt.cru[b"widgets"], "cru.sessions": rt.cru[b"sessions"]}
    functions = [*public_functions(rt, roots), ("widget:close", close)]
    paths = {path for path, _ in functions}
    assert {"cru.widgets.button", "cru.widgets.slider"} <= paths
    assert paths & {"cru.widgets.session", "cru.sessions.widget"}  # one function, listed once
    missing = sorted(path for path, fn in functions if not ((doc := doc_of(rt, fn)) and doc.summary))
    assert missing == [], "functions without a doc comment: " + ", ".join(missing)
