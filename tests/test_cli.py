"""`crucible-kernel run` and the command line, as a user runs them (a real process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def script(tmp_path: Path, code: str, name: str = "main.lua") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(code))
    return path


def run(*args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crucible_kernel", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
    )


@contextmanager
def ready(*args: str) -> Iterator[subprocess.Popen[str]]:
    """`crucible-kernel ARGS` running, once its Lua code has written "ready" to stderr; killed
    (and waited for) afterwards."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "crucible_kernel", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        assert proc.stderr.readline() == "ready\n"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_a_file_runs_and_its_spawned_tasks_finish_before_exit(tmp_path):
    path = script(
        tmp_path,
        """
        print("main")
        cru.spawn(function() cru.timer.sleep(0.2) print("background") end)
    """,
    )
    result = run("run", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "main\nbackground\n"


def test_logs_go_to_stderr_with_their_level(tmp_path):
    path = script(tmp_path, 'cru.log("warn", "careful")\ncru.log("info", "fyi")')
    result = run("run", str(path))
    assert result.returncode == 0
    assert result.stderr == "[warn] careful\n[info] fyi\n"
    assert result.stdout == ""


def test_an_uncaught_error_exits_1_with_the_lua_traceback(tmp_path):
    script(tmp_path, "local function f()\n  error('it broke')\nend\nf()\n")
    result = run("run", "main.lua", cwd=tmp_path)
    assert result.returncode == 1
    assert "main.lua:2: it broke" in result.stderr
    assert "stack traceback:" in result.stderr
    assert "main.lua:4: in main chunk" in result.stderr
    assert "crucible/" not in result.stderr


def test_an_uncaught_table_error_shows_its_message_and_the_table(tmp_path):
    script(tmp_path, 'error({status = 503, message = "upstream down"})\n')
    result = run("run", "main.lua", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith(
        'crucible-kernel: upstream down\nerror value: {message = "upstream down", status = 503}\n'
    )
    assert "table: 0x" not in result.stderr


def test_a_syntax_error_exits_1_naming_the_line(tmp_path):
    script(tmp_path, "print('ok')\nlocal = 1\n")
    result = run("run", "main.lua", cwd=tmp_path)
    assert result.returncode == 1
    assert "main.lua:2: <name> expected near '='" in result.stderr


def test_os_exit_sets_the_exit_status(tmp_path):
    path = script(tmp_path, "print('bye')\nos.exit(5)\nprint('unreachable')")
    result = run("run", str(path))
    assert (result.returncode, result.stdout) == (5, "bye\n")


def test_arguments_reach_the_chunk_and_the_arg_table(tmp_path):
    path = script(tmp_path, "local a, b = ...\nprint(select('#', ...), a, b, arg[0] ~= nil, arg[1], arg[2])")
    result = run("run", str(path), "alpha", "beta")
    assert result.stdout == "2\talpha\tbeta\ttrue\talpha\tbeta\n"


def test_modules_next_to_the_file_can_be_required(tmp_path):
    script(tmp_path, "return {greet = function(n) return 'hi ' .. n end}", name="helper.lua")
    path = script(tmp_path, "print(require('helper').greet('there'))")
    assert run("run", str(path)).stdout == "hi there\n"


def test_timeout_stops_a_run_that_does_not_end(tmp_path):
    path = script(tmp_path, "cru.spawn(function() while true do cru.timer.sleep(0.05) end end)")
    result = run("run", str(path), "--timeout", "0.5")
    assert result.returncode == 124
    assert "timed out after 0.5 s" in result.stderr


def test_a_missing_file_is_a_usage_error(tmp_path):
    result = run("run", str(tmp_path / "nope.lua"))
    assert result.returncode == 2
    assert "cannot read" in result.stderr


@pytest.mark.parametrize(
    "body",
    ["cru.timer.sleep(60)", "while true do end", "while true do pcall(function() while true do end end) end"],
    ids=["sleeping", "busy", "pcall-busy"],
)
def test_ctrl_c_interrupts_the_run_with_status_130(tmp_path, body):
    path = script(tmp_path, f'io.stderr:write("ready\\n")\n{body}\n')
    with ready("run", str(path)) as proc:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "interrupted" in err


def test_help_documents_every_command():
    result = run("--help")
    assert result.returncode == 0
    assert "run" in result.stdout
    run_help = run("run", "--help").stdout
    for option in ("--timeout", "--max-memory", "FILE", "130", "124"):
        assert option in run_help


def test_a_bad_memory_size_is_refused():
    result = run("run", "x.lua", "--max-memory", "lots")
    assert result.returncode == 2
    assert "not a memory size" in result.stderr


# Hardening: timeouts, memory sizes, Ctrl-C when Lua is stuck, child processes, safe mode --------


@pytest.mark.parametrize(
    "body",
    ["while true do end", "cru.spawn(function() while true do end end)"],
    ids=["busy-main", "busy-spawned"],
)
def test_timeout_interrupts_busy_lua_like_ctrl_c_and_exits_124(tmp_path, body):
    path = script(tmp_path, body)
    result = run("run", str(path), "--timeout", "0.5", timeout=30)
    assert result.returncode == 124
    assert "timed out after 0.5 s" in result.stderr


@pytest.mark.parametrize("size", ["1K", "inf", "1e30", "nan", "-5M"])
def test_an_out_of_range_memory_size_is_a_usage_error_naming_the_forms(tmp_path, size):
    path = script(tmp_path, "print('never')")
    result = run("run", str(path), f"--max-memory={size}")
    assert result.returncode == 2
    assert "from 1M to 1T" in result.stderr and "512M" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_memory_size_in_the_environment_is_a_usage_error(tmp_path):
    path = script(tmp_path, "print('never')")
    result = subprocess.run(
        [sys.executable, "-m", "crucible_kernel", "run", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "CRUCIBLE_LUA_MAX_MEMORY": "inf"},
    )
    assert result.returncode == 2
    assert "CRUCIBLE_LUA_MAX_MEMORY: memory size out of range: 'inf'" in result.stderr
    assert "Traceback" not in result.stderr


STUCK = {
    "finalizer": "setmetatable({}, {__gc = function() while true do end end}) collectgarbage()",
    "c-function": 'string.find(string.rep("a", 40), string.rep("a*", 40) .. "b")',
}


@pytest.mark.parametrize("where", list(STUCK))
def test_stuck_lua_is_reported_and_the_third_ctrl_c_exits_with_130(tmp_path, where):
    path = script(tmp_path, f'io.stderr:write("ready\\n")\n{STUCK[where]}\n')
    with ready("run", str(path)) as proc:
        time.sleep(0.3)  # into the finalizer / the pattern
        proc.send_signal(signal.SIGINT)
        assert "Lua is stuck in a finalizer / C function" in proc.stderr.readline()  # after 2 s
        for _ in range(2):
            time.sleep(0.2)  # a person's presses: two signals sent at once may arrive as one
            proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "interrupted" in err


def test_ctrl_c_stops_a_command_os_execute_waits_for(tmp_path):
    marker = tmp_path / "got-int"
    path = script(
        tmp_path,
        f"""io.stderr:write("ready\\n")
        print(os.execute("trap 'echo int > {marker}; exit 130' INT; sleep 30 & wait"))
        print("not reached")""",
    )
    with ready("run", str(path)) as proc:
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "not reached" not in out
    deadline = time.monotonic() + 10
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert marker.read_text() == "int\n"


def test_os_execute_output_comes_in_order_with_lua_output(tmp_path):
    path = script(tmp_path, 'print("before") print(os.execute("echo from the shell")) print("after")')
    result = run("run", str(path))
    assert result.stdout == "before\nfrom the shell\ntrue\texit\t0\nafter\n"


def test_a_precompiled_file_is_refused(tmp_path):
    path = tmp_path / "bin.lua"
    path.write_bytes(b"\x1bLua\x54\x00garbage")
    result = run("run", str(path))
    assert result.returncode == 1
    assert "binary chunks are refused" in result.stderr


def test_safe_mode_refuses_what_was_not_granted_and_allows_what_was(tmp_path):
    path = script(tmp_path, 'print(pcall(os.execute, "true"))\nprint(io.open(arg[0]):read("l"))')
    refused = run("run", "--safe", str(path))
    assert refused.returncode == 0
    assert (
        "os.execute needs the 'shell' capability, which this plugin does not declare "
        "(safe mode: grant it with crucible-kernel run --safe --allow shell)"
    ) in refused.stdout
    assert refused.stdout.endswith('print(pcall(os.execute, "true"))\n')  # reading stays allowed
    granted = run("run", "--safe", "--allow", "shell", str(path))
    assert granted.stdout.startswith("true\ttrue\texit\t0\n")


def test_allow_without_safe_and_unknown_capabilities_are_usage_errors(tmp_path):
    path = script(tmp_path, "print(1)")
    assert "add --safe" in run("run", "--allow", "shell", str(path)).stderr
    unknown = run("run", "--safe", "--allow", "everything", str(path))
    assert unknown.returncode == 2 and "unknown capability 'everything'" in unknown.stderr
