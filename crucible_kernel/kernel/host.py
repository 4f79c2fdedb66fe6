"""The runtime's host in a kernel: Lua output becomes IOPub messages, input an input_request.

Every message is parented to the request that was current when the Lua code ran. asyncio tasks
copy ipykernel's parent ContextVar when they are created, so the output of a task spawned by a
cell stays with that cell after it has finished (JupyterLab shows it there while the page is
open; see the README, "In a notebook").

Output of a task whose cell has finished ("late" output) always ends a line: `jupyter console`
prints it over its prompt, and would otherwise lose the unfinished line when it redraws.

Stream text is batched: it is flushed 20 ms after the first write, when 64 kB are waiting, when
the oldest waiting text is 50 ms old (checked on every write and from the runtime's poll, because
a busy Lua loop never lets the timer run), and before anything else is published.
"""

from __future__ import annotations

import asyncio
import codecs
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import zmq

from ..runtime import ApiError, Host

if TYPE_CHECKING:
    from ..runtime import LuaTask
    from .kernel import CrucibleKernel

FLUSH_DELAY = 0.02
FLUSH_AGE = 0.05
FLUSH_SIZE = 64 * 1024
STDIN_POLL = 0.01
IOPUB_BACKLOG = 4  # big stream messages waiting for the IOPub thread before writing waits
IOPUB_PATIENCE = 5.0  # seconds one such wait may last


