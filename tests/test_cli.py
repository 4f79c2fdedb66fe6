"""`crucible-kernel run` and the command line, as a user runs them (a real process)."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
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
    proc = subprocess.Popen(
        [sys.executable, "-m", "crucible_kernel", "run", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        assert proc.stderr.readline() == "ready\n"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
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
