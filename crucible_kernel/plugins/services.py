"""The services supervisor: every plugin service and every cru.service as a watched task.

Two kinds of service, one record each (`ServiceRecord`):

- "plugin": an entry of a plugin's `services` table, started after its `setup` succeeded. As in
  Crucible's daemon it runs once, is never restarted, and is aborted (cancelled) when its plugin
  is reloaded or unloaded; its outcome is logged `Service '<name>' completed` or
  `Service '<name>' failed: <err>`.
- "defined": a `cru.service.define`d service while its `fn` runs (from `cru.spawn`, from
  `cru.services.start`, or as a plugin service, in which case it reports to that plugin
  service's record). It restarts through `cru.retry` with its restart policy; each attempt,
  failure and the final outcome are reported here by lua/service.lua.

A record has a state (starting, running, completed, failed, stopped), start time, restart
count, last error with its traceback, and its recent output: whatever the service (or a task it
spawned) prints or logs, told apart by a context variable set in the service's task. Every
change is reported to the host (`Host.service_event`), the feed of a live services view.

Services are tasks of kind "service": an interrupt does not stop them (see Runtime.interrupt),
and one failing never touches another or the kernel (a task's failure is recorded on it).
"""

from __future__ import annotations

import collections
import contextvars
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..runtime import output
from ..runtime.convert import text
from ..runtime.errors import clean_traceback
from ..runtime.owners import context_for, current_owner, registrations
from ..runtime.tasks import LuaTask, TaskState

if TYPE_CHECKING:
    from ..runtime import Runtime

__all__ = ["OUTPUT_ENTRIES", "STATES", "ServiceError", "ServiceRecord", "Supervisor", "of"]

STATES = ("starting", "running", "completed", "failed", "stopped")
OUTPUT_ENTRIES = 200  # recent output kept per service
_SERVICE: contextvars.ContextVar[ServiceRecord | None] = contextvars.ContextVar(
    "crucible_service", default=None
)


class ServiceError(Exception):
    """A service that cannot be found, stopped or started; the message says why."""


@dataclass(eq=False)
class ServiceRecord:
    """One supervised service."""

    id: str
    """"<plugin>/<name>" for a plugin's service, the name for a cru.service."""
    name: str
    kind: str
    """"plugin" or "defined"."""
    plugin: str | None = None
    desc: str = ""
    owner: str | None = None
    fn: Any = field(default=None, repr=False)
    """The Lua function the service runs (what a restart runs again)."""
    state: str = "starting"
    started_at: float = field(default_factory=time.time)
    state_since: float = field(default_factory=time.time)
    restarts: int = 0
    last_error: str | None = None
    last_traceback: str | None = None
    task: LuaTask | None = field(default=None, repr=False)
    defined: str | None = None
    """The cru.service a plugin service runs, once it has said so."""
    outcome: str | None = None
    """How the cru.service it runs ended ("completed" or "failed"), as it reported."""
    output: collections.deque[dict[str, Any]] = field(
        default_factory=lambda: collections.deque(maxlen=OUTPUT_ENTRIES), repr=False
    )

    @property
    def alive(self) -> bool:
        return self.task is not None and not self.task.state.finished

    def as_dict(self, with_output: bool = True) -> dict[str, Any]:
        """The record as JSON data (what service events carry)."""
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "plugin": self.plugin,
            "kind": self.kind,
            "desc": self.desc,
            "state": self.state,
            "started_at": self.started_at,
            "state_since": self.state_since,
            "restarts": self.restarts,
            "last_error": self.last_error,
            "last_traceback": self.last_traceback,
            "task_id": self.task.id if self.task is not None else None,
            "owner": self.owner,
        }
        if self.defined is not None:
            data["defined"] = self.defined
        if with_output:
            data["output"] = list(self.output)
        return data


