"""Local servers for tests: an HTTP/1.1 server and a WebSocket server on 127.0.0.1.

Both listen on an ephemeral port, run in the test's event loop, record what they saw, and close
every connection when stopped (warnings are errors here, so nothing may be left open). Use them
through the `http_server` and `ws_server` fixtures:

    from tests.servers import http_server, ws_server  # noqa: F401

HTTP routes (GET unless said otherwise; every route answers any method):
    /echo              JSON of the request: method, path, query, headers (lower-case names,
                       last value), header_names (as sent), body (UTF-8, lossy), body_hex
    /status/<code>     that status, body "status <code>"
    /redirect/<n>      302 to /redirect/<n-1>; /redirect/0 answers 200 "landed"
    /see-other         303 to /echo
    /headers           repeated, mixed-case, non-ASCII and Set-Cookie response headers
    /unicode           UTF-8 text (UNICODE_TEXT)
    /latin1            "café" in ISO-8859-1, charset declared
    /binary            bytes 0..255, application/octet-stream
    /bom               a UTF-8 BOM, then "hello"
    /users             a JSON array of users
    /gzip              a gzip-encoded body
    /flaky?fail=<n>    503 for the first n requests with this query, then 200
    /slow?delay=<s>    200 after `delay` seconds
    /hang              never answers; `hang_started` / `hang_ended` are set when it starts
                       and when the client goes away
    /truncated         declares 100 bytes, sends 10, closes the connection
    /stall-body        declares 100 bytes, sends 10, then waits forever

WebSocket paths:
    /echo          echoes every message, text as text and binary as binary
    /greet         sends "hello", then echoes
    /ping          pings the client, sends "pong received" once the pong arrived, sends an
                   unsolicited pong and "after pong", then echoes
    /close         sends "bye soon", then closes with 4000 "bye"
    /drop          sends "hello", then drops the TCP connection without a close frame
    /silent        sends nothing
    /handshake     sends JSON of the handshake's request headers and chosen subprotocol
    /generation    sends "generation <n>" (n counts server starts), then waits
    /record        records every message and the client's close code and reason
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

__all__ = ["UNICODE_TEXT", "HttpServer", "WsServer", "http_server", "ws_server"]

UNICODE_TEXT = "héllo wörld ✓ 🚀 日本語"
USERS = [{"id": 1, "name": "Alice"}, {"id": 2, "name": "Bob"}]
REASONS = {
    200: "OK",
    204: "No Content",
    302: "Found",
    303: "See Other",
    400: "Bad Request",
    404: "Not Found",
    418: "I'm a teapot",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass
class Request:
    """A request as the HTTP server received it."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    connection: int  # which TCP connection (1, 2, ...) carried it

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> str:
        return urlsplit(self.target).query

    def header(self, name: str) -> str | None:
        found = [v for k, v in self.headers if k.lower() == name.lower()]
        return found[-1] if found else None


