"""The kernel's own magics: listing, globals, timing, tasks and reset."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from ...runtime import LuaError, Stopped, TaskState
from . import OK, Reply, cell_magic, line_magic, listing
from . import print_text as _print

if TYPE_CHECKING:
    from ..kernel import CrucibleKernel

VALUE_WIDTH = 60  # characters of a value %vars shows


@line_magic("lsmagic", "%lsmagic            list the magics")
async def _lsmagic(kernel: CrucibleKernel, args: str) -> Reply:
    _print(kernel, listing())
    return dict(OK)


def _user_names(kernel: CrucibleKernel) -> list[str]:
    # A raw walk of the globals table (lupa iterates with lua_next): no user code runs.
    rt = kernel.runtime
    names = sorted(k for k in rt.lua.globals() if isinstance(k, bytes) and k not in rt.initial_globals)
    return [k.decode("utf-8", "replace") for k in names]


@line_magic("who", "%who                the globals the notebook defined (names)")
async def _who(kernel: CrucibleKernel, args: str) -> Reply:
    names = _user_names(kernel)
    _print(kernel, "  ".join(names) if names else "No globals defined by the notebook.")
    return dict(OK)


@line_magic("vars", "%vars               the globals with their types and values")
async def _vars(kernel: CrucibleKernel, args: str) -> Reply:
    from ..docs import introspection

    rt = kernel.runtime
    initial = rt.lua.table_from({name: True for name in rt.initial_globals})
    try:
        (listing,) = await rt.call(
            introspection(rt)[b"vars"], initial, rt.extensions["display.format"], VALUE_WIDTH, name="%vars"
        )
    except LuaError as exc:
        return kernel.report_lua_error(exc)
    except Stopped as stop:
        return kernel.report_error("Interrupted", f"%vars was {stop.kind}")
    table = [tuple(row.split("\t", 2)) for row in listing.decode("utf-8", "replace").split("\n") if row]
    if not table:
        _print(kernel, "No globals defined by the notebook.")
        return dict(OK)
    width = [max(len(r[i]) for r in [("Name", "Type", "Value"), *table]) for i in range(2)]
    lines = [f"{'Name':{width[0]}}  {'Type':{width[1]}}  Value"]
    lines += [f"{n:{width[0]}}  {t:{width[1]}}  {v}" for n, t, v in table]
    _print(kernel, "\n".join(lines))
    return dict(OK)


@line_magic("time", "%time CODE          run Lua CODE and report the wall time (%%time: the cell)")
async def _time_line(kernel: CrucibleKernel, args: str) -> Reply:
    return await _timed(kernel, args)


@cell_magic("time", "%%time              run the rest of the cell and report the wall time")
async def _time_cell(kernel: CrucibleKernel, args: str, body: str) -> Reply:
    return await _timed(kernel, body)


async def _timed(kernel: CrucibleKernel, code: str) -> Reply:
    start = time.perf_counter()
    reply = await kernel.run_cell(code)
    elapsed = time.perf_counter() - start
    unit = f"{elapsed * 1000:.3g} ms" if elapsed < 1 else f"{elapsed:.3g} s"
    _print(kernel, f"Wall time: {unit}")
    return reply


@cell_magic("lua", "%%lua               the rest of the cell is Lua (a no-op, for clarity)")
async def _lua(kernel: CrucibleKernel, args: str, body: str) -> Reply:
    return await kernel.run_cell(body)


@line_magic("reset", "%reset              a fresh Lua state (live tasks are cancelled)")
async def _reset(kernel: CrucibleKernel, args: str) -> Reply:
    old = kernel.reset_runtime()
    cancelled = await old.cancel_tasks()
    await old.aclose()
    note = f"; {cancelled} task(s) cancelled" if cancelled else ""
    _print(kernel, f"Fresh Lua state{note}.")
    return dict(OK)


@line_magic("tasks", "%tasks [cancel ID]  the live tasks with their state and current line; cancel one")
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
