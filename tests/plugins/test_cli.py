"""`crucible-kernel test`, as a user runs it (a real process)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from tests.test_cli import ready, run

FIXTURES = Path(__file__).parent / "fixtures"


def test_a_green_suite_exits_0_with_the_summary_line():
    result = run("test", str(FIXTURES / "mocks"))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "12 passed, 0 failed, 0 pending\n"
    assert result.stderr == ""


def test_failures_show_suite_test_message_location_and_the_source_line():
    result = run("test", str(FIXTURES / "hooks"))
    assert result.returncode == 1
    assert result.stdout.splitlines()[-1] == "2 passed, 3 failed, 1 pending"
    hooks = FIXTURES / "hooks" / "tests" / "hooks_test.lua"
    expected = (
        "✗ failing hooks / after fails / failing body\n"
        "    body broke\n"
        f"    at {hooks}:26\n"
        '      26 |     it("failing body", function() error("body broke") end)\n'
    )
    assert expected in result.stderr


def test_multi_line_messages_are_indented():
    result = run("test", str(FIXTURES / "assertions"), "--filter", "extra args")
    assert result.returncode == 1
    assert "✗ failing / extra args ignored\n    Expected: 1\n    Actual: 2\n    at " in result.stderr
    assert result.stdout == "0 passed, 1 failed, 0 pending\n"


def test_load_failures_and_empty_runs_exit_2():
    broken = run("test", str(FIXTURES / "broken"))
    assert broken.returncode == 2
    assert "✗ could not load " in broken.stderr and "c_outside_test.lua" in broken.stderr
    assert "✗ 3 test file(s) failed to load" in broken.stderr
    assert broken.stdout == "2 passed, 0 failed, 0 pending\n"
    empty = run("test", str(FIXTURES / "empty"))
    assert empty.returncode == 2 and "✗ No test files found" in empty.stderr
    nothing = run("test", str(FIXTURES / "notests"))
    assert nothing.returncode == 2 and "No tests found (1 pending)" in nothing.stderr
    filtered = run("test", str(FIXTURES / "mocks"), "--filter", "no such test")
    assert filtered.returncode == 2 and "No test name contains 'no such test'" in filtered.stderr
    missing = run("test", "no/such/plugin")
    assert missing.returncode == 2 and "Test path does not exist: no/such/plugin" in missing.stderr


def test_a_relative_path_resolves_against_the_working_directory():
    result = run("test", "mocks", cwd=FIXTURES)
    assert result.returncode == 0 and result.stdout == "12 passed, 0 failed, 0 pending\n"


def test_json_prints_the_result_object_alone_on_stdout():
    result = run("test", str(FIXTURES / "sync"), "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)  # print() of the tests went to stderr
    assert (data["passed"], data["failed"], data["load_failures"]) == (6, 2, 0)
    assert data["failures"][0] == {
        "name": "waits fail fast",
        "suite": "synchronous",
        "error": "attempt to yield from outside a coroutine",
        "file": None,
        "line": None,
    }
    assert "load a\n" in result.stderr
    empty = json.loads(run("test", str(FIXTURES / "empty"), "--json").stdout)
    assert empty["message"] == "No test files found"


def test_ctrl_c_interrupts_a_running_test(tmp_path):
    plugin = tmp_path / "spin"
    (plugin / "tests").mkdir(parents=True)
    (plugin / "tests" / "spin_test.lua").write_text(
        'describe("spin", function()\n'
        '  it("never ends", function() io.stderr:write("ready\\n") while true do pcall(tostring, 1) end end)\n'
        "end)\n"
    )
    with ready("test", str(plugin)) as proc:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "✗ interrupted" in err
    assert out == "0 passed, 0 failed, 0 pending\n"


def test_help_documents_the_command():
    text = " ".join(run("test", "--help").stdout.split())
    for word in ("--filter", "--json", "PATH", "130", "CRUCIBLE_FENNEL", "N passed, N failed, N pending"):
        assert word in text
