"""Agent sessions, two measures.

1. 100,000 text_delta events from the echo agent (no delay) read in Lua with
   cru.sessions.subscribe / next_event, against the same events through a plain asyncio.Queue
   read by Python, in the same process, best of 5 interleaved rounds. Target: >= 100,000
   events/s. Peak memory of each side is measured in separate runs under tracemalloc (Python
   allocations; for our side also the Lua heap, sampled every 1,000 events).

2. In the kernel, the same stream shown live (`send_message` + `cru.sessions.watch`): time from
   the view's first display to its first update message (an upper bound of first event to first
   update: the display goes out before the first event; target <= 50 ms), the number of update
   messages, and the total time. Peer: the stock IPython kernel streaming the same events from
   an asyncio producer into a display handle updated at most 30 times a second.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _jupyter import kernel, temporary_jupyter
from _table import print_table

from crucible_kernel.runtime import Runtime
from crucible_kernel.sessions import SessionService, install

EVENTS = 100_000
ROUNDS = 5
YIELD_EVERY = 64  # as the echo agent with no delay

LUA = """
local n, sample = ...
local s = assert(cru.sessions.create({provider = "echo", delay = 0, replies = {string.rep("w ", n)}}))
local next_event = cru.sessions.subscribe(s.id)
local count, peak = 0, 0
local t0 = cru.timer.clock()
assert(cru.sessions.send_message(s.id, "go"))
while true do
  local e = next_event()
  if e.type == "text_delta" then
    count = count + 1
    if sample and count % 1000 == 0 then peak = math.max(peak, collectgarbage("count")) end
  elseif e.type == "message_complete" then
    break
  end
end
local elapsed = cru.timer.clock() - t0
cru.sessions.end_session(s.id)
return count, elapsed, peak * 1024
"""


async def lua_side(sample: bool = False) -> tuple[float, float]:
    rt = Runtime()
    service = SessionService()
    install(rt, service)
    task = await rt.run(rt.load(LUA, "=bench"), EVENTS, sample, name="bench")
    await rt.aclose()
    await service.aclose()
    assert task.error is None, task.error and task.error.traceback
    count, elapsed, lua_peak = task.results
    assert count == EVENTS, count
    return elapsed, lua_peak


async def queue_side() -> float:
    queue: asyncio.Queue[tuple[str, dict[str, str]] | None] = asyncio.Queue()

    async def produce() -> None:
        for i in range(EVENTS):
            queue.put_nowait(("text_delta", {"content": "w "}))
            if i % YIELD_EVERY == YIELD_EVERY - 1:
                await asyncio.sleep(0)
        queue.put_nowait(None)

    start = time.perf_counter()
    producer = asyncio.ensure_future(produce())
    count = 0
    while (event := await queue.get()) is not None:
        if event[0] == "text_delta":
            count += 1
    elapsed = time.perf_counter() - start
    await producer
    assert count == EVENTS
    return elapsed


async def peak_of(coro_fn) -> tuple[int, object]:
    tracemalloc.start()
    try:
        result = await coro_fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, result


async def in_process() -> list[tuple[str, str, str, str, str]]:
    await lua_side()  # warm up
    await queue_side()
    ours, peer = [], []
    for _ in range(ROUNDS):
        peer.append(await queue_side())
        ours.append((await lua_side())[0])
    best, best_peer = min(ours), min(peer)
    py_peak, (_, lua_peak) = await peak_of(lambda: lua_side(sample=True))
    peer_peak, _ = await peak_of(queue_side)

    def mib(n: float) -> str:
        return f"{n / 2**20:.2f} MiB"

    return [
        (
            f"{EVENTS:,} text_delta events",
            f"{EVENTS / best:,.0f} events/s",
            f"{EVENTS / best_peer:,.0f} events/s",
            f"{best / best_peer:.2f}x",
            ">= 100,000 events/s: " + ("met" if EVENTS / best >= 100_000 else "MISSED"),
        ),
        (
            "peak memory",
            f"{mib(py_peak)} Python + {mib(lua_peak)} Lua",
            f"{mib(peer_peak)} Python",
            f"{(py_peak + lua_peak) / peer_peak:.2f}x",
            "",
        ),
    ]


# In the kernel ---------------------------------------------------------------------------------

KERNEL_CELLS = {
    "crucible-lua": (
        f's = cru.sessions.create({{provider = "echo", delay = 0, '
        f'replies = {{string.rep("w ", {EVENTS})}}}})',
        'cru.sessions.send_message(s.id, "go") cru.sessions.watch(s.id);',
    ),
    "python3": (
        "import asyncio, time\nfrom IPython.display import Markdown, display",
        f"""
