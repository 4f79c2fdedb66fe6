"""Keeping Lua values in Python safely: every long-lived reference lives on the home thread.

lupa (2.8, and its open issue #84) records in each Lua value it hands Python the Lua thread that
was running at that moment, and uses that thread for every later access and for the final
release of the reference. A value that a native received while a task's coroutine ran is tied to
that coroutine; once the task has ended and Lua has collected its thread, reading the value or
letting it go writes into freed memory and can crash the process. Values tied to the main thread
are no better while a coroutine runs: the main thread is then in the middle of a resume, and
lupa's use of its stack returns garbage.

So a Lua value that Python keeps beyond the call that handed it over (a registered handler, a
plugin's spec table, a widget's callback, a task's results) is rehomed with `Anchor.keep`: its
thread pointer is replaced by the home thread's, a coroutine that the prelude creates, keeps in
the registry and never runs. Every C API use of a value homed there works whichever thread runs,
and the home thread lives as long as the Lua state, which itself outlives every value (each holds
a reference to its LuaRuntime).

The pointer lives in a C field of lupa's `_LuaObject`; its offset is found, and checked, when the
runtime starts (it follows the `_runtime` field, whose value is the LuaRuntime's address).
"""

from __future__ import annotations

import ctypes
from typing import Any, TypeVar

from lupa import lua54

__all__ = ["Anchor"]

T = TypeVar("T")
_POINTER = ctypes.sizeof(ctypes.c_void_p)
# lupa's base class of tables, functions, threads and userdata (not exported by name)
_LuaObject = next(c for c in type(lua54.LuaRuntime().table()).__mro__ if c.__name__ == "_LuaObject")


def _address(text: bytes) -> int:
    return int(text, 16)


class Anchor:
    """Rehomes Lua values of one runtime onto its home thread."""

    def __init__(self, lua: Any, engine: Any) -> None:
        self._home = _address(engine[b"home_address"])
        main = self._main = _address(engine[b"main_address"])
        probe = lua.table()  # made from Python outside any Lua call: tied to the main thread
        self._offset = self._state_offset(lua, probe, main)

    @staticmethod
    def _state_offset(lua: Any, probe: Any, main: int) -> int:
        base, runtime = id(probe), id(lua)
        for offset in range(2 * _POINTER, 8 * _POINTER, _POINTER):
            if ctypes.c_void_p.from_address(base + offset).value == runtime:
                state = offset + _POINTER
                if ctypes.c_void_p.from_address(base + state).value == main:
                    return state
        raise RuntimeError(
            "crucible-kernel does not recognise this lupa version's objects (cannot anchor Lua "
            "values safely); install a lupa release it supports (see pyproject.toml)"
        )

    def is_safe(self, value: Any) -> bool:
        """Whether `value` lives on the home or the main thread (for tests hunting for values kept
        without `keep`: those live on some task's coroutine)."""
        if not isinstance(value, _LuaObject):
            return True
        return ctypes.c_void_p.from_address(id(value) + self._offset).value in (self._home, self._main)

    def keep(self, value: T) -> T:
        """Make `value` (if it is a Lua object) safe to keep and use at any time; returns it."""
        if isinstance(value, _LuaObject):
            ctypes.c_void_p.from_address(id(value) + self._offset).value = self._home
        return value
