"""`crucible-kernel run --plugin PATH [--config FILE.toml] [FILE.lua]`: plugins on the terminal.

The plugins load (with their dependencies) and their services start, as in a notebook. Then,
with FILE, the file runs as the main chunk and the run ends when it and the tasks it spawned are
done (the services are stopped then); without FILE, the services run until they have all
finished, Ctrl-C, or `--timeout`. A plugin that fails to load ends the run with its error and
status 1. Exit statuses are those of `crucible-kernel run`.
"""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING

from ..runner import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TIMEOUT,
    RunOptions,
    _prepare_globals,
    _sessions,
)
from ..runtime import LuaSyntaxError, Runtime, TaskState, TerminalHost
from . import PluginError, install
from . import services as services_module

if TYPE_CHECKING:
    from ..runtime import LuaTask

__all__ = ["run_plugins"]


async def run_plugins(
    plugins: list[str],
    config: str | None,
    path: str | None,
    source: bytes | None,
    args: list[str],
    options: RunOptions | None = None,
) -> int:
    """Load `plugins`, then run FILE `path` (or the services); returns the exit status."""
    options = options or RunOptions()
    host = TerminalHost()
    rt = Runtime(host, max_memory=options.max_memory)
    manager = install(rt)
    supervisor = services_module.of(rt)
    service = _sessions(rt, options)
    _prepare_globals(rt, path or "plugins", args)
    chunk = None
    if path is not None and source is not None:
        try:
            chunk = rt.load(source, "@" + path)
        except LuaSyntaxError as exc:
            host.write("stderr", f"crucible-kernel: {exc.message}\n".encode())
            return EXIT_ERROR

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    interrupted = False
    main: LuaTask | None = None

    def on_sigint(signum: int, frame: object) -> None:
        # A plain handler, as `crucible-kernel run` has: it also runs while Lua computes.
        nonlocal interrupted
        interrupted = True
        rt.interrupt()
        loop.call_soon_threadsafe(stop.set)

    async def everything() -> int:
        nonlocal main
        for target in plugins:
            try:
                plugin = await manager.load(target, config)
            except PluginError as exc:
                host.write("stderr", f"crucible-kernel: {exc}\n".encode())
                return EXIT_ERROR
            names = [n for n, _, _ in plugin.services]
            listing = f" (services: {', '.join(names)})" if names else ""
            host.log("info", f"loaded plugin {plugin.name} {plugin.version}{listing}")
        if chunk is not None:
            main = rt.start(chunk, *args, name=path or "main", kind="main", foreground=True)
            await main.wait()
            if main.state is TaskState.DONE:
                await rt.wait_tasks(("spawn",))
            return EXIT_OK
        while True:  # until every service has finished
            live = [r.task for r in supervisor.records.values() if r.alive and r.task is not None]
            if not live:
                return EXIT_OK
            await asyncio.gather(*(t.wait() for t in live))

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        work = asyncio.ensure_future(everything())
        stopped = asyncio.ensure_future(stop.wait())
        exited = asyncio.ensure_future(host.exit_event.wait())
        done, _ = await asyncio.wait(
            {work, stopped, exited}, timeout=options.timeout, return_when=asyncio.FIRST_COMPLETED
        )
        for f in (stopped, exited):
            f.cancel()
        if work not in done:
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
        await rt.cancel_tasks(reason="interrupted" if interrupted else "cancelled")
        status = work.result() if work in done and not work.cancelled() else None
        if host.exit_code is not None:
            return host.exit_code
        if main is not None and main.state is TaskState.FAILED and main.error is not None:
            host.write("stderr", f"crucible-kernel: {main.error.traceback}\n".encode())
            return EXIT_ERROR
        if interrupted:
            host.write("stderr", b"crucible-kernel: interrupted\n")
            return EXIT_INTERRUPTED
        if status is None:
            host.write("stderr", f"crucible-kernel: timed out after {options.timeout:g} s\n".encode())
            return EXIT_TIMEOUT
        return status
    finally:
        signal.signal(signal.SIGINT, previous)
        await rt.aclose()
        if service is not None:
            await service.aclose()
        host.flush()
