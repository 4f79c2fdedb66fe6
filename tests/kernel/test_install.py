"""`crucible-kernel install`: the kernelspec Jupyter finds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_install_writes_a_kernelspec_with_logos_and_a_working_interrupt_mode(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "crucible_kernel",
            "install",
            "--prefix",
            str(tmp_path),
            "--name",
            "lua-test",
            "--display-name",
            "Lua test",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    folder = tmp_path / "share" / "jupyter" / "kernels" / "lua-test"
    assert str(folder) in result.stdout
    spec = json.loads((folder / "kernel.json").read_text())
    assert spec["display_name"] == "Lua test"
    assert spec["language"] == "lua"
    assert spec["interrupt_mode"] == "message"
    assert spec["argv"][0] == sys.executable
    assert spec["argv"][1:] == ["-m", "crucible_kernel.kernel", "-f", "{connection_file}"]
    for logo in ("logo-32x32.png", "logo-64x64.png", "logo-svg.svg"):
        data = (folder / logo).read_bytes()
        assert data.startswith(b"\x89PNG") or b"<svg" in data


def test_the_default_name_and_display_name(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "crucible_kernel", "install", "--prefix", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    spec = json.loads(Path(tmp_path, "share/jupyter/kernels/crucible-lua/kernel.json").read_text())
    assert spec["display_name"] == "Lua (Crucible)"
