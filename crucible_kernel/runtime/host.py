"""The host interface: the only way the runtime reaches the outside world.

The runtime calls these methods; the Jupyter kernel implements them with IOPub messages and
widgets, the command line with the terminal. Nothing here may import Jupyter.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .tasks import LuaTask

__all__ = ["Host", "TerminalHost"]

LOG_LEVELS = ("debug", "info", "warn", "error")


class Host:
    """Default host: discards output, has no input. Subclass and override what you support."""

    def write(self, stream: str, data: bytes) -> None:
        """Write Lua text (raw bytes) to `stream`, "stdout" or "stderr"."""

    def log(self, level: str, message: str) -> None:
        """Record a `cru.log` message; `level` is one of LOG_LEVELS."""

    def display(
        self,
        data: dict[str, Any],
        metadata: dict[str, Any] | None = None,
        display_id: str | None = None,
        update: bool = False,
    ) -> None:
        """Show a mime bundle; with `update`, replace what `display_id` shows."""

    def clear_output(self, wait: bool = False) -> None:
        """Clear the current output (after the next output arrives, with `wait`)."""

    def notify(self, message: str, kind: str, progress: tuple[int, int] | None = None) -> None:
        """Show a plugin's notification (crucible.notify): `kind` is "toast", "warning" or
        "progress" (with `progress` = (current, total)). By default, a log line."""
        text = message if progress is None else f"{message} ({progress[0]}/{progress[1]})"
        self.log("warn" if kind == "warning" else "info", text)

    def status(self, session: str, key: str, entry: dict[str, Any] | None) -> None:
        """A plugin set (`entry`: plugin, text, level, progress) or cleared (None) the status slot
        `key` of `session` (crucible.set_status / clear_status). By default, a log line."""
        if entry is None:
            self.log("info", f"status {key} ({session}): cleared")
            return
        level = entry.get("level")
        text = f"status {key} ({session}): {entry.get('text', '')}"
        progress = entry.get("progress")
        if progress is True:
            text += " [...]"
        elif isinstance(progress, float):
            text += f" [{progress:.0%}]"
        self.log(level if level in ("warn", "error") else "info", text)

    async def read_line(self, prompt: str, password: bool = False) -> str | None:
        """Ask the user for one line of input; None at end of input."""
        return None

    async def read_all(self) -> str | None:
        """Everything left on the input (io.read("a")); a frontend gives one line."""
        return await self.read_line("")

    def task_event(self, task: LuaTask, event: str) -> None:
        """Hear about a task: "started" or "finished" (its state tells how)."""

    def service_event(self, event: dict[str, Any]) -> None:
        """Hear about a supervised service (a plugin's service, a cru.service), for a live view.

        `event["event"]` is "state" (the service appeared or changed state, restart count or
        last error), "output" (it wrote; `event["output"]` is the entry: `{"time", "stream",
        "text"}`) or "removed" (it was forgotten). `event["service"]` is always the service's
        whole record, JSON data: `id`, `name`, `plugin`, `kind` ("plugin" or "defined"),
        `desc`, `state` ("starting", "running", "completed", "failed", "stopped"),
        `previous` (the state before, on a change), `started_at` and `state_since` (Unix
        times), `restarts`, `last_error`, `last_traceback`, `task_id`, `owner` and `output`
        (the recent entries, oldest first). By default nothing happens: the supervisor logs
        outcomes through `log` itself."""

    def poll(self) -> None:
        """Called every few thousand Lua instructions, even while Lua computes and the event loop
        cannot run: the moment to send output that has waited too long. Keep it cheap."""

    def exit_requested(self, code: int) -> None:
        """Lua called os.exit(code)."""


class TerminalHost(Host):
    """The command line: Lua's stdout and stderr are the process's, logs go to stderr."""

    def __init__(self) -> None:
        self._out = sys.stdout.buffer
        self._err = sys.stderr.buffer
        self._tty = sys.stdout.isatty()
        self.exit_code: int | None = None
        self.exit_event = asyncio.Event()

    def write(self, stream: str, data: bytes) -> None:
        if stream == "stderr":
            self._out.flush()  # keep stdout and stderr in the order Lua wrote them
            self._err.write(data)
            self._err.flush()
        else:
            self._out.write(data)
            if self._tty:
                self._out.flush()

    def log(self, level: str, message: str) -> None:
        self.write("stderr", f"[{level}] {message}\n".encode("utf-8", "replace"))

    def display(
        self,
        data: dict[str, Any],
        metadata: dict[str, Any] | None = None,
        display_id: str | None = None,
        update: bool = False,
    ) -> None:
        text = data.get("text/plain")
        if text is None:
            text = "<" + ", ".join(sorted(data)) + ">"
        self.write("stdout", (str(text) + "\n").encode("utf-8", "replace"))

    async def read_line(self, prompt: str, password: bool = False) -> str | None:
        if prompt:
            self.write("stdout", prompt.encode("utf-8", "replace"))
        self._out.flush()
        line = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        if line == "":
            return None
        return line[:-1] if line.endswith("\n") else line

    async def read_all(self) -> str | None:
        self._out.flush()
        return await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)

    def exit_requested(self, code: int) -> None:
        self.exit_code = code
        self.exit_event.set()

    def flush(self) -> None:
        self._out.flush()
        self._err.flush()
