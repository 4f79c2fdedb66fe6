"""The cru.* namespaces, installed into a Runtime in the reference's registration order (§2).

Two module sets, as in the reference: the daemon's plugin VM ("daemon", what cells and
`crucible-kernel run` get) and the bare executor that `cru plugin test` runs suites in ("bare":
no cru.ws, no cru.oq, none of the daemon loader's additions, and none of our notebook output).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Literal

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
    oq,
    output,
    owners,
    paths,
    processes,
    publish,
    schedule,
    shell,
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

VM = Literal["daemon", "bare"]
VMS: tuple[VM, ...] = ("daemon", "bare")


def install(rt: Runtime, vm: VM = "daemon") -> None:
    """Install the namespaces of `vm`: "daemon" (the plugin VM) or "bare" (the test runner's)."""
    if vm not in VMS:
        raise ValueError(f"unknown module set {vm!r}: use one of {', '.join(VMS)}")
    owners.install(rt)  # engine.current_owner() answers the running task's owner
    stdio.install(rt)
    processes.install(rt)  # os.execute and io.popen
    host = rt.host
    taps = output.of(rt)

    def log(level: bytes, message: bytes) -> None:
        name, line = text(level), text(message)
        host.log(name, line)
        if taps.listeners:
            taps.wrote("log:" + name, line)

    rt.register("log", rt.lua_module("log", {"log": log}))
    hooks.install(rt)  # crucible.on_session_start / on_session_end
    notify.install(rt)  # crucible.notify / notify_once
    json_module = json.install(rt)
    config.install(rt)  # cru.config (the app store) and crucible.config (plugin sections)
    http.install(rt)
    fs.install(rt)
    timer.install(rt)
    spawn.install(rt)
    rt.register("ratelimit", rt.lua_module("ratelimit", {"monotonic": time.monotonic}))
    # The test API opens the reference's Lua stdlib: globals in every VM (reference §2, §8.3).
    for name, value in rt.lua_module("testing").items():
        rt.lua.globals()[name] = value
    rt.lua.globals()[b"test_mocks"] = rt.lua_module("test_mocks")
    pure_lua(rt, PURE_LUA)
    owners.registrations(rt).add("emitters", _EmitterHandlers(rt.cru[b"emitter"]))
    rt.lua.globals()[b"inspect"] = rt.cru[b"inspect"]
    if vm == "bare":
        return
    # What the daemon's plugin loader adds, in its order.
    ws.install(rt)
    shell.install(rt)  # cru.shell and the global `shell`
    oq.install(rt, json_module)
    paths.install(rt)
    pure_lua(rt, ("graph",), global_name="graph")
    pure_lua(rt, ("kiln", "storage"))
    rt.register("sessions", rt.lua_module("sessions"))  # stubs (see lua/sessions.lua)
    pure_lua(rt, ("ui", "tools"))  # without a daemon: (nil, "no daemon connected")
    schedule.install(rt)
    status.install(rt)  # crucible.set_status / clear_status
    handlers.install(rt)  # crucible.on / cru.on
    publish.install(rt)  # crucible.publish / crucible.options
    context.install(rt)
    display.install(rt)  # ours: notebook output (display, cru.display, ilua.display)


class _EmitterHandlers:
    """The handlers of every cru.emitter (the global one too), removable by owner; the lists
    themselves live in lua/emitter.lua."""

    def __init__(self, module: Any) -> None:
        self._unregister = module[b"_unregister_owner"]
        self._count = module[b"_count_owner"]

    def unregister_owner(self, owner: str | None) -> int:
        return 0 if owner is None else int(self._unregister(owner.encode()))

    def count_owner(self, owner: str | None) -> int:
        return 0 if owner is None else int(self._count(owner.encode()))


def pure_lua(rt: Runtime, files: tuple[str, ...], global_name: str | None = None) -> None:
    """Register what each lua/<file>.lua returns ({name = value}) under cru and crucible."""
    for file in files:
        for name, value in rt.lua_module(file).items():
            rt.register(text(name), value, global_name=global_name)
