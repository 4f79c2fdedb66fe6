"""The echo agent: offline and deterministic, scriptable from Lua.

Without a script it answers "Echo: <message>". Its config (the agent table of create or
configure_agent, provider "echo"):

    delay        seconds between streamed tokens (default 0.02; 0 streams as fast as possible)
    replies      a list (one reply per turn, in order) or a table keyed by the user message;
                 a reply is a string, one step, or a list of steps
    completions  a table keyed by prompt: what complete() answers (default "Echo: <prompt>")

Steps: {text = "..."} streams text token by token; {thinking = "..."}; {tool = "name", args =
{...}, result = ...} (or error = "..." for a failing tool); {permission = "tool", description =
"...", args = {...}, result = ...} asks for permission first (a denied tool fails);
{sleep = seconds}; {error = "message"} fails the turn.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Iterator
from typing import Any

from . import YIELD_EVERY, AgentError, Turn

__all__ = ["EchoAgent", "tokens"]

DEFAULT_DELAY = 0.02
_TOKEN = re.compile(r"\S+\s*|\s+")
_call_ids = itertools.count(1)


def tokens(text: str) -> Iterator[str]:
    """Words with their trailing white space: they add up to `text` exactly."""
    return (m.group() for m in _TOKEN.finditer(text))


def _number(value: Any, default: float) -> float:
    return float(value) if isinstance(value, (int, float)) and value >= 0 else default


class EchoAgent:
    def __init__(self, config: dict[str, Any]) -> None:
        self.delay = _number(config.get("delay"), DEFAULT_DELAY)
        self.replies = config.get("replies")
        self.completions = config.get("completions") if isinstance(config.get("completions"), dict) else {}
        self.system_prompt = str(config.get("system_prompt") or "")
        self.turns = 0

    def _steps(self, message: str) -> list[dict[str, Any]]:
        replies, reply = self.replies, None
        if isinstance(replies, dict):
            reply = replies.get(message)
        elif isinstance(replies, list) and self.turns < len(replies):
            reply = replies[self.turns]
        self.turns += 1
        if reply is None:
            reply = "Echo: " + message
        if isinstance(reply, str):
            return [{"text": reply}]
        if isinstance(reply, dict):
            return [reply]
        if isinstance(reply, list):
            return [s if isinstance(s, dict) else {"text": str(s)} for s in reply]
        return [{"text": str(reply)}]

    async def run(self, turn: Turn) -> None:
        completion = 0
        for step in self._steps(turn.message):
            if "tool" in step:
                await self._tool(turn, step)
            elif "permission" in step:
                await self._tool(turn, step, ask=True)
            elif "text" in step:
                completion += await self._stream(turn, str(step["text"]))
            elif "thinking" in step:
                await turn.pace(self.delay)
                turn.emit("thinking", {"content": str(step["thinking"])})
            elif "sleep" in step:
                await asyncio.sleep(_number(step["sleep"], 0))
            elif "error" in step:
                await turn.pace(self.delay)
                raise AgentError(str(step["error"]))
        prompt = sum(1 for _ in tokens(turn.message)) + sum(1 for _ in tokens(self.system_prompt))
        turn.usage = {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    async def _stream(self, turn: Turn, text: str) -> int:
        """Stream `text` token by token; returns the number of tokens."""
        delay, resumed, publish = self.delay, turn.session.resumed, turn.session.publish
        count = since_yield = 0
        for token in tokens(text):
            if delay > 0 or not resumed.is_set():
                await turn.pace(delay)
            else:  # the hot path of a fast stream: no coroutine per token
                since_yield += 1
                if since_yield >= YIELD_EVERY:
                    since_yield = 0
                    await asyncio.sleep(0)
            publish("text_delta", {"content": token})
            count += 1
        return count

    async def _tool(self, turn: Turn, step: dict[str, Any], ask: bool = False) -> None:
        tool = str(step["permission"] if ask else step["tool"])
        args = step.get("args") if step.get("args") is not None else {}
        call_id = f"call-{next(_call_ids)}"
        await turn.pace(self.delay)
        turn.emit("tool_call", {"call_id": call_id, "tool": tool, "args": args})
        if ask:
            request = {
                "kind": "permission",
                "tool": tool,
                "args": args,
                "description": step.get("description"),
            }
            response = await turn.permission(request)
            if not response.get("allowed"):
                await turn.pace(self.delay)
                result: dict[str, Any] = {"error": "permission denied"}
                turn.emit(
                    "tool_result", {"call_id": call_id, "tool": tool, "result": result, "terminate": False}
                )
                return
        await turn.pace(self.delay)
        result = (
            {"error": str(step["error"])} if step.get("error") is not None else {"result": step.get("result")}
        )
        turn.emit("tool_result", {"call_id": call_id, "tool": tool, "result": result, "terminate": False})

    async def complete(self, prompt: str, system: str | None, timeout: float) -> str:
        answer = self.completions.get(prompt)
        return str(answer) if answer is not None else "Echo: " + prompt
