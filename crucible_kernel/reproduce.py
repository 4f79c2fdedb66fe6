"""Whether a notebook re-runs to the outputs stored in it, cell by cell.

A demo notebook is stored executed, so it reads without running (on GitHub, nbviewer, in a
JupyterLab with no kernel). `crucible-kernel execute --check` runs it again and compares what
each code cell shows now with what is stored, after the same normalisation on both sides:

- each output becomes text: its kind, then its data (every mime type; JSON sorted and
  indented; a widget as its model's state, with the models it refers to inlined, since model
  ids are random; strings over STRING_LIMIT characters, such as a widget's JavaScript, as their
  length and hash);
- consecutive stream outputs of one name are joined: where the text was cut into messages
  depends on timing, not on what was printed;
- SANITIZERS replace what truly differs between runs: addresses (`table: 0x...`), durations,
  task ids, session ids, timestamps, ports, process ids, where the checkout and temporary
  folders are, clock readings in widget state, the token count of a refilling rate limiter,
  and the column padding that follows from those.

Anything else that differs is a change, shown as a unified diff of the cell's text.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterable
from typing import Any

__all__ = ["SANITIZERS", "cell_text", "compare", "sanitize"]

STRING_LIMIT = 400

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

# (what varies, pattern, replacement), applied in this order to every line of the text.
SANITIZERS: list[tuple[str, re.Pattern[str], str]] = [
    ("addresses", re.compile(r"\b(table|function|userdata|thread): 0x[0-9a-fA-F]+"), r"\1: 0x..."),
    (
        "timestamps",
        re.compile(r"\b\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?\b"),
        "<time>",
    ),
    ("session ids", re.compile(r"\b[a-z]+-\d{4}-\d\d-\d\dT\d{4}-[0-9a-f]{6}\b"), "<session>"),
    ("ports", re.compile(r"\b(127\.0\.0\.1|localhost|\[::1\]):\d+"), r"\1:<port>"),
    ("ports a server reports", re.compile(r"\b(listening on) \d+\b"), r"\1 <port>"),
    ("process ids", re.compile(r"\bpid \d+\b"), "pid <pid>"),
    ("the checkout's folder", re.compile(r"(?<![\w.])/[^\s'\"]*?(?=/(notebooks|plugins)/)"), "<checkout>"),
    # mktemp's tmp.XXXXXXXXXX and Python's tmpXXXXXXXX, wherever TMPDIR points
    ("temporary folders", re.compile(r"(?<![\w.])(/[\w.-]+)*?/tmp\.?\w{6,}\b"), "<tmp>"),
    (
        "clock readings in widget state",
        re.compile(r"(\"(clock|started_at|state_since)\": )\d+(\.\d+)?"),
        r"\1<t>",
    ),
    ("durations", re.compile(r"(?<![\w.])\d+(\.\d+)?(e-?\d+)? ?(s|ms|µs|us|ns)\b"), "<time>"),
    ("task ids", re.compile(r"\b([Tt]ask #?)\d+\b"), r"\1<id>"),
    ("task ids in %tasks", re.compile(r"^\d+(?=  +[a-z]+  +[a-z]+\b)"), "<id>"),  # ID  KIND  STATE
    ("limiter tokens", re.compile(r"\b\d+(\.\d+)?(?= of \d+(\.\d+)? tokens?\b)"), "<n>"),
    ("limiter tokens in its widget", re.compile(r"(\"tokens\": )-?\d+(\.\d+)?(e-?\d+)?"), r"\1<n>"),
    ("column padding", re.compile(r"(\S)  +(?=\S)"), r"\1  "),
]


def sanitize(text: str) -> str:
    """`text` with what varies between runs replaced (see SANITIZERS), line by line."""
    lines = []
    for line in ANSI.sub("", text).split("\n"):
        for _, pattern, replacement in SANITIZERS:
            line = pattern.sub(replacement, line)
        lines.append(line.rstrip())
    return "\n".join(lines)


def cell_text(cell: Any, widgets: dict[str, Any] | None = None) -> str:
    """A code cell's outputs as normalised, sanitised text (see the module docstring)."""
    parts: list[str] = []
    stream_name, stream_text = None, ""
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "stream":
            name = output.get("name", "stdout")
            if name != stream_name and stream_name is not None:
                parts.append(f"[{stream_name}]\n{stream_text}")
                stream_text = ""
            stream_name = name
            stream_text += _joined(output.get("text", ""))
            continue
        if stream_name is not None:
            parts.append(f"[{stream_name}]\n{stream_text}")
            stream_name, stream_text = None, ""
        if kind == "error":
            traceback = "\n".join(output.get("traceback") or [])
            parts.append(f"[error {output.get('ename')}]\n{traceback}")
        elif kind in ("execute_result", "display_data"):
            head = f"[result {output.get('execution_count')}]" if kind == "execute_result" else "[display]"
            parts.append(head + "\n" + _data_text(output.get("data", {}), widgets or {}))
        else:
            parts.append(f"[{kind}]")
    if stream_name is not None:
        parts.append(f"[{stream_name}]\n{stream_text}")
    return sanitize("\n".join(parts))


