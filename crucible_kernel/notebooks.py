"""Running a notebook through a kernel with nbclient, and showing what each cell produced."""

from __future__ import annotations

import os
from typing import Any

DEFAULT_KERNEL = "crucible-lua"


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
    client = NotebookClient(
        nb,
        kernel_name=name,
        timeout=timeout,
        allow_errors=allow_errors,
        store_widget_state=True,  # the saved notebook shows widgets' last state without a kernel
        resources={"metadata": {"path": os.path.dirname(os.path.abspath(path))}},
    )
    client.execute()
    return nb


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
