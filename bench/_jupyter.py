"""A Jupyter of the benchmark's own: state folders and the crucible-lua kernelspec in a temporary
folder that is removed when the benchmark ends, so a run touches nothing of the user's Jupyter;
and the kernels the benchmarks talk to."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

VIEW = "application/vnd.jupyter.widget-view+json"


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


@contextmanager
def kernel(name: str = "crucible-lua") -> Iterator[Any]:
    """A started kernel's blocking client, ready; the kernel is shut down afterwards."""
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name=name)
    km.start_kernel()
    kc = km.blocking_client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        yield kc
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def execute(kc: Any, code: str) -> tuple[float, list[dict[str, Any]]]:
    """Seconds from execute_request to idle, and the IOPub messages of the request."""
    began = time.perf_counter()
    msg_id = kc.execute(code)
    messages = []
    while True:
        msg = kc.get_iopub_msg(timeout=120)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            elapsed = time.perf_counter() - began
            break
        messages.append(msg)
    reply = kc.get_shell_msg(timeout=120)
    assert reply["content"]["status"] == "ok", reply["content"]
    return elapsed, messages


def model_id(messages: list[dict[str, Any]]) -> str:
    """The model id of the widget a cell showed, from the cell's IOPub messages."""
    for m in messages:
        if m["msg_type"] == "display_data" and VIEW in m["content"]["data"]:
            return str(m["content"]["data"][VIEW]["model_id"])
    raise AssertionError("the cell showed no widget")