def compare(stored: Any, fresh: Any) -> list[str]:
    """The differences between two runs of one notebook (the stored one first): one readable
    block per code cell whose outputs differ; empty when the outputs match."""
    old_cells = [c for c in stored.cells if c.get("cell_type") == "code"]
    new_cells = [c for c in fresh.cells if c.get("cell_type") == "code"]
    if [c.source for c in old_cells] != [c.source for c in new_cells]:
        return ["the code cells differ between the two notebooks; compare runs of the same notebook"]
    old_widgets, new_widgets = _widget_state(stored), _widget_state(fresh)
    blocks = []
    for number, (old, new) in enumerate(zip(old_cells, new_cells, strict=True), 1):
        before, after = cell_text(old, old_widgets), cell_text(new, new_widgets)
        if before == after:
            continue
        first = old.source.strip().split("\n", 1)[0][:70]
        diff = difflib.unified_diff(
            before.split("\n"), after.split("\n"), "stored", "this run", lineterm="", n=2
        )
        blocks.append(f"code cell {number} ({first})\n" + "\n".join(diff))
    return blocks


# Private helpers -------------------------------------------------------------------------------


def _joined(text: str | Iterable[str]) -> str:
    return text if isinstance(text, str) else "".join(text)


def _data_text(data: dict[str, Any], widgets: dict[str, Any]) -> str:
    parts = []
    for mime in sorted(data):
        value = data[mime]
        if mime == "application/vnd.jupyter.widget-view+json" and isinstance(value, dict):
            model = widgets.get(str(value.get("model_id")))
            rendered = _json(_inline(model, widgets, set())) if model is not None else "(no saved state)"
            parts.append(f"{mime}: widget\n{rendered}")
        elif isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            parts.append(f"{mime}:\n{_joined(value)}")
        else:
            parts.append(f"{mime}:\n{_json(value)}")
    return "\n".join(parts)


def _widget_state(nb: Any) -> dict[str, Any]:
    """Model id -> saved state, from the notebook's widget metadata."""
    saved = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    return dict(saved.get("state", {}))


def _inline(model: Any, widgets: dict[str, Any], path: set[str]) -> Any:
    """A widget model with the models its state refers to ("IPY_MODEL_<id>") put in their place."""
    if isinstance(model, dict):
        return {k: _inline(v, widgets, path) for k, v in model.items()}
    if isinstance(model, list):
        return [_inline(v, widgets, path) for v in model]
    if isinstance(model, str):
        if model.startswith("IPY_MODEL_"):
            ident = model[len("IPY_MODEL_") :]
            if ident in path or ident not in widgets:
                return "<model>"
            return _inline(widgets[ident], widgets, path | {ident})
        if len(model) > STRING_LIMIT:
            digest = hashlib.sha256(model.encode()).hexdigest()[:12]
            return f"<{len(model)} characters, sha256 {digest}>"
    return model


def _json(value: Any) -> str:
    return json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False)
