"""A chatty service with the services panel shown against the same service with no panel, in two
real kernels of the same run:

- a cru.service printing 20,000 lines, started and waited for in one cell, execute_request to
  idle (median of 11, the two kernels interleaved); the panel hears of every line and rewrites
  its rows at most 10 times a second; target ratio <= 1.2;
- updates a second that the panel sends while a service prints for 3 s (from the kernel's send
  times), beside the lines a second the service printed (what a panel writing on every change
  would send); target <= 10 a second.

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

RUNS = 11
LINES = 20_000
LOAD_SECONDS = 3.0

DEFINE = """
chatty = cru.service.define{name = "chatty", desc = "prints", start = function()
  for i = 1, @LINES@ do print("line " .. i) end
end}
steady = cru.service.define{name = "steady", desc = "prints for a while", start = function()
  local t0 = cru.timer.clock()
  printed = 0
  while cru.timer.clock() - t0 < @SECONDS@ do
    for i = 1, 100 do print("tick " .. i) end
    printed = printed + 100
    cru.timer.sleep(0)
  end
end}
"""
RUN = "cru.spawn(chatty.fn):wait()"


def main() -> None:
    with kernel() as shown_kc, kernel() as none_kc:
        kernels = {"shown": shown_kc, "none": none_kc}
        for kc in kernels.values():
            execute(kc, DEFINE.replace("@LINES@", str(LINES)).replace("@SECONDS@", str(LOAD_SECONDS)))
        _, shown = execute(kernels["shown"], "%services")
        comm_id = model_id(shown)
        times: dict[str, list[float]] = {"shown": [], "none": []}
        for name in times:  # warm up
            execute(kernels[name], RUN)
        for _ in range(RUNS):
            for name in times:
                times[name].append(execute(kernels[name], RUN)[0])

        kc = kernels["shown"]
        execute(kc, "cru.spawn(steady.fn)")
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
        _, messages = execute(kc, "io.write(printed)")
        printed = int("".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream"))

    t_shown, t_none = statistics.median(times["shown"]), statistics.median(times["none"])
    span = (sent[-1] - sent[0]).total_seconds()
    per_s = (len(sent) - 1) / span
    print_table(
        "A service printing with the services panel shown against no panel (two kernels, same run)",
        [
            (
                f"a service printing {LINES:,} lines, cell to idle (median of {RUNS})",
                f"{t_shown * 1000:.1f} ms",
                f"{t_none * 1000:.1f} ms",
                f"{t_shown / t_none:.2f}x",
                "<= 1.2",
            ),
            (
                f"panel updates a second while printing ({len(sent)} in {span:.1f} s); peer: lines a second",
                f"{per_s:.1f}/s",
                f"{printed / LOAD_SECONDS:,.0f}/s",
                f"{per_s:.1f}",
                "<= 10",
            ),
        ],
    )


if __name__ == "__main__":
    main()
