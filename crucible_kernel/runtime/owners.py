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
    regs.unregister_owner("plugin:discord")   # {"handlers": 2, "schedules": 1, ...}
    schedules = regs.get("schedules", Scheduler)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from .engine import Runtime

__all__ = ["Owned", "Registrations", "owner_of", "registrations"]

_ATTRIBUTE = "registrations"  # where a runtime keeps its Registrations
T = TypeVar("T")


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

    def owned(self, owner: str | None) -> dict[str, int]:
        """How many live entries `owner` has in each registry (registries with none left out)."""
        counts = {name: registry.count_owner(owner) for name, registry in self._registries.items()}
        return {name: n for name, n in counts.items() if n}


def registrations(rt: Runtime) -> Registrations:
    """The registrations of runtime `rt` (created with it, by the modules that own registries)."""
    regs = rt.__dict__.get(_ATTRIBUTE)
    if regs is None:
        regs = Registrations()
        setattr(rt, _ATTRIBUTE, regs)
    return regs


def owner_of(value: Any) -> str | None:
    """An owner handed over from Lua (bytes, a string or nil) as Python text or None."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value
    raise TypeError(f"an owner is a string or nil, got {type(value).__name__}")