queue = asyncio.Queue()
async def produce():
    for i in range({EVENTS}):
        queue.put_nowait(("text_delta", {{"content": "w "}}))
        if i % {YIELD_EVERY} == {YIELD_EVERY - 1}:
            await asyncio.sleep(0)
    queue.put_nowait(None)
handle = display(Markdown("*...*"), display_id=True)
producer = asyncio.ensure_future(produce())
parts, last = [], time.monotonic()
while (event := await queue.get()) is not None:
    parts.append(event[1]["content"])
    if time.monotonic() - last >= 1 / 30:
        handle.update(Markdown("".join(parts)))
        last = time.monotonic()
handle.update(Markdown("".join(parts)))
""",
    ),
}


def kernel_run(name: str) -> tuple[float, int, float]:
    """(display to first update, update count, execute to idle) for the streaming cell."""
    with kernel(name) as kc:
        setup, cell = KERNEL_CELLS[name]
        kc.execute_interactive(setup, timeout=60, output_hook=lambda m: None)
        start = time.perf_counter()
        msg_id = kc.execute(cell)
        shown = first = None
        updates = 0
        while True:
            msg = kc.get_iopub_msg(timeout=120)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            kind = msg["msg_type"]
            if kind == "display_data" and shown is None:
                shown = time.perf_counter()
            elif kind == "update_display_data":
                updates += 1
                if first is None:
                    first = time.perf_counter()
            elif kind == "error":
                raise RuntimeError(f"{name}: {msg['content']['evalue']}")
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                total = time.perf_counter() - start
                break
        assert shown is not None and first is not None
        return first - shown, updates, total


def in_kernel() -> list[tuple[str, str, str, str, str]]:
    temporary_jupyter()
    ours = [kernel_run("crucible-lua") for _ in range(3)]
    peer = [kernel_run("python3") for _ in range(3)]
    latency, p_latency = statistics.median(r[0] for r in ours), statistics.median(r[0] for r in peer)
    updates, p_updates = statistics.median(r[1] for r in ours), statistics.median(r[1] for r in peer)
    total, p_total = statistics.median(r[2] for r in ours), statistics.median(r[2] for r in peer)
    return [
        (
            "view shown -> first update",
            f"{latency * 1000:.1f} ms",
            f"{p_latency * 1000:.1f} ms",
            f"{latency / p_latency:.2f}x",
            "ours <= 50 ms: " + ("met" if latency <= 0.05 else "MISSED"),
        ),
        ("update messages", f"{updates:.0f}", f"{p_updates:.0f}", f"{updates / p_updates:.2f}x", ""),
        (
            "execute -> idle",
            f"{total * 1000:.0f} ms",
            f"{p_total * 1000:.0f} ms",
            f"{total / p_total:.2f}x",
            "",
        ),
    ]


def main() -> None:
    print_table(
        f"cru.sessions: {EVENTS:,} events through subscribe/next_event in Lua, against an asyncio.Queue "
        f"read by Python (best of {ROUNDS} interleaved rounds)",
        asyncio.run(in_process()),
    )
    print_table(
        "The same stream shown live in the kernel, against the IPython kernel (median of 3 runs each)",
        in_kernel(),
    )


if __name__ == "__main__":
    main()
