"""%plugin and %services: loading Crucible plugins into the notebook and watching their services.

    %plugin load PATH|NAME [--config FILE.toml] [--safe]
                                                 load (or reload) a plugin and its dependencies;
                                                 --safe: in an environment of its own, with only
                                                 the capabilities it declares
    %plugin discover                             the plugins on the search paths
    %plugin list                                 the loaded plugins, their state and last error
    %plugin show NAME                            the plugin's live card, with a reload button
    %plugin reload NAME | unload NAME
    %plugin watch NAME [--stop]                  reload whenever one of its files changes
    %plugin paths [--kiln DIR] [--workspace DIR] [--session DIR]
    %services                                    the live services panel, with stop and restart
    %services NAME                               one service's last traceback and recent output
    %services stop NAME | restart NAME | start NAME

A plugin loaded by a cell belongs to that cell: running the cell again unloads it first.
"""

from __future__ import annotations

import shlex
import time
from typing import TYPE_CHECKING, Any

from ...runtime.capabilities import ENFORCED
from . import OK, Reply, line_magic
from . import print_text as _print

if TYPE_CHECKING:
    from ...plugins.loader import Plugin, PluginManager
    from ..kernel import CrucibleKernel

PLUGIN_USAGE = (
    "usage: %plugin load PATH|NAME [--config FILE.toml] [--safe] | discover | list | show NAME | "
    "reload NAME | unload NAME | watch NAME [--stop] | paths [--kiln DIR] [--workspace DIR] [--session DIR]"
)
SERVICES_USAGE = "usage: %services [NAME | stop NAME | restart NAME | start NAME]"


class UsageError(ValueError):
    pass


def _manager(kernel: CrucibleKernel) -> PluginManager:
    from ... import plugins

    return plugins.of(kernel.runtime)


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1])
    return "\n".join(line.rstrip() for line in lines)


def _summary(plugin: Plugin) -> str:
    parts = [f"{plugin.name} {plugin.version} ({plugin.path})"]
    for label, names in (
        ("tools", plugin.tools),
        ("commands", plugin.commands),
        ("services", [n for n, _, _ in plugin.services]),
    ):
        if names:
            parts.append(f"{label}: {', '.join(names)}")
    return "; ".join(parts)


def _safety(plugin: Plugin) -> str:
    """For a plugin loaded with --safe, which capabilities it has ("" for any other plugin)."""
    if not plugin.safe:
        return ""
    granted = ", ".join(c for c in plugin.capabilities if c in ENFORCED)
    if granted:
        return f"in safe mode, granted what it declares: {granted}"
    return "in safe mode, declaring no capability: writing files, commands, HTTP and WebSockets are refused"


def _done(verb: str, plugin: Plugin) -> str:
    return f"{verb} {_summary(plugin)}" + (f"\nIt runs {_safety(plugin)}." if plugin.safe else "")


@line_magic(
    "plugin",
    "%plugin load PATH|NAME [--config F] [--safe] | discover | list | show | reload | unload | watch | paths",
)
async def _plugin(kernel: CrucibleKernel, args: str) -> Reply:
    from ...plugins import PluginError

    try:
        words = shlex.split(args)
    except ValueError as exc:
        return kernel.report_error("UsageError", f"{exc}; {PLUGIN_USAGE}")
    if not words:
        return kernel.report_error("UsageError", PLUGIN_USAGE)
    command, rest = words[0], words[1:]
    handler = _COMMANDS.get(command)
    if handler is None:
        return kernel.report_error("UsageError", f"unknown %plugin command {command!r}; {PLUGIN_USAGE}")
    try:
        return await handler(kernel, rest)
    except UsageError as exc:
        return kernel.report_error("UsageError", f"{exc}; {PLUGIN_USAGE}")
    except PluginError as exc:
        return kernel.report_error("PluginError", str(exc))


