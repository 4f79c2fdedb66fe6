"""Natives behind cru.oq (lua/oq.lua): YAML, TOML, TOON, jq queries and format detection.

Values cross as JSON text in both directions: lua/oq.lua encodes with cru.json.encode (the
reference converts Lua values with the same rules) and decodes results with cru.json.decode
(null sentinel, array metatable), so nothing walks a Lua table from Python. Each native
returns `(True, text)` or `(False, message)`; the Lua side raises the message at the caller.

The parsers and writers are PyYAML (read with YAML 1.2 core-schema scalars, as serde_yaml
does), tomllib and tomli-w, toon-format and the jq package. All are imported on first use,
never at start-up.
"""

from __future__ import annotations

import datetime
import functools
import json
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .convert import Multi

if TYPE_CHECKING:
    from .engine import Runtime

FORMATS = ("json", "yaml", "toml", "toon")


def install(rt: Runtime, json_module: Any) -> None:
    """Register cru.oq; `json_module` is lua/json.lua's module (with its internals)."""
    natives = {
        "detect": lambda s: detect(_text(s)).encode(),
        "parse": _guard(lambda s, fmt: parse(_text(s), _text(fmt))),
        "encode": _guard(lambda s, fmt: encode(_text(s), _text(fmt))),
        "pretty": _guard(lambda s: pretty_json(_text(s))),
        "query": _guard(lambda s, f: query(_text(s), _text(f))),
        "format": _guard(lambda s, tool: format_value(_text(s), None if tool is None else _text(tool))),
        "json_encode": json_module[b"encode"],
        "json_decode": json_module[b"decode"],
        "json_encode_exact": json_module[b"encode_exact"],
        "null": json_module[b"null"],
    }
    rt.register("oq", rt.lua_module("oq", natives), global_name="oq")


class OqError(Exception):
    """A failure reported to Lua with this message, as the parser or writer worded it."""


def _guard(fn: Any) -> Any:
    def native(*args: Any) -> Multi:
        try:
            return Multi(True, fn(*args).encode())
        except OqError as exc:
            return Multi(False, str(exc).encode())

    return native


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise OqError(f"invalid UTF-8: {exc.reason} at byte {exc.start}") from None
    return str(value)


