"""inspect_request and `?name` / `??name`: help on the value named around the cursor.

What is shown depends on the value:

- a documented runtime function (cru.*, crucible.*, methods of the objects they return): its
  signature, description, parameters, returns, whether it yields, and where it is defined;
- a standard library function: its signature and a one-line description;
- a Lua function from a cell or a file: its signature, `source:line`, the doc comment above it,
  and at detail level 1 (`??`) its source text;
- a table: its fields, with the signature and summary of the functions among them;
- a userdata object: its text and its methods; any other value: its type and text.

Nothing here calls user code (see lua/introspect.lua), and nothing raises: a name that cannot
be found, or any failure, gives found=False.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .docs import (
    STDLIB,
    STDLIB_MODULES,
    FunctionDoc,
    chunk_file,
    first_sentence,
    introspection,
    parse_block,
    registry,
)
from .syntax import Path, Token, path_at_end, tokenize

__all__ = ["inspect", "pager_data"]

MANUAL = "https://www.lua.org/manual/5.4/manual.html"
MAX_FIELDS = 80  # fields listed for a table or object
MAX_FILE = 4 << 20  # bytes read from a file to show a function's source
MAX_CALLS = 4  # enclosing calls tried when the name under the cursor means nothing

_NAME_REST = re.compile(r"[A-Za-z0-9_]*")

NOT_FOUND: dict[str, Any] = {"status": "ok", "found": False, "data": {}, "metadata": {}}


async def inspect(
    rt: Any,
    code: str,
    cursor_pos: int,
    detail_level: int = 0,
    sources: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The inspect_reply content for the name at `cursor_pos` (code points) in `code`.

    The name is the dotted or colon path under or just before the cursor; when that names
    nothing, the function of the call whose parentheses hold the cursor (the innermost few).
    `sources` maps chunk names ("cell[3]") to their code, for the source of functions defined in
    cells. The Lua side runs as an interruptible task; an interrupt gives found=False.
    """
    try:
        if not isinstance(code, str):
            return dict(NOT_FOUND, data={}, metadata={})
        cursor = max(0, min(int(cursor_pos), len(code)))
        for path in _candidates(code, cursor):
            page = await _help(rt, path, detail_level, sources or {})
            if page is not None:
                return {
                    "status": "ok",
                    "found": True,
                    "metadata": {},
                    "data": {"text/plain": page.plain(), "text/markdown": page.markdown()},
                }
    except Exception:  # help must never fail the request
        pass
    return dict(NOT_FOUND, data={}, metadata={})


async def pager_data(
    rt: Any, name: str, detail_level: int, sources: Mapping[str, str] | None = None
) -> dict[str, str] | None:
    """The data of a pager payload for `?name` (detail 0) or `??name` (1): the help as plain text
    and as markdown (JupyterLab renders the markdown; terminals page the text). None if `name`
    names nothing."""
    name = name.strip() if isinstance(name, str) else ""
    reply = await inspect(rt, name, len(name), detail_level, sources)
    return dict(reply["data"]) if reply["found"] else None


# What to inspect ---------------------------------------------------------------------------------


def _candidates(code: str, cursor: int) -> list[Path]:
    """Paths to try, best first: the one at the cursor, then the functions of enclosing calls."""
    tokens = tokenize(code[:cursor])
    out: list[Path] = []
    inside = bool(tokens) and not tokens[-1].closed  # in a string or comment
    if not inside:
        rest = _NAME_REST.match(code, cursor)
        head = code[:cursor] + (rest.group() if rest else "")
        head_tokens = tokenize(head) if head != code[:cursor] else tokens
        if head_tokens:
            path = path_at_end(head_tokens, head_tokens[-1].end)
            if path is not None:
                out.append(_trimmed(path))
    out.extend(_calls(tokens))
    return out


def _trimmed(path: Path) -> Path:
    """`cru.timer.` means cru.timer."""
    if path.last or not path.names:
        return path
    return Path(
        path.base, path.names[:-1], "." if len(path.names) > 1 else "", path.names[-1], path.start, path.start
    )


def _calls(tokens: list[Token]) -> list[Path]:
    """The functions of the innermost MAX_CALLS calls still open at the end of `tokens`."""
    stack: list[int] = []
    for i, t in enumerate(tokens):
        if t.kind != "op":
            continue
        if t.text in ("(", "{", "["):
            stack.append(i)
        elif t.text in (")", "}", "]") and stack:
            stack.pop()
    out = []
    for i in reversed(stack):
        if len(out) >= MAX_CALLS:
            break
        if tokens[i].text == "[" or i == 0:
            continue
        path = path_at_end(tokens, tokens[i - 1].end, i)  # the path ending right before it
        if path is not None and path.last:
            out.append(path)
    return out


# Pages -------------------------------------------------------------------------------------------


