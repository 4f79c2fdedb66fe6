"""cru.sessions in a Lua state: the natives behind lua/session_api.lua, and switching on and off.

`install(rt, service, views)` replaces the runtime's stub functions in the cru.sessions table
(the same table under `crucible`) with the real ones and returns the `Binding`; `disable()` puts
the stubs back (every call then returns "no daemon connected"), `enable()` the real ones again.

Async natives return `Multi(result, None)` or `Multi(None, message)`: the Lua convention of the
reference, where a failure of the service is a value, not an error.

The stream natives (`take`, `next_part`) are plain calls that return a buffered event at once;
only when nothing is buffered do they hand Lua an awaitable. If the task waiting on it is the
runtime's foreground task (the running cell) and it is interrupted, the session's turn is
cancelled too: the stop button stops the agent, not just the reader.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..runtime import hooks
from ..runtime.convert import Multi, text
from .collect import Collector
from .config import SessionError
from .events import Subscription
from .service import SessionService
from .views import Views

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["Binding", "install"]

DELTA, EVENT, WAIT, CLOSED, PART = 1, 2, 3, 4, 5  # fixed in lua/session_api.lua
_CLOSED = (CLOSED,)
ROLES = ("user", "assistant", "system")
_KINDS: dict[str, bytes] = {}  # event names as Lua strings, encoded once


def _kind(name: str) -> bytes:
    encoded = _KINDS.get(name)
    if encoded is None:
        encoded = _KINDS[name] = name.encode()
    return encoded


def _load(source: bytes) -> Any:
    try:
        return json.loads(source)
    except json.JSONDecodeError as exc:
        raise SessionError(f"not valid JSON: {exc}") from None


class Binding:
    """cru.sessions of one Lua state, on one service."""

    def __init__(self, rt: Runtime, service: SessionService, views: Views | None = None) -> None:
        self.rt = rt
        self.service = service
        self.views = views or Views(rt.host)
        self._subs: dict[str, weakref.WeakSet[Subscription]] = {}
        table = rt.cru[b"sessions"]
        self._stubs = {k: v for k, v in table.items()}
        natives = {k.encode(): v for k, v in self._natives().items()}
        loaded = rt.own_chunk(__package__, "session_api")(rt.engine, rt.natives(natives))
        self._real = {k: v for k, v in loaded[b"module"].items()}
        self._internal = loaded[b"internal"]
        self.enabled = False
        self.enable()

    def enable(self) -> None:
        """cru.sessions calls the service."""
        table = self.rt.cru[b"sessions"]
        for name, fn in self._real.items():
            table[name] = fn
        self.enabled = True

    def disable(self) -> None:
        """cru.sessions is the stub again: every call returns (nil, "no daemon connected")."""
        table = self.rt.cru[b"sessions"]
        for name, fn in self._stubs.items():
            table[name] = fn
        table[b"watch"] = self._internal[b"watch_off"]
        for subs in self._subs.values():
            for sub in list(subs):
                sub.close()
        self._subs.clear()
        self.enabled = False

    def session_cell(self) -> Any:
        """The Lua function behind %%session: (session id or nil, text)."""
        return self._internal[b"session_cell"]

    # The natives

    def _natives(self) -> dict[str, Callable[..., Any]]:
        rt, service, views = self.rt, self.service, self.views
        to_lua = rt.to_lua

        async def attempt(work: Awaitable[Any]) -> Multi:
            try:
                return Multi(await work, None)
            except SessionError as exc:
                return Multi(None, str(exc))

        async def interrupted(session_id: str) -> None:
            """The waiting task was cancelled: if it is the running cell, stop the turn too."""
            foreground = rt.foreground
            if foreground is not None and foreground.asyncio_task is asyncio.current_task():
                session = service.sessions.get(session_id)
                if session is not None and session.turn_running:
                    await session.cancel()

        async def create(source: bytes | None, legacy: bytes | None) -> Any:
            raw = text(legacy) if legacy is not None else _load(source or b"{}")
            return (await service.create(raw)).info()

        async def start_hooks(info: Any) -> str | None:
            try:
                await hooks.of(rt).fire_session_start(info)
            except hooks.SessionRefused as exc:
                return str(exc)
            return None

        async def end_hooks(session_id: bytes) -> None:
            sid = text(session_id)
            session = service.sessions.get(sid)
            info = session.info() if session is not None else {"id": sid}
            await hooks.of(rt).fire_session_end(to_lua(info))

        async def get(session_id: bytes) -> Any:
            session = await service.get(text(session_id))
            return session.info() if session is not None else None

        async def list_() -> Any:
            return [s.info() for s in await service.list()]

        async def configure_agent(session_id: bytes, source: bytes) -> bool:
            await service.configure_agent(text(session_id), _load(source))
            return True

        async def send_message(session_id: bytes, content: bytes, interactive: bool) -> str:
            session = await service.find(text(session_id))
            return await session.send(text(content), bool(interactive))

        async def subscribe(session_id: bytes) -> Subscription:
            sid = text(session_id)
            session = await service.find(sid)
            sub = session.subscribe()
            self._subs.setdefault(sid, weakref.WeakSet()).add(sub)
            return sub

        async def unsubscribe(session_id: bytes) -> bool:
            for sub in list(self._subs.pop(text(session_id), ())):
                sub.close()
            return True

        async def wait_event(sub: Subscription) -> None:
            try:
                await sub.wait()
            except asyncio.CancelledError:
                await interrupted(sub.session_id)
                raise

        def take(sub: Subscription) -> tuple[Any, ...]:
            buffer = sub.buffer
            if buffer and not sub.dropped:
                kind, data = buffer.popleft()
            else:
                event = sub.take()
                if event is None:
                    return _CLOSED if sub.closed else (WAIT, wait_event(sub))
                kind, data = event
            if kind == "text_delta":
                chunk = data.get("content")
                return (DELTA, chunk.encode() if chunk.__class__ is str else text(chunk).encode())
            return (EVENT, _kind(kind), to_lua(data))

        async def call(operation: bytes, session_id: bytes) -> Any:
            session = await service.find(text(session_id))
            op = operation.decode()
            if op == "cancel":
                return await session.cancel()
            if op == "pause":
                await session.pause()
            elif op == "resume":
                await session.resume()
            elif op == "end":
                await session.end()
            return True

        async def interaction_respond(session_id: bytes, request_id: bytes, source: bytes) -> bool:
            session = await service.find(text(session_id))
            raw = _load(source)
            if not isinstance(raw, dict):
                raise SessionError("Invalid permission response: expected a table like { allowed = true }")
            allowed = raw.get("allowed", raw.get("approved"))
            if allowed is None:
                raise SessionError("Invalid permission response: missing field `allowed`")
            if not isinstance(allowed, bool):
                raise SessionError(
                    f"Invalid permission response: `allowed` must be a boolean, got {allowed!r}"
                )
            response = {k: v for k, v in raw.items() if k != "approved"}
            response["allowed"] = allowed
            await session.respond(text(request_id), response)
            return True

        async def send_and_collect(
            session_id: bytes, content: bytes, timeout: float, max_len: int, interactive: bool
        ) -> Collector:
            session = await service.find(text(session_id))
            sub = session.subscribe()  # before sending: no event may be missed
            await session.send(text(content), bool(interactive))
            return Collector(sub, float(timeout), int(max_len))

        async def wait_part(collector: Collector) -> None:
            try:
                await collector.wait()
            except asyncio.CancelledError:
                await interrupted(collector.sub.session_id)
                raise

        def next_part(collector: Collector) -> tuple[Any, ...]:
            part = collector.next_part()
            if part is None:
                return _CLOSED
            if part is False:
                return (WAIT, wait_part(collector))
            return (PART, to_lua(part))

        async def complete(session_id: bytes, source: bytes) -> str:
            session = await service.find(text(session_id))
            raw = _load(source)
            if not isinstance(raw, dict):
                raise SessionError('complete() expects a prompt string or a table, e.g. { prompt = "…" }')
            prompt, system, timeout = raw.get("prompt"), raw.get("system"), raw.get("timeout", 30)
            if not isinstance(prompt, str):
                raise SessionError("Invalid complete() options: missing field `prompt`")
            if system is not None and not isinstance(system, str):
                raise SessionError("Invalid complete() options: `system` must be a string")
            if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 0:
                raise SessionError(
                    f"Invalid complete() options: invalid type: `timeout` = {timeout!r}, expected u64"
                )
            return await session.complete(prompt, system, float(timeout))

        async def messages(session_id: bytes, role: bytes | None, limit: int | None) -> Any:
            session = await service.find(text(session_id))
            r = text(role) if role is not None else None
            if r is not None and r not in ROLES:
                raise SessionError(f"Invalid role filter '{r}': must be 'user', 'assistant', or 'system'")
            return await session.messages(r, limit)

        async def inject(session_id: bytes, role: bytes, content: bytes) -> bool:
            session = await service.find(text(session_id))
            r = text(role)
            if r not in ROLES:
                raise SessionError(f"Invalid role '{r}': must be 'system', 'user', or 'assistant'")
            await session.inject(r, text(content))
            return True

        async def fork(session_id: bytes, up_to: int | None) -> Any:
            return await service.fork(text(session_id), up_to)

        async def watch(session_id: bytes) -> Multi:
            session = await service.find(text(session_id))
            turn = session.transcript.current
            if turn is None:
                raise SessionError(f"nothing to watch: send a message to session {session.id} first")
            try:
                await views.watch(session, turn)
            except asyncio.CancelledError:
                await interrupted(session.id)
                raise
            if turn.status == "done":
                return Multi(turn.response, None)
            if turn.status == "running":  # the session ended under it
                return Multi(None, "session ended")
            return Multi(None, "cancelled" if turn.status == "cancelled" else (turn.error or "failed"))

        def view(session_id: bytes) -> tuple[Any, Any]:
            session = service.sessions.get(text(session_id))
            if session is None:
                data: dict[str, Any] = {"text/plain": f"session {text(session_id)} (unknown)"}
                return to_lua(data), to_lua({})
            data, metadata = views.bundle(session)
            return to_lua(data), to_lua(metadata)

        def guarded(fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Multi]]:
            def native(*args: Any) -> Awaitable[Multi]:
                return attempt(fn(*args))

            return native

        async def watched(session_id: bytes) -> Multi:
            try:
                return await watch(session_id)
            except SessionError as exc:
                return Multi(None, str(exc))

        natives: dict[str, Callable[..., Any]] = {
            name: guarded(fn)
            for name, fn in {
                "create": create,
                "start_hooks": start_hooks,
                "end_hooks": end_hooks,
                "get": get,
                "list": list_,
                "configure_agent": configure_agent,
                "send_message": send_message,
                "subscribe": subscribe,
                "unsubscribe": unsubscribe,
                "call": call,
                "interaction_respond": interaction_respond,
                "send_and_collect": send_and_collect,
                "complete": complete,
                "messages": messages,
                "inject": inject,
                "fork": fork,
            }.items()
        }
        natives.update(
            take=take,
            next_part=next_part,
            watch=watched,
            view=view,
            json_encode=rt.cru[b"json"][b"encode"],
        )
        return natives


def install(rt: Runtime, service: SessionService, views: Views | None = None) -> Binding:
    """Give `rt` the real cru.sessions, on `service`; `views` shows sessions (default: text)."""
    binding = Binding(rt, service, views)

    async def close_subscriptions() -> None:
        for subs in binding._subs.values():
            for sub in list(subs):
                sub.close()

    rt.add_cleanup(close_subscriptions)
    return binding
