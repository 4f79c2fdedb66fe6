"""Turning cell text into a Lua chunk, and Lua failures into Jupyter error content.

A cell that is an expression, or ends in one, returns its value, so the kernel can show it as
the cell's result: the cell is compiled as `return <cell>` first, then with its last lines as a
`return` statement, and only then as it is. A trailing `;` keeps the value from being shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..runtime import LuaError, LuaSyntaxError, Runtime

MAX_TAIL_LINES = 12  # how far back a trailing multi-line expression is looked for


@dataclass
class CompiledCell:
    fn: Any  # the compiled Lua chunk
    show_result: bool  # False when the cell ends in ';'


def compile_cell(rt: Runtime, code: str, chunk_name: str) -> CompiledCell:
    """Compile `code` as chunk `chunk_name` ("=cell[3]"); raises LuaSyntaxError for bad code."""
    stripped = code.rstrip()
    show = not stripped.endswith(";")
    body = stripped[:-1] if not show else stripped
    try:
        return CompiledCell(rt.load(_returning(body), chunk_name), show)
    except LuaSyntaxError:
        pass
    lines = body.split("\n")
    for k in range(1, min(MAX_TAIL_LINES, len(lines) - 1) + 1):
        head, tail = "\n".join(lines[:-k]), "\n".join(lines[-k:])
        if not tail.strip() or tail.lstrip().startswith("--"):
            continue
        try:
            return CompiledCell(rt.load(head + "\n" + _returning(tail), chunk_name), show)
        except LuaSyntaxError:
            continue
    return CompiledCell(rt.load(code, chunk_name), show)


def _returning(expressions: str) -> str:
    # `return f()` would be a tail call, and the cell's own frame would vanish from tracebacks;
    # select(1, ...) keeps every value and the frame. The newline ends a trailing comment.
    return "return select(1, " + expressions + "\n)"


RED, RESET = "\x1b[0;31m", "\x1b[0m"


def error_content(ename: str, evalue: str, traceback: str | None = None) -> dict[str, Any]:
    """The fields of an error reply and its IOPub `error` message."""
    lines = (traceback or evalue).split("\n")
    lines[0] = f"{RED}{lines[0]}{RESET}"
    return {"status": "error", "ename": ename, "evalue": evalue, "traceback": lines}


def lua_ename(error: LuaError) -> str:
    return "LuaSyntaxError" if isinstance(error, LuaSyntaxError) else "LuaError"