@dataclass
class _Page:
    """Help text built once for both renderings (plain text and markdown)."""

    title: str  # a code line: the signature or "name: type"
    parts: list[tuple[str, Any]] = field(default_factory=list)

    def text(self, text: str) -> None:
        if text:
            self.parts.append(("text", text))

    def items(self, label: str, items: list[tuple[str, str, str]]) -> None:
        """A list of (name, type, description)."""
        if items:
            self.parts.append(("items", (label, items)))

    def facts(self, facts: list[tuple[str, str]]) -> None:
        """Label: value lines; consecutive calls make one block."""
        facts = [(k, v) for k, v in facts if v]
        if facts and self.parts and self.parts[-1][0] == "facts":
            self.parts[-1][1].extend(facts)
        elif facts:
            self.parts.append(("facts", facts))

    def code(self, label: str, source: str) -> None:
        self.parts.append(("code", (label, source)))

    def link(self, text: str, url: str) -> None:
        self.parts.append(("link", (text, url)))

    def plain(self) -> str:
        blocks = [self.title]
        for kind, value in self.parts:
            if kind == "text":
                blocks.append(value)
            elif kind == "items":
                label, items = value
                heads = [f"{name} ({type_})" if type_ else name for name, type_, _ in items]
                width = min(max(len(h) for h in heads), 36)
                lines = [f"{label}:"]
                for head, (_, _, desc) in zip(heads, items, strict=True):
                    lines.append(f"  {head.ljust(width)}  {desc}" if desc else f"  {head}")
                blocks.append("\n".join(lines))
            elif kind == "facts":
                blocks.append("\n".join(f"{k}: {v}" for k, v in value))
            elif kind == "code":
                label, source = value
                blocks.append(f"{label}:\n{source}")
            elif kind == "link":
                blocks.append(f"{value[0]}: {value[1]}")
        return "\n\n".join(blocks)

    def markdown(self) -> str:
        blocks = [f"```lua\n{self.title}\n```"]
        for kind, value in self.parts:
            if kind == "text":
                blocks.append(value)
            elif kind == "items":
                label, items = value
                lines = [f"**{label}**", ""]
                for name, type_, desc in items:
                    head = f"`{name}`" + (f" (`{type_}`)" if type_ else "")
                    lines.append(f"- {head}: {desc}" if desc else f"- {head}")
                blocks.append("\n".join(lines))
            elif kind == "facts":
                blocks.append("  \n".join(f"**{k}:** {v}" for k, v in value))
            elif kind == "code":
                label, source = value
                blocks.append(f"**{label}**\n\n```lua\n{source}\n```")
            elif kind == "link":
                blocks.append(f"[{value[0]}]({value[1]})")
        return "\n\n".join(blocks)


async def _help(rt: Any, path: Path, detail: int, sources: Mapping[str, str]) -> _Page | None:
    helper = introspection(rt)
    names = [*path.names, path.last] if path.last else list(path.names)
    found, *rest = await rt.call(
        helper[b"inspect"], path.base.encode(), ".".join(names).encode(), name="inspect"
    )
    if not found:
        return None
    info = {_text(k): _plain(v) for k, v in rest[0].items()}
    members = _members(rest[1]) if len(rest) > 1 else []
    display = path.text if path.base == "global" else f'("..."){path.text}'
    std = info.get("name") or info.get("fname")
    if std in STDLIB:
        return _stdlib_help(std)
    if path.base == "global" and path.text in STDLIB and not info.get("callable"):
        return _stdlib_help(path.text, str(info.get("repr", "")))  # math.pi, _VERSION, io.stdout
    if std in STDLIB_MODULES:
        return _table_help(display, members, info, std)
    if info.get("source") is not None:
        module = await _module_of(rt, path, str(info["source"]))
        return _function_help(display, path.sep, info, detail, sources, module)
    if info.get("callable"):
        page = _Page(f"{display}(...)")
        page.text(f"A callable {info['type']} (its __call is not a Lua function).")
        return page
    if info["type"] in ("table", "userdata"):
        return _table_help(display, members, info, None)
    return _value_help(display, info)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _plain(value: Any) -> Any:
    return _text(value) if isinstance(value, bytes) else value


# Functions ---------------------------------------------------------------------------------------


def _signature(display: str, sep: str, params: list[str], takes_self: bool) -> str:
    """`display(params)`, with `self` first when a method is called with `.`."""
    if takes_self and sep != ":":
        params = ["self", *params]
    return f"{display}({', '.join(params)})"