def _dumps(value: Any) -> str:
    """JSON text for cru.json.decode; NaN and infinities become null, as serde_json's do."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    except ValueError:
        return json.dumps(_finite(value), ensure_ascii=False, separators=(",", ":"), default=str)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


# Detection: the reference's heuristics, first match wins --------------------------------------


def detect(text: str) -> str:
    trimmed = text.strip()
    lines = [line.removesuffix("\r") for line in trimmed.split("\n")] if trimmed else []
    stripped = [line.strip() for line in lines]
    first = stripped[0] if stripped else ""
    if _section(first, allow_array=True):
        return "toml"
    if trimmed.startswith(("{", "[")):
        return "json"
    if any(_section(line, allow_array=False) for line in stripped):
        return "toml"
    if any(line.startswith("[[") and line.endswith("]]") for line in stripped):
        return "toml"
    if any(_toml_assignment(line) for line in stripped):
        return "toml"
    if trimmed.startswith("---"):
        return "yaml"
    if any(line.startswith("- ") or line == "-" for line in stripped):
        return "yaml"
    if any(line.endswith((": |", ": >", ": |+", ": |-")) for line in stripped):
        return "yaml"
    if any(raw.startswith("  ") and ": " in raw.strip() for raw in lines):
        return "yaml"
    if any(line and not line.startswith("#") and ": " in line for line in stripped):
        return "toon"
    return "json"


def _section(line: str, allow_array: bool) -> bool:
    return (
        line.startswith("[")
        and line.endswith("]")
        and (allow_array or not line.startswith("[["))
        and "," not in line
        and ":" not in line
    )


def _toml_assignment(line: str) -> bool:
    """`key = value` with spaces around `=` and a bare or quoted key."""
    if not line or line.startswith(("#", "[")) or " = " not in line:
        return False
    key = line[: line.index(" = ")]
    return bool(key) and all(c.isalnum() or c in '_-"' for c in key)


# Parsing ----------------------------------------------------------------------------------------


def parse(text: str, fmt: str) -> str:
    """JSON text of `text` read as `fmt` ("auto" detects it first)."""
    if fmt == "auto":
        fmt = detect(text)
    if fmt == "yaml":
        return _dumps(_parse_yaml(text))
    if fmt == "toml":
        return _dumps(_parse_toml(text))
    if fmt == "toon":
        return _parse_toon(text)
    raise AssertionError(fmt)  # json is decoded in Lua, by cru.json.decode


def _parse_yaml(text: str) -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=_yaml_loader())  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise OqError(str(exc)) from None


@functools.cache
def _yaml_loader() -> Any:
    """A SafeLoader that resolves plain scalars by YAML 1.2's core schema, as serde_yaml does:
    only true/false are booleans (not yes/no/on/off), dates stay strings, 0o17 is octal and
    017 is seventeen."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.yaml_implicit_resolvers = {}
    resolvers = [
        ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
        ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
        (
            "tag:yaml.org,2002:float",
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
            "-+.0123456789",
        ),
        ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
        ("tag:yaml.org,2002:merge", r"^(?:<<)$", "<"),
    ]
    for tag, pattern, first in resolvers:
        Loader.add_implicit_resolver(tag, re.compile(pattern), list(first))

    def construct_int(loader: Any, node: Any) -> int:
        value = loader.construct_scalar(node)
        if value.startswith("0o"):
            return int(value[2:], 8)
        if value.startswith("0x"):
            return int(value[2:], 16)
        return int(value, 10)

    def construct_float(loader: Any, node: Any) -> float:
        value = loader.construct_scalar(node).lower()
        if value.endswith("inf"):
            return -math.inf if value.startswith("-") else math.inf
        if value == ".nan":
            return math.nan
        return float(value)

    def construct_timestamp(loader: Any, node: Any) -> str:
        return str(loader.construct_scalar(node))

    Loader.add_constructor("tag:yaml.org,2002:int", construct_int)
    Loader.add_constructor("tag:yaml.org,2002:float", construct_float)
    Loader.add_constructor("tag:yaml.org,2002:timestamp", construct_timestamp)
    return Loader


def _parse_toml(text: str) -> Any:
    import tomllib

    try:
        value = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise OqError(str(exc)) from None
    return _toml_to_json(value)


def _toml_to_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _toml_to_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_toml_to_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        raise OqError("Invalid float value")  # JSON has no NaN or infinity
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return _toml_datetime(value)
    return value


def _toml_datetime(value: datetime.date | datetime.time) -> str:
    """A TOML date-time as the toml crate writes one (RFC 3339, `Z` for UTC)."""
    if isinstance(value, datetime.datetime):
        return f"{value.date().isoformat()}T{_toml_time(value.timetz())}"
    if isinstance(value, datetime.time):
        return _toml_time(value)
    return value.isoformat()


def _toml_time(t: datetime.time) -> str:
    out = f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}"
    if t.microsecond:
        out += "." + f"{t.microsecond:06d}".rstrip("0")
    offset = t.utcoffset()
    if offset is not None:
        if offset == datetime.timedelta(0):
            out += "Z"
        else:
            minutes = int(offset.total_seconds()) // 60
            sign = "-" if minutes < 0 else "+"
            out += f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return out


def _parse_toon(text: str) -> str:
    """TOON, or JSON when the text looks like JSON (the reference's TOON reader tries both)."""
    trimmed = text.strip()
    if _looks_like_json(trimmed):
        return "\x00json"  # decoded in Lua, with cru.json.decode's messages
    import toon_format

    try:
        return _dumps(toon_format.decode(text))
    except toon_format.ToonDecodeError as exc:
        raise OqError(str(exc)) from None


def _looks_like_json(trimmed: str) -> bool:
    if not trimmed:
        return True
    if trimmed[0] in "{[":
        return True
    if trimmed[0] == '"':
        try:
            json.loads(trimmed)
            return True
        except ValueError:
            return False
    if trimmed in ("true", "false", "null"):
        return True
    try:
        float(trimmed)
        return True
    except ValueError:
        pass
    if any(": " in line or line.strip().endswith(":") for line in trimmed.split("\n")):
        return False
    try:
        json.loads(trimmed)
        return True
    except ValueError:
        return False


