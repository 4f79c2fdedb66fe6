"""Listening to what Lua writes: print, io.write, io.stderr and cru.log, as it is written.

The host gets the text first; then each listener is called with (stream, text) in the context of
the code that wrote it, so a listener can tell whose output it is from the context variables
(the owner in owners.py, the service a supervisor marks its tasks with). `stream` is "stdout",
"stderr" or "log:<level>". Listeners must be cheap and must not raise.

    output.of(rt).listeners.append(lambda stream, text: ...)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .owners import registrations

if TYPE_CHECKING:
    from .engine import Runtime

__all__ = ["Output", "of"]


class Output:
    """The output listeners of one runtime."""

    def __init__(self) -> None:
        self.listeners: list[Callable[[str, str], None]] = []

    def wrote(self, stream: str, data: bytes | str) -> None:
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        for listener in self.listeners:
            listener(stream, text)


def of(rt: Runtime) -> Output:
    """The output listeners of runtime `rt` (made on first use)."""
    regs = registrations(rt)
    try:
        return regs.get("output", Output)
    except KeyError:
        output = Output()
        regs.add("output", output, owned=False)
        return output
