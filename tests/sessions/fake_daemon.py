"""A fake Crucible daemon on a Unix socket that speaks the daemon's session protocol.

Newline-delimited JSON-RPC 2.0; every request runs in a task of its own, so responses leave in
whatever order the work finishes (`session.list` takes 0.1 s, so a create sent after it is
answered first). Events are pushed to the connections that subscribed to their session, between
responses. The agent answers "daemon says: <message>" word by word; the message "fail" ends the
turn with `ended {reason = "error: model unavailable"}` (no `error` event, as the daemon does),
"ask" asks for permission first and waits for `session.interaction_respond`.

`responses` records the ids of the responses in the order they were written, `requests` the
requests as received.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

__all__ = ["FakeDaemon", "fake_daemon"]


@dataclass
class FakeDaemon:
    path: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    responses: list[Any] = field(default_factory=list)
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)
    _server: asyncio.Server | None = None
    _subs: dict[str, set[asyncio.StreamWriter]] = field(default_factory=dict)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _permissions: dict[str, asyncio.Future[Any]] = field(default_factory=dict)
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    async def start(self) -> FakeDaemon:
        self._server = await asyncio.start_unix_server(self._serve, self.path)
        return self

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while line := await reader.readline():
                try:
                    request = json.loads(line)
                except json.JSONDecodeError:
                    await self._send(
                        writer,
                        {"jsonrpc": "2.0", "id": None, "error": {"code": -32700, "message": "Parse error"}},
                    )
                    continue
                self.requests.append(request)
                self._spawn(self._handle(writer, request))
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            for subs in self._subs.values():
                subs.discard(writer)
            writer.close()
            self._tasks.discard(task)

    async def _send(self, writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
        if writer.is_closing():
            return
        writer.write(json.dumps(message).encode() + b"\n")
        with contextlib.suppress(ConnectionError):
            await writer.drain()

    async def _event(self, session_id: str, event: str, data: dict[str, Any]) -> None:
        message = {
            "type": "event",
            "session_id": session_id,
            "event": event,
            "data": data,
            "seq": next(self._ids),
        }
        for writer in list(self._subs.get(session_id, ())):
            await self._send(writer, message)

    async def _handle(self, writer: asyncio.StreamWriter, request: dict[str, Any]) -> None:
        rid, method, params = request.get("id"), request.get("method"), request.get("params") or {}
        try:
            result = await self._method(writer, method, params)
            response = {"jsonrpc": "2.0", "id": rid, "result": result}
        except LookupError as exc:
            response = {"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": str(exc)}}
        except ValueError as exc:
            response = {"jsonrpc": "2.0", "id": rid, "error": {"code": -32602, "message": str(exc)}}
        self.responses.append(rid)
        await self._send(writer, response)

    def _session(self, params: dict[str, Any]) -> dict[str, Any]:
        sid = params.get("session_id")
        if sid not in self.sessions:
            raise ValueError(f"Session not found: {sid}")
        return self.sessions[sid]

    async def _method(self, writer: asyncio.StreamWriter, method: str, params: dict[str, Any]) -> Any:
        if method == "ping":
            return "pong"
        if method == "session.create":
            sid = f"chat-2026-08-22T1530-{len(self.sessions) + 1:06x}"
            self.sessions[sid] = {
                "state": "active",
                "agent": None,
                "turn": None,
                "type": params.get("type", "chat"),
            }
            return {
                "session_id": sid,
                "type": params.get("type", "chat"),
                "kilns": [],
                "workspace": None,
                "state": "active",
                "agent_model": None,
            }
        if method == "session.list":
            await asyncio.sleep(0.1)
            return [
                {"session_id": sid, "type": s["type"], "state": s["state"], "kilns": []}
                for sid, s in self.sessions.items()
            ]
        if method == "session.get":
            s = self._session(params)
            return {"session_id": params["session_id"], "type": s["type"], "state": s["state"], "kilns": []}
        if method == "session.subscribe":
            for sid in params.get("session_ids", []):
                self._subs.setdefault(sid, set()).add(writer)
            return {"subscribed": params.get("session_ids", []), "client_id": "c1"}
        if method == "session.configure_agent":
            s = self._session(params)
            agent = params.get("agent") or {}
            for required in ("agent_type", "provider", "model", "system_prompt"):
                if required not in agent:
                    raise ValueError(f"Invalid agent config: missing field `{required}`")
            s["agent"] = agent
            return None
        if method == "session.send_message":
            s = self._session(params)
            if s["agent"] is None:
                raise ValueError(f"No agent configured for session: {params['session_id']}")
            if s["turn"] is not None and not s["turn"].done():
                raise ValueError(f"Concurrent request in progress for session: {params['session_id']}")
            message_id = f"msg-{next(self._ids)}"
            # the turn's first events go out before this response
            await self._event(
                params["session_id"], "user_message", {"message_id": message_id, "content": params["content"]}
            )
            s["turn"] = asyncio.get_running_loop().create_task(
                self._turn(params["session_id"], message_id, params["content"])
            )
            self._tasks.add(s["turn"])
            await asyncio.sleep(0.02)
            return {"session_id": params["session_id"], "message_id": message_id}
        if method == "session.cancel":
            s = self._session(params)
            turn = s["turn"]
            if turn is None or turn.done():
                return {"session_id": params["session_id"], "cancelled": False}
            turn.cancel()
            await asyncio.gather(turn, return_exceptions=True)
            return {"session_id": params["session_id"], "cancelled": True}
        if method in ("session.pause", "session.resume", "session.end"):
            s = self._session(params)
            s["state"] = {"session.pause": "paused", "session.resume": "active", "session.end": "ended"}[
                method
            ]
            return None
        if method == "session.interaction_respond":
            self._session(params)
            response = params.get("response") or {}
            if response.get("kind") != "permission" or not isinstance(response.get("allowed"), bool):
                raise ValueError("Invalid interaction response")
            waiter = self._permissions.pop(params.get("request_id"), None)
            if waiter is None:
                raise ValueError(f"Permission not found: {params.get('request_id')}")
            waiter.set_result(response)
            return None
        raise LookupError(f"Method not found: {method}")

    async def _turn(self, sid: str, message_id: str, content: str) -> None:
        try:
            if content == "fail":
                await self._event(sid, "text_delta", {"content": "oops "})
                await self._event(sid, "ended", {"reason": "error: model unavailable"})
                return
            if content == "ask":
                request_id = f"perm-{next(self._ids)}"
                waiter = asyncio.get_running_loop().create_future()
                self._permissions[request_id] = waiter
                await self._event(
                    sid,
                    "interaction_requested",
                    {"request_id": request_id, "request": {"kind": "permission", "tool": "shell"}},
                )
                response = await waiter
                await self._event(
                    sid, "interaction_completed", {"request_id": request_id, "response": response}
                )
            words = f"daemon says: {content}".split(" ")
            for i, word in enumerate(words):
                await self._event(sid, "text_delta", {"content": word + (" " if i < len(words) - 1 else "")})
                await asyncio.sleep(0.005)
            await self._event(
                sid,
                "message_complete",
                {
                    "message_id": message_id,
                    "full_response": " ".join(words),
                    "prompt_tokens": 3,
                    "completion_tokens": len(words),
                    "total_tokens": 3 + len(words),
                },
            )
        except asyncio.CancelledError:
            await self._event(sid, "ended", {"reason": "cancelled"})
            raise


@pytest.fixture
async def fake_daemon(tmp_path):
    daemon = await FakeDaemon(str(tmp_path / "crucible.sock")).start()
    yield daemon
    await daemon.stop()
