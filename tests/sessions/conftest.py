"""A runtime with cru.sessions on a fresh session service (local, echo agent by default)."""

from __future__ import annotations

import pytest

from crucible_kernel.runtime import Runtime
from crucible_kernel.sessions import SessionService, install
from tests.runtime.conftest import Lua, RecordingHost

from .servers import chat_server  # noqa: F401 (a fixture)


@pytest.fixture
def service() -> SessionService:
    return SessionService()


@pytest.fixture
async def lua(service: SessionService):
    host = RecordingHost()
    runtime = Runtime(host)
    binding = install(runtime, service)
    lua = Lua(runtime, host)
    lua.binding = binding  # type: ignore[attr-defined]
    yield lua
    await runtime.aclose()
    await service.aclose()
