"""The cru.* namespaces, installed into a Runtime in reference registration order (§2)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from . import spawn, stdio, timer
from .convert import text

if TYPE_CHECKING:
    from .engine import Runtime

# Pure-Lua namespaces: lua/<file>.lua returns the value registered as cru.<name>.
PURE_LUA = ("retry", "emitter", "check", "service")


def install(rt: Runtime) -> None:
    stdio.install(rt)
    host = rt.host

    def log(level: bytes, message: bytes) -> None:
        host.log(text(level), text(message))

    rt.register("log", rt.lua_module("log", {"log": log}))
    timer.install(rt)
    spawn.install(rt)
    rt.register("ratelimit", rt.lua_module("ratelimit", {"monotonic": time.monotonic}))
