"""Plugins, services and re-running cells in the real kernel, through jupyter_client.

Cells are sent with the `cellId` JupyterLab and Notebook 7 put in the execute request's metadata."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kernel.conftest import Kernel, Run

LOADING = Path(__file__).resolve().parents[1] / "plugins" / "loading"


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("plugins")
    shutil.copytree(LOADING, root, dirs_exist_ok=True)
    (root / "clock").mkdir()
    (root / "clock" / "init.lua").write_text(
        "setups = (setups or 0) + 1\n"
        "return {name = 'clock', services = {tick = {desc = 'ticks', fn = function()\n"
        "  while true do clock_ticks = (clock_ticks or 0) + 1 cru.timer.sleep(0.01) end end}}}\n"
    )
    return root


@pytest.fixture(scope="module")
def kernel(plugin_dir) -> Iterator[Kernel]:
    saved = os.environ.get("CRUCIBLE_PLUGIN_PATH")
    os.environ["CRUCIBLE_PLUGIN_PATH"] = str(plugin_dir)
    try:
        k = Kernel()
    finally:
        if saved is None:
            del os.environ["CRUCIBLE_PLUGIN_PATH"]
        else:
            os.environ["CRUCIBLE_PLUGIN_PATH"] = saved
    yield k
    k.shutdown()


def cell(kernel: Kernel, code: str, cell_id: str | None = None, timeout: float = 60) -> Run:
    """Execute `code` as JupyterLab does, with `cellId` in the request's metadata."""
    content = {
        "code": code,
        "silent": False,
        "store_history": True,
        "user_expressions": {},
        "allow_stdin": False,
        "stop_on_error": True,
    }
    msg = kernel.client.session.msg("execute_request", content)
    if cell_id is not None:
        msg["metadata"]["cellId"] = cell_id
    kernel.client.shell_channel.send(msg)
    return kernel.collect(msg["header"]["msg_id"], timeout)


def ok(run: Run) -> Run:
    assert run.content["status"] == "ok", run.content.get("traceback")
    return run


def value(kernel: Kernel, expression: str) -> str | None:
    return ok(cell(kernel, expression)).result


def shown(run: Run) -> str:
    """The text form of what a cell displayed (the services panel of %services)."""
    return "".join(m["content"]["data"]["text/plain"] for m in run.of_type("display_data"))


# Re-running a cell is safe


REGISTERING_CELL = """
hits = hits or 0
cru.emitter.global():on("ping", function() hits = hits + 1 end)
crucible.on("tool_result", function() end)
spawned = spawned or {}
spawned[#spawned + 1] = cru.spawn(function() cru.timer.sleep(60) end)
"""


def test_running_a_cell_again_removes_what_its_last_run_registered(kernel):
    for _ in range(3):
        ok(cell(kernel, REGISTERING_CELL, cell_id="rerun-1"))
    ok(cell(kernel, 'cru.emitter.global():emit("ping")'))
    assert value(kernel, "hits") == "1"  # the handler fired once, not three times
    assert value(kernel, 'cru.emitter.global():count("ping")') == "1"
    statuses = value(
        kernel, "spawned[1]:status() .. ' ' .. spawned[2]:status() .. ' ' .. spawned[3]:status()"
    )
    assert statuses == '"cancelled cancelled waiting"'


def test_another_cell_with_the_same_code_keeps_its_own(kernel):
    ok(cell(kernel, 'cru.emitter.global():on("pong", function() end)', cell_id="twin-a"))
    ok(cell(kernel, 'cru.emitter.global():on("pong", function() end)', cell_id="twin-b"))
    ok(cell(kernel, 'cru.emitter.global():on("pong", function() end)', cell_id="twin-a"))
    assert value(kernel, 'cru.emitter.global():count("pong")') == "2"


