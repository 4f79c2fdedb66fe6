"""The example plugins in plugins/: each one's Lua suite must pass under `crucible-kernel test`.

Every plugin folder (a folder with init.lua or init.fnl) needs a suite; one that has none on
purpose goes in NO_SUITE with the reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from crucible_kernel.plugins.testing import discover
from tests.test_cli import run

PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
NO_SUITE: dict[str, str] = {}  # plugin folder name -> why it has no test suite


def plugin_folders(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return [p for p in sorted(root.iterdir()) if (p / "init.lua").is_file() or (p / "init.fnl").is_file()]


def suite_failure(folder: Path) -> str | None:
    """None when the folder's suite is green under `crucible-kernel test`, else why not."""
    result = run("test", str(folder), timeout=300)
    if result.returncode == 0:
        return None
    return f"crucible-kernel test {folder} exited {result.returncode}\n{result.stderr}{result.stdout}"


def test_plugins_holds_the_example_plugins():
    assert [p.name for p in plugin_folders(PLUGINS)] == ["chatbot", "poller", "textkit"]


@pytest.mark.parametrize("plugin", plugin_folders(PLUGINS), ids=lambda p: p.name)
def test_every_example_plugin_has_a_suite(plugin):
    if plugin.name in NO_SUITE:
        pytest.skip(NO_SUITE[plugin.name])
    assert discover(plugin), f"plugins/{plugin.name} has no *_test.lua or *_test.fnl files"


@pytest.mark.parametrize("plugin", [p for p in plugin_folders(PLUGINS) if discover(p)], ids=lambda p: p.name)
def test_every_example_plugins_suite_passes(plugin):
    failure = suite_failure(plugin)
    assert failure is None, failure


def test_the_gate_tells_a_green_suite_from_a_red_or_missing_one(tmp_path):
    fixtures = Path(__file__).parent / "fixtures"
    root = tmp_path / "plugins"
    for name in ("green", "red", "bare"):
        (root / name / "tests").mkdir(parents=True)
        (root / name / "init.lua").write_text(f'return {{name = "{name}", version = "0.1.0"}}\n')
    (root / "green" / "tests" / "ok_test.lua").write_text(
        'local p = require("green")\ndescribe("g", function() it("names", function() assert.equal("green", p.name) end) end)\n'
    )
    (root / "red" / "tests" / "bad_test.lua").write_text(
        'describe("r", function() it("fails", function() assert.equal(1, 2) end) end)\n'
    )
    (root / "not-a-plugin").mkdir()
    assert [p.name for p in plugin_folders(root)] == ["bare", "green", "red"]
    assert suite_failure(root / "green") is None
    red = suite_failure(root / "red")
    assert red is not None and "exited 1" in red and "r / fails" in red
    assert discover(root / "bare") == []
    assert "exited 2" in (suite_failure(root / "bare") or "")
    assert suite_failure(fixtures / "mocks") is None