async def _module_of(rt: Any, path: Path, source: str) -> str | None:
    """The cru.* module a runtime function belongs to ("cru.json" for cru.json.encode, however
    it was reached), or None for the user's own functions and ones found nowhere under cru."""
    if chunk_file(source) is None:
        return None
    home: str | None = path.text if path.base == "global" else None
    if home is None or not home.startswith(("cru.", "crucible.")):
        names = [*path.names, path.last] if path.last else list(path.names)
        out = await rt.call(
            introspection(rt)[b"public_path"], path.base.encode(), ".".join(names).encode(), name="inspect"
        )
        home = _text(out[0]) if out and isinstance(out[0], bytes) else None
    if home is None:
        return None
    cut = max(home.rfind("."), home.rfind(":"))
    return home[:cut] if cut > 0 else None


def _function_help(
    display: str,
    sep: str,
    info: dict[str, Any],
    detail: int,
    sources: Mapping[str, str],
    module: str | None = None,
) -> _Page:
    source: str = info["source"]
    first, last = int(info.get("linedefined") or 0), int(info.get("lastlinedefined") or 0)
    params = [p for p in str(info.get("params") or "").split(",") if p]
    if info.get("via_call") and params:
        params = params[1:]  # the callable table itself
    takes_self = bool(params) and params[0] == "self"
    if takes_self:
        params = params[1:]
    # short_src shortens long file paths with "..."; a file's own path is more use
    where = source[1:] if source.startswith("@") else str(info.get("short_src"))
    location = f"{where}:{first}" if first else where
    reg = registry()
    doc = reg.lookup(source, first)
    internal = chunk_file(source) is not None

    if info.get("what") == "C":
        page = _Page(_signature(display, sep, ["..."], False))
        page.text("A built-in (C) function.")
        return page

    comment = None
    if doc is not None:
        takes_self = takes_self or (doc.method and not info.get("via_call"))
        page = _Page(_signature(display, sep, doc.param_names(), takes_self))
        _describe_doc(page, doc)
    elif internal:
        page = _Page(_signature(display, sep, params, takes_self))
        page.text("(No doc comment.)")
    else:
        page = _Page(_definition(display, sep, params, takes_self))
        text = _chunk_text(source, sources)
        comment = _leading_comment(text, first) if text is not None else None
        if comment is not None:
            _describe_doc(page, comment)
    facts = []
    if internal:
        facts.append(("Yields", "yes" if reg.yields(source, first, last) else "no"))
        # Where the runtime keeps it means nothing to a user; the module it belongs to does.
        facts.append(("Module", module or ""))
    else:
        if comment is not None and comment.is_async:
            facts.append(("Yields", "yes"))
        facts.append(("Defined at", location))
    page.facts(facts)
    if detail >= 1:
        body = _function_source(source, first, last, sources)
        if body is not None:
            page.code("Source", body)
        else:
            page.text("(Source not available.)")
    return page


def _describe_doc(page: _Page, doc: FunctionDoc) -> None:
    page.text(doc.description)
    page.items("Parameters", [(p.name, p.type, p.description) for p in doc.params])
    if doc.returns:
        page.items("Returns", [(r.type, "", r.description) for r in doc.returns])
    elif doc.params or doc.is_async:  # annotated, and no ---@return: it returns nothing
        page.facts([("Returns", "nothing")])


def _definition(display: str, sep: str, params: list[str], takes_self: bool) -> str:
    """`function name(a, b)`, as the function could have been defined."""
    if takes_self and sep != ":":
        params = ["self", *params]
    return f"function {display}({', '.join(params)})"


def _chunk_text(source: str, sources: Mapping[str, str]) -> str | None:
    """The whole text of the chunk a function comes from, when it can be had."""
    name = source[1:] if source[:1] in ("=", "@") else None
    for key in (name, source):
        if key is not None and key in sources:
            return sources[key]
    if source.startswith("="):
        file = chunk_file(source)
        return registry().sources.get(file) if file else None
    if source.startswith("@"):
        return _read_regular_file(source[1:])
    return source  # a chunk loaded from a string without a name: its source is the code


