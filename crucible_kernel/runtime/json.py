"""cru.json (reference §3.2): encode, decode, array, plus the null sentinel as cru.json.null.

All of it is Lua (lua/json.lua): a JSON text is built or read where the values live, so nothing
crosses into Python per value. `crucible.json_encode` / `crucible.json_decode` are the same
function objects as `cru.json.encode` / `cru.json.decode`, as in the reference (§2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .engine import Runtime

PUBLIC = (b"encode", b"decode", b"array", b"null")


def install(rt: Runtime) -> Any:
    """Register cru.json; returns the Lua module (with its internals, for tests and tools)."""
    module = rt.lua_module("json")
    table = rt.lua.table()
    for name in PUBLIC:
        table[name] = module[name]
    rt.register("json", table)
    rt.crucible[b"json_encode"] = module[b"encode"]
    rt.crucible[b"json_decode"] = module[b"decode"]
    return module
