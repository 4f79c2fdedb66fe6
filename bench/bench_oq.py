"""cru.oq.query against the jq package called from Python, on the same ~1 MB document.

    .venv/bin/python bench/bench_oq.py [--records N] [--rounds N]

The document is bench_json's (a few thousand mixed records). The peer gives jq the document
as Python data (`jq.compile(f).input_value(doc).all()`); our side runs `oq.query(DOC, f)` in a
real Runtime, as a task, on the decoded Lua table: encode it, run jq, decode the results into
Lua. Each figure is the best CPU time of several rounds, the sides taking turns; the ratio is
ours over the peer's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import jq

sys.path.insert(0, str(Path(__file__).parent))
from _table import print_table
from bench_json import build, dumps

from crucible_kernel.runtime import Runtime, TaskState

TARGET = 1.5

FILTERS = [
    ("one number", ".records | length"),
    ("a few values", "[.records[] | select(.meta.ratio > 0.99) | .id]"),
    ("a large result", "[.records[] | {id, name, active}]"),
]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=2700, help="records in the document")
    parser.add_argument("--rounds", type=int, default=10, help="rounds per figure (best is kept)")
    args = parser.parse_args()

    doc = build(args.records)
    text = dumps(doc).encode()
    rt = Runtime()
    setup = await rt.run(rt.load(b"DOC = cru.json.decode(...)", "=setup"), text, name="setup")
    assert setup.state is TaskState.DONE, setup.error

    rows = []
    for label, program in FILTERS:
        fn = rt.load(b"return cru.json.encode(oq.query(DOC, ...))", "=bench")
        check = await rt.run(fn, program.encode(), name="check")
        assert check.state is TaskState.DONE, check.error
        assert json.loads(check.results[0]) == _one_or_many(jq.compile(program).input_value(doc).all())
        query = rt.load(b"local r = oq.query(DOC, ...) return nil", "=bench")

        async def ours(query: Any = query, program: str = program) -> None:
            task = await rt.run(query, program.encode(), name="bench")
            assert task.state is TaskState.DONE, task.error

        def peer(program: str = program) -> None:
            jq.compile(program).input_value(doc).all()

        best_ours = best_peer = float("inf")
        for _ in range(args.rounds):
            start = time.process_time()
            await ours()
            best_ours = min(best_ours, time.process_time() - start)
            start = time.process_time()
            peer()
            best_peer = min(best_peer, time.process_time() - start)
        rows.append(
            (
                f"query: {label}",
                f"{best_ours * 1000:.1f} ms",
                f"{best_peer * 1000:.1f} ms",
                f"{best_ours / best_peer:.2f}x",
                f"<= {TARGET:g}x",
            )
        )
    await rt.aclose()
    print_table(
        f"cru.oq.query vs jq from Python: {len(text) / 1e6:.2f} MB, {args.records} records, "
        f"best CPU time of {args.rounds}",
        rows,
    )


def _one_or_many(results: list[Any]) -> Any:
    return results[0] if len(results) == 1 else results


if __name__ == "__main__":
    asyncio.run(main())
