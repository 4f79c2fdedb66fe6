"""Who registered what: the registries of the plugin-facing modules, removable by owner.

Everything a cell or a plugin registers (crucible.on handlers, session hooks, schedules,
publications, options trees, status slots, context validators) carries the owner that
`engine.current_owner()` named when it was registered: a string, or None for code that nothing
tracks. Re-running a cell or reloading a plugin calls `unregister_owner(owner)` first, so
nothing is registered twice and nothing a previous version registered keeps firing.

Each module keeps its own registry object; `registrations(rt)` is the one place that lists them
all. A registry only needs `unregister_owner(owner) -> int` (how many entries it removed) and
`count_owner(owner) -> int`. The same place keeps the modules' other per-runtime state (the
configured paths, the config stores), added with `owned=False`.

    regs = registrations(rt)
    regs.unregister_owner("discord")   # {"handlers": 2, "schedules": 1, ...}
    schedules = regs.get("schedules", Scheduler)

Who the owner is: the context variable behind `current_owner()`. asyncio copies a task's context
from its creator, so a task inherits the owner of the code that started it (a task spawned by a
cell is the cell's, a service started by a plugin is the plugin's); `engine.current_owner()` in
Lua answers the owner of the task running it. Whoever runs code on an owner's behalf sets it:
`with owned_by("cell:abc"): ...`, or `rt.start(..., context=context_for("discord"))`. Owners
are plugin names (`discord`, the name Crucible tags a plugin's registrations with) and
`cell:<id>` for notebook cells; None is nobody's.

`await regs.release(owner)` takes back everything an owner has: the releasers that layers above
add (a plugin manager unloads the plugins the owner loaded, a supervisor stops its services),
then the owner's live tasks (cancelled, and waited for), then every registry's entries.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from .engine import Runtime
    from .tasks import LuaTask

__all__ = [
    "Owned",
    "Registrations",
    "context_for",
    "current_owner",
    "install",
    "owned_by",
    "owner_of",
    "registrations",
]

_ATTRIBUTE = "registrations"  # where a runtime keeps its Registrations
T = TypeVar("T")

_OWNER: contextvars.ContextVar[str | None] = contextvars.ContextVar("crucible_owner", default=None)


def current_owner() -> str | None:
    """The owner of the code running now (None: nobody's)."""
    return _OWNER.get()


@contextlib.contextmanager
def owned_by(owner: str | None) -> Iterator[None]:
    """Run the body, and the tasks it starts, on behalf of `owner`."""
    token = _OWNER.set(owner)
    try:
        yield
    finally:
        _OWNER.reset(token)


def context_for(owner: str | None) -> contextvars.Context:
    """A copy of the current context (output routing included) in which `owner` is current:
    hand it to `Runtime.start` to run a task on the owner's behalf."""
    context = contextvars.copy_context()
    context.run(_OWNER.set, owner)
    return context


class Owned(Protocol):
    """A registry whose entries carry an owner."""

    def unregister_owner(self, owner: str | None) -> int:
        """Remove every entry `owner` registered; return how many there were."""
        ...

    def count_owner(self, owner: str | None) -> int:
        """How many live entries `owner` registered."""
        ...


class Registrations:
    """The owner-tagged registries of one runtime, by name (in registration order), and the
    modules' other per-runtime objects."""

    def __init__(self) -> None:
        self._objects: dict[str, object] = {}
        self._registries: dict[str, Owned] = {}
        self._releasers: list[Callable[[str | None], Awaitable[None]]] = []
        self.task_owners: dict[int, str | None] = {}
        """The owner of every live task, by task id (recorded when the task starts)."""

    def add(self, name: str, obj: object, *, owned: bool = True) -> None:
        """Keep `obj` under `name`; an `owned` one is an Owned registry."""
        if name in self._objects:
            raise ValueError(f"an object named {name!r} is already registered")
        if owned and not callable(getattr(obj, "unregister_owner", None)):
            raise TypeError(f"registry {name!r} has no unregister_owner(owner)")
        self._objects[name] = obj
        if owned:
            self._registries[name] = obj  # type: ignore[assignment]

    def get(self, name: str, kind: type[T]) -> T:
        """The object called `name`, checked to be a `kind`."""
        obj = self._objects[name]
        if not isinstance(obj, kind):
            raise TypeError(f"{name!r} is a {type(obj).__name__}, not a {kind.__name__}")
        return obj

    def names(self) -> list[str]:
        """The names of the owner-tagged registries."""
        return list(self._registries)

    def unregister_owner(self, owner: str | None) -> dict[str, int]:
        """Remove what `owner` registered from every registry; how many entries each lost.

        A registry that fails does not stop the others (its error is re-raised at the end)."""
        removed: dict[str, int] = {}
        failure: BaseException | None = None
        for name, registry in self._registries.items():
            try:
                removed[name] = registry.unregister_owner(owner)
            except Exception as exc:
                failure = failure or exc
        if failure is not None:
            raise failure
        return removed

    def add_releaser(self, fn: Callable[[str | None], Awaitable[None]]) -> None:
        """Have `release(owner)` await `fn(owner)` first (for what must stop before the tasks
        and registrations go: plugins the owner loaded, services it started)."""
        self._releasers.append(fn)

    def tasks_of(self, rt: Runtime, owner: str | None) -> list[LuaTask]:
        """The live tasks of `owner`."""
        return [t for t in rt.tasks.values() if t.id in self.task_owners and self.task_owners[t.id] == owner]

    async def release(self, rt: Runtime, owner: str | None) -> dict[str, int]:
        """Take back everything `owner` has: releasers, then its live tasks (cancelled and waited
        for), then its registrations. Returns how many entries each registry lost, plus "tasks".
        The task calling this is spared, even if it is the owner's."""
        for fn in list(self._releasers):
            await fn(owner)
        me = asyncio.current_task()
        tasks = [t for t in self.tasks_of(rt, owner) if t.asyncio_task is not me]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*(t.wait() for t in tasks))
        removed = self.unregister_owner(owner)
        removed["tasks"] = len(tasks)
        return removed

    def owned(self, owner: str | None) -> dict[str, int]:
        """How many live entries `owner` has in each registry (registries with none left out)."""
        counts = {name: registry.count_owner(owner) for name, registry in self._registries.items()}
        return {name: n for name, n in counts.items() if n}


def registrations(rt: Runtime) -> Registrations:
    """The registrations of runtime `rt` (created with it, by the modules that own registries)."""
    regs = rt.extensions.get(_ATTRIBUTE)
    if regs is None:
        regs = Registrations()
        rt.extensions[_ATTRIBUTE] = regs
    return regs


def install(rt: Runtime) -> None:
    """Make `engine.current_owner()` answer the owner of the running task, and record the owner
    of every task as it starts (inside its driver, so in its own context)."""
    regs = registrations(rt)
    owners = regs.task_owners

    def lua_current_owner() -> bytes | None:
        owner = _OWNER.get()
        return None if owner is None else owner.encode()

    def on_task(task: LuaTask, event: str) -> None:
        if event == "started":
            owners[task.id] = _OWNER.get()
        else:
            owners.pop(task.id, None)

    rt.engine[b"current_owner"] = lua_current_owner
    rt.task_listeners.append(on_task)


def owner_of(value: Any) -> str | None:
    """An owner handed over from Lua (bytes, a string or nil) as Python text or None."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    raise TypeError(f"an owner is a string or nil, got {type(value).__name__}")
