"""The kernel under attack, through jupyter_client: cells that crashed it, interrupts it ignored,
shutdowns that hung, memory it kept, and safe mode. Each test is one reproduction of the
hardening issue: the process stays alive, the state is kept, an interrupt stops the cell (or the
kernel says why it cannot), shutdown replies and the process exits."""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import SAFE_KERNEL_NAME, Kernel, Run

STUCK = "Lua is stuck in a finalizer / C function and cannot be interrupted; restart the kernel to stop it"
LIVELINESS = 20  # seconds within which a stopped cell must answer (far above what it takes)


def start_then_interrupt(k: Kernel, code: str, interrupts: int = 1, every: float = 0.5) -> Run:
    """Run `code`, which prints 'started' when it is under way; then interrupt it."""
    msg_id = k.client.execute(code)
    while True:
        msg = k.client.get_iopub_msg(timeout=30)
        mine = msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream"
        if mine and "started" in msg["content"]["text"]:
            break
    for i in range(interrupts):
        if i:
            time.sleep(every)
        k.manager.interrupt_kernel()
    return k.collect(msg_id, timeout=LIVELINESS)


def assert_alive_with_its_state(k: Kernel) -> None:
    k.execute("hardening_state = (hardening_state or 0) + 1")
    assert int(k.execute("hardening_state").result) >= 1
    assert k.execute("1 + 1").result == "2"


