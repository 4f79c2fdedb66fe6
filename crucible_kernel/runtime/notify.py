"""Natives behind crucible.notify and crucible.notify_once (lua/notify.lua).

A notification goes to the host (a notebook shows it in the cell's output, the command line on
stderr) and is kept among the recent ones, where a plugin card can read it. Nothing here is
registered by an owner: a notification is something that happened, not a registration.
"""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .convert import text
from .owners import owner_of, registrations

if TYPE_CHECKING:
    from .engine import Runtime

__all__ = ["RECENT", "Notification", "Notifications", "install", "of"]

RECENT = 100  # notifications remembered


@dataclass(frozen=True)
class Notification:
    message: str
    kind: str
    """"toast", "warning" or "progress"."""
    progress: tuple[int, int] | None
    owner: str | None
    at: float
    """time.time() when it was sent."""


class Notifications:
    """The recent notifications of one runtime, oldest first."""

    def __init__(self) -> None:
        self.recent: collections.deque[Notification] = collections.deque(maxlen=RECENT)


def of(rt: Runtime) -> Notifications:
    return registrations(rt).get("notifications", Notifications)


def install(rt: Runtime) -> None:
    notifications = Notifications()
    registrations(rt).add("notifications", notifications, owned=False)
    host = rt.host

    def send(message: bytes, kind: bytes, current: int | None, total: int | None, owner: object) -> None:
        progress = None if current is None or total is None else (int(current), int(total))
        note = Notification(text(message), text(kind), progress, owner_of(owner), time.time())
        notifications.recent.append(note)
        host.notify(note.message, note.kind, note.progress)

    module = rt.lua_module("notify", {"send": send})
    rt.crucible[b"notify"] = module[b"notify"]
    rt.crucible[b"notify_once"] = module[b"notify_once"]
