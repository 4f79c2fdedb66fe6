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


def test_install_safe_adds_a_second_kernelspec_that_starts_the_kernel_in_safe_mode(tmp_path):
    base = [sys.executable, "-m", "crucible_kernel", "install", "--prefix", str(tmp_path)]
    subprocess.run(base, check=True, capture_output=True)
    subprocess.run([*base, "--safe", "--allow", "network,shell"], check=True, capture_output=True)
    kernels = Path(tmp_path, "share/jupyter/kernels")
    assert sorted(p.name for p in kernels.iterdir()) == ["crucible-lua", "crucible-lua-safe"]
    spec = json.loads((kernels / "crucible-lua-safe" / "kernel.json").read_text())
    assert spec["display_name"] == "Lua (Crucible, safe)"
    assert spec["argv"][-2:] == ["--CrucibleKernel.safe=True", "--CrucibleKernel.allow=network,shell"]


def test_install_refuses_unknown_capabilities_and_allow_without_safe(tmp_path):
    base = [sys.executable, "-m", "crucible_kernel", "install", "--prefix", str(tmp_path)]
    unknown = subprocess.run([*base, "--safe", "--allow", "disk"], capture_output=True, text=True)
    assert unknown.returncode == 2 and "unknown capability 'disk'" in unknown.stderr
    alone = subprocess.run([*base, "--allow", "network"], capture_output=True, text=True)
    assert alone.returncode == 2 and "add --safe" in alone.stderr
