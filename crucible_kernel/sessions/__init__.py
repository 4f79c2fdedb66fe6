"""Agent sessions: the session service behind cru.sessions, built on the runtime only.

    service = SessionService()           # local sessions, echo agent by default
    binding = install(runtime, service)  # cru.sessions in that Lua state calls the service

The kernel and `crucible-kernel run` both do this; a runtime without it keeps the reference's
stubs ("no daemon connected").
"""

from .binding import Binding, install
from .config import SessionError
from .service import DEFAULT_AGENT, RecordingSettings, SessionService
from .session import LocalSession, Session
from .views import Views

__all__ = [
    "DEFAULT_AGENT",
    "Binding",
    "LocalSession",
    "RecordingSettings",
    "Session",
    "SessionError",
    "SessionService",
    "Views",
    "install",
]
