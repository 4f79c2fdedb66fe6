"""Child processes: the layer under os.execute and io.popen (lua/processes.lua), and cru.shell's.

A child runs in its own process group, so an interrupt reaches everything it started, with
non-blocking pipes whose output is read as it comes: kept for the caller (PIPE), copied to the
host as the cell's output (FORWARD; a notebook shows what os.execute prints) or dropped (DEVNULL).

Every wait works two ways:

- inside a task it suspends: the event loop reads the pipes meanwhile and other tasks run;
- from Lua code that cannot yield (a synchronous caller, which the engine settles on the spot,
  see `Runtime.blocking`), it blocks, polling the pipes and the runtime's interrupt check.

An interrupt of the waiting task (or its cancellation) sends SIGINT to the child's process group,
then SIGKILL if the child still lives GRACE seconds later, and stops the task (`Stopped`), as an
interrupt of an IPython kernel reaches its children. `Runtime.aclose` stops whatever is left
(SIGINT, then SIGKILL half a second later).

Python API (what cru.shell builds on; every `await` also works when settled synchronously)::

    procs = runtime.processes
    child = procs.start(argv, cwd=None, env=None, stdin=DEVNULL, stdout=PIPE, stderr=PIPE)
        # argv: str/bytes items, no shell (procs.shell(command) gives /bin/sh -c command);
        # stdin: PIPE or DEVNULL; stdout/stderr: PIPE, FORWARD or DEVNULL;
        # raises OSError when the program cannot start (not found, not executable, bad cwd)
    await child.write(data)                  # PIPE stdin; False once the child closed its end
    await child.close_stdin()
    await child.read(fmt, STDOUT)            # "l", "L", "a", "n" or a byte count, as Lua's
                                             # file:read; None at end of file
    line = await child.next_line()           # (STDOUT | STDERR, line without "\n") from both
                                             # PIPE streams as they come; None when both end
    status = await child.wait()              # ExitStatus: .kind "exit" | "signal", .code,
                                             # .success, .exit_code, .lua() (os.execute's triple)
    done = await procs.run(argv, cwd=None, env=None, input=b"")
                                             # Completed: .status, .stdout, .stderr (bytes)
    procs.which(name, path=None)             # the program's full path, or None (synchronous)
    child.interrupt(); child.kill()
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import select
import shutil
import signal
import subprocess
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .convert import Multi
from .errors import Stopped

if TYPE_CHECKING:
    from .engine import Runtime

__all__ = [
    "DEVNULL",
    "FORWARD",
    "PIPE",
    "STDERR",
    "STDOUT",
    "Child",
    "Completed",
    "ExitStatus",
    "Processes",
]

PIPE, FORWARD, DEVNULL = "pipe", "forward", "devnull"
STDOUT, STDERR = "stdout", "stderr"
SHELL = "/bin/sh"

GRACE = 2.0  # seconds between SIGINT and SIGKILL
CLOSE_GRACE = 0.5  # the same when the runtime closes (a run that ends, a reset, a shutdown)
POLL = 0.02  # seconds between interrupt checks while blocking
CHUNK = 64 * 1024  # bytes read from a pipe at once
BUFFER_LIMIT = 1 << 20  # bytes kept unread before the child is left to wait (back pressure)
DRAIN = 0.1  # seconds to read what a finished child left in its pipes (a grandchild may hold them)
NUMERAL_MAX = 200  # characters Lua's read("n") looks at

_NUMERAL = re.compile(rb"[ \t\n\v\f\r]*([-+]?(?:0[xX][0-9a-fA-F]*(?:\.[0-9a-fA-F]*)?(?:[pP][-+]?[0-9]*)?"
                      rb"|[0-9]*(?:\.[0-9]*)?(?:[eE][-+]?[0-9]*)?))")  # fmt: skip


@dataclass(frozen=True)
class ExitStatus:
    """How a child ended: `kind` "exit" with its exit code, or "signal" with the signal number."""

    kind: str
    code: int

    @classmethod
    def of(cls, returncode: int) -> ExitStatus:
        return cls("signal", -returncode) if returncode < 0 else cls("exit", returncode)

    @property
    def success(self) -> bool:
        return self.kind == "exit" and self.code == 0

    @property
    def exit_code(self) -> int | None:
        """The exit code, or None when a signal ended the child."""
        return self.code if self.kind == "exit" else None

    def lua(self) -> tuple[bool | None, bytes, int]:
        """What Lua 5.4's os.execute and file:close return: (true | nil, "exit" | "signal", code)."""
        return (True if self.success else None, self.kind.encode(), self.code)


