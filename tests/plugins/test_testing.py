"""The plugin test runner (crucible_kernel/plugins/testing.py) against the fixture plugins."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crucible_kernel.plugins.testing import SuiteResult, discover, run_suite
from tests.runtime.conftest import RecordingHost

FIXTURES = Path(__file__).parent / "fixtures"
FENNEL_STUB = Path(__file__).parent / "fennel_stub" / "fennel.lua"


async def run(name: str, **kwargs) -> tuple[SuiteResult, RecordingHost]:
    host = RecordingHost()
    result = await run_suite(FIXTURES / name if isinstance(name, str) else name, host=host, **kwargs)
    return result, host


def by_name(result: SuiteResult) -> dict:
    return {f.name: f for f in result.failures}


# Assertions


ASSERTION_FAILURES = {
    "equal": ('Expected: "a"\nActual: "b"', 3),
    "equals": ("Expected: 1\nActual: 2", 4),
    "equal tables": ("Expected: {...}\nActual: {...}", 5),
    "deep_equal": ("Expected: {...}\nActual: {...}", 6),
    "truthy": ("Expected truthy value, got: false", 7),
    "falsy": ('Expected falsy value, got: "yes"', 8),
    "is_nil": ("Expected nil, got: 0", 9),
    "is_not_nil": ("Expected a non-nil value, got: nil", 10),
    "is_string": ("Expected string, got: number", 11),
    "is_number": ("Expected number, got: string", 12),
    "is_table": ("Expected table, got: nil", 13),
    "is_function": ("Expected function, got: table", 14),
    "has_error": ("Expected function to raise an error, but it succeeded", 15),
    "plain assert": ("plain message", 19),
    "extra args ignored": ("Expected: 1\nActual: 2", 21),
    "truthy nil": ("Expected truthy value, got: nil", 22),
}


async def test_every_assertion_fails_with_its_message_at_the_tests_own_line():
    result, _ = await run("assertions")
    failures = by_name(result)
    test_file = FIXTURES / "assertions" / "tests" / "assertions_test.lua"
    for name, (message, line) in ASSERTION_FAILURES.items():
        failure = failures[name]
        assert failure.error == message, name
        assert failure.line == str(line), name
        assert failure.path == str(test_file), name
        assert failure.suite == "failing"
        assert f"-- line {line}" in failure.source
    assert result.passed == 1  # the test using every assertion the way it passes
    assert result.failed == 18
    assert result.exit_code == 1


async def test_has_error_with_text_reports_the_actual_error_and_a_table_error_has_no_location():
    result, _ = await run("assertions")
    failures = by_name(result)
    text = failures["has_error text"]
    assert text.error.startswith("Expected error message to contain: other\nActual: ")
    assert text.error.endswith("assertions_test.lua:17: real problem")
    assert text.line == "17"
    table_error = failures["error value"]
    assert table_error.error.startswith("table: ")
    assert table_error.file is None and table_error.line is None and table_error.source is None


async def test_the_json_object_is_the_references_shape_with_line_as_a_string():
    result, _ = await run("assertions")
    data = result.to_json()
    assert set(data) == {"passed", "failed", "pending", "load_failures", "failures", "load_failure_details"}
    first = data["failures"][0]
    assert set(first) == {"name", "suite", "error", "file", "line"}
    assert first["line"] == "3" and first["name"] == "equal"


# Hooks, nesting, pending


async def test_hooks_run_outermost_first_before_and_innermost_first_after_inner_suites_first():
    result, host = await run("hooks")
    assert host.out.splitlines() == [
        # the inner suite's tests register when its body ends, before the outer suite's own
        "before outer",
        "before inner",
        "test outer/inner/nested",
        "after inner",
        "after outer",
        "before outer",
        "test outer/direct",
        "after outer",
        # a failing before_each skips the body and every after_each; an after_each still runs
        # after a body, and fails only a test that had passed
        "body before a broken after",
    ]
    assert (result.passed, result.failed, result.pending) == (2, 3, 1)
    failures = by_name(result)
    assert failures["body skipped"].error == "before broke"
    assert failures["body skipped"].suite == "failing hooks / before fails"
    assert failures["passing body"].error == "after broke"
    assert failures["failing body"].error == "body broke"  # not replaced by the after_each's error


async def test_a_filter_keeps_only_tests_whose_name_contains_the_text_pending_ones_too():
    result, host = await run("hooks", filter="nested")
    assert (result.passed, result.failed, result.pending) == (1, 0, 0)
    assert "test outer/inner/nested" in host.out and "test outer/direct" not in host.out
    result, _ = await run("hooks", filter="not yet")
    assert result.pending == 1 and result.passed == 0
    assert result.message == "No test name contains 'not yet' (1 pending)"
    assert result.exit_code == 2
    result, _ = await run("hooks", filter="(")  # plain text, not a pattern
    assert result.message == "No test name contains '('"


# Load failures and empty runs


async def test_files_that_fail_to_load_are_reported_and_the_others_still_run():
    result, _ = await run("broken")
    details = {Path(f.file).name: f for f in result.load_failures}
    assert set(details) == {"a_syntax_test.lua", "b_describe_test.lua", "c_outside_test.lua"}
    assert "')' expected" in details["a_syntax_test.lua"].error
    describe_error = details["b_describe_test.lua"]
    assert "b_describe_test.lua:4: Error in describe block 'breaks': " in describe_error.error
    assert describe_error.error.endswith("b_describe_test.lua:6: describe body broke")
    assert describe_error.line == "4" and describe_error.source == 'describe("breaks", function()'
    assert details["c_outside_test.lua"].error.endswith(
        "c_outside_test.lua:1: it() must be called inside describe()"
    )
    # the completed describe of the failing file stays; the one that raised is dropped
    assert (result.passed, result.failed) == (2, 0)
    assert result.exit_code == 2
    assert result.to_json()["load_failures"] == 3


async def test_a_folder_without_test_files_is_never_green():
    result, _ = await run("empty")
    assert result.message == "No test files found" and result.exit_code == 2


async def test_files_without_a_single_test_that_runs_are_never_green():
    result, _ = await run("notests")
    assert (result.passed, result.failed, result.pending) == (0, 0, 1)
    assert result.message == "No tests found (1 pending)" and result.exit_code == 2


async def test_a_missing_path_says_so():
    result, _ = await run(FIXTURES / "no-such-plugin")
    assert result.message == f"Test path does not exist: {FIXTURES / 'no-such-plugin'}"
    assert result.exit_code == 2


async def test_a_single_file_runs_alone_with_its_folder_as_the_plugin_root():
    result, _ = await run(FIXTURES / "broken" / "tests" / "d_good_test.lua")
    assert (result.passed, result.failed, result.load_failures) == (1, 0, [])
    assert result.exit_code == 0


def test_discovery_takes_test_files_of_the_folder_and_tests_sorted(tmp_path):
    (tmp_path / "tests" / "deeper").mkdir(parents=True)
    for name in ("b_test.lua", "a_test.fnl", "helper.lua", "x_test.txt", "tests/c_test.lua",
                 "tests/deeper/d_test.lua", "tests/a_test.lua"):  # fmt: skip
        (tmp_path / name).write_text("")
    assert [p.relative_to(tmp_path).as_posix() for p in discover(tmp_path)] == [
        "a_test.fnl",
        "b_test.lua",
        "tests/a_test.lua",
        "tests/c_test.lua",
    ]


# Synchronous semantics and the VM


async def test_tests_run_synchronously_in_one_fresh_state_after_every_file_loaded():
    result, host = await run("sync")
    assert host.out.splitlines() == ["load a", "load b", "run a", "run b"]
    failures = by_name(result)
    assert set(failures) == {"waits fail fast", "retry's back-off fails at its first sleep"}
    for failure in failures.values():
        assert failure.error == "attempt to yield from outside a coroutine"
    assert result.passed == 6


async def test_each_run_gets_a_fresh_state():
    first, _ = await run("sync")
    second, _ = await run("sync")  # the globals and module caches of the first run are gone
    assert (first.passed, first.failed) == (second.passed, second.failed) == (6, 2)


# Mocks


async def test_every_mock_behaviour_holds():
    result, _ = await run("mocks")
    assert result.failures == [] and result.load_failures == []
    assert result.passed == 12


# Fennel


async def test_without_a_compiler_fennel_files_fail_to_load_and_say_how_to_get_one(monkeypatch):
    monkeypatch.delenv("CRUCIBLE_FENNEL", raising=False)
    result, _ = await run("fnlplug")
    names = {Path(f.file).name for f in result.load_failures}
    assert names == {"init.fnl", "add_test.fnl"}
    for failure in result.load_failures:
        assert failure.error.startswith("no Fennel compiler found: ")
        assert "vendor/fennel.lua" in failure.error and "$CRUCIBLE_FENNEL" in failure.error
    assert result.passed == 1  # the Lua file beside them
    assert result.exit_code == 2


async def test_crucible_fennel_names_the_compiler(monkeypatch):
    monkeypatch.setenv("CRUCIBLE_FENNEL", str(FENNEL_STUB))
    result, _ = await run("fnlplug")
    assert result.load_failures == []
    assert (result.passed, result.failed) == (2, 1)  # init.fnl preloaded as `fnlplug`
    assert by_name(result)["fails on purpose"].error == "Expected: 6\nActual: 5"


def copy_fixture(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copytree(FIXTURES / name, target)
    return target


async def test_a_vendored_compiler_and_one_on_the_package_path_are_found(monkeypatch, tmp_path):
    monkeypatch.delenv("CRUCIBLE_FENNEL", raising=False)
    vendored = copy_fixture("fnlplug", tmp_path / "one")
    (vendored / "vendor").mkdir()
    shutil.copy(FENNEL_STUB, vendored / "vendor" / "fennel.lua")
    result, _ = await run(vendored)
    assert (result.passed, result.failed, result.load_failures) == (2, 1, [])

    on_path = copy_fixture("fnlplug", tmp_path / "two")
    (on_path / "lua").mkdir(exist_ok=True)
    shutil.copy(FENNEL_STUB, on_path / "lua" / "fennel.lua")
    result, _ = await run(on_path)
    assert (result.passed, result.failed, result.load_failures) == (2, 1, [])


async def test_a_fennel_file_that_does_not_compile_is_a_load_failure(monkeypatch, tmp_path):
    monkeypatch.setenv("CRUCIBLE_FENNEL", str(FENNEL_STUB))
    plugin = copy_fixture("fnlplug", tmp_path)
    (plugin / "tests" / "broken_test.fnl").write_text('(describe "x" (fn []\n')
    result, _ = await run(plugin)
    [failure] = result.load_failures
    assert Path(failure.file).name == "broken_test.fnl"
    assert failure.error == "fennel compile: unknown:2:0: Parse error: expected closing delimiter )"
    assert result.passed == 2


async def test_a_broken_compiler_is_reported_as_such(monkeypatch, tmp_path):
    broken = tmp_path / "fennel.lua"
    broken.write_text("error('compiler exploded')")
    monkeypatch.setenv("CRUCIBLE_FENNEL", str(broken))
    result, _ = await run("fnlplug")
    for failure in result.load_failures:
        assert failure.error.startswith("cannot load the Fennel compiler named by $CRUCIBLE_FENNEL: ")
        assert "compiler exploded" in failure.error


@pytest.mark.parametrize("name", ["assertions", "hooks", "broken", "sync", "mocks"])
async def test_print_output_goes_to_the_host_and_nothing_else_does(name):
    _, host = await run(name)
    assert host.stderr == b"" and host.logs == []


async def test_os_exit_in_a_test_ends_the_run_with_a_message(tmp_path):
    (tmp_path / "exits_test.lua").write_text(
        'describe("d", function() it("exits", function() os.exit(3) end) end)'
    )
    result, _ = await run(tmp_path / "exits_test.lua")
    assert result.message == "a test called os.exit(3), which ends the run"
    assert result.exit_code == 2 and not result.interrupted
