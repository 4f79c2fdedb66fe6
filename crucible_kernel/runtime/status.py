"""The status slots behind crucible.set_status / clear_status (lua/status.lua).

A slot is keyed by session and key and holds the latest text a plugin set there (with its
plugin name, level and progress); setting it again replaces it. Every change goes to the host
(`Host.status`), which shows it. Slots carry the owner that set them, so a reloaded plugin's
slots are cleared with the rest of what it registered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .convert import text
from .owners import owner_of, registrations

if TYPE_CHECKING:
    from .engine import Runtime

__all__ = ["StatusEntry", "Statuses", "install", "of"]


@dataclass
class StatusEntry:
    plugin: str
    text: str
    level: str = "info"
    progress: bool | float | None = None
    """True: indeterminate; a float in [0, 1]: a fraction; None: no progress."""
    owner: str | None = field(default=None, compare=False)

    def as_dict(self) -> dict[str, Any]:
        return {"plugin": self.plugin, "text": self.text, "level": self.level, "progress": self.progress}


class Statuses:
    """Status slots by session, then by key."""

    def __init__(self, rt: Runtime) -> None:
        self._host = rt.host
        self.sessions: dict[str, dict[str, StatusEntry]] = {}

    def set(self, session: str, key: str, entry: StatusEntry) -> None:
        self.sessions.setdefault(session, {})[key] = entry
        self._host.status(session, key, entry.as_dict())

    def clear(self, session: str, key: str) -> bool:
        slots = self.sessions.get(session)
        if slots is None or key not in slots:
            return False
        del slots[key]
        if not slots:
            del self.sessions[session]
        self._host.status(session, key, None)
        return True

    def get(self, session: str) -> list[tuple[str, StatusEntry]]:
        """The slots of `session`, sorted by key."""
        return sorted(self.sessions.get(session, {}).items())

    def release(self, session: str) -> None:
        """Forget every slot of `session` (it ended)."""
        for key, _ in self.get(session):
            self.clear(session, key)

    def unregister_owner(self, owner: str | None) -> int:
        doomed = [(s, k) for s, slots in self.sessions.items() for k, e in slots.items() if e.owner == owner]
        for session, key in doomed:
            self.clear(session, key)
        return len(doomed)

    def count_owner(self, owner: str | None) -> int:
        return sum(1 for slots in self.sessions.values() for e in slots.values() if e.owner == owner)


def of(rt: Runtime) -> Statuses:
    return registrations(rt).get("statuses", Statuses)


def install(rt: Runtime) -> None:
    statuses = Statuses(rt)
    registrations(rt).add("statuses", statuses)

    def set_status(
        session: bytes, key: bytes, value: bytes, plugin: bytes, level: bytes, progress: Any, owner: Any
    ) -> None:
        entry = StatusEntry(text(plugin), text(value), text(level), progress, owner_of(owner))
        statuses.set(text(session), text(key), entry)

    def clear_status(session: bytes, key: bytes) -> None:
        statuses.clear(text(session), text(key))

    module = rt.lua_module("status", {"set": set_status, "clear": clear_status})
    rt.crucible[b"set_status"] = module[b"set_status"]
    rt.crucible[b"clear_status"] = module[b"clear_status"]