@dataclass(frozen=True)
class Completed:
    """A finished child with its captured output."""

    status: ExitStatus
    stdout: bytes
    stderr: bytes


class _Stream:
    """One of the child's output pipes, as its reader sees it."""

    def __init__(self, name: str, fd: int, mode: str) -> None:
        self.name = name
        self.fd = fd
        self.mode = mode
        self.buffer = bytearray()
        self.eof = False
        self.reading = False  # a loop reader is registered

    def close(self) -> None:
        if self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
            self.fd = -1
        self.eof = True


class Child:
    """A running (or finished) child process. Create with `Processes.start`."""

    def __init__(self, procs: Processes, popen: subprocess.Popen[bytes], stdout: str, stderr: str) -> None:
        self._procs = procs
        self._rt = procs.runtime
        self.popen = popen
        self.pid = popen.pid
        self.status: ExitStatus | None = None
        """How the child ended, once it has."""
        self._streams: list[_Stream] = []
        for name, pipe, mode in ((STDOUT, popen.stdout, stdout), (STDERR, popen.stderr, stderr)):
            if pipe is not None:
                fd = os.dup(pipe.fileno())
                pipe.close()
                os.set_blocking(fd, False)
                self._streams.append(_Stream(name, fd, mode))
        self._stdin = -1
        if popen.stdin is not None:
            self._stdin = os.dup(popen.stdin.fileno())
            popen.stdin.close()
            os.set_blocking(self._stdin, False)
        self._lines: list[tuple[str, bytes]] = []  # next_line's queue, in arrival order
        self._pidfd = -1
        with contextlib.suppress(AttributeError, OSError):  # Linux 5.3+: the exit is readable
            self._pidfd = os.pidfd_open(self.pid)
        self._waiters: list[asyncio.Future[None]] = []
        self._kill_timer: asyncio.TimerHandle | None = None
        self._abandoned = False
        self.owner: weakref.ref[Any] | None = None
        """What holds the child (a Lua file's handle): once it is gone and the child has ended,
        the child's pipes are closed at the next start."""
        try:
            self._loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            self._loop = None
        if self._loop is not None:
            for stream in self._streams:
                self._watch(stream)
            if self._pidfd >= 0:
                self._loop.add_reader(self._pidfd, self._on_exit)
            else:
                self._loop.call_later(POLL, self._poll_exit)

    def __repr__(self) -> str:
        return f"<Child {self.pid} {self.status or 'running'}>"

    # Waiting for the child

    async def wait(self) -> ExitStatus:
        """Wait for the child to end; what it wrote to FORWARD streams is all forwarded first."""
        await self._until(lambda: _when(self.status is not None))
        forwarded = [s for s in self._streams if s.mode == FORWARD]
        if forwarded:  # the child is gone; what is left in its pipes comes soon, unless a
            deadline = time.monotonic() + DRAIN  # grandchild holds them open
            await self._until(
                lambda: _when(all(s.eof for s in forwarded) or time.monotonic() > deadline), DRAIN
            )
        assert self.status is not None
        return self.status

    async def read(self, fmt: Any, stream: str = STDOUT) -> bytes | None:
        """Read from a PIPE stream as Lua's file:read does with one format: "l" (a line without
        its newline), "L" (with it), "a" (the rest; b"" at the end), "n" (the text of a numeral,
        which Lua then converts) or a byte count (b"" for 0 unless at the end). None at the end."""
        s = self._stream(stream)
        if fmt in (b"n", "n"):
            return await self._until(lambda: self._take_numeral(s))
        if isinstance(fmt, int | float):
            count = int(fmt)
            return await self._until(lambda: self._take_count(s, count))
        keep = fmt in (b"L", "L")
        if fmt in (b"a", "a"):
            return await self._until(lambda: self._take_all(s))
        return await self._until(lambda: self._take_line(s, keep))

    async def next_line(self) -> tuple[str, bytes] | None:
        """The next line of either PIPE stream, as (STDOUT or STDERR, line without its newline);
        a last line without a newline counts. None once both streams have ended."""

        def ready() -> tuple[str, bytes] | bool | None:
            for s in self._streams:
                if s.mode == PIPE:
                    self._split_lines(s)
                    if len(s.buffer) >= BUFFER_LIMIT:
                        self._grow(s)  # a line longer than the limit: read on to its end
            if self._lines:
                return self._lines.pop(0)
            if all(s.eof for s in self._streams if s.mode == PIPE):
                return False
            return None

        line = await self._until(ready)
        return None if line is False else line

    async def write(self, data: bytes) -> bool:
        """Write to the child's stdin (PIPE); False when it has closed its end (EPIPE)."""
        if self._stdin < 0:
            raise OSError(9, "Bad file descriptor")
        view = memoryview(data)
        while view:
            try:
                written = os.write(self._stdin, view[: CHUNK * 4])
            except BlockingIOError:
                await self._until_writable()
                continue
            except BrokenPipeError:
                return False
            view = view[written:]
        return True

    async def close_stdin(self) -> None:
        if self._stdin >= 0:
            with contextlib.suppress(OSError):
                os.close(self._stdin)
            self._stdin = -1

    def close_output(self) -> None:
        """Stop reading the PIPE streams and close them (a child still writing gets SIGPIPE)."""
        for s in self._streams:
            if s.mode == PIPE:
                self._unwatch(s)
                s.close()
                s.buffer.clear()
        self._lines.clear()

    # Stopping the child

    def interrupt(self) -> None:
        """SIGINT to the child's process group now, SIGKILL if it still lives GRACE seconds later."""
        if self.status is not None:
            return
        self._signal(signal.SIGINT)
        if self._loop is not None and not self._loop.is_closed() and self._kill_timer is None:
            self._kill_timer = self._loop.call_later(GRACE, self.kill)

    def kill(self) -> None:
        """SIGKILL to the child's process group."""
        if self.status is None:
            self._signal(signal.SIGKILL)

    # Private: the loop side

    def _watch(self, s: _Stream) -> None:
        if self._loop is not None and not s.reading and not s.eof and s.fd >= 0:
            self._loop.add_reader(s.fd, self._on_readable, s)
            s.reading = True

    def _unwatch(self, s: _Stream) -> None:
        if s.reading and s.fd >= 0 and self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(s.fd)
        s.reading = False

    def _on_readable(self, s: _Stream) -> None:
        self._read(s)
        if s.eof or len(s.buffer) >= BUFFER_LIMIT:
            self._unwatch(s)  # watched again once the reader takes some (_consumed)
        self._wake()

    def _on_exit(self) -> None:
        if self._loop is not None and self._pidfd >= 0:
            self._loop.remove_reader(self._pidfd)
        self._reap(block=True)
        self._wake()

    def _poll_exit(self) -> None:
        self._reap(block=False)
        if self.status is None and self._loop is not None and not self._loop.is_closed():
            self._loop.call_later(POLL, self._poll_exit)
        else:
            self._wake()

    def _wake(self) -> None:
        waiters, self._waiters = self._waiters, []
        for w in waiters:
            if not w.done():
                w.set_result(None)

    # Private: reading, the same in both worlds

    def _read(self, s: _Stream) -> None:
        """Read what the pipe has now (one chunk)."""
        if s.eof or s.fd < 0:
            return
        try:
            data = os.read(s.fd, CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._unwatch(s)
            s.close()
            return
        if s.mode == FORWARD:
            self._rt.host.write(s.name, data)
        else:
            s.buffer += data

    def _stream(self, name: str) -> _Stream:
        for s in self._streams:
            if s.name == name and s.mode == PIPE:
                return s
        raise OSError(9, "Bad file descriptor")

    def _consumed(self, s: _Stream) -> None:
        if len(s.buffer) < BUFFER_LIMIT:
            self._watch(s)

    def _take_line(self, s: _Stream, keep: bool) -> bytes | bool | None:
        end = s.buffer.find(b"\n")
        if end < 0:
            if not s.eof:
                if len(s.buffer) >= BUFFER_LIMIT:
                    self._grow(s)  # a line longer than the limit
                return None
            if not s.buffer:
                return False
            line = bytes(s.buffer)  # the last line, without a newline
            s.buffer.clear()
            return line
        line = bytes(s.buffer[: end + 1] if keep else s.buffer[:end])
        del s.buffer[: end + 1]
        self._consumed(s)
        return line

    def _take_all(self, s: _Stream) -> bytes | None:
        if not s.eof:
            if len(s.buffer) >= BUFFER_LIMIT:
                self._grow(s)
            return None
        data = bytes(s.buffer)
        s.buffer.clear()
        return data

    def _take_count(self, s: _Stream, count: int) -> bytes | bool | None:
        if count <= 0:
            return False if (s.eof and not s.buffer) else b""
        if len(s.buffer) < count and not s.eof:
            if len(s.buffer) >= BUFFER_LIMIT:
                self._grow(s)
            return None
        if not s.buffer:
            return False
        data = bytes(s.buffer[:count])
        del s.buffer[:count]
        self._consumed(s)
        return data

    def _take_numeral(self, s: _Stream) -> bytes | bool | None:
        if not s.eof and (len(s.buffer) < NUMERAL_MAX and not _ends_numeral(s.buffer)):
            return None
        m = _NUMERAL.match(bytes(s.buffer[: NUMERAL_MAX + 64]))
        assert m is not None
        text = m.group(1)
        del s.buffer[: m.end()]
        self._consumed(s)
        if not text and s.eof and not s.buffer:
            return False
        return text

    def _grow(self, s: _Stream) -> None:
        # "a" or a big count needs everything: keep reading past the back-pressure limit
        self._watch(s)

    def _split_lines(self, s: _Stream) -> None:
        while True:
            end = s.buffer.find(b"\n")
            if end < 0:
                if s.eof and s.buffer:
                    self._lines.append((s.name, bytes(s.buffer)))
                    s.buffer.clear()
                break
            self._lines.append((s.name, bytes(s.buffer[:end])))
            del s.buffer[: end + 1]
        self._consumed(s)

    # Private: waiting, both ways

    async def _until(self, ready: Callable[[], Any], limit: float | None = None) -> Any:
        """Wait until ready() gives something other than None (False stands for None)."""
        while True:
            result = ready()
            if result is not None:
                return None if result is False else result
            if self._rt.blocking or self._loop is None:
                self._block(limit)
            else:
                waiter = asyncio.get_running_loop().create_future()
                self._waiters.append(waiter)
                for s in self._streams:  # a reader paused by back pressure: ready() wants more
                    if len(s.buffer) < BUFFER_LIMIT:
                        self._watch(s)
                try:
                    if limit is None:
                        await waiter
                    else:
                        with contextlib.suppress(TimeoutError):
                            await asyncio.wait_for(waiter, limit)
                except asyncio.CancelledError:
                    self.interrupt()
                    raise

    async def _until_writable(self) -> None:
        if self._rt.blocking or self._loop is None:
            self._block(None, write=True)
            return
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        loop.add_writer(self._stdin, lambda: waiter.done() or waiter.set_result(None))
        try:
            await waiter
        except asyncio.CancelledError:
            self.interrupt()
            raise
        finally:
            with contextlib.suppress(Exception):
                loop.remove_writer(self._stdin)

    def _block(self, limit: float | None, write: bool = False) -> None:
        """Wait (blocking) until something happens to the child; stop on an interrupt."""
        readable = [s.fd for s in self._streams if not s.eof and s.fd >= 0]
        if self._pidfd >= 0 and self.status is None:
            readable.append(self._pidfd)
        writable = [self._stdin] if write and self._stdin >= 0 else []
        timeout = POLL if limit is None else min(POLL, limit)
        try:
            ready, _, _ = select.select(readable, writable, [], timeout)
        except InterruptedError:
            ready = []
        for s in self._streams:
            if s.fd in ready:
                self._read(s)
        self._reap(block=False)
        if self._rt._check_interrupt():
            self.interrupt()
            raise Stopped("interrupted")

    def _reap(self, block: bool) -> None:
        if self.status is not None:
            return
        try:
            code = self.popen.wait(timeout=1) if block else self.popen.poll()
        except subprocess.TimeoutExpired:
            code = None
        if code is None:
            return
        self.status = ExitStatus.of(code)
        if self._kill_timer is not None:
            self._kill_timer.cancel()
            self._kill_timer = None
        if self._pidfd >= 0:
            if self._loop is not None and not self._loop.is_closed():
                with contextlib.suppress(Exception):
                    self._loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = -1
        if self._abandoned:
            self._release()

    def _signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)

    def abandon(self) -> None:
        """Nobody waits for the child any more (its wait was interrupted): let go of our ends of
        its pipes once it has ended (the kill timer and the exit watcher stay until then)."""
        self._abandoned = True
        if self.status is not None:
            self._release()

    def _release(self) -> None:
        """Close everything of ours (after the child ended, or when the runtime closes)."""
        for s in self._streams:
            self._unwatch(s)
            s.close()
        if self._stdin >= 0:
            with contextlib.suppress(OSError):
                os.close(self._stdin)
            self._stdin = -1
        if self._pidfd >= 0:
            if self._loop is not None and not self._loop.is_closed():
                with contextlib.suppress(Exception):
                    self._loop.remove_reader(self._pidfd)
            with contextlib.suppress(OSError):
                os.close(self._pidfd)
            self._pidfd = -1
        if self._kill_timer is not None:
            self._kill_timer.cancel()
            self._kill_timer = None


