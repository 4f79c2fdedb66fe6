"""Moving values between Python and Lua.

The Lua state is created with `encoding=None`, so a Lua string reaches Python as `bytes` and
never fails to decode (Lua strings are byte strings). In the other direction every `str` must
be encoded first, or lupa would hand Lua an opaque Python object: `to_lua` does that for whole
structures.
"""

from __future__ import annotations

from typing import Any

from lupa import lua54

__all__ = ["Multi", "lua_type", "text", "to_lua"]

lua_type = lua54.lua_type  # the module-level lupa.lua_type belongs to the default (5.5) runtime


class Multi(tuple):
    """Several return values for Lua (a plain tuple would also unpack, this one says so)."""

    __slots__ = ()

    def __new__(cls, *values: Any) -> Multi:
        return super().__new__(cls, values)


def text(value: Any, errors: str = "replace") -> str:
    """A Lua string (bytes) as Python text; other values through `str`."""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors)
    return str(value)


def _plain(value: Any) -> Any:
    """Encode strings inside a Python structure so `table_from` can take it whole."""
    kind = type(value)
    if kind is str:
        return value.encode()
    if kind is dict:
        return {_plain(k): _plain(v) for k, v in value.items()}
    if kind is list or kind is tuple:
        return [_plain(v) for v in value]
    return value


def to_lua(runtime: lua54.LuaRuntime, value: Any) -> Any:
    """Convert a Python value for Lua: text to bytes, dicts and lists to (nested) tables."""
    kind = type(value)
    if kind is str:
        return value.encode()
    if kind is dict or kind is list:
        return runtime.table_from(_plain(value), recursive=True)
    return value
