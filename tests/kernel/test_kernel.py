"""The kernel through jupyter_client, as a notebook uses it."""

from __future__ import annotations

import queue
import time

import pytest

from .conftest import Kernel


def test_kernel_info_describes_lua_and_advertises_no_subshells(kernel):
    kernel.client.kernel_info()
    reply = kernel.client.get_shell_msg(timeout=10)
    content = reply["content"]
    info = content["language_info"]
    assert info["name"] == "lua"
    assert info["version"] == "5.4"
    assert info["mimetype"] == "text/x-lua"
    assert info["file_extension"] == ".lua"
    assert info["codemirror_mode"] == "lua"
    assert info["pygments_lexer"] == "lua"
    assert content["supported_features"] == []
    assert {link["text"] for link in content["help_links"]} >= {"Lua 5.4 reference manual"}


def test_a_subshell_request_is_refused_with_a_reason(kernel):
    msg = kernel.client.session.msg("create_subshell_request", {})
    kernel.client.control_channel.send(msg)
    reply = kernel.client.get_control_msg(timeout=10)
    assert reply["msg_type"] == "create_subshell_reply"
    assert reply["content"]["status"] == "error"
    assert "does not support subshells" in reply["content"]["evalue"]


# Results ---------------------------------------------------------------------------------------------


def test_a_bare_expression_is_the_cells_result(kernel):
    run = kernel.execute("40 + 2")
    assert run.content["status"] == "ok"
    assert run.result == "42"
    assert run.of_type("execute_result")[0]["content"]["execution_count"] == run.content["execution_count"]


def test_a_cell_ending_in_an_expression_shows_it(kernel):
    assert kernel.execute("local a = 20\nlocal b = 22\na + b").result == "42"


def test_several_return_values_are_shown_together(kernel):
    assert kernel.execute("return 1, 'two', nil").result == '1\t"two"\tnil'


def test_a_trailing_semicolon_suppresses_the_result(kernel):
    run = kernel.execute("1 + 1;")
    assert run.content["status"] == "ok"
    assert run.of_type("execute_result") == []


def test_a_statement_has_no_result(kernel):
    assert kernel.execute("x = 5").of_type("execute_result") == []
    assert kernel.execute("x").result == "5"


def test_tables_are_pretty_printed_with_sorted_keys(kernel):
    result = kernel.execute("{b = 2, a = 1, list = {1, 2, 3}}").result
    assert result is not None
    assert result.index("a = 1") < result.index("b = 2") < result.index("list")


# Output ----------------------------------------------------------------------------------------------


def test_print_and_io_write_go_to_stdout_and_stderr_to_stderr(kernel):
    run = kernel.execute('print("one", 2) io.write("three\\n") io.stderr:write("four\\n")')
    assert run.stream("stdout") == "one\t2\nthree\n"
    assert run.stream("stderr") == "four\n"


def test_log_lines_are_marked_with_their_level(kernel):
    run = kernel.execute('cru.log("info", "loaded") cru.log("warn", "careful") cru.log("error", "broken")')
    assert run.stream("stdout") == "[info] loaded\n"
    assert run.stream("stderr") == "[warn] careful\n[error] broken\n"


def test_output_streams_while_the_cell_runs(kernel):
    run = kernel.execute('print("before") cru.timer.sleep(1) print("after")')
    streams = run.of_type("stream")
    assert streams[0]["content"]["text"] == "before\n"  # sent before the sleep, not with "after"
    assert run.stream() == "before\nafter\n"


def test_a_hundred_thousand_prints_arrive_in_a_few_dozen_messages(kernel):
    run = kernel.execute("for i = 1, 100000 do print(i) end")
    assert run.content["status"] == "ok"
    text = run.stream()
    assert text.count("\n") == 100_000
    assert text.endswith("99999\n100000\n")
    assert len(run.of_type("stream")) <= 60


# Errors ----------------------------------------------------------------------------------------------


