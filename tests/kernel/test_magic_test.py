"""%test through the real kernel: a results table, the summary, and a state of its own."""

from __future__ import annotations

from pathlib import Path

from tests.kernel.test_kernel import interrupt_after_first_output

FIXTURES = Path(__file__).parent.parent / "plugins" / "fixtures"


def display_of(run):
    [display] = run.of_type("display_data")
    return display["content"]["data"]


def test_a_green_suite_shows_every_test_and_the_summary(kernel):
    run = kernel.execute(f"%test {FIXTURES / 'mocks'}")
    assert run.content["status"] == "ok"
    data = display_of(run)
    text = data["text/plain"]
    assert text.splitlines()[0].split() == ["SUITE", "TEST", "STATUS", "ERROR", "AT"]
    assert "test_mocks  fs keeps files in memory" in text
    assert text.splitlines()[-1] == "12 passed, 0 failed, 0 pending"
    assert "<table>" in data["text/html"] and "<th>file:line</th>" in data["text/html"]
    assert data["text/html"].count('<td style="color:#1a7f37">passed</td>') == 12


def test_a_failing_test_shows_its_error_location_and_source_line_and_fails_the_cell(kernel):
    run = kernel.execute(f"%test {FIXTURES / 'hooks'} --filter 'failing body'")
    assert run.content["status"] == "error"
    assert run.content["ename"] == "TestsFailed"
    assert run.content["evalue"] == "0 passed, 1 failed, 0 pending"
    data = display_of(run)
    hooks = FIXTURES / "hooks" / "tests" / "hooks_test.lua"
    assert f"    at {hooks}:26" in data["text/plain"]
    assert '      |     it("failing body", function() error("body broke") end)' in data["text/plain"]
    html = data["text/html"]
    assert '<td style="color:#cf222e">failed</td>' in html and "body broke" in html
    assert f"<code>{hooks}:26</code>" in html
    assert "it(&quot;failing body&quot;" in html  # the source line, escaped


def test_print_output_of_the_tests_goes_to_the_cell(kernel):
    run = kernel.execute(f"%test {FIXTURES / 'sync'}")
    assert run.stream() == "load a\nload b\nrun a\nrun b\n"
    assert run.content["ename"] == "TestsFailed"


def test_load_failures_and_empty_runs_fail_the_cell_with_the_reason(kernel):
    run = kernel.execute(f"%test {FIXTURES / 'broken'}")
    assert run.content["ename"] == "TestsNotRun"
    assert run.content["evalue"] == "3 test file(s) failed to load (2 passed, 0 failed, 0 pending)"
    assert "load error" in display_of(run)["text/plain"]
    run = kernel.execute(f"%test {FIXTURES / 'empty'}")
    assert run.content["evalue"] == "No test files found (0 passed, 0 failed, 0 pending)"


def test_the_suite_runs_in_its_own_state_never_the_notebooks(kernel):
    kernel.execute("SHARED_FROM_A = 'notebook'; describe('nb', function() it('x', function() end) end)")
    run = kernel.execute(f"%test {FIXTURES / 'sync'} --filter 'sees what'")
    assert run.content["status"] == "ok"  # saw file a's value, not the notebook's
    assert display_of(run)["text/plain"].endswith("1 passed, 0 failed, 0 pending")
    after = kernel.execute("return SHARED_FROM_A, cru.ws ~= nil, cru.http.patch ~= nil")
    assert after.result == '"notebook"\ttrue\ttrue'  # the real cru.http: no mocks were installed here


def test_bad_usage_is_explained(kernel):
    for args, why in (("", "PATH is missing"), ("a b", "one PATH only"), ("a --filter", "--filter needs")):
        run = kernel.execute(f"%test {args}")
        assert run.content["ename"] == "UsageError"
        assert why in run.content["evalue"] and "usage: %test PATH [--filter TEXT]" in run.content["evalue"]


def test_an_interrupt_stops_a_running_suite_and_the_kernel_goes_on(kernel, tmp_path):
    plugin = tmp_path / "spin"
    (plugin / "tests").mkdir(parents=True)
    (plugin / "tests" / "spin_test.lua").write_text(
        'describe("spin", function()\n'
        '  it("never ends", function() print("started") io.stdout:flush() while true do end end)\n'
        "end)\n"
    )
    run, _ = interrupt_after_first_output(kernel, f"%test {plugin}")
    assert run.content["status"] == "error" and run.content["ename"] == "Interrupted"
    assert "interrupted" in display_of(run)["text/plain"]
    assert kernel.execute("return 1 + 1").result == "2"
