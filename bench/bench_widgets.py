"""A displayed rate limiter against the same limiter undisplayed, in the real kernel, same run:

- 100,000 try_acquire in one cell, execute_request to idle (median of 15, interleaved);
  target ratio <= 1.2;
- updates a second that a displayed limiter sends while a task hammers it for 3 s (from the
  kernel's send times: updates after the first, over the time from the first to the last),
  beside the calls a second it took (what a widget sending one update per change would
  send); target <= 10 a second.

The crucible-lua kernelspec is installed into a temporary Jupyter path for the run.
"""

from __future__ import annotations

import datetime
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _jupyter import execute, kernel, model_id, temporary_jupyter
from _table import print_table

temporary_jupyter()

RUNS = 15
CALLS = 100_000
LOAD_SECONDS = 3.0


def main() -> None:
    with kernel() as kc:
        # Both limiters refill fast enough that about half the calls are granted.
        execute(kc, "plain = cru.ratelimit.new{capacity = 100, interval = 0.00001}")
        _, shown = execute(kc, "shown = cru.ratelimit.new{capacity = 100, interval = 0.00001}\nshown")
        comm_id = model_id(shown)
        loop = f"for i = 1, {CALLS} do {{}}:try_acquire() end"
        times: dict[str, list[float]] = {"shown": [], "plain": []}
        for name in ("shown", "plain"):  # warm up
            execute(kc, loop.replace("{}", name))
        for _ in range(RUNS):
            for name in ("shown", "plain"):
                times[name].append(execute(kc, loop.replace("{}", name))[0])

        # Load: a task calls try_acquire as fast as it can (yielding to the loop between
        # batches) for LOAD_SECONDS; count the updates the widget sends meanwhile.
        execute(
            kc,
            f"""
            calls = 0
            cru.spawn(function()
              local t0 = cru.timer.clock()
              while cru.timer.clock() - t0 < {LOAD_SECONDS} do
                for i = 1, 1000 do shown:try_acquire() end
                calls = calls + 1000
                cru.timer.sleep(0)
              end
            end)
            """,
        )
        sent: list[datetime.datetime] = []
        began = time.monotonic()
        while time.monotonic() - began < LOAD_SECONDS + 0.5:
            try:
                msg = kc.get_iopub_msg(timeout=0.2)
            except Exception:
                continue
            content = msg["content"]
            ours = msg["msg_type"] == "comm_msg" and content.get("comm_id") == comm_id
            if ours and content["data"].get("method") == "update":
                sent.append(msg["header"]["date"])
        time.sleep(0.3)
        _, messages = execute(kc, "print(calls)")
        calls = int(next(m["content"]["text"] for m in messages if m["msg_type"] == "stream"))

    t_shown, t_plain = statistics.median(times["shown"]), statistics.median(times["plain"])
    span = (sent[-1] - sent[0]).total_seconds()
    per_s = (len(sent) - 1) / span
    calls_per_s = calls / LOAD_SECONDS
    print_table(
        "A displayed rate limiter against the same limiter undisplayed (same kernel, same run)",
        [
            (
                f"{CALLS:,} try_acquire, cell to idle (median of {RUNS})",
                f"{t_shown * 1000:.1f} ms",
                f"{t_plain * 1000:.1f} ms",
                f"{t_shown / t_plain:.2f}x",
                "<= 1.2",
            ),
            (
                f"updates a second under load ({len(sent)} in {span:.1f} s); peer: calls a second",
                f"{per_s:.1f}/s",
                f"{calls_per_s:,.0f}/s",
                f"{per_s:.1f}",
                "<= 10",
            ),
        ],
    )


if __name__ == "__main__":
    main()
