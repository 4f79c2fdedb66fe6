"""Kernel tests run the real kernel in its own process through jupyter_client.

The kernelspec is installed into the test sandbox (tests/conftest.py points the Jupyter paths
there) once per test session."""

from __future__ import annotations

import os
import queue
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.manager import KernelManager

from crucible_kernel.kernel.install import install

KERNEL_NAME = "crucible-lua"
SAFE_KERNEL_NAME = "crucible-lua-safe"  # safe mode, granting 'network' only
_PREFIX = os.path.join(os.path.dirname(os.environ["JUPYTER_DATA_DIR"]), "prefix")
install(prefix=_PREFIX, name=KERNEL_NAME)
install(prefix=_PREFIX, name=SAFE_KERNEL_NAME, safe=True, allow=("network",))
os.environ["JUPYTER_PATH"] = os.path.join(_PREFIX, "share", "jupyter")


def notebook(path: Path, *cells: str, tags: dict[int, list[str]] | None = None) -> Path:
    """Write a notebook of code `cells` for this kernel at `path` (`tags`: cell index -> tags)."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Lua (Crucible)", "language": "lua"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    for index, names in (tags or {}).items():
        nb.cells[index].metadata["tags"] = names
    nbformat.write(nb, str(path))
    return path


@dataclass
class Run:
    """What one execute_request produced: the reply and the IOPub messages of its parent."""

    reply: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def content(self) -> dict[str, Any]:
        return self.reply["content"]

    def of_type(self, *msg_types: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["msg_type"] in msg_types]

    def stream(self, name: str = "stdout") -> str:
        return "".join(m["content"]["text"] for m in self.of_type("stream") if m["content"]["name"] == name)

    @property
    def result(self) -> str | None:
        results = self.of_type("execute_result")
        return results[0]["content"]["data"]["text/plain"] if results else None


class Kernel:
    """A running kernel and a blocking client, with helpers for tests."""

    def __init__(self, kernel_name: str = KERNEL_NAME) -> None:
        self.manager = KernelManager(kernel_name=kernel_name)
        self.manager.start_kernel()
        self.client = self.manager.blocking_client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)
        self.stray: list[dict[str, Any]] = []  # IOPub messages of other parents, seen while waiting

    def execute(self, code: str, timeout: float = 60, **kwargs: Any) -> Run:
        msg_id = self.client.execute(code, **kwargs)
        return self.collect(msg_id, timeout)

    def collect(
        self, msg_id: str, timeout: float = 60, stdin: list[str] | None = None, answer_after: float = 0
    ) -> Run:
        messages = []
        deadline = time.monotonic() + timeout
        answers = list(stdin or [])
        while True:
            if answers:
                try:
                    request = self.client.get_stdin_msg(timeout=0.05)
                    messages.append(request)
                    time.sleep(answer_after)  # a person takes a while to type
                    self.client.input(answers.pop(0))
                except queue.Empty:
                    pass
            try:
                msg = self.client.get_iopub_msg(
                    timeout=0.05 if answers else max(0.01, deadline - time.monotonic())
                )
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no idle for {msg_id} within {timeout} s") from None
                continue
            msg["received"] = time.monotonic()
            if msg["parent_header"].get("msg_id") != msg_id:
                self.stray.append(msg)
                continue
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                break
            messages.append(msg)
        reply = self.client.get_shell_msg(timeout=timeout)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.client.get_shell_msg(timeout=timeout)
        return Run(reply, messages)

    def wait_for_stray(self, predicate, timeout: float = 10) -> dict[str, Any]:
        """Wait for an IOPub message that belongs to no running request (late output)."""
        deadline = time.monotonic() + timeout
        while True:
            for msg in self.stray:
                if predicate(msg):
                    return msg
            try:
                msg = self.client.get_iopub_msg(timeout=max(0.01, deadline - time.monotonic()))
                msg["received"] = time.monotonic()
                self.stray.append(msg)
            except queue.Empty:
                raise TimeoutError("the expected late message never came") from None

    def shutdown(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def kernel() -> Iterator[Kernel]:
    k = Kernel()
    yield k
    k.shutdown()


@pytest.fixture
def fresh_kernel() -> Iterator[Kernel]:
    k = Kernel()
    yield k
    k.shutdown()
