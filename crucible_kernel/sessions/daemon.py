"""Sessions in a real Crucible daemon, over its JSON-RPC protocol on a Unix socket.

The protocol (Crucible's daemon, `cru daemon serve`): newline-delimited JSON both ways.
Requests `{"jsonrpc": "2.0", "id", "method", "params"}` get responses `{"jsonrpc": "2.0", "id",
"result"}` or `{..., "error": {"code", "message"}}`; the daemon runs up to 32 requests of a
connection at once, so responses come in any order and are matched by id. Events of the
sessions the connection subscribed to are pushed on the same connection, between responses:
`{"type": "event", "session_id", "event", "data"}` (`replay_event` for replays, `stream_gap`
when the connection lagged).

`DaemonClient` is the connection; `RemoteSession` a daemon session seen through it. Events are
normalised to what local sessions send, so the Lua API is the same: a text_delta carries its
chunk in `content` (the binding adds `text`), `message_complete` is followed by
`response_done`, and a turn that ends with `ended {reason = "error: ..."}` gets an `error` event
first.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from typing import Any

from .config import SessionError
from .session import Session

__all__ = ["DEFAULT_TIMEOUT", "DaemonClient", "RemoteSession"]

DEFAULT_TIMEOUT = 30.0  # seconds a request may take, as the reference's RPC client allows
LINE_LIMIT = 64 << 20  # the longest line (one message) read from the daemon


class DaemonClient:
    """One connection to a Crucible daemon."""

    def __init__(self, path: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.path = path
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self.sessions: dict[str, RemoteSession] = {}
        """The daemon sessions this connection follows (subscribed to), by id."""
        self.closed = False
        self._task = asyncio.get_running_loop().create_task(self._read(), name=f"crucible daemon {path}")

    @classmethod
    async def connect(cls, path: str) -> DaemonClient:
        try:
            reader, writer = await asyncio.open_unix_connection(path, limit=LINE_LIMIT)
        except OSError as exc:
            raise SessionError(
                f"cannot connect to the Crucible daemon at {path}: {exc.strerror or exc} "
                "(is `cru daemon serve` running? CRUCIBLE_SOCKET names its socket)"
            ) from None
        return cls(path, reader, writer)

    async def request(self, method: str, params: dict[str, Any], timeout: float = DEFAULT_TIMEOUT) -> Any:
        """Send one request and wait for its response (raises SessionError with the daemon's message)."""
        if self.closed:
            raise SessionError(f"the connection to the Crucible daemon at {self.path} is closed")
        request_id = next(self._ids)
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = waiter
        line = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params})
        try:
            self._writer.write(line.encode() + b"\n")
            await self._writer.drain()
            async with asyncio.timeout(timeout):
                return await waiter
        except TimeoutError:
            raise SessionError(f"the Crucible daemon did not answer {method} within {timeout:g} s") from None
        except OSError as exc:
            raise SessionError(f"lost the connection to the Crucible daemon: {exc}") from None
        finally:
            self._pending.pop(request_id, None)

    async def _read(self) -> None:
        reason = "the Crucible daemon closed the connection"
        try:
            while True:
                line = await self._reader.readline()
                if not line:
                    break
                try:
                    message = json.loads(line)
                except json.JSONDecodeError:
                    continue  # not a message: skip the line
                if isinstance(message, dict):
                    self._dispatch(message)
        except (OSError, ValueError) as exc:  # ValueError: a line over LINE_LIMIT
            reason = f"lost the connection to the Crucible daemon: {exc}"
        finally:
            self.closed = True
            for waiter in self._pending.values():
                if not waiter.done():
                    waiter.set_exception(SessionError(reason))
            for session in self.sessions.values():
                session.fanout.close()

    def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind in ("event", "replay_event", "stream_gap") or (
            "event" in message and "jsonrpc" not in message
        ):
            self._event(message)
            return
        waiter = self._pending.get(message.get("id"))  # type: ignore[arg-type]
        if waiter is None or waiter.done():
            return  # a response nobody waits for (timed out), or a parse error without id
        error = message.get("error")
        if error is not None:
            text = error.get("message") if isinstance(error, dict) else str(error)
            waiter.set_exception(SessionError(str(text)))
        else:
            waiter.set_result(message.get("result"))

    def _event(self, message: dict[str, Any]) -> None:
        name = str(message.get("event") or message.get("type"))
        data = message.get("data") if isinstance(message.get("data"), dict) else {}
        session_id = message.get("session_id")
        if session_id in (None, "*"):
            for session in list(self.sessions.values()):
                session.received(name, dict(data))
            return
        session = self.sessions.get(str(session_id))
        if session is not None:
            session.received(name, data)

    async def follow(self, session: RemoteSession) -> None:
        """Subscribe this connection to the session's events."""
        if session.id not in self.sessions:
            self.sessions[session.id] = session
            await self.request("session.subscribe", {"session_ids": [session.id]})

    # The service's operations

    async def create(self, opts: dict[str, Any]) -> RemoteSession:
        params = {
            k: v for k, v in opts.items() if k not in ("recording_mode", "recording_path", "replay_speed")
        }
        result = await self.request("session.create", params)
        session = RemoteSession(self, result if isinstance(result, dict) else {})
        await self.follow(session)
        return session

    async def get(self, session_id: str) -> RemoteSession | None:
        if session_id in self.sessions:
            return self.sessions[session_id]
        try:
            result = await self.request("session.get", {"session_id": session_id})
        except SessionError as exc:
            if "not found" in str(exc).lower():
                return None
            raise
        if not isinstance(result, dict):
            return None
        session = RemoteSession(self, result)
        await self.follow(session)
        return session

    async def list(self) -> list[RemoteSession]:
        result = await self.request("session.list", {})
        rows = result.get("sessions", []) if isinstance(result, dict) else result or []
        out = []
        for row in rows:
            if isinstance(row, dict):
                sid = str(row.get("session_id") or row.get("id"))
                out.append(self.sessions.get(sid) or RemoteSession(self, row))
        return out

    async def aclose(self) -> None:
        self.closed = True
        self._writer.close()
        with contextlib.suppress(Exception):
            await self._writer.wait_closed()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class RemoteSession(Session):
    """A session that lives in the daemon."""

    local = False

    def __init__(self, client: DaemonClient, result: dict[str, Any]) -> None:
        sid = str(result.get("session_id") or result.get("id"))
        kind = result.get("type") or result.get("session_type") or "chat"
        super().__init__(
            sid, {"type": kind, "kilns": result.get("kilns"), "workspace": result.get("workspace")}
        )
        self.client = client
        self.state = str(result.get("state") or "active")
        self.title = result.get("title") if isinstance(result.get("title"), str) else None
        model = result.get("agent_model")
        self.agent_config = {"provider": "daemon", "model": model} if model else None
        self._users: set[str] = set()  # user messages already published (by id)
        self._error_sent = False

    def received(self, name: str, data: dict[str, Any]) -> None:
        """An event from the daemon, published as a local session would send it."""
        if name == "user_message":
            message_id = str(data.get("message_id", ""))
            if message_id in self._users:
                return
            self._users.add(message_id)
            self._error_sent = False
        elif name == "text_delta" and "content" not in data:
            data = {**data, "content": data.get("text", "")}
        elif name == "response_done":
            return  # we send our own after message_complete
        elif name == "error":
            self._error_sent = True
        elif name == "ended":
            reason = str(data.get("reason", ""))
            if reason.startswith("error: ") and not self._error_sent:
                self.publish("error", {"message": reason[7:]})
        self.publish(name, data)
        if name == "message_complete":
            self.publish("response_done", {"message_id": data.get("message_id")})

    async def _call(self, method: str, **params: Any) -> Any:
        return await self.client.request(method, {"session_id": self.id, **params})

    async def configure(self, config: dict[str, Any]) -> None:
        agent = {"agent_type": "internal", "system_prompt": "", **config}
        await self._call("session.configure_agent", agent=agent)
        self.agent_config = {"provider": agent.get("provider", "daemon"), "model": agent.get("model")}

    async def send(self, content: str, interactive: bool) -> str:
        await self.client.follow(self)
        result = await self._call("session.send_message", content=content, is_interactive=interactive)
        message_id = str(result.get("message_id", "")) if isinstance(result, dict) else str(result)
        if message_id not in self._users:  # its events may come after the response: show the turn now
            self._users.add(message_id)
            self._error_sent = False
            self.publish("user_message", {"message_id": message_id, "content": content})
        return message_id

    async def cancel(self) -> bool:
        result = await self._call("session.cancel")
        return bool(result.get("cancelled")) if isinstance(result, dict) else bool(result)

    async def pause(self) -> None:
        await self._call("session.pause")
        self.state = "paused"

    async def resume(self) -> None:
        await self._call("session.resume")
        self.state = "active"

    async def end(self) -> None:
        await self._call("session.end")
        self._ended()

    async def respond(self, request_id: str, response: dict[str, Any]) -> None:
        await self._call(
            "session.interaction_respond", request_id=request_id, response={"kind": "permission", **response}
        )

    async def messages(self, role: str | None, limit: int | None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {k: v for k, v in (("role", role), ("limit", limit)) if v is not None}
        result = await self._call("session.messages", **params)
        return list(result.get("messages", [])) if isinstance(result, dict) else list(result or [])

    async def inject(self, role: str, content: str) -> None:
        await self._call("session.inject", role=role, content=content)

    async def complete(self, prompt: str, system: str | None, timeout: float) -> str:
        params: dict[str, Any] = {"prompt": prompt, "timeout": int(timeout)}
        if system is not None:
            params["system"] = system
        result = await self.client.request("session.complete", {"session_id": self.id, **params}, timeout + 5)
        return str(result.get("text", "")) if isinstance(result, dict) else str(result)
