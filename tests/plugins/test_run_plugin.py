"""`crucible-kernel run --plugin`, as a user runs it (a real process)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.test_cli import run

LOADING = Path(__file__).parent / "loading"


def write(folder: Path, source: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "init.lua").write_text(source)
    return folder


def test_services_run_until_they_finish(tmp_path):
    plugin = write(
        tmp_path / "counter",
        "return {name = 'counter', setup = function(cfg) limit = cfg.limit or 2 end, services = {"
        "count = {fn = function() for i = 1, limit do print('count ' .. i) cru.timer.sleep(0.01) end end}}}",
    )
    config = tmp_path / "config.toml"
    config.write_text("[plugins.counter]\nlimit = 3\n")
    result = run("run", "--plugin", str(plugin), "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "count 1\ncount 2\ncount 3\n"
    assert "[info] loaded plugin counter 0.0.0 (services: count)" in result.stderr
    assert "[info] Service 'count' completed" in result.stderr


def test_services_run_until_the_timeout(tmp_path):
    plugin = write(
        tmp_path / "forever",
        "return {name = 'forever', services = {s = {fn = function() while true do cru.timer.sleep(0.01) end end}}}",
    )
    result = run("run", "--plugin", str(plugin), "--timeout", "0.3")
    assert result.returncode == 124
    assert result.stderr.endswith("crucible-kernel: timed out after 0.3 s\n")


def test_a_file_runs_against_the_loaded_plugins_then_the_run_ends(tmp_path):
    main = tmp_path / "main.lua"
    main.write_text('print(cru.plugins.tool("twice", {n = 4}), #cru.services.list())\n')
    result = run("run", "--plugin", str(LOADING / "lib"), "--plugin", str(LOADING / "app"), str(main))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "8\t0\n"


def test_a_safe_plugin_gets_what_it_declares_and_the_file_is_not_confined(tmp_path):
    plugin = write(
        tmp_path / "sandboxed",
        "return {name = 'sandboxed', services = {s = {fn = function()\n"
        "  print(pcall(shell.exec, 'true'))\n"
        "  print(shell.which('sh') ~= nil)\n"
        "end}}}",
    )
    main = tmp_path / "main.lua"
    main.write_text("cru.timer.sleep(0.2) print(shell.exec('true').success)\n")
    result = run("run", "--safe-plugin", str(plugin), str(main))
    assert result.returncode == 0, result.stderr
    refused, found, granted = result.stdout.splitlines()
    assert refused.startswith("false\t") and "cru.shell.exec needs the 'shell' capability" in refused
    assert "(plugin 'sandboxed' runs in safe mode: add 'shell' to its capabilities" in refused
    assert (found, granted) == ("true", "true")
    assert "[info] loaded plugin sandboxed 0.0.0 in safe mode (services: s)" in result.stderr


def test_a_plugin_that_fails_to_load_ends_the_run_with_its_error(tmp_path):
    result = run("run", "--plugin", str(LOADING / "broken" / "raises"))
    assert result.returncode == 1
    assert "crucible-kernel: exec " in result.stderr and "boom at load" in result.stderr
    assert "stack traceback:" in result.stderr


def test_usage_errors(tmp_path):
    assert run("run").returncode == 2
    result = run("run", "x.lua", "--config", "c.toml")
    assert result.returncode == 2 and "--config needs --plugin" in result.stderr


def test_ctrl_c_stops_the_services(tmp_path):
    plugin = write(
        tmp_path / "loop",
        "return {name = 'loop', services = {s = {fn = function() print('up') io.stdout:flush() while true do cru.timer.sleep(0.01) end end}}}",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "crucible_kernel", "run", "--plugin", str(plugin)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline() == "up\n"
        time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert err.endswith("crucible-kernel: interrupted\n")
