"""The modules plugins use, through the real kernel: files land beside the notebook, state under
CRUCIBLE_HOME, notifications and status lines in the cell's output, schedules keep running
between cells."""

from __future__ import annotations

import os
import time

import pytest

from .conftest import Kernel


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("notebook")


@pytest.fixture(scope="module")
def kernel(workdir):
    previous = os.environ.get("CRUCIBLE_HOME")
    os.environ["CRUCIBLE_HOME"] = str(workdir / "home")
    os.environ["CRUCIBLE_KILN"] = str(workdir / "kiln")
    cwd = os.getcwd()
    os.chdir(workdir)  # the kernel starts in the notebook's folder
    try:
        k = Kernel()
    finally:
        os.chdir(cwd)
        del os.environ["CRUCIBLE_KILN"]
        if previous is None:
            del os.environ["CRUCIBLE_HOME"]
        else:
            os.environ["CRUCIBLE_HOME"] = previous
    yield k
    k.shutdown()


def test_files_land_beside_the_notebook_and_state_under_crucible_home(kernel, workdir):
    run = kernel.execute('fs.write("out/hello.txt", "hi") return paths.state("demo"), paths.kiln()')
    assert run.content["status"] == "ok", run.content
    assert (workdir / "out" / "hello.txt").read_text() == "hi"
    assert (workdir / "home" / "plugin-state" / "demo").is_dir()
    assert str(workdir / "home" / "plugin-state" / "demo") in run.result
    assert str(workdir / "kiln") in run.result


def test_a_file_error_is_a_lua_error_naming_the_path(kernel):
    run = kernel.execute('fs.read("no/such/file.txt")')
    assert run.content["status"] == "error"
    assert run.content["evalue"].endswith("No such file or directory (os error 2): 'no/such/file.txt'")


def test_notifications_and_status_lines_show_in_the_cells_output(kernel):
    run = kernel.execute(
        'crucible.notify("Index rebuilt")\n'
        'crucible.notify("Token expires", crucible.log.levels.WARN)\n'
        'crucible.set_status{session = "s1", key = "oci", text = "sandboxed: alpine"}'
    )
    assert run.content["status"] == "ok", run.content
    assert "[info] Index rebuilt" in run.stream("stdout")
    assert "[info] status oci (s1): sandboxed: alpine" in run.stream("stdout")
    assert "[warn] Token expires" in run.stream("stderr")


def test_an_unknown_hook_name_is_an_error_with_a_hint(kernel):
    run = kernel.execute('crucible.on("pre_toolcall", function() end)')
    assert run.content["status"] == "error"
    assert "did you mean `pre_tool_call`?" in run.content["evalue"]


def test_a_schedule_keeps_running_between_cells_until_cancelled(kernel):
    run = kernel.execute("ticks = 0\nh = cru.schedule(0.05, function() ticks = ticks + 1 end)\nreturn h")
    assert run.content["status"] == "ok", run.content
    deadline = time.monotonic() + 30
    while True:
        ticks = int(kernel.execute("return ticks").result)
        if ticks >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert ticks >= 3
    assert kernel.execute("return cru.schedule.cancel(h)").result == "true"


async def test_every_function_plugins_reach_through_crucible_has_a_description():
    # test_docs checks everything under cru; the hooks, notify, status, publish and the plugin
    # config live on crucible only.
    from crucible_kernel.kernel.docs import doc_of, public_functions
    from crucible_kernel.runtime import Runtime

    rt = Runtime()
    try:
        functions = public_functions(rt, {"crucible": rt.crucible})
        paths = {path for path, _ in functions}
        assert {
            "crucible.on_session_start",
            "crucible.notify_once",
            "crucible.set_status",
            "crucible.publish",
            "crucible.options",
            "crucible.config.get",
            "crucible.on",
            "crucible.fs.rename",
        } <= paths
        missing = sorted(path for path, fn in functions if not ((doc := doc_of(rt, fn)) and doc.summary))
        assert missing == [], "functions without a doc comment: " + ", ".join(missing)
    finally:
        await rt.aclose()