def _options(words: list[str], names: tuple[str, ...]) -> tuple[list[str], dict[str, str]]:
    positional: list[str] = []
    options: dict[str, str] = {}
    while words:
        word = words.pop(0)
        if word.startswith("--"):
            key, _, value = word[2:].partition("=")
            if key not in names:
                raise UsageError(f"unknown option --{key}")
            if not value:
                if not words:
                    raise UsageError(f"--{key} needs a value")
                value = words.pop(0)
            options[key] = value
        else:
            positional.append(word)
    return positional, options


async def _load(kernel: CrucibleKernel, words: list[str]) -> Reply:
    safe = "--safe" in words
    positional, options = _options([w for w in words if w != "--safe"], ("config",))
    if len(positional) != 1:
        raise UsageError("%plugin load takes one PATH or NAME")
    plugin = await _manager(kernel).load(positional[0], options.get("config"), safe=safe)
    _print(kernel, _done("Loaded", plugin))
    return dict(OK)


async def _discover(kernel: CrucibleKernel, words: list[str]) -> Reply:
    from ...plugins.discovery import discover, search_paths

    if words:
        raise UsageError("%plugin discover takes no arguments")
    found = discover()
    lines = ["Search paths: " + ", ".join(f"{p} ({s})" for p, s in search_paths())]
    if found.plugins:
        rows = [("NAME", "VERSION", "KIND", "SOURCE", "PATH")]
        rows += [(c.name, c.manifest.version, c.kind, c.source, str(c.root)) for c in found.plugins.values()]
        lines.append(_table(rows))
    else:
        lines.append("No plugins found. Set CRUCIBLE_PLUGIN_PATH to folders holding plugins.")
    lines += [f"shadowed: {c.name} at {c.root}" for c in found.shadowed]
    lines += [f"error: {path}: {error}" for path, error in found.errors]
    _print(kernel, "\n".join(lines))
    return dict(OK)


async def _list(kernel: CrucibleKernel, words: list[str]) -> Reply:
    if words:
        raise UsageError("%plugin list takes no arguments")
    plugins = list(_manager(kernel).plugins.values())
    if not plugins:
        _print(kernel, "No plugins loaded. %plugin load PATH loads one.")
        return dict(OK)
    rows = [("NAME", "VERSION", "STATE", "TOOLS", "COMMANDS", "SERVICES", "PATH")]
    for p in plugins:
        services = ", ".join(n for n, _, _ in p.services)
        rows.append(
            (p.name, p.version, p.state, ", ".join(p.tools), ", ".join(p.commands), services, str(p.path))
        )
    lines = [_table(rows)]
    for p in plugins:
        if p.last_error:
            lines.append(f"\n{p.name}: {p.last_error}")
        lines += [f"{p.name}: warning: {w}" for w in p.warnings]
        if p.safe:
            lines.append(f"{p.name}: {_safety(p)}")
    _print(kernel, "\n".join(lines))
    return dict(OK)


async def _show(kernel: CrucibleKernel, words: list[str]) -> Reply:
    if len(words) != 1:
        raise UsageError("%plugin show takes one NAME")
    kernel.widgets.show_plugin(words[0])
    return dict(OK)


async def _reload(kernel: CrucibleKernel, words: list[str]) -> Reply:
    if len(words) != 1:
        raise UsageError("%plugin reload takes one NAME")
    plugin = await _manager(kernel).reload(words[0])
    _print(kernel, _done("Reloaded", plugin))
    return dict(OK)


async def _unload(kernel: CrucibleKernel, words: list[str]) -> Reply:
    if len(words) != 1:
        raise UsageError("%plugin unload takes one NAME")
    plugin = await _manager(kernel).unload(words[0])
    _print(kernel, f"Unloaded {plugin.name}.")
    return dict(OK)


