"""A runtime with the plugin layer installed (cru.plugins, cru.services, the supervisor), on the
runtime tests' recording host; and the fixture plugins of tests/plugins/loading."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from crucible_kernel import plugins
from crucible_kernel.runtime import Runtime
from tests.runtime.conftest import Lua, RecordingHost

LOADING = Path(__file__).parent / "loading"


class EventHost(RecordingHost):
    """Also keeps the service events."""

    def __init__(self) -> None:
        super().__init__()
        self.service_events: list[dict] = []

    def service_event(self, event: dict) -> None:
        self.service_events.append(event)

    def states(self, service_id: str) -> list[str]:
        """The states service `service_id` went through, in order (repeats collapsed)."""
        out: list[str] = []
        for e in self.service_events:
            if e["event"] == "state" and e["service"]["id"] == service_id:
                state = e["service"]["state"]
                if not out or out[-1] != state:
                    out.append(state)
        return out


@pytest.fixture
def host() -> EventHost:
    return EventHost()


@pytest.fixture
async def lua(host: EventHost):
    runtime = Runtime(host)
    plugins.install(runtime)
    yield Lua(runtime, host)
    await runtime.aclose()


@pytest.fixture
def manager(lua) -> plugins.PluginManager:
    return plugins.of(lua.runtime)


@pytest.fixture
def search(tmp_path, monkeypatch) -> Path:
    """A copy of the fixture plugins as the only search path (CRUCIBLE_PLUGIN_PATH)."""
    root = tmp_path / "search"
    shutil.copytree(LOADING, root)
    monkeypatch.setenv("CRUCIBLE_PLUGIN_PATH", str(root))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("CRUCIBLE_RUNTIME", raising=False)
    return root
