"""Reading Lua text for the editing help: a tokenizer, the name path before a cursor, is_complete.

The tokenizer is forgiving: it never raises, and a string or comment still open at the end of
the text becomes one token marked `closed=False` (that is how completion knows the cursor is
inside one). Whether code compiles is left to Lua's own parser (`is_complete`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from lupa import lua54

__all__ = [
    "KEYWORDS",
    "Path",
    "Token",
    "block_depth",
    "is_complete",
    "path_at_end",
    "tokenize",
]

KEYWORDS = frozenset({
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in",
    "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
})  # fmt: skip

_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<comment>--)
  | (?P<long>\[=*\[)
  | (?P<quote>["'])
  | (?P<number>0[xX][0-9a-fA-F]*(?:\.[0-9a-fA-F]*)?(?:[pP][+-]?[0-9]+)?
              |(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\.\.\.|\.\.|==|~=|<=|>=|<<|>>|//|::|[-+*/%^\#&~|<>=(){}\[\];:,.])
    """,
    re.VERBOSE,
)
_LONG_OPEN = re.compile(r"\[(=*)\[")
_SHORT_BODY = {q: re.compile(rf"(?:\\z\s*|\\[\s\S]|[^{q}\\\n])*") for q in "\"'"}


class Token(NamedTuple):
    """One token: `kind` is name, keyword, number, string, comment, op or error."""

    kind: str
    text: str
    start: int
    end: int
    closed: bool = True  # False for a string or comment that the text ends inside


def tokenize(code: str) -> list[Token]:
    """The tokens of `code`, comments included, whitespace left out."""
    tokens: list[Token] = []
    pos, n = 0, len(code)
    while pos < n:
        m = _TOKEN.match(code, pos)
        if m is None:  # a character Lua does not know ($, @, `, non-ASCII, ...)
            tokens.append(Token("error", code[pos], pos, pos + 1))
            pos += 1
            continue
        kind = m.lastgroup
        end = m.end()
        if kind == "space":
            pos = end
            continue
        if kind == "comment":
            long = _LONG_OPEN.match(code, end)
            if long:
                end, closed = _long_end(code, long.end(), long.group(1))
            else:
                newline = code.find("\n", end)
                end, closed = (newline, True) if newline >= 0 else (n, False)
            tokens.append(Token("comment", code[pos:end], pos, end, closed))
        elif kind == "long":
            end, closed = _long_end(code, end, m.group()[1:-1])
            tokens.append(Token("string", code[pos:end], pos, end, closed))
        elif kind == "quote":
            quote = m.group()
            body = _SHORT_BODY[quote].match(code, end)
            end = body.end() if body else end
            closed = end < n and code[end] == quote
            if closed:
                end += 1
            tokens.append(Token("string", code[pos:end], pos, end, closed))
        elif kind == "name":
            text = m.group()
            tokens.append(Token("keyword" if text in KEYWORDS else "name", text, pos, end))
        else:
            tokens.append(Token(kind or "error", m.group(), pos, end))
        pos = end
    return tokens


def _long_end(code: str, start: int, level: str) -> tuple[int, bool]:
    close = code.find("]" + level + "]", start)
    if close < 0:
        return len(code), False
    return close + len(level) + 2, True


# Where the cursor is -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Path:
    """A name path such as `cru.timer.sl` or `limiter:acq`, or a method on a string literal.

    `names` are the complete names before the last separator (empty for a plain name), `last`
    the (possibly partial, possibly empty) name after it, `sep` the last separator ("." or ":",
    "" for a plain name). `base` is "global" (the first name is looked up in _G) or "string"
    (the path starts at a parenthesised string literal: `("x"):up`). `start` is the offset of
    the path's first character, `last_start` that of `last`.
    """

    base: str
    names: tuple[str, ...]
    sep: str
    last: str
    start: int
    last_start: int

    @property
    def text(self) -> str:
        """The path as written, without spaces (`cru.timer.sl`)."""
        if self.base == "string":
            return self.sep + self.last
        return (
            "".join(n + "." for n in self.names[:-1])
            + (self.names[-1] + self.sep if self.names else "")
            + self.last
        )


