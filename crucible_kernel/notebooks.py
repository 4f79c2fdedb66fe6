"""Running a notebook through a kernel with nbclient, and showing what each cell produced.

The kernel is reached over IPC (Unix sockets in a folder only this user can enter) rather than
TCP: nothing else on the machine can connect to it or listen to it, and ipykernel has no
reason to warn that it runs over TCP without encryption.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

DEFAULT_KERNEL = "crucible-lua"
MAX_SOCKET_PATH = 100  # a Unix socket path has room for 107 bytes; the kernel adds "-N"


def execute_notebook(
    path: str,
    *,
    kernel_name: str | None = None,
    timeout: float = 300,
    allow_errors: bool = False,
) -> Any:
    """Execute every cell of the notebook at `path` (in its folder) and return the notebook."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    name = kernel_name or nb.metadata.get("kernelspec", {}).get("name") or DEFAULT_KERNEL
    with local_transport() as config:
        client = NotebookClient(
            nb,
            kernel_name=name,
            timeout=timeout,
            allow_errors=allow_errors,
            store_widget_state=True,  # the saved notebook shows widgets' last state without a kernel
            record_timing=False,  # no execution timestamps in cell metadata: a re-run changes nothing
            resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}},
            **({"config": config} if config is not None else {}),
        )
        client.execute()
    return nb


@contextmanager
def local_transport() -> Iterator[Any]:
    """The traitlets config that makes nbclient's kernel manager use IPC, for as long as the
    context lasts: sockets in a fresh folder of mode 0700, removed afterwards. None (TCP) where
    Unix sockets are not available, or the temporary folder's path is too long for one."""
    if os.name != "posix":
        yield None
        return
    from traitlets.config import Config

    parent = tempfile.gettempdir()
    if len(parent) > MAX_SOCKET_PATH - 30 and os.path.isdir("/tmp"):
        parent = "/tmp"  # a long $TMPDIR leaves no room for the sockets' names
    folder = tempfile.mkdtemp(prefix="crucible-kernel-", dir=parent)
    try:
        endpoint = os.path.join(folder, "kernel")  # an absolute path: the kernel runs elsewhere
        if len(endpoint) > MAX_SOCKET_PATH:
            yield None
        else:
            yield Config({"KernelManager": {"transport": "ipc", "ip": endpoint}})
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def failed_cells(nb: Any) -> list[Any]:
    """The code cells that show an error, except those tagged raises-exception (an error that
    a demo shows on purpose)."""
    return [
        c
        for c in nb.cells
        if c.cell_type == "code"
        and "raises-exception" not in c.get("metadata", {}).get("tags", [])
        and any(o.output_type == "error" for o in c.get("outputs", []))
    ]


def format_outputs(nb: Any) -> str:
    """The notebook as text: each code cell's source, then its outputs."""
    parts = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        count = cell.get("execution_count") or " "
        source = cell.source.rstrip("\n").replace("\n", "\n" + " " * (len(f"In [{count}]: ")))
        parts.append(f"In [{count}]: {source}")
        for output in cell.outputs:
            parts.append(_output_text(output))
        parts.append("")
    return "\n".join(p for p in parts if p is not None)


def _output_text(output: Any) -> str:
    kind = output.output_type
    if kind == "stream":
        return output.text.rstrip("\n")
    if kind == "error":
        return f"{output.ename}: {output.evalue}"
    data = output.get("data", {})
    text = data["text/plain"] if "text/plain" in data else "<" + ", ".join(sorted(data)) + ">"
    if kind == "execute_result":
        return f"Out[{output.get('execution_count')}]: {text}"
    return text
