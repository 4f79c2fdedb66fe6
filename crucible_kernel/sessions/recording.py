"""Recordings: a session's events in a JSON Lines file, and their replay.

The file holds one JSON object a line: first a header, then, in the order they happened, a
`session` line when a recorded session is created and one line per event, each with `t`, its
time in seconds since the recording started:

    {"crucible_kernel_recording": 1, "started": "2026-08-22T15:30:00Z"}
    {"t": 0.0, "session": "chat-...", "type": "session", "data": {"session_type": "chat"}}
    {"t": 0.01, "session": "chat-...", "type": "user_message", "data": {"message_id": "...", "content": "Hi"}}
    {"t": 0.03, "session": "chat-...", "type": "text_delta", "data": {"content": "Hello"}}

Replay works the way vcrpy cassettes do for HTTP: the n-th session created in replay mode is
the n-th recorded session (with its id), and each message sent to it must be one the recording
holds for that session; its turn then plays back with the recorded timing, scaled by a speed
factor (0: as fast as possible).
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import time
from dataclasses import dataclass, field
from typing import IO, Any

from .agents import AgentError, Turn
from .config import SessionError

__all__ = ["RecordedSession", "RecordedTurn", "Recorder", "Recording", "ReplayAgent"]

FORMAT_KEY = "crucible_kernel_recording"
# Events the session itself sends around a replayed turn (the player must not repeat them).
_SESSION_SENDS = frozenset({"user_message", "message_complete", "response_done", "error", "ended"})


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class Recorder:
    """Appends events to one recording file (created afresh when the recorder opens it)."""

    def __init__(self, path: str) -> None:
        self.path = path
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        self._file: IO[str] | None = open(path, "w", encoding="utf-8")  # noqa: SIM115 (closed by close())
        self._start = time.monotonic()
        started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        self._file.write(_dumps({FORMAT_KEY: 1, "started": started}) + "\n")

    def event(self, session_id: str, kind: str, data: dict[str, Any]) -> None:
        f = self._file
        if f is None:
            return
        t = round(time.monotonic() - self._start, 4)
        f.write(_dumps({"t": t, "session": session_id, "type": kind, "data": data}) + "\n")

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


@dataclass
class RecordedTurn:
    content: str
    t: float
    events: list[tuple[float, str, dict[str, Any]]] = field(default_factory=list)
    used: bool = False


@dataclass
class RecordedSession:
    id: str
    info: dict[str, Any]
    turns: list[RecordedTurn] = field(default_factory=list)
    completions: list[dict[str, Any]] = field(default_factory=list)


class Recording:
    """A recording file, read for replay."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.sessions: list[RecordedSession] = []
        by_id: dict[str, RecordedSession] = {}
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError as exc:
            raise SessionError(f"cannot read the recording {path}: {exc.strerror}") from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SessionError(f"{path}:{number}: not a recording line ({exc})") from None
            if number == 1 and FORMAT_KEY in entry:
                continue
            if not isinstance(entry, dict) or not {"session", "type"} <= entry.keys():
                raise SessionError(f"{path}:{number}: a recording line needs `session` and `type`")
            sid, kind = str(entry["session"]), str(entry["type"])
            data = entry.get("data") if isinstance(entry.get("data"), dict) else {}
            t = float(entry.get("t") or 0)
            session = by_id.get(sid)
            if session is None:
                session = by_id[sid] = RecordedSession(sid, data if kind == "session" else {})
                self.sessions.append(session)
            if kind == "session":
                continue
            if kind == "completion":
                session.completions.append(data)
            elif kind == "user_message":
                session.turns.append(RecordedTurn(str(data.get("content", "")), t))
            elif session.turns:
                session.turns[-1].events.append((t, kind, data))


class ReplayAgent:
    """Answers a session from its recorded counterpart (stands in for the configured agent)."""

    def __init__(self, recording: Recording, recorded: RecordedSession | None, speed: float) -> None:
        self.recording = recording
        self.recorded = recorded
        self.speed = speed
        self._next: RecordedTurn | None = None

    def prepare(self, session_id: str, content: str) -> None:
        """Pick the recorded turn for `content`; raises SessionError naming session and message."""
        path = self.recording.path
        if self.recorded is None:
            raise SessionError(
                f"recording {path} has no session for {session_id}: it holds "
                f"{len(self.recording.sessions)} session(s), this notebook created more "
                f"(message {_quote(content)}); record it again"
            )
        for turn in self.recorded.turns:
            if not turn.used and turn.content == content:
                turn.used = True
                self._next = turn
                return
        left = [_quote(t.content) for t in self.recorded.turns if not t.used]
        holds = (
            f"unplayed recorded messages: {', '.join(left)}" if left else "every recorded message was played"
        )
        raise SessionError(
            f"recording {path} holds no message {_quote(content)} for session {session_id} ({holds}); "
            "record it again"
        )

    async def run(self, turn: Turn) -> None:
        recorded, self._next = self._next, None
        assert recorded is not None, "prepare() picks the turn first"
        previous = recorded.t
        for t, kind, data in recorded.events:
            if self.speed > 0 and t > previous:
                await asyncio.sleep((t - previous) / self.speed)
            else:
                await turn.pace()
            previous = t
            if kind == "message_complete":
                turn.usage = {k: v for k, v in data.items() if k.endswith("_tokens") and isinstance(v, int)}
            elif kind == "error":
                raise AgentError(str(data.get("message", "")))
            elif kind == "ended":
                reason = str(data.get("reason", ""))
                if reason == "cancelled":
                    raise asyncio.CancelledError
            elif kind not in _SESSION_SENDS:
                turn.emit(kind, data)

    async def complete(self, prompt: str, system: str | None, timeout: float) -> str:
        if self.recorded is not None:
            for entry in self.recorded.completions:
                if entry.get("prompt") == prompt and not entry.get("_used"):
                    entry["_used"] = True
                    return str(entry.get("text", ""))
        session = self.recorded.id if self.recorded else "(unrecorded session)"
        raise AgentError(
            f"recording {self.recording.path} holds no completion {_quote(prompt)} for session {session}"
        )


def _quote(text: str, limit: int = 60) -> str:
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return json.dumps(text, ensure_ascii=False)
