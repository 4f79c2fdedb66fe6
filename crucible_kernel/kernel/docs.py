"""The documentation behind inspection: `---` doc comments of the runtime's Lua files, and the
Lua 5.4 standard library.

Doc comments are LuaCATS blocks (`---` summary lines, `---@param name type description`,
`---@return type description`, `---@async`) right above a function definition. The registry
reads every `lua/*.lua` of the runtime and of this package on first use and keys each block by
(chunk file, line of the `function` keyword). A live function is matched to its block through
`debug.getinfo(fn, "S")`: its source "=crucible/timer.lua" and its `linedefined`. So a function
is found however it was exported (`function M.f`, `M.f = function`, a `local function` returned
later, a callable table's `__call`).

This module also loads the Lua half of the editing help (`lua/introspect.lua`), once per runtime.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from lupa import lua54

__all__ = [
    "STDLIB",
    "STDLIB_MODULES",
    "FunctionDoc",
    "Param",
    "Registry",
    "Return",
    "StdDoc",
    "chunk_file",
    "doc_of",
    "first_sentence",
    "introspection",
    "parse_block",
    "parse_lua",
    "public_functions",
    "registry",
    "split_type",
]

INTERNAL_PREFIX = "=crucible/"  # chunk names of the runtime's own Lua (engine.Runtime._chunk)
LUA_DIRS = (
    "crucible_kernel.runtime",
    "crucible_kernel.kernel",
    "crucible_kernel.sessions",
    "crucible_kernel.plugins",
    "crucible_kernel.kernel.widgets",
)  # with a lua/ folder


# Doc comments ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: str  # "opts?" keeps the LuaCATS mark of an optional parameter
    type: str
    description: str = ""


@dataclass(frozen=True)
class Return:
    type: str
    description: str = ""


@dataclass(frozen=True)
class FunctionDoc:
    """One documented function, as its doc comment and definition line describe it."""

    chunk: str  # "timer.lua"
    line: int  # the line of the `function` keyword (debug.getinfo's linedefined)
    name: str  # as defined: "timer.sleep", "Limiter:acquire", "spawn", "__call"
    description: str  # the text of the block, paragraphs separated by a blank line
    params: tuple[Param, ...] = ()
    returns: tuple[Return, ...] = ()
    is_async: bool = False  # `---@async`
    source_params: tuple[str, ...] = ()  # the names in the definition, as written

    @property
    def method(self) -> bool:
        """Defined with `:` (an implicit `self`)."""
        return ":" in self.name

    @property
    def summary(self) -> str:
        """The first sentence of the description."""
        return first_sentence(self.description)

    def param_names(self) -> list[str]:
        """The parameters without `self`: from `---@param` when there are any, else the definition."""
        if self.params:
            return [p.name for p in self.params]
        return [p for p in self.source_params if p != "self"]


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z`(\"'])")


def first_sentence(text: str) -> str:
    paragraph = text.strip().split("\n\n", 1)[0].replace("\n", " ")
    return _SENTENCE_END.split(paragraph, 1)[0].strip()


_DOC_LINE = re.compile(r"^\s*---(?!-)(.*)$")
_FUNCTION_DEF = re.compile(r"^\s*(?:local\s+)?function\s+([A-Za-z_][\w.]*(?::[A-Za-z_]\w*)?)\s*\(([^)]*)")
_ASSIGNED_DEF = re.compile(r"^\s*(?:local\s+)?([A-Za-z_][\w.]*|\[[^\]]*\])\s*=\s*function\s*\(([^)]*)")


def parse_lua(text: str, chunk: str) -> tuple[dict[int, FunctionDoc], str]:
    """The documented functions of a Lua file by definition line, and the file's header summary
    (the first line of its leading `--` comment)."""
    lines = text.split("\n")
    docs: dict[int, FunctionDoc] = {}
    block: list[str] = []
    for number, line in enumerate(lines, 1):
        doc = _DOC_LINE.match(line)
        if doc:
            block.append(doc.group(1))
            continue
        if block:
            definition = _FUNCTION_DEF.match(line) or _ASSIGNED_DEF.match(line)
            if definition:
                name, params = definition.group(1), definition.group(2)
                source_params = tuple(p.strip() for p in params.split(",") if p.strip())
                docs[number] = parse_block(
                    block, chunk=chunk, line=number, name=name, source_params=source_params
                )
            block = []
    return docs, _header(lines)


def _header(lines: list[str]) -> str:
    """The first paragraph of the file's leading `--` comment, on one line."""
    words: list[str] = []
    for line in lines:
        stripped = line.strip()
        if not stripped and not words:
            continue
        if not stripped.startswith("--") or stripped.startswith("---") or not stripped[2:].strip():
            break
        words.append(stripped[2:].strip())
    return " ".join(words)


