"""The base of every widget the kernel shows: a model, what it follows, and the outputs showing it.

A `Live` widget owns one ipywidgets model. When what it follows changes, it is told
(`changed`); it then writes the new state into its model at once if it has been quiet for
INTERVAL, else when INTERVAL has passed since the last write. So a source that changes 100,000
times a second costs one comm message per INTERVAL, and the page sees at most 1/INTERVAL
updates a second.

Writes from timers run in an empty context: ipykernel then parents the comm messages to the
latest shell request, which is the running cell while one runs. Headless runners (nbclient)
read only the running cell's messages, and keep the widget state they saw in the notebook.

The outputs showing a widget carry a text/plain form with its values. It is written when the
widget is displayed and brought up to date (update_display_data) when a cell ends, if it has
changed since: the text a notebook keeps is then the state at the last cell's end, not the
state at display time, for nbconvert, terminals and anything else that cannot run widgets.
Pages that show the widget live are left alone (see `refresh_text`).
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import time
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .binding import WidgetBinding

__all__ = ["INTERVAL", "VIEW_MIME", "Live", "asset", "notice"]

INTERVAL = 0.1  # seconds between two writes of one widget's state: at most 10 updates a second
VIEW_MIME = "application/vnd.jupyter.widget-view+json"
DISPLAYS_KEPT = 16  # outputs of one widget whose text is kept current (the latest ones)


def asset(*names: str) -> str:
    """The text of assets/<name> (a view's JavaScript or CSS); of several, joined by a newline."""
    folder = resources.files(__package__).joinpath("assets")
    return "\n".join(folder.joinpath(name).read_text("utf-8") for name in names)


def notice(message: str) -> str:
    """A line saying what a widget's button did, stamped with the time."""
    return f"{time.strftime('%H:%M:%S')} {message}"


class Live:
    """One widget model, kept current with what it shows.

    Subclasses set `model` (an ipywidgets widget, made with `_view_count=0` so that the frontend
    counts its views) in their constructor, write the state of what they follow into it in
    `sync`, and give their plain-text form in `text`.
    """

    kind = "widget"

    def __init__(self, binding: WidgetBinding) -> None:
        self.binding = binding
        self.id = binding.next_id()
        self.model: Any = None
        self.context = contextvars.copy_context()
        """The context the widget was made in (its cell's): callbacks run and write there."""
        self.displays: collections.OrderedDict[str, dict[str, Any]] = collections.OrderedDict()
        """The display ids of the outputs showing the widget, with the request that made each."""
        self.shown_text: str | None = None
        self.closed = False
        self._timer: asyncio.TimerHandle | None = None
        self._last = float("-inf")

    # What subclasses give

    def sync(self) -> None:
        """Write the current state of what the widget follows into the model."""

    def text(self) -> str:
        """The widget as plain text, with its current values."""
        return f"<{self.kind} widget>"

    def given(self, source: Any) -> None:
        """Lua hands over what the widget follows (while it runs): read its state from there."""

    def get(self, key: str) -> Any:
        """The value of property `key` for Lua (None: no such property)."""
        return None

    def set(self, key: str, value: Any) -> str | None:
        """Set property `key` from Lua; returns an error message, or None when it worked."""
        return f"a {self.kind} widget has no property '{key}' that can be set"

    def _action(self, content: dict[str, Any]) -> None:
        """A view sent `content` (a button was pressed): act on it. Views of anywidget models
        reach it through `view_message`."""

    def view_message(self, model: Any, content: Any, buffers: Any) -> None:
        """A custom message from a view (the model's on_msg handler). A new view (another
        output, a reloaded page) asks for fresh state with {refresh: true}; anything else is
        an action."""
        if not isinstance(content, dict):
            return
        if content.get("refresh"):
            self.changed()
        else:
            self._action(content)

    def detach(self) -> None:
        """Let go of the Lua state (it is being replaced): keep the last state, stop following."""
        self._cancel_timer()
        self.closed = True

    # Updates

    def changed(self) -> None:
        """What the widget follows has changed: write it now if quiet, else after INTERVAL."""
        if self._timer is not None or self.closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # told from outside the loop (a session ending at shutdown)
            return
        delay = max(0.0, self._last + INTERVAL - loop.time())
        self._timer = loop.call_later(delay, self._on_timer, context=contextvars.Context())

    def flush(self) -> None:
        """Write the current state into the model now: one comm message at most."""
        self._cancel_timer()
        if self.closed or self.model is None:
            return
        self._last = asyncio.get_running_loop().time()
        with self.model.hold_sync():
            self.sync()

    def pending(self) -> bool:
        """Whether a change waits to be written."""
        return self._timer is not None

    # Outputs

    def bundle(self) -> dict[str, Any]:
        """What an output showing the widget holds: the view of the model, and the text."""
        text = self.text()
        self.shown_text = text
        return {
            VIEW_MIME: {"version_major": 2, "version_minor": 0, "model_id": self.model.model_id},
            "text/plain": text,
        }

    def shown(self, display_id: str, parent: dict[str, Any] | None) -> None:
        """An output with `display_id` now shows the widget."""
        self.displays[display_id] = parent or {}
        self.displays.move_to_end(display_id)
        while len(self.displays) > DISPLAYS_KEPT:
            self.displays.popitem(last=False)

    def refresh_text(self) -> None:
        """Bring the text of the outputs showing the widget up to date, if it changed.

        Only while no page shows a view of it (the frontend counts the views in the model's
        `_view_count`): a page renders the widget live, and would answer a new copy of its
        output by building a new view in place of the one it has.
        """
        if not self.displays or self.model is None or self.model._view_count:
            return
        if self.text() == self.shown_text:
            return
        data = self.bundle()
        publish = self.binding.kernel.host.publish
        for display_id in self.displays:
            publish(
                "update_display_data", {"data": data, "metadata": {}, "transient": {"display_id": display_id}}
            )

    def close(self) -> None:
        """Close the model: the outputs showing it go blank."""
        self.detach()
        if self.model is not None:
            self.model.close()

    # Private methods

    def _on_timer(self) -> None:
        self._timer = None
        self.flush()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
