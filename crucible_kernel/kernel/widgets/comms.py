"""The widget comm targets, registered at start-up without importing ipywidgets.

A frontend's widget manager opens a `jupyter.widget.control` comm as soon as it connects (to
fetch the state of every widget), and a `jupyter.widget` comm whenever a widget is created in
the page. Both targets must exist from the start: a missing one makes the kernel answer with
errors that JupyterLab drops, and widgets restore only through a fallback. Importing ipywidgets
costs about 40 ms, so the handlers registered here import it when the first comm opens and then
hand over to ipywidgets' own handlers (which replace them for every later comm).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["CONTROL_TARGET", "WIDGET_TARGET", "WidgetComms"]

WIDGET_TARGET = "jupyter.widget"
CONTROL_TARGET = "jupyter.widget.control"


class WidgetComms:
    """The widget comm targets of one comm manager, handed to ipywidgets on first use."""

    def __init__(self, comm_manager: Any) -> None:
        self.comm_manager = comm_manager
        self.loaded = False
        for target in (WIDGET_TARGET, CONTROL_TARGET):
            comm_manager.register_target(target, self._deferred(target))

    def load(self) -> None:
        """Import ipywidgets and register its own handlers for both targets."""
        if self.loaded:
            return
        import ipywidgets

        ipywidgets.register_comm_target()  # through comm.get_comm_manager(), set up by the kernel
        self.loaded = True

    def _deferred(self, target: str) -> Callable[[Any, dict[str, Any]], None]:
        def opened(comm: Any, msg: dict[str, Any]) -> None:
            self.load()
            handler = self.comm_manager.targets[target]
            if handler is opened:  # ipywidgets did not take over: refuse rather than loop
                raise RuntimeError(f"ipywidgets did not register the {target} comm target")
            handler(comm, msg)

        return opened