def status(k: Kernel, key: str) -> int:
    """A line of the kernel process's /proc status, in MiB (VmRSS, VmHWM)."""
    with open(f"/proc/{k.manager.provisioner.process.pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) // 1024
    raise KeyError(key)


def wait_until_dead(k: Kernel, timeout: float = LIVELINESS) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not k.manager.is_alive():
            return True
        time.sleep(0.05)
    return False


def shutdown_reply(k: Kernel) -> dict[str, Any]:
    msg_id = k.client.shutdown()
    while True:
        reply = k.client.get_control_msg(timeout=LIVELINESS)
        if reply["parent_header"].get("msg_id") == msg_id:
            return reply


@pytest.fixture
def fresh() -> Iterator[Kernel]:
    k = Kernel()
    yield k
    k.client.stop_channels()
    k.manager.shutdown_kernel(now=True)  # also when it exited: closes the manager's sockets


# No crash -------------------------------------------------------------------------------------------


def test_malformed_bytecode_is_refused_not_run(kernel):
    run = kernel.execute(
        'local s = string.dump(function() return "k" end, true); local i = s:find("\\3\\0\\0\\0", 1, true); '
        'return load(s:sub(1, i-1) .. "\\3\\128\\255\\255" .. s:sub(i+4), "=bad", "b")()'
    )
    assert run.content["status"] == "error"
    assert "attempt to call a nil value" in run.content["evalue"]
    assert kernel.execute(
        "return select(2, load(string.dump(print == print and function() end)))"
    ).result == ('"binary chunks are refused (precompiled Lua can crash the kernel); load the source text"')
    assert_alive_with_its_state(kernel)


def test_lupas_metatables_cannot_be_handed_to_a_file(kernel):
    run = kernel.execute(
        "local f = io.tmpfile(); debug.setmetatable(f, debug.getregistry().POBJECT); return tostring(f)"
    )
    assert run.content["status"] == "error"
    assert "cannot change the metatable of a userdata" in run.content["evalue"]
    assert_alive_with_its_state(kernel)


# Every interrupt stops the work -----------------------------------------------------------------------


IGNORED_BEFORE = {
    "hook-off": "debug.sethook() while true do end",
    "hook-upvalue": "pcall(debug.setupvalue, debug.gethook(), 1, function() return false end) while true do end",
    "raw-pcall": "local raw = select(2, debug.getupvalue(pcall, 2)) or pcall raw(function() while true do end end)",
    "timeout-loop": "for i = 1, 100 do cru.timer.timeout(60, function() while true do end end) end",
    "retry": "cru.retry(function() while true do end end, {max_retries = 100, base_delay = 0})",
    "emitter": "local e = cru.emitter.new() e:on('x', function() while true do end end) for i = 1, 9 do e:emit('x') end",
    "spawn-storm": "for i = 1, 1e6 do cru.spawn(function() end) end",
    "os-execute": "os.execute('sleep 30')",
    "popen-read": "io.popen('sleep 30'):read('a')",
    "sync-execute": "table.sort({1, 2}, function(a, b) os.execute('sleep 30') return a < b end)",
}


@pytest.mark.parametrize("body", IGNORED_BEFORE.values(), ids=IGNORED_BEFORE.keys())
def test_an_interrupt_stops_what_used_to_ignore_it(kernel, body):
    run = start_then_interrupt(kernel, f'print("started")\n{body}')
    assert run.content["status"] == "error"
    assert run.content["ename"] == "Interrupted"
    assert_alive_with_its_state(kernel)


def test_a_second_interrupt_stops_a_looping_close_handler(kernel):
    run = start_then_interrupt(
        kernel,
        'print("started")\n'
        "local guard <close> = setmetatable({}, {__close = function() print('closing') while true do end end})\n"
        "while true do end",
        interrupts=2,
    )
    assert run.content["ename"] == "Interrupted"
    assert "closing" in run.stream()
    assert_alive_with_its_state(kernel)


@pytest.mark.parametrize("method", ["__tostring", "__display"])
def test_a_looping_metamethod_of_the_result_is_interrupted(kernel, method):
    run = start_then_interrupt(
        kernel, f'return setmetatable({{}}, {{{method} = function() print("started") while true do end end}})'
    )
    assert run.content["ename"] == "Interrupted"
    assert_alive_with_its_state(kernel)


def test_vars_with_a_looping_global_is_interrupted_and_help_never_runs_it(kernel):
    kernel.execute(
        'LOOPY = setmetatable({}, {__tostring = function() print("started") while true do end end,'
        " __index = function() while true do end end})"
    )
    try:
        run = start_then_interrupt(kernel, "%vars")
        assert run.content["ename"] == "Interrupted"
        help_run = kernel.execute("?LOOPY", timeout=LIVELINESS)
        assert help_run.content["payload"][0]["data"]["text/plain"].startswith("LOOPY: table")
        msg_id = kernel.client.inspect("LOOPY.field", 11)
        reply = kernel.client.get_shell_msg(timeout=LIVELINESS)
        assert reply["parent_header"]["msg_id"] == msg_id and reply["content"]["found"] is False
    finally:
        kernel.execute("LOOPY = nil")
    assert_alive_with_its_state(kernel)


def test_json_encode_never_runs_a_looping_index_of_the_array_metatable(kernel):
    run = kernel.execute(
        "local a = cru.json.decode('[1, null, 3]') a[2] = nil\n"
        "getmetatable(a).__index = function() while true do end end\n"
        "local s = cru.json.encode(a) getmetatable(a).__index = nil return s",
        timeout=LIVELINESS,
    )
    assert run.result == '"[1,null,3]"'


def test_the_first_completion_after_the_user_replaced_rawget_next_and_getmetatable(fresh):
    fresh.execute(
        "rawget = function() while true do end end\n"
        "next = function() while true do end end\n"
        "debug.getmetatable = function() while true do end end"
    )
    fresh.client.complete("cru.ti", 6)
    reply = fresh.client.get_shell_msg(timeout=LIVELINESS)
    assert reply["content"]["matches"] == ["cru.timer"]


def test_inspect_request_on_a_huge_unclosed_call_is_bounded(kernel):
    code = "print(" * 128000
    kernel.client.inspect(code, len(code))
    reply = kernel.client.get_shell_msg(timeout=LIVELINESS)
    assert reply["content"]["found"] is True
    assert reply["content"]["data"]["text/plain"].startswith("print(...)")


def test_the_source_of_a_function_from_a_fifo_is_never_read(kernel, tmp_path):
    fifo = tmp_path / "pipe.lua"
    os.mkfifo(fifo)
    kernel.execute(f'from_fifo = load("return function(a) return a end", "@{fifo}")()')
    run = kernel.execute("??from_fifo", timeout=LIVELINESS)
    text = run.content["payload"][0]["data"]["text/plain"]
    assert f"Defined at: {fifo}:1" in text and "(Source not available.)" in text


STUCK_CELLS = {
    "finalizer": "local h = cru.spawn(function() end)\n"
    "getmetatable(h).__gc = function() while true do end end\n"
    "h = nil collectgarbage()",
    "c-function": 'string.find(string.rep("a", 40), string.rep("a*", 40) .. "b")',
}


@pytest.mark.parametrize("cell", STUCK_CELLS.values(), ids=STUCK_CELLS.keys())
def test_lua_stuck_where_no_hook_runs_is_reported_and_shutdown_still_works(fresh, cell):
    fresh.execute("x = 1")
    msg_id = fresh.client.execute(cell)
    time.sleep(0.5)  # no output can get out of a stuck kernel: give the cell time to get stuck
    fresh.manager.interrupt_kernel()
    deadline = time.monotonic() + LIVELINESS
    said = ""
    while STUCK not in said and time.monotonic() < deadline:
        try:
            msg = fresh.client.get_iopub_msg(timeout=0.5)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream":
            said += msg["content"]["text"]
    assert STUCK in said
    assert shutdown_reply(fresh)["content"]["status"] == "ok"
    assert wait_until_dead(fresh)


# Shutdown and restart ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    ["cru.spawn(function() while true do cru.timer.sleep(0.01) end end)", "while true do end"],
    ids=["live-spawned-task", "busy-cell"],
)
def test_shutdown_replies_and_the_process_exits(fresh, code):
    fresh.execute("x = 1")
    fresh.client.execute(code)
    time.sleep(0.3)
    assert shutdown_reply(fresh)["content"] == {"status": "ok", "restart": False}
    assert wait_until_dead(fresh)