# Writing ----------------------------------------------------------------------------------------


def encode(json_text: str, fmt: str) -> str:
    """`json_text` (from cru.json.encode) written as `fmt`: yaml, toml or toon."""
    value = json.loads(json_text)
    if fmt == "yaml":
        return _yaml_dump(value)
    if fmt == "toml":
        return _toml_dump(value)
    if fmt == "toon":
        return _toon(value)
    raise AssertionError(fmt)


def _yaml_dump(value: Any) -> str:
    import yaml

    out = yaml.dump(
        value, Dumper=_yaml_dumper(), sort_keys=False, allow_unicode=True, default_flow_style=False
    )
    return out.removesuffix("...\n")  # PyYAML ends a lone scalar with a document end marker


@functools.cache
def _yaml_dumper() -> Any:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def text(dumper: Any, value: str) -> Any:
        style = "|" if "\n" in value and not value[:1].isspace() else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    return Dumper


def _toml_dump(value: Any) -> str:
    import tomli_w

    if not isinstance(value, dict):
        raise OqError(f"TOML needs a table at the top level, not {_json_kind(value)}")
    try:
        return tomli_w.dumps(_nulls_to_text(value))
    except (TypeError, ValueError) as exc:
        raise OqError(str(exc)) from None


def _nulls_to_text(value: Any) -> Any:
    """TOML has no null: the reference writes JSON null as the string "null"."""
    if value is None:
        return "null"
    if isinstance(value, dict):
        return {k: _nulls_to_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nulls_to_text(v) for v in value]
    return value


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array"