async def _feed(child: Child, data: bytes) -> None:
    await child.write(data)
    await child.close_stdin()


def _when(condition: bool) -> bool | None:
    """A condition as _until's ready() gives it: True when met, None to keep waiting."""
    return True if condition else None


def _ends_numeral(buffer: bytearray) -> bool:
    """Whether the buffer holds a character that ends a numeral (so read("n") can decide)."""
    stripped = buffer.lstrip(b" \t\n\v\f\r")
    return bool(stripped) and re.search(rb"[^0-9a-fA-FxXpP.+-]", stripped) is not None


class Processes:
    """The runtime's children: starts them, keeps them until they end, kills what is left."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._children: set[Child] = set()

    @staticmethod
    def shell(command: str | bytes) -> list[str | bytes]:
        """argv running `command` with /bin/sh, as os.execute and io.popen do."""
        return [SHELL, "-c", command]

    @staticmethod
    def shell_available() -> bool:
        return os.access(SHELL, os.X_OK)

    @staticmethod
    def which(name: str, path: str | None = None) -> str | None:
        return shutil.which(name, path=path)

    def start(
        self,
        argv: Sequence[str | bytes],
        *,
        cwd: str | bytes | None = None,
        env: dict[str, str] | None = None,
        stdin: str = DEVNULL,
        stdout: str = PIPE,
        stderr: str = PIPE,
    ) -> Child:
        """Start `argv` in a process group of its own; raises OSError if it cannot start."""
        if self.runtime.closed:
            raise OSError("the runtime is closed")
        self._prune()

        def pipe(mode: str) -> int:
            return subprocess.DEVNULL if mode == DEVNULL else subprocess.PIPE

        popen = subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE if stdin == PIPE else subprocess.DEVNULL,
            stdout=pipe(stdout),
            stderr=pipe(stderr),
            cwd=cwd,
            env=env,
            process_group=0,
            close_fds=True,
        )
        child = Child(self, popen, stdout, stderr)
        self._children.add(child)
        return child

    async def run(
        self,
        argv: Sequence[str | bytes],
        *,
        cwd: str | bytes | None = None,
        env: dict[str, str] | None = None,
        input: bytes | None = None,
    ) -> Completed:
        """Run `argv` to its end with `input` on its stdin; its output captured."""
        child = self.start(argv, cwd=cwd, env=env, stdin=PIPE if input else DEVNULL)
        feeding: asyncio.Future[None] | None = None
        try:
            if input and self.runtime.blocking:  # a blocking wait reads every pipe meanwhile
                await _feed(child, input)
            elif input:  # the child may fill its output pipe before it has read all its input
                feeding = asyncio.ensure_future(_feed(child, input))
            out = await child.read("a", STDOUT)
            err = await child.read("a", STDERR)
            if feeding is not None:
                await feeding
            status = await child.wait()
        except BaseException:
            if feeding is not None:
                feeding.cancel()
            child.interrupt()
            raise
        return Completed(status, out or b"", err or b"")

    def kill_all(self) -> None:
        """SIGKILL the process group of every child still running. Only sends signals, so it is
        safe from any thread (the last resort of a shutdown whose event loop is stuck)."""
        for child in list(self._children):
            child.kill()

    async def aclose(self) -> None:
        """Stop every child still running (SIGINT, then SIGKILL after CLOSE_GRACE) and let go of
        all of them (on the runtime's loop)."""
        running = [c for c in self._children if c.status is None]
        for child in running:
            child.interrupt()
        deadline = time.monotonic() + CLOSE_GRACE
        while running and time.monotonic() < deadline:
            await asyncio.sleep(POLL)
            for child in running:
                child._reap(block=False)
            running = [c for c in running if c.status is None]
        self.kill_all()
        for child in list(self._children):
            with contextlib.suppress(Exception):
                child._reap(block=True)
            child._release()
        self._children.clear()

    def _prune(self) -> None:
        """Let go of the children that ended and that nobody holds any more (a popen file that
        was collected without close): their pipes would stay open until the runtime closes."""
        for child in list(self._children):
            if child.status is None:
                child._reap(block=False)
            if child.status is not None and (child.owner is None or child.owner() is None):
                child._release()
                self._children.discard(child)


# The natives behind os.execute and io.popen (lua/processes.lua) -----------------------------------


class _Handle:
    """The Python object inside a popen file's userdata: it lives as long as the file."""

    __slots__ = ("__weakref__", "child")

    def __init__(self, child: Child) -> None:
        self.child = child

    def __repr__(self) -> str:
        return "file"


def _failure(exc: OSError, prefix: bytes | None = None) -> Multi:
    """nil, message, errno: luaL_fileresult's failure triple."""
    message = (exc.strerror or str(exc)).encode("utf-8", "replace")
    if prefix is not None:
        message = prefix + b": " + message
    return Multi(None, message, exc.errno or 0)


def install(rt: Runtime) -> None:
    """Replace os.execute and io.popen (and io.close, io.type for popen files)."""
    handles: weakref.WeakValueDictionary[int, _Handle] = weakref.WeakValueDictionary()
    counter = iter(range(1, 1 << 62))

    def procs() -> Processes:
        return rt.processes

    def shell_available() -> bool:
        return Processes.shell_available()

    async def execute(command: bytes) -> Multi:
        try:
            child = procs().start(Processes.shell(command), stdout=FORWARD, stderr=FORWARD)
        except OSError as exc:
            return _failure(exc)
        try:
            status = await child.wait()
        finally:
            child.abandon()
        return Multi(*status.lua())

    def popen(command: bytes, mode: bytes) -> Multi:
        writing = mode == b"w"
        try:
            child = procs().start(
                Processes.shell(command),
                stdin=PIPE if writing else DEVNULL,
                stdout=FORWARD if writing else PIPE,
                stderr=FORWARD,
            )
        except OSError as exc:
            return _failure(exc, command)
        handle = _Handle(child)
        child.owner = weakref.ref(handle)
        number = next(counter)
        handles[number] = handle
        return Multi(handle, number)

    def child_of(number: int) -> Child:
        handle = handles.get(number)
        if handle is None:
            raise OSError(9, "Bad file descriptor")
        return handle.child

    async def read(number: int, fmt: Any) -> bytes | None:
        return await child_of(number).read(fmt)

    async def write(number: int, data: bytes) -> Multi:
        try:
            if await child_of(number).write(data):
                return Multi(True)
            return Multi(None, b"Broken pipe", 32)
        except OSError as exc:
            return _failure(exc)

    async def close(number: int) -> Multi:
        child = child_of(number)
        await child.close_stdin()
        child.close_output()
        try:
            status = await child.wait()
        finally:
            child.abandon()
        handles.pop(number, None)
        return Multi(*status.lua())

    rt.lua_module(
        "processes",
        {
            "shell_available": shell_available,
            "execute": execute,
            "popen": popen,
            "read": read,
            "write": write,
            "close": close,
        },
    )
