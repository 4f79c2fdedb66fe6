"""10,000 spawned tasks that each sleep 1 s: wall time and peak memory, against 10,000 asyncio
tasks in Python doing the same. Targets: <= 1.5 s wall, <= 300 MB peak (whole process).

Each side runs in a fresh process so that its peak RSS is its own."""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _table import print_table  # noqa: E402

N = 10_000


async def lua_side() -> float:
    from crucible_kernel.runtime import Runtime

    rt = Runtime()
    fn = rt.load("local n = ... for i = 1, n do cru.spawn(function() cru.timer.sleep(1) end) end", "=bench")
    start = time.perf_counter()
    task = await rt.run(fn, N, name="bench")
    assert task.state.value == "done", task.error
    await rt.wait_tasks()
    return time.perf_counter() - start


async def python_side() -> float:
    start = time.perf_counter()
    await asyncio.gather(*(asyncio.sleep(1) for _ in range(N)))
    return time.perf_counter() - start


def child(side: str) -> None:
    wall = asyncio.run(lua_side() if side == "lua" else python_side())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"wall": wall, "peak_mb": peak_mb}))


def measure(side: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, side], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def main() -> None:
    lua, py = measure("lua"), measure("python")
    print_table(
        f"{N:,} tasks sleeping 1 s each (fresh process per side)",
        [
            (
                "wall time",
                f"{lua['wall']:.3f} s",
                f"{py['wall']:.3f} s",
                f"{lua['wall'] / py['wall']:.2f}x",
                "<= 1.5 s",
            ),
            (
                "peak RSS",
                f"{lua['peak_mb']:.0f} MB",
                f"{py['peak_mb']:.0f} MB",
                f"{lua['peak_mb'] / py['peak_mb']:.2f}x",
                "<= 300 MB",
            ),
        ],
    )
    print(
        f"targets: wall {'met' if lua['wall'] <= 1.5 else 'MISSED'}, "
        f"memory {'met' if lua['peak_mb'] <= 300 else 'MISSED'}"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1:
        child(sys.argv[1])
    else:
        main()
