"""The cru.* namespaces, installed into a Runtime in the reference's registration order (§2).

Two module sets, as in the reference: the daemon's plugin VM ("daemon", what cells and
`crucible-kernel run` get) and the bare executor that `cru plugin test` runs suites in ("bare":
no cru.ws, no cru.oq, none of the daemon loader's additions, and none of our notebook output).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Literal

from . import display, http, json, oq, spawn, stdio, timer, ws
from .convert import text

if TYPE_CHECKING:
    from .engine import Runtime

# The pure-Lua namespaces (reference §3.10-3.15): each lua/<file>.lua returns {name = value, ...},
# registered as cru.<name> and crucible.<name>.
PURE_LUA = ("retry", "emitter", "check", "service", "qol")  # they find each other via `cru` at call time

VM = Literal["daemon", "bare"]
VMS: tuple[VM, ...] = ("daemon", "bare")


def install(rt: Runtime, vm: VM = "daemon") -> None:
    """Install the namespaces of `vm`: "daemon" (the plugin VM) or "bare" (the test runner's)."""
    if vm not in VMS:
        raise ValueError(f"unknown module set {vm!r}: use one of {', '.join(VMS)}")
    stdio.install(rt)
    host = rt.host

    def log(level: bytes, message: bytes) -> None:
        host.log(text(level), text(message))

    rt.register("log", rt.lua_module("log", {"log": log}))
    json_module = json.install(rt)
    http.install(rt)
    timer.install(rt)
    spawn.install(rt)
    rt.register("ratelimit", rt.lua_module("ratelimit", {"monotonic": time.monotonic}))
    # The test API opens the reference's Lua stdlib: globals in every VM (reference §2, §8.3).
    for name, value in rt.lua_module("testing").items():
        rt.lua.globals()[name] = value
    rt.lua.globals()[b"test_mocks"] = rt.lua_module("test_mocks")
    for file in PURE_LUA:
        for name, value in rt.lua_module(file).items():
            rt.register(text(name), value)
    rt.lua.globals()[b"inspect"] = rt.cru[b"inspect"]
    if vm == "bare":
        return
    # Added only by the daemon's plugin loader, after the bare executor's modules.
    ws.install(rt)
    oq.install(rt, json_module)
    rt.register("sessions", rt.lua_module("sessions"))  # stubs (see lua/sessions.lua)
    display.install(rt)  # ours: notebook output (display, cru.display, ilua.display)
