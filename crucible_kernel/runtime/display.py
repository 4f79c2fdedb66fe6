"""Notebook output from Lua: display(), cru.display, clear_output, ilua.display, cell results.

The Lua side is lua/display.lua (the API) and lua/pretty.lua (the pretty printer). Everything
leaves through the host: `Host.display(data, metadata, display_id, update)` and
`Host.clear_output(wait)`. A bundle crosses from Lua as flat (mime, data, kind) triples, so no
Lua table is walked from Python:

- TEXT: a Lua string, decoded as UTF-8 (invalid bytes replaced);
- JSON: a JSON text written by cru.json.encode, loaded into dicts and lists;
- BASE64: raw bytes (an image), base64-encoded here.

Every rich output carries a text/plain that says something (plain_text.py): the text of HTML, the
markdown source, an image's type and size; terminals and text exports show that.

The kernel turns a finished cell's values into its execute_result with `result_bundle`.
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import TYPE_CHECKING, Any

from lupa import lua54

from .errors import LuaError, Stopped

if TYPE_CHECKING:
    from .engine import Runtime

__all__ = ["described_error", "install", "result_bundle"]

TEXT, JSON, BASE64 = 1, 2, 3  # the kinds of lua/display.lua

Bundle = tuple[dict[str, Any], dict[str, Any]]


def _data(items: tuple[Any, ...], start: int) -> dict[str, Any]:
    """The mime bundle of the (mime, data, kind) triples in items[start:]."""
    data: dict[str, Any] = {}
    for i in range(start, len(items), 3):
        value, kind = items[i + 1], items[i + 2]
        if kind == TEXT:
            value = value.decode("utf-8", "replace")
        elif kind == JSON:
            value = json.loads(value)
        else:
            value = base64.b64encode(value).decode("ascii")
        data[items[i].decode("utf-8", "replace")] = value
    return data


def _metadata(text: bytes | None) -> dict[str, Any]:
    return json.loads(text) if text else {}


def install(rt: Runtime) -> None:
    """Register cru.display and the globals display, clear_output and ilua."""
    host = rt.host

    def publish(display_id: bytes | None, update: bool, metadata: bytes | None, *items: Any) -> None:
        ident = display_id.decode("utf-8", "replace") if display_id is not None else None
        host.display(_data(items, 0), _metadata(metadata), ident, bool(update))

    def new_id() -> bytes:
        return uuid.uuid4().hex.encode()

    def clear(wait: bool) -> None:
        host.clear_output(bool(wait))

    # plain_text (html.parser) is imported on first use: 4 ms of kernel start-up otherwise.
    def html_plain(html: bytes) -> bytes:
        from .plain_text import html_text

        return html_text(html.decode("utf-8", "replace")).encode()

    def svg_plain(svg: bytes) -> bytes:
        from .plain_text import svg_text

        return svg_text(svg.decode("utf-8", "replace")).encode()

    def image_plain(mime: bytes, data: bytes) -> bytes:
        from .plain_text import image_text

        return image_text(mime.decode("ascii", "replace"), data).encode()

    json_module = rt.cru[b"json"]
    module = rt.lua_module(
        "display",
        {
            "pretty": rt.lua_module("pretty"),
            "publish": publish,
            "new_id": new_id,
            "clear": clear,
            "html_text": html_plain,
            "svg_text": svg_plain,
            "image_text": image_plain,
            "json_encode": json_module[b"encode"],
            "json_decode": json_module[b"decode"],
        },
    )
    rt.register("display", module[b"module"])
    globals_ = rt.lua.globals()
    for name in (b"display", b"clear_output", b"ilua"):
        globals_[name] = module[name]
    rt.extensions["display.result"] = module[b"result"]
    rt.extensions["display.format"] = module[b"module"][b"format"]
    rt.extensions["display.error_value"] = module[b"error_value"]


async def result_bundle(rt: Runtime, values: tuple[Any, ...]) -> Bundle | None:
    """The (data, metadata) of the execute_result for the values a cell returned.

    `values` are the Lua values as the driver collected them (bytes, numbers, booleans, None for
    nil, lupa objects for tables and userdata). Returns None when there is nothing to show: no
    values, or only display handles (the output they made is already on the page). One value
    whose metatable has __display gives its rich bundle; otherwise every value is formatted as
    text, joined by tabs (by newlines when one spans several lines).

    The formatting runs user code (__display, __tostring), so it runs as an interruptible task.
    Raises LuaError when it fails (a __display that raises or returns a bad bundle) and Stopped
    when an interrupt stopped it.
    """
    if not values:
        return None
    out = await rt.call(rt.extensions["display.result"], *values, name="result", kind="helper")
    if not out or (out[0] is None and len(out) == 1):
        return None
    return _data(out, 1), _metadata(out[0])


async def described_error(rt: Runtime, error: LuaError, value: Any) -> LuaError:
    """`error`, raised with `value`, as a reader wants it when `value` is a plain table.

    Lua reports `error({code = 42})` as `table: 0x...`. The task already took a table's `message`
    field as its message; here the table itself is shown too, pretty-printed: as the message
    when it has no `message` field, else on a line of its own after it. Any other error comes
    back as it is. The pretty printer runs as an interruptible helper task; if it fails or is
    stopped, the error comes back as it is too.
    """
    if lua54.lua_type(value) != "table" or "display.error_value" not in rt.extensions:
        return error
    try:
        out = await rt.call(rt.extensions["display.error_value"], value, name="error value", kind="helper")
    except (LuaError, Stopped):
        return error
    if not out or not isinstance(out[0], bytes):
        return error
    text = out[0].decode("utf-8", "replace")
    has_message = len(out) > 1 and out[1] is True
    old, traceback = error.message, error.traceback
    rest = traceback[len(old) :] if traceback.startswith(old) else "\n" + traceback
    if has_message:
        return LuaError(old, f"{old}\nerror value: {text}{rest}")
    return LuaError(text, text + rest)