def test_an_error_names_the_cell_and_line_and_the_next_cell_works(kernel):
    run = kernel.execute("local function f()\n  error('broken')\nend\nf()")
    assert run.content["status"] == "error"
    n = run.content["execution_count"]
    assert run.content["ename"] == "LuaError"
    assert run.content["evalue"] == f"cell[{n}]:2: broken"
    traceback = "\n".join(run.content["traceback"])
    assert f"cell[{n}]:4: in main chunk" in traceback
    assert "crucible/" not in traceback
    errors = run.of_type("error")
    assert len(errors) == 1
    assert kernel.execute("1 + 1").result == "2"


def test_a_table_error_is_shown_pretty_printed_not_as_an_address(kernel):
    run = kernel.execute("error({code = 42, retry = {after = 1.5}})")
    assert run.content["status"] == "error"
    assert run.content["evalue"] == "{code = 42, retry = {after = 1.5}}"
    traceback = run.content["traceback"]
    assert "{code = 42, retry = {after = 1.5}}" in traceback[0]
    assert f"cell[{run.content['execution_count']}]:1: in main chunk" in "\n".join(traceback)
    assert "table: 0x" not in "\n".join(traceback)
    assert len(run.of_type("error")) == 1


def test_a_table_errors_message_field_is_its_text_and_the_table_follows(kernel):
    run = kernel.execute('local e = {code = 42, message = "upstream refused"}\nerror(e)')
    assert run.content["evalue"] == "upstream refused"
    traceback = run.content["traceback"]
    assert "upstream refused" in traceback[0]
    assert traceback[1] == 'error value: {code = 42, message = "upstream refused"}'
    assert traceback[2] == "stack traceback:"


def test_a_table_error_with_tostring_is_shown_through_it(kernel):
    run = kernel.execute(
        'error(setmetatable({message = "ignored"}, {__tostring = function() return "custom text" end}))'
    )
    assert run.content["evalue"] == "custom text"
    assert "error value" not in "\n".join(run.content["traceback"])


def test_a_spawned_task_failing_with_a_table_logs_its_message(kernel):
    run = kernel.execute('cru.spawn(function() error({message = "task gave up", code = 7}) end):wait()')
    assert "Spawned Lua task error: task gave up" in run.stream("stderr")


def test_a_syntax_error_is_an_error_reply(kernel):
    run = kernel.execute("x = = 1")
    assert run.content["status"] == "error"
    assert run.content["ename"] == "LuaSyntaxError"
    assert "unexpected symbol near '='" in run.content["evalue"]


def test_os_exit_is_refused_and_the_kernel_lives_on(kernel):
    run = kernel.execute("os.exit(1)")
    assert run.content["ename"] == "Exit"
    assert kernel.execute("'alive'").result == '"alive"'


# Interrupts ------------------------------------------------------------------------------------------


def interrupt_after_first_output(k: Kernel, code: str) -> tuple[object, float]:
    """Run `code` (which prints 'started' first), interrupt when that arrives."""
    msg_id = k.client.execute(code)
    while True:
        msg = k.client.get_iopub_msg(timeout=30)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
            break
    interrupted_at = time.monotonic()
    k.manager.interrupt_kernel()
    return k.collect(msg_id), interrupted_at


@pytest.mark.parametrize(
    "body",
    [
        "cru.timer.sleep(60)",
        "while true do end",
        "while true do pcall(function() while true do end end) end",
        "local co = coroutine.wrap(function() while true do end end) co()",
    ],
    ids=["sleep", "busy", "pcall-busy", "coroutine-busy"],
)
def test_an_interrupt_stops_the_cell_and_keeps_the_state(kernel, body):
    kernel.execute("kept = (kept or 0) + 1")
    run, _ = interrupt_after_first_output(kernel, f'print("started")\n{body}')
    assert run.content["status"] == "error"
    assert run.content["ename"] == "Interrupted"
    assert kernel.execute("kept").result is not None
    assert kernel.execute("'still usable'").result == '"still usable"'


