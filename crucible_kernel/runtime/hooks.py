"""Session lifecycle hooks: crucible.on_session_start / on_session_end (lua/hooks.lua).

Plugins register hooks; the session service fires them when a session is created or ended:

    from crucible_kernel.runtime import hooks
    try:
        await hooks.of(rt).fire_session_start(session)   # a Lua value (or a dict) for the session
    except hooks.SessionRefused as exc:
        ...   # a `required` hook failed: refuse the session with str(exc)
    await hooks.of(rt).fire_session_end(session)         # never raises for a hook

Each hook runs as a task of its own (kind "hook"), one after the other in registration order,
so a hook may wait (cru.shell, cru.http, ...). A failing hook is logged at error level
(`Session start hook failed: ...`); only the failure of a start hook registered with
`{required = true}` refuses the session. Cancelling a fire (an interrupted cell) stops the
hook that is running.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import ApiError
from .owners import owner_of, registrations
from .tasks import TaskState

if TYPE_CHECKING:
    from .engine import Runtime
    from .tasks import LuaTask

__all__ = ["Hook", "SessionHooks", "SessionRefused", "install", "of"]


class SessionRefused(ApiError):
    """Raised by fire_session_start when a hook registered with `{required = true}` failed.
    Its message names every such failure: `session_start hook(s) failed: <error>; <error>`."""


@dataclass(eq=False)
class Hook:
    id: int
    fn: Any = field(repr=False)
    owner: str | None = None
    required: bool = False
    where: str = "?"
    """Where the hook was defined ("cell[2]:1")."""


class SessionHooks:
    """The registered session start and end hooks of one runtime."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self.start: list[Hook] = []
        self.end: list[Hook] = []
        self._ids = itertools.count(1)

    def add_start(
        self, fn: Any, *, required: bool = False, owner: str | None = None, where: str = "?"
    ) -> Hook:
        hook = Hook(next(self._ids), fn, owner, required, where)
        self.start.append(hook)
        return hook

    def add_end(self, fn: Any, *, owner: str | None = None, where: str = "?") -> Hook:
        hook = Hook(next(self._ids), fn, owner, False, where)
        self.end.append(hook)
        return hook

    async def fire_session_start(self, session: Any) -> None:
        """Run every start hook with `session`. Raises SessionRefused if a required one failed
        (after all of them ran, as the reference does)."""
        failures = []
        for hook in list(self.start):
            task = await self._run(hook, session, "session start")
            if task.state is not TaskState.DONE:
                self._rt.host.log("error", f"Session start hook failed: {_failure(task)}")
                if hook.required:
                    failures.append(task.message)
        if failures:
            raise SessionRefused("session_start hook(s) failed: " + "; ".join(failures))

    async def fire_session_end(self, session: Any) -> None:
        """Run every end hook with `session`; failures are logged, never raised."""
        for hook in list(self.end):
            task = await self._run(hook, session, "session end")
            if task.state is not TaskState.DONE:
                self._rt.host.log("error", f"Session end hook failed: {_failure(task)}")

    def unregister_owner(self, owner: str | None) -> int:
        before = len(self.start) + len(self.end)
        self.start = [h for h in self.start if h.owner != owner]
        self.end = [h for h in self.end if h.owner != owner]
        return before - len(self.start) - len(self.end)

    def count_owner(self, owner: str | None) -> int:
        return sum(1 for h in (*self.start, *self.end) if h.owner == owner)

    async def _run(self, hook: Hook, session: Any, what: str) -> LuaTask:
        task = self._rt.start(hook.fn, session, name=f"{what} hook ({hook.where})", kind="hook")
        try:
            await task.wait()
        except BaseException:  # the fire was cancelled: so is the hook
            task.cancel()
            raise
        return task


def _failure(task: LuaTask) -> str:
    if task.state is TaskState.FAILED and task.error is not None:
        return task.error.traceback
    return task.message


def of(rt: Runtime) -> SessionHooks:
    """The session hooks of runtime `rt`."""
    return registrations(rt).get("session_hooks", SessionHooks)


def install(rt: Runtime) -> None:
    registry = SessionHooks(rt)
    registrations(rt).add("session_hooks", registry)

    def add_start(fn: Any, required: bool, owner: Any, where: bytes) -> None:
        where_text = where.decode("utf-8", "replace")
        registry.add_start(rt.keep(fn), required=bool(required), owner=owner_of(owner), where=where_text)

    def add_end(fn: Any, owner: Any, where: bytes) -> None:
        registry.add_end(rt.keep(fn), owner=owner_of(owner), where=where.decode("utf-8", "replace"))

    module = rt.lua_module("hooks", {"add_start": add_start, "add_end": add_end})
    # On crucible only, as in the reference.
    rt.crucible[b"on_session_start"] = module[b"on_session_start"]
    rt.crucible[b"on_session_end"] = module[b"on_session_end"]
