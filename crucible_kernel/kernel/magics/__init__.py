"""The kernel's magics: lines starting with `%` (or a cell starting with `%%`), and `?name`.

The registry lives here; each family of magics is a module of this package that registers its
magics with `line_magic` / `cell_magic` (imported at the bottom, so registering is importing).
`%lsmagic` lists every registered magic with the one-line usage it was registered with.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..kernel import CrucibleKernel

Reply = dict[str, Any]
LineMagic = Callable[["CrucibleKernel", str], Awaitable[Reply]]
CellMagic = Callable[["CrucibleKernel", str, str], Awaitable[Reply]]


@dataclass(frozen=True)
class Magic:
    fn: Callable[..., Awaitable[Reply]]
    usage: str  # "%tasks [cancel ID]  the live tasks ...": the line %lsmagic shows


LINE_MAGICS: dict[str, Magic] = {}
CELL_MAGICS: dict[str, Magic] = {}
HELP = re.compile(r"^\s*(\?\??)\s*([\w.:]+)\s*$|^\s*([\w.:]+)\s*(\?\??)\s*$")
OK: Reply = {"status": "ok"}


def line_magic(name: str, usage: str) -> Callable[[LineMagic], LineMagic]:
    """Register `%name`; `usage` is its line in %lsmagic."""

    def register(fn: LineMagic) -> LineMagic:
        LINE_MAGICS[name] = Magic(fn, usage)
        return fn

    return register


def cell_magic(name: str, usage: str) -> Callable[[CellMagic], CellMagic]:
    """Register `%%name` (the rest of the cell is its body); `usage` is its line in %lsmagic."""

    def register(fn: CellMagic) -> CellMagic:
        CELL_MAGICS[name] = Magic(fn, usage)
        return fn

    return register


def listing() -> str:
    """Every magic with its usage, line magics first."""
    rows = [m.usage for m in LINE_MAGICS.values()] + [m.usage for m in CELL_MAGICS.values()]
    rows.append("?name, ??name       help on a name (a pager); name? works too")
    return "\n".join(rows)


async def run(kernel: CrucibleKernel, code: str, silent: bool) -> Reply | None:
    """Run the magics at the top of `code`; None when the cell is plain Lua."""
    stripped = code.lstrip()
    help_match = HELP.match(code) if "\n" not in code.strip() else None
    if help_match:
        marks = help_match.group(1) or help_match.group(4)
        name = help_match.group(2) or help_match.group(3)
        return await help_reply(kernel, name, len(marks) - 1)
    if stripped.startswith("%%"):
        first, _, body = stripped.partition("\n")
        name, _, args = first[2:].partition(" ")
        magic = CELL_MAGICS.get(name)
        if magic is None:
            return _unknown(kernel, "%%" + name)
        return await magic.fn(kernel, args.strip(), body)
    if not stripped.startswith("%"):
        return None
    lines = stripped.split("\n")
    while lines and lines[0].startswith("%"):
        name, _, args = lines.pop(0)[1:].partition(" ")
        magic = LINE_MAGICS.get(name.strip())
        if magic is None:
            return _unknown(kernel, "%" + name)
        reply = await magic.fn(kernel, args.strip())
        if reply["status"] != "ok":
            return reply
    rest = "\n".join(lines)
    if rest.strip():
        return await kernel.run_cell(rest, silent)
    return dict(OK)


def print_text(kernel: CrucibleKernel, text: str) -> None:
    """Write `text` and a newline to the cell's stdout."""
    kernel.host.write("stdout", (text + "\n").encode())


async def help_reply(kernel: CrucibleKernel, name: str, detail: int) -> Reply:
    """`?name`: the help in the pager. A name that names nothing is said so as plain output, as
    IPython does, not as an error (which would stop "Run All")."""
    data = await kernel.help_data(name, detail)
    if data is None:
        print_text(kernel, f"Object `{name}` not found.")
        return dict(OK)
    return {"status": "ok", "payload": [{"source": "page", "data": data, "start": 0}]}


def _unknown(kernel: CrucibleKernel, name: str) -> Reply:
    known = " ".join(sorted(["%" + m for m in LINE_MAGICS] + ["%%" + m for m in CELL_MAGICS]))
    return kernel.report_error("UnknownMagic", f"unknown magic {name}; the magics are: {known}")


# The families of magics; importing one registers its magics.
from . import core, plugins, sessions, testing  # noqa: E402, F401
