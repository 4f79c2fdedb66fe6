"""The kernel against the stock IPython kernel (python3), in the same run:

- start to kernel_info_reply (median of 15, interleaved);           target ratio <= 1.0
- trivial cell round trip, execute_request to idle (median of 200); target ratio <= 1.0
- 100,000 prints in one cell: time to the reply and stream messages (no target).

The crucible-lua kernelspec is installed into a temporary Jupyter path for the run.
"""

from __future__ import annotations

import queue
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _jupyter import temporary_jupyter
from _table import print_table

temporary_jupyter()

from jupyter_client.manager import KernelManager  # noqa: E402

KERNELS = {"crucible-lua": "local x = 1", "python3": "pass"}
PRINTS = {"crucible-lua": "for i = 1, 100000 do print(i) end", "python3": "for i in range(100000): print(i)"}
STARTS, ROUND_TRIPS, WARMUP = 15, 200, 20


def start(name: str) -> tuple[KernelManager, object, float]:
    began = time.perf_counter()
    km = KernelManager(kernel_name=name)
    km.start_kernel()
    kc = km.blocking_client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)  # sends kernel_info_request until the reply comes
    return km, kc, time.perf_counter() - began


def stop(km: KernelManager, kc: object) -> None:
    kc.stop_channels()  # type: ignore[attr-defined]
    km.shutdown_kernel(now=True)


def run_to_idle(kc: object, code: str) -> tuple[float, int]:
    """Seconds from execute_request to idle, and how many stream messages came."""
    began = time.perf_counter()
    msg_id = kc.execute(code)  # type: ignore[attr-defined]
    streams = 0
    while True:
        msg = kc.get_iopub_msg(timeout=120)  # type: ignore[attr-defined]
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            streams += 1
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            elapsed = time.perf_counter() - began
            break
    kc.get_shell_msg(timeout=120)  # type: ignore[attr-defined]
    return elapsed, streams


def drain(kc: object) -> None:
    try:
        while True:
            kc.get_iopub_msg(timeout=0.2)  # type: ignore[attr-defined]
    except queue.Empty:
        pass


def main() -> None:
    startup: dict[str, list[float]] = {name: [] for name in KERNELS}
    for _ in range(STARTS):
        for name in KERNELS:
            km, kc, elapsed = start(name)
            startup[name].append(elapsed)
            stop(km, kc)
            time.sleep(0.2)

    trips: dict[str, float] = {}
    prints: dict[str, tuple[float, int]] = {}
    for name, code in KERNELS.items():
        km, kc, _ = start(name)
        drain(kc)
        for _ in range(WARMUP):
            run_to_idle(kc, code)
        trips[name] = statistics.median(run_to_idle(kc, code)[0] for _ in range(ROUND_TRIPS))
        prints[name] = run_to_idle(kc, PRINTS[name])
        stop(km, kc)

    ours, peer = "crucible-lua", "python3"
    s_ours, s_peer = statistics.median(startup[ours]), statistics.median(startup[peer])
    print_table(
        "Kernel against the stock IPython kernel (same run)",
        [
            (
                "start to kernel_info_reply (median of 15)",
                f"{s_ours * 1000:.0f} ms",
                f"{s_peer * 1000:.0f} ms",
                f"{s_ours / s_peer:.2f}x",
                "<= 1.0",
            ),
            (
                "trivial cell to idle (median of 200)",
                f"{trips[ours] * 1000:.2f} ms",
                f"{trips[peer] * 1000:.2f} ms",
                f"{trips[ours] / trips[peer]:.2f}x",
                "<= 1.0",
            ),
            (
                "100,000 prints: time to reply",
                f"{prints[ours][0]:.3f} s",
                f"{prints[peer][0]:.3f} s",
                f"{prints[ours][0] / prints[peer][0]:.2f}x",
                "",
            ),
            ("100,000 prints: stream messages", str(prints[ours][1]), str(prints[peer][1]), "", ""),
        ],
    )


if __name__ == "__main__":
    main()
