"""`crucible-kernel run`: a Lua file as the main chunk, on the terminal host."""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass
from typing import Any

from .runtime import LuaSyntaxError, Runtime, TaskState, TerminalHost

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_TIMEOUT = 124  # as timeout(1)
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report Ctrl-C


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


async def run_file(path: str, source: bytes, args: list[str], options: RunOptions | None = None) -> int:
    """Run `source` as the main chunk of `path`, then wait for its spawned tasks; exit status."""
    options = options or RunOptions()
    timeout = options.timeout
    host = TerminalHost()
    rt = Runtime(host, max_memory=options.max_memory)
    from . import plugins  # cru.plugins and cru.services, as in a notebook

    plugins.install(rt)
    service = _sessions(rt, options)
    _prepare_globals(rt, path, args)
    try:
        chunk = rt.load(source, "@" + path)
    except LuaSyntaxError as exc:
        host.write("stderr", f"crucible-kernel: {exc.message}\n".encode())
        return EXIT_ERROR

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    interrupted = False

    def on_sigint(signum: int, frame: object) -> None:
        # A plain handler, not loop.add_signal_handler: it must also run while Lua computes, when
        # the loop is not turning (it then runs inside the interrupt hook's call into Python).
        nonlocal interrupted
        interrupted = True
        rt.interrupt()
        loop.call_soon_threadsafe(stop.set)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        main = rt.start(chunk, *args, name=path, kind="main", foreground=True)

        async def everything() -> None:
            await main.wait()
            if main.state is TaskState.DONE:
                await rt.wait_tasks()

        work = asyncio.ensure_future(everything())
        stopped = asyncio.ensure_future(stop.wait())
        exited = asyncio.ensure_future(host.exit_event.wait())
        done, _ = await asyncio.wait(
            {work, stopped, exited}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        for f in (work, stopped, exited):
            f.cancel()
        await rt.cancel_tasks(reason="interrupted" if interrupted else "cancelled")
        await main.wait()

        if host.exit_code is not None:
            return host.exit_code
        if main.state is TaskState.FAILED and main.error is not None:
            host.write("stderr", f"crucible-kernel: {main.error.traceback}\n".encode())
            return EXIT_ERROR
        if interrupted:
            host.write("stderr", b"crucible-kernel: interrupted\n")
            return EXIT_INTERRUPTED
        if not done:
            host.write("stderr", f"crucible-kernel: timed out after {timeout:g} s\n".encode())
            return EXIT_TIMEOUT
        return EXIT_OK
    finally:
        signal.signal(signal.SIGINT, previous)
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


def _prepare_globals(rt: Runtime, path: str, args: list[str]) -> None:
    """`arg` as the standalone interpreter sets it, and the file's folder on package.path."""
    g = rt.lua.globals()
    g[b"arg"] = rt.to_lua({0: path, **{i + 1: a for i, a in enumerate(args)}})
    folder = os.path.dirname(os.path.abspath(path))
    package = g[b"package"]
    package[b"path"] = f"{folder}/?.lua;{folder}/?/init.lua;".encode() + package[b"path"]


__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_TIMEOUT", "RunOptions", "run_file"]
