"""cru.widgets in one Lua state: the natives behind lua/widgets.lua, and the widgets made there.

`WidgetBinding(kernel, rt)` loads lua/widgets.lua into the runtime (cru.widgets,
cru.sessions.widget, the __display of limiters, of cru.services and of plugin tables) and keeps
the widgets made in it by id: one services panel, one card per plugin, one widget per limiter.
ipywidgets and anywidget are imported by the first widget, not before.

Callbacks (a button's click, a slider's change) run as Lua tasks of kind "widget", started in
a copy of the context the widget was made in, so what they print goes to that cell; a failing
callback's error is written there too. The panels' buttons (stop, restart, reload) run the
actions of lua/widgets.lua the same way, and tell their widget how it went.

Controls and session views belong to the cell (or plugin) that made them, like its handlers and
tasks: running that cell again closes the ones its previous run made. Limiter gauges, the
services panel and plugin cards are shared by every display and stay.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...runtime import TaskState, owners
from ...runtime.convert import Multi, text
from . import WIDGET_KEY
from .live import Live

if TYPE_CHECKING:
    from ...runtime import LuaTask, Runtime
    from ..kernel import CrucibleKernel
    from .plugin_card import PluginCard
    from .services import ServicesPanel

__all__ = ["WidgetBinding"]

_ids = itertools.count(1)  # widget ids, unique across Lua states (a reset makes a new binding)


class WidgetBinding:
    """The widgets of one Lua state."""

    def __init__(self, kernel: CrucibleKernel, rt: Runtime) -> None:
        self.kernel = kernel
        self.rt = rt
        self.objects: dict[int, Live] = {}
        self.panel: ServicesPanel | None = None
        self.cards: dict[str, PluginCard] = {}
        """The plugin cards by the owner of their plugin (the name it was found under)."""
        natives = rt.natives(self._natives())
        if rt.extensions.get("plugins.metatable") is not None:
            natives[b"plugin_metatable"] = rt.extensions["plugins.metatable"]
        loaded = rt.own_chunk(__package__, "widgets")(rt.engine, natives)
        rt.register("widgets", loaded[b"module"])
        self._kept = loaded[b"kept"]
        self._actions = loaded[b"actions"]
        sessions = rt.cru[b"sessions"]
        if sessions is not None:
            sessions[b"widget"] = loaded[b"session_widget"]
        self.made_by: dict[int, str] = {}
        """The owner (cell or plugin) that made each control and session view, by widget id."""
        owners.registrations(rt).add("widgets", _MadeBy(self))

    def lua_value(self, widget_id: int, key: bytes) -> Any:
        """A Lua value widget `widget_id` keeps (its object, its callback, a limiter's bucket).

        Call it only while no Lua runs (from timers, loop callbacks, a cell's end). lupa ties the
        wrapper of a Lua value handed to a native to the coroutine that handed it over, and uses
        that coroutine's state for every later access, even after the task has ended; and while
        a coroutine runs, reading through the main thread returns the values of the resume
        along with the answer. So widgets keep their Lua values in Lua (lua/widgets.lua's
        `kept`) and fetch them through the main thread when nothing runs.
        """
        entry = self._kept[widget_id]
        return entry[key] if entry is not None else None

    def next_id(self) -> int:
        return next(_ids)

    def add(self, widget: Live) -> int:
        self.objects[widget.id] = widget
        return widget.id

    def services_panel(self) -> ServicesPanel:
        """The services panel of this Lua state (made on first use)."""
        if self.panel is None or self.panel.closed:
            from ...plugins import services
            from .services import ServicesPanel

            self.panel = ServicesPanel(self, services.of(self.rt))
            self.add(self.panel)
        return self.panel

    def plugin_card(self, name: str) -> PluginCard:
        """The card of the plugin called `name` (raises PluginError if none is)."""
        from ... import plugins
        from .plugin_card import PluginCard

        manager = plugins.of(self.rt)
        plugin = manager.get(name)
        card = self.cards.get(plugin.owner)
        if card is None or card.closed:
            card = self.cards[plugin.owner] = PluginCard(self, manager, plugin)
            self.add(card)
        return card

    def add_owned(self, widget: Live) -> int:
        """Add a widget that the owner making it takes back (see the module's docstring)."""
        owner = owners.current_owner()
        if owner is not None:
            self.made_by[widget.id] = owner
        return self.add(widget)

    def close(self, widget_id: int, *, from_lua: bool = False) -> None:
        """Close widget `widget_id`. Called from Python (while no Lua runs), it also forgets what
        Lua kept for the widget; `widget:close()` in Lua has done that itself."""
        self.made_by.pop(widget_id, None)
        widget = self.objects.pop(widget_id, None)
        if widget is None:
            return
        if not from_lua:
            self._kept[widget_id] = None
        widget.close()

    def get(self, widget_id: Any) -> Live | None:
        try:
            return self.objects.get(int(widget_id))
        except (TypeError, ValueError):
            return None

    def cell_finished(self) -> None:
        """A cell is ending: write every pending change and bring the outputs' text up to date,
        parented to that cell (headless runners stop reading at its end)."""
        for widget in list(self.objects.values()):
            if widget.closed:
                continue
            if widget.pending():
                widget.flush()
            widget.refresh_text()

    def detach(self) -> None:
        """The Lua state is being replaced: every widget keeps its last state and goes inert."""
        for widget in list(self.objects.values()):
            if not widget.closed:
                if widget.pending():
                    widget.flush()
                widget.detach()
        self.objects.clear()

    def run_callback(self, widget: Live, *args: Any, name: str) -> None:
        """Run the widget's Lua callback as `fn(*args, widget)` in a task of its own, in the
        context of the widget's cell (where its output goes); its error is written there."""

        def fetch() -> tuple[Any, tuple[Any, ...]] | None:
            fn = self.lua_value(widget.id, b"fn")
            return None if fn is None else (fn, (*args, self.lua_value(widget.id, b"widget")))

        self._start(widget, fetch, name, self._report)

    def run_action(
        self, widget: Live, action: str, *args: Any, name: str, done: Callable[[str | None], None]
    ) -> None:
        """Run action `action` of lua/widgets.lua (a panel's stop or restart, a card's reload)
        with `args`, as a callback of `widget` runs; then `done(None)`, or `done(message)` when
        it failed or was stopped."""

        def fetch() -> tuple[Any, tuple[Any, ...]] | None:
            return self._actions[action.encode()], args

        def finished(task: LuaTask) -> None:
            if task.state is TaskState.DONE:
                done(None)
            elif task.state is TaskState.FAILED and task.error is not None:
                done(task.error.message)
            else:
                done(f"was {task.stop or 'cancelled'}")

        self._start(widget, fetch, name, finished)

    # Private methods

    def _start(
        self,
        widget: Live,
        fetch: Callable[[], tuple[Any, tuple[Any, ...]] | None],
        name: str,
        finished: Callable[[LuaTask], None],
    ) -> None:
        """Start the Lua function `fetch` gives, with its arguments, as a task of kind "widget"
        on the next turn of the loop, in the context of the widget's cell (where its output
        goes); `finished(task)` runs when it ends.

        Not at once: a change made from Lua (slider.value = 3) calls this while Lua runs, and
        the function is fetched from Lua (see `lua_value`)."""
        if widget.closed:
            return
        context = widget.context.copy()

        def start() -> None:
            if widget.closed:
                return
            fetched = fetch()
            if fetched is None:
                return
            fn, args = fetched
            task = self.rt.start(fn, *args, name=name, kind="widget", context=context)
            if task.asyncio_task is not None:
                task.asyncio_task.add_done_callback(lambda _: finished(task), context=context)

        asyncio.get_running_loop().call_soon(start, context=context)

    def _report(self, task: LuaTask) -> None:
        if task.state is TaskState.FAILED and task.error is not None:
            self.kernel.host.log("warn", f"Widget callback error: {task.error.traceback}")

    def _natives(self) -> dict[str, Any]:
        rt = self.rt

        def limiter(bucket: Any) -> int:
            from .limiter import LimiterWidget

            return self.add(LimiterWidget(self, bucket))

        def button(label: bytes) -> int:
            from .controls import ButtonWidget

            return self.add_owned(ButtonWidget(self, text(label)))

        def slider(
            integer: bool, low: float, high: float, step: float, value: float, label: bytes, continuous: bool
        ) -> int:
            from .controls import SliderWidget

            widget = SliderWidget(self, bool(integer), low, high, step, value, text(label), bool(continuous))
            return self.add_owned(widget)

        async def session(session_id: bytes) -> Multi:
            from .session import SessionWidget

            sessions = self.kernel.sessions
            if sessions is None or not sessions.enabled:
                return Multi(None, "no daemon connected")
            sid = text(session_id)
            found = await sessions.service.get(sid)
            if found is None:
                return Multi(None, f"Session not found: {sid}")
            return Multi(self.add_owned(SessionWidget(self, found)), None)

        def bundle(widget_id: int, source: Any = None) -> tuple[Any, Any]:
            widget = self.get(widget_id)
            if widget is None or widget.model is None:
                return rt.to_lua({"text/plain": "<closed widget>"}), rt.to_lua({})
            if source is not None:
                widget.given(source)
            return rt.to_lua(widget.bundle()), rt.to_lua({WIDGET_KEY: str(widget.id)})

        def text_of(widget_id: int) -> bytes:
            widget = self.get(widget_id)
            return (widget.text() if widget is not None else "<closed widget>").encode()

        def get(widget_id: int, key: Any) -> Any:
            widget = self.get(widget_id)
            if widget is None or not isinstance(key, bytes):
                return None
            return rt.to_lua(widget.get(text(key)))

        def set_(widget_id: int, key: Any, value: Any) -> bytes | None:
            widget = self.get(widget_id)
            if widget is None:
                return b"this widget is closed"
            if not isinstance(key, bytes):
                return b"widget properties are named by strings"
            error = widget.set(text(key), value)
            return error.encode() if error else None

        def services_panel() -> tuple[Any, Any]:
            return bundle(self.services_panel().id)

        def plugin_card(name: Any) -> tuple[Any, Any]:
            from ...plugins import PluginError

            try:
                card = self.plugin_card(text(name))
            except PluginError as exc:
                return rt.to_lua({"text/plain": f"<{exc}>"}), rt.to_lua({})
            return bundle(card.id)

        def close(widget_id: int) -> None:
            self.close(int(widget_id), from_lua=True)

        return {
            "limiter": limiter,
            "button": button,
            "slider": slider,
            "session": session,
            "bundle": bundle,
            "text": text_of,
            "get": get,
            "set": set_,
            "close": close,
            "services_panel": services_panel,
            "plugin_card": plugin_card,
        }


class _MadeBy:
    """The owned registry of controls and session views (runtime/owners.py)."""

    def __init__(self, binding: WidgetBinding) -> None:
        self.binding = binding

    def unregister_owner(self, owner: str | None) -> int:
        ids = [i for i, made_by in self.binding.made_by.items() if made_by == owner]
        for widget_id in ids:
            self.binding.close(widget_id)
        return len(ids)

    def count_owner(self, owner: str | None) -> int:
        return sum(made_by == owner for made_by in self.binding.made_by.values())