@dataclass
class HttpServer:
    """A small HTTP/1.1 server with keep-alive, for tests (see the module docstring for routes)."""

    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    port: int = 0
    hang_started: asyncio.Event = field(default_factory=asyncio.Event)
    hang_ended: asyncio.Event = field(default_factory=asyncio.Event)
    _server: asyncio.Server | None = None
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)
    _writers: set[asyncio.StreamWriter] = field(default_factory=set)
    _counts: dict[str, int] = field(default_factory=dict)

    async def start(self) -> HttpServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.close()
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    # The connection loop

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self._writers.add(writer)
        self.connections += 1
        number = self.connections
        try:
            while True:
                request = await self._read_request(reader, number)
                if request is None:
                    break
                self.requests.append(request)
                keep = await self._route(request, reader, writer)
                if not keep or (request.header("connection") or "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._handlers.discard(task)

    async def _read_request(self, reader: asyncio.StreamReader, number: int) -> Request | None:
        line = await reader.readline()
        if not line.strip():
            return None
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers = []
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name.strip(), value.strip()))
        request = Request(method, target, headers, b"", number)
        length = int(request.header("content-length") or 0)
        if length:
            request.body = await reader.readexactly(length)
        return request

    @staticmethod
    async def _respond(
        writer: asyncio.StreamWriter,
        request: Request,
        status: int,
        body: bytes = b"",
        headers: list[tuple[str, bytes | str]] | None = None,
    ) -> None:
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}".encode()]
        for name, value in headers or []:
            lines.append(name.encode() + b": " + (value.encode() if isinstance(value, str) else value))
        if status in (204, 304):
            body = b""  # these have no body, and no Content-Length
        else:
            lines.append(b"Content-Length: " + str(len(body)).encode())
        writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + (b"" if request.method == "HEAD" else body))
        await writer.drain()

    async def _route(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Answers `request`; returns whether the connection stays open."""
        path, query = request.path, parse_qs(request.query)
        respond = self._respond
        text_plain = [("Content-Type", "text/plain; charset=utf-8")]
        if path == "/echo":
            body = json.dumps(
                {
                    "method": request.method,
                    "path": path,
                    "query": request.query,
                    "headers": {k.lower(): v for k, v in request.headers},
                    "header_names": [k for k, _ in request.headers],
                    "body": request.body.decode("utf-8", "replace"),
                    "body_hex": request.body.hex(),
                }
            ).encode()
            await respond(writer, request, 200, body, [("Content-Type", "application/json")])
        elif path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            await respond(writer, request, code, f"status {code}".encode(), text_plain)
        elif path.startswith("/redirect/"):
            n = int(path.rsplit("/", 1)[1])
            if n > 0:
                await respond(writer, request, 302, b"", [("Location", f"/redirect/{n - 1}")])
            else:
                await respond(writer, request, 200, b"landed", text_plain)
        elif path == "/see-other":
            await respond(writer, request, 303, b"", [("Location", "/echo")])
        elif path == "/headers":
            await respond(
                writer,
                request,
                200,
                b"headers",
                [
                    ("X-Custom", "one"),
                    ("X-Multi", "first"),
                    ("X-Multi", "second"),
                    ("Mixed-Case-Name", "Value With Case"),
                    ("X-Latin", "caf\xe9".encode("latin-1")),
                    ("Set-Cookie", "session=abc; Path=/"),
                ],
            )
        elif path == "/unicode":
            await respond(writer, request, 200, UNICODE_TEXT.encode(), text_plain)
        elif path == "/latin1":
            await respond(
                writer,
                request,
                200,
                "café".encode("latin-1"),
                [("Content-Type", "text/plain; charset=iso-8859-1")],
            )
        elif path == "/binary":
            await respond(
                writer, request, 200, bytes(range(256)), [("Content-Type", "application/octet-stream")]
            )
        elif path == "/bom":
            await respond(writer, request, 200, b"\xef\xbb\xbfhello", text_plain)
        elif path == "/users":
            await respond(
                writer, request, 200, json.dumps(USERS).encode(), [("Content-Type", "application/json")]
            )
        elif path == "/gzip":
            await respond(
                writer,
                request,
                200,
                gzip.compress(b"unzipped " * 20),
                [("Content-Encoding", "gzip"), *text_plain],
            )
        elif path == "/flaky":
            key = request.target
            self._counts[key] = seen = self._counts.get(key, 0) + 1
            if seen <= int(query.get("fail", ["1"])[0]):
                await respond(writer, request, 503, b"try again", text_plain)
            else:
                await respond(writer, request, 200, f"ok after {seen}".encode(), text_plain)
        elif path == "/slow":
            await asyncio.sleep(float(query.get("delay", ["0.2"])[0]))
            await respond(writer, request, 200, b"slow", text_plain)
        elif path == "/hang":
            self.hang_started.set()
            try:
                await reader.read(1)  # b"" once the client closed the connection
            finally:
                self.hang_ended.set()
            return False
        elif path == "/truncated":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
            await writer.drain()
            return False
        elif path == "/stall-body":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
            await writer.drain()
            await reader.read(1)
            return False
        else:
            await respond(writer, request, 404, b"no such route", text_plain)
        return True


@dataclass
class WsServer:
    """A WebSocket server for tests (see the module docstring for paths); restartable on its port."""

    port: int = 0
    generation: int = 0
    connections: int = 0
    received: list[Any] = field(default_factory=list)
    closes: list[tuple[int | None, str | None]] = field(default_factory=list)
    pong_received: asyncio.Event = field(default_factory=asyncio.Event)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    _server: Any = None

    async def start(self) -> WsServer:
        from websockets.asyncio.server import serve

        self.generation += 1
        self._server = await serve(
            self._handle, "127.0.0.1", self.port, select_subprotocol=_select_subprotocol, compression=None
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def url(self, path: str = "/echo") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def wait_closes(self, count: int, timeout: float = 5.0) -> list[tuple[int | None, str | None]]:
        """Waits until `count` connections have ended (their handlers record the close), then
        returns what they recorded."""
        async with asyncio.timeout(timeout):
            while len(self.closes) < count:
                await asyncio.sleep(0.005)
        return self.closes

    async def _handle(self, ws: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        self.connections += 1
        self.connected.set()
        path = ws.request.path
        try:
            if path == "/greet":
                await ws.send("hello")
            elif path == "/ping":
                waiter = await ws.ping(b"are you there")
                await asyncio.wait_for(waiter, 5)
                self.pong_received.set()
                await ws.send("pong received")
                await ws.pong(b"unsolicited")
                await ws.send("after pong")
            elif path == "/close":
                await ws.send("bye soon")
                await ws.close(4000, "bye")
                return
            elif path == "/drop":
                await ws.send("hello")
                ws.transport.abort()
                return
            elif path == "/silent":
                await ws.wait_closed()
                return
            elif path == "/handshake":
                await ws.send(
                    json.dumps(
                        {
                            "headers": {k.lower(): v for k, v in ws.request.headers.raw_items()},
                            "subprotocol": ws.subprotocol,
                        }
                    )
                )
            elif path == "/generation":
                await ws.send(f"generation {self.generation}")
                await ws.wait_closed()
                return
            elif path == "/record":
                while True:
                    self.received.append(await ws.recv())  # ends with ConnectionClosed
            async for message in ws:
                await ws.send(message)
        except ConnectionClosed:
            pass
        finally:
            self.closes.append((ws.close_code, ws.close_reason))


def _select_subprotocol(connection: Any, offered: Any) -> Any:
    for wanted in ("chat.v2", "chat.v1"):
        if wanted in offered:
            return wanted
    return None


@pytest.fixture
async def http_server():
    server = await HttpServer().start()
    yield server
    await server.stop()


@pytest.fixture
async def ws_server():
    server = await WsServer().start()
    yield server
    await server.stop()
