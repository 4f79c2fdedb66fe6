"""The card of a loaded plugin: what it is, what it registered, its services live, a reload button.

A plugin table (what cru.plugins.load, reload and list return) as a cell's value, display(p),
or `%plugin show NAME` shows it; every display of one plugin shares one model. The card follows
its plugin by the name it was found under (a reload makes a new Plugin record): the plugin
manager tells it when the plugin has loaded, failed or been unloaded (PluginManager.listeners),
and the supervisor's events when one of its services changes state.

The view (assets/plugin.js) sends `{action: "reload"}` when the button is pressed; the reload
runs as a Lua task of its own (cru.plugins.reload, as copied when the Lua state started), like
a button's callback, so what the plugin prints while it loads goes to the cell that showed the
card. Its outcome is the card's notice line.
"""

from __future__ import annotations

import contextvars
import time
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from .live import Live, asset, notice
from .services import TRACEBACK_WIDTH, age

if TYPE_CHECKING:
    from ...plugins.loader import Plugin, PluginManager
    from .binding import WidgetBinding

__all__ = ["PluginCard", "PluginModel", "plugin_text"]


class PluginModel(anywidget.AnyWidget):
    """The model the card view (assets/plugin.js) shows."""

    _esm = asset("panel.js", "plugin.js")
    _css = asset("panels.css")
    plugin = traitlets.Dict().tag(sync=True)
    """What the card shows (see PluginCard.read)."""
    clock = traitlets.Float(0.0).tag(sync=True)
    """The kernel's time (seconds since the epoch) when the plugin was written."""
    notice = traitlets.Unicode("").tag(sync=True)
    """The outcome of the last reload pressed."""
    busy = traitlets.Bool(False).tag(sync=True)
    """A reload pressed here is under way."""
    ended = traitlets.Bool(False).tag(sync=True)
    """The Lua state the plugin lived in has ended: the button does nothing."""


def plugin_text(info: dict[str, Any], now: float) -> str:
    """The card as plain text."""
    head = f"Plugin {info['name']} {info['version']} ({info['state']})"
    lines = [head + (f": {info['description']}" if info["description"] else "")]
    lines.append(f"  path: {info['path']}")
    if info["state"] == "active":
        lines.append(f"  loaded {age(now - info['loaded_at'])} ago")
    for label in ("tools", "commands"):
        names = [entry["name"] for entry in info[label]]
        lines.append(f"  {label}: {', '.join(names) if names else '(none)'}")
    services = [
        f"{s['name']} {s['state']}" + (f" (restarts {s['restarts']})" if s["restarts"] else "")
        for s in info["services"]
    ]
    lines.append(f"  services: {', '.join(services) if services else '(none)'}")
    for service in info["services"]:
        if service["error"]:
            lines.append(f"  {service['name']} last error: {service['error']}")
    if info["last_error"]:
        lines.append("  last error:")
        lines += ["    " + line for line in info["last_error"].split("\n")[:12]]
    lines += [f"  warning: {w}" for w in info["warnings"]]
    return "\n".join(lines)


class PluginCard(Live):
    """The one card of a plugin (by the name it was found under) in a Lua state."""

    kind = "plugin"

    def __init__(self, binding: WidgetBinding, manager: PluginManager, plugin: Plugin) -> None:
        super().__init__(binding)
        self.manager = manager
        self.owner = plugin.owner
        self.name = plugin.name
        self.info = self.read(plugin)
        self.model = PluginModel(plugin=self.info, clock=time.time(), _view_count=0)
        self.model.on_msg(self.view_message)
        manager.listeners.append(self._plugin_changed)
        binding.kernel.host.service_listeners.append(self._heard)

    def current(self) -> Plugin | None:
        """The plugin the card follows, if it is still loaded."""
        for plugin in self.manager.plugins.values():
            if plugin.owner == self.owner:
                return plugin
        return None

    def read(self, plugin: Plugin | None) -> dict[str, Any]:
        """What the card shows of `plugin` (None: it is no longer loaded)."""
        if plugin is None:
            return {**self.info, "state": "unloaded", "services": [], "tools": [], "commands": []}
        self.name = plugin.name
        records = {r.name: r for r in self.manager.supervisor.records.values() if r.plugin == plugin.name}
        services = []
        for name, desc, _ in plugin.services:
            record = records.get(name)
            services.append(
                {
                    "name": name,
                    "id": record.id if record is not None else f"{plugin.name}/{name}",
                    "desc": desc,
                    "state": record.state if record is not None else "not started",
                    "restarts": record.restarts if record is not None else 0,
                    "error": (record.last_error or "").split("\n", 1)[0] if record is not None else "",
                }
            )
        tools = [self.manager.tools.get(n) for n in plugin.tools]
        commands = [self.manager.commands.get(n) for n in plugin.commands]
        return {
            "name": plugin.name,
            "version": plugin.version,
            "description": plugin.description,
            "state": plugin.state,
            "path": str(plugin.path),
            "loaded_at": plugin.loaded_at,
            "tools": [{"name": t.name, "desc": t.desc} for t in tools if t is not None],
            "commands": [
                {"name": c.name, "desc": c.desc, "hint": c.hint or ""} for c in commands if c is not None
            ],
            "services": services,
            "last_error": (plugin.last_error or "")[:TRACEBACK_WIDTH],
            "warnings": list(plugin.warnings),
        }

    def sync(self) -> None:
        self.info = self.read(self.current())
        self.model.plugin = self.info
        self.model.clock = time.time()

    def text(self) -> str:
        if not self.closed:
            self.info = self.read(self.current())
        return plugin_text(self.info, time.time())

    def shown(self, display_id: str, parent: dict[str, Any] | None) -> None:
        # The reload runs in the context of the latest cell that showed the card.
        self.context = contextvars.copy_context()
        super().shown(display_id, parent)

    def detach(self) -> None:
        if self._plugin_changed in self.manager.listeners:
            self.manager.listeners.remove(self._plugin_changed)
        host = self.binding.kernel.host
        if self._heard in host.service_listeners:
            host.service_listeners.remove(self._heard)
        if self.model is not None and not self.closed:
            self.model.busy = False
            self.model.ended = True
        super().detach()

    # Private methods

    def _plugin_changed(self, plugin: Plugin) -> None:
        if plugin.owner == self.owner:
            self.changed()

    def _heard(self, event: dict[str, Any]) -> None:
        if event.get("service", {}).get("plugin") == self.name:
            self.changed()

    def _action(self, content: dict[str, Any]) -> None:
        if content.get("action") != "reload" or self.closed or self.model.busy:
            return
        if self.current() is None:
            self.model.notice = notice(f"{self.name} is not loaded: load it again with cru.plugins.load")
            return
        self.model.busy = True
        label = f"plugin card: reload {self.name}"
        self.binding.run_action(self, "reload", self.name, name=label, done=self._done)

    def _done(self, error: str | None) -> None:
        if self.closed:
            return
        self.model.busy = False
        failed = error is not None and error.split("\n", 1)[0]
        self.model.notice = notice(f"reload failed: {failed}" if failed else f"reloaded {self.name}")
        self.changed()
