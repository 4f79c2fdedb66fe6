"""Natives behind cru.timer (lua/timer.lua)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from .convert import Multi
from .tasks import TaskState

if TYPE_CHECKING:
    from .engine import Runtime


def install(rt: Runtime) -> None:
    started = rt.started
    monotonic = time.monotonic

    def clock() -> float:
        return monotonic() - started

    async def timeout(seconds: float, task_id: int) -> Multi:
        # The inner coroutine is driven inline, in the caller's asyncio task: a function that
        # finishes without waiting never meets the deadline, as in the reference (tokio polls the
        # future before the timer).
        task = rt.lua_task(task_id, name="timeout", kind="timeout")
        try:
            if asyncio.current_task() is None:  # synchronous caller (see Runtime._settle)
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
        return Multi(False, task.stop or "cancelled")

    rt.register("timer", rt.lua_module("timer", {"clock": clock, "timeout": timeout}))
