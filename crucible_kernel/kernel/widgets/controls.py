"""Controls made from Lua: cru.widgets.button and cru.widgets.slider.

Their callbacks are Lua functions run as tasks of their own (kind "widget"), never from inside
the traitlets observer that hears the change: a coroutine cannot yield through a Python frame,
and a callback may wait like any other task.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import ipywidgets

from ...runtime.convert import text as lua_text
from .live import Live

if TYPE_CHECKING:
    from .binding import WidgetBinding

__all__ = ["ButtonWidget", "SliderWidget"]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class _Control(Live):
    """A control with settable properties, whose callback (kept in Lua) gets its Lua object."""

    def _label(self) -> str:
        return str(self.model.description)

    def set_common(self, key: str, value: Any) -> str | bool | None:
        """Set `label` or `disabled`; False when `key` is neither."""
        if key == "label":
            if not isinstance(value, bytes | int | float) or isinstance(value, bool):
                return f"a {self.kind}'s label must be a string, got {_lua_type(value)}"
            self.model.description = lua_text(value) if isinstance(value, bytes) else str(value)
            return None
        if key == "disabled":
            if not isinstance(value, bool):
                return f"a {self.kind}'s disabled must be a boolean, got {_lua_type(value)}"
            self.model.disabled = value
            return None
        return False

    def detach(self) -> None:
        if self.model is not None:
            self.model.disabled = True  # its Lua state is gone: show that it does nothing now
        super().detach()


class ButtonWidget(_Control):
    kind = "button"

    def __init__(self, binding: WidgetBinding, label: str) -> None:
        super().__init__(binding)
        self.clicks = 0
        self.model = ipywidgets.Button(description=label, _view_count=0)
        self.model.on_click(self._clicked)

    def text(self) -> str:
        times = "1 click" if self.clicks == 1 else f"{self.clicks} clicks"
        state = ", disabled" if self.model.disabled else ""
        return f"[ {self._label()} ] button ({times}{state})"

    def get(self, key: str) -> Any:
        if key == "label":
            return self._label()
        if key == "disabled":
            return bool(self.model.disabled)
        if key == "clicks":
            return self.clicks
        return None

    def set(self, key: str, value: Any) -> str | None:
        result = self.set_common(key, value)
        if result is False:
            return f"a button has no property '{key}' that can be set (label, disabled)"
        return result or None

    def _clicked(self, _model: Any) -> None:
        if self.closed:
            return
        self.clicks += 1
        self.binding.run_callback(self, name=f"button {self._label()!r}")


class SliderWidget(_Control):
    kind = "slider"

    def __init__(
        self,
        binding: WidgetBinding,
        integer: bool,
        low: float,
        high: float,
        step: float,
        value: float,
        label: str,
        continuous: bool,
    ) -> None:
        super().__init__(binding)
        self.integer = integer
        cls = ipywidgets.IntSlider if integer else ipywidgets.FloatSlider
        convert = int if integer else float
        self.model = cls(
            value=convert(value),
            min=convert(low),
            max=convert(high),
            step=convert(step),
            description=label,
            continuous_update=continuous,
            _view_count=0,
        )
        self.model.observe(self._value_changed, names="value")

    def text(self) -> str:
        m = self.model
        label = f"{self._label()}: " if self._label() else ""
        return f"{label}{m.value:g} (slider {m.min:g}..{m.max:g}, step {m.step:g})"

    def get(self, key: str) -> Any:
        if key in ("value", "min", "max", "step"):
            return getattr(self.model, key)
        if key == "label":
            return self._label()
        if key == "disabled":
            return bool(self.model.disabled)
        return None

    def set(self, key: str, value: Any) -> str | None:
        if key in ("value", "min", "max", "step"):
            if not _is_number(value):
                return f"a slider's {key} must be a finite number, got {_lua_type(value)}"
            if self.integer and value != int(value):
                return f"an integer slider's {key} must be an integer, got {value:g}"
            if key == "step" and not value > 0:
                return f"a slider's step must be positive, got {value:g}"
            m = self.model
            if (key == "min" and value >= m.max) or (key == "max" and value <= m.min):
                return f"a slider's min must stay below its max (now {m.min:g}..{m.max:g}; {key} {value:g})"
            setattr(m, key, int(value) if self.integer else float(value))
            return None
        result = self.set_common(key, value)
        if result is False:
            names = "value, label, min, max, step, disabled"
            return f"a slider has no property '{key}' that can be set ({names})"
        return result or None

    def _value_changed(self, change: dict[str, Any]) -> None:
        if self.closed:
            return
        label = self._label() or "slider"
        self.binding.run_callback(self, change["new"], name=f"{label} on_change")


def _lua_type(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, bytes):
        return "string"
    from lupa import lua54

    return lua54.lua_type(value) or "userdata"
