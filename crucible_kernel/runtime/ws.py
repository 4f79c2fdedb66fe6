"""Natives behind cru.ws (lua/ws.lua), reference §3.7, on the websockets asyncio client.

A connection is a `Connection` (the websockets client connection plus our closed flag and a
receive lock). Lua keeps it in a private table keyed by the userdata it hands the plugin, and
passes it back as the first argument of every native; Lua never sees its attributes.

The client is set up like tungstenite's defaults: no compression, no keepalive pings of its own
(pings from the server are answered), no User-Agent, no proxy, messages up to 64 MiB. The
websockets module is imported on the first connect (kernel start-up does not pay for it).
Connections still open when the runtime closes are closed by its cleanup.
"""

from __future__ import annotations

import asyncio
import binascii
import contextlib
import os
from collections.abc import Coroutine, Generator
from typing import TYPE_CHECKING, Any

from .convert import Multi
from .errors import ApiError, describe

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection
    from websockets.exceptions import ConnectionClosed

    from .engine import Runtime

__all__ = ["Connection", "install"]

CLOSED = "WebSocket connection is closed"
TIMED_OUT = "WebSocket connection timed out"
MAX_MESSAGE = 64 << 20  # tungstenite's default max_message_size
CLOSE_TIMEOUT = 5.0  # seconds close() waits for the server's half of the closing handshake
CLOSE_CODE, CLOSE_REASON = 1000, "closed by client"
# What tungstenite reports when the TCP connection ends without a closing handshake.
RESET = "WebSocket error: WebSocket protocol error: Connection reset without closing handshake"

TEXT, BINARY, CLOSE = b"text", b"binary", b"close"
DONE, FAILED, PENDING = 1, 2, 3  # how a native's work went (see `step`); the values are fixed in ws.lua
_DONE = (DONE,)
_b64encode = binascii.b2a_base64
_b64decode = binascii.a2b_base64


class Pending:
    """Awaiting it finishes a coroutine that `step` ran up to its first suspension, in the
    awaiting task (the one it started in, which asyncio.timeout and locks inside it rely on)."""

    __slots__ = ("coro", "first")

    def __init__(self, coro: Coroutine[Any, Any, Any], first: Any) -> None:
        self.coro = coro
        self.first = first

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, yielded = self.coro, self.first
        while True:
            try:
                value = yield yielded
            except BaseException as exc:  # cancellation (or close) of the awaiting task: pass it in
                try:
                    yielded = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    yielded = coro.send(value)
                except StopIteration as stop:
                    return stop.value


def step(coro: Coroutine[Any, Any, Any]) -> tuple[Any, ...]:
    """Runs `coro` until it first waits. Sending a WebSocket message rarely waits, and a message
    that was already received is there at once, so this usually spares the trip through the task
    driver. Returns (DONE, results...), (FAILED, message) or (PENDING, awaitable)."""
    try:
        first = coro.send(None)
    except StopIteration as stop:
        value = stop.value
        if value is None:
            return _DONE
        return (DONE, *value)
    except Exception as exc:
        return (FAILED, describe(exc).encode("utf-8", "replace"))
    return (PENDING, Pending(coro, first))


async def _finish(awaitable: Any) -> None:
    with contextlib.suppress(Exception):
        await awaitable


class Connection:
    """One open WebSocket: the client connection and whether it counts as closed for Lua."""

    __slots__ = ("closed", "lock", "ws")

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.closed = False
        """Set by close(), or once receive() saw the end: later calls raise CLOSED."""
        self.lock = asyncio.Lock()
        """Held by the receive in progress (the reference's stream mutex: a second one waits)."""

    def __repr__(self) -> str:
        return f"<ws {'closed' if self.closed else 'open'}>"


def connect_error(exc: BaseException) -> str:
    """The message for a failed connect, in tungstenite's words where they differ."""
    errno = getattr(exc, "errno", None)
    if isinstance(exc, OSError) and errno:
        return f"WebSocket error: IO error: {os.strerror(errno)} (os error {errno})"
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    if status is not None:  # websockets.InvalidStatus: the server answered, but not with 101
        return f"WebSocket error: HTTP error: {status} {getattr(response, 'reason_phrase', '')}".rstrip()
    return f"WebSocket error: {exc or type(exc).__name__}"