def parse_block(
    block: Iterable[str],
    *,
    chunk: str = "",
    line: int = 0,
    name: str = "",
    source_params: tuple[str, ...] = (),
) -> FunctionDoc:
    """A FunctionDoc from the lines of a `---` block (each without its `---`)."""
    text: list[str] = []
    params: list[Param] = []
    returns: list[Return] = []
    is_async = False
    for raw in block:
        body = raw[1:] if raw.startswith(" ") else raw
        if not body.startswith("@"):
            text.append(body.rstrip())
            continue
        tag, _, rest = body[1:].partition(" ")
        rest = rest.strip()
        if tag == "param":
            pname, _, rest = rest.partition(" ")
            ptype, description = split_type(rest)
            params.append(Param(pname, ptype, _clean(description)))
        elif tag == "return":
            rtype, description = split_type(rest)
            returns.append(Return(rtype, _clean(description)))
        elif tag == "async":
            is_async = True
    return FunctionDoc(
        chunk, line, name, _paragraphs(text), tuple(params), tuple(returns), is_async, source_params
    )


def _clean(description: str) -> str:
    return description.removeprefix("#").strip()


def _paragraphs(lines: list[str]) -> str:
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            paragraphs[-1].append(line.strip())
        elif paragraphs[-1]:
            paragraphs.append([])
    return "\n\n".join(" ".join(p) for p in paragraphs if p)


def split_type(text: str) -> tuple[str, str]:
    """Split "fun(err: any): boolean the predicate" into the LuaCATS type and the rest."""
    s = text.strip()
    depth, i, n = 0, 0, len(s)
    while i < n:
        c = s[i]
        if c in "([{<":
            depth += 1
        elif c in ")]}>":
            depth = max(0, depth - 1)
        elif c in "\"'":
            close = s.find(c, i + 1)
            i = close if close >= 0 else n
        elif c.isspace() and depth == 0:
            j = i
            while j < n and s[j].isspace():
                j += 1
            if s[i - 1] in ":|," or (j < n and s[j] == "|"):
                i = j
                continue
            break
        i += 1
    return s[:i], s[i:].strip()


# The registry ------------------------------------------------------------------------------------


@dataclass
class Registry:
    """The documented functions of the runtime's Lua files (and the source text of those files)."""

    docs: dict[tuple[str, int], FunctionDoc] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # chunk file -> text
    headers: dict[str, str] = field(default_factory=dict)  # chunk file -> header summary

    def add(self, chunk: str, text: str) -> None:
        if chunk in self.sources:  # the runtime's file wins over one of ours with the same name
            return
        found, header = parse_lua(text, chunk)
        self.sources[chunk] = text
        self.headers[chunk] = header
        for line, doc in found.items():
            self.docs[(chunk, line)] = doc

    def lookup(self, source: str, line: int) -> FunctionDoc | None:
        """The doc of the function defined at `line` of chunk `source` ("=crucible/timer.lua")."""
        chunk = chunk_file(source)
        return self.docs.get((chunk, line)) if chunk else None

    def source_lines(self, source: str, first: int, last: int) -> str | None:
        """Lines first..last of a runtime chunk, or None for a chunk not in the registry."""
        chunk = chunk_file(source)
        text = self.sources.get(chunk) if chunk else None
        if text is None or first <= 0:
            return None
        return "\n".join(text.split("\n")[first - 1 : max(first, last)])

    def yields(self, source: str, first: int, last: int) -> bool:
        """Whether the function at first..last may suspend its task: `---@async` in its doc, or
        (when it has none) its body calls `await(`."""
        doc = self.lookup(source, first)
        if doc is not None and doc.is_async:
            return True
        body = self.source_lines(source, first, last)
        return body is not None and _AWAIT.search(body) is not None

    def documented(self) -> list[FunctionDoc]:
        """Every documented function, in file and line order."""
        return [self.docs[key] for key in sorted(self.docs)]


