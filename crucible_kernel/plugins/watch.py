"""Reloading a plugin whenever one of its files changes (`%plugin watch NAME`).

The watching is watchfiles' (`awatch`: the operating system's notifications, with changes that
come together grouped into one batch), not polling by hand. Each batch reloads the plugin once
and says so through the host's log: `plugin 'x' reloaded (init.lua changed)`, or Crucible's
`Auto-reload failed for plugin 'x': <error>`. A watch belongs to whoever started it (the cell):
running that cell again, unloading the plugin, or `%reset` stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import TYPE_CHECKING

from ..runtime.owners import current_owner

if TYPE_CHECKING:
    from .loader import PluginManager

__all__ = ["DEBOUNCE_MS", "Watch", "start_watch"]

DEBOUNCE_MS = 200  # changes within this many milliseconds make one reload


class Watch:
    """A running watch of one plugin's files."""

    def __init__(self, manager: PluginManager, name: str, owner: str | None) -> None:
        self.manager = manager
        self.name = name
        self.owner = owner
        self.reloads = 0
        self._stop = asyncio.Event()
        self._ready = asyncio.Event()
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"watch {name}")

    def stop(self) -> None:
        self._stop.set()
        self.task.cancel()

    async def ready(self) -> None:
        """Wait until the files are being watched (changes before that are not seen)."""
        await self._ready.wait()

    async def _run(self) -> None:
        from watchfiles import awatch  # on first use

        manager = self.manager
        host = manager.rt.host
        root = manager.get(self.name).path
        with contextlib.suppress(asyncio.CancelledError):
            watcher = awatch(
                root,
                stop_event=self._stop,
                debounce=DEBOUNCE_MS,
                step=20,
                rust_timeout=500,
                yield_on_timeout=True,
            )
            async for changes in watcher:
                self._ready.set()
                if not changes:
                    continue  # the first timeout: watching has begun
                base = root if root.is_dir() else root.parent
                names = sorted({os.path.relpath(path, base) for _, path in changes})
                try:
                    plugin = await manager.reload(self.name)
                except Exception as exc:
                    host.log("warn", f"Auto-reload failed for plugin '{self.name}': {exc}")
                    continue
                self.reloads += 1
                self.name = plugin.name
                host.log("info", f"plugin '{plugin.name}' reloaded ({', '.join(names)} changed)")


def start_watch(manager: PluginManager, name: str) -> Watch:
    """Watch plugin `name` (a loaded one) on behalf of the current owner; replaces a watch the
    plugin already had."""
    plugin = manager.get(name)
    old = manager.watches.pop(plugin.name, None)
    if old is not None:
        old.stop()
    watch = Watch(manager, plugin.name, current_owner())
    manager.watches[plugin.name] = watch
    return watch
