"""A small chat gateway on 127.0.0.1, for notebooks/chatbot.ipynb: WebSocket text frames of
JSON, a little like Discord's gateway (standard library only, so any python3 runs it).

    python3 chat_gateway.py        prints "listening on PORT (pid PID)" once it accepts connections

The protocol, one JSON object per text frame:
    gateway -> client   {"op": "hello"}                              on connect
    client -> gateway   {"op": "identify", "name": "ada"}
    gateway -> client   {"op": "ready", "name": "ada", "channels": ["general"]}
    client -> gateway   {"op": "post", "channel": "general", "content": "hi"}
    gateway -> all      {"op": "message", "id": 7, "channel": "general", "author": "ada", "content": "hi"}
Every identified client gets every message, its own too (a bot must skip those). Anything else
gets {"op": "error", "error": "..."}. It prints a line for each join, message and leave.

It stops on SIGINT (what cru.shell sends when the task running it is cancelled or interrupted)
and when the process that started it goes away, so nothing is left running. Only what a
WebSocket client library sends is understood: unfragmented frames, no extensions.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import struct
import sys

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455, 1.3
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


class Client:
    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.name: str | None = None

    async def send(self, message: dict) -> None:
        self.writer.write(frame(TEXT, json.dumps(message).encode()))
        await self.writer.drain()


clients: set[Client] = set()
next_id = 0


def frame(opcode: int, payload: bytes) -> bytes:
    """A final, unmasked frame (servers never mask)."""
    n = len(payload)
    if n < 126:
        length = bytes([n])
    elif n < 1 << 16:
        length = bytes([126]) + struct.pack("!H", n)
    else:
        length = bytes([127]) + struct.pack("!Q", n)
    return bytes([0x80 | opcode]) + length + payload


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    first, second = await reader.readexactly(2)
    length = second & 0x7F
    if length == 126:
        (length,) = struct.unpack("!H", await reader.readexactly(2))
    elif length == 127:
        (length,) = struct.unpack("!Q", await reader.readexactly(8))
    mask = await reader.readexactly(4) if second & 0x80 else b"\0\0\0\0"
    data = bytes(b ^ mask[i % 4] for i, b in enumerate(await reader.readexactly(length)))
    return first & 0x0F, data


async def handshake(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    request = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
    headers = {}
    for line in request.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    key = headers.get("sec-websocket-key")
    if not key:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        return False
    accept = base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()
    writer.write(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + f"Sec-WebSocket-Accept: {accept}\r\n\r\n".encode()
    )
    await writer.drain()
    return True


async def handle(client: Client, message: dict) -> None:
    global next_id
    op = message.get("op")
    if op == "identify" and isinstance(message.get("name"), str):
        client.name = message["name"]
        print(f"{client.name} joined", flush=True)
        await client.send({"op": "ready", "name": client.name, "channels": ["general"]})
    elif op == "post" and client.name is not None:
        next_id += 1
        out = {
            "op": "message",
            "id": next_id,
            "channel": message.get("channel") or "general",
            "author": client.name,
            "content": str(message.get("content", "")),
        }
        print(f"{client.name}: {out['content']}", flush=True)
        for other in list(clients):
            if other.name is not None:
                await other.send(out)
    else:
        what = repr(op) if isinstance(op, str) else "that"
        await client.send({"op": "error", "error": f"cannot do {what} here (identify first, then post)"})


async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    client = Client(writer)
    try:
        if not await handshake(reader, writer):
            return
        clients.add(client)
        await client.send({"op": "hello"})
        while True:
            opcode, data = await read_frame(reader)
            if opcode == CLOSE:
                writer.write(frame(CLOSE, data[:2]))
                await writer.drain()
                return
            if opcode == PING:
                writer.write(frame(PONG, data))
            elif opcode == TEXT:
                try:
                    message = json.loads(data)
                except ValueError:
                    message = {}
                await handle(client, message if isinstance(message, dict) else {})
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        clients.discard(client)
        if client.name is not None:
            print(f"{client.name} left", flush=True)
        writer.close()


async def main() -> None:
    server = await asyncio.start_server(connection, "127.0.0.1", 0)
    print(f"listening on {server.sockets[0].getsockname()[1]} (pid {os.getpid()})", flush=True)
    parent = os.getppid()
    async with server:
        while os.getppid() == parent:  # the kernel that started us is gone: stop too
            await asyncio.sleep(0.5)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