_AWAIT = re.compile(r"\bawait\s*\(")


def chunk_file(source: str) -> str | None:
    """The file of a runtime chunk ("=crucible/timer.lua" gives "timer.lua"); None for others."""
    if source.startswith(INTERNAL_PREFIX):
        return source[len(INTERNAL_PREFIX) :]
    return None


@cache
def registry() -> Registry:
    """The registry over the Lua files present at the first call (cached for the process;
    `registry.cache_clear()` makes the next call read the files again)."""
    reg = Registry()
    for package in LUA_DIRS:
        try:
            folder = resources.files(package).joinpath("lua")
            files = sorted((f for f in folder.iterdir() if f.name.endswith(".lua")), key=lambda f: f.name)
        except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):
            continue
        for file in files:
            try:
                reg.add(file.name, file.read_text("utf-8", errors="replace"))
            except OSError:
                continue
    return reg


# The Lua side ------------------------------------------------------------------------------------


def introspection(rt: Any) -> Any:
    """The table of lua/introspect.lua in `rt`'s Lua state, loaded on first use (kept in the
    runtime's extensions, so it goes with the runtime)."""
    helper = rt.extensions.get("kernel.introspect")
    if helper is None:
        helper = rt.own_chunk(__package__, "introspect")(rt.engine)
        helper[b"set_names"]("\n".join([*STDLIB, *STDLIB_MODULES]).encode())
        rt.extensions["kernel.introspect"] = helper
    return helper


def public_functions(rt: Any, roots: Mapping[str, Any] | None = None) -> list[tuple[str, Any]]:
    """(path, function) for every function reachable from `roots` (default: {"cru": cru}),
    through tables and the `__index` tables of metatables, skipping names that start with "_".
    Methods of objects show as "name:method"; a callable table as its `__call` function."""
    helper = introspection(rt)
    if roots is None:
        roots = {"cru": rt.lua.globals()[b"cru"]}
    table = rt.lua.table_from({k.encode(): v for k, v in roots.items()})
    paths, fns = helper[b"public_functions"](table)
    return [(paths[i].decode(), fns[i]) for i in range(1, len(paths) + 1)]


def doc_of(rt: Any, fn: Any) -> FunctionDoc | None:
    """The registry's doc for a live Lua function (None for one without a doc comment)."""
    if lua54.lua_type(fn) != "function":
        return None
    info = introspection(rt)[b"describe"](fn)
    source, line = info[b"source"], info[b"linedefined"]
    if not isinstance(source, bytes) or not isinstance(line, int):
        return None
    return registry().lookup(source.decode("utf-8", "replace"), line)


# The Lua 5.4 standard library -------------------------------------------------------------------


@dataclass(frozen=True)
class StdDoc:
    signature: str
    description: str
    yields: bool = False

    @property
    def section(self) -> str:
        """The reference manual's section of this library."""
        library = self.signature.split("(", 1)[0].split(".", 1)[0].split(":", 1)[0]
        return _SECTIONS.get(library, "6.1")


_SECTIONS = {
    "coroutine": "6.2",
    "package": "6.3",
    "require": "6.3",
    "string": "6.4",
    "utf8": "6.5",
    "table": "6.6",
    "math": "6.7",
    "io": "6.8",
    "file": "6.8",
    "os": "6.9",
    "debug": "6.10",
}


