"""Errors that leave the runtime, and the cleaning of Lua tracebacks.

Exception tree::

    RuntimeFailure
    ├── LuaError            a Lua chunk or task raised (message + cleaned traceback)
    │   └── LuaSyntaxError  a chunk failed to compile
    ├── ApiError            raised by native code on purpose; Lua sees its message verbatim
    └── Stopped             raised by native code to stop the calling task (an interrupt that
                            ended a wait): Lua sees the stop, which pcall cannot catch
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "LuaError",
    "LuaSyntaxError",
    "RuntimeFailure",
    "Stopped",
    "clean_traceback",
    "describe",
]

# Chunks of the runtime itself are named "=crucible/<file>"; Lua shows them as "crucible/<file>".
INTERNAL_SOURCE = "crucible/"
_RAW_UPVALUE = "[C]: in upvalue 'raw_"  # the prelude's copies of pcall, xpcall, error


class RuntimeFailure(Exception):
    """Base of the runtime's own exceptions."""


class LuaError(RuntimeFailure):
    """Raised when Lua code fails: `message` is the error, `traceback` the cleaned Lua stack."""

    def __init__(self, message: str, traceback: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.traceback = traceback or message


class LuaSyntaxError(LuaError):
    """Raised when a chunk does not compile."""


class ApiError(RuntimeFailure):
    """Raised by native code for a failure the user should read as it is (no Python type name)."""


class Stopped(RuntimeFailure):
    """Raised by a native to stop the Lua task that awaited it, as an interrupt would.

    `kind` is "interrupted", "cancelled" or "exit" (then `code` is os.exit's argument). A wait
    must never turn an interrupt into a value the Lua code could ignore; this is how it passes
    one on (an inner task of cru.timer.timeout that an interrupt stopped, a subprocess wait that
    an interrupt ended).
    """

    def __init__(self, kind: str = "interrupted", code: object = None) -> None:
        super().__init__(kind)
        self.kind = kind
        self.code = code


def describe(exc: BaseException) -> str:
    """Render a Python exception for Lua: our own errors verbatim, others with their type."""
    if isinstance(exc, ApiError):
        return str(exc)
    text = str(exc)
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def clean_traceback(text: str) -> str:
    """Drop the runtime's own frames and noise from a `debug.traceback` text.

    What stays names the user's chunks (`cell[3]:2:`, `plugin.lua:10:`) and the C functions they
    called, so a traceback reads as if the code had run in a plain Lua interpreter: the prelude
    wraps pcall and xpcall, and the originals it calls show as `[C]: in upvalue 'raw_pcall'`,
    which becomes `[C]: in function 'pcall'` (the wrapper's own frame goes).
    """
    out = []
    for line in text.split("\n"):
        frame = line.strip()
        if line.startswith("\t") and (
            frame.startswith(INTERNAL_SOURCE) or frame == "(...tail calls...)" or frame == "[C]: in ?"
        ):
            continue
        if line.startswith("\t") and frame.startswith(_RAW_UPVALUE):
            line = "\t[C]: in function '" + frame[len(_RAW_UPVALUE) :]
        out.append(line)
    while out and out[-1] == "stack traceback:":
        out.pop()
    return "\n".join(out)
