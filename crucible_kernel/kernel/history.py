"""The kernel's input history for history_request: this session's cells, in memory."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

SESSION = 1  # one session per kernel process; 0 in a request means "the current one"
MAX_OUTPUT = 10_000  # characters of a cell's result kept for history_request (output=True)


@dataclass
class Entry:
    line: int
    input: str
    output: str | None


class History:
    """Cells in execution order, numbered by their execution count."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []

    def add(self, line: int, code: str) -> None:
        self.entries.append(Entry(line, code, None))

    def set_output(self, line: int, text: str) -> None:
        """Remember the text of cell `line`'s result, cut to MAX_OUTPUT characters: the history
        must not keep a copy of every big value a cell ever showed."""
        if len(text) > MAX_OUTPUT:
            text = text[:MAX_OUTPUT] + f"... ({len(text) - MAX_OUTPUT} more characters)"
        for entry in reversed(self.entries):
            if entry.line == line:
                entry.output = text
                return

    def tail(self, n: int | None) -> list[Entry]:
        return self.entries[-n:] if n else list(self.entries)

    def range(self, session: int | None, start: int | None, stop: int | None) -> list[Entry]:
        if session not in (None, 0, SESSION, -0):
            return []
        lo = start if start is not None else 1
        return [e for e in self.entries if e.line >= lo and (stop is None or e.line < stop)]

    def search(self, pattern: str | None, n: int | None, unique: bool) -> list[Entry]:
        found = [e for e in self.entries if fnmatch.fnmatchcase(e.input, pattern or "*")]
        if unique:
            seen: set[str] = set()
            kept = []
            for e in reversed(found):  # keep the newest of each input
                if e.input not in seen:
                    seen.add(e.input)
                    kept.append(e)
            found = kept[::-1]
        return found[-n:] if n else found

    def reply(self, entries: list[Entry], output: bool) -> list[tuple]:
        if output:
            return [(SESSION, e.line, (e.input, e.output)) for e in entries]
        return [(SESSION, e.line, e.input) for e in entries]