def _read_regular_file(path: str) -> str | None:
    """The text of `path` if it is a regular file of at most MAX_FILE bytes. Opened without
    blocking and checked after opening: a FIFO or a device would block or never end."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except (OSError, ValueError):
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE:
            return None
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read(MAX_FILE + 1).decode("utf-8", "replace")
    except (OSError, ValueError):
        return None
    finally:
        os.close(fd)


def _function_source(source: str, first: int, last: int, sources: Mapping[str, str]) -> str | None:
    text = _chunk_text(source, sources)
    if text is None:
        return None
    if first <= 0:  # a main chunk
        return text.rstrip("\n")
    lines = text.split("\n")
    if first > len(lines):
        return None
    return "\n".join(lines[first - 1 : max(first, last)])


_COMMENT = re.compile(r"^\s*--(?!\[=*\[)(.*)$")


def _leading_comment(text: str, line: int) -> FunctionDoc | None:
    """The `--`/`---` comment lines right above `line`, read as a doc block."""
    if line <= 1:
        return None
    lines = text.split("\n")[: line - 1]
    block: list[str] = []
    for raw in reversed(lines):
        m = _COMMENT.match(raw)
        if not m:
            break
        body = m.group(1)
        if body.strip() and set(body.strip()) == {"-"}:
            break  # a separator line
        block.append(body[1:] if body.startswith("-") else body)
    if not block:
        return None
    block.reverse()
    return parse_block(block)


def _stdlib_help(name: str, value: str = "") -> _Page:
    doc = STDLIB[name]
    page = _Page(doc.signature)
    page.text(doc.description)
    facts = [("Value", value), ("Library", f"Lua 5.4 standard library (manual §{doc.section})")]
    if doc.yields:
        facts.append(("Yields", "yes"))
    page.facts(facts)
    page.link("Reference", f"{MANUAL}#pdf-{name.replace(':', '.')}")
    return page


# Tables, objects and other values ----------------------------------------------------------------


@dataclass
class _Member:
    name: str
    type: str
    source: str
    line: int
    params: list[str]
    std: str
    text: str


def _members(listing_bytes: Any) -> list[_Member]:
    listing = _text(listing_bytes or b"")
    out = []
    for row in listing.split("\n"):
        cols = row.split("\t")
        if len(cols) != 7:
            continue
        name, type_, source, line, params, std, text = cols
        out.append(
            _Member(
                name,
                type_,
                source,
                int(line) if line.isdigit() else 0,
                [p for p in params.split(",") if p],
                std,
                text,
            )
        )
    return out


def _table_help(display: str, members: list[_Member], info: dict[str, Any], std: str | None) -> _Page:
    kind = info["type"]
    mtname = info.get("mtname")
    public = [m for m in members if not m.name.startswith("_")]
    functions = [m for m in public if m.source or m.std or "function" in m.type]
    if kind == "userdata":
        page = _Page(f"{display}: {mtname or 'userdata'} (userdata)")
        page.text(str(info.get("repr", "")))
    elif std:
        page = _Page(f"{display}: table (Lua standard library)")
        page.text(STDLIB_MODULES[std])
    else:
        count = int(info.get("count") or 0)
        page = _Page(f"{display}: table ({count} field{'s' if count != 1 else ''})")
        header = _module_header(functions)
        if header:
            page.text(header)
        if not functions:
            page.text(str(info.get("repr", "")))
    if functions:
        label = "Methods" if kind == "userdata" or (kind == "table" and info.get("methods")) else "Functions"
        sep = ":" if label == "Methods" else "."
        page.items(label, [_member_line(m, sep) for m in functions[:MAX_FIELDS]])
    others = [m for m in public if m not in functions and kind == "table" and functions]
    if others:
        page.items("Fields", [(m.name, m.type, _plural(m.text)) for m in others[:MAX_FIELDS]])
    hidden = len(members) - len(public)
    shown = min(len(functions), MAX_FIELDS) + min(len(others), MAX_FIELDS)
    if functions and len(public) > shown:
        page.text(f"({len(public) - shown} more fields not shown)")
    if hidden and functions:
        page.text(f"({hidden} private field{'s' if hidden != 1 else ''} starting with _ not shown)")
    return page


def _member_line(m: _Member, sep: str) -> tuple[str, str, str]:
    if m.std in STDLIB:
        doc = STDLIB[m.std]
        return (
            f"{m.name}({doc.signature.split('(', 1)[1]}" if "(" in doc.signature else m.name,
            "",
            first_sentence(doc.description),
        )
    doc = registry().lookup(m.source, m.line) if m.source else None
    params = m.params
    if "callable" in m.type and params:
        params = params[1:]
    if doc is not None:
        params = doc.param_names()
    elif params and params[0] == "self" and sep == ":":
        params = params[1:]
    summary = doc.summary if doc is not None else ""
    return (f"{m.name}({', '.join(params)})", "", summary)


def _module_header(functions: list[_Member]) -> str:
    """The header line of the runtime file that defines the functions, when they share one."""
    files = {chunk_file(m.source) for m in functions if m.source}
    files.discard(None)
    if len(files) != 1:
        return ""
    return registry().headers.get(files.pop() or "", "")


def _plural(text: str) -> str:
    return "1 field" if text == "1 fields" else text


def _value_help(display: str, info: dict[str, Any]) -> _Page:
    kind = info["type"]
    repr_ = str(info.get("repr", ""))
    if kind == "number":
        page = _Page(f"{display}: number ({info.get('subtype')})")
    elif kind == "string":
        size = int(info.get("len") or 0)
        page = _Page(f"{display}: string ({size} byte{'s' if size != 1 else ''})")
    else:
        page = _Page(f"{display}: {kind}")
    page.text(repr_)
    return page
