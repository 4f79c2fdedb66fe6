"""Natives behind cru.shell and the global `shell` (lua/shell.lua), on the runtime's child
processes (processes.py): no shell in between, a process group of the command's own, waits that
suspend the task (or block, from code that cannot yield), and interrupts or cancellations that
reach the command (SIGINT to its group, SIGKILL two seconds later).

`exec` runs a command to its end and captures both outputs; `spawn` starts one whose lines the
Lua side takes one at a time (`next_line`), so that the plugin's `on_line` callback runs in Lua
and may wait, then `finish` waits for the exit. Lua tables are read during the native call that
receives them (the coroutines returned never hold Lua values: see anchor.py).
"""

from __future__ import annotations

import itertools
import os
from typing import TYPE_CHECKING, Any

from .convert import Multi
from .errors import ApiError
from .processes import PIPE, Child, ExitStatus

if TYPE_CHECKING:
    from .engine import Runtime

__all__ = ["install"]


def _failure(cmd: bytes, exc: OSError) -> str:
    """The reference's start failure: `Failed to execute '<cmd>': <io::Error as Rust prints it>`."""
    reason = f"{exc.strerror} (os error {exc.errno})" if exc.errno is not None and exc.strerror else str(exc)
    return f"Failed to execute '{os.fsdecode(cmd)}': {reason}"


def _exit_code(status: ExitStatus) -> int:
    return status.exit_code if status.exit_code is not None else -1  # Rust: code().unwrap_or(-1)


def install(rt: Runtime) -> None:
    children: dict[int, Child] = {}  # spawned commands by number, until finish or release
    numbers = itertools.count(1)

    def command(cmd: bytes, args: Any, env: Any) -> tuple[list[bytes], dict[str, str] | None]:
        argv = [cmd, *(args[i] for i in range(1, len(args) + 1))]
        merged = None
        if env is not None:  # added to the kernel's environment, as Command::env does
            merged = dict(os.environ)
            merged.update((os.fsdecode(k), os.fsdecode(v)) for k, v in env.items())
        return argv, merged

    def exec_(cmd: bytes, args: Any, cwd: bytes | None, env: Any, stdin: bytes | None) -> Any:
        argv, environment = command(cmd, args, env)

        async def run() -> Any:
            try:
                done = await rt.processes.run(argv, cwd=cwd, env=environment, input=stdin)
            except OSError as exc:
                raise ApiError(_failure(cmd, exc)) from None
            return rt.to_lua(
                {
                    "success": done.status.success,
                    "exit_code": _exit_code(done.status),
                    "stdout": done.stdout,
                    "stderr": done.stderr,
                }
            )

        return run()

    def spawn(cmd: bytes, args: Any, cwd: bytes | None, env: Any) -> Multi:
        argv, environment = command(cmd, args, env)
        try:
            child = rt.processes.start(argv, cwd=cwd, env=environment, stdout=PIPE, stderr=PIPE)
        except OSError as exc:
            return Multi(None, _failure(cmd, exc).encode())
        number = next(numbers)
        children[number] = child
        return Multi(number, None)

    async def next_line(number: int) -> Multi | None:
        line = await children[number].next_line()
        if line is None:
            return None
        stream, data = line
        return Multi(stream.encode(), data)

    async def finish(number: int) -> Multi:
        child = children[number]
        status = await child.wait()
        children.pop(number, None)
        child.abandon()
        return Multi(status.success, _exit_code(status))

    def release(number: int, stop: bool) -> None:
        # spawn left early (an error in on_line, an interrupt, a cancellation): stop the command
        child = children.pop(number, None)
        if child is not None:
            if stop:
                child.interrupt()
            child.abandon()

    def which(name: bytes) -> bytes | None:
        found = rt.processes.which(os.fsdecode(name))
        return os.fsencode(found) if found is not None else None

    natives = {
        "exec": exec_,
        "spawn": spawn,
        "next_line": next_line,
        "finish": finish,
        "release": release,
        "which": which,
    }
    rt.register("shell", rt.lua_module("shell", natives), global_name="shell")
