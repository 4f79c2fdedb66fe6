"""Child processes: os.execute and io.popen as Lua 5.4 has them, async inside tasks, blocking
from code that cannot yield, stopped by interrupts; and the Python API cru.shell builds on."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import pytest

from crucible_kernel.runtime import TaskState
from crucible_kernel.runtime.processes import FORWARD, PIPE, STDERR, STDOUT, ExitStatus


def lua_string(s: str | Path) -> str:
    return "'" + str(s).replace("\\", "\\\\").replace("'", "\\'") + "'"


def wait_until_gone(pid: int, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.02)
    return False


async def gone(pid: int | str) -> bool:
    """Whether process `pid` ends within ten seconds (waited for off the event loop)."""
    return await asyncio.get_running_loop().run_in_executor(None, wait_until_gone, int(pid))


def interrupt_in(lua, seconds: float = 0.3) -> None:
    """Interrupt the runtime `seconds` from now, from another thread, as the stop button does."""
    lua.runtime.bind_loop()
    threading.Timer(seconds, lua.runtime.interrupt).start()


async def written(path: Path) -> str:
    """What `path` holds once something has written it (four seconds at most)."""
    for _ in range(200):
        if path.exists():
            break
        await asyncio.sleep(0.02)
    return path.read_text()


# os.execute ---------------------------------------------------------------------------------------


async def test_os_execute_returns_what_lua_5_4_returns(lua):
    code = """
        local a = {os.execute("exit 0")}
        local b = {os.execute("exit 3")}
        local c = {os.execute("kill -9 $$")}
        return a[1], a[2], a[3], b[1], b[2], b[3], c[1], c[2], c[3], os.execute()
    """
    assert await lua.eval(code) == (True, "exit", 0, None, "exit", 3, None, "signal", 9, True)


async def test_what_a_command_prints_goes_to_the_host(lua, host):
    await lua.run("os.execute('echo out; echo err >&2')")
    assert host.stdout == b"out\n"
    assert host.stderr == b"err\n"


async def test_os_execute_waits_without_blocking_other_tasks(lua):
    code = """
        local ticks = 0
        local ticker = cru.spawn(function() while true do cru.timer.sleep(0.01) ticks = ticks + 1 end end)
        os.execute("sleep 0.3")
        ticker:cancel()
        return ticks
    """
    assert await lua.eval(code) > 3


# Every way of running a command: os.execute, and cru.shell's exec and spawn (test_shell.py).
RUNNERS = {
    "os.execute": "os.execute({script!r})",
    "shell.exec": "shell.exec('sh', {{'-c', {script!r}}})",
    "shell.spawn": "shell.spawn('sh', {{'-c', {script!r}}})",
}


@pytest.mark.parametrize("runner", RUNNERS.values(), ids=RUNNERS.keys())
async def test_an_interrupt_sends_sigint_to_the_command_and_stops_the_task(lua, tmp_path, runner):
    marker = tmp_path / "got-int"
    interrupt_in(lua)
    command = runner.format(script=f"trap 'echo int > {marker}; exit 130' INT; echo started; sleep 30 & wait")
    task = await lua.run(f"{command}\nreached = true")
    assert task.stop == "interrupted"
    assert await lua.eval("return reached") is None
    assert await written(marker) == "int\n"


async def test_a_command_that_ignores_sigint_is_killed_after_the_grace_period(lua, tmp_path):
    pidfile = tmp_path / "pid"
    interrupt_in(lua)
    task = await lua.run(f"os.execute(\"trap '' INT; echo $$ > {pidfile}; while true; do sleep 0.05; done\")")
    assert task.stop == "interrupted"
    pid = int(pidfile.read_text())
    assert await gone(pid)


async def test_os_execute_blocks_from_code_that_cannot_yield(lua, host):
    code = """
        local t = {3, 1, 2}
        table.sort(t, function(a, b) os.execute("true") return a < b end)
        local s = tostring(setmetatable({}, {__tostring = function() return io.popen("echo inside"):read("l") end}))
        return table.concat(t, ","), s
    """
    assert await lua.eval(code) == ("1,2,3", "inside")


@pytest.mark.parametrize("runner", RUNNERS.values(), ids=RUNNERS.keys())
async def test_an_interrupt_stops_a_blocking_wait_too(lua, runner):
    interrupt_in(lua)
    command = runner.format(script="sleep 30")
    task = await lua.run(f"table.sort({{1, 2}}, function(a, b) {command} return a < b end)")
    assert task.state is TaskState.CANCELLED and task.stop == "interrupted"


async def test_bad_arguments_are_lua_errors(lua):
    assert (
        "bad argument #1 to 'execute' (string expected, got table)"
        in (await lua.error("os.execute({})")).message
    )
    assert "bad argument #2 to 'popen' (invalid mode)" in (await lua.error("io.popen('true', 'rw')")).message


# io.popen -----------------------------------------------------------------------------------------


async def test_popen_reads_with_every_lua_format(lua):
    code = r"""
        local f = io.popen("printf 'first\nsecond\n 42 0x1F rest of it\n'")
        local a, b = f:read("l", "L")
        local n, m = f:read("n", "n")
        local four = f:read(4)
        local rest = f:read("a")
        local at_end, empty = f:read("l"), f:read("a")
        return a, b, n, m, four, rest, at_end, empty, f:read(0)
    """
    assert await lua.eval(code) == ("first", "second\n", 42, 31, " res", "t of it\n", None, "", None)


async def test_popen_lines_and_close_give_the_exit_status(lua):
    code = """
        local f = io.popen("seq 3; exit 4")
        local seen = {}
        for line in f:lines() do seen[#seen + 1] = line end
        local ok, what, code = f:close()
        return table.concat(seen, ","), ok, what, code, io.type(f), tostring(f)
    """
    assert await lua.eval(code) == ("1,2,3", None, "exit", 4, "closed file", "file (closed)")


async def test_popen_write_mode_feeds_the_commands_input(lua, tmp_path):
    out = tmp_path / "out.txt"
    code = f"""
        local f = io.popen("cat > {out}", "w")
        local same = f:write("a", 1, " ", 2.5, "\\n") == f
        local r1, r2, r3 = f:read("l")
        return same, r1, r2, r3, io.type(f), f:close()
    """
    assert await lua.eval(code) == (True, None, "Bad file descriptor", 9, "file", True, "exit", 0)
    assert out.read_text() == "a1 2.5\n"


async def test_a_popen_file_works_with_io_close_io_type_and_io_output(lua):
    code = """
        local f = io.popen("cat >/dev/null", "w")
        io.output(f)
        io.write("through io.write")
        io.output(io.stdout)
        local ok = io.close(f)
        local r = io.popen("echo x")
        local wrote = {r:write("nope")}
        r:read("a")
        return ok, io.type(f), wrote[1], wrote[2], r:close()
    """
    assert await lua.eval(code) == (True, "closed file", None, "Bad file descriptor", True, "exit", 0)


async def test_using_a_closed_popen_file_is_an_error(lua):
    error = await lua.error("local f = io.popen('true') f:close() f:read()")
    assert "attempt to use a closed file" in error.message


async def test_an_interrupt_while_reading_a_command_stops_it(lua):
    interrupt_in(lua)
    task = await lua.run("f = io.popen('echo $$; exec sleep 30') pid = f:read('n') f:read('a')")
    assert task.stop == "interrupted"
    pid = await lua.eval("return pid")
    assert await gone(pid)


async def test_closing_the_runtime_kills_commands_still_running(lua):
    await lua.run("f = io.popen('echo $$; exec sleep 30') pid = f:read('n')")
    pid = await lua.eval("return pid")
    await lua.runtime.aclose()
    assert await gone(pid)


# The Python API (what cru.shell builds on) --------------------------------------------------------


async def test_run_feeds_input_and_captures_both_outputs(lua):
    done = await lua.runtime.processes.run(
        ["/bin/sh", "-c", "cat; echo err >&2; exit 2"], input=b"hello\n", cwd="/"
    )
    assert done.status == ExitStatus("exit", 2)
    assert (done.stdout, done.stderr, done.status.exit_code, done.status.success) == (
        b"hello\n",
        b"err\n",
        2,
        False,
    )


async def test_run_reads_while_it_feeds_a_large_input(lua):
    # cat fills its output pipe long before it has read 3 MiB: reading must go on meanwhile
    data = os.urandom(3 << 20)
    done = await asyncio.wait_for(lua.runtime.processes.run(["cat"], input=data), 30)
    assert done.stdout == data and done.status.success


async def test_next_line_interleaves_both_streams_as_they_come(lua):
    child = lua.runtime.processes.start(
        ["/bin/sh", "-c", "echo one; sleep 0.1; echo two >&2; sleep 0.1; printf three"],
        stdout=PIPE,
        stderr=PIPE,
    )
    lines = []
    while (line := await child.next_line()) is not None:
        lines.append(line)
    assert lines == [(STDOUT, b"one"), (STDERR, b"two"), (STDOUT, b"three")]
    assert (await child.wait()).success


async def test_next_line_reads_a_line_longer_than_the_read_buffer(lua):
    child = lua.runtime.processes.start(["head", "-c", "3000000", "/dev/zero"])
    line = await asyncio.wait_for(child.next_line(), 30)
    assert line == (STDOUT, bytes(3000000))
    assert await child.next_line() is None


async def test_start_raises_when_the_program_cannot_start_and_which_finds_programs(lua, host):
    with pytest.raises(FileNotFoundError):
        lua.runtime.processes.start(["/nonexistent/program"])
    assert lua.runtime.processes.which("sh") is not None
    assert lua.runtime.processes.which("no-such-program-here") is None
    child = lua.runtime.processes.start(["/bin/sh", "-c", "echo forwarded"], stdout=FORWARD)
    assert (await child.wait()).success
    assert host.stdout == b"forwarded\n"
