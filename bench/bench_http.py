"""cru.http against raw httpx, in one process, interleaved rounds:

  * 2,000 sequential GETs to a local keep-alive server through `cru.http.get`, against the same
    through an `httpx.AsyncClient` in Python (reading `.text`, as a plugin reads `resp.body`).
    Target: ratio <= 1.3.
  * 200 concurrent GETs from 200 `cru.spawn`ed tasks, against `asyncio.gather` of 200
    `client.get` calls (the peer's client has the same unbounded pool as ours, so both open the
    same connections). Reported, no target.

The sequential measure alternates the sides in blocks of 200 requests (so a burst of load from
elsewhere hits both alike) and adds each side's blocks up; the best round of each side counts.
The server runs in a child process (a minimal asyncio HTTP/1.1 responder), so its work is not
counted on either side and both sides see the same server."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _table import print_table

from crucible_kernel.runtime import Runtime

SEQUENTIAL = 2_000
BLOCK = 200  # sequential requests per timed block; the sides alternate block by block
CONCURRENT = 200
ROUNDS = 5
BODY = b'{"id":1,"name":"Alice","roles":["admin","dev"],"active":true}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(BODY)).encode()
    + b"\r\nX-Request-Id: abc123\r\n\r\n"
    + BODY
)


# The server (child process)


class _Responder(asyncio.Protocol):
    """Answers every request on a keep-alive connection with RESPONSE (GETs have no body)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        count = self.buffer.count(b"\r\n\r\n")
        if count:
            self.buffer = self.buffer[self.buffer.rfind(b"\r\n\r\n") + 4 :]
            self.transport.write(RESPONSE * count)  # type: ignore[attr-defined]


async def serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Responder, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes our stdin
    server.close()


# The two sides


async def lua_sequential(rt: Runtime, fn: object, url: str) -> float:
    start = time.perf_counter()
    task = await rt.run(fn, BLOCK, url, name="bench")
    elapsed = time.perf_counter() - start
    assert task.state.value == "done", task.error
    assert task.results == (200,), task.results
    return elapsed


async def python_sequential(client: object, url: str) -> float:
    get = client.get  # type: ignore[attr-defined]
    start = time.perf_counter()
    status = 0
    for _ in range(BLOCK):
        response = await get(url)
        response.text  # noqa: B018
        status = response.status_code
    elapsed = time.perf_counter() - start
    assert status == 200
    return elapsed


async def lua_concurrent(rt: Runtime, fn: object, url: str) -> float:
    start = time.perf_counter()
    task = await rt.run(fn, CONCURRENT, url, name="bench")
    elapsed = time.perf_counter() - start
    assert task.state.value == "done", task.error
    assert task.results == (200 * CONCURRENT,), task.results
    return elapsed


async def python_concurrent(client: object, url: str) -> float:
    get = client.get  # type: ignore[attr-defined]

    async def one() -> int:
        response = await get(url)
        response.text  # noqa: B018
        return response.status_code

    start = time.perf_counter()
    statuses = await asyncio.gather(*(one() for _ in range(CONCURRENT)))
    elapsed = time.perf_counter() - start
    assert sum(statuses) == 200 * CONCURRENT
    return elapsed


SEQUENTIAL_LUA = """
local n, url = ...
local get = cru.http.get
local status
for i = 1, n do
  local resp = get(url)
  status = resp.status
end
return status
"""

CONCURRENT_LUA = """
local n, url = ...
local handles = {}
for i = 1, n do
  handles[i] = cru.spawn(function() return cru.http.get(url).status end)
end
local total = 0
for i = 1, n do total = total + handles[i]:wait() end
return total
"""


async def main() -> None:
    import httpx

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None and server.stdin is not None
    url = f"http://127.0.0.1:{server.stdout.readline().strip()}/users/1"
    rt = Runtime()
    sequential_fn = rt.load(SEQUENTIAL_LUA, "=bench")
    concurrent_fn = rt.load(CONCURRENT_LUA, "=bench")
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    try:
        async with httpx.AsyncClient(limits=limits) as client:
            await lua_sequential(rt, sequential_fn, url)  # warm both clients and their pools
            await python_sequential(client, url)
            await lua_concurrent(rt, concurrent_fn, url)
            await python_concurrent(client, url)
            seq_lua, seq_py, con_lua, con_py = [], [], [], []
            for _ in range(ROUNDS):  # interleaved, so both sides see the same machine
                py_total = lua_total = 0.0
                for _ in range(SEQUENTIAL // BLOCK):
                    py_total += await python_sequential(client, url)
                    lua_total += await lua_sequential(rt, sequential_fn, url)
                seq_py.append(py_total)
                seq_lua.append(lua_total)
                con_py.append(await python_concurrent(client, url))
                con_lua.append(await lua_concurrent(rt, concurrent_fn, url))
    finally:
        await rt.aclose()
        server.stdin.close()
        server.wait()
    ours, peer = min(seq_lua), min(seq_py)
    c_ours, c_peer = min(con_lua), min(con_py)
    print_table(
        f"cru.http against raw httpx {httpx.__version__} (local keep-alive server in a child process, "
        f"best of {ROUNDS} interleaved rounds)",
        [
            (
                f"{SEQUENTIAL:,} sequential GETs",
                f"{ours * 1000:.0f} ms ({ours / SEQUENTIAL * 1e6:.0f} us/req)",
                f"{peer * 1000:.0f} ms ({peer / SEQUENTIAL * 1e6:.0f} us/req)",
                f"{ours / peer:.2f}x",
                "<= 1.3",
            ),
            (
                f"{CONCURRENT} concurrent GETs (spawned tasks / gather)",
                f"{c_ours * 1000:.1f} ms",
                f"{c_peer * 1000:.1f} ms",
                f"{c_ours / c_peer:.2f}x",
                "-",
            ),
        ],
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        asyncio.run(serve())
    else:
        asyncio.run(main())
