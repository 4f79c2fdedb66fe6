"""The task driver: awaits per second through cru.timer.sleep(0) in Lua against
`await asyncio.sleep(0)` in Python, in one process. Target: ratio <= 2."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _table import print_table

from crucible_kernel.runtime import Runtime

N = 200_000
ROUNDS = 5


async def python_side() -> float:
    start = time.perf_counter()
    for _ in range(N):
        await asyncio.sleep(0)
    return time.perf_counter() - start


async def lua_side(rt: Runtime, fn: object) -> float:
    start = time.perf_counter()
    task = await rt.run(fn, N, name="bench")
    elapsed = time.perf_counter() - start
    assert task.state.value == "done", task.error
    return elapsed


async def main() -> None:
    rt = Runtime()
    fn = rt.load("local n = ... local sleep = cru.timer.sleep for i = 1, n do sleep(0) end", "=bench")
    py, lua = [], []
    for _ in range(ROUNDS):  # interleaved, so both sides see the same machine
        py.append(await python_side())
        lua.append(await lua_side(rt, fn))
    py_rate, lua_rate = N / min(py), N / min(lua)
    print_table(
        f"Driver round trips ({N:,} awaits, best of {ROUNDS} interleaved rounds)",
        [
            (
                "awaits per second",
                f"{lua_rate:,.0f}/s ({1e6 / lua_rate:.2f} us)",
                f"{py_rate:,.0f}/s ({1e6 / py_rate:.2f} us)",
                f"{py_rate / lua_rate:.2f}x",
                "<= 2",
            )
        ],
    )


if __name__ == "__main__":
    asyncio.run(main())