def _toon(value: Any) -> str:
    import toon_format

    try:
        return toon_format.encode(value)
    except (TypeError, ValueError) as exc:
        raise OqError(str(exc)) from None


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]|[^{}\[\],:"\s]+')


def pretty_json(compact: str) -> str:
    """serde_json's pretty layout (two-space indent) of a compact JSON text, token by token, so
    numbers keep cru.json.encode's spelling."""
    out: list[str] = []
    depth = 0
    tokens = _TOKEN.findall(compact)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok in ("{", "["):
            closing = "}" if tok == "{" else "]"
            if i + 1 < len(tokens) and tokens[i + 1] == closing:
                out.append(tok + closing)
                i += 2
                continue
            depth += 1
            out.append(tok + "\n" + "  " * depth)
        elif tok in ("}", "]"):
            depth -= 1
            out.append("\n" + "  " * depth + tok)
        elif tok == ",":
            out.append(",\n" + "  " * depth)
        elif tok == ":":
            out.append(": ")
        else:
            out.append(tok)
        i += 1
    return "".join(out)


# Queries ----------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=128)
def _program(filter_text: str) -> Any:
    import jq

    try:
        return jq.compile(filter_text)
    except ValueError as exc:
        raise OqError(str(exc)) from None


def query(json_text: str, filter_text: str) -> str:
    """The outputs of jq `filter_text` on the JSON text, as a JSON array text."""
    program = _program(filter_text)
    try:
        results = program.input_text(json_text).all()
    except ValueError as exc:
        raise OqError(str(exc)) from None
    return _dumps(results)


# Smart TOON for tool responses (oq.format) ------------------------------------------------------

_LANGUAGES = {
    "rs": "rust", "py": "python", "js": "javascript", "ts": "typescript", "tsx": "typescript",
    "jsx": "javascript", "go": "go", "rb": "ruby", "java": "java", "c": "c", "h": "c", "cpp": "cpp",
    "cc": "cpp", "cxx": "cpp", "hpp": "cpp", "cs": "csharp", "php": "php", "swift": "swift",
    "kt": "kotlin", "kts": "kotlin", "scala": "scala", "sh": "bash", "bash": "bash", "zsh": "zsh",
    "fish": "fish", "ps1": "powershell", "sql": "sql", "md": "markdown", "json": "json",
    "yaml": "yaml", "yml": "yaml", "toml": "toml", "xml": "xml", "html": "html", "htm": "html",
    "css": "css", "scss": "scss", "sass": "scss", "lua": "lua", "r": "r", "ex": "elixir",
    "exs": "elixir", "erl": "erlang", "hrl": "erlang", "hs": "haskell", "ml": "ocaml",
    "mli": "ocaml", "clj": "clojure", "cljs": "clojure", "lisp": "lisp", "cl": "lisp", "vim": "vim",
    "dockerfile": "dockerfile", "tf": "terraform", "proto": "protobuf", "graphql": "graphql",
    "gql": "graphql",
}  # fmt: skip


@dataclass(frozen=True)
class _Field:
    """How one field of a tool response is laid out when its string is long."""

    label: str
    threshold: int = 200
    fence: str | None = None
    max_length: int | None = None


# Per tool type: (default threshold, {field: rule}).
_FORMATTERS: dict[str, tuple[int, dict[str, _Field]]] = {
    "generic": (200, {}),
    "read": (100, {"content": _Field("content", 100, max_length=5000)}),
    "search": (300, {"snippet": _Field("match", 200), "context": _Field("context", 200)}),
    "command": (
        100,
        {name: _Field(name, 50, fence="") for name in ("stdout", "stderr", "output")},
    ),
}


def tool_type(name: str) -> str:
    """The formatter a tool name asks for: search, command, read or generic (in that order)."""
    n = name.lower()
    if "search" in n or "find" in n or "grep" in n:
        return "search"
    if "exec" in n or "run" in n or "shell" in n or "command" in n:
        return "command"
    if "read" in n or "file" in n or ("note" in n and ("get" in n or "content" in n)):
        return "read"
    return "generic"


def format_value(json_text: str, tool: str | None) -> str:
    value = json.loads(json_text)
    if tool is None:
        return _plain_format(value)
    try:
        return _smart(value, *_FORMATTERS[tool_type(tool)])
    except OqError:
        return _plain_format(value)


def _plain_format(value: Any) -> str:
    try:
        return _toon(value)
    except OqError:
        return json.dumps(value, indent=2, ensure_ascii=False)


def _smart(value: Any, threshold: int, fields: dict[str, _Field]) -> str:
    if isinstance(value, dict):
        return _smart_object(value, threshold, fields)
    if isinstance(value, list):
        parts = [_smart(item, threshold, fields) for item in value]
        if len(value) > 1:
            parts = [f"## Item {i}\n{part}" for i, part in enumerate(parts, 1)]
        return "\n\n".join(parts)
    return _toon(value)


def _smart_object(obj: dict[str, Any], threshold: int, fields: dict[str, _Field]) -> str:
    language = None
    for key in ("path", "file", "filename", "file_path"):
        if isinstance(obj.get(key), str):
            language = _LANGUAGES.get(obj[key].rsplit(".", 1)[-1].lower())
            break
    metadata: dict[str, Any] = {}
    blocks: list[tuple[str, str, str | None]] = []
    for key, value in obj.items():
        rule = fields.get(key)
        limit = rule.threshold if rule else threshold
        if isinstance(value, str) and (len(value.encode()) > limit or "\n" in value):
            label = rule.label if rule else key
            fence = rule.fence if rule and rule.fence is not None else language
            content = _truncate(value, rule.max_length) if rule and rule.max_length else value
            blocks.append((label, content, fence))
        else:
            metadata[key] = value
    out = _toon(metadata) if metadata else ""
    for label, content, fence in blocks:
        if out:
            out += "\n\n"
        if fence is not None:
            out += f"--- {label} ---\n```{fence}\n{content}"
            out += "" if content.endswith("\n") else "\n"
            out += "```"
        else:
            out += f"--- {label} ---\n{content}"
    return out


def _truncate(text: str, limit: int) -> str:
    size = len(text.encode())
    if size <= limit:
        return text
    head = text[: max(limit - 20, 0)]
    cut = head.rfind("\n")
    if cut >= 0:
        kept = head[:cut]
        return f"{kept}\n... ({size - len(kept.encode())} more characters)"
    return f"{head}... ({size - limit + 20} more characters)"


__all__ = ["FORMATS", "OqError", "detect", "install", "tool_type"]
