"""The registry behind crucible.on / cru.on (lua/handlers.lua): runtime hooks by event name.

The names are the reference's closed set: eight daemon events (`FileChanged`, `note:created`,
`webhook:received`, ...) and eleven turn-loop stages (`pre_tool_call`, `tool_result`, ...). An
unknown name is an error with a "did you mean" hint, because a handler that can never fire is a
broken plugin.

Nothing in the kernel produces these events yet (there is no file watcher, webhook server or
tool-calling agent loop); `matching` and `dispatch` are what a producer calls.
"""

from __future__ import annotations

import difflib
import fnmatch
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .convert import text
from .owners import owner_of, registrations
from .tasks import TaskState

if TYPE_CHECKING:
    from .engine import Runtime

__all__ = ["EVENTS", "HOOK_NAMES", "STAGES", "EventHandlers", "Handler", "install", "of", "unknown_event"]

# Daemon broadcasts: fan-out, already happened, no reply.
EVENTS = (
    "FileChanged",
    "FileDeleted",
    "FileMoved",
    "note:created",
    "note:modified",
    "note:deleted",
    "note:renamed",
    "webhook:received",
)
# Interception points on the turn loop: run in priority order, the return value matters.
STAGES = (
    "pre_tool_call",
    "tool_result",
    "pre_llm_call",
    "post_llm_call",
    "transform_context",
    "precognition_select",
    "precognition_format",
    "turn:complete",
    "tool:before_execute",
    "tool:display_start",
    "tool:display_complete",
)
HOOK_NAMES = EVENTS + STAGES
DEFAULT_PRIORITY = 100


def unknown_event(name: str) -> str:
    """The error for a name crucible.on does not know: a suggestion, or the whole list."""
    close = difflib.get_close_matches(name, HOOK_NAMES, n=1, cutoff=0.6)
    if close:
        return f"crucible.on: unknown event `{name}` — did you mean `{close[0]}`?"
    return f"crucible.on: unknown event `{name}`. Valid: {', '.join(HOOK_NAMES)}"


@dataclass(eq=False)
class Handler:
    """One registered handler."""

    id: int
    event: str
    fn: Any = field(repr=False)
    pattern: str | None = None
    """A glob matched against the event's identifier (a tool name for pre_tool_call)."""
    priority: int = DEFAULT_PRIORITY
    """Lower runs first."""
    owner: str | None = None


class EventHandlers:
    """Every handler registered with crucible.on, in registration order."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self.handlers: list[Handler] = []
        self._ids = itertools.count(1)

    def add(
        self,
        event: str,
        fn: Any,
        *,
        pattern: str | None = None,
        priority: int = DEFAULT_PRIORITY,
        owner: str | None = None,
    ) -> Handler:
        """Register `fn` for `event`; raises ValueError (with the hint) for an unknown name."""
        if event not in HOOK_NAMES:
            raise ValueError(unknown_event(event))
        handler = Handler(next(self._ids), event, fn, pattern, priority, owner)
        self.handlers.append(handler)
        return handler

    def matching(self, event: str, identifier: str | None = None) -> list[Handler]:
        """The handlers for `event` that accept `identifier`, lowest priority first (a handler
        with a pattern needs an identifier that matches it)."""
        found = [
            h
            for h in self.handlers
            if h.event == event
            and (h.pattern is None or (identifier is not None and fnmatch.fnmatchcase(identifier, h.pattern)))
        ]
        found.sort(key=lambda h: h.priority)  # stable: registration order among equals
        return found

    async def dispatch(self, event: str, ctx: Any, payload: Any, identifier: str | None = None) -> list[Any]:
        """Call each matching handler as `fn(ctx, event)`, in order, each as a task (so it may
        wait); returns their first results (None for one that failed, which is logged)."""
        results: list[Any] = []
        rt = self._rt
        for handler in self.matching(event, identifier):
            task = rt.start(handler.fn, ctx, payload, name=f"crucible.on {event}", kind="handler")
            try:
                await task.wait()
            except BaseException:
                task.cancel()
                raise
            if task.state is TaskState.DONE:
                results.append(task.results[0] if task.results else None)
            else:
                message = task.error.traceback if task.error is not None else task.message
                rt.host.log("warn", f"handler error on '{event}': {message}")
                results.append(None)
        return results

    def unregister_owner(self, owner: str | None) -> int:
        before = len(self.handlers)
        self.handlers = [h for h in self.handlers if h.owner != owner]
        return before - len(self.handlers)

    def count_owner(self, owner: str | None) -> int:
        return sum(1 for h in self.handlers if h.owner == owner)


def of(rt: Runtime) -> EventHandlers:
    """The crucible.on handlers of runtime `rt`."""
    return registrations(rt).get("handlers", EventHandlers)


def install(rt: Runtime) -> None:
    registry = EventHandlers(rt)
    registrations(rt).add("handlers", registry)

    def unknown(event: bytes) -> bytes | None:
        name = text(event)
        return None if name in HOOK_NAMES else unknown_event(name).encode()

    def register(event: bytes, pattern: bytes | None, priority: int, fn: Any, owner: Any) -> int:
        handler = registry.add(
            text(event),
            rt.keep(fn),
            pattern=None if pattern is None else text(pattern),
            priority=priority,
            owner=owner_of(owner),
        )
        return handler.id

    on = rt.lua_module("handlers", {"register": register, "unknown": unknown})
    rt.register("on", on)
