"""The widget of a rate limiter: its tokens as a gauge that refills in the page, its counts.

The limiter counts in Lua (runtime/lua/ratelimit.lua): granted and refused calls and waiting
acquires are plain increments on its bucket, and the first change after the widget last looked
calls the bucket's `watch`, which is this widget's `changed`. The widget then reads the bucket
at most 10 times a second and sends what changed in one comm message. Between messages the view
animates the refill from the token count, the capacity and the interval.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from .live import Live, asset

if TYPE_CHECKING:
    from .binding import WidgetBinding

__all__ = ["LimiterModel", "LimiterWidget", "limiter_text"]

FIELDS = (b"capacity", b"interval", b"tokens", b"stamp", b"granted", b"refused", b"waiting")


class LimiterModel(anywidget.AnyWidget):
    """The model the gauge view (assets/limiter.js) shows."""

    _esm = asset("limiter.js")
    _css = asset("limiter.css")
    capacity = traitlets.Float(5.0).tag(sync=True)
    interval = traitlets.Float(1.0).tag(sync=True)
    tokens = traitlets.Float(5.0).tag(sync=True)
    """Tokens when the state was read; the view refills from there."""
    granted = traitlets.Int(0).tag(sync=True)
    refused = traitlets.Int(0).tag(sync=True)
    waiting = traitlets.Int(0).tag(sync=True)


def _number(x: float) -> str:
    return f"{x:,.0f}" if x >= 100 else f"{x:.3g}"


def _rate(interval: float) -> str:
    per_second = 1 / interval
    if per_second == 1:
        return "1 token/s"
    if per_second > 1:
        return f"{_number(per_second)} tokens/s"
    return f"1 token every {_number(interval)} s"


def limiter_text(state: dict[str, Any]) -> str:
    """A limiter's state as one line of text."""
    return (
        f"RateLimiter: {state['tokens']:.1f} of {_number(state['capacity'])} "
        f"token{'' if state['capacity'] == 1 else 's'}, "
        f"refills {_rate(state['interval'])}; granted {state['granted']}, "
        f"refused {state['refused']}, waiting {state['waiting']}"
    )


class LimiterWidget(Live):
    """The one widget of a limiter's bucket (every display of the limiter shows it).

    The bucket is read from Python in two ways only: as the argument of a native Lua is calling
    (the constructor, `given`), and fetched from Lua when no Lua runs (timers, a cell's end):
    see WidgetBinding.lua_value.
    """

    kind = "limiter"

    def __init__(self, binding: WidgetBinding, given: Any) -> None:
        super().__init__(binding)
        self.state = _read(given, clear=True)
        """The bucket's state when last read, tokens refilled to `read_at`."""
        self.read_at = time.monotonic()
        given[b"watch"] = self.changed
        self.model = LimiterModel(**self.state, _view_count=0)
        self.model.on_msg(self.view_message)

    def given(self, bucket: Any) -> None:
        """Lua hands over the bucket (a display): read the current state from it."""
        self.state, self.read_at = _read(bucket, clear=False), time.monotonic()

    def sync(self) -> None:
        bucket = self.binding.lua_value(self.id, b"bucket")
        if bucket is None:
            return
        self.state, self.read_at = _read(bucket, clear=True), time.monotonic()
        model = self.model
        for name, value in self.state.items():
            setattr(model, name, value)

    def text(self) -> str:
        state = dict(self.state)
        if not self.closed:  # refill to now, as the bucket would
            elapsed = time.monotonic() - self.read_at
            state["tokens"] = min(state["capacity"], state["tokens"] + elapsed / state["interval"])
        return limiter_text(state)


def _read(bucket: Any, clear: bool) -> dict[str, Any]:
    """A bucket's state now (tokens refilled to this moment); `clear`: the widget has looked,
    so the next change calls `watch` again."""
    if clear:
        bucket[b"dirty"] = False
    capacity, interval, tokens, stamp, granted, refused, waiting = (bucket[f] for f in FIELDS)
    return {
        "capacity": capacity,
        "interval": interval,
        "tokens": min(capacity, tokens + (time.monotonic() - stamp) / interval),
        "granted": granted,
        "refused": refused,
        "waiting": waiting,
    }
