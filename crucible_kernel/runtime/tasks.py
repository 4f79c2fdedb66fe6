"""Lua tasks: one Lua coroutine driven by one asyncio coroutine.

`LuaTask.drive` is the driver loop. It resumes the coroutine (`engine.step` in prelude.lua);
when Lua yields a request it awaits it on the loop and resumes Lua with the outcome. A cancelled
driver resumes Lua once more with a stop, so the coroutine unwinds (its `<close>` variables run)
before the cancellation propagates.
"""

from __future__ import annotations

import asyncio
import contextvars
import enum
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .convert import text
from .errors import LuaError, Stopped, clean_traceback, describe

if TYPE_CHECKING:
    from .engine import Runtime

__all__ = ["LuaTask", "TaskRecord", "TaskState"]

# Result kinds of engine.step and resume statuses; the values are fixed in prelude.lua.
AWAIT, DONE, FAIL, STOPPED, YIELD = 1, 2, 3, 4, 5
OK, ERR, STOP = 1, 2, 3
_RESUME_EMPTY = (OK,)
_UNWIND_LIMIT = 100  # awaits tolerated while a stopped coroutine unwinds


class TaskState(enum.Enum):
    """Where a task is in its life."""

    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (TaskState.DONE, TaskState.FAILED, TaskState.CANCELLED)


@dataclass(frozen=True)
class TaskRecord:
    """What a listing remembers of a finished task: never its results or error value, which can
    be big Lua values."""

    id: int
    name: str
    kind: str
    state: TaskState
    message: str
    started: float
    finished_at: float | None

    @classmethod
    def of(cls, task: LuaTask) -> TaskRecord:
        return cls(task.id, task.name, task.kind, task.state, task.message, task.started, task.finished_at)


