"""Natives behind cru.timer (lua/timer.lua)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from .convert import Multi
from .errors import Stopped
from .tasks import LuaTask, TaskState

if TYPE_CHECKING:
    from .engine import Runtime


def install(rt: Runtime) -> None:
    started = rt.started
    monotonic = time.monotonic

    def clock() -> float:
        return monotonic() - started

    def timeout(seconds: float, task_id: int) -> Any:
        # Called from the Lua wrapper while its task computes: that task drives this one inline.
        return _timeout(seconds, task_id, rt._current)

    async def _timeout(seconds: float, task_id: int, parent: LuaTask | None) -> Multi:
        # The inner coroutine is driven inline, in the caller's asyncio task: a function that
        # finishes without waiting never meets the deadline, as in the reference (tokio polls the
        # future before the timer).
        task = rt.lua_task(task_id, name="timeout", kind="timeout")
        task.inline_parent = parent
        try:
            if rt.blocking:  # a synchronous caller: no deadline can interrupt it (Runtime._settle)
                await task.drive()
            else:
                async with asyncio.timeout(seconds):
                    await task.drive()
        except TimeoutError:
            return Multi(False, "timeout")
        if task.state is TaskState.DONE:
            return Multi(True, task.results[0] if task.results else None)
        if task.state is TaskState.FAILED and task.error is not None:
            return Multi(False, task.error.message)
        # An interrupt, a cancellation or os.exit stopped the function: it stops the caller too
        # (returning it as a value would let a loop of timeouts run on forever).
        raise Stopped(task.stop or "cancelled", task.exit_code)

    rt.register("timer", rt.lua_module("timer", {"clock": clock, "timeout": timeout}))