def test_without_a_cell_id_the_source_identifies_the_cell(kernel):
    code = 'cru.emitter.global():on("by-source", function() end)'
    for _ in range(2):
        ok(cell(kernel, code))
    assert value(kernel, 'cru.emitter.global():count("by-source")') == "1"


def test_a_service_is_never_started_twice_by_a_rerun(kernel):
    code = """
    cru.service.define{name = "beat", desc = "d", start = function()
      beats_started = (beats_started or 0) + 1
      cru.timer.sleep(60) end}
    cru.services.start("beat")
    """
    ok(cell(kernel, code, cell_id="svc-cell"))
    ok(cell(kernel, code, cell_id="svc-cell"))
    time.sleep(0.1)
    assert value(kernel, "beats_started") == "2"
    live = value(
        kernel,
        "local n = 0 for _, s in ipairs(cru.services.list()) do if s.state == 'running' then n = n + 1 end end return n",
    )
    assert live == "1"


def test_a_plugin_loaded_by_a_cell_is_reloaded_when_the_cell_runs_again(kernel):
    ok(cell(kernel, "%plugin load clock", cell_id="load-clock"))
    run = ok(cell(kernel, "%plugin load clock", cell_id="load-clock"))
    assert run.stream().startswith("Loaded clock 0.0.0 (")
    assert "services: tick" in run.stream()
    assert value(kernel, "setups") == "2"
    services = shown(ok(cell(kernel, "%services")))
    assert [line.split()[:3] for line in services.splitlines()[1:] if line.startswith("clock/")] == [
        ["clock/tick", "plugin", "running"]
    ]


# The magics


def test_plugin_load_list_tool_reload_unload(kernel, plugin_dir):
    run = ok(cell(kernel, f"%plugin load {plugin_dir / 'weather'}"))
    assert "tools: broken, forecast, slow; commands: argtype, echo; services: ticker" in run.stream()
    listing = ok(cell(kernel, "%plugin list")).stream()
    header, *rows = listing.splitlines()
    assert header.split() == ["NAME", "VERSION", "STATE", "TOOLS", "COMMANDS", "SERVICES", "PATH"]
    assert any(r.startswith("weather") and "active" in r for r in rows)
    assert value(kernel, 'cru.plugins.tool("forecast", {city = "Lyon"}).text') == '"Lyon: 21 C"'
    assert ok(cell(kernel, "%plugin reload weather")).stream().startswith("Reloaded weather 1.2.0")
    assert value(kernel, "setup_calls") == "2"
    assert ok(cell(kernel, "%plugin unload weather")).stream() == "Unloaded weather.\n"
    assert value(kernel, 'select(2, cru.plugins.tool("forecast", {}))') == '"Tool not found: forecast"'


def test_plugin_load_safe_confines_that_plugin_only(kernel, tmp_path):
    folder = tmp_path / "writer"
    folder.mkdir()
    (folder / "plugin.yaml").write_text("name: writer\nversion: 0.2.0\ncapabilities: [network]\n")
    (folder / "init.lua").write_text(
        "return {name = 'writer', tools = {write = {fn = function(a)\n"
        "  local ok, err = pcall(cru.fs.write, a.path, 'x') return {ok = ok, err = tostring(err)} end}}}\n"
    )
    run = ok(cell(kernel, f"%plugin load --safe {folder}"))
    assert run.stream().endswith("It runs in safe mode, granted what it declares: network.\n")
    assert (
        "writer: in safe mode, granted what it declares: network" in ok(cell(kernel, "%plugin list")).stream()
    )
    target = tmp_path / "out.txt"
    refused = value(kernel, f"cru.plugins.tool('write', {{path = {str(target)!r}}}).err")
    assert "cru.fs.write needs the 'filesystem' capability, which this plugin does not declare" in refused
    assert not target.exists()
    ok(cell(kernel, f"cru.fs.write({str(target)!r}, 'from a cell')"))  # the notebook is not confined
    assert target.read_text() == "from a cell"
    assert ok(cell(kernel, "%plugin reload writer")).stream().endswith("granted what it declares: network.\n")
    ok(cell(kernel, "%plugin unload writer"))


