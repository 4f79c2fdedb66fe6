"""Local servers for the session providers' tests.

ChatServer: an OpenAI-compatible chat-completions endpoint on 127.0.0.1 (POST
/v1/chat/completions), streaming server-sent events over chunked HTTP/1.1. What it does depends
on the requested model:

    "chunks"    streams CHUNKS as content deltas (a reasoning delta first), then usage, then [DONE]
    "stall"     streams two deltas, then sends nothing more (the client must time out)
    "drop"      streams two deltas, then breaks the connection mid-chunk
    anything    answers non-streaming requests with {"choices": [{"message": {"content": "done"}}]}

A request without `Authorization: Bearer test-key` gets a 401 with an OpenAI-style error body.
Every request body is kept in `requests`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

__all__ = ["CHUNKS", "KEY", "ChatServer", "chat_server"]

KEY = "test-key"
CHUNKS = ["Crucible ", "is ", "a ", "knowledge ", "tool."]


@dataclass
class ChatServer:
    port: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    _server: asyncio.Server | None = None
    _handlers: set[asyncio.Task[None]] = field(default_factory=set)

    async def start(self) -> ChatServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            await self._answer(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self._handlers.discard(task)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readline()  # request line
        headers = {}
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        body = json.loads(await reader.readexactly(int(headers.get("content-length", 0))))
        self.requests.append(body)
        if headers.get("authorization") != f"Bearer {KEY}":
            payload = json.dumps(
                {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}
            )
            writer.write(
                b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n{payload}".encode()
            )
            await writer.drain()
            return
        if not body.get("stream"):
            payload = json.dumps({"choices": [{"message": {"role": "assistant", "content": "done"}}]})
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n{payload}".encode()
            )
            await writer.drain()
            return
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n"
            b"Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
        )
        model = body.get("model")

        async def send(data: str) -> None:
            event = f"data: {data}\n\n".encode()
            writer.write(f"{len(event):x}\r\n".encode() + event + b"\r\n")
            await writer.drain()
            await asyncio.sleep(0.005)

        def delta(**fields: Any) -> str:
            return json.dumps({"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": fields}]})

        if model == "chunks":
            await send(delta(role="assistant", reasoning_content="The user asks about Crucible."))
            for chunk in CHUNKS:
                await send(delta(content=chunk))
            await send(
                json.dumps(
                    {"choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14}}
                )
            )
            await send("[DONE]")
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        elif model in ("stall", "drop"):
            await send(delta(content="partial "))
            await send(delta(content="answer "))
            if model == "stall":
                await reader.read()  # until the client goes away
            else:
                writer.write(b'40\r\ndata: {"choi')  # half a chunk, then the connection breaks
                await writer.drain()
                writer.transport.abort()


@pytest.fixture
async def chat_server():
    server = await ChatServer().start()
    yield server
    await server.stop()
