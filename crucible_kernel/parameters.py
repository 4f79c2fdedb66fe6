"""Papermill parameters as Lua: `papermill demo.ipynb out.ipynb -p who world` on a Lua notebook.

Papermill writes the parameters into a new cell after the one tagged `parameters`, in the
notebook's language, through a translator registered under the kernel's or the language's name.
This one writes Lua assignments to globals (the cells share them): strings quoted and escaped,
integers and floats as Lua writes them (`math.huge`, `-math.huge`, `(0/0)` for the
non-finite), booleans, `nil`, lists and dicts as tables.

Papermill registers translators in code only; the extension points it loads by itself are its
engines. So this module is also an engine, `crucible` (papermill's nbclient engine reaching
the kernel over private Unix sockets, as `crucible-kernel execute` does), and the package
declares it under the `papermill.engine` entry point: papermill imports it with its engines,
which registers the translator for "lua" and "crucible-lua". It is declared under
`papermill.translators` too, for a papermill that reads translators from entry points.
"""

from __future__ import annotations

import math
import re
from typing import Any

from papermill.engines import NBClientEngine
from papermill.models import Parameter
from papermill.translators import Translator, papermill_translators

from .kernel.syntax import KEYWORDS
from .notebooks import local_transport

__all__ = ["CrucibleEngine", "LuaTranslator", "lua_string"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f]')


def lua_string(text: str) -> str:
    """`text` as a Lua string literal: quoted, with backslash escapes for quotes, backslashes and
    control characters (three-digit decimal ones, so a digit after them is never read into
    them); other characters stay as they are (UTF-8)."""

    def escaped(m: re.Match[str]) -> str:
        c = m.group()
        return _ESCAPES.get(c) or f"\\{ord(c):03d}"

    return '"' + _NEEDS_ESCAPE.sub(escaped, text) + '"'


def is_name(name: str) -> bool:
    """Whether `name` can be written as a bare Lua name (an identifier, not a keyword)."""
    return bool(_IDENTIFIER.match(name)) and name not in KEYWORDS


class LuaTranslator(Translator):
    """Papermill's parameters as Lua assignments."""

    @classmethod
    def translate_str(cls, val: str) -> str:
        return lua_string(val)

    @classmethod
    def translate_none(cls, val: None) -> str:
        return "nil"

    @classmethod
    def translate_int(cls, val: int) -> str:
        return str(val)  # beyond 64 bits Lua reads a decimal numeral as a float

    @classmethod
    def translate_float(cls, val: float) -> str:
        if math.isnan(val):
            return "(0/0)"
        if math.isinf(val):
            return "math.huge" if val > 0 else "-math.huge"
        return repr(val)  # 1.0, 1e+16, 2.5e-07: Lua reads each as that float

    @classmethod
    def translate_bool(cls, val: bool) -> str:
        return "true" if val else "false"

    @classmethod
    def translate_list(cls, val: list[Any]) -> str:
        return "{" + ", ".join(cls.translate(v) for v in val) + "}"

    @classmethod
    def translate_dict(cls, val: dict[Any, Any]) -> str:
        fields = []
        for key, value in val.items():
            if isinstance(key, str) and is_name(key):
                head = key
            elif isinstance(key, str):
                head = f"[{lua_string(key)}]"
            else:
                head = f"[{cls.translate(key)}]"
            fields.append(f"{head} = {cls.translate(value)}")
        return "{" + ", ".join(fields) + "}"

    @classmethod
    def comment(cls, cmt_str: str) -> str:
        return f"-- {cmt_str}".strip()

    @classmethod
    def assign(cls, name: str, str_val: str) -> str:
        target = name if is_name(name) else f"_ENV[{lua_string(name)}]"
        return f"{target} = {str_val}"

    @classmethod
    def inspect(cls, parameters_cell: Any) -> list[Parameter]:
        """The parameters a `parameters` cell assigns (`name = value  -- help`), for
        `papermill --help-notebook`; lines that are not such an assignment are skipped."""
        found = []
        for line in str(parameters_cell.source).split("\n"):
            m = _ASSIGNMENT.match(line)
            if m is None:
                continue
            value, help_text = m.group("value").strip(), (m.group("help") or "").strip()
            found.append(Parameter(m.group("name"), _type_of(value), value, help_text))
        return found


_ASSIGNMENT = re.compile(
    r"^\s*(?:local\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*"
    r"(?P<value>\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'|[^-]*?)\s*(?:--\s*(?P<help>.*))?$"
)


def _type_of(value: str) -> str:
    if value[:1] in ("'", '"'):
        return "string"
    if value in ("true", "false"):
        return "boolean"
    if value == "nil":
        return "nil"
    if value.startswith("{"):
        return "table"
    try:
        float(value)
    except ValueError:
        return "None"  # papermill's spelling of "could not tell"
    return "number"


class CrucibleEngine(NBClientEngine):
    """Papermill's nbclient engine, with the kernel reached over private Unix sockets (no
    'running over TCP without encryption' warning): `papermill --engine crucible ...`."""

    @classmethod
    def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, **kwargs: Any) -> Any:
        with local_transport() as config:
            if config is not None:
                kwargs["config"] = config
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)


for _name in ("lua", "crucible-lua", "crucible-lua-safe"):
    papermill_translators.register(_name, LuaTranslator)