def test_a_failing_load_is_an_error_reply_with_the_traceback(kernel, plugin_dir):
    run = cell(kernel, f"%plugin load {plugin_dir / 'broken' / 'raises'}")
    assert run.content["status"] == "error"
    assert run.content["ename"] == "PluginError"
    assert "boom at load" in run.content["evalue"] and "stack traceback:" in run.content["evalue"]
    listing = ok(cell(kernel, "%plugin list")).stream()
    assert "raises" in listing and "error" in listing and "boom at load" in listing


def test_discover_lists_the_search_path(kernel, plugin_dir):
    out = ok(cell(kernel, "%plugin discover")).stream()
    assert f"{plugin_dir} (path)" in out.splitlines()[0]
    names = [
        line.split()[0]
        for line in out.splitlines()[2:]
        if line and not line.startswith(("shadowed", "error"))
    ]
    assert names == ["app", "clock", "folder-plugin", "lib", "single", "weather"]


def test_paths_configures_kiln_workspace_and_session(kernel, tmp_path):
    out = ok(cell(kernel, f"%plugin paths --kiln {tmp_path} --workspace {tmp_path / 'ws'}")).stream()
    kiln = next(line.split() for line in out.splitlines() if line.startswith("kiln"))
    assert kiln == ["kiln", str(tmp_path), "configured"]
    assert value(kernel, "cru.paths.kiln()") == f'"{tmp_path}"'
    run = cell(kernel, "%plugin paths --nope x")
    assert run.content["ename"] == "UsageError" and "unknown option --nope" in run.content["evalue"]


def test_usage_errors_name_the_commands(kernel):
    run = cell(kernel, "%plugin frobnicate")
    assert run.content["ename"] == "UsageError"
    assert "unknown %plugin command 'frobnicate'" in run.content["evalue"]
    run = cell(kernel, "%services stop")
    assert run.content["ename"] == "UsageError"
    run = cell(kernel, "%services nope")
    assert run.content["ename"] == "ServiceError" and "no service named 'nope'" in run.content["evalue"]


def test_interrupting_a_cell_leaves_services_running(kernel):
    ok(cell(kernel, "%plugin load clock", cell_id="interrupt-clock"))
    msg_id = kernel.client.execute("cru.timer.sleep(30)")
    time.sleep(0.3)
    kernel.manager.interrupt_kernel()
    run = kernel.collect(msg_id)
    assert run.content["status"] == "error" and run.content["ename"] == "Interrupted"
    before = int(value(kernel, "clock_ticks"))
    time.sleep(0.1)
    assert int(value(kernel, "clock_ticks")) > before
    detail = ok(cell(kernel, "%services clock/tick")).stream()
    assert detail.startswith("clock/tick (plugin, ticks)\nstate: running")


def test_services_stop_and_restart_magics(kernel):
    ok(cell(kernel, "%plugin load clock", cell_id="stop-clock"))
    assert ok(cell(kernel, "%services stop clock/tick")).stream() == "Stopped clock/tick.\n"
    assert ok(cell(kernel, "%services restart tick")).stream() == "Restarted clock/tick (restart 1).\n"


def test_reset_stops_everything(fresh_kernel, plugin_dir):
    os.environ["CRUCIBLE_PLUGIN_PATH"] = str(plugin_dir)
    try:
        ok(cell(fresh_kernel, f"%plugin load {plugin_dir / 'clock'}"))
        ok(cell(fresh_kernel, "%reset"))
        assert shown(ok(cell(fresh_kernel, "%services"))).startswith("Services: none.")
        assert ok(cell(fresh_kernel, "%plugin list")).stream().startswith("No plugins loaded.")
        assert value(fresh_kernel, "clock_ticks") == "nil"
    finally:
        del os.environ["CRUCIBLE_PLUGIN_PATH"]
