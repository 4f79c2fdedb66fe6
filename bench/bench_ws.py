"""cru.ws against the raw websockets asyncio client, in one process, interleaved rounds:
10,000 echo round trips (send a small JSON text, receive its echo) through `ws:send` /
`ws:receive()`, against `await ws.send` / `await ws.recv()` in Python. Target: ratio <= 1.3.

Each round times both sides in alternating blocks of 1,000 round trips (so a burst of load from
elsewhere hits both alike) and adds each side's blocks up; the best round of each side counts.

The echo server runs in a child process (websockets' asyncio server), so its work is not counted
on either side. Both clients are set up alike (no compression, no keepalive pings)."""

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

ROUND_TRIPS = 10_000
BLOCK = 1_000  # round trips per timed block; the sides alternate block by block
ROUNDS = 5
MESSAGE = '{"op":1,"d":251,"s":null,"t":null}'

# The server (child process)


async def serve() -> None:
    from websockets.asyncio.server import serve as ws_serve

    async def echo(ws: object) -> None:
        async for message in ws:  # type: ignore[attr-defined]
            await ws.send(message)  # type: ignore[attr-defined]

    async with ws_serve(echo, "127.0.0.1", 0, compression=None, ping_interval=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until stdin closes


# The two sides

LUA = """
local ws, n, message = ...
for i = 1, n do
  ws:send(message)
  local msg = ws:receive()
  if msg.data ~= message then error("wrong echo: " .. tostring(msg.data)) end
end
"""


async def lua_side(rt: Runtime, fn: object, ws: object) -> float:
    start = time.perf_counter()
    task = await rt.run(fn, ws, BLOCK, MESSAGE, name="bench")
    elapsed = time.perf_counter() - start
    assert task.state.value == "done", task.error
    return elapsed


async def python_side(ws: object) -> float:
    send, recv = ws.send, ws.recv  # type: ignore[attr-defined]
    start = time.perf_counter()
    for _ in range(BLOCK):
        await send(MESSAGE)
        if await recv() != MESSAGE:
            raise AssertionError("wrong echo")
    return time.perf_counter() - start


async def main() -> None:
    import websockets
    from websockets.asyncio.client import connect

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert server.stdout is not None and server.stdin is not None
    url = f"ws://127.0.0.1:{server.stdout.readline().strip()}/"
    rt = Runtime()
    task = await rt.run(rt.load("return cru.ws.connect(...)", "=connect"), url, name="connect")
    assert task.state.value == "done", task.error
    (lua_ws,) = task.results
    fn = rt.load(LUA, "=bench")
    ours, peer = [], []
    try:
        async with connect(url, compression=None, ping_interval=None) as ws:
            await lua_side(rt, fn, lua_ws)  # warm up
            await python_side(ws)
            for _ in range(ROUNDS):  # interleaved, so both sides see the same machine
                peer_total = ours_total = 0.0
                for _ in range(ROUND_TRIPS // BLOCK):
                    peer_total += await python_side(ws)
                    ours_total += await lua_side(rt, fn, lua_ws)
                peer.append(peer_total)
                ours.append(ours_total)
    finally:
        await rt.aclose()
        server.stdin.close()
        server.wait()
    best, best_peer = min(ours), min(peer)
    print_table(
        f"cru.ws against raw websockets {websockets.__version__} (echo server in a child process, "
        f"best of {ROUNDS} interleaved rounds)",
        [
            (
                f"{ROUND_TRIPS:,} echo round trips",
                f"{best * 1000:.0f} ms ({best / ROUND_TRIPS * 1e6:.0f} us/trip)",
                f"{best_peer * 1000:.0f} ms ({best_peer / ROUND_TRIPS * 1e6:.0f} us/trip)",
                f"{best / best_peer:.2f}x",
                "<= 1.3",
            )
        ],
    )


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        asyncio.run(serve())
    else:
        asyncio.run(main())
