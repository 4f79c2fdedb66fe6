"""Printing benchmark figures side by side with their peer."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def best_of(runs: int, fn: Callable[[], float]) -> float:
    """The median of `runs` measurements (each a duration in seconds returned by `fn`)."""
    return statistics.median(fn() for _ in range(runs))


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def print_table(title: str, rows: list[tuple[str, str, str, str, str]]) -> None:
    """rows: (measure, ours, peer, ratio, target) as text; a met/missed column is added."""
    header = ("measure", "ours", "peer", "ratio", "target", "")
    widths = [max(len(r[i]) for r in [header[:5], *rows]) for i in range(5)]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(header[:5], widths, strict=True)))
    for row in rows:
        verdict = _verdict(row[3], row[4])
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + "  " + verdict)


def _verdict(ratio: str, target: str) -> str:
    if not target.startswith("<="):
        return ""
    try:
        return "met" if float(ratio.rstrip("x")) <= float(target[2:].strip().rstrip("x")) else "MISSED"
    except ValueError:
        return ""
