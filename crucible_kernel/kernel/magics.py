"""The kernel's magics: lines starting with `%` (or a cell starting with `%%`), and `?name`.

%lsmagic            list the magics
%who, %vars         the globals the notebook defined (names; names, types and values)
%time CODE          run Lua CODE (or, as %%time, the rest of the cell) and report the wall time
%tasks [cancel ID]  the live tasks with their state and current line; cancel one
%reset              a fresh Lua state (live tasks are cancelled)
%%lua               the rest of the cell is Lua (a no-op, for clarity)
?name, ??name       help on a name (a pager); name? works too
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..runtime import TaskState

if TYPE_CHECKING:
    from .kernel import CrucibleKernel

Reply = dict[str, Any]
LINE_MAGICS: dict[str, Callable[[CrucibleKernel, str], Awaitable[Reply]]] = {}
CELL_MAGICS: dict[str, Callable[[CrucibleKernel, str, str], Awaitable[Reply]]] = {}
HELP = re.compile(r"^\s*(\?\??)\s*([\w.:]+)\s*$|^\s*([\w.:]+)\s*(\?\??)\s*$")
OK: Reply = {"status": "ok"}


def line_magic(name: str):
    def register(fn):
        LINE_MAGICS[name] = fn
        return fn

    return register


def cell_magic(name: str):
    def register(fn):
        CELL_MAGICS[name] = fn
        return fn

    return register


async def run(kernel: CrucibleKernel, code: str, silent: bool) -> Reply | None:
    """Run the magics at the top of `code`; None when the cell is plain Lua."""
    stripped = code.lstrip()
    help_match = HELP.match(code) if "\n" not in code.strip() else None
    if help_match:
        marks = help_match.group(1) or help_match.group(4)
        name = help_match.group(2) or help_match.group(3)
        return _help(kernel, name, len(marks) - 1)
    if stripped.startswith("%%"):
        first, _, body = stripped.partition("\n")
        name, _, args = first[2:].partition(" ")
        magic = CELL_MAGICS.get(name)
        if magic is None:
            return _unknown(kernel, "%%" + name)
        return await magic(kernel, args.strip(), body)
    if not stripped.startswith("%"):
        return None
    lines = stripped.split("\n")
    while lines and lines[0].startswith("%"):
        name, _, args = lines.pop(0)[1:].partition(" ")
        magic = LINE_MAGICS.get(name.strip())
        if magic is None:
            return _unknown(kernel, "%" + name)
        reply = await magic(kernel, args.strip())
        if reply["status"] != "ok":
            return reply
    rest = "\n".join(lines)
    if rest.strip():
        return await kernel.run_cell(rest, silent)
    return dict(OK)


def _unknown(kernel: CrucibleKernel, name: str) -> Reply:
    known = " ".join(sorted(["%" + m for m in LINE_MAGICS] + ["%%" + m for m in CELL_MAGICS]))
    return kernel.report_error("UnknownMagic", f"unknown magic {name}; the magics are: {known}")


def _print(kernel: CrucibleKernel, text: str) -> None:
    kernel.host.write("stdout", (text + "\n").encode())


def _help(kernel: CrucibleKernel, name: str, detail: int) -> Reply:
    text = kernel.help_text(name, detail)
    if text is None:
        return kernel.report_error("NotFound", f"no help found for {name!r}")
    return {"status": "ok", "payload": [{"source": "page", "data": {"text/plain": text}, "start": 0}]}


@line_magic("lsmagic")
async def _lsmagic(kernel: CrucibleKernel, args: str) -> Reply:
    _print(kernel, __doc__.split("\n\n", 1)[1].rstrip())
    return dict(OK)


def _user_globals(kernel: CrucibleKernel) -> list[tuple[str, Any]]:
    rt = kernel.runtime
    g = rt.lua.globals()
    names = sorted(k for k in g if isinstance(k, bytes) and k not in rt.initial_globals)
    return [(k.decode("utf-8", "replace"), g[k]) for k in names]


@line_magic("who")
async def _who(kernel: CrucibleKernel, args: str) -> Reply:
    names = [name for name, _ in _user_globals(kernel)]
    _print(kernel, "  ".join(names) if names else "No globals defined by the notebook.")
    return dict(OK)


@line_magic("vars")
async def _vars(kernel: CrucibleKernel, args: str) -> Reply:
    rows = _user_globals(kernel)
    if not rows:
        _print(kernel, "No globals defined by the notebook.")
        return dict(OK)
    describe = kernel.runtime.lua.eval(
        b"function(v) local s = (cru.display and cru.display.format or tostring)(v)"
        b" s = s:gsub('%s+', ' ') if #s > 60 then s = s:sub(1, 57) .. '...' end return type(v), s end"
    )
    table = [(name, *(x.decode("utf-8", "replace") for x in describe(value))) for name, value in rows]
    width = [max(len(r[i]) for r in [("Name", "Type", "Value"), *table]) for i in range(2)]
    lines = [f"{'Name':{width[0]}}  {'Type':{width[1]}}  Value"]
    lines += [f"{n:{width[0]}}  {t:{width[1]}}  {v}" for n, t, v in table]
    _print(kernel, "\n".join(lines))
    return dict(OK)


@line_magic("time")
async def _time_line(kernel: CrucibleKernel, args: str) -> Reply:
    return await _timed(kernel, args)


@cell_magic("time")
async def _time_cell(kernel: CrucibleKernel, args: str, body: str) -> Reply:
    return await _timed(kernel, body)


async def _timed(kernel: CrucibleKernel, code: str) -> Reply:
    start = time.perf_counter()
    reply = await kernel.run_cell(code)
    elapsed = time.perf_counter() - start
    unit = f"{elapsed * 1000:.3g} ms" if elapsed < 1 else f"{elapsed:.3g} s"
    _print(kernel, f"Wall time: {unit}")
    return reply


@cell_magic("lua")
async def _lua(kernel: CrucibleKernel, args: str, body: str) -> Reply:
    return await kernel.run_cell(body)


@line_magic("reset")
async def _reset(kernel: CrucibleKernel, args: str) -> Reply:
    old = kernel.reset_runtime()
    cancelled = await old.cancel_tasks()
    await old.aclose()
    note = f"; {cancelled} task(s) cancelled" if cancelled else ""
    _print(kernel, f"Fresh Lua state{note}.")
    return dict(OK)


@line_magic("tasks")
async def _tasks(kernel: CrucibleKernel, args: str) -> Reply:
    rt = kernel.runtime
    words = args.split()
    if words[:1] == ["cancel"]:
        if len(words) != 2 or not (words[1].isdigit() or words[1] == "all"):
            return kernel.report_error("UsageError", "usage: %tasks cancel ID  (or: %tasks cancel all)")
        targets = (
            rt.live_tasks(("spawn", "service"))
            if words[1] == "all"
            else [t for t in rt.live_tasks() if t.id == int(words[1])]
        )
        if not targets:
            return kernel.report_error("UsageError", f"no live task {words[1]}; %tasks lists them")
        for task in targets:
            task.cancel()
            await task.wait()
            _print(kernel, f"task {task.id} ({task.name}) {task.state.value}")
        return dict(OK)
    if args:
        return kernel.report_error("UsageError", "usage: %tasks  or  %tasks cancel ID")
    now = time.monotonic()
    live = [t for t in rt.live_tasks() if t.kind not in ("cell", "expression")]
    finished = [t for t in rt.recent if t.kind in ("spawn", "service")][-5:]
    if not live and not finished:
        _print(kernel, "No tasks.")
        return dict(OK)
    rows = [("ID", "KIND", "STATE", "AT", "AGE", "STARTED BY")]
    for t in live:
        rows.append((str(t.id), t.kind, t.state.value, t.where() or "", f"{now - t.started:.1f}s", t.name))
    for t in finished:
        state = t.state.value if t.state is not TaskState.FAILED else f"failed: {t.message[:40]}"
        rows.append((str(t.id), t.kind, state, "", f"{now - t.started:.1f}s", t.name))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    _print(
        kernel,
        "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[5] for r in rows),
    )
    return dict(OK)
