"""Installing the kernelspec: the repository's kernel/ folder (kernel.json template and logos),
reached from the package through the `assets` link."""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

DEFAULT_NAME = "crucible-lua"
SAFE_NAME = "crucible-lua-safe"
SAFE_DISPLAY_NAME = "Lua (Crucible, safe)"
FILES = ("logo-32x32.png", "logo-64x64.png", "logo-svg.svg")


def _assets() -> Any:
    return resources.files("crucible_kernel.kernel").joinpath("assets")


def kernel_json(
    display_name: str | None = None,
    python: str | None = None,
    *,
    safe: bool = False,
    allow: Iterable[str] = (),
) -> dict[str, Any]:
    """The kernelspec for this Python: the template with its interpreter filled in; in safe mode
    the kernel is told so (and which capabilities it grants) on its command line."""
    spec = json.loads(_assets().joinpath("kernel.json").read_text())
    spec["argv"] = [python or sys.executable if a == "{python}" else a for a in spec["argv"]]
    if safe:
        spec["argv"].append("--CrucibleKernel.safe=True")
        granted = ",".join(sorted(allow))
        if granted:
            spec["argv"].append(f"--CrucibleKernel.allow={granted}")
        spec["display_name"] = SAFE_DISPLAY_NAME
    if display_name:
        spec["display_name"] = display_name
    return spec


def install(
    *,
    user: bool = False,
    prefix: str | None = None,
    name: str = DEFAULT_NAME,
    display_name: str | None = None,
    safe: bool = False,
    allow: Iterable[str] = (),
) -> str:
    """Install the kernelspec and return the folder it went to (default: this sys.prefix)."""
    from jupyter_client.kernelspec import KernelSpecManager

    if not user and prefix is None:
        prefix = sys.prefix
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / name
        folder.mkdir()
        spec = kernel_json(display_name, safe=safe, allow=allow)
        (folder / "kernel.json").write_text(json.dumps(spec, indent=2) + "\n")
        for file in FILES:
            with resources.as_file(_assets().joinpath(file)) as path:
                shutil.copy(path, folder / file)
        return KernelSpecManager().install_kernel_spec(
            str(folder), kernel_name=name, user=user, prefix=prefix
        )