class LuaTask:
    """A Lua coroutine and its driver.

    Attributes set when the task ends: `results` (DONE), `error` and `error_value` (FAILED),
    `stop` ("cancelled", "interrupted" or "exit") and `exit_code` (CANCELLED).
    """

    def __init__(self, runtime: Runtime, task_id: int, name: str, kind: str) -> None:
        self.runtime = runtime
        self.id = task_id
        self.name = name
        self.kind = kind  # "main", "cell", "spawn", "service", "timeout", ...
        self.state = TaskState.PENDING
        self.results: tuple[Any, ...] = ()
        self.error: LuaError | None = None
        self.error_value: Any = None
        self.stop: str | None = None
        self.exit_code: int | None = None
        self.started = time.monotonic()
        self.finished_at: float | None = None
        self.asyncio_task: asyncio.Task[None] | None = None
        self.inline_parent: LuaTask | None = None
        """The task whose driver drives this one inline (cru.timer.timeout's function): an
        interrupt of the foreground task reaches it too."""
        self.unwinding = False
        """A cancellation is unwinding the coroutine: every wait it asks for ends at once with
        the stop (so cleanup that must happen, closing a connection, happens in the background)."""
        self._stop_reason: str | None = None
        self._done: asyncio.Future[None] | None = None

    def __repr__(self) -> str:
        return f"<LuaTask {self.id} {self.name!r} {self.state.value}>"

    # Public methods

    def start(self, context: contextvars.Context | None = None) -> asyncio.Task[None]:
        """Schedule the driver on the running loop (in `context`, or a copy of the current one)."""
        loop = asyncio.get_running_loop()
        self.asyncio_task = loop.create_task(self._run(), name=f"lua:{self.name}", context=context)
        return self.asyncio_task

    def cancel(self, reason: str = "cancelled") -> bool:
        """Stop the task at its next await. Returns False if it had finished or was being stopped."""
        if self.state.finished or self._stop_reason is not None:
            return False
        self._stop_reason = reason
        if self.asyncio_task is not None:
            self.asyncio_task.cancel()
        if self.state is TaskState.PENDING:  # never ran: asyncio will not even enter the driver
            self.runtime._close_task(self.id, self)
            self._stopped(reason, None)
        return True

    @property
    def cancelling(self) -> bool:
        """Whether a cancellation is on its way (or the task already ended by one)."""
        return self._stop_reason is not None

    async def wait(self) -> None:
        """Wait until the task has finished, however it ended. Never raises for the task."""
        if self.state.finished:
            return
        if self._done is None:
            self._done = asyncio.get_running_loop().create_future()
        await asyncio.shield(self._done)

    def where(self) -> str | None:
        """The user line the task is at now ("cell[3]:5"), if it is alive."""
        if self.state.finished:
            return None
        return self.runtime.where(self.id)

    @property
    def message(self) -> str:
        """One line on how the task ended (for logs and listings)."""
        if self.state is TaskState.FAILED and self.error is not None:
            return self.error.message
        if self.state is TaskState.CANCELLED:
            return self.stop or "cancelled"
        return self.state.value

    # The driver

    async def _run(self) -> None:
        try:
            await self.drive()
        except asyncio.CancelledError:
            pass  # the outcome is recorded on the task; nothing waits on the asyncio task
        except Exception as exc:  # a bug in the driver: fail the task, keep the runtime alive
            if not self.state.finished:
                self.runtime._close_task(self.id, self)
                self._fail(LuaError(f"internal error in the task driver: {describe(exc)}"), None)

    async def drive(self) -> None:
        """Run the coroutine to its end. Re-raises CancelledError if the driver was cancelled."""
        rt = self.runtime
        step = rt._step
        tid = self.id
        send: tuple[Any, ...] = ()
        stopping: bytes | None = None
        unwinding = 0
        self.state = TaskState.RUNNING
        rt._task_started(self)
        try:
            while True:
                previous, rt._current = rt._current, self  # nested when a sync caller settles
                try:
                    res = step(tid, *send)
                except Exception as exc:  # lupa itself failed (out of memory while converting, ...)
                    rt._close_task(tid, self)
                    self._fail(LuaError(describe(exc)), None)
                    return
                finally:
                    rt._current = previous
                if res.__class__ is not tuple:  # lupa returns a lone value bare
                    res = (res,)
                kind = res[0]
                if kind in (AWAIT, YIELD):
                    if stopping is not None:
                        unwinding += 1
                        if kind == YIELD or unwinding > _UNWIND_LIMIT:
                            rt._close_task(tid, self)
                            self._stopped(stopping.decode(), None)
                            break
                        send = (STOP, stopping)
                        continue
                    # YIELD is a bare coroutine.yield() at the top of the task: let the loop run.
                    request = res[1] if kind == AWAIT else 0
                    self.state = TaskState.WAITING
                    try:
                        kind_of = request.__class__
                        if kind_of is float or kind_of is int:
                            await asyncio.sleep(request)
                            send = _RESUME_EMPTY if kind == AWAIT else ()
                        else:
                            send = rt._resume_args(await request)
                    except asyncio.CancelledError:
                        stopping = (self._stop_reason or "cancelled").encode()
                        self.unwinding = True
                        send = (STOP, stopping)
                    except Stopped as stop:  # the awaited native passes a stop on
                        send = (STOP, stop.kind.encode(), stop.code)
                    except Exception as exc:
                        send = (ERR, describe(exc).encode("utf-8", "replace"))
                    self.state = TaskState.RUNNING
                elif kind == DONE:
                    self.results = tuple(map(rt.keep, res[1:]))  # kept: read after the task ends
                    self._finish(TaskState.DONE)
                    break
                elif kind == FAIL:
                    message, tb, value = text(res[1]), text(res[2]), res[3]
                    self._fail(LuaError(message, clean_traceback(tb)), value)
                    break
                else:  # STOPPED
                    self._stopped(text(res[1]), res[2])
                    break
        finally:
            if not self.state.finished:  # the driver itself was abandoned (GeneratorExit)
                rt._close_task(tid, self)
                self._stopped("cancelled", None)
        if stopping is not None:
            raise asyncio.CancelledError

    # Private methods

    def _fail(self, error: LuaError, value: Any) -> None:
        self.error = error
        self.error_value = self.runtime.keep(value)
        self._finish(TaskState.FAILED)

    def _stopped(self, kind: str, code: Any) -> None:
        self.stop = kind
        if kind == "exit":
            self.exit_code = _exit_code(code)
        self._finish(TaskState.CANCELLED)

    def _finish(self, state: TaskState) -> None:
        self.state = state
        self.finished_at = time.monotonic()
        if self._done is not None and not self._done.done():
            self._done.set_result(None)
        self.runtime._task_finished(self)


def _exit_code(code: Any) -> int:
    """os.exit's argument as a process status: true/nil → 0, false → 1, numbers as given."""
    if code is None or code is True:
        return 0
    if code is False:
        return 1
    try:
        return int(code)
    except (TypeError, ValueError):
        return 1
