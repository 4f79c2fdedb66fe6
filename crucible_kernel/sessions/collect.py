"""send_and_collect: a turn's events reduced to the reference's response parts.

Parts: {type = "text", content} (text deltas gathered up to each boundary), {type = "tool_call",
tool, args_brief}, {type = "tool_result", tool, result_brief, is_error}, {type = "thinking",
content} and {type = "permission_request", request_id, tool, description} (which the reference
declares and never sends; we send it). The parts end after the turn's end event, when the
subscription ends, or at the deadline (the text gathered so far comes first).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
from typing import Any

from .events import TURN_END, Event, Subscription

__all__ = ["MAX_ARGS_BRIEF", "Collector", "truncate"]

MAX_ARGS_BRIEF = 500  # bytes of a tool call's arguments, as the reference cuts them


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` bytes of UTF-8 (on a character boundary), "..." added when cut."""
    data = text.encode()
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", "ignore") + "..."


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


class Collector:
    """Parts of one turn, read from a subscription made before the message was sent."""

    def __init__(self, sub: Subscription, timeout: float, max_result: int) -> None:
        self.sub = sub
        self.max_result = max_result
        self.deadline = asyncio.get_running_loop().time() + timeout
        self.parts: collections.deque[dict[str, Any]] = collections.deque()
        self.text: list[str] = []
        self.done = False

    def next_part(self) -> dict[str, Any] | bool | None:
        """The next part; None at the end; False when the caller must wait (see `wait`)."""
        while not self.parts and not self.done:
            event = self.sub.take()
            if event is None:
                if self.sub.closed or asyncio.get_running_loop().time() >= self.deadline:
                    self._finish()
                    break
                return False
            self._reduce(event)
        return self.parts.popleft() if self.parts else None

    async def wait(self) -> None:
        remaining = self.deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.sub.wait()), remaining)

    def _flush(self) -> None:
        if self.text:
            self.parts.append({"type": "text", "content": "".join(self.text)})
            self.text.clear()

    def _finish(self) -> None:
        self._flush()
        self.done = True

    def _reduce(self, event: Event) -> None:
        kind, data = event
        if kind == "text_delta":
            self.text.append(str(data.get("content") or data.get("text") or ""))
        elif kind == "thinking":
            content = str(data.get("content") or "")
            if content:
                self._flush()
                self.parts.append({"type": "thinking", "content": content})
        elif kind == "tool_call":
            self._flush()
            args = truncate(_json(data.get("args")), MAX_ARGS_BRIEF)
            self.parts.append({"type": "tool_call", "tool": data.get("tool"), "args_brief": args})
        elif kind == "tool_result":
            self._flush()
            result = data.get("result")
            error = result.get("error") if isinstance(result, dict) else None
            if isinstance(error, str):
                brief, is_error = truncate(error, self.max_result), True
            else:
                brief, is_error = truncate(_json(result), self.max_result), False
            self.parts.append(
                {"type": "tool_result", "tool": data.get("tool"), "result_brief": brief, "is_error": is_error}
            )
        elif kind == "interaction_requested":
            self._flush()
            request = data.get("request") or {}
            self.parts.append(
                {
                    "type": "permission_request",
                    "request_id": data.get("request_id"),
                    "tool": request.get("tool"),
                    "description": request.get("description"),
                }
            )
        elif kind in TURN_END:
            self._finish()
