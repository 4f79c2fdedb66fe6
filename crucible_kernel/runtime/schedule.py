"""The scheduler behind cru.schedule (lua/schedule.lua): functions run every N seconds.

Each schedule is an asyncio task that sleeps until the next tick and then runs the function as
a Lua task of its own (kind "schedule"), so the function may wait (sleep, HTTP, ...); the next
tick waits for it. The first run comes one interval after scheduling, as in the reference.
Ticks missed while a run was slow (or while Lua computed without letting the loop run) are
skipped, not run back to back: the next run is the next tick still ahead. A failing run is
logged (`scheduled callback error: ...`) and the schedule goes on.

`cancel(handle)` stops future runs; a run in progress finishes (a function may cancel its own
schedule). Removing by owner, and closing the runtime, also stop the run in progress.

The clock is `Scheduler.clock` (tests give it a fake one).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .convert import Multi
from .errors import ApiError
from .owners import owner_of, registrations
from .tasks import LuaTask, TaskState

if TYPE_CHECKING:
    from .engine import Runtime

__all__ = ["MAX_ACTIVE_SCHEDULES", "Clock", "Schedule", "Scheduler", "install", "of"]

MAX_ACTIVE_SCHEDULES = 256


class Clock:
    """Monotonic time and sleeping, on the running event loop."""

    def time(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, delay: float) -> None:
        await asyncio.sleep(delay)


@dataclass(eq=False)
class Schedule:
    """One active schedule."""

    handle: int
    interval: float
    fn: Any = field(repr=False)
    owner: str | None
    where: str
    """Where the function was defined ("cell[3]:2"), for listings."""
    runs: int = 0
    failures: int = 0
    cancelled: bool = False
    runner: asyncio.Task[None] | None = field(default=None, repr=False)
    current: LuaTask | None = field(default=None, repr=False)
    """The run in progress, if any."""


class Scheduler:
    """The active schedules of one runtime, by handle."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self.clock = Clock()
        self.schedules: dict[int, Schedule] = {}
        self._next_handle = 1

    # Public methods

    def add(self, interval: float, fn: Any, *, owner: str | None = None, where: str = "?") -> Schedule:
        """Run Lua function `fn` every `interval` seconds, the first time one interval from now."""
        if len(self.schedules) >= MAX_ACTIVE_SCHEDULES:
            raise ApiError(f"too many active schedules ({len(self.schedules)}/{MAX_ACTIVE_SCHEDULES})")
        loop = self._rt.bind_loop()
        entry = Schedule(self._next_handle, interval, fn, owner, where)
        self._next_handle += 1
        self.schedules[entry.handle] = entry
        entry.runner = loop.create_task(self._run(entry), name=f"schedule {entry.handle}")
        return entry

    def cancel(self, handle: int) -> bool:
        """Stop future runs of schedule `handle`; False if there is no such active schedule."""
        entry = self.schedules.pop(handle, None)
        if entry is None:
            return False
        entry.cancelled = True
        if entry.current is None and entry.runner is not None:
            entry.runner.cancel()  # asleep: wake it to end; a run in progress is left to finish
        return True

    def unregister_owner(self, owner: str | None) -> int:
        """Cancel every schedule `owner` made, stopping runs in progress too."""
        doomed = [e for e in self.schedules.values() if e.owner == owner]
        for entry in doomed:
            self._stop(entry)
        return len(doomed)

    def count_owner(self, owner: str | None) -> int:
        return sum(1 for e in self.schedules.values() if e.owner == owner)

    async def aclose(self) -> None:
        """Stop every schedule and wait for the runs in progress to unwind."""
        entries = list(self.schedules.values())
        for entry in entries:
            self._stop(entry)
        for entry in entries:
            if entry.runner is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await entry.runner
            if entry.current is not None:
                await entry.current.wait()

    # Private methods

    def _stop(self, entry: Schedule) -> None:
        self.schedules.pop(entry.handle, None)
        entry.cancelled = True
        if entry.current is not None:
            entry.current.cancel()
        if entry.runner is not None:
            entry.runner.cancel()

    async def _run(self, entry: Schedule) -> None:
        rt = self._rt
        start = self.clock.time()
        tick = 1
        try:
            while True:
                delay = start + tick * entry.interval - self.clock.time()
                await (self.clock.sleep(delay) if delay > 0 else asyncio.sleep(0))
                if entry.cancelled:
                    return
                task = rt.start(entry.fn, name=f"schedule {entry.handle}", kind="schedule")
                entry.current = task
                try:
                    await task.wait()
                finally:
                    entry.current = None
                entry.runs += 1
                if task.state is TaskState.FAILED and task.error is not None:
                    entry.failures += 1
                    rt.host.log("warn", f"scheduled callback error: {task.error.traceback}")
                if entry.cancelled:
                    return
                # The first tick not yet past (ticks a slow run went beyond are skipped).
                elapsed = self.clock.time() - start
                tick = max(tick + 1, math.ceil(elapsed / entry.interval))
        finally:
            if self.schedules.get(entry.handle) is entry:
                del self.schedules[entry.handle]


def of(rt: Runtime) -> Scheduler:
    """The scheduler of runtime `rt`."""
    return registrations(rt).get("schedules", Scheduler)


def install(rt: Runtime) -> None:
    scheduler = Scheduler(rt)
    registrations(rt).add("schedules", scheduler)
    rt.add_cleanup(scheduler.aclose)

    def add(interval: float, fn: Any, owner: Any, where: bytes) -> Multi:
        try:
            entry = scheduler.add(
                float(interval), rt.keep(fn), owner=owner_of(owner), where=where.decode("utf-8", "replace")
            )
        except ApiError as exc:
            return Multi(None, str(exc).encode())
        except RuntimeError:  # no event loop is running (Lua called from plain Python)
            return Multi(None, b"cru.schedule needs the runtime's event loop to be running")
        return Multi(entry.handle, None)

    def cancel(handle: int) -> bool:
        return scheduler.cancel(handle)

    rt.register("schedule", rt.lua_module("schedule", {"add": add, "cancel": cancel}))
