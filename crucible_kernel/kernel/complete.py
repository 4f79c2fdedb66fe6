"""complete_request: names for the text before the cursor.

- a plain name (`strin`): Lua keywords, globals (through _G's `__index` tables), and the locals
  of the cell that are in scope at the cursor (a token scan: `local`, `local function`,
  function parameters, `for` variables) plus functions the cell defines globally;
- a dotted path (`cru.timer.sl`): the fields of the table, through `__index` tables; matches are
  the whole path (`cru.timer.sleep`), as IPython and jupyter_kernel_test expect;
- a colon path (`limiter:acq`): the callable fields, found through the value's metatable, so the
  methods of userdata objects (rate limiters, task handles) and of strings (`("x"):up`) show.

Every match carries its kind in `_jupyter_types_experimental` (function, method, module, table,
variable, keyword), which JupyterLab shows as a badge. Inside a string or a comment there are no
matches. Names starting with `_` show only once a `_`
is typed. The walk happens in Lua (lua/introspect.lua) in one call, without running user code,
as an interruptible task; an interrupt gives no matches.
"""

from __future__ import annotations

from typing import Any

from .docs import introspection
from .syntax import KEYWORDS, Path, Token, path_at_end, tokenize

__all__ = ["complete", "visible_locals"]


async def complete(rt: Any, code: str, cursor_pos: int) -> dict[str, Any]:
    """The complete_reply content for `code` with the cursor at `cursor_pos` (code points)."""
    code = code if isinstance(code, str) else ""
    try:
        cursor = max(0, min(int(cursor_pos), len(code)))
    except (TypeError, ValueError):
        cursor = len(code)
    try:
        kinds, start = await _complete(rt, code, cursor)
    except Exception:  # completion must never fail the request
        kinds, start = {}, cursor
    matches = sorted(kinds)
    # JupyterLab shows a badge for each match's type (IPython sends the same experimental field).
    types = [{"start": start, "end": cursor, "text": m, "type": kinds[m]} for m in matches]
    return {
        "matches": matches,
        "cursor_start": start,
        "cursor_end": cursor,
        "metadata": {"_jupyter_types_experimental": types},
        "status": "ok",
    }


async def _complete(rt: Any, code: str, cursor: int) -> tuple[dict[str, str], int]:
    """The matches, each with its kind (function, method, module, table, variable, keyword), and
    where the text they replace starts."""
    tokens = tokenize(code[:cursor])
    if tokens and not tokens[-1].closed:
        return {}, cursor  # inside a string or a comment
    path = path_at_end(tokens, cursor)
    if path is None:
        if tokens and tokens[-1].end == cursor and not _name_may_follow(tokens[-1]):
            return {}, cursor
        path = Path("global", (), "", "", cursor, cursor)  # nothing typed yet: every name
    helper = introspection(rt)
    if path.base == "string" or path.names:
        dotted = ".".join(path.names).encode()
        args = (path.base.encode(), dotted, path.last.encode(), path.sep == ":")
        (listing,) = await rt.call(helper[b"fields"], *args, name="complete")
        fields = _kinds(listing)
        names = _visible(fields, path.last)
        if path.base == "string":
            return {n: fields[n] for n in names}, path.last_start
        prefix = path.text[: len(path.text) - len(path.last)]
        return {prefix + n: fields[n] for n in names}, path.start
    scope_tokens = tokens[:-1] if tokens and tokens[-1].end == cursor else tokens
    (listing,) = await rt.call(helper[b"fields"], b"global", b"", path.last.encode(), False, name="complete")
    candidates = {name: "variable" for name in visible_locals(scope_tokens)}
    candidates.update(_kinds(listing))  # a global's own kind wins over a local of that name
    matches = {n: candidates[n] for n in _visible(candidates, path.last) if n not in KEYWORDS}
    matches.update((k, "keyword") for k in KEYWORDS if k.startswith(path.last))
    return matches, path.start


