"""The cru.* namespaces, installed into a Runtime in the reference's registration order (§2)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from . import display, http, json, processes, spawn, stdio, timer, ws
from .convert import text

if TYPE_CHECKING:
    from .engine import Runtime

# The pure-Lua namespaces (reference §3.10-3.15): each lua/<file>.lua returns {name = value, ...},
# registered as cru.<name> and crucible.<name>.
PURE_LUA = ("retry", "emitter", "check", "service", "qol")  # they find each other via `cru` at call time


def install(rt: Runtime) -> None:
    stdio.install(rt)
    processes.install(rt)  # os.execute and io.popen
    host = rt.host

    def log(level: bytes, message: bytes) -> None:
        host.log(text(level), text(message))

    rt.register("log", rt.lua_module("log", {"log": log}))
    json.install(rt)
    http.install(rt)
    timer.install(rt)
    spawn.install(rt)
    rt.register("ratelimit", rt.lua_module("ratelimit", {"monotonic": time.monotonic}))
    for file in PURE_LUA:
        for name, value in rt.lua_module(file).items():
            rt.register(text(name), value)
    rt.lua.globals()[b"inspect"] = rt.cru[b"inspect"]
    ws.install(rt)  # the daemon plugin loader adds cru.ws last
    display.install(rt)  # ours: notebook output (display, cru.display, ilua.display)
