"""A Jupyter of the benchmark's own: state folders and the crucible-lua kernelspec in a temporary
folder that is removed when the benchmark ends, so a run touches nothing of the user's Jupyter."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path


def temporary_jupyter() -> Path:
    """Points Jupyter's folders into a new temporary folder, installs the kernelspec there and
    returns the folder. Call it before jupyter_client looks up a kernel."""
    tmp = Path(tempfile.mkdtemp(prefix="crucible-bench-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    for var in ("JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR"):
        os.environ[var] = str(tmp / var.lower())
    os.environ["JUPYTER_PLATFORM_DIRS"] = "1"

    from crucible_kernel.kernel.install import install

    install(prefix=str(tmp / "prefix"))
    os.environ["JUPYTER_PATH"] = str(tmp / "prefix" / "share" / "jupyter")
    return tmp
