"""A runtime on a recording host, for tests that run Lua and look at what it produced."""

from __future__ import annotations

from typing import Any

import pytest

from crucible_kernel.runtime import Host, LuaError, LuaTask, Runtime, TaskState


class RecordingHost(Host):
    """Keeps everything the runtime sends out, and answers input from a list."""

    def __init__(self) -> None:
        self.stdout = b""
        self.stderr = b""
        self.logs: list[tuple[str, str]] = []
        self.displays: list[dict[str, Any]] = []
        self.inputs: list[str] = []
        self.exit_codes: list[int] = []

    def write(self, stream: str, data: bytes) -> None:
        if stream == "stderr":
            self.stderr += data
        else:
            self.stdout += data

    def log(self, level: str, message: str) -> None:
        self.logs.append((level, message))

    def display(self, data, metadata=None, display_id=None, update=False) -> None:
        self.displays.append({"data": data, "display_id": display_id, "update": update})

    async def read_line(self, prompt: str, password: bool = False) -> str | None:
        return self.inputs.pop(0) if self.inputs else None

    def exit_requested(self, code: int) -> None:
        self.exit_codes.append(code)

    @property
    def out(self) -> str:
        return self.stdout.decode("utf-8", "replace")


class Lua:
    """Runs chunks in one runtime: `await lua.run(code)` gives the finished task,
    `await lua.eval(code)` its results as Python values (failing the test on a Lua error)."""

    def __init__(self, runtime: Runtime, host: RecordingHost) -> None:
        self.runtime = runtime
        self.host = host
        self.count = 0

    def start(self, code: str, name: str = "=cell", foreground: bool = True) -> LuaTask:
        """Start `code` as a task (the foreground one, which interrupts stop) without waiting."""
        fn = self.runtime.load(code, name)
        return self.runtime.start(fn, name=name.lstrip("=@"), kind="cell", foreground=foreground)

    async def run(self, code: str, name: str | None = None) -> LuaTask:
        self.count += 1
        fn = self.runtime.load(code, name or f"=test[{self.count}]")
        return await self.runtime.run(fn, name=name or "test")

    async def eval(self, code: str) -> Any:
        task = await self.run(code)
        if task.state is not TaskState.DONE:
            raise AssertionError(f"Lua task {task.state.value}: {task.error and task.error.traceback}")
        values = tuple(_py(v) for v in task.results)
        return values[0] if len(values) == 1 else values

    async def error(self, code: str) -> LuaError:
        task = await self.run(code)
        assert task.state is TaskState.FAILED, f"expected an error, task {task.state.value}"
        assert task.error is not None
        return task.error

    @property
    def out(self) -> str:
        return self.host.out


def _py(value: Any) -> Any:
    return value.decode() if isinstance(value, bytes) else value


@pytest.fixture
def host() -> RecordingHost:
    return RecordingHost()


@pytest.fixture
async def lua(host: RecordingHost):
    runtime = Runtime(host)
    yield Lua(runtime, host)
    await runtime.aclose()