class Supervisor:
    """The supervised services of one runtime, by id (in the order they first started)."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.records: dict[str, ServiceRecord] = {}
        self._tokens: dict[int, ServiceRecord] = {}  # what lua/service.lua holds: ids, not objects
        rt.task_listeners.append(self._on_task)
        output.of(rt).listeners.append(self._on_output)

    # Starting and stopping

    def start(
        self,
        fn: Any,
        *,
        name: str,
        kind: str = "plugin",
        plugin: str | None = None,
        desc: str = "",
        owner: str | None = None,
    ) -> ServiceRecord:
        """Start Lua function `fn` as a service task on behalf of `owner`; returns its record."""
        record_id = f"{plugin}/{name}" if plugin is not None else name
        old = self.records.get(record_id)
        if old is not None and old.alive:
            raise ServiceError(f"service '{record_id}' is already running (task {old.task.id})")  # type: ignore[union-attr]
        record = ServiceRecord(record_id, name, kind, plugin, desc, owner, fn)
        self.records[record_id] = record
        self._launch(record)
        return record

    async def stop(self, record: ServiceRecord, reason: str = "stopped") -> bool:
        """Stop a running service: its cru.service `stop` function first (if it runs one),
        then its task is cancelled and waited for. False if it was not running."""
        if not record.alive:
            return False
        task = record.task
        assert task is not None
        if record.defined is not None or record.kind == "defined":
            await self._call_stop_fn(record)
        task.cancel(reason)
        await task.wait()
        return True

    async def restart(self, record: ServiceRecord) -> ServiceRecord:
        """Stop the service if it runs, then run its function again as a new task."""
        await self.stop(record)
        if record.fn is None:
            raise ServiceError(f"service '{record.id}' cannot be restarted: its function is unknown")
        record.restarts += 1
        record.outcome = None
        record.started_at = time.time()
        self._launch(record)
        return record

    async def stop_where(self, predicate: Any, forget: bool = True) -> int:
        """Stop every service whose record matches; with `forget`, drop their records."""
        doomed = [r for r in self.records.values() if predicate(r)]
        stopped = 0
        for record in doomed:
            if await self.stop(record):
                stopped += 1
        if forget:
            for record in doomed:
                self.forget(record)
        return stopped

    async def release_owner(self, owner: str | None) -> None:
        """Stop and forget the services `owner` started (a re-run cell's, an unloaded plugin's)."""
        await self.stop_where(lambda r: r.owner == owner)

    def forget(self, record: ServiceRecord) -> None:
        if self.records.get(record.id) is record:
            del self.records[record.id]
            self._emit("removed", record)

    async def aclose(self) -> None:
        """The runtime is closing: stop everything (the runtime cancels the tasks anyway)."""
        await self.stop_where(lambda r: True)

    # Finding

    def find(self, name: str) -> ServiceRecord:
        """The record named `name`: its id ("plugin/name"), or a name only one service has."""
        if name in self.records:
            return self.records[name]
        matches = [r for r in self.records.values() if r.name == name]
        if len(matches) == 1:
            return matches[0]
        if matches:
            ids = ", ".join(r.id for r in matches)
            raise ServiceError(f"service name '{name}' is ambiguous: use one of {ids}")
        known = ", ".join(self.records) or "none"
        raise ServiceError(f"no service named '{name}' (services: {known})")

    def snapshot(self) -> list[dict[str, Any]]:
        """Every record as JSON data, in the order they first started."""
        return [r.as_dict() for r in self.records.values()]

    # What lua/service.lua reports (natives of cru.service._supervisor)

    def begin(self, name: bytes, desc: Any, fn: Any) -> int:
        """A cru.service's `fn` began in the running task; returns the token of its record."""
        record = self._begin(name, self.rt.keep(desc), self.rt.keep(fn))  # kept: used after this call
        token = id(record)
        self._tokens[token] = record
        return token

    def attempt(self, token: int, number: int) -> None:
        record = self._tokens[token]
        if number > 1:
            record.restarts += 1
        self._set_state(record, "running", force=number > 1)

    def attempt_failed(self, token: int, message: bytes, traceback: bytes | None) -> None:
        record = self._tokens[token]
        record.last_error = text(message)
        record.last_traceback = (
            clean_traceback(text(traceback)) if traceback is not None else record.last_error
        )
        self._set_state(record, "starting", force=True)  # waiting to be restarted, or giving up

    def finished(self, token: int, ok: bool, message: bytes | None) -> None:
        record = self._tokens.pop(token)
        record.outcome = "completed" if ok else "failed"
        if not ok and message is not None:
            record.last_error = text(message)
        self._set_state(record, record.outcome)

    # Private methods

    def _begin(self, name: bytes, desc: Any, fn: Any) -> ServiceRecord:
        task = self.rt._current
        record = _SERVICE.get()
        if record is not None and record.task is task and record.kind == "plugin":
            record.defined = text(name)  # a plugin service running a cru.service: one record
            return record
        service_name = text(name)
        record = self.records.get(service_name)
        if record is None or record.kind != "defined" or (record.alive and record.task is not task):
            if record is not None and record.alive and record.task is not task:
                self.rt.host.log(
                    "warn",
                    f"service '{service_name}' started again while task {record.task.id} still runs it",  # type: ignore[union-attr]
                )
            record = ServiceRecord(service_name, service_name, "defined", owner=current_owner())
            self.records[service_name] = record
        record.desc = text(desc) if desc is not None else ""
        record.fn = fn
        record.outcome = None
        if record.task is not task:
            record.started_at = time.time()
        record.task = task
        if task is not None and task is not self.rt.foreground:
            task.kind = "service"  # interrupts spare it, listings call it a service
        _SERVICE.set(record)  # the running task's context: its output and its children's
        self._set_state(record, "starting")
        return record

    def _launch(self, record: ServiceRecord) -> None:
        context = context_for(record.owner)
        context.run(_SERVICE.set, record)
        label = f"service {record.id}"
        record.task = self.rt.start(record.fn, name=label, kind="service", context=context)
        self._set_state(record, "starting", force=True)

    async def _call_stop_fn(self, record: ServiceRecord) -> None:
        stop = self.rt.cru[b"service"][b"stop"]
        name = (record.defined or record.name).encode()
        task = self.rt.start(stop, name, name=f"stop {record.id}", kind="service-stop")
        await task.wait()

    def _on_task(self, task: LuaTask, event: str) -> None:
        if event == "started":
            record = _SERVICE.get()
            starting = record is not None and record.task is task and record.state == "starting"
            if starting and record.kind == "plugin":  # type: ignore[union-attr]
                self._set_state(record, "running")  # type: ignore[arg-type]
            return
        for record in list(self.records.values()):
            if record.task is task:
                self._task_ended(record, task)

    def _task_ended(self, record: ServiceRecord, task: LuaTask) -> None:
        host = self.rt.host
        if task.state is TaskState.DONE:
            if record.kind == "plugin":
                host.log("info", f"Service '{record.name}' completed")
            self._set_state(record, record.outcome or "completed")
        elif task.state is TaskState.FAILED:
            error = task.error
            record.last_error = error.message if error is not None else task.message
            record.last_traceback = error.traceback if error is not None else record.last_error
            if record.kind == "plugin":
                host.log("warn", f"Service '{record.name}' failed: {record.last_traceback}")
            self._set_state(record, "failed")
        else:
            self._set_state(record, "stopped")

    def _on_output(self, stream: str, written: str) -> None:
        record = _SERVICE.get()
        if record is None:
            return
        entry = {"time": time.time(), "stream": stream, "text": written}
        record.output.append(entry)
        self.rt.host.service_event(
            {"event": "output", "service": record.as_dict(with_output=False), "output": entry}
        )

    def _set_state(self, record: ServiceRecord, state: str, force: bool = False) -> None:
        previous = record.state
        if state == previous and not force:
            return
        record.state = state
        record.state_since = time.time()
        self._emit("state", record, previous)

    def _emit(self, kind: str, record: ServiceRecord, previous: str | None = None) -> None:
        event: dict[str, Any] = {"event": kind, "service": record.as_dict()}
        if previous is not None:
            event["service"]["previous"] = previous
        self.rt.host.service_event(event)


def age(seconds: float) -> str:
    """How long a service has been in its state, as the services panel and `%services` say it:
    42s, 5m, 1.5h."""
    if seconds < 60:
        return f"{max(0.0, seconds):.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def of(rt: Runtime) -> Supervisor:
    """The supervisor of runtime `rt` (see crucible_kernel.plugins.install)."""
    return registrations(rt).get("supervisor", Supervisor)


def install(rt: Runtime) -> Supervisor:
    """A supervisor for `rt`, wired to cru.service (through `cru.service._supervisor`) and to the
    runtime's removal by owner."""
    supervisor = Supervisor(rt)
    regs = registrations(rt)
    regs.add("supervisor", supervisor, owned=False)
    regs.add_releaser(supervisor.release_owner)
    rt.add_cleanup(supervisor.aclose)
    natives = rt.natives(
        {
            b"begin": supervisor.begin,
            b"attempt": supervisor.attempt,
            b"attempt_failed": supervisor.attempt_failed,
            b"finished": supervisor.finished,
        }
    )
    rt.cru[b"service"][b"_supervisor"] = natives
    return supervisor
