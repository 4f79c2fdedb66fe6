"""The cru.* namespaces, installed into a Runtime in the reference's registration order (§2)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from . import (
    config,
    context,
    display,
    fs,
    handlers,
    hooks,
    http,
    json,
    notify,
    paths,
    publish,
    schedule,
    spawn,
    status,
    stdio,
    timer,
    ws,
)
from .convert import text

if TYPE_CHECKING:
    from .engine import Runtime

# The pure-Lua namespaces (reference §3.10-3.15): each lua/<file>.lua returns {name = value, ...},
# registered as cru.<name> and crucible.<name>; they find each other via `cru` at call time.
PURE_LUA = ("retry", "emitter", "check", "service", "qol", "health")


def install(rt: Runtime) -> None:
    stdio.install(rt)
    host = rt.host

    def log(level: bytes, message: bytes) -> None:
        host.log(text(level), text(message))

    rt.register("log", rt.lua_module("log", {"log": log}))
    hooks.install(rt)  # crucible.on_session_start / on_session_end
    notify.install(rt)  # crucible.notify / notify_once
    json.install(rt)
    config.install(rt)  # cru.config (the app store) and crucible.config (plugin sections)
    http.install(rt)
    fs.install(rt)
    timer.install(rt)
    spawn.install(rt)
    rt.register("ratelimit", rt.lua_module("ratelimit", {"monotonic": time.monotonic}))
    pure_lua(rt, PURE_LUA)
    rt.lua.globals()[b"inspect"] = rt.cru[b"inspect"]
    # What the daemon's plugin loader adds, in its order.
    ws.install(rt)
    paths.install(rt)
    pure_lua(rt, ("graph",), global_name="graph")
    pure_lua(rt, ("kiln", "storage"))
    pure_lua(rt, ("ui", "tools"))  # without a daemon: (nil, "no daemon connected")
    schedule.install(rt)
    status.install(rt)  # crucible.set_status / clear_status
    handlers.install(rt)  # crucible.on / cru.on
    publish.install(rt)  # crucible.publish / crucible.options
    context.install(rt)
    display.install(rt)  # ours: notebook output (display, cru.display, ilua.display)


def pure_lua(rt: Runtime, files: tuple[str, ...], global_name: str | None = None) -> None:
    """Register what each lua/<file>.lua returns ({name = value}) under cru and crucible."""
    for file in files:
        for name, value in rt.lua_module(file).items():
            rt.register(text(name), value, global_name=global_name)
