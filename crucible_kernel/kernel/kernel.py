"""The Jupyter kernel: Lua cells on the cru.* runtime, one persistent Lua state.

A plain `ipykernel.kernelbase.Kernel` subclass (not IPythonKernel: no Python shell behind it).
Cells run as tasks of the runtime on the kernel's own asyncio loop, so spawned tasks and
services keep running between cells. do_execute never raises: every failure is an error reply.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import uuid
from typing import TYPE_CHECKING, Any

from ipykernel._version import kernel_protocol_version
from ipykernel.kernelbase import Kernel
from traitlets import Bool, Unicode

from .. import __version__
from ..runtime import LuaError, LuaSyntaxError, Runtime, Stopped, TaskState
from ..runtime.display import described_error, result_bundle
from ..runtime.owners import owned_by
from . import magics
from .cells import compile_cell, error_content, lua_ename
from .history import History
from .host import KernelHost
from .ownership import cell_owner
from .ownership import release as release_cell
from .widgets import KernelWidgets

if TYPE_CHECKING:
    from .session_views import KernelSessions

LUA_MANUAL = "https://www.lua.org/manual/5.4/"
API_DOCS = "https://github.com/Mootikins/crucible/blob/main/docs/Help/Plugins/Lua%20Runtime%20API.md"

STUCK_AFTER = 2.0  # seconds an interrupt may go unseen before the cell is told Lua is stuck
STUCK_MESSAGE = (
    "Lua is stuck in a finalizer / C function and cannot be interrupted; restart the kernel to stop it\n"
)
SHUTDOWN_GRACE = 0.6  # seconds the main loop gets to stop the tasks and close the Lua state
SHUTDOWN_EXIT = 0.95  # seconds after a shutdown request at which a stuck process exits anyway

SAFE_HINT = (
    " (this kernel runs in safe mode: install its kernelspec with "
    "crucible-kernel install --safe --allow {capability} to grant it)"
)

SUBSHELL_REFUSAL = (
    "crucible-kernel does not support subshells: all Lua runs in one state on one thread, "
    "and long work belongs in background tasks (cru.spawn) instead"
)


class CrucibleKernel(Kernel):
    implementation = "crucible-kernel"
    implementation_version = __version__
    language = "lua"
    language_version = "5.4"
    language_info = {
        "name": "lua",
        "version": "5.4",
        "mimetype": "text/x-lua",
        "file_extension": ".lua",
        "codemirror_mode": "lua",
        "pygments_lexer": "lua",
    }
    banner = (
        f"Lua 5.4 with Crucible's cru.* plugin runtime (crucible-kernel {__version__})\n"
        "?name shows help, %lsmagic lists the magics."
    )
    help_links = [
        {"text": "cru.* runtime API", "url": API_DOCS},
        {"text": "Lua 5.4 reference manual", "url": LUA_MANUAL},
    ]

    safe = Bool(False, help="Safe mode: no C modules, a reduced debug library, capabilities enforced").tag(
        config=True
    )
    allow = Unicode("", help="Capabilities granted in safe mode, comma-separated (network,shell,...)").tag(
        config=True
    )

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.host = KernelHost(self)
        self._runtime: Runtime | None = None  # made on first use: kernel_info need not wait for it
        self.history = History()
        self.sources: dict[str, str] = {}
        """Cell code by chunk name ("cell[3]"), for showing the source of cell functions."""
        self._silent_count = 0
        self.sessions: KernelSessions | None = None
        """The session service behind cru.sessions (made with the first Lua state)."""
        self.side_runs: set[Any] = set()
        """Work running in a Lua state of its own (a %test suite); interrupts reach it too."""
        self._cell_parent: dict[str, Any] | None = None  # the request of the cell running now
        self._main_loop: asyncio.AbstractEventLoop | None = None
        self.widgets = KernelWidgets(self)
        """The widgets of the current Lua state (cru.widgets, limiters, session widgets)."""
        self._setup_comms()

    @property
    def runtime(self) -> Runtime:
        """The Lua state the cells run in."""
        if self._runtime is None:
            self._runtime = self._new_runtime()
        return self._runtime

    # Start-up and protocol details

    @property
    def kernel_info(self) -> dict[str, Any]:
        # Not super()'s: it imports debugpy (80 ms) to decide whether to advertise a debugger.
        return {
            "protocol_version": kernel_protocol_version,
            "implementation": self.implementation,
            "implementation_version": self.implementation_version,
            "language_info": self.language_info,
            "banner": self.banner,
            "help_links": self.help_links,
            "supported_features": [],  # no subshells, no debugger (debugpy is for Python)
        }

    def start(self) -> None:
        super().start()
        self._main_loop = self.io_loop.asyncio_loop
        # A handler that stays installed: ipykernel's default one (swapped in around each
        # message) cannot stop Lua, and with none the first SIGINT while idle would be lost.
        signal.signal(signal.SIGINT, self._on_sigint)

    def pre_handler_hook(self) -> None:
        pass  # keep our SIGINT handler during requests

    def post_handler_hook(self) -> None:
        pass

    async def interrupt_request(self, stream: Any, ident: Any, parent: Any) -> None:
        # interrupt_mode "message": handled on the control thread while Lua may be computing on
        # the main one; Runtime.interrupt is safe to call from here.
        rt = self._runtime
        if rt is not None:
            number = rt.interrupt()
            cell = self._cell_parent
            if cell is not None:
                asyncio.get_running_loop().call_later(STUCK_AFTER, self._check_stuck, rt, number, cell)
        for run in list(self.side_runs):
            run.interrupt()
        self.session.send(stream, "interrupt_reply", {"status": "ok"}, parent, ident=ident)

    def _check_stuck(self, rt: Runtime, number: int, cell: dict[str, Any]) -> None:
        # On the control thread, STUCK_AFTER seconds after an interrupt: if neither the count hook
        # nor the main loop saw it, Lua runs where no hook runs; only a restart can stop it. Say
        # so in the cell, from here (the main thread is the one that is stuck).
        if rt.interrupt_honoured(number) or self._cell_parent is not cell or rt.closed:
            return
        self.session.send(
            self.iopub_socket,
            "stream",
            {"name": "stderr", "text": STUCK_MESSAGE},
            parent=cell,
            ident=self._topic("stream"),
        )

    async def create_subshell_request(self, socket: Any, ident: Any, parent: Any) -> None:
        self._refuse("create_subshell_reply", socket, ident, parent)

    async def delete_subshell_request(self, socket: Any, ident: Any, parent: Any) -> None:
        self._refuse("delete_subshell_reply", socket, ident, parent)

    async def list_subshell_request(self, socket: Any, ident: Any, parent: Any) -> None:
        self._refuse("list_subshell_reply", socket, ident, parent)

    # Execution

    async def do_execute(  # type: ignore[override]
        self,
        code: str,
        silent: bool,
        store_history: bool = True,
        user_expressions: dict[str, str] | None = None,
        allow_stdin: bool = False,
        *,
        cell_meta: dict[str, Any] | None = None,
        cell_id: str | None = None,
    ) -> dict[str, Any]:
        parent = self.get_parent("shell")
        msg_id = parent.get("header", {}).get("msg_id", "")
        self.host.stdin_allowed[msg_id] = allow_stdin
        self._cell_parent = parent
        count = self.execution_count
        if not silent and store_history:
            self.history.add(count, code)
        owner = cell_owner(cell_id, code)
        try:
            await release_cell(self.runtime, owner)  # what this cell's previous run left
            with owned_by(owner):
                reply = await magics.run(self, code, silent)
                if reply is None:
                    reply = await self.run_cell(code, silent)
            if reply["status"] == "ok" and user_expressions:
                reply["user_expressions"] = await self._user_expressions(user_expressions)
        except Exception as exc:  # a bug of ours must not leave the client without a reply
            self.log.exception("internal error while executing a cell")
            reply = self.report_error("InternalError", f"crucible-kernel internal error: {exc!r}")
        finally:
            self.host.flush()
            self.host.stdin_allowed.pop(msg_id, None)
            self._cell_parent = None
        reply["execution_count"] = count
        reply.setdefault("payload", [])
        reply.setdefault("user_expressions", {})
        return reply

    async def run_cell(self, code: str, silent: bool = False) -> dict[str, Any]:
        """Run Lua `code` as the next cell; publish its output, result or error; return the reply."""
        if silent:
            self._silent_count += 1
            name = f"silent[{self._silent_count}]"
        else:
            name = f"cell[{self.execution_count}]"
        try:
            cell = compile_cell(self.runtime, code, "=" + name)
        except LuaSyntaxError as exc:
            return self.report_lua_error(exc)
        self.sources[name] = code
        task = await self.runtime.run(cell.fn, name=name, kind="cell")
        results, task.results = task.results, ()  # the kernel keeps no values of past cells
        self.host.flush()
        if task.state is TaskState.DONE:
            if cell.show_result and not silent:
                try:
                    await self._publish_result(results)
                except LuaError as exc:  # a failing __display or __tostring of the result
                    return self.report_lua_error(exc)
                except Stopped as stop:  # a looping __tostring, interrupted
                    return self.report_error("Interrupted", f"{name}: showing its result was {stop.kind}")
            return {"status": "ok"}
        if task.state is TaskState.FAILED and task.error is not None:
            return self.report_lua_error(await described_error(self.runtime, task.error, task.error_value))
        if task.stop == "exit":
            return self.report_error(
                "Exit", "os.exit() does not end a notebook's kernel; use Kernel > Restart to start afresh"
            )
        return self.report_error("Interrupted", f"{name} was {task.stop or 'cancelled'}")

    def report_error(self, ename: str, evalue: str, traceback: str | None = None) -> dict[str, Any]:
        content = error_content(ename, evalue, traceback)
        self.host.publish("error", {k: v for k, v in content.items() if k != "status"})
        return content

    def report_lua_error(self, error: LuaError) -> dict[str, Any]:
        return self.report_error(lua_ename(error), error.message, error.traceback)

    def reset_runtime(self) -> Runtime:
        """Replace the Lua state with a fresh one; the caller closes the old one it gets back."""
        old = self.runtime
        self._runtime = self._new_runtime()
        return old

    # Editing help

    # The editing help is imported on first use, to keep kernel start-up short.

    async def do_complete(self, code: str, cursor_pos: int) -> dict[str, Any]:
        from .complete import complete

        return await complete(self.runtime, code, cursor_pos)

    async def do_inspect(
        self, code: str, cursor_pos: int, detail_level: int = 0, omit_sections: Any = ()
    ) -> dict[str, Any]:
        from .inspection import inspect

        return await inspect(self.runtime, code, cursor_pos, detail_level, self.sources)

    async def do_is_complete(self, code: str) -> dict[str, Any]:
        from .syntax import is_complete

        return is_complete(code, self.runtime)

    async def do_history(  # type: ignore[override]
        self,
        hist_access_type: str,
        output: bool,
        raw: bool,
        session: int | None = None,
        start: int | None = None,
        stop: int | None = None,
        n: int | None = None,
        pattern: str | None = None,
        unique: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        if hist_access_type == "tail":
            entries = self.history.tail(n)
        elif hist_access_type == "range":
            entries = self.history.range(session, start, stop)
        elif hist_access_type == "search":
            entries = self.history.search(pattern, n, unique)
        else:
            entries = []
        return {"status": "ok", "history": self.history.reply(entries, output)}

    async def help_data(self, name: str, detail_level: int) -> dict[str, str] | None:
        """The pager's bundle for `?name` / `??name`, None when the name names nothing."""
        from .inspection import pager_data

        return await pager_data(self.runtime, name, detail_level, self.sources)

    async def do_shutdown(self, restart: bool) -> dict[str, Any]:
        # On the control thread, while the main thread may be busy in Lua. Whatever runs is
        # stopped at its next check, the tasks are cancelled and the state closed on the main
        # loop (where they live); if that loop does not answer in time the reply goes anyway, and
        # a process still alive shortly after exits by force (Lua stuck where no hook runs).
        closed = [True]  # whether the Lua state closed in time
        timer = threading.Timer(SHUTDOWN_EXIT, self._exit_now, (closed,))
        timer.daemon = True
        timer.start()
        rt, loop = self._runtime, self._main_loop
        if rt is not None and not rt.closed:
            rt.halt()
        if loop is not None and not loop.is_closed() and (rt is not None or self.sessions is not None):
            closing = asyncio.run_coroutine_threadsafe(self._close_everything(), loop)
            try:
                await asyncio.wait_for(asyncio.wrap_future(closing), SHUTDOWN_GRACE)
            except (TimeoutError, Exception):
                closed[0] = False
                self.log.warning("the Lua state did not close in time; shutting down anyway")
        if rt is not None:
            rt.processes.kill_all()
        return {"status": "ok", "restart": restart}

    def _exit_now(self, closed: list[bool]) -> None:
        # With the Lua state closed, what still holds the process is ipykernel's own exit: now
        # and then the control thread waits 10 s for an IOPub flush that the stopped IOPub
        # thread never does. Nothing is lost by exiting, so only a stuck Lua state is worth a
        # warning (make demo, nbconvert and papermill print the kernel's warnings).
        if closed[0]:
            self.log.debug("ipykernel did not exit by itself after the shutdown; exiting")
        else:
            self.log.warning("the kernel did not stop by itself after a shutdown request; exiting")
        os._exit(0)

    # Private methods

    def _new_runtime(self) -> Runtime:
        from .. import plugins
        from ..runtime import SafeMode
        from ..runtime.capabilities import parse_capabilities
        from ..runtime.engine import DEFAULT_MAX_MEMORY, max_memory_from_env
        from .session_views import KernelSessions

        try:
            max_memory = max_memory_from_env()
        except ValueError as exc:  # a kernel cannot refuse to start: say so and use the default
            self.log.warning("%s; using the default", exc)
            max_memory = DEFAULT_MAX_MEMORY
        safe = None
        if self.safe:
            try:
                allow = parse_capabilities(self.allow)
            except ValueError as exc:
                self.log.warning("%s; granting none", exc)
                allow = frozenset()
            safe = SafeMode(allow, SAFE_HINT)
        rt = Runtime(self.host, max_memory=max_memory, safe=safe)
        plugins.install(rt)  # cru.plugins, cru.services and the services supervisor
        if self.sessions is None:
            self.sessions = KernelSessions(self)
        self.sessions.attach(rt)
        self.widgets.attach(rt)
        return rt

    async def _close_everything(self) -> None:
        # On the main loop, at shutdown: the Lua state (its tasks first), then the sessions.
        if self._runtime is not None and not self._runtime.closed:
            await self._runtime.aclose()
        if self.sessions is not None:
            await self.sessions.aclose()

    async def _publish_result(self, values: tuple[Any, ...]) -> None:
        bundle = await result_bundle(self.runtime, values)
        if bundle is None:
            return
        data, metadata = bundle
        live_view = self.sessions is not None and self.sessions.wants_live_view(metadata)
        if live_view or self.widgets.wants_display_id(metadata):
            self.host.display(data, metadata, uuid.uuid4().hex)  # live views and widgets: display_data
            return
        self.host.publish(
            "execute_result",
            {"execution_count": self.execution_count, "data": data, "metadata": metadata},
        )
        self.history.set_output(self.execution_count, str(data.get("text/plain", "")))

    async def _user_expressions(self, expressions: dict[str, str]) -> dict[str, Any]:
        results: dict[str, Any] = {}
        for key, expr in expressions.items():
            try:
                fn = self.runtime.load("return " + expr, f"=user_expressions[{key}]")
            except LuaError as exc:
                results[key] = {**error_content("LuaSyntaxError", exc.message), "status": "error"}
                continue
            task = await self.runtime.run(fn, name=f"user_expression {key}", kind="expression")
            try:
                if task.state is not TaskState.DONE:
                    raise task.error or LuaError(task.message)
                bundle = await result_bundle(self.runtime, task.results)
                data, metadata = bundle or ({"text/plain": "nil"}, {})
                results[key] = {"status": "ok", "data": data, "metadata": metadata}
            except LuaError as exc:
                results[key] = error_content("LuaError", exc.message)
            except Stopped as stop:
                results[key] = error_content("Interrupted", f"user expression {key} was {stop.kind}")
        return results

    def _on_sigint(self, signum: int, frame: Any) -> None:
        if self._runtime is not None:
            self._runtime.interrupt()
        for run in list(self.side_runs):
            run.interrupt()

    def _refuse(self, reply_type: str, socket: Any, ident: Any, parent: Any) -> None:
        content = {
            "status": "error",
            "ename": "SubshellsNotSupported",
            "evalue": SUBSHELL_REFUSAL,
            "traceback": [SUBSHELL_REFUSAL],
        }
        self.session.send(socket, reply_type, content, parent, ident=ident)

    def _setup_comms(self) -> None:
        # Kernel (unlike IPythonKernel) has no comm manager; comm_info and widgets need one.
        import comm
        from ipykernel.comm.comm import BaseComm
        from ipykernel.comm.manager import CommManager

        self.comm_manager = CommManager(parent=self, kernel=self)
        comm.create_comm = lambda *args, **kwargs: BaseComm(*args, **kwargs)
        comm.get_comm_manager = lambda: self.comm_manager
        for msg_type in ("comm_open", "comm_msg", "comm_close"):
            self.shell_handlers[msg_type] = getattr(self.comm_manager, msg_type)
        self.widgets.register_comm_targets(self.comm_manager)  # ipywidgets loads on first use
