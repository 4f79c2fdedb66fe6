"""Widgets in the notebook: live views of runtime objects, and controls that run Lua.

- A rate limiter shown with display(limiter), or as a cell's value, is a gauge that refills in
  the page, with its counts (limiter.py).
- `cru.sessions.widget(id)` follows a session's conversation (session.py).
- `cru.widgets.button` and `cru.widgets.slider` run Lua callbacks as tasks (controls.py).
- `%services` or display(cru.services) shows the services panel, with stop and restart buttons
  (services.py); a plugin table or `%plugin show NAME` shows the plugin's card (plugin_card.py).

Their models live in the kernel (ipywidgets, anywidget for the gauge), so they keep updating
after the cell that made them has finished and after a page reload. Updates are coalesced
(live.py). The comm targets are registered at start-up (comms.py); ipywidgets is imported by
the first widget or the first comm, which keeps it out of the kernel's start-up (as is
everything here but this module and comms.py).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ...runtime import LuaTask, Runtime
    from ..kernel import CrucibleKernel
    from .binding import WidgetBinding
    from .comms import WidgetComms
    from .live import Live

__all__ = ["WIDGET_KEY", "KernelWidgets"]

WIDGET_KEY = "crucible_kernel/widget"  # metadata of a widget's bundle: the id of the widget shown


class KernelWidgets:
    """The kernel's widgets: those of the current Lua state, and the outputs that show them."""

    def __init__(self, kernel: CrucibleKernel) -> None:
        self.kernel = kernel
        self.binding: WidgetBinding | None = None
        self.comms: WidgetComms | None = None

    def register_comm_targets(self, comm_manager: Any) -> None:
        """Register the widget comm targets (at start-up; ipywidgets is imported on first use)."""
        from .comms import WidgetComms

        self.comms = WidgetComms(comm_manager)

    def attach(self, rt: Runtime) -> None:
        """Give a new Lua state cru.widgets; the widgets of the one it replaces go inert."""
        from .binding import WidgetBinding  # with the first Lua state: not at start-up

        if self.binding is not None:
            self.binding.detach()
        self.binding = WidgetBinding(self.kernel, rt)

    def show_services(self) -> None:
        """Show the services panel of the current Lua state in the running cell."""
        self._show(self._binding().services_panel())

    def show_plugin(self, name: str) -> None:
        """Show the card of plugin `name` in the running cell (raises PluginError if unknown)."""
        self._show(self._binding().plugin_card(name))

    @staticmethod
    def wants_display_id(metadata: dict[str, Any] | None) -> bool:
        """Whether a bundle shows a widget (its output needs a display id: see `shown`)."""
        return bool(metadata) and WIDGET_KEY in metadata  # type: ignore[operator]

    @staticmethod
    def take_token(metadata: dict[str, Any] | None) -> tuple[Any, dict[str, Any] | None]:
        """(widget token, metadata without it) when a bundle shows a widget, else (None, metadata)."""
        if not metadata or WIDGET_KEY not in metadata:
            return None, metadata
        return metadata[WIDGET_KEY], {k: v for k, v in metadata.items() if k != WIDGET_KEY}

    def shown(self, token: Any, display_id: str, parent: dict[str, Any] | None) -> None:
        """The output `display_id` (made by request `parent`) shows the widget of `token`."""
        widget = self.binding.get(token) if self.binding is not None else None
        if widget is not None:
            widget.shown(display_id, parent)

    def task_event(self, task: LuaTask, event: str) -> None:
        """At a cell's end (in its context), write what changed and refresh the outputs' text."""
        if event == "finished" and task.kind == "cell" and self.binding is not None:
            self.binding.cell_finished()

    # Private methods

    def _binding(self) -> WidgetBinding:
        self.kernel.runtime  # noqa: B018  (the first Lua state, and its binding, are made on first use)
        assert self.binding is not None
        return self.binding

    def _show(self, widget: Live) -> None:
        # An output with a display id, as a widget shown from Lua gets (its text is kept current).
        self.kernel.host.display(widget.bundle(), {WIDGET_KEY: str(widget.id)}, uuid.uuid4().hex)
