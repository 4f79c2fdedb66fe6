"""A session: its state, its transcript, its subscribers, and (for local ones) its turns.

`Session` is what every session has, wherever it lives: an id, a state, the `Transcript`
kept current by `publish`, the subscriptions `publish` feeds, and an optional recorder.
`LocalSession` runs its turns here with an agent (sessions/agents); sessions of a real
Crucible daemon are `RemoteSession`s (sessions/daemon.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import itertools
from typing import TYPE_CHECKING, Any

from .agents import AgentError, Turn, make_agent
from .config import SessionError
from .events import Fanout, Subscription
from .transcript import Transcript

if TYPE_CHECKING:
    from .agents import Agent
    from .recording import Recorder, ReplayAgent

__all__ = ["LocalSession", "Session", "now_iso"]

ROLES = ("user", "assistant", "system")


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Session:
    """What every session has. Subclasses implement the operations."""

    local = True

    def __init__(self, session_id: str, opts: dict[str, Any]) -> None:
        self.id = session_id
        self.session_type: str = opts.get("type", "chat")
        self.kilns: list[str] = list(opts.get("kilns") or [])
        self.kiln: str | None = opts.get("kiln") if isinstance(opts.get("kiln"), str) else None
        self.workspace: str | None = opts.get("workspace") if isinstance(opts.get("workspace"), str) else None
        self.state = "active"
        self.title: str | None = opts.get("title") if isinstance(opts.get("title"), str) else None
        self.agent_config: dict[str, Any] | None = None
        self.transcript = Transcript(session_id)
        self.fanout = Fanout()
        self.recorder: Recorder | None = None
        self.created = now_iso()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.state}>"

    # What every session does the same way

    def info(self) -> dict[str, Any]:
        """The session table Lua gets from create/get/list."""
        out: dict[str, Any] = {
            "id": self.id,
            "session_type": self.session_type,
            "kilns": list(self.kilns),
            "state": self.state,
        }
        if self.kiln is not None:
            out["kiln"] = self.kiln
        if self.workspace is not None:
            out["workspace"] = self.workspace
        if self.title is not None:
            out["title"] = self.title
        return out

    @property
    def agent_label(self) -> str:
        config = self.agent_config
        if not config:
            return "-"
        return f"{config.get('provider')}/{config.get('model')}"

    @property
    def turn_running(self) -> bool:
        turn = self.transcript.current
        return turn is not None and not turn.finished

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        """Send one event to the transcript, every subscriber and the recorder."""
        self.transcript.apply(kind, data)
        self.fanout.publish((kind, data))
        recorder = self.recorder
        if recorder is not None:
            recorder.event(self.id, kind, data)

    def subscribe(self) -> Subscription:
        sub = Subscription(self.id)
        if self.state == "ended":
            sub.close()
        else:
            self.fanout.add(sub)
        return sub

    def _ended(self) -> None:
        self.state = "ended"
        self.fanout.close()
        self.transcript.end()
        if self.recorder is not None:
            self.recorder.flush()

    # The operations (local sessions implement them here; remote ones over RPC)

    async def configure(self, config: dict[str, Any]) -> None:
        raise NotImplementedError

    async def send(self, content: str, interactive: bool) -> str:
        raise NotImplementedError

    async def cancel(self) -> bool:
        raise NotImplementedError

    async def pause(self) -> None:
        raise NotImplementedError

    async def resume(self) -> None:
        raise NotImplementedError

    async def end(self) -> None:
        raise NotImplementedError

    async def respond(self, request_id: str, response: dict[str, Any]) -> None:
        raise NotImplementedError

    async def messages(self, role: str | None, limit: int | None) -> list[dict[str, Any]]:
        raise NotImplementedError

    async def inject(self, role: str, content: str) -> None:
        raise NotImplementedError

    async def complete(self, prompt: str, system: str | None, timeout: float) -> str:
        raise NotImplementedError


class LocalSession(Session):
    """A session of the in-kernel service: turns run here, with the configured agent."""

    def __init__(self, session_id: str, opts: dict[str, Any]) -> None:
        super().__init__(session_id, opts)
        self.log: list[dict[str, str]] = []
        """The session log: {role, content, timestamp}."""
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        """Permission requests waiting for interaction_respond, by request id."""
        self.resumed = asyncio.Event()
        self.resumed.set()
        self.replay: ReplayAgent | None = None
        """Set in replay mode: it answers instead of the configured agent."""
        self._agent: Agent | None = None
        self._task: asyncio.Task[None] | None = None
        self._message_ids = itertools.count(1)

    def _check_live(self) -> None:
        if self.state == "ended":
            raise SessionError(f"Session has ended: {self.id}")

    async def configure(self, config: dict[str, Any]) -> None:
        self._check_live()
        self.agent_config = config
        self._agent = None

    def agent(self) -> Agent:
        if self.replay is not None:
            return self.replay
        if self._agent is None:
            assert self.agent_config is not None
            self._agent = make_agent(self.agent_config)
        return self._agent

    async def send(self, content: str, interactive: bool) -> str:
        self._check_live()
        if self.state == "paused":
            raise SessionError(f"Session is paused: {self.id} (resume it to send messages)")
        if self.agent_config is None and self.replay is None:  # in replay the recording answers
            raise SessionError(f"No agent configured for session: {self.id}")
        if self._task is not None and not self._task.done():
            raise SessionError(f"Concurrent request in progress for session: {self.id}")
        agent = self.agent()
        if self.replay is not None:
            self.replay.prepare(self.id, content)  # raises when the recording lacks the message
        message_id = f"{self.id}/msg-{next(self._message_ids)}"
        history = [{"role": m["role"], "content": m["content"]} for m in self.log]
        self.log.append({"role": "user", "content": content, "timestamp": now_iso()})
        self.publish("user_message", {"message_id": message_id, "content": content})
        turn = Turn(self, content, message_id, interactive, history)
        self._task = asyncio.get_running_loop().create_task(self._run(agent, turn), name=f"turn {message_id}")
        return message_id

    async def _run(self, agent: Agent, turn: Turn) -> None:
        try:
            await agent.run(turn)
        except asyncio.CancelledError:
            self.publish("ended", {"reason": "cancelled"})
            raise
        except AgentError as exc:
            self._failed(str(exc))
        except Exception as exc:  # a provider's bug still ends the turn visibly
            self._failed(f"{type(exc).__name__}: {exc}")
        else:
            response = self.transcript.current.response if self.transcript.current else ""
            self.log.append({"role": "assistant", "content": response, "timestamp": now_iso()})
            self.publish(
                "message_complete", {"message_id": turn.message_id, "full_response": response, **turn.usage}
            )
            self.publish("response_done", {"message_id": turn.message_id})
        finally:
            if self.recorder is not None:
                self.recorder.flush()

    def _failed(self, message: str) -> None:
        self.publish("error", {"message": message})
        self.publish("ended", {"reason": f"error: {message}"})

    async def cancel(self) -> bool:
        task = self._task
        if task is None or task.done():
            return False
        task.cancel()
        await asyncio.shield(_finished(task))  # the turn's `ended` event is out when cancel returns
        return True

    async def pause(self) -> None:
        self._check_live()
        self.state = "paused"
        self.resumed.clear()

    async def resume(self) -> None:
        self._check_live()
        self.state = "active"
        self.resumed.set()

    async def end(self) -> None:
        if self.state == "ended":
            return
        self.resumed.set()
        await self.cancel()
        self._ended()

    async def respond(self, request_id: str, response: dict[str, Any]) -> None:
        waiter = self.pending.get(request_id)
        if waiter is None or waiter.done():
            raise SessionError(f"Permission not found: {request_id}")
        waiter.set_result(response)

    async def messages(self, role: str | None, limit: int | None) -> list[dict[str, Any]]:
        rows = [dict(m) for m in self.log if role is None or m["role"] == role]
        if limit is not None:
            rows = rows[-limit:] if limit > 0 else []
        return rows

    async def inject(self, role: str, content: str) -> None:
        self._check_live()
        self.log.append({"role": role, "content": content, "timestamp": now_iso()})

    async def complete(self, prompt: str, system: str | None, timeout: float) -> str:
        self._check_live()
        if self.agent_config is None and self.replay is None:
            raise SessionError(f"No agent configured for session: {self.id}")
        try:
            async with asyncio.timeout(timeout):
                text = await self.agent().complete(prompt, system, timeout)
        except TimeoutError:
            raise SessionError(f"complete() timed out after {timeout:g} s") from None
        except AgentError as exc:
            raise SessionError(str(exc)) from None
        if self.recorder is not None:
            self.recorder.event(self.id, "completion", {"prompt": prompt, "system": system, "text": text})
        return text


async def _finished(task: asyncio.Task[None]) -> None:
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
