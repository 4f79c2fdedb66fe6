"""`crucible-kernel run`: a Lua file as the main chunk, on the terminal host, after the plugins
given with --plugin (then --safe-plugin, each in safe mode) have loaded and started their services.

With FILE, the run ends when the file and the tasks it spawned are done (the plugins' services
are stopped then); with plugins and no FILE, when every service has finished. A plugin that fails
to load ends the run with its error and status 1.

Ctrl-C and --timeout reach the runtime from a watcher thread, so they work even while the main
thread is busy in Lua (the count hook then stops it) or stuck where no hook runs (a __gc
finalizer, a long C function): after STUCK_AFTER seconds without the interrupt being seen, the
terminal is told so, and the third Ctrl-C exits at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .runtime import LuaSyntaxError, LuaTask, Runtime, SafeMode, TaskState, TerminalHost
from .runtime.display import described_error

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_TIMEOUT = 124  # as timeout(1)
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C

STUCK_AFTER = 2.0  # seconds an interrupt may go unseen before the terminal is told
STUCK_MESSAGE = (
    b"crucible-kernel: Lua is stuck in a finalizer / C function and cannot be interrupted; "
    b"press Ctrl-C again to exit\n"
)
EXIT_NOW_AFTER = 3  # Ctrl-C presses: the last one exits at once, stuck or not


@dataclass
class RunOptions:
    """How `crucible-kernel run` sets up the runtime (its command-line options)."""

    timeout: float | None = None
    """Seconds of wall time before everything is stopped (exit status 124)."""
    max_memory: int | None = None
    """Cap on the Lua heap in bytes (None: the runtime's default)."""
    sessions: bool = True
    """cru.sessions on the in-process session service (False: every call "no daemon connected")."""
    sessions_file: str | None = None
    """A recording for the sessions the file creates (JSON Lines)."""
    sessions_mode: str | None = None
    """"record", "replay" or "auto" (the default with a file: replay when it exists, else record)."""
    sessions_speed: float = 1.0
    """Replay speed factor (0: as fast as possible)."""
    safe: SafeMode | None = None
    """Safe mode and the capabilities it grants (None: not safe mode)."""
    plugins: list[str] = field(default_factory=list)
    """Plugins to load first (folders, .lua files or names on CRUCIBLE_PLUGIN_PATH)."""
    safe_plugins: list[str] = field(default_factory=list)
    """Plugins to load next, each in safe mode (an environment of its own, its declared
    capabilities enforced)."""
    config: str | None = None
    """A Crucible config.toml for the plugins ([plugins.<name>] sections)."""


async def run_file(
    path: str | None, source: bytes | None, args: list[str], options: RunOptions | None = None
) -> int:
    """Load the plugins of `options`, run `source` as the main chunk of `path` (if given), then
    wait for what the run waits for (see the module's docstring); returns the exit status."""
    options = options or RunOptions()
    timeout = options.timeout
    host = TerminalHost()
    rt = Runtime(host, max_memory=options.max_memory, safe=options.safe)
    from . import plugins  # cru.plugins and cru.services, as in a notebook

    manager = plugins.install(rt)
    service = _sessions(rt, options)
    _prepare_globals(rt, path or "plugins", args)
    chunk = None
    if path is not None and source is not None:
        try:
            chunk = rt.load(source, "@" + path)
        except LuaSyntaxError as exc:
            host.write("stderr", f"crucible-kernel: {exc.message}\n".encode())
            await rt.aclose()
            return EXIT_ERROR

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    reason: list[str] = []  # "interrupted" or "timeout", the first that came
    main: LuaTask | None = None

    def stop_everything(why: str) -> None:
        # From the watcher thread: stop what Lua computes now, then wake the loop.
        if not reason:
            reason.append(why)
        number = rt.interrupt()
        loop.call_soon_threadsafe(stop.set)
        threading.Timer(STUCK_AFTER, _report_if_stuck, (rt, number, why)).start()

    async def everything() -> int:
        nonlocal main
        targets = [(t, False) for t in options.plugins] + [(t, True) for t in options.safe_plugins]
        for target, safe in targets:
            try:
                plugin = await manager.load(target, options.config, safe=safe)
            except plugins.PluginError as exc:
                host.write("stderr", f"crucible-kernel: {exc}\n".encode())
                return EXIT_ERROR
            names = [n for n, _, _ in plugin.services]
            listing = f" (services: {', '.join(names)})" if names else ""
            mode = " in safe mode" if safe else ""
            host.log("info", f"loaded plugin {plugin.name} {plugin.version}{mode}{listing}")
        if chunk is not None:
            main = rt.start(chunk, *args, name=path or "main", kind="main", foreground=True)
            await main.wait()
            if main.state is TaskState.DONE:
                # with plugins, their services stop when the file is done; without, the file's own
                # services are its work too
                await rt.wait_tasks(("spawn",) if targets else ("spawn", "service"))
            return EXIT_OK
        await rt.wait_tasks(("service",))  # no file: until every service has finished
        return EXIT_OK

    watcher = _SignalWatcher(
        on_interrupt=lambda: stop_everything("interrupted"),
        on_last=lambda: _exit_now(rt, host, EXIT_INTERRUPTED, b"crucible-kernel: interrupted\n"),
    )
    timer = threading.Timer(timeout, stop_everything, ("timeout",)) if timeout else None
    watcher.start()
    try:
        if timer is not None:
            timer.daemon = True
            timer.start()
        work = asyncio.ensure_future(everything())
        stopped = asyncio.ensure_future(stop.wait())
        exited = asyncio.ensure_future(host.exit_event.wait())
        done, _ = await asyncio.wait({work, stopped, exited}, return_when=asyncio.FIRST_COMPLETED)
        for f in (stopped, exited):
            f.cancel()
        if work not in done:
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
        why = reason[0] if reason else None
        await rt.cancel_tasks(reason="interrupted" if why == "interrupted" else "cancelled")
        status = work.result() if work in done and not work.cancelled() else EXIT_OK

        if host.exit_code is not None:
            return host.exit_code
        if main is not None and main.state is TaskState.FAILED and main.error is not None:
            error = await described_error(rt, main.error, main.error_value)
            host.write("stderr", f"crucible-kernel: {error.traceback}\n".encode())
            return EXIT_ERROR
        if why == "interrupted":
            host.write("stderr", b"crucible-kernel: interrupted\n")
            return EXIT_INTERRUPTED
        if why == "timeout":
            host.write("stderr", f"crucible-kernel: timed out after {timeout:g} s\n".encode())
            return EXIT_TIMEOUT
        return status
    finally:
        if timer is not None:
            timer.cancel()
        watcher.stop()
        await rt.aclose()
        if service is not None:
            await service.aclose()
        host.flush()


def _sessions(rt: Runtime, options: RunOptions) -> Any:
    """The session service behind cru.sessions, unless switched off."""
    if not options.sessions:
        return None
    from .sessions import RecordingSettings, SessionService, install

    recording = None
    if options.sessions_file:
        recording = RecordingSettings(
            options.sessions_mode or "auto", options.sessions_file, options.sessions_speed
        )
    service = SessionService(recording=recording, socket_path=os.environ.get("CRUCIBLE_SOCKET") or None)
    install(rt, service)
    return service


def _report_if_stuck(rt: Runtime, number: int, why: str) -> None:
    if rt.interrupt_honoured(number) or rt.closed:
        return
    with contextlib.suppress(OSError):
        os.write(2, STUCK_MESSAGE)
    if why == "timeout":  # nobody is there to press Ctrl-C: the timeout ends the run anyway
        _exit_now(rt, None, EXIT_TIMEOUT, b"crucible-kernel: timed out\n")


def _exit_now(rt: Runtime, host: TerminalHost | None, status: int, message: bytes) -> None:
    """Leave at once, from any thread: the main thread may be stuck in Lua."""
    with contextlib.suppress(Exception):
        rt.processes.kill_all()
    with contextlib.suppress(Exception):
        if host is not None:
            host.flush()
    with contextlib.suppress(OSError):
        os.write(2, message)
    os._exit(status)


class _SignalWatcher:
    """Hears every SIGINT on a thread of its own (through the signal wakeup fd, which the C-level
    handler writes even while the main thread never returns to Python): each one interrupts;
    the EXIT_NOW_AFTER-th exits at once."""

    def __init__(self, on_interrupt: Callable[[], None], on_last: Callable[[], None]) -> None:
        self._on_interrupt = on_interrupt
        self._on_last = on_last
        self._count = 0
        self._read = self._write = -1
        self._previous_fd = -1
        self._previous_handler: object = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        # A Python handler must stay installed for the C handler to write the wakeup fd; the
        # work happens on the watcher thread.
        self._previous_handler = signal.signal(signal.SIGINT, _ignore)
        self._previous_fd = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        self._thread = threading.Thread(target=self._watch, name="crucible-sigint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        signal.set_wakeup_fd(self._previous_fd)
        signal.signal(signal.SIGINT, self._previous_handler)  # type: ignore[arg-type]
        with contextlib.suppress(OSError):
            os.close(self._write)  # ends the watcher's read
        if self._thread is not None:
            self._thread.join(timeout=1)
        with contextlib.suppress(OSError):
            os.close(self._read)

    def _watch(self) -> None:
        while True:
            try:
                data = os.read(self._read, 64)
            except OSError:
                return
            if not data:
                return
            for number in data:
                if number != signal.SIGINT:
                    continue
                self._count += 1
                if self._count >= EXIT_NOW_AFTER:
                    self._on_last()
                    return
                self._on_interrupt()


def _ignore(signum: int, frame: object) -> None:
    """SIGINT's Python-level handler: the watcher thread does the work."""


def _prepare_globals(rt: Runtime, path: str, args: list[str]) -> None:
    """`arg` as the standalone interpreter sets it, and the file's folder on package.path."""
    g = rt.lua.globals()
    g[b"arg"] = rt.to_lua({0: path, **{i + 1: a for i, a in enumerate(args)}})
    folder = os.path.dirname(os.path.abspath(path))
    package = g[b"package"]
    package[b"path"] = f"{folder}/?.lua;{folder}/?/init.lua;".encode() + package[b"path"]


__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_TIMEOUT", "RunOptions", "run_file"]