def install(rt: Runtime) -> None:
    live: set[Connection] = set()  # open connections, closed by the runtime's cleanup
    background: set[asyncio.Task[None]] = set()  # work finishing for callers that could not wait
    closed_types: tuple[type[ConnectionClosed], ...] = ()
    cleanup_registered = False

    def first_connect() -> None:
        nonlocal closed_types, cleanup_registered
        from websockets.exceptions import ConnectionClosed

        closed_types = (ConnectionClosed,)
        cleanup_registered = True
        rt.add_cleanup(close_all)

    async def close_all() -> None:
        nonlocal cleanup_registered
        cleanup_registered = False  # Runtime.aclose dropped it; the next connect adds it again
        if background:
            await asyncio.gather(*background, return_exceptions=True)
        still_open = list(live)
        await asyncio.gather(
            *(close(c, CLOSE_CODE, CLOSE_REASON.encode()) for c in still_open), return_exceptions=True
        )

    async def connect(url: bytes, timeout: float, subprotocols: Any, *headers: bytes) -> Connection:
        from websockets.asyncio.client import connect as ws_connect

        if not cleanup_registered:
            first_connect()
        try:
            target = url.decode()
        except UnicodeDecodeError:
            raise ApiError("bad argument #1 to 'connect' (url is not valid UTF-8)") from None
        try:
            async with asyncio.timeout(timeout):
                ws = await ws_connect(
                    target,
                    compression=None,
                    ping_interval=None,
                    max_size=MAX_MESSAGE,
                    user_agent_header=None,
                    proxy=None,
                    open_timeout=None,
                    close_timeout=CLOSE_TIMEOUT,
                    subprotocols=[s.decode() for s in subprotocols.values()] if subprotocols else None,
                    additional_headers=[
                        (k.decode("latin-1"), v.decode("latin-1"))
                        for k, v in zip(headers[::2], headers[1::2], strict=True)
                    ]
                    or None,
                )
        except TimeoutError:
            raise ApiError(TIMED_OUT) from None
        except Exception as exc:
            raise ApiError(connect_error(exc)) from None
        conn = Connection(ws)
        live.add(conn)
        return conn

    def ended(conn: Connection, exc: ConnectionClosed) -> Multi:
        """What receive() returns or raises when websockets reports the connection closed."""
        if conn.closed:  # close() ran while we waited
            raise ApiError(CLOSED)
        conn.closed = True
        live.discard(conn)
        close = exc.rcvd
        if close is None:
            if exc.sent is None:
                raise ApiError(RESET)
            raise ApiError(f"WebSocket error: {exc}")
        return Multi(CLOSE, None, int(close.code), close.reason.encode())

    async def send_text(conn: Connection, data: bytes) -> None:
        if conn.closed:
            raise ApiError(CLOSED)
        if not data.isascii():
            try:
                data.decode()
            except UnicodeDecodeError:
                raise ApiError("bad argument #1 to 'send' (text is not valid UTF-8)") from None
        try:
            await conn.ws.send(data, text=True)
        except Exception as exc:
            raise ApiError(f"WebSocket error: {exc or type(exc).__name__}") from None

    async def send_bytes(conn: Connection, data: bytes) -> None:
        try:
            payload = _b64decode(data, strict_mode=True)
        except binascii.Error as exc:
            raise ApiError(f"Base64 decode error: {exc}") from None
        if conn.closed:
            raise ApiError(CLOSED)
        try:
            await conn.ws.send(payload, text=False)
        except Exception as exc:
            raise ApiError(f"WebSocket error: {exc or type(exc).__name__}") from None

    async def next_message(conn: Connection, timeout: float | None) -> Multi | None:
        if conn.closed:
            raise ApiError(CLOSED)
        try:
            if timeout is None:
                async with conn.lock:
                    message = await conn.ws.recv()
            else:
                async with asyncio.timeout(timeout), conn.lock:
                    message = await conn.ws.recv()
        except TimeoutError:
            return None
        except closed_types as exc:
            return ended(conn, exc)
        except Exception as exc:  # anything else breaks the connection too
            conn.closed = True
            live.discard(conn)
            raise ApiError(f"WebSocket error: {exc or type(exc).__name__}") from None
        if message.__class__ is str:
            return Multi(TEXT, message.encode())
        return Multi(BINARY, _b64encode(message, newline=False))

    async def close(conn: Connection, code: int, reason: bytes) -> None:
        if conn.closed:
            return
        conn.closed = True
        live.discard(conn)
        ws = conn.ws
        try:
            await ws.close(code, reason.decode())
        except Exception:  # the reference swallows errors while closing
            ws.transport.abort()
        except BaseException:  # cancelled while closing: drop the connection
            ws.transport.abort()
            raise

    def close_soon(conn: Connection, code: int, reason: bytes) -> None:
        """close() for a caller that cannot wait: the closing handshake finishes in the background."""
        if conn.closed:
            return
        conn.closed = True
        live.discard(conn)
        in_background(close(Connection(conn.ws), code, reason))

    def in_background(awaitable: Any) -> None:
        """Finishes `awaitable` in a task of its own (for callers that cannot wait)."""
        task = asyncio.get_running_loop().create_task(_finish(awaitable))
        background.add(task)
        task.add_done_callback(background.discard)

    # The natives Lua calls run the work at once, up to its first wait (see `step`).

    def send(conn: Connection, data: bytes) -> tuple[Any, ...]:
        return step(send_text(conn, data))

    def send_binary(conn: Connection, data: bytes) -> tuple[Any, ...]:
        return step(send_bytes(conn, data))

    def receive(conn: Connection, timeout: float | None) -> tuple[Any, ...]:
        return step(next_message(conn, timeout))

    def subprotocol(conn: Connection) -> bytes | None:
        chosen = conn.ws.subprotocol
        return chosen.encode() if chosen is not None else None

    rt.register(
        "ws",
        rt.lua_module(
            "ws",
            {
                "connect": connect,
                "send": send,
                "send_binary": send_binary,
                "receive": receive,
                "close": close,
                "close_soon": close_soon,
                "in_background": in_background,
                "subprotocol": subprotocol,
            },
        ),
    )