STDLIB_MODULES: dict[str, str] = {
    "coroutine": "Coroutines: create, resume, yield and inspect them.",
    "debug": "The debug interface: introspection of functions, stacks, locals, hooks and metatables.",
    "io": "Input and output through file handles; here the standard streams are the notebook's.",
    "math": "Mathematical functions and constants for integers and floats.",
    "os": "Operating system facilities: time and dates, environment, files.",
    "package": "Module loading: the search paths, loaders and the cache used by require.",
    "string": "String manipulation: search, patterns, formatting, binary packing (also as string methods).",
    "table": "Functions for tables used as lists (sequences).",
    "utf8": "Basic UTF-8 support: encode, decode, count and iterate code points.",
}

# Signatures follow the reference manual's (optional arguments marked with `?`); the descriptions
# are ours, with what this runtime does differently (print, io, os.exit, pcall). One entry: the
# signature on its own line ("[yields]" when the function can suspend the task), then the
# description, indented.
_STDLIB_TEXT = """
# 6.1 basic functions
assert(v, message?)
    Raises an error (message, or "assertion failed!") if v is false or nil; otherwise returns
    all its arguments.
collectgarbage(opt?, ...)
    Controls the garbage collector: "collect" (the default) runs a full cycle, "count" gives the
    memory in use in KiB, "step", "isrunning", "incremental", "generational", "stop" and
    "restart" do what they say.
dofile(filename?)
    Runs the named Lua file (or standard input) as a chunk and returns what it returns; errors
    propagate to the caller.
error(message, level?)
    Raises message as an error. A string message gets a position prefix: level 1 (default) is
    where error was called, 2 its caller, 0 none.
getmetatable(object)
    The metatable of object (its __metatable field instead, if it has one), or nil.
ipairs(t)
    An iterator over t[1], t[2], ... stopping at the first nil: `for i, v in ipairs(t) do ...
    end`.
load(chunk, chunkname?, mode?, env?)
    Compiles a chunk (a string, or a function returning its pieces) into a function without
    running it; on a syntax error returns nil and the message.
loadfile(filename?, mode?, env?)
    Like load, with the chunk read from a file (or standard input).
next(table, index?)
    The key after index in table and its value (raw, in no particular order); nil after the last
    one. `next(t) == nil` tests for an empty table.
pairs(t)
    An iterator over every key and value of t (through its __pairs metamethod when it has one):
    `for k, v in pairs(t) do ... end`.
pcall(f, ...)
    Calls f with the arguments in protected mode: returns true and f's results, or false and the
    error. Here interrupts and task cancellations still pass through.
print(...)
    Writes its arguments to standard output (the cell's output here), each through tostring,
    separated by tabs, followed by a newline.
rawequal(v1, v2)
    Whether v1 and v2 are the same value, without calling __eq.
rawget(table, index)
    table[index] without calling __index.
rawlen(v)
    The length of a table or string without calling __len.
rawset(table, index, value)
    Sets table[index] = value without calling __newindex; returns table.
require(modname)
    Loads a module once (finding it through package.searchers), caches it in package.loaded and
    returns it with the loader data.
select(index, ...)
    The arguments after position index (negative counts from the end); `select("#", ...)` gives
    how many there are.
setmetatable(table, metatable)
    Sets (or with nil removes) the metatable of table and returns table; an error if the current
    metatable has a __metatable field.
tonumber(e, base?)
    Converts a string or number to a number, or nil if it cannot; with a base (2 to 36) reads an
    integer written in that base.
tostring(v)
    A human-readable string for any value (using __tostring or __name when the metatable has
    them).
type(v)
    The type name of v: "nil", "number", "string", "boolean", "table", "function", "thread" or
    "userdata".
warn(msg1, ...)
    Emits a warning made of its (string) arguments concatenated; "@on" and "@off" switch
    warnings on and off.
xpcall(f, msgh, ...)
    Like pcall, but on an error calls msgh with the error object (before the stack unwinds, so
    debug.traceback works) and returns false and its result.
_G
    The global environment table (_G._G == _G).
_VERSION
    The running Lua version as a string: "Lua 5.4".
# 6.2 coroutines
coroutine.close(co)
    Closes a suspended or dead coroutine, running its pending to-be-closed variables; returns
    true, or false and an error.
coroutine.create(f)
    A new coroutine (a value of type "thread") that will run f.
coroutine.isyieldable(co?)
    Whether the coroutine (default: the running one) can yield.
coroutine.resume(co, ...)
    Starts or continues co with the arguments; returns true and what it yielded or returned, or
    false and its error.
coroutine.running()
    The running coroutine and a boolean that is true for the main one.
coroutine.status(co)
    The status of co: "running", "suspended", "normal" or "dead".
coroutine.wrap(f)
    A function that resumes a new coroutine running f on each call, returns what it yields and
    raises its errors.
coroutine.yield(...)  [yields]
    Suspends the running coroutine; its arguments are returned by the resume that continues it.
# 6.3 modules
package.loadlib(libname, funcname)
    Links the C library libname and returns its function funcname as a Lua function ("*" only
    links it).
package.searchpath(name, path, sep?, rep?)
    Searches name in a path template list (";"-separated, "?" replaced by the name); returns the
    first readable file, or nil and the files tried.
package.config
    A string describing how package paths are written (directory separator, path separator,
    ...).
package.cpath
    The path template list require uses to find C loaders.
package.loaded
    The table of modules already loaded; require returns package.loaded[name] when it is set.
package.path
    The path template list require uses to find Lua modules.
package.preload
    A table of loader functions by module name, tried first by require.
package.searchers
    The list of functions require calls, in order, to find a module's loader.
# 6.4 strings
string.byte(s, i?, j?)
    The numeric byte codes of s[i] to s[j] (i defaults to 1, j to i).
string.char(...)
    A string made of the given byte codes.
string.dump(f, strip?)
    The binary chunk of Lua function f, which load can turn back into a function.
string.find(s, pattern, init?, plain?)
    The start and end of the first match of pattern in s (and its captures), or nil; plain =
    true searches for the text as is.
string.format(formatstring, ...)
    Formats its arguments printf-style: %d %i %u %c %x %X %o %e %f %g %a %s %q %p and %%.
string.gmatch(s, pattern, init?)
    An iterator over the successive matches of pattern in s, giving the captures (or the whole
    match) each time.
string.gsub(s, pattern, repl, n?)
    A copy of s with (up to n) matches of pattern replaced by repl (a string with %0-%9, a table
    or a function), and the number of matches.
string.len(s)
    The length of s in bytes.
string.lower(s)
    A copy of s with upper-case letters made lower case.
string.match(s, pattern, init?)
    The captures of the first match of pattern in s (the whole match when there are none), or
    nil.
string.pack(fmt, v1, ...)
    A binary string with the values serialized as format fmt describes.
string.packsize(fmt)
    The size in bytes of a string that string.pack produces with format fmt (no variable-length
    items).
string.rep(s, n, sep?)
    s repeated n times, separated by sep.
string.reverse(s)
    s with its bytes in reverse order.
string.sub(s, i, j?)
    The part of s from byte i to byte j (inclusive; negative positions count from the end).
string.unpack(fmt, s, pos?)
    The values string.pack stored in s with format fmt, then the position after them.
string.upper(s)
    A copy of s with lower-case letters made upper case.
# 6.5 utf8
utf8.char(...)
    The UTF-8 encoding of the given code points, as one string.
utf8.charpattern
    A pattern matching exactly one UTF-8 byte sequence (for valid UTF-8).
utf8.codes(s, lax?)
    An iterator giving the byte position and code point of each character of s; raises on
    invalid bytes.
utf8.codepoint(s, i?, j?, lax?)
    The code points of the characters starting between bytes i and j of s.
utf8.len(s, i?, j?, lax?)
    The number of UTF-8 characters between bytes i and j of s, or nil and the position of the
    first invalid byte.
utf8.offset(s, n, i?)
    The byte position where the n-th character (counted from byte i) of s starts.
# 6.6 tables
table.concat(list, sep?, i?, j?)
    list[i] .. sep .. list[i+1] ... .. list[j]: the strings or numbers of a list joined into one
    string.
table.insert(list, pos?, value)
    Inserts value at position pos of list (default: at the end), moving later elements up.
table.move(a1, f, e, t, a2?)
    Copies a1[f..e] into a2 (default a1) starting at position t; returns a2.
table.pack(...)
    A new table with the arguments at 1, 2, ... and their count in field n.
table.remove(list, pos?)
    Removes and returns list[pos] (default: the last element), moving later elements down.
table.sort(list, comp?)
    Sorts list in place (not stable), with < or comp(a, b) returning true when a goes first.
table.unpack(list, i?, j?)
    Returns list[i], ..., list[j] (by default the whole sequence) as separate values.
# 6.7 math
math.abs(x)
    The absolute value of x.
math.acos(x)
    The arc cosine of x, in radians.
math.asin(x)
    The arc sine of x, in radians.
math.atan(y, x?)
    The arc tangent of y/x in radians, using the signs of both to find the quadrant (x defaults
    to 1).
math.ceil(x)
    The smallest integer not less than x.
math.cos(x)
    The cosine of x (in radians).
math.deg(x)
    x converted from radians to degrees.
math.exp(x)
    e raised to the power x.
math.floor(x)
    The largest integer not greater than x.
math.fmod(x, y)
    The remainder of x divided by y, rounding the quotient towards zero.
math.huge
    A float larger than any other number (infinity).
math.log(x, base?)
    The logarithm of x in base (default: the natural logarithm).
math.max(x, ...)
    The largest of its arguments (compared with <).
math.maxinteger
    The largest integer value.
math.min(x, ...)
    The smallest of its arguments (compared with <).
math.mininteger
    The smallest integer value.
math.modf(x)
    The integral part and the fractional part of x (the second always a float).
math.pi
    The value of π.
math.rad(x)
    x converted from degrees to radians.
math.random(m?, n?)
    A pseudo-random float in [0, 1) without arguments, an integer in [1, m] or [m, n] with them.
math.randomseed(x?, y?)
    Seeds the pseudo-random generator (randomly without arguments); returns the two seed parts
    used.
math.sin(x)
    The sine of x (in radians).
math.sqrt(x)
    The square root of x.
math.tan(x)
    The tangent of x (in radians).
math.tointeger(x)
    x as an integer if it has an exact integer value, else nil.
math.type(x)
    "integer" or "float" for a number, nil for anything else.
math.ult(m, n)
    Whether integer m is below n when both are compared as unsigned integers.
# 6.8 input and output
io.close(file?)
    Closes file (default: the default output file).
io.flush()
    Flushes the default output file.
io.input(file?)
    Sets the default input file (a name or a handle) and returns it; with no argument just
    returns it.
io.lines(filename?, ...)  [yields]
    An iterator over the lines (or the given formats) of a file, or of the default input; here
    standard input asks the notebook.
io.open(filename, mode?)
    Opens a file in mode "r" (default), "w", "a", "r+", "w+" or "a+" (with "b" for binary) and
    returns a handle, or nil, a message and an error code.
io.output(file?)
    Sets the default output file (a name or a handle) and returns it; with no argument just
    returns it.
io.popen(prog, mode?)
    Starts program prog and returns a handle to read its output ("r") or write its input ("w").
io.read(...)  [yields]
    Reads from the default input by formats "n", "a", "l" (default), "L" or a byte count. Here
    standard input is an input request to the notebook, so it waits.
io.tmpfile()
    A handle to a new temporary file, opened for update and removed when the program ends.
io.type(obj)
    "file" for an open file handle, "closed file" for a closed one, nil otherwise.
io.write(...)
    Writes its string or number arguments to the default output (the cell's output here).
io.stderr
    The standard error stream (here: the cell's stderr output).
io.stdin
    The standard input stream (here: reading asks the notebook for input).
io.stdout
    The standard output stream (here: the cell's output).
file:close()
    Closes the file.
file:flush()
    Writes any buffered data to the file.
file:lines(...)
    An iterator over the lines (or the given formats) of the file.
file:read(...)
    Reads by formats "n", "a", "l" (default), "L" or a byte count; nil at the end of the file.
file:seek(whence?, offset?)
    Sets or gets the file position: whence is "set", "cur" (default) or "end"; returns the new
    position.
file:setvbuf(mode, size?)
    Sets the buffering of the file: "no", "full" or "line".
file:write(...)
    Writes its string or number arguments to the file and returns the file.
# 6.9 operating system
os.clock()
    CPU time used by the program, in seconds.
os.date(format?, time?)
    A date string formatted strftime-style ("*t" or "!*t" give a table instead), for time or
    now.
os.difftime(t2, t1)
    The seconds from time t1 to time t2.
os.execute(command?)
    Runs a shell command; returns true or nil, then "exit" or "signal" and a number.
os.exit(code?, close?)
    Ends the program with a status code. Here it ends the running task; a notebook's kernel
    keeps running.
os.getenv(varname)
    The value of an environment variable, or nil.
os.remove(filename)
    Deletes a file (or an empty directory); returns true, or nil and a message.
os.rename(oldname, newname)
    Renames a file or directory; returns true, or nil and a message.
os.setlocale(locale, category?)
    Sets (or with nil queries) the program's locale; returns its name, or nil.
os.time(table?)
    The current time as a number (seconds since the epoch), or the time a date table describes.
os.tmpname()
    A file name usable for a temporary file.
# 6.10 debug
debug.debug()
    Enters an interactive mode that runs each line the user types (on the process's real stdin).
debug.gethook(thread?)
    The current hook function, mask and count.
debug.getinfo(thread?, f, what?)
    A table about a function or a stack level: source, short_src, linedefined, currentline,
    name, nparams, ... (what selects the fields).
debug.getlocal(thread?, f, local)
    The name and value of local variable number local at stack level f (or the parameter names
    of function f).
debug.getmetatable(value)
    The metatable of value, ignoring any __metatable field.
debug.getregistry()
    The registry table.
debug.getupvalue(f, up)
    The name and value of upvalue number up of function f.
debug.getuservalue(u, n?)
    The n-th user value of userdata u, and whether it has one.
debug.sethook(thread?, hook, mask, count?)
    Sets a hook function called on calls ("c"), returns ("r"), lines ("l") or every count
    instructions.
debug.setcstacklimit(limit)
    Kept for compatibility; does nothing in Lua 5.4.3 and later.
debug.setlocal(thread?, level, local, value)
    Assigns value to local variable number local at stack level level; returns its name.
debug.setmetatable(value, table)
    Sets the metatable of any value (nil removes it); returns value.
debug.setupvalue(f, up, value)
    Assigns value to upvalue number up of function f; returns its name.
debug.setuservalue(udata, value, n?)
    Sets the n-th user value of a full userdata; returns udata.
debug.traceback(thread?, message?, level?)
    message followed by a traceback of the call stack, as a string.
debug.upvalueid(f, n)
    A light userdata identifying upvalue n of function f (equal for shared upvalues).
debug.upvaluejoin(f1, n1, f2, n2)
    Makes upvalue n1 of Lua function f1 refer to upvalue n2 of f2.
"""


def _parse_stdlib(text: str) -> dict[str, StdDoc]:
    entries: dict[str, StdDoc] = {}
    signature, yields, words = "", False, []
    for line in [*text.split("\n"), "#"]:
        if line.startswith(" "):
            words.append(line.strip())
            continue
        if signature:
            entries[signature.split("(", 1)[0]] = StdDoc(signature, " ".join(words), yields)
        signature, words = "", []
        if line.strip() and not line.startswith("#"):
            yields = line.endswith("[yields]")
            signature = line.removesuffix("[yields]").strip()
    return entries


STDLIB: dict[str, StdDoc] = _parse_stdlib(_STDLIB_TEXT)
