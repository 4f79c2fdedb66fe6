"""The runtime: one Lua 5.4 state, the cru.* modules in it, and the tasks that run there.

A `Runtime` belongs to one asyncio loop (the first one it starts a task on). All Lua runs on that
loop's thread; `interrupt`, `interrupt_honoured`, `halt` and `processes.kill_all` are the only
methods that may be called from elsewhere.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import inspect
import math
import os
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeVar

from lupa import lua54

from .anchor import Anchor
from .convert import Multi, text, to_lua
from .errors import LuaError, LuaSyntaxError, Stopped, describe
from .host import Host
from .tasks import ERR, OK, STOP, LuaTask, TaskRecord, TaskState

if TYPE_CHECKING:
    from .capabilities import SafeMode
    from .processes import Processes

__all__ = ["DEFAULT_MAX_MEMORY", "Runtime"]

T = TypeVar("T")

DEFAULT_MAX_MEMORY = 1 << 30  # bytes of Lua heap; `CRUCIBLE_LUA_MAX_MEMORY` overrides
RECENT_TASKS = 50  # finished tasks remembered for listings
SPAWN_BURST = 256  # tasks started at once in one turn of the loop; more wait for the next turns
BINARY_REFUSED = "binary chunks are refused (precompiled Lua can crash the kernel); load the source text"


def _native(fn: Callable[..., Any]) -> Callable[..., Any]:
    def native(*args: Any) -> Any:
        try:
            return fn(*args)
        except BaseException as exc:
            del args  # the traceback of the raise below holds this frame: not the Lua values
            raise exc.with_traceback(None) from exc.__cause__

    native.__wrapped__ = fn  # type: ignore[attr-defined]
    return native


def _no_attributes(obj: Any, name: Any, is_setting: bool) -> Any:
    # Lua only ever calls the runtime's Python functions; it may not walk into Python objects.
    raise AttributeError("Python objects are not accessible from Lua")


class _Token:
    """The inert Python object inside every runtime userdata (see engine.new_object)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "userdata"


def _return_freed_memory() -> None:
    """Ask the C allocator to give freed heap back to the system (glibc keeps it otherwise)."""
    global _malloc_trim
    if _malloc_trim is None:
        _malloc_trim = False
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim: Any = None


MIN_MEMORY, MAX_MEMORY = 1 << 20, 1 << 40
SIZE_FORMS = "a number of bytes, or a number with K, M or G such as 512M or 2G, from 1M to 1T"


def max_memory_from_env() -> int:
    """The heap cap from `CRUCIBLE_LUA_MAX_MEMORY` (default 1G); ValueError names a bad value."""
    value = os.environ.get("CRUCIBLE_LUA_MAX_MEMORY", "")
    try:
        return parse_size(value) if value.strip() else DEFAULT_MAX_MEMORY
    except ValueError as exc:
        raise ValueError(f"CRUCIBLE_LUA_MAX_MEMORY: {exc}") from None


def parse_size(value: str) -> int:
    """Bytes from "512M", "2G", "1048576" (K, M, G are powers of 1024), from 1M to 1T."""
    text = value.strip().upper().removesuffix("B")
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}.get(text[-1:], 1)
    number = text[:-1] if scale > 1 else text
    try:
        amount = float(number)
    except ValueError:
        raise ValueError(f"not a memory size: {value!r} (use {SIZE_FORMS})") from None
    if not math.isfinite(amount) or not MIN_MEMORY <= amount * scale <= MAX_MEMORY:
        raise ValueError(f"memory size out of range: {value!r} (use {SIZE_FORMS})")
    return int(amount * scale)