async def _watch(kernel: CrucibleKernel, words: list[str]) -> Reply:
    from ...plugins.watch import start_watch

    stop = "--stop" in words
    names = [w for w in words if w != "--stop"]
    if len(names) != 1:
        raise UsageError("%plugin watch takes one NAME")
    manager = _manager(kernel)
    plugin = manager.get(names[0])
    if stop:
        if plugin.name not in manager.watches:
            _print(kernel, f"{plugin.name} was not being watched.")
        else:
            manager.watches.pop(plugin.name).stop()
            _print(kernel, f"Stopped watching {plugin.name}.")
        return dict(OK)
    watch = start_watch(manager, plugin.name)
    await watch.ready()
    _print(kernel, f"Watching {plugin.path}: {plugin.name} reloads when a file changes.")
    return dict(OK)


async def _paths(kernel: CrucibleKernel, words: list[str]) -> Reply:
    from ...runtime import paths

    positional, options = _options(words, ("kiln", "workspace", "session"))
    if positional:
        raise UsageError(f"unexpected {positional[0]!r}")
    configured = paths.of(kernel.runtime)
    if options:
        configured.configure(**options)  # type: ignore[arg-type]
    rows = [("PATH", "VALUE", "FROM")]
    for name, value in configured.as_dict().items():
        rows.append((name, value or "(not configured)", configured.sources.get(name, "")))
    _print(kernel, _table(rows))
    return dict(OK)


_COMMANDS = {
    "load": _load,
    "discover": _discover,
    "list": _list,
    "show": _show,
    "reload": _reload,
    "unload": _unload,
    "watch": _watch,
    "paths": _paths,
}


@line_magic("services", "%services [NAME | stop NAME | restart NAME | start NAME]  the live services panel")
async def _services(kernel: CrucibleKernel, args: str) -> Reply:
    from ...plugins import services

    supervisor = services.of(kernel.runtime)
    words = args.split()
    try:
        if words and words[0] in ("stop", "restart", "start"):
            if len(words) != 2:
                return kernel.report_error("UsageError", SERVICES_USAGE)
            return await _service_action(kernel, supervisor, words[0], words[1])
        if len(words) == 1:
            _print(kernel, _detail(supervisor.find(words[0])))
            return dict(OK)
    except services.ServiceError as exc:
        return kernel.report_error("ServiceError", str(exc))
    if words:
        return kernel.report_error("UsageError", SERVICES_USAGE)
    kernel.widgets.show_services()  # its text form is the table of the services
    return dict(OK)


async def _service_action(kernel: CrucibleKernel, supervisor: Any, action: str, name: str) -> Reply:
    from ...plugins import services
    from ...runtime.owners import current_owner

    if action == "start":
        entry = kernel.runtime.cru[b"service"][b"_services"][name.encode()]
        if entry is None or entry[b"run"] is None:
            raise services.ServiceError(f"no cru.service named '{name}' is defined")
        desc = entry[b"desc"]
        record = supervisor.start(
            entry[b"run"],
            name=name,
            kind="defined",
            desc=desc.decode() if isinstance(desc, bytes) else "",
            owner=current_owner(),
        )
        _print(kernel, f"Started {record.id}.")
        return dict(OK)
    record = supervisor.find(name)
    if action == "stop":
        stopped = await supervisor.stop(record)
        _print(
            kernel, f"Stopped {record.id}." if stopped else f"{record.id} is not running ({record.state})."
        )
    else:
        await supervisor.restart(record)
        _print(kernel, f"Restarted {record.id} (restart {record.restarts}).")
    return dict(OK)


def _detail(record: Any) -> str:
    from ...plugins.services import age

    lines = [
        f"{record.id} ({record.kind}{', ' + record.desc if record.desc else ''})",
        f"state: {record.state} for {age(time.time() - record.state_since)}, restarts: {record.restarts}",
    ]
    if record.last_traceback or record.last_error:
        lines.append("last error:")
        lines += ["    " + line for line in (record.last_traceback or record.last_error).split("\n")]
    if record.output:
        lines.append("recent output:")
        for entry in list(record.output)[-20:]:
            stamp = time.strftime("%H:%M:%S", time.localtime(entry["time"]))
            for line in entry["text"].rstrip("\n").split("\n"):
                lines.append(f"    {stamp} {entry['stream']}: {line}")
    return "\n".join(lines)