def test_restart_with_a_busy_cell_gives_a_working_kernel(fresh):
    fresh.execute("x = 1")
    fresh.client.execute("while true do end")
    time.sleep(0.3)
    fresh.manager.restart_kernel(now=False)
    fresh.client.wait_for_ready(timeout=60)
    assert fresh.execute("return x").result == "nil"  # a new state
    assert fresh.execute("1 + 1").result == "2"


# Memory ---------------------------------------------------------------------------------------------------


def test_reset_gives_the_memory_of_a_big_table_back(fresh):
    fresh.execute("x = 1")
    before = status(fresh, "VmRSS")
    for _ in range(3):
        fresh.execute("big = {} for i = 1, 2e7 do big[i] = i end")
        assert status(fresh, "VmRSS") > before + 200  # the table is there
        fresh.execute("%reset")
        assert status(fresh, "VmRSS") <= before * 1.1


def test_a_huge_print_costs_no_copy_of_the_text(fresh):
    size = 64  # MiB
    fresh.execute(f's = string.rep("x", {size} << 20)')
    peak = status(fresh, "VmHWM")
    run = fresh.execute("print(s)", timeout=120)
    assert len(run.stream()) == (size << 20) + 1
    assert status(fresh, "VmHWM") - peak < size // 2  # before: about five copies


def test_a_huge_result_is_not_kept_once_shown(fresh):
    fresh.execute("x = 1")
    before = status(fresh, "VmRSS")
    run = fresh.execute('return string.rep("y", 64 << 20)', timeout=120)
    assert len(run.result) == (64 << 20) + 2  # the string, quoted
    fresh.execute("collectgarbage() collectgarbage()")
    assert status(fresh, "VmRSS") <= before * 1.1


# Subprocesses in a notebook -------------------------------------------------------------------------


def test_what_a_command_prints_shows_in_the_cell_and_its_status_is_lua_5_4s(kernel):
    run = kernel.execute('return os.execute("echo from the shell; exit 3")')
    assert run.stream() == "from the shell\n"
    assert run.result == 'nil\t"exit"\t3'
    ticks = kernel.execute(
        "local n = 0 local t = cru.spawn(function() while true do cru.timer.sleep(0.01) n = n + 1 end end)\n"
        "os.execute('sleep 0.3') t:cancel() return n"
    )
    assert int(ticks.result) > 3  # the kernel went on while the command ran


# Safe mode ------------------------------------------------------------------------------------------------


def test_the_safe_kernel_refuses_what_its_spec_does_not_grant_and_says_how_to_grant_it():
    k = Kernel(SAFE_KERNEL_NAME)
    try:
        for call, function, capability in [
            ("os.execute('true')", "os.execute", "shell"),
            ("io.popen('true')", "io.popen", "shell"),
            ("io.open(os.tmpname(), 'w')", "os.tmpname", "filesystem"),
            ("cru.ws.connect('ws://127.0.0.1:1/')", "cru.ws.connect", "websocket"),
        ]:
            run = k.execute(call)
            assert run.content["status"] == "error"
            assert (
                f"{function} needs the '{capability}' capability, which this plugin does not declare "
                f"(this kernel runs in safe mode: install its kernelspec with crucible-kernel install "
                f"--safe --allow {capability} to grant it)"
            ) in run.content["evalue"]
        granted = k.execute("return cru.http.get('http://127.0.0.1:1/').status")  # 'network' is granted
        assert granted.result == "0"
        assert k.execute("return debug.sethook, package.loadlib").result == "nil\tnil"
    finally:
        k.shutdown()