class KernelHost(Host):
    """Publishes what Lua writes, logs and displays on IOPub, and asks for input on stdin."""

    def __init__(self, kernel: CrucibleKernel) -> None:
        self.kernel = kernel
        self._parts: list[bytes] = []
        self._size = 0
        self._stream = "stdout"
        self._parent: dict[str, Any] | None = None
        self._since = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._decoders: dict[str, codecs.IncrementalDecoder] = {}
        self._stdin_lock = asyncio.Lock()
        self.stdin_allowed: dict[str, bool] = {}
        """allow_stdin of the cells running now, by msg_id."""
        self.service_listeners: list[Callable[[dict[str, Any]], None]] = []
        """Called with every service event (see Host.service_event): a live services view
        subscribes here."""

    # Output

    def write(self, stream: str, data: bytes) -> None:
        parent = self._current_parent()
        if self._parts and (stream != self._stream or parent is not self._parent):
            self.flush()
        if parent is not self._parent:
            self._end_characters()
        if not self._parts:
            self._stream, self._parent, self._since = stream, parent, time.monotonic()
            if self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(FLUSH_DELAY, self._on_timer)
        self._parts.append(data)
        self._size += len(data)
        if self._size >= FLUSH_SIZE or time.monotonic() - self._since >= FLUSH_AGE:
            self.flush()

    def log(self, level: str, message: str) -> None:
        stream = "stderr" if level in ("warn", "error") else "stdout"
        self.write(stream, f"[{level}] {message}\n".encode("utf-8", "replace"))

    def display(
        self,
        data: dict[str, Any],
        metadata: dict[str, Any] | None = None,
        display_id: str | None = None,
        update: bool = False,
    ) -> None:
        sessions = self.kernel.sessions
        token, metadata = sessions.live_token(metadata) if sessions is not None else (None, metadata)
        widget, metadata = self.kernel.widgets.take_token(metadata)
        content: dict[str, Any] = {"data": data, "metadata": metadata or {}, "transient": {}}
        if display_id is not None:
            content["transient"]["display_id"] = display_id
        self.publish("update_display_data" if update else "display_data", content)
        if token is not None and display_id is not None and not update:
            sessions.views.bind(token, display_id, self._current_parent())  # a session's live view
        if widget is not None and display_id is not None:
            self.kernel.widgets.shown(widget, display_id, self._current_parent())

    def service_event(self, event: dict[str, Any]) -> None:
        for listener in list(self.service_listeners):
            try:
                listener(event)
            except Exception:  # a broken view must not break the supervisor
                self.kernel.log.exception("a service event listener failed")

    def clear_output(self, wait: bool = False) -> None:
        self.publish("clear_output", {"wait": bool(wait)})

    def task_event(self, task: LuaTask, event: str) -> None:
        self.kernel.widgets.task_event(task, event)  # a cell's end brings its widgets up to date

    def poll(self) -> None:
        if self._parts and time.monotonic() - self._since >= FLUSH_AGE:
            self.flush()

    def flush(self) -> None:
        """Send the waiting stream text now."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._parts:
            return
        data = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
        self._parts.clear()
        self._size = 0
        # A character cut between two writes (big output comes in slices) is decoded whole.
        text = self._decoder(self._stream).decode(data)
        if text and not text.endswith("\n") and self._parent is not self.kernel._cell_parent:
            # Late output (its cell has finished): a terminal frontend prints it over the prompt
            # it is showing, and the prompt's redraw erases an unfinished line.
            text += "\n"
        if text:
            self._send("stream", {"name": self._stream, "text": text}, self._parent)
        if len(data) >= FLUSH_SIZE:
            self._wait_for_iopub()

    def publish(self, msg_type: str, content: dict[str, Any], parent: dict[str, Any] | None = None) -> None:
        """Send an IOPub message after the stream text written before it."""
        self.flush()
        self._send(msg_type, content, parent if parent is not None else self._current_parent())

    def _decoder(self, stream: str) -> codecs.IncrementalDecoder:
        decoder = self._decoders.get(stream)
        if decoder is None:
            decoder = self._decoders[stream] = codecs.getincrementaldecoder("utf-8")("replace")
        return decoder

    def _end_characters(self) -> None:
        """A character left cut at the end of the previous cell's output is not carried over."""
        for stream, decoder in list(self._decoders.items()):
            rest = decoder.decode(b"", final=True)
            if rest and self._parent is not None:
                self._send("stream", {"name": stream, "text": rest}, self._parent)
        self._decoders.clear()

    def _wait_for_iopub(self) -> None:
        # Big output: let the IOPub thread send what is queued before more is made, so what waits
        # in memory stays bounded (IOPUB_BACKLOG messages) instead of growing with the output.
        events = getattr(getattr(self.kernel, "iopub_thread", None), "_events", None)
        if events is None:
            return
        deadline = time.monotonic() + IOPUB_PATIENCE
        while len(events) > IOPUB_BACKLOG and time.monotonic() < deadline:
            time.sleep(0.001)

    # Input

    async def read_line(self, prompt: str, password: bool = False) -> str | None:
        kernel = self.kernel
        parent = self._current_parent()
        msg_id = parent.get("header", {}).get("msg_id")
        if msg_id not in self.stdin_allowed:
            raise ApiError("input is only available while its cell runs (this task outlived its cell)")
        if not self.stdin_allowed[msg_id]:
            raise ApiError("input is not available: this frontend does not accept input requests")
        ident = kernel._get_shell_context_var(kernel._shell_parent_ident)
        async with self._stdin_lock:
            self.flush()
            socket = kernel.stdin_socket
            while True:  # drop stale replies (an earlier request that was interrupted)
                try:
                    socket.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
            kernel.session.send(
                socket, "input_request", {"prompt": prompt, "password": password}, parent, ident=ident
            )
            while True:  # poll without blocking the loop, so tasks and widgets keep running
                try:
                    _, reply = kernel.session.recv(socket, zmq.NOBLOCK)
                except zmq.Again:
                    reply = None
                if reply is not None:
                    break
                await asyncio.sleep(STDIN_POLL)
        value = str(reply.get("content", {}).get("value", ""))
        return None if value == "\x04" else value  # Ctrl-D: end of input

    # Private methods

    def _current_parent(self) -> dict[str, Any]:
        return self.kernel.get_parent("shell")

    def _on_timer(self) -> None:
        self._timer = None
        self.flush()

    def _send(self, msg_type: str, content: dict[str, Any], parent: dict[str, Any] | None) -> None:
        kernel = self.kernel
        if kernel.session is None:
            return
        kernel.session.send(
            kernel.iopub_socket, msg_type, content, parent=parent, ident=kernel._topic(msg_type)
        )
