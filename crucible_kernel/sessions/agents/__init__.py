"""The agents behind local sessions, and what a turn gives them to work with.

An agent runs one turn at a time: `run(turn)` streams the reply through the `Turn` (text
deltas, thinking, tool calls, permission requests) and returns; the session publishes the
`user_message` before and `message_complete` / `response_done` (or `error` and `ended`) after.
An agent raises `AgentError` to fail the turn with a message.

Providers: "echo" (built in, offline, scriptable), "openai" (any OpenAI-compatible streaming
endpoint), and the replay of a recording (sessions/recording.py), which the service substitutes
for a session's agent in replay mode.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import TYPE_CHECKING, Any, Protocol

from ..config import PROVIDERS

if TYPE_CHECKING:
    from ..session import LocalSession

__all__ = ["Agent", "AgentError", "Turn", "make_agent"]

YIELD_EVERY = 64  # events an agent with no delay sends before letting the loop run

_request_ids = itertools.count(1)


class AgentError(Exception):
    """The turn fails; the message goes into the `error` event and the `ended` reason."""


class Agent(Protocol):
    async def run(self, turn: Turn) -> None: ...

    async def complete(self, prompt: str, system: str | None, timeout: float) -> str: ...


class Turn:
    """One turn in progress, as its agent sees it."""

    def __init__(
        self,
        session: LocalSession,
        message: str,
        message_id: str,
        interactive: bool,
        history: list[dict[str, str]],
    ) -> None:
        self.session = session
        self.message = message
        self.message_id = message_id
        self.interactive = interactive
        self.history = history
        """The conversation before this message: {role, content} dicts, oldest first."""
        self.usage: dict[str, int] = {}
        """Token counts for message_complete (prompt_tokens, completion_tokens, total_tokens)."""
        self._since_yield = 0

    @property
    def config(self) -> dict[str, Any]:
        return self.session.agent_config or {}

    def emit(self, kind: str, data: dict[str, Any]) -> None:
        self.session.publish(kind, data)

    def text(self, chunk: str) -> None:
        self.session.publish("text_delta", {"content": chunk})

    async def pace(self, delay: float = 0.0) -> None:
        """Between two events: hold while the session is paused, then wait `delay` seconds (with
        no delay, let the loop run every YIELD_EVERY events so readers can keep up)."""
        resumed = self.session.resumed
        if not resumed.is_set():
            await resumed.wait()
        if delay > 0:
            await asyncio.sleep(delay)
            return
        self._since_yield += 1
        if self._since_yield >= YIELD_EVERY:
            self._since_yield = 0
            await asyncio.sleep(0)

    async def permission(self, request: dict[str, Any]) -> dict[str, Any]:
        """Ask for permission (`request`: kind, tool, args, description). An interactive turn
        waits for interaction_respond; a non-interactive one is denied at once, as plugin turns
        are in the reference. Returns the response ({allowed = ...})."""
        request_id = f"perm-{next(_request_ids)}"
        self.emit("interaction_requested", {"request_id": request_id, "request": request})
        if self.interactive:
            waiter = asyncio.get_running_loop().create_future()
            self.session.pending[request_id] = waiter
            try:
                response = await waiter
            finally:
                self.session.pending.pop(request_id, None)
        else:
            response = {"allowed": False, "reason": "non-interactive turn"}
        self.emit("interaction_completed", {"request_id": request_id, "response": response})
        return response


def make_agent(config: dict[str, Any]) -> Agent:
    """The agent for a (normalised) agent config."""
    kind = PROVIDERS[config["provider"]]
    if kind == "echo":
        from .echo import EchoAgent

        return EchoAgent(config)
    from .openai import OpenAIAgent  # imports httpx: only when a session uses it

    return OpenAIAgent(config)
