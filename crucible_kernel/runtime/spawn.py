"""Natives behind cru.spawn and its task handles (lua/spawn.lua)."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

from .convert import Multi, text
from .tasks import LuaTask, TaskState

if TYPE_CHECKING:
    from .engine import Runtime


def install(rt: Runtime) -> None:
    # Tasks by id while something holds them: the driver while it runs, the Lua handle (which
    # wraps the task object) while it lives.
    handles: weakref.WeakValueDictionary[int, LuaTask] = weakref.WeakValueDictionary()

    def spawn(task_id: int, name: bytes) -> LuaTask:
        task = rt.lua_task(task_id, name=text(name), kind="spawn")
        handles[task_id] = task
        rt.start_soon(task)
        return task

    def cancel(task_id: int) -> bool:
        task = handles.get(task_id)
        return task is not None and task.cancel()

    def status(task_id: int) -> bytes:
        task = handles.get(task_id)
        return (task.state.value if task is not None else "unknown").encode()  # a Lua string

    def finished(task_id: int) -> bool:
        task = handles.get(task_id)
        return task is None or task.state.finished

    async def wait(task_id: int) -> Multi:
        task = handles.get(task_id)
        if task is None:
            return Multi(None, f"task {task_id} is unknown")
        await task.wait()
        if task.state is TaskState.DONE:
            return Multi(True, *task.results)
        if task.state is TaskState.FAILED:
            return Multi(False, task.error_value)
        return Multi(None, f"task {task_id} was {task.stop or 'cancelled'}")

    fn = rt.lua_module(
        "spawn", {"spawn": spawn, "cancel": cancel, "status": status, "finished": finished, "wait": wait}
    )
    rt.register("spawn", fn)
