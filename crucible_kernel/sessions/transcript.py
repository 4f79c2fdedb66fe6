"""What a session said and did, reduced from its events, and how that reads.

A `Transcript` is the model behind every live view of a session: the notebook's markdown view,
the terminal's text, and (later) a widget all follow the same one. It keeps turns made of blocks
(text, thinking, a tool call, a permission request, ...), is updated by `apply(type, data)` for
each event the session publishes, and tells its listeners after each change. It knows nothing
of Jupyter.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["Block", "Transcript", "Turn", "brief", "markdown", "plain"]

Listener = Callable[["Transcript", str], None]

TOKEN_FIELDS = ("prompt_tokens", "completion_tokens", "total_tokens")
COMPACT_AT = 512  # streamed parts of a block joined into one string past this many


class Block:
    """One piece of a turn: kind "text" or "thinking" (streamed parts), "tool_call",
    "tool_result", "permission" (with `info`), or "gap"."""

    __slots__ = ("info", "kind", "parts")

    def __init__(self, kind: str, info: dict[str, Any] | None = None) -> None:
        self.kind = kind
        self.parts: list[str] = []
        self.info = info or {}

    @property
    def text(self) -> str:
        if len(self.parts) > 1:
            self.parts[:] = ["".join(self.parts)]
        return self.parts[0] if self.parts else ""


class Turn:
    """A user message and what answered it. `status`: running, done, cancelled or failed."""

    __slots__ = ("blocks", "error", "index", "message_id", "status", "usage", "user")

    def __init__(self, index: int, user: str, message_id: str) -> None:
        self.index = index
        self.user = user
        self.message_id = message_id
        self.blocks: list[Block] = []
        self.status = "running"
        self.error: str | None = None
        self.usage: dict[str, int] = {}

    @property
    def response(self) -> str:
        return "".join(b.text for b in self.blocks if b.kind == "text")

    @property
    def finished(self) -> bool:
        return self.status != "running"


class Transcript:
    """The turns of one session, kept current by `apply`."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.turns: list[Turn] = []
        self.listeners: list[Listener] = []
        self.ended = False

    @property
    def current(self) -> Turn | None:
        return self.turns[-1] if self.turns else None

    @property
    def tokens(self) -> int:
        return sum(t.usage.get("total_tokens", 0) for t in self.turns)

    def apply(self, kind: str, data: dict[str, Any]) -> None:
        """Take one event into account, then tell the listeners."""
        if kind == "text_delta":
            turns = self.turns
            turn = turns[-1] if turns else self._turn("", "")
            blocks = turn.blocks
            chunk = data.get("content") or data.get("text") or ""
            if blocks and blocks[-1].kind == "text":
                parts = blocks[-1].parts
                parts.append(chunk)
                if len(parts) >= COMPACT_AT:  # a long stream keeps one string, not 100,000
                    parts[:] = ["".join(parts)]
            else:
                block = Block("text")
                block.parts.append(chunk)
                blocks.append(block)
        else:
            self._apply_other(kind, data)
        if self.listeners:
            for listener in tuple(self.listeners):  # a copy: listeners may remove themselves
                listener(self, kind)

    def end(self) -> None:
        """The session has ended (end_session)."""
        self.ended = True
        for listener in list(self.listeners):
            listener(self, "session_ended")

    def _turn(self, user: str, message_id: str) -> Turn:
        turn = Turn(len(self.turns), user, message_id)
        self.turns.append(turn)
        return turn

    def _apply_other(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "user_message":
            self._turn(str(data.get("content", "")), str(data.get("message_id", "")))
            return
        turn = self.current
        if turn is None:
            turn = self._turn("", "")
        if kind == "thinking":
            blocks = turn.blocks
            if blocks and blocks[-1].kind == "thinking":
                blocks[-1].parts.append(str(data.get("content", "")))
            else:
                block = Block("thinking")
                block.parts.append(str(data.get("content", "")))
                blocks.append(block)
        elif kind == "tool_call":
            turn.blocks.append(Block("tool_call", {"tool": data.get("tool"), "args": data.get("args")}))
        elif kind == "tool_result":
            turn.blocks.append(Block("tool_result", {"tool": data.get("tool"), "result": data.get("result")}))
        elif kind == "interaction_requested":
            request = data.get("request") or {}
            info = {
                "request_id": data.get("request_id"),
                "tool": request.get("tool"),
                "description": request.get("description"),
                "answer": None,
            }
            turn.blocks.append(Block("permission", info))
        elif kind == "interaction_completed":
            for block in reversed(turn.blocks):
                if block.kind == "permission" and block.info.get("request_id") == data.get("request_id"):
                    response = data.get("response") or {}
                    block.info["answer"] = "allowed" if response.get("allowed") else "denied"
                    break
        elif kind == "message_complete":
            turn.status = "done"
            turn.usage = {k: data[k] for k in TOKEN_FIELDS if isinstance(data.get(k), int)}
        elif kind == "error":
            turn.error = str(data.get("message", ""))
        elif kind == "ended":
            reason = str(data.get("reason", ""))
            if turn.status == "running":
                turn.status = "cancelled" if reason == "cancelled" else "failed"
            if reason.startswith("error: ") and turn.error is None:
                turn.error = reason[7:]
        elif kind == "stream_gap":
            turn.blocks.append(Block("gap", {"dropped": data.get("dropped")}))


# Rendering -------------------------------------------------------------------------------------

BRIEF = 200  # characters of a tool's arguments or result shown in a view


def brief(value: Any, limit: int = BRIEF) -> str:
    """Compact JSON of `value` (a string as it is), cut at `limit` characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _tokens(usage: dict[str, int]) -> str:
    if not usage:
        return ""
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    total = usage.get("total_tokens")
    if prompt is not None and completion is not None:
        total = total if total is not None else prompt + completion
        return f"{prompt} prompt + {completion} completion = {total} tokens"
    return f"{total} tokens"


def _status(turn: Turn) -> str:
    if turn.status == "running":
        return ""
    if turn.status == "cancelled":
        return "cancelled"
    if turn.status == "failed":
        return f"failed: {turn.error}" if turn.error else "failed"
    return _tokens(turn.usage)


def markdown(transcript: Transcript, first_turn: int = 0, title: str | None = None) -> str:
    """The transcript (from turn `first_turn` on) as Markdown."""
    out = [f"**{title or 'session'}** `{transcript.session_id}`"]
    for turn in transcript.turns[first_turn:]:
        if turn.user:
            out.append("> **you:** " + turn.user.replace("\n", "\n> "))
        for block in turn.blocks:
            if block.kind == "text":
                out.append(block.text)
            elif block.kind == "thinking":
                out.append("> *thinking:* " + block.text.replace("\n", "\n> "))
            elif block.kind == "tool_call":
                out.append(f"**tool call** `{block.info.get('tool')}` `{brief(block.info.get('args'))}`")
            elif block.kind == "tool_result":
                out.append(f"**tool result** `{block.info.get('tool')}` `{brief(block.info.get('result'))}`")
            elif block.kind == "permission":
                answer = block.info.get("answer") or "waiting for an answer"
                what = block.info.get("description") or ""
                out.append(f"**permission requested** `{block.info.get('tool')}` {what} ({answer})")
            elif block.kind == "gap":
                out.append(f"*({block.info.get('dropped')} events dropped)*")
        if turn.status == "running":
            out.append("*...*")
        else:
            status = _status(turn)
            if status:
                out.append(f"<sub>{status}</sub>" if turn.status == "done" else f"**{status}**")
    if transcript.ended:
        out.append("*session ended*")
    return "\n\n".join(out)


def plain(transcript: Transcript, first_turn: int = 0, title: str | None = None) -> str:
    """The transcript (from turn `first_turn` on) as plain text, for terminals and nbconvert."""
    out = [f"{title or 'session'} {transcript.session_id}"]
    for turn in transcript.turns[first_turn:]:
        if turn.user:
            out.append("you: " + turn.user)
        for block in turn.blocks:
            if block.kind == "text":
                out.append("agent: " + block.text)
            elif block.kind == "thinking":
                out.append("thinking: " + block.text)
            elif block.kind == "tool_call":
                out.append(f"tool call: {block.info.get('tool')} {brief(block.info.get('args'))}")
            elif block.kind == "tool_result":
                out.append(f"tool result: {block.info.get('tool')} {brief(block.info.get('result'))}")
            elif block.kind == "permission":
                answer = block.info.get("answer") or "waiting"
                out.append(
                    f"permission: {block.info.get('tool')} {block.info.get('description') or ''} ({answer})"
                )
            elif block.kind == "gap":
                out.append(f"({block.info.get('dropped')} events dropped)")
        status = _status(turn)
        if turn.status == "running":
            out.append("...")
        elif status:
            out.append(f"[{status}]")
    if transcript.ended:
        out.append("[session ended]")
    return "\n".join(out)
