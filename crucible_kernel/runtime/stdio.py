"""Natives behind print, io.* and the standard streams (lua/stdio.lua)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import output
from .convert import text

if TYPE_CHECKING:
    from .engine import Runtime


def install(rt: Runtime) -> None:
    host = rt.host
    taps = output.of(rt)

    def stdout(data: bytes) -> None:
        host.write("stdout", data)
        if taps.listeners:
            taps.wrote("stdout", data)

    def stderr(data: bytes) -> None:
        host.write("stderr", data)
        if taps.listeners:
            taps.wrote("stderr", data)

    async def read_line(prompt: bytes, password: bool) -> str | None:
        return await host.read_line(text(prompt), bool(password))

    async def read_all() -> str | None:
        return await host.read_all()

    exported = rt.lua_module(
        "stdio", {"stdout": stdout, "stderr": stderr, "read_line": read_line, "read_all": read_all}
    )
    rt.register("input", exported[b"input"])