def test_an_interrupt_leaves_spawned_tasks_running(kernel):
    kernel.execute("bg_done = false bg = cru.spawn(function() cru.timer.sleep(0.5) bg_done = true end)")
    run, _ = interrupt_after_first_output(kernel, 'print("started") cru.timer.sleep(60)')
    assert run.content["ename"] == "Interrupted"
    assert kernel.execute("bg:wait() return bg_done").result == "true"


# Input -----------------------------------------------------------------------------------------------


def test_io_read_asks_the_frontend_without_blocking_other_tasks(kernel):
    code = """
        ticks = 0
        local ticker = cru.spawn(function() while true do cru.timer.sleep(0.02) ticks = ticks + 1 end end)
        local name = io.read()
        local age = cru.input("age? ")
        ticker:cancel()
        print("hello " .. name .. ", " .. age)
    """
    msg_id = kernel.client.execute(code, allow_stdin=True)
    run = kernel.collect(msg_id, stdin=["Ada", "36"], answer_after=0.2)
    requests = run.of_type("input_request")
    assert [r["content"]["prompt"] for r in requests] == ["", "age? "]
    assert run.stream() == "hello Ada, 36\n"
    assert int(kernel.execute("ticks").result) > 0


def test_io_read_without_stdin_is_a_clear_lua_error(kernel):
    run = kernel.execute("local ok, err = pcall(io.read) return ok, err", allow_stdin=False)
    assert run.result.startswith("false\t")
    assert "does not accept input" in run.result


# Display ---------------------------------------------------------------------------------------------


def test_a_display_handle_updates_its_output_in_place(kernel):
    run = kernel.execute('local h = cru.display.markdown("thinking") h:update("done")')
    shown = run.of_type("display_data")
    updated = run.of_type("update_display_data")
    assert len(shown) == 1 and len(updated) == 1
    display_id = shown[0]["content"]["transient"]["display_id"]
    assert updated[0]["content"]["transient"]["display_id"] == display_id
    assert updated[0]["content"]["data"]["text/markdown"] == "done"


def test_clear_output_is_published_between_the_outputs_it_separates(kernel):
    run = kernel.execute('print("gone") clear_output(true) print("kept")')
    sequence = [
        (m["msg_type"], m["content"].get("text", m["content"].get("wait")))
        for m in run.of_type("stream", "clear_output")
    ]
    assert sequence == [("stream", "gone\n"), ("clear_output", True), ("stream", "kept\n")]


# Background output -----------------------------------------------------------------------------------


def test_output_of_a_task_that_outlives_its_cell_keeps_the_cells_parent(kernel):
    run = kernel.execute(
        'cru.spawn(function() cru.timer.sleep(0.3) print("late line") end) print("cell done")'
    )
    assert run.stream() == "cell done\n"
    late = kernel.wait_for_stray(lambda m: m["msg_type"] == "stream" and "late line" in m["content"]["text"])
    assert late["parent_header"]["msg_id"] == run.reply["parent_header"]["msg_id"]


# Magics ----------------------------------------------------------------------------------------------


def test_tasks_lists_live_tasks_with_their_line_and_cancels_one(kernel):
    kernel.execute("worker = cru.spawn(function()\n  while true do\n    cru.timer.sleep(0.05)\n  end\nend)")
    listing = kernel.execute("%tasks").stream()
    task_id = kernel.execute("worker:id()").result
    row = next(line for line in listing.splitlines() if line.split()[0] == task_id)
    assert "waiting" in row
    assert ":3" in row  # the line it sleeps on
    assert "cancelled" in kernel.execute(f"%tasks cancel {task_id}").stream()
    assert kernel.execute("worker:status()").result == '"cancelled"'


