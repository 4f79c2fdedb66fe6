"""The services panel: every supervised service of the Lua state, live, with stop and restart.

`%services`, `display(cru.services)` and `cru.services` as a cell's value show it; every display
shares one model. It follows the supervisor (plugins/services.py) through the kernel host's
service events: each state change or line of output marks it changed, and it writes the rows
at most 10 times a second (live.py). A row holds what the supervisor knows of a service: its
state, start time, restarts, last error with its traceback, and its last lines of output.

The view (assets/services.js) counts the up time on from the kernel's clock at the last write,
and sends `{action: "stop" | "restart", service: id}` when a button is pressed. The action runs
as a Lua task of its own (cru.services.stop / restart, as copied when the Lua state started),
like a button's callback; its outcome is the panel's notice line.
"""

from __future__ import annotations

import contextvars
import time
from typing import TYPE_CHECKING, Any

import anywidget
import traitlets

from ...plugins.services import age
from .live import Live, asset, notice

if TYPE_CHECKING:
    from ...plugins.services import ServiceRecord, Supervisor
    from .binding import WidgetBinding

__all__ = ["OUTPUT_LINES", "ServicesModel", "ServicesPanel", "age", "service_row", "services_text"]

OUTPUT_LINES = 30  # lines of recent output a row keeps
LINE_WIDTH = 400  # characters of one output line kept
TRACEBACK_WIDTH = 4000  # characters of a last error's traceback kept
TEXT_OUTPUT_LINES = 3  # lines of recent output per service in the plain-text form
ACTIONS = ("stop", "restart")


class ServicesModel(anywidget.AnyWidget):
    """The model the panel view (assets/services.js) shows."""

    _esm = asset("panel.js", "services.js")
    _css = asset("panels.css")
    services = traitlets.List(traitlets.Dict()).tag(sync=True)
    """One row per service (see `service_row`), in the order they first started."""
    clock = traitlets.Float(0.0).tag(sync=True)
    """The kernel's time (seconds since the epoch) when the rows were written."""
    notice = traitlets.Unicode("").tag(sync=True)
    """The outcome of the last button pressed."""
    busy = traitlets.List(traitlets.Unicode()).tag(sync=True)
    """The services whose stop or restart is under way."""
    ended = traitlets.Bool(False).tag(sync=True)
    """The Lua state the services lived in has ended: the buttons do nothing."""


def _recent_lines(record: ServiceRecord, limit: int) -> list[dict[str, Any]]:
    """The last `limit` lines the service wrote: {time, stream, text}. cru.log lines read as the
    notebook shows them: "[level] message", warnings and errors on stderr."""
    lines: list[dict[str, Any]] = []
    for entry in reversed(record.output):
        stream, text = entry["stream"], entry["text"]
        if stream.startswith("log:"):
            level = stream[4:]
            stream, text = ("stderr" if level in ("warn", "error") else "stdout"), f"[{level}] {text}"
        for part in reversed(text.rstrip("\n").split("\n")):
            lines.append({"time": entry["time"], "stream": stream, "text": part[:LINE_WIDTH]})
            if len(lines) == limit:
                return lines[::-1]
    return lines[::-1]


def service_row(record: ServiceRecord) -> dict[str, Any]:
    """What the panel shows of one service. Its `label` is its state, except that a service
    starting again after a failure (cru.retry waiting before the next attempt, or a restart)
    is "restarting"."""
    error = record.last_error or ""
    return {
        "id": record.id,
        "name": record.name,
        "plugin": record.plugin,
        "kind": record.kind,
        "desc": record.desc,
        "state": record.state,
        "label": "restarting" if record.state == "starting" and error else record.state,
        "alive": record.alive,
        "restartable": record.fn is not None,
        "started_at": record.started_at,
        "state_since": record.state_since,
        "restarts": record.restarts,
        "error": error.split("\n", 1)[0][:LINE_WIDTH],
        "traceback": (record.last_traceback or error)[:TRACEBACK_WIDTH],
        "output": _recent_lines(record, OUTPUT_LINES),
    }


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return [
        ("  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1]).rstrip()
        for r in rows
    ]


def _counts(rows: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["label"]] = counts.get(row["label"], 0) + 1
    return ", ".join(f"{n} {state}" for state, n in counts.items())


def services_text(rows: list[dict[str, Any]], now: float) -> str:
    """The panel as plain text: a table of the services, then their last lines of output."""
    if not rows:
        return (
            "Services: none. A plugin's services start when it loads; cru.services.start(name) "
            "runs a cru.service."
        )
    table = [("SERVICE", "KIND", "STATE", "RESTARTS", "UP", "LAST ERROR")]
    for row in rows:
        state = row["label"] if row["alive"] else f"{row['label']} {age(now - row['state_since'])} ago"
        up = age(now - row["started_at"]) if row["alive"] else "-"
        table.append((row["id"], row["kind"], state, str(row["restarts"]), up, row["error"][:80]))
    lines = [f"Services: {_counts(rows)}", *_table(table)]
    recent = [(row["id"], row["output"][-TEXT_OUTPUT_LINES:]) for row in rows if row["output"]]
    if recent:
        lines.append("recent output:")
        for service_id, output in recent:
            lines += [f"  {service_id}: {line['text']}" for line in output]
    return "\n".join(lines)


class ServicesPanel(Live):
    """The one services panel of a Lua state."""

    kind = "services"

    def __init__(self, binding: WidgetBinding, supervisor: Supervisor) -> None:
        super().__init__(binding)
        self.supervisor = supervisor
        self.rows = [service_row(r) for r in supervisor.records.values()]
        self.model = ServicesModel(services=self.rows, clock=time.time(), _view_count=0)
        self.model.on_msg(self.view_message)
        binding.kernel.host.service_listeners.append(self._heard)

    def sync(self) -> None:
        self.rows = [service_row(r) for r in self.supervisor.records.values()]
        self.model.services = self.rows
        self.model.clock = time.time()

    def text(self) -> str:
        if not self.closed:
            self.rows = [service_row(r) for r in self.supervisor.records.values()]
        return services_text(self.rows, time.time())

    def shown(self, display_id: str, parent: dict[str, Any] | None) -> None:
        # Button presses run in the context of the latest cell that showed the panel.
        self.context = contextvars.copy_context()
        super().shown(display_id, parent)

    def detach(self) -> None:
        host = self.binding.kernel.host
        if self._heard in host.service_listeners:
            host.service_listeners.remove(self._heard)
        if self.model is not None and not self.closed:
            self.model.busy = []
            self.model.ended = True
        super().detach()

    # Private methods

    def _heard(self, event: dict[str, Any]) -> None:
        self.changed()

    def _action(self, content: dict[str, Any]) -> None:
        action, service = content.get("action"), content.get("service")
        if self.closed or action not in ACTIONS or not isinstance(service, str):
            return
        self.model.busy = [*self.model.busy, service]
        self.binding.run_action(
            self,
            action,
            service,
            name=f"services panel: {action} {service}",
            done=lambda error: self._done(action, service, error),
        )

    def _done(self, action: str, service: str, error: str | None) -> None:
        if self.closed:
            return
        busy = list(self.model.busy)
        if service in busy:
            busy.remove(service)
        self.model.busy = busy
        past = {"stop": "stopped", "restart": "restarted"}[action]
        failed = error is not None and error.split("\n", 1)[0]
        self.model.notice = notice(f"{action} {service}: {failed}" if failed else f"{past} {service}")
        self.changed()