class Runtime:
    """A Lua 5.4 state with the cru.* runtime, driven by asyncio.

    Create it, then `load` a chunk and `run` it (or `start` it as a task); run Lua on the user's
    behalf with `call`. Everything Lua writes, logs or displays goes to `host`. `aclose` ends it
    and gives its memory back. `vm` picks the module set: "daemon", the plugin VM cells run in,
    or "bare", the reference's test-runner VM (see modules.py). With `safe`, the state is
    confined (capabilities.py).
    """

    def __init__(
        self,
        host: Host | None = None,
        *,
        max_memory: int | None = None,
        vm: str = "daemon",
        safe: SafeMode | None = None,
    ) -> None:
        self.host = host or Host()
        self.safe = safe
        """Safe mode's settings, or None (see capabilities.py)."""
        self.max_memory = max_memory or max_memory_from_env()
        self.lua = lua54.LuaRuntime(
            register_eval=False,
            register_builtins=False,
            encoding=None,
            unpack_returned_tuples=True,
            attribute_filter=_no_attributes,
            max_memory=self.max_memory,
        )
        self.started = time.monotonic()
        """Monotonic time at creation: zero of cru.timer.clock()."""
        self.tasks: dict[int, LuaTask] = {}
        """Live tasks by id."""
        self.recent: collections.deque[TaskRecord] = collections.deque(maxlen=RECENT_TASKS)
        """The last finished spawned tasks and services, oldest first."""
        self.extensions: dict[str, Any] = {}
        """Per-runtime state of modules and tools built on the runtime (the kernel's Lua helpers):
        kept here, it dies with the runtime (a module-level cache keyed by runtime kept it alive)."""
        self.foreground: LuaTask | None = None
        """The task an interrupt stops (the main chunk, the running cell)."""
        self._cleanups: list[Callable[[], Awaitable[None]]] = []
        self.task_listeners: list[Callable[[LuaTask, str], None]] = []
        """Called with (task, "started" | "finished") as tasks start and end: "started" runs in
        the task's own context (its owner, its output routing)."""
        self._spared: LuaTask | None = None  # a service an interrupt found computing, once
        self._current: LuaTask | None = None  # the task whose Lua is executing right now
        self._interrupt_flag = False  # an interrupt waits for the count hook
        self._interrupt_running: LuaTask | None = None  # the task computing when it came
        self._interrupts = 0  # interrupts requested so far
        self._honoured = 0  # the last interrupt that was seen (by the hook, or by the loop)
        self._halting = False  # shutting down: every check stops whatever Lua runs
        self._closed = False
        self._settling = 0  # > 0 while a synchronous caller's request is completed on the spot
        self._burst = 0  # tasks started with start_soon in this turn of the loop
        self._queued: collections.deque[tuple[LuaTask, contextvars.Context]] = collections.deque()
        self._processes: Processes | None = None
        self._poll = self.host.poll
        self._loop: asyncio.AbstractEventLoop | None = None

        globals_ = self.lua.globals()
        globals_[b"python"] = None
        globals_[b"package"][b"loaded"][b"python"] = None

        self.engine = self._chunk("prelude")(
            self.lua.table_from(
                {
                    b"check_interrupt": self._check_interrupt,
                    b"settle": self._settle,
                    b"call": self._call_sync,
                    b"can_wait": self._can_wait,
                    b"token": _Token,
                }
            )
        )
        # The driver resumes tasks from the main thread, and run_sync runs code there; everything
        # else Python holds lives on the home thread (anchor.py), including what is read from
        # these tables later and what the runtime's Lua chunks return.
        self._step = self.engine[b"step"]
        self._protected = self.engine[b"protected"]
        self.anchor = Anchor(self.lua, self.engine)
        """Rehomes Lua values that Python keeps (see anchor.py): use `keep`."""
        self.engine = self.keep(self.engine)
        self._new_task = self.engine[b"task"]
        self._where = self.engine[b"where"]
        self._close = self.engine[b"close"]
        self.lua.execute(b"cru, crucible = {}, {}")
        self.cru = self.keep(globals_[b"cru"])
        self.crucible = self.keep(globals_[b"crucible"])

        from . import modules  # the cru.* namespaces; imported late, they build on this object

        modules.install(self, vm)  # type: ignore[arg-type]  # checked there
        self.vm = vm
        if safe is not None:
            safe.apply(self)
        self.initial_globals = frozenset(k for k in globals_ if isinstance(k, bytes))
        """The global names the runtime itself defines (the rest are the user's)."""

    # Building the cru.* namespaces (used by the modules)

    def lua_module(self, name: str, natives: dict[str, Callable[..., Any]] | None = None) -> Any:
        """Run `lua/<name>.lua` with (engine, natives) and return what it returns."""
        return self.own_chunk(__package__, name)(self.engine, self.natives(natives or {}))

    def natives(self, functions: Mapping[Any, Callable[..., Any]]) -> Any:
        """A Lua table of Python functions for a Lua chunk to call (its `native` table).

        Each is wrapped so that an exception it raises leaves without a traceback: lupa keeps
        the last exception a Python function raised into Lua, and a traceback would keep that
        function's Lua arguments, tied to a task's coroutine, alive past the task (anchor.py)."""
        return self.lua.table_from(
            {
                (k.encode() if isinstance(k, str) else k): _native(f) if lua54.lua_type(f) is None else f
                for k, f in functions.items()
            }
        )

    def register(self, name: str, value: Any, *, global_name: str | None = None) -> None:
        """Make `value` cru.<name> and crucible.<name> (and a bare global, if named)."""
        key = name.encode()
        self.cru[key] = value
        self.crucible[key] = value
        if global_name:
            self.lua.globals()[global_name.encode()] = value

    def keep(self, value: T) -> T:
        """Return `value` made safe to keep in Python beyond the call that handed it over.

        Every Lua value (table, function, userdata, thread) that Python code stores for later
        must go through here; see anchor.py for the lupa hazard this avoids. Other values pass
        through unchanged."""
        return self.anchor.keep(value)

    def to_lua(self, value: Any) -> Any:
        return to_lua(self.lua, value)

    # Running code

    def load(self, code: str | bytes, name: str) -> Any:
        """Compile `code` as a chunk called `name` ("=cell[3]" shows as cell[3], "@f.lua" as f.lua).

        Source text only: precompiled (binary) chunks are refused, as they are inside Lua.
        """
        source = code.encode() if isinstance(code, str) else code
        if source[:1] == b"\x1b":
            raise LuaSyntaxError(f"{name.lstrip('=@')}: {BINARY_REFUSED}")
        try:
            return self.lua.compile(source, name.encode(), mode="t")
        except lua54.LuaSyntaxError as exc:
            message = text(exc.args[0]) if exc.args else str(exc)
            raise LuaSyntaxError(message) from None
        except lua54.LuaError as exc:  # out of memory while compiling, ...
            raise LuaError(text(exc.args[0]) if exc.args else str(exc)) from None

    def task(self, fn: Any, *args: Any, name: str, kind: str) -> LuaTask:
        """Wrap Lua function `fn(*args)` in a task (not started)."""
        task_id = self._new_task(fn, *(self.to_lua(a) for a in args))
        return self.lua_task(task_id, name=name, kind=kind)

    def lua_task(self, task_id: int, *, name: str, kind: str) -> LuaTask:
        """Wrap a coroutine that Lua registered with engine.task; it is live from now on."""
        task = LuaTask(self, task_id, name, kind)
        self.tasks[task_id] = task
        return task

    def start(
        self,
        fn: Any,
        *args: Any,
        name: str,
        kind: str,
        foreground: bool = False,
        context: contextvars.Context | None = None,
    ) -> LuaTask:
        """Start `fn(*args)` as a task on the running loop; a foreground task is what interrupts stop."""
        self.bind_loop()
        task = self.task(fn, *args, name=name, kind=kind)
        if foreground:
            self.foreground = task
        task.start(context)
        return task

    def start_soon(self, task: LuaTask) -> None:
        """Start a task (cru.spawn's) now, or, past SPAWN_BURST starts in this turn of the loop,
        in a later turn: a storm of spawns must not fill the loop's queue so deep that the reply
        to an interrupted cell waits behind hundreds of thousands of first steps."""
        loop = self.bind_loop()
        if self._burst < SPAWN_BURST and not self._queued:
            if self._burst == 0:
                loop.call_soon(self._end_burst)
            self._burst += 1
            task.start()
            return
        if not self._queued:
            loop.call_soon(self._start_queued)
        self._queued.append((task, contextvars.copy_context()))

    def _end_burst(self) -> None:
        self._burst = 0

    def _start_queued(self) -> None:
        for _ in range(min(SPAWN_BURST, len(self._queued))):
            task, context = self._queued.popleft()
            if task.state is TaskState.PENDING and not task.cancelling:
                task.start(context)
        if self._queued:
            asyncio.get_running_loop().call_soon(self._start_queued)

    async def run(self, fn: Any, *args: Any, name: str, kind: str = "main") -> LuaTask:
        """Run `fn(*args)` as the foreground task and return it once it has finished."""
        previous = self.foreground
        task = self.start(fn, *args, name=name, kind=kind, foreground=True)
        try:
            await task.wait()
        finally:
            if self.foreground is task:
                self.foreground = previous
        return task

    async def call(self, fn: Any, *args: Any, name: str, kind: str = "helper") -> tuple[Any, ...]:
        """Run Lua `fn(*args)` as the foreground task and return its results.

        How the kernel runs Lua on the user's behalf (formatting a result, completing a name):
        never synchronously from Python, where a looping __tostring could not be interrupted.
        Raises LuaError when `fn` fails and Stopped when an interrupt stopped it.
        """
        task = await self.run(fn, *args, name=name, kind=kind)
        if task.state is TaskState.DONE:
            results, task.results = task.results, ()
            return results
        if task.state is TaskState.FAILED and task.error is not None:
            raise task.error
        raise Stopped(task.stop or "cancelled", task.exit_code)

    def interrupt(self) -> int:
        """Stop the foreground task and whatever Lua is computing now.

        Safe to call from any thread and from a signal handler. Tasks that are merely waiting
        (spawned tasks, services) keep running. A service (task kind "service") that happens to
        be computing is spared; only if it still holds the loop at the next interrupt (a busy
        loop the loop never got back from) is it stopped. Returns the interrupt's number, for
        `interrupt_honoured`.
        """
        self._interrupts += 1
        number = self._interrupts
        running = self._current
        if running is not None and running.kind == "service":
            if self._spared is not running:
                self._spared = running  # spared once: the count hook declines to stop it
                running = None
            else:
                self._spared = None  # it still holds the loop at this second interrupt: stop it
        if running is not None or self.foreground is not None:
            self._interrupt_running = running
            self._interrupt_flag = True  # seen by the count hook within ~10k instructions
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._interrupt_foreground, number)
        return number

    def interrupt_honoured(self, number: int) -> bool:
        """Whether interrupt `number` has reached the runtime: the count hook saw it, or the event
        loop was free to cancel the foreground task. False for long means Lua is stuck where
        hooks do not run (a __gc finalizer, a long C function such as a pathological pattern)."""
        return self._honoured >= number

    @property
    def interrupts(self) -> int:
        """How many interrupts were requested so far (a wait compares it with its own start)."""
        return self._interrupts

    def where(self, task_id: int) -> str | None:
        place = self._where(task_id)
        return text(place) if place is not None else None

    def live_tasks(self, kinds: Iterable[str] | None = None) -> list[LuaTask]:
        wanted = set(kinds) if kinds is not None else None
        return [t for t in self.tasks.values() if wanted is None or t.kind in wanted]

    async def wait_tasks(self, kinds: Iterable[str] = ("spawn", "service")) -> None:
        """Wait until no task of these kinds is alive (tasks may start more while we wait)."""
        while True:
            live = self.live_tasks(kinds)
            if not live:
                return
            await asyncio.gather(*(t.wait() for t in live))

    async def cancel_tasks(self, kinds: Iterable[str] | None = None, reason: str = "cancelled") -> int:
        """Cancel live tasks (of these kinds) and wait for them to unwind; returns how many."""
        live = self.live_tasks(kinds)
        for t in live:
            t.cancel(reason)
        if live:
            await asyncio.gather(*(t.wait() for t in live))
        return len(live)

    def add_cleanup(self, fn: Callable[[], Awaitable[None]]) -> None:
        """Have `aclose` await `fn()` (modules close their clients and connections this way)."""
        self._cleanups.append(fn)

    async def aclose(self) -> None:
        """Cancel every task, run the cleanups (newest first), then tear the Lua state down so its
        memory returns at once. The runtime is done after; calling aclose again does nothing."""
        if self._closed:
            return
        self._closed = True
        try:
            await self.cancel_tasks()
            while self._cleanups:
                with contextlib.suppress(Exception):
                    await self._cleanups.pop()()
            if self._processes is not None:
                await self._processes.aclose()
        finally:
            self._dispose()

    def halt(self) -> None:
        """Make whatever Lua computes now, and from now on, stop at its next check (shutdown).

        Safe from any thread. The tasks themselves are cancelled by `aclose`, on the loop.
        """
        self._halting = True
        self._interrupt_flag = True

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def blocking(self) -> bool:
        """True while Lua code that cannot yield waits for a request (see engine.await): a native
        that can also wait by blocking (a child process) does so instead of suspending."""
        return self._settling > 0

    @property
    def processes(self) -> Processes:
        """The runtime's child processes (os.execute, io.popen; cru.shell builds on them)."""
        if self._processes is None:
            from .processes import Processes

            self._processes = Processes(self)
        return self._processes

    def bind_loop(self) -> asyncio.AbstractEventLoop:
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        elif self._loop is not loop:
            raise RuntimeError("a Runtime is bound to the event loop it first ran on")
        return loop

    # Called by tasks and natives

    def _chunk(self, name: str) -> Any:
        source = resources.files(__package__).joinpath("lua", f"{name}.lua").read_bytes()
        return self.lua.compile(source, f"=crucible/{name}.lua".encode())

    def own_chunk(self, package: str, name: str) -> Any:
        """Compile `<package>/lua/<name>.lua`, a Lua file of the kernel's own (chunk name
        "=crucible/<name>.lua"), as a function kept on the home thread: what it returns when
        called is safe to keep too (anchor.py)."""
        source = resources.files(package).joinpath("lua", f"{name}.lua").read_bytes()
        return self.keep(self.lua.compile(source, f"=crucible/{name}.lua".encode(), mode="t"))

    def _resume_args(self, value: Any) -> tuple[Any, ...]:
        """How the driver resumes Lua with an awaited value (a Multi spreads to several)."""
        if value is None:
            return (OK,)
        if value.__class__ is Multi:
            return (OK, *(self.to_lua(v) for v in value))
        return (OK, self.to_lua(value))

    def _settle(self, request: Any) -> tuple[Any, ...] | None:
        """Complete `request` without waiting, for a caller that cannot yield; None if it would wait."""
        if request.__class__ in (int, float):
            return (OK,) if request <= 0 else None
        if inspect.iscoroutine(request):
            self._settling += 1
            try:
                request.send(None)
            except StopIteration as done:
                return self._resume_args(done.value)
            except Stopped as stop:
                return (STOP, stop.kind.encode(), stop.code)
            except Exception as exc:
                return (ERR, describe(exc).encode("utf-8", "replace"))
            finally:
                self._settling -= 1
            request.close()
            return None
        if isinstance(request, asyncio.Future) and request.done():
            try:
                return self._resume_args(request.result())
            except Exception as exc:
                return (ERR, describe(exc).encode("utf-8", "replace"))
        return None

    def _can_wait(self) -> bool:
        # engine.can_wait: the task computing now is not being unwound by a cancellation
        current = self._current
        return current is None or not current.unwinding

    def _call_sync(self, fn: Any, *args: Any) -> Any:
        # engine.run_sync: Lua functions fetched on the main thread run there, where nothing can
        # yield (one handed in from a coroutine would run on that coroutine's stack).
        return self._protected(fn, *args)

    def _check_interrupt(self) -> bool:
        # Called by the count hook: the only Python that runs while Lua computes.
        self._poll()
        if not self._interrupt_flag:
            return False
        if self._halting:
            return True
        current = self._current
        if current is None:
            return False  # the runtime's own synchronous calls are not the user's work
        if current is self._spared:
            if self._honoured < self._interrupts:  # seen, and declined: say how to stop it
                self._honoured = self._interrupts
                self.host.log("warn", f"service {current.name} is computing; interrupt again to stop it")
            return False
        if current is not self._interrupt_running:
            # a task that began computing after the interrupt: stop it only if it is (driven
            # on behalf of) the foreground task, never a background task that merely woke up
            task: LuaTask | None = current
            while task is not None and task is not self.foreground:
                task = task.inline_parent
            if task is None:
                return False
        self._interrupt_flag = False
        self._honoured = self._interrupts
        return True

    def _interrupt_foreground(self, number: int) -> None:
        # On the loop: no Lua is computing, so a pending flag can only concern the foreground,
        # which the cancellation stops.
        self._interrupt_flag = False
        self._interrupt_running = None
        self._spared = None  # the loop turned: a spared service was not hogging it
        self._honoured = max(self._honoured, number)
        if self.foreground is not None:
            self.foreground.cancel("interrupted")

    def _close_task(self, task_id: int, task: LuaTask | None = None) -> None:
        previous, self._current = self._current, task
        try:
            with contextlib.suppress(lua54.LuaError):  # a failing __close must not stop the driver
                self._close(task_id)
        finally:
            self._current = previous

    def _task_started(self, task: LuaTask) -> None:
        for listener in self.task_listeners:
            listener(task, "started")
        self.host.task_event(task, "started")

    def _dispose(self) -> None:
        """Let go of the Lua state: Lua drops everything it holds (globals, loaded modules, tasks,
        the hook) and collects, so the heap returns now; then the Python references that tie
        the state to this object go. lupa keeps every Python object Lua holds, and the natives
        are bound to this runtime: the cycle runs through the C state."""
        self.tasks.clear()
        self.recent.clear()
        self._queued.clear()
        self.foreground = None
        self.extensions.clear()
        if self.engine is not None:
            with contextlib.suppress(Exception):
                self.engine[b"dispose"]()
        with contextlib.suppress(Exception):
            self.lua.gccollect()
            self.lua.gccollect()  # the second pass frees what finalizers released
        self.engine = self._step = self._new_task = self._where = self._close = None
        self.cru = self.crucible = None
        _return_freed_memory()

    def _task_finished(self, task: LuaTask) -> None:
        self.tasks.pop(task.id, None)
        if task.kind in ("spawn", "service"):
            self.recent.append(TaskRecord.of(task))
        if task.stop == "exit" and task.inline_parent is None:  # else the parent stops with it
            self.host.exit_requested(task.exit_code or 0)
        elif task.kind == "spawn" and task.state is TaskState.FAILED and task.error is not None:
            self.host.log("warn", f"Spawned Lua task error: {task.error.traceback}")
        for listener in self.task_listeners:
            listener(task, "finished")
        self.host.task_event(task, "finished")