def test_a_busy_spawned_task_holds_the_kernel_until_the_stop_button_cancels_it(fresh_kernel):
    # What the README says: all Lua runs on one thread, so a spawned task that never waits
    # keeps the cell that started it and the next one waiting; the stop button cancels it.
    k = fresh_kernel
    spawning = k.client.execute("busy = cru.spawn(function() while true do end end)")
    following = k.client.execute("1 + 1")
    with pytest.raises(queue.Empty):  # neither cell gets its reply while the task computes
        k.client.get_shell_msg(timeout=1.5)
    k.manager.interrupt_kernel()
    first = k.collect(spawning, timeout=30)
    second = k.collect(following, timeout=30)
    assert first.content["status"] == "ok" and second.content["status"] == "ok"
    assert second.result == "2"
    assert k.execute("busy:status()").result == '"cancelled"'
    listing = k.execute("%tasks").stream()
    assert any(line.split()[1:3] == ["spawn", "cancelled"] for line in listing.splitlines()[1:])


def test_who_and_vars_list_what_the_notebook_defined(fresh_kernel):
    fresh_kernel.execute("alpha = 1 beta = {x = 1} function gamma() end")
    assert fresh_kernel.execute("%who").stream().split() == ["alpha", "beta", "gamma"]
    listing = fresh_kernel.execute("%vars").stream()
    assert "alpha" in listing and "number" in listing and "function" in listing


def test_reset_gives_a_fresh_lua_state(fresh_kernel):
    fresh_kernel.execute("leftover = 1 cru.spawn(function() cru.timer.sleep(60) end)")
    out = fresh_kernel.execute("%reset").stream()
    assert "Fresh Lua state" in out and "1 task(s) cancelled" in out
    assert fresh_kernel.execute("leftover").result == "nil"


def test_time_reports_the_wall_time_and_runs_the_code(kernel):
    out = kernel.execute("%time cru.timer.sleep(0.05) print('timed')").stream()
    assert "timed\n" in out and "Wall time:" in out
    cell = kernel.execute("%%time\nprint('cell timed')\n1 + 1")
    assert "Wall time:" in cell.stream() and cell.result == "2"


def test_lua_cell_magic_and_lsmagic(kernel):
    assert kernel.execute("%%lua\n6 * 7").result == "42"
    listing = kernel.execute("%lsmagic").stream()
    for magic in ("%reset", "%who", "%vars", "%time", "%tasks", "%lsmagic", "%%lua"):
        assert magic in listing


def test_an_unknown_magic_is_a_clear_error(kernel):
    run = kernel.execute("%frobnicate now")
    assert run.content["status"] == "error"
    assert "unknown magic %frobnicate" in run.content["evalue"]


def test_help_opens_a_pager_with_text_and_markdown(kernel):
    run = kernel.execute("?cru.timer.sleep")
    payload = run.content["payload"]
    assert payload and payload[0]["source"] == "page"
    assert "cru.timer.sleep" in payload[0]["data"]["text/plain"]
    assert "**Yields:** yes" in payload[0]["data"]["text/markdown"]


@pytest.mark.parametrize("code", ["?nosuchthing", "nosuchthing?", "??nosuchthing", "?cru.no.such"])
def test_help_on_a_name_that_names_nothing_says_so_as_plain_output(kernel, code):
    run = kernel.execute(code)
    assert run.content["status"] == "ok"
    assert run.content["payload"] == []
    name = code.strip("?")
    assert run.stream() == f"Object `{name}` not found.\n"
    assert run.of_type("error") == []


def test_user_expressions_are_evaluated_as_lua(kernel):
    run = kernel.execute("answer = 42", user_expressions={"a": "answer * 2", "bad": "nope("})
    expressions = run.content["user_expressions"]
    assert expressions["a"]["data"]["text/plain"] == "84"
    assert expressions["bad"]["status"] == "error"


def test_the_kernel_survives_running_out_of_lua_memory(kernel):
    run = kernel.execute("local t = {} for i = 1, 1e9 do t[i] = ('x'):rep(1024) .. i end")
    assert run.content["status"] == "error"
    assert "not enough memory" in run.content["evalue"]
    assert kernel.execute("collectgarbage() return 'fine'").result == '"fine"'