def path_at_end(tokens: list[Token], end: int, count: int | None = None) -> Path | None:
    """The name path that ends exactly at offset `end` (the last token), or None. With `count`,
    only the first `count` tokens are considered (no copy of the list is made).

    None also when the text there is not a path: a number, a closed string, `f().x`, `t[1].x`, a
    `:` that is not the last separator.
    """
    n = len(tokens) if count is None else count
    if n <= 0 or tokens[n - 1].end != end:
        return None
    last_tok = tokens[n - 1]
    if last_tok.kind in ("name", "keyword"):
        last, last_start, i = last_tok.text, last_tok.start, n - 2
    elif last_tok.kind == "op" and last_tok.text in (".", ":"):
        last, last_start, i = "", end, n - 1
    else:
        return None
    if i < 0 or not _is_sep(tokens[i]):
        return Path("global", (), "", last, last_start, last_start)
    if last_tok.kind == "keyword":
        return None  # `t.end` is not Lua
    names: list[str] = []
    seps: list[str] = []
    start = last_start
    while i >= 0 and _is_sep(tokens[i]):
        seps.append(tokens[i].text)
        before = tokens[i - 1] if i >= 1 else None
        if before is not None and before.kind == "name":
            names.append(before.text)
            start = before.start
            i -= 2
            continue
        if (
            before is not None
            and before.text == ")"
            and i >= 3
            and tokens[i - 2].kind == "string"
            and tokens[i - 2].closed
            and tokens[i - 3].text == "("
            and not names
        ):
            if ":" in seps[1:]:
                return None
            return Path("string", (), seps[0], last, tokens[i - 3].start, last_start)
        return None
    if ":" in seps[1:]:
        return None
    names.reverse()
    return Path("global", tuple(names), seps[0], last, start, last_start)


def _is_sep(token: Token) -> bool:
    return token.kind == "op" and token.text in (".", ":")


def block_depth(tokens: list[Token]) -> int:
    """How many blocks and brackets are open after these tokens (never negative)."""
    depth = 0
    for t in tokens:
        if t.kind == "keyword":
            if t.text in ("function", "do", "then", "repeat"):
                depth += 1
            elif t.text in ("end", "until", "elseif"):
                depth -= 1
        elif t.kind == "op":
            if t.text in ("(", "{", "["):
                depth += 1
            elif t.text in (")", "}", "]"):
                depth -= 1
        depth = max(depth, 0)
    return depth


# is_complete ---------------------------------------------------------------------------------------

# `?name`, `??name`, `name?`, `name??` on a line of its own (the kernel's help syntax).
_HELP = re.compile(r"^\s*(?:\?\??\s*[\w.:]+|[\w.:]+\s*\?\??)\s*$")
_MAX_TAIL_LINES = 12  # as the kernel's compile_cell: how far back a trailing expression is tried


def is_complete(code: str, rt: Any = None) -> dict[str, str]:
    """Whether `code` is ready to run: {"status": "complete"|"incomplete"|"invalid"} (+ "indent").

    Lua's parser decides: code that compiles, alone or with a `return` in front of it or of its
    last lines (as the kernel compiles cells), is complete; a syntax error at the end of the
    text ("... near <eof>") means more is to come; any other error makes it invalid. A newline
    is appended first, so a quoted string left open on its line is invalid, as it would be with
    more lines after it. Magic lines (`%...` at the top, `%%` cells, `?name`) are complete.
    """
    try:
        lua = (
            rt.lua
            if rt is not None
            else lua54.LuaRuntime(encoding=None, register_eval=False, register_builtins=False)
        )
        lua_code = _without_magics(code)
        if lua_code is None or not lua_code.strip():
            return {"status": "complete"}
        verdict = _verdict(lua, lua_code)
        if verdict != "incomplete":
            return {"status": verdict}
        return {"status": "incomplete", "indent": "  " * block_depth(tokenize(lua_code))}
    except Exception:  # never fail the request: let the frontend run the code and show the error
        return {"status": "unknown"}


def _without_magics(code: str) -> str | None:
    """The Lua part of a cell: None for a help line, magic lines blanked (line numbers kept)."""
    if "\n" not in code.strip() and _HELP.match(code):
        return None
    lines = code.split("\n")
    i = 0
    while i < len(lines) and not lines[i].strip():
        i += 1
    while i < len(lines) and lines[i].lstrip().startswith("%"):
        lines[i] = ""
        i += 1
    return "\n".join(lines)


def _verdict(lua: Any, code: str) -> str:
    text = code.rstrip() + "\n"
    as_return = _compile_error(lua, "return " + text)
    if as_return is None:
        return "complete"
    as_is = _compile_error(lua, text)
    if as_is is None:
        return "complete"
    lines = code.rstrip().split("\n")
    for k in range(1, min(_MAX_TAIL_LINES, len(lines) - 1) + 1):
        head, tail = "\n".join(lines[:-k]), "\n".join(lines[-k:])
        ends_in_expression = tail.strip() and not tail.lstrip().startswith("--")
        if ends_in_expression and _compile_error(lua, head + "\nreturn " + tail + "\n") is None:
            return "complete"
    # An error at the very end means the code can still be finished, as a chunk or (because
    # the kernel tries `return <cell>` first) as an expression.
    if as_is.endswith("<eof>") or as_return.endswith("<eof>"):
        return "incomplete"
    return "invalid"


def _compile_error(lua: Any, code: str) -> str | None:
    try:
        lua.compile(code.encode("utf-8", "replace"), b"=cell")
    except lua54.LuaSyntaxError as exc:
        message = exc.args[0] if exc.args else b""
        return message.decode("utf-8", "replace") if isinstance(message, bytes) else str(message)
    except lua54.LuaError:  # out of memory while compiling, ...
        return ""
    return None