def _name_may_follow(token: Token) -> bool:
    """Whether a name can start right after `token` (after `(` or `=` yes, after `)` or 1 no)."""
    return token.kind == "op" and token.text not in (")", "]", "}", ".", ":", "::")


def _kinds(listing: Any) -> dict[str, str]:
    """The "name\tkind" lines of introspect.lua's `fields` as a dict."""
    text = listing.decode("utf-8", "replace") if isinstance(listing, bytes) else str(listing or "")
    out = {}
    for line in text.split("\n"):
        name, _, kind = line.partition("\t")
        if name:
            out[name] = kind or "variable"
    return out


def _visible(names: Any, prefix: str) -> list[str]:
    return [
        n
        for n in names
        if n.startswith(prefix) and n not in KEYWORDS and (prefix.startswith("_") or not n.startswith("_"))
    ]


def visible_locals(tokens: list[Token]) -> set[str]:
    """The names a chunk made of `tokens` has in scope at its end: its locals (of the blocks still
    open), the parameters and `for` variables of enclosing functions and loops, and the names of
    functions it defines globally (`function name(`)."""
    scopes: list[set[str]] = [set()]
    globals_: set[str] = set()
    pending: set[str] = set()  # for-loop variables, in scope from the loop's `do`
    n = len(tokens)
    i = 0
    while i < n:
        t = tokens[i]
        if t.kind != "keyword":
            i += 1
            continue
        word = t.text
        if word == "local":
            if i + 2 < n and tokens[i + 1].text == "function" and tokens[i + 2].kind == "name":
                scopes[-1].add(tokens[i + 2].text)
            else:
                i = _local_names(tokens, i + 1, scopes[-1])
                continue
        elif word == "function":
            is_local = i > 0 and tokens[i - 1].text == "local"
            i, params, name = _function_head(tokens, i + 1)
            if name is not None and not is_local:
                globals_.add(name)
            scopes.append(params)
            continue
        elif word == "for":
            j = i + 1
            while j < n and tokens[j].kind == "name":
                pending.add(tokens[j].text)
                j += 1
                if j < n and tokens[j].text == ",":
                    j += 1
            i = j
            continue
        elif word == "do":
            scopes.append(pending)
            pending = set()
        elif word in ("then", "repeat"):
            scopes.append(set())
        elif word in ("elseif", "else"):
            if len(scopes) > 1:
                scopes.pop()
            if word == "else":
                scopes.append(set())
        elif word in ("end", "until") and len(scopes) > 1:
            scopes.pop()
        i += 1
    visible = set(globals_)
    for scope in scopes:
        visible |= scope
    return visible


def _local_names(tokens: list[Token], i: int, scope: set[str]) -> int:
    """Add the names of `local a <const>, b` from index i; return the index after them."""
    n = len(tokens)
    while i < n and tokens[i].kind == "name":
        scope.add(tokens[i].text)
        i += 1
        if i + 2 < n and tokens[i].text == "<" and tokens[i + 2].text == ">":
            i += 3  # an attribute: <const>, <close>
        if i < n and tokens[i].text == ",":
            i += 1
        else:
            break
    return i


def _function_head(tokens: list[Token], i: int) -> tuple[int, set[str], str | None]:
    """Read `name.x:y(a, b, ...)` from index i: (index after it, parameter names, the plain
    global name if the function has one)."""
    n = len(tokens)
    parts: list[str] = []
    method = False
    while i < n and (tokens[i].kind == "name" or tokens[i].text in (".", ":")):
        if tokens[i].text == ":":
            method = True
        if tokens[i].kind == "name":
            parts.append(tokens[i].text)
        i += 1
    params: set[str] = {"self"} if method else set()
    if i < n and tokens[i].text == "(":
        i += 1
        while i < n and tokens[i].text != ")":
            if tokens[i].kind == "name":
                params.add(tokens[i].text)
            i += 1
        i += 1
    return i, params, parts[0] if len(parts) == 1 else None
