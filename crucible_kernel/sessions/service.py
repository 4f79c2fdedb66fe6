"""The session service: the kernel's stand-in for the Crucible daemon's session manager.

One service serves a kernel (or a `crucible-kernel run`), whatever Lua states come and go. It
creates local sessions (sessions/session.py) with agents (sessions/agents), or, when connected
to a real daemon, remote ones (sessions/daemon.py); it records sessions to files and replays
them (sessions/recording.py). Every failure a Lua caller should read is a SessionError.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .config import AGENT_EXTRAS, AGENT_FIELDS, RECORDING_MODES, SessionError, agent_config, create_options
from .recording import Recorder, Recording, ReplayAgent
from .session import LocalSession, Session

if TYPE_CHECKING:
    from .daemon import DaemonClient

__all__ = ["DEFAULT_AGENT", "RecordingSettings", "SessionService"]

DEFAULT_AGENT: dict[str, Any] = {
    "agent_type": "internal",
    "provider": "echo",
    "model": "echo",
    "system_prompt": "",
}


@dataclass
class RecordingSettings:
    """Recording for the sessions created from now on (a session's create options override it)."""

    mode: str = "off"
    """"off", "record", "replay", or "auto" (replay when the file exists, else record)."""
    path: str | None = None
    speed: float = 1.0
    """Replay speed factor: 2 plays twice as fast as recorded, 0 as fast as possible."""

    def __post_init__(self) -> None:
        if self.mode not in RECORDING_MODES:
            raise ValueError(f"recording mode must be one of {', '.join(RECORDING_MODES)}, got {self.mode!r}")
        if self.mode != "off" and not self.path:
            raise ValueError(f"recording mode {self.mode!r} needs a file")
        if not self.speed >= 0:
            raise ValueError(f"replay speed must be 0 or more, got {self.speed!r}")


class SessionService:
    """Sessions by id, their creation, and routing to where they live."""

    def __init__(
        self,
        *,
        default_agent: dict[str, Any] | None = None,
        recording: RecordingSettings | None = None,
        socket_path: str | None = None,
        home: str | None = None,
    ) -> None:
        self.default_agent = dict(default_agent or DEFAULT_AGENT)
        """What an agent config lacks comes from here (`%sessions provider` changes it)."""
        self.recording = recording or RecordingSettings()
        self.socket_path = socket_path
        """A Crucible daemon's socket: sessions are created there (connected on first use)."""
        self.home = home or os.environ.get("CRUCIBLE_HOME") or os.path.expanduser("~/.crucible")
        self.sessions: dict[str, Session] = {}
        self._daemon: DaemonClient | None = None
        self._recorders: dict[str, Recorder] = {}
        self._recordings: dict[str, Recording] = {}
        self._replayed: dict[str, int] = {}  # recording path -> sessions created from it
        self._auto: dict[str, str] = {}  # recording path -> what "auto" chose for it

    # Creating and finding sessions

    async def create(self, raw: Any) -> Session:
        opts = create_options(raw)
        mode, path, speed = self._recording_for(opts)
        if mode == "replay":
            assert path is not None
            session: Session = self._replayed_session(path, speed, opts)
        elif self.socket_path is not None:
            session = await (await self.daemon()).create(opts)
        else:
            session = LocalSession(self._new_id(opts["type"]), opts)
        if opts.get("configure_agent") and session.agent_config is None and session.local:
            await session.configure(agent_config(_agent_fields(opts), self.default_agent))
        if mode == "record":
            assert path is not None
            recorder = self._recorders.get(path)
            if recorder is None:
                recorder = self._recorders[path] = Recorder(path)
            session.recorder = recorder
            recorder.event(session.id, "session", {"session_type": session.session_type})
        self.sessions[session.id] = session
        return session

    async def get(self, session_id: str) -> Session | None:
        session = self.sessions.get(session_id)
        if session is None and self.socket_path is not None:
            session = await (await self.daemon()).get(session_id)
            if session is not None:
                self.sessions[session_id] = session
        return session

    async def find(self, session_id: str) -> Session:
        session = await self.get(session_id)
        if session is None:
            raise SessionError(f"Session not found: {session_id}")
        return session

    async def list(self) -> list[Session]:
        if self.socket_path is not None:
            for session in await (await self.daemon()).list():
                self.sessions.setdefault(session.id, session)
        return list(self.sessions.values())

    async def configure_agent(self, session_id: str, raw: Any) -> None:
        session = await self.find(session_id)
        if session.local:
            await session.configure(agent_config(raw, self.default_agent))
        else:
            await session.configure(raw if isinstance(raw, dict) else {})

    async def fork(self, session_id: str, up_to: int | None) -> dict[str, Any]:
        parent = await self.find(session_id)
        if not isinstance(parent, LocalSession):
            raise SessionError("fork() of a daemon session is not supported by this session service")
        child = LocalSession(
            self._new_id(parent.session_type),
            {
                "type": parent.session_type,
                "kilns": parent.kilns,
                "kiln": parent.kiln,
                "workspace": parent.workspace,
            },
        )
        log = parent.log if up_to is None else parent.log[: max(up_to, 0)]
        child.log = [dict(m) for m in log]
        self.sessions[child.id] = child
        return {"id": child.id, "parent_id": parent.id, "messages_copied": len(child.log)}

    # The daemon

    async def daemon(self) -> DaemonClient:
        """The connection to the daemon at socket_path, made on first use."""
        if self._daemon is None or self._daemon.closed:
            from .daemon import DaemonClient

            assert self.socket_path is not None
            self._daemon = await DaemonClient.connect(self.socket_path)
        return self._daemon

    async def connect(self, socket_path: str | None) -> None:
        """Use the daemon at `socket_path` for new sessions (None: back to local sessions)."""
        if self._daemon is not None:
            await self._daemon.aclose()
            self._daemon = None
        self.socket_path = socket_path
        if socket_path is not None:
            await self.daemon()

    # Recording and replay

    def _recording_for(self, opts: dict[str, Any]) -> tuple[str, str | None, float]:
        mode = opts.get("recording_mode") or self.recording.mode
        path = opts.get("recording_path") or self.recording.path
        speed = opts.get("replay_speed")
        speed = float(speed) if isinstance(speed, (int, float)) and speed >= 0 else self.recording.speed
        if mode == "off":
            return "off", None, speed
        if not isinstance(path, str) or not path:
            raise SessionError(f"Invalid create options: recording_mode {mode!r} needs a recording_path")
        path = os.path.abspath(path)
        if mode == "auto":
            mode = self._auto.get(path) or ("replay" if os.path.exists(path) else "record")
            self._auto[path] = mode
        return mode, path, speed

    def _replayed_session(self, path: str, speed: float, opts: dict[str, Any]) -> LocalSession:
        recording = self._recordings.get(path)
        if recording is None:
            recording = self._recordings[path] = Recording(path)
        index = self._replayed.get(path, 0)
        self._replayed[path] = index + 1
        recorded = recording.sessions[index] if index < len(recording.sessions) else None
        session_id = recorded.id if recorded is not None else self._new_id(opts["type"])
        if session_id in self.sessions:  # the same recording replayed twice in one kernel
            session_id = self._new_id(opts["type"])
        session = LocalSession(session_id, opts)
        session.replay = ReplayAgent(recording, recorded, speed)
        return session

    def rewind(self) -> None:
        """Start replays from the first recorded session again (a new notebook run)."""
        self._replayed.clear()
        self._recordings.clear()

    # Shutting down

    async def aclose(self) -> None:
        """End every turn in flight, close the recordings and the daemon connection."""
        for session in list(self.sessions.values()):
            if session.local and session.turn_running:
                with contextlib.suppress(Exception):
                    await session.cancel()
        for recorder in self._recorders.values():
            recorder.close()
        self._recorders.clear()
        if self._daemon is not None:
            with contextlib.suppress(Exception):
                await self._daemon.aclose()
            self._daemon = None

    def close_recordings(self) -> None:
        for recorder in self._recorders.values():
            recorder.close()
        self._recorders.clear()

    @staticmethod
    def _new_id(kind: str) -> str:
        stamp = datetime.datetime.now().strftime("%Y-%m-%dT%H%M")
        return f"{kind}-{stamp}-{secrets.token_hex(3)}"


def _agent_fields(opts: dict[str, Any]) -> dict[str, Any]:
    fields = {k: opts[k] for k in (*AGENT_FIELDS, *AGENT_EXTRAS) if opts.get(k) is not None}
    agent = opts.get("agent")
    if isinstance(agent, dict):  # ours: the whole agent table under create's `agent`
        fields.update(agent)
    return fields
