"""Plugins on the runtime: loading Crucible plugins, the services supervisor, the test runner.

`install(rt)` gives a runtime the supervisor (services.py), the plugin manager (loader.py) and
their Lua face, `cru.plugins` and `cru.services` (lua/plugins_api.lua); the kernel and
`crucible-kernel run` call it for every Lua state they make. `of(rt)` is the manager.

    from crucible_kernel import plugins
    manager = plugins.install(rt)
    await manager.load("plugins/weather", "config.toml")
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..runtime.convert import Multi, text
from ..runtime.owners import current_owner, registrations
from . import services
from .loader import Plugin, PluginError, PluginManager, of

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["Plugin", "PluginError", "PluginManager", "install", "of"]


def install(rt: Runtime) -> PluginManager:
    """Give `rt` the supervisor, the plugin manager, cru.plugins and cru.services."""
    supervisor = services.install(rt)
    manager = PluginManager(rt, supervisor)
    regs = registrations(rt)
    regs.add("plugin_manager", manager, owned=False)
    regs.add_releaser(manager.release_owner)
    rt.add_cleanup(manager.aclose)
    natives = {k.encode(): v for k, v in _natives(rt, manager, supervisor).items()}
    api = rt.own_chunk(__package__, "plugins_api")(rt.engine, rt.natives(natives))
    rt.register("plugins", api[b"plugins"])
    rt.register("services", api[b"services"])
    rt.extensions["plugins.metatable"] = api[b"plugin_metatable"]  # a kernel's cards display through it
    return manager


def _natives(rt: Runtime, manager: PluginManager, supervisor: services.Supervisor) -> dict[str, Any]:
    to_lua = rt.to_lua

    async def load(target: bytes, config_path: bytes | None, config_json: bytes | None, safe: bool) -> Multi:
        config: Any = text(config_path) if config_path is not None else None
        if config_json is not None:
            config = json.loads(config_json)
            if not isinstance(config, dict):
                return Multi(None, "config must be a table of values (the plugin's [plugins.<name>] section)")
        try:
            plugin = await manager.load(text(target), config, safe=bool(safe))
        except PluginError as exc:
            return Multi(None, str(exc))
        return Multi(to_lua(plugin.as_dict()), None)

    async def reload(name: bytes) -> Multi:
        try:
            plugin = await manager.reload(text(name))
        except PluginError as exc:
            return Multi(None, str(exc))
        return Multi(to_lua(plugin.as_dict()), None)

    async def unload(name: bytes) -> Multi:
        try:
            await manager.unload(text(name))
        except PluginError as exc:
            return Multi(None, str(exc))
        return Multi(True, None)

    def list_() -> Any:
        return to_lua([p.as_dict() for p in manager.plugins.values()])

    def discover() -> Any:
        from .discovery import discover as find

        found = find()

        def row(c: Any) -> dict[str, Any]:
            return {
                "name": c.name,
                "version": c.manifest.version,
                "path": str(c.root),
                "kind": c.kind,
                "source": c.source,
            }

        return to_lua(
            {
                "plugins": [row(c) for c in found.plugins.values()],
                "shadowed": [row(c) for c in found.shadowed],
                "errors": [{"path": str(p), "error": e} for p, e in found.errors],
            }
        )

    async def call(kind: bytes, name: bytes, args_json: bytes) -> Multi:
        try:
            return Multi(await manager.call(text(kind), text(name), args_json), None)
        except PluginError as exc:
            return Multi(None, str(exc))

    def services_list() -> Any:
        return to_lua(supervisor.snapshot())

    async def services_stop(name: bytes) -> Multi:
        try:
            record = supervisor.find(text(name))
        except services.ServiceError as exc:
            return Multi(None, str(exc))
        if not await supervisor.stop(record):
            return Multi(None, f"service '{record.id}' is not running ({record.state})")
        return Multi(True, None)

    async def services_restart(name: bytes) -> Multi:
        try:
            await supervisor.restart(supervisor.find(text(name)))
        except services.ServiceError as exc:
            return Multi(None, str(exc))
        return Multi(True, None)

    def services_start(name: bytes, desc: Any, fn: Any) -> Multi:
        try:
            supervisor.start(
                fn, name=text(name), kind="defined", desc=text(desc) if desc else "", owner=current_owner()
            )
        except services.ServiceError as exc:
            return Multi(None, str(exc))
        return Multi(True, None)

    return {
        "load": load,
        "reload": reload,
        "unload": unload,
        "list": list_,
        "discover": discover,
        "call": call,
        "services_list": services_list,
        "services_stop": services_stop,
        "services_restart": services_restart,
        "services_start": services_start,
    }
