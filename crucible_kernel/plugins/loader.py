"""Loading plugins into a runtime the way Crucible's daemon does, and taking them out again.

`PluginManager(rt)` keeps the plugins of one Lua state by name. `await manager.load(target)`
(a path, or a name found on the search paths) loads the plugin and, first, its dependencies
(topological order; a missing required one is `Dependency not satisfied: <a> requires <b>`,
a cycle `Circular dependency detected: <name>`). Each plugin runs as in the daemon's plugin VM
(lua/loader.lua): `package.path` gets `<search path>/?.lua`, `<search path>/?/init.lua` and
`<plugin>/lua/?.lua`; the plugin's modules leave `package.loaded`; the main file runs by path with
`__crucible_loading_plugin__` set, async calls allowed at its top level; a spec table's
`setup(cfg)` gets the plugin's `[plugins.<name>]` config section or `{}`. Its tools and commands
are registered, and once the whole batch has loaded its services start under the supervisor.

Everything a plugin registers, and every task it starts, is owned by the plugin (its name), so
`reload` and `unload` take all of it back (services aborted, hooks and handlers removed, tasks
cancelled) and clear its modules from `package.loaded`. Loading a loaded plugin reloads it.

A failure leaves the plugin inert, in state "error" with `last_error`, with Crucible's wording:
`exec <path>: <error and Lua traceback>`, `setup() for '<name>': ...`,
`plugin '<name>' returned no spec`, a manifest error. Other plugins are not touched.
`load` raises PluginError with the message the user should see (the record stays listed).

States: "active" (loaded), "error", "disabled" (`enabled: false` in the manifest or
`[plugins.<name>] enabled = false` in the config). An unloaded plugin leaves the list.

Tools and commands are called with the daemon's JSON round trip (arguments and result through
`cru.json`: JSON null becomes the null sentinel, arrays are marked), tools under its 30 s timeout.

`listeners` are called with each plugin that has loaded, failed or been unloaded (the notebook's
plugin cards follow them; its services report through the supervisor).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..runtime import config as config_store
from ..runtime.convert import text
from ..runtime.owners import context_for, current_owner, registrations
from ..runtime.tasks import TaskState
from . import services as services_module
from .discovery import Candidate, PluginNotFound, candidate_at, discover, search_paths
from .manifest import CAPABILITIES, ManifestError, valid_name

if TYPE_CHECKING:
    from ..runtime import LuaTask, Runtime

__all__ = ["TOOL_TIMEOUT", "Callable", "Plugin", "PluginError", "PluginManager", "of"]

TOOL_TIMEOUT = 30.0  # the daemon's tool dispatch timeout, seconds
SAFE_HINT = (  # after a refusal in safe mode; "{capability}" is the engine's placeholder
    " (plugin '{name}' runs in safe mode: add '{{capability}}' to its capabilities in plugin.yaml or "
    "its spec table)"
)
_CAPABILITY_NAMES = {c: c for c in CAPABILITIES}  # spec-table names, compared lowercased


class PluginError(Exception):
    """A plugin could not be found, loaded, unloaded or called; the message is for the user."""


@dataclass(eq=False)
class Callable:
    """A tool or command a plugin registered."""

    name: str
    plugin: str
    owner: str
    desc: str = ""
    params: list[dict[str, Any]] = field(default_factory=list)
    hint: str | None = None
    fn: Any = field(default=None, repr=False)


@dataclass(eq=False)
class Plugin:
    """A plugin of this runtime."""

    name: str
    candidate: Candidate
    owner: str
    """Who its registrations and tasks belong to: the name it was found under."""
    state: str = "loading"
    last_error: str | None = None
    version: str = "0.0.0"
    description: str = ""
    capabilities: list[str] = field(default_factory=list)
    tools: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    services: list[tuple[str, str, Any]] = field(default_factory=list, repr=False)
    """(name, desc, fn) of each service its spec declares."""
    handlers: int = 0
    views: int = 0
    loaded_by: str | None = None
    """The owner that loaded it (a cell): re-running that cell unloads it first."""
    config: Any = None
    """What `load` was given as config: a TOML path, a table of values, or None."""
    loaded_at: float = field(default_factory=time.time)
    warnings: list[str] = field(default_factory=list)
    safe: bool = False
    """Loaded in safe mode: in an environment of its own, its declared capabilities enforced."""

    @property
    def path(self) -> Path:
        return self.candidate.root

    @property
    def dependencies(self) -> list[dict[str, Any]]:
        return [{"name": d.name, "optional": d.optional} for d in self.candidate.manifest.dependencies]

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "state": self.state,
            "path": str(self.path),
            "kind": self.candidate.kind,
            "main": str(self.candidate.main),
            "capabilities": list(self.capabilities),
            "dependencies": self.dependencies,
            "tools": list(self.tools),
            "commands": list(self.commands),
            "services": [name for name, _, _ in self.services],
            "handlers": self.handlers,
            "views": self.views,
            "last_error": self.last_error,
            "warnings": list(self.warnings),
            "safe": self.safe,
        }


class PluginManager:
    """The plugins of one runtime."""

    def __init__(self, rt: Runtime, supervisor: services_module.Supervisor) -> None:
        self.rt = rt
        self.supervisor = supervisor
        self.plugins: dict[str, Plugin] = {}
        self.tools: dict[str, Callable] = {}
        self.commands: dict[str, Callable] = {}
        self.tool_timeout = TOOL_TIMEOUT
        self.watches: dict[str, Any] = {}
        """The file watches by plugin name (see watch.py)."""
        self.listeners: list[Any] = []
        """Called with a Plugin whenever it has loaded, failed or been unloaded (live views)."""
        self._lock = asyncio.Lock()
        confined = rt.own_chunk(__package__, "confined")(rt.engine)  # before any user code runs
        self.lua = rt.own_chunk(__package__, "loader")(rt.engine, rt.lua.table_from({b"confined": confined}))

    # Finding

    def get(self, name: str) -> Plugin:
        """The plugin called `name` (raises PluginError naming the loaded ones)."""
        plugin = self.plugins.get(name)
        if plugin is None:
            plugin = next((p for p in self.plugins.values() if p.owner == name), None)
        if plugin is None:
            known = ", ".join(self.plugins) or "none is loaded"
            raise PluginError(f"Plugin not found: {name} (loaded: {known})")
        return plugin

    def resolve(self, target: str | os.PathLike[str]) -> Candidate:
        """The plugin `target` names: a path to a folder or file, or a name on the search paths."""
        raw = os.fspath(target)
        try:
            if os.path.exists(raw) or "/" in raw or raw.endswith((".lua", ".fnl")):
                return candidate_at(raw)
        except PluginNotFound as exc:
            raise PluginError(str(exc)) from None
        except ManifestError as exc:
            raise PluginError(f"Manifest error: {exc}") from None
        found = discover()
        if raw in found.plugins:
            return found.plugins[raw]
        for path, error in found.errors:
            if path.name == raw:
                raise PluginError(f"Manifest error: {error} (in {path})")
        places = ", ".join(str(p) for p, _ in search_paths())
        raise PluginError(f"Plugin not found: {raw} (no such path, and no plugin of that name in {places})")

    # Loading, reloading, unloading

    async def load(
        self, target: str | os.PathLike[str], config: Any = None, *, loaded_by: Any = ..., safe: bool = False
    ) -> Plugin:
        """Load the plugin `target` (after its dependencies); a loaded one is reloaded.

        `config` is a config.toml path (its `[plugins.<name>]` sections are read), or a dict
        that becomes this plugin's section. With `safe`, the plugin (and each dependency this
        call loads) runs in safe mode: an environment of its own where only the capabilities it
        declares are granted (confined.lua). Returns the plugin; raises PluginError when it (or
        a dependency it needs) failed, after recording the failure.
        """
        owner = current_owner() if loaded_by is ... else loaded_by
        async with self._lock:
            candidate = self.resolve(target)
            watch = self._apply_config(candidate.name, config)
            try:
                order = self._order(candidate)
            except PluginError as exc:
                existing = self.plugins.get(candidate.name)
                if existing is not None:
                    await self._deactivate(existing)  # "error" must mean nothing of it is live
                self._record_failure(candidate, str(exc), owner, config, safe)
                raise
            done: list[Plugin] = []
            for item in order:
                existing = self.plugins.get(item.name)
                is_target = item is order[-1]
                if not is_target and existing is not None and existing.state == "active":
                    continue
                if existing is not None:
                    await self._deactivate(existing)
                plugin = await self._execute(item, owner, config if is_target else None, safe)
                self._tell(plugin)
                if plugin.state != "active":
                    if not is_target:
                        message = f"Dependency not satisfied: {candidate.name} requires {item.name}"
                        self._record_failure(
                            candidate, f"{message}: {plugin.last_error}", owner, config, safe
                        )
                        self._start_services(done)
                        raise PluginError(f"{message}\n{plugin.last_error}")
                    self._start_services(done)
                    raise PluginError(self._failure_text(plugin))
                done.append(plugin)
            self._start_services(done)
        target_plugin = done[-1]
        if watch:
            from .watch import start_watch

            start_watch(self, target_plugin.name)
        return target_plugin

    async def reload(self, name: str) -> Plugin:
        """Stop the plugin's services, forget all it registered, and load it again from its
        files (its manifest and config file are read again)."""
        plugin = self.get(name)
        if plugin.state == "disabled":
            raise PluginError(f"plugin '{plugin.name}' is disabled; enable it before reloading")
        return await self.load(plugin.path, plugin.config, loaded_by=plugin.loaded_by, safe=plugin.safe)

    async def unload(self, name: str, *, force: bool = False) -> Plugin:
        """Take the plugin out: services stopped, registrations and tasks gone, modules cleared
        from package.loaded. Refused while an active plugin requires it (unless `force`)."""
        async with self._lock:
            plugin = self.get(name)
            if not force:
                for other in self.plugins.values():
                    needs = plugin.name in other.candidate.manifest.required
                    if other is not plugin and other.state == "active" and needs:
                        raise PluginError(f"Cannot unload {plugin.name}: {other.name} depends on it")
            await self._unload(plugin)
            return plugin

    async def release_owner(self, owner: str | None) -> None:
        """Unload every plugin `owner` loaded (a cell that is run again), newest first. Runs
        without the lock: it is also reached from inside a load (a plugin that loaded others)."""
        for plugin in reversed([p for p in self.plugins.values() if p.loaded_by == owner]):
            if self.plugins.get(plugin.name) is plugin:
                await self._unload(plugin)
        for name, watch in list(self.watches.items()):
            if watch.owner == owner:
                self._stop_watch(name)

    async def aclose(self) -> None:
        for name in list(self.watches):
            self._stop_watch(name)

    # Tools and commands

    async def call(self, kind: str, name: str, args_json: bytes) -> bytes:
        """Call tool or command `name` with JSON arguments; returns the JSON of its result."""
        registry = self.tools if kind == "tool" else self.commands
        entry = registry.get(name)
        if entry is None:
            missing = f"Tool not found: {name}" if kind == "tool" else f"Unknown plugin command: {name}"
            raise PluginError(missing)
        task = self.rt.start(
            self.lua[b"invoke"],
            entry.fn,
            args_json,
            name=f"{kind} {name}",
            kind=kind,
            context=context_for(entry.owner),
        )
        expired: list[bool] = []

        def expire() -> None:
            expired.append(True)
            task.cancel("cancelled")

        # A timer, not asyncio.wait_for: one less task per call (tool calls are a hot path).
        timer = asyncio.get_running_loop().call_later(self.tool_timeout, expire) if kind == "tool" else None
        try:
            await task.wait()
        except asyncio.CancelledError:
            task.cancel("interrupted")
            raise
        finally:
            if timer is not None:
                timer.cancel()
        if expired:
            raise PluginError(f"Tool '{name}' timed out after {self.tool_timeout:g} seconds")
        if task.state is TaskState.DONE:
            return task.results[0]
        if task.state is TaskState.FAILED and task.error is not None:
            detail = task.error.traceback
            if kind == "tool":
                raise PluginError(f"Execution failed: {detail}")
            raise PluginError(f"plugin command '{name}': {detail}")
        raise PluginError(f"{kind} '{name}' was {task.stop or 'cancelled'}")

    # Private methods

    def _apply_config(self, name: str, config: Any) -> bool:
        """Put `config` in place before the plugin runs; returns whether it asks for watching."""
        if config is None:
            return False
        if isinstance(config, dict):
            config_store.of(self.rt).plugins.set_section(name, config)
            return False
        try:
            loaded = config_store.load_toml(self.rt, config, merge=True)
        except FileNotFoundError:
            raise PluginError(f"cannot read the config file {config}: no such file") from None
        except (OSError, ValueError) as exc:
            raise PluginError(f"cannot read the config file {config}: {exc}") from None
        return loaded.watch

    def _order(self, target: Candidate) -> list[Candidate]:
        """`target` after everything it depends on, each once (raises PluginError)."""
        order: list[Candidate] = []
        marks: dict[str, str] = {}
        discovered: dict[str, Candidate] | None = None

        def find(name: str) -> Candidate | None:
            nonlocal discovered
            loaded = self.plugins.get(name)
            if loaded is not None:
                return loaded.candidate
            if discovered is None:
                paths = [*search_paths()]
                if target.search_path is not None:
                    paths.append((target.search_path, "given"))
                discovered = discover(paths).plugins
            return discovered.get(name)

        def visit(candidate: Candidate) -> None:
            mark = marks.get(candidate.name)
            if mark == "done":
                return
            if mark == "visiting":
                raise PluginError(f"Circular dependency detected: {candidate.name}")
            marks[candidate.name] = "visiting"
            for dep in candidate.manifest.dependencies:
                found = find(dep.name)
                if found is None:
                    if dep.optional:
                        continue
                    raise PluginError(f"Dependency not satisfied: {candidate.name} requires {dep.name}")
                visit(found)
            marks[candidate.name] = "done"
            order.append(candidate)

        visit(target)
        return order

    def _record_failure(
        self, candidate: Candidate, message: str, owner: str | None, config: Any, safe: bool
    ) -> None:
        plugin = self.plugins.get(candidate.name) or Plugin(candidate.name, candidate, candidate.name)
        plugin.candidate, plugin.state, plugin.last_error = candidate, "error", message
        plugin.loaded_by, plugin.config, plugin.safe = owner, config, safe
        self.plugins[candidate.name] = plugin
        self._tell(plugin)

    def _failure_text(self, plugin: Plugin) -> str:
        if plugin.state == "disabled":
            return plugin.last_error or f"plugin '{plugin.name}' is disabled"
        return plugin.last_error or f"plugin '{plugin.name}' failed to load"

    async def _execute(self, candidate: Candidate, owner: str | None, config: Any, safe: bool) -> Plugin:
        """Run one plugin (its dependencies are loaded); never raises for the plugin's faults."""
        previous = self.plugins.get(candidate.name)
        plugin = Plugin(candidate.name, candidate, candidate.name, loaded_by=owner, safe=safe)
        plugin.config = config if config is not None else (previous.config if previous else None)
        plugin.version = candidate.manifest.version
        plugin.description = candidate.manifest.description
        plugin.capabilities = list(candidate.manifest.capabilities)
        self.plugins[candidate.name] = plugin
        section = config_store.of(self.rt).plugins.sections.get(candidate.name, {})
        if not candidate.manifest.is_enabled or section.get("enabled") is False:
            where = (
                "enabled: false in its manifest"
                if not candidate.manifest.is_enabled
                else (f"enabled = false in [plugins.{candidate.name}]")
            )
            plugin.state = "disabled"
            plugin.last_error = f"plugin '{candidate.name}' is disabled ({where})"
            return plugin
        if not candidate.main.is_file():
            return self._fail(plugin, f"Main file not found: {candidate.main}")
        try:
            source = candidate.main.read_bytes()
        except OSError as exc:
            return self._fail(plugin, f"read {candidate.main}: {exc.strerror or exc}")
        info = {
            "name": candidate.name,
            "main": str(candidate.main),
            "dir": str(candidate.dir),
            "root": str(candidate.root),
            "kind": candidate.kind,
            "search_path": str(candidate.search_path or candidate.dir.parent),
            "source": source,
        }
        table = self.rt.to_lua(info)
        table[b"cfg"] = config_store.of(self.rt).plugins.section(candidate.name)
        if safe:
            granted = self.rt.lua.table_from([c.encode() for c in plugin.capabilities])
            table[b"policy"] = self.rt.engine[b"policy"](
                granted, SAFE_HINT.format(name=candidate.name).encode()
            )
        task = self.rt.start(
            self.lua[b"execute"],
            table,
            name=f"load {candidate.name}",
            kind="plugin",
            context=context_for(plugin.owner),
        )
        try:
            await task.wait()
        except asyncio.CancelledError:
            task.cancel("interrupted")
            await asyncio.shield(task.wait())
            await self._make_inert(plugin)
            self._fail(plugin, "the load was interrupted")
            raise
        return await self._outcome(plugin, task)

    async def _outcome(self, plugin: Plugin, task: LuaTask) -> Plugin:
        path = plugin.candidate.main
        if task.state is not TaskState.DONE:
            await self._make_inert(plugin)
            stopped = f"the load was {task.stop or 'cancelled'}"
            detail = task.error.traceback if task.error is not None else stopped
            return self._fail(plugin, f"exec {path}: {detail}")
        out = task.results[0]
        phase = text(out[b"phase"])
        if phase == "done":
            try:
                self._register(plugin, out[b"spec"])
            except Exception as exc:  # a spec whose tables cannot be read (a failing __index, ...)
                await self._make_inert(plugin)
                message = f"plugin '{plugin.name}' returned a spec that cannot be read: {exc}"
                return self._fail(plugin, message)
            plugin.state = "active"
            return plugin
        await self._make_inert(plugin)
        error = text(out[b"error"]) if out[b"error"] is not None else ""
        traceback = text(out[b"traceback"]) if out[b"traceback"] is not None else None
        detail = _with_traceback(error, traceback)
        if phase == "nospec":
            return self._fail(plugin, f"plugin '{plugin.name}' returned no spec")
        if phase == "setup":
            return self._fail(plugin, f"setup() for '{plugin.name}': {detail}")
        if phase == "read":
            return self._fail(plugin, detail)
        return self._fail(plugin, f"exec {path}: {detail}")

    def _fail(self, plugin: Plugin, message: str) -> Plugin:
        plugin.state = "error"
        plugin.last_error = message
        return plugin

    def _register(self, plugin: Plugin, spec: Any) -> None:
        desc = self.lua[b"describe"](spec)
        name, version = _opt(desc[b"name"]), _opt(desc[b"version"])
        manifest_less = plugin.candidate.kind != "manifest"
        if manifest_less and version:
            plugin.version = version
        description = _opt(desc[b"description"])
        if description and not plugin.description:
            plugin.description = description
        if manifest_less and name and name != plugin.name and valid_name(name) and name not in self.plugins:
            del self.plugins[plugin.name]
            plugin.name = name
            self.plugins[name] = plugin
        for cap in _items(desc[b"capabilities"]):
            cap_name = _CAPABILITY_NAMES.get(text(cap).lower())
            if cap_name is None:
                self._warn(
                    plugin,
                    f"Plugin {plugin.name} declares unknown capability '{text(cap)}' in its spec table; "
                    "ignoring",
                )
            elif cap_name not in plugin.capabilities:
                plugin.capabilities.append(cap_name)
        kinds = (("tool", self.tools, plugin.tools), ("command", self.commands, plugin.commands))
        for kind, registry, names in kinds:
            for entry in sorted(_items(desc[kind.encode() + b"s"]), key=lambda e: e[b"name"]):
                call_name = text(entry[b"name"])
                if entry[b"fn"] is None:
                    self._warn(
                        plugin,
                        f"Plugin {plugin.name} declared a {kind} with no `fn` ({call_name}); not registered",
                    )
                    continue
                holder = registry.get(call_name)
                if holder is not None and holder.plugin != plugin.name:
                    self._warn(
                        plugin,
                        f"Plugin {kind} rejected: name already claimed by another plugin "
                        f"({call_name}, claimed by {holder.plugin})",
                    )
                    continue
                params = [
                    {
                        "name": text(p[b"name"]),
                        "type": text(p[b"type"]),
                        "desc": text(p[b"desc"]),
                        "optional": bool(p[b"optional"]),
                    }
                    for p in _items(entry[b"params"])
                ]
                desc_text, hint = text(entry[b"desc"]), _opt(entry[b"hint"])
                registry[call_name] = Callable(
                    call_name, plugin.name, plugin.owner, desc_text, params, hint, entry[b"fn"]
                )
                names.append(call_name)
        declared = [(text(s[b"name"]), text(s[b"desc"]), s[b"fn"]) for s in _items(desc[b"services"])]
        plugin.services = sorted(declared, key=lambda s: s[0])
        plugin.handlers = int(desc[b"handlers"])
        plugin.views = int(desc[b"views"])
        if plugin.handlers:
            self._warn(
                plugin,
                f"Plugin '{plugin.name}' declares {plugin.handlers} spec-table handler(s), which are not "
                "dispatched; register them with crucible.on(...) in init.lua instead",
            )

    def _tell(self, plugin: Plugin) -> None:
        for listener in list(self.listeners):
            try:
                listener(plugin)
            except Exception:  # a broken view must not break loading
                logging.getLogger(__name__).exception("a plugin listener failed on %s", plugin.name)

    def _warn(self, plugin: Plugin, message: str) -> None:
        plugin.warnings.append(message)
        self.rt.host.log("warn", message)

    def _start_services(self, plugins: list[Plugin]) -> None:
        for plugin in plugins:
            for name, desc, fn in plugin.services:
                self.supervisor.start(
                    fn, name=name, kind="plugin", plugin=plugin.name, desc=desc, owner=plugin.owner
                )

    async def _unload(self, plugin: Plugin) -> None:
        await self._deactivate(plugin)
        self._stop_watch(plugin.name)
        if self.plugins.get(plugin.name) is plugin:
            del self.plugins[plugin.name]
        plugin.state = "unloaded"
        self._tell(plugin)

    async def _deactivate(self, plugin: Plugin) -> None:
        await self._make_inert(plugin)
        self.lua[b"forget_modules"](plugin.owner.encode(), str(plugin.path).encode())

    async def _make_inert(self, plugin: Plugin) -> None:
        """Nothing of the plugin's runs or stays registered."""
        await self.supervisor.stop_where(lambda r: r.plugin == plugin.name or r.owner == plugin.owner)
        for registry in (self.tools, self.commands):
            for name in [n for n, c in registry.items() if c.owner == plugin.owner]:
                del registry[name]
        plugin.tools.clear()
        plugin.commands.clear()
        await registrations(self.rt).release(self.rt, plugin.owner)

    def _stop_watch(self, name: str) -> None:
        watch = self.watches.pop(name, None)
        if watch is not None:
            watch.stop()


def _with_traceback(error: str, traceback: str | None) -> str:
    if not traceback:
        return error
    from ..runtime.errors import clean_traceback

    return clean_traceback(traceback)


def _items(table: Any) -> list[Any]:
    if table is None:
        return []
    return [table[i] for i in range(1, len(table) + 1)]


def _opt(value: Any) -> str | None:
    return None if value is None else text(value)


def of(rt: Runtime) -> PluginManager:
    """The plugin manager of runtime `rt` (see crucible_kernel.plugins.install)."""
    return registrations(rt).get("plugin_manager", PluginManager)


def json_text(value: Any) -> bytes:
    """Python data as the JSON text the round trip starts from."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
