"""The services panel and the plugin cards through jupyter_client, as a frontend drives them:
live updates after the cell has finished, stop, restart and reload clicks as the page sends
them, and the text forms that terminals, nbconvert and nbclient show."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crucible_kernel.kernel.widgets.plugin_card import plugin_text
from crucible_kernel.kernel.widgets.services import services_text
from crucible_kernel.notebooks import execute_notebook

from .conftest import KERNEL_NAME, Kernel, Run, notebook
from .test_widgets import VIEW, listen, model_id, parent_of, send_comm, stream_of, updates, view_of

CARDY_YAML = "name: cardy\nversion: {version}\ndescription: A plugin with a card\n"
CARDY_INIT = """
return {{
  tools = {{
    greet = {{desc = "Says hello", fn = function(args) return "hello " .. tostring(args.who) end}},
    {extra_tool}
  }},
  commands = {{ping = {{desc = "Answers pong", hint = "no arguments", fn = function() return "pong" end}}}},
  services = {{beat = {{desc = "beats", fn = function() while true do cru.timer.sleep(0.05) end end}}}},
  setup = function(cfg) print("cardy set up") end,
}}
"""


def write_cardy(folder: Path, version: str = "1.0.0", extra_tool: str = "") -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "plugin.yaml").write_text(CARDY_YAML.format(version=version))
    (folder / "init.lua").write_text(CARDY_INIT.format(extra_tool=extra_tool))
    return folder


def opened_state(run: Run, comm_id: str) -> dict[str, Any]:
    return next(
        m["content"]["data"]["state"] for m in run.of_type("comm_open") if m["content"]["comm_id"] == comm_id
    )


class Model:
    """What a frontend knows of one widget model: its state at comm_open, then every update,
    whether it came during a cell (parented to it) or after (stray)."""

    def __init__(self, kernel: Kernel, run: Run) -> None:
        self.kernel = kernel
        self.run = run
        self.id = model_id(run)
        self.state = dict(opened_state(run, self.id)) if run.of_type("comm_open") else {}
        self.seen = 0  # messages of kernel.stray taken in
        self.take(run.messages)

    def take(self, messages: list[dict[str, Any]]) -> None:
        for update in updates(messages, self.id):
            self.state.update(update)

    def wait(self, until: Callable[[dict[str, Any]], Any], *runs: Run, timeout: float = 10) -> dict[str, Any]:
        """The state once `until(state)` holds, taking in the updates of `runs` and late ones."""
        for run in runs:
            self.take(run.messages)
        deadline = time.monotonic() + timeout
        while True:
            self.take(self.kernel.stray[self.seen :])
            self.seen = len(self.kernel.stray)
            if until(self.state):
                return self.state
            if time.monotonic() > deadline:
                raise AssertionError(f"the widget never reached the expected state; last: {self.state}")
            listen(self.kernel, 0.1)


def row(state: dict[str, Any], service: str) -> dict[str, Any] | None:
    return next((r for r in state.get("services", []) if r["id"] == service), None)


def click(kernel: Kernel, comm_id: str, content: dict[str, Any]) -> None:
    """A press of a panel's button, as the view sends it (anywidget's model.send)."""
    send_comm(kernel, comm_id, {"method": "custom", "content": content})


# The services panel -------------------------------------------------------------------------------------


def test_services_shows_the_panel_and_every_display_shares_its_model(fresh_kernel):
    k = fresh_kernel
    run = k.execute("%services")
    assert run.content["status"] == "ok"
    data = view_of(run)
    assert data["text/plain"].startswith("Services: none.")
    state = opened_state(run, data[VIEW]["model_id"])
    assert state["services"] == [] and state["_model_module"] == "anywidget"
    again = k.execute("display(cru.services)\ncru.services")
    shown = [m["content"]["data"][VIEW]["model_id"] for m in again.of_type("display_data")]
    assert shown == [model_id(run)] * 2
    assert again.of_type("comm_open") == []


def test_the_panel_follows_a_failing_service_after_its_cell_has_finished(fresh_kernel):
    k = fresh_kernel
    panel = Model(k, k.execute("%services"))
    run = k.execute(
        """
        svc = cru.service.define{name = "doomed", desc = "fails for good",
          restart = {max_retries = 1, base_delay = 0.05, max_delay = 0.05},
          start = function()
            print("trying")
            cru.timer.sleep(0.2)
            error("the gateway is gone")
          end}
        cru.services.start("doomed")
        """
    )
    assert run.content["status"] == "ok"
    finished = time.monotonic()
    state = panel.wait(lambda s: (r := row(s, "doomed")) and r["state"] == "failed", run)
    doomed = row(state, "doomed")
    assert doomed is not None
    assert doomed["restarts"] == 1 and doomed["kind"] == "defined" and doomed["desc"] == "fails for good"
    assert doomed["error"].endswith("the gateway is gone")
    assert "stack traceback:" in doomed["traceback"]
    lines = [(line["stream"], line["text"]) for line in doomed["output"]]
    assert lines[:3] == [
        ("stdout", "[info] service 'doomed' starting"),
        ("stdout", "trying"),
        ("stdout", "trying"),
    ]
    assert lines[3][0] == "stderr" and lines[3][1].startswith("[warn] service 'doomed' stopped: ")
    assert not doomed["alive"] and doomed["restartable"]
    late = [m for m in k.stray if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == panel.id]
    assert late and all(m["received"] > finished for m in late)
    # The text of the panel's output is brought up to date when a cell ends.
    text = k.execute("x = 1")
    refreshed = [
        m["content"]["data"]["text/plain"]
        for m in text.of_type("update_display_data")
        if m["content"]["data"].get(VIEW, {}).get("model_id") == panel.id
    ]
    assert refreshed and "doomed" in refreshed[0] and "failed" in refreshed[0]
    assert "the gateway is gone" in refreshed[0] and "doomed: trying" in refreshed[0]


def test_stop_and_restart_clicks_run_and_the_panel_says_what_they_did(fresh_kernel):
    k = fresh_kernel
    k.execute(
        """
        beats = 0
        cru.service.define{name = "heart", desc = "beats",
          start = function() while true do beats = beats + 1 cru.timer.sleep(0.02) end end}
        cru.services.start("heart")
        """
    )
    panel = Model(k, k.execute("cru.services"))
    click(k, panel.id, {"action": "stop", "service": "heart"})
    state = panel.wait(lambda s: "stopped heart" in s["notice"])
    assert row(state, "heart")["state"] == "stopped"
    assert k.execute("return cru.services.list()[1].state").result == '"stopped"'
    click(k, panel.id, {"action": "restart", "service": "heart"})
    panel.wait(lambda s: "restarted heart" in s["notice"])
    state = panel.wait(lambda s: row(s, "heart")["state"] == "running")
    assert row(state, "heart")["restarts"] == 1
    before = int(k.execute("beats").result)
    time.sleep(0.2)
    assert int(k.execute("beats").result) > before


def test_a_click_runs_as_a_widget_task_that_percent_tasks_lists(fresh_kernel):
    k = fresh_kernel
    k.execute(
        """
        cru.service.define{name = "slow", desc = "slow to stop",
          start = function() while true do cru.timer.sleep(0.05) end end,
          stop = function() print("stopping slowly") cru.timer.sleep(0.6) end}
        cru.services.start("slow")
        """
    )
    panel = Model(k, k.execute("%services"))
    click(k, panel.id, {"action": "stop", "service": "slow"})
    state = panel.wait(lambda s: s["busy"] == ["slow"])
    tasks = k.execute("%tasks").stream()
    assert any(
        line.split()[1:3] == ["widget", "waiting"] and line.endswith("services panel: stop slow")
        for line in tasks.splitlines()
    ), tasks
    state = panel.wait(lambda s: "stopped slow" in s["notice"] and s["busy"] == [])
    assert row(state, "slow")["state"] == "stopped"
    # What the stop printed went to the cell that showed the panel.
    assert "stopping slowly" in stream_of(k, parent_of(panel.run), "stopping slowly")


def test_a_click_that_cannot_be_done_says_why_in_the_notice(fresh_kernel):
    k = fresh_kernel
    k.execute(
        'cru.service.define{name = "brief", desc = "ends", start = function() end}\ncru.services.start("brief")'
    )
    panel = Model(k, k.execute("%services"))
    panel.wait(lambda s: row(s, "brief")["state"] == "completed")
    click(k, panel.id, {"action": "stop", "service": "brief"})
    state = panel.wait(lambda s: "stop brief:" in s["notice"])
    assert state["notice"].endswith("stop brief: service 'brief' is not running (completed)")
    click(k, panel.id, {"action": "stop", "service": "nothing"})
    state = panel.wait(lambda s: "stop nothing:" in s["notice"])
    assert "no service named 'nothing'" in state["notice"]
    click(k, panel.id, {"action": "explode", "service": "brief"})  # not an action: ignored
    listen(k, 0.3)
    assert k.execute("1 + 1").result == "2"


def test_after_a_reset_the_old_panel_ends_and_a_new_one_follows_the_new_state(fresh_kernel):
    k = fresh_kernel
    old = Model(k, k.execute("%services"))
    old.wait(lambda s: s["ended"] is True, k.execute("%reset"))
    new = k.execute("%services")
    assert model_id(new) != old.id
    assert view_of(new)["text/plain"].startswith("Services: none.")


# Plugin cards ---------------------------------------------------------------------------------------------


@pytest.fixture
def cardy(tmp_path) -> Path:
    return write_cardy(tmp_path / "cardy")


def service_state(state: dict[str, Any]) -> str:
    return state["plugin"]["services"][0]["state"] if state["plugin"]["services"] else ""


def test_a_loaded_plugin_as_a_cells_value_is_its_card(fresh_kernel, cardy):
    k = fresh_kernel
    run = k.execute(f"p = cru.plugins.load({str(cardy)!r})\np")
    assert run.content["status"] == "ok", run.content
    data = view_of(run)
    assert data["text/plain"].startswith("Plugin cardy 1.0.0 (active): A plugin with a card\n")
    assert "  tools: greet\n  commands: ping\n  services: beat " in data["text/plain"]
    plugin = opened_state(run, data[VIEW]["model_id"])["plugin"]
    assert plugin["tools"] == [{"name": "greet", "desc": "Says hello"}]
    assert plugin["commands"] == [{"name": "ping", "desc": "Answers pong", "hint": "no arguments"}]
    assert [s["name"] for s in plugin["services"]] == ["beat"]
    # The table is still the plugin's description; list() entries and %plugin show share the card.
    assert (
        k.execute("return p.version, p.tools[1], cru.json.encode(p.services)").result
        == '"1.0.0"\t"greet"\t"[\\"beat\\"]"'
    )
    listed = k.execute("cru.plugins.list()[1]")
    show = k.execute("%plugin show cardy")
    assert model_id(listed) == model_id(show) == model_id(run)
    assert k.execute("%plugin show nope").content["evalue"].startswith("Plugin not found: nope")


def test_the_cards_reload_button_reloads_the_plugin_and_the_card_follows(fresh_kernel, cardy):
    k = fresh_kernel
    run = k.execute(f"cru.plugins.load({str(cardy)!r})")
    card = Model(k, run)
    card.wait(lambda s: service_state(s) == "running")
    write_cardy(
        cardy, version="1.1.0", extra_tool='wave = {desc = "Waves", fn = function() return "wave" end},'
    )
    click(k, card.id, {"action": "reload"})
    card.wait(lambda s: "reloaded cardy" in s["notice"])
    state = card.wait(lambda s: s["plugin"]["version"] == "1.1.0" and service_state(s) == "running")
    assert [t["name"] for t in state["plugin"]["tools"]] == ["greet", "wave"]
    assert k.execute("cru.plugins.tool('wave', {})").result == '"wave"'
    # What the plugin printed while it reloaded went to the cell that showed the card.
    assert run.stream() == "cardy set up\n"
    assert stream_of(k, parent_of(run), "cardy set up") == "cardy set up\n"  # late, from the reload
    # A reload that fails shows the plugin in error, with its message.
    (cardy / "init.lua").write_text("return {name = 'cardy', setup = function() error('no config') end}")
    click(k, card.id, {"action": "reload"})
    state = card.wait(lambda s: "reload failed" in s["notice"] and s["plugin"]["state"] == "error")
    assert "setup() for 'cardy'" in state["notice"] and "no config" in state["plugin"]["last_error"]
    assert view_of(k.execute("%plugin show cardy"))["text/plain"].startswith("Plugin cardy 1.1.0 (error)")


def test_the_card_follows_its_plugins_services_an_unload_and_a_load(fresh_kernel, tmp_path):
    k = fresh_kernel
    folder = tmp_path / "flaky"
    folder.mkdir()
    (folder / "init.lua").write_text(
        "return {name = 'flaky', version = '0.1.0', services = {poll = {desc = 'polls', fn = function()\n"
        "  cru.timer.sleep(0.3) error('poll failed') end}}}\n"
    )
    card = Model(k, k.execute(f"cru.plugins.load({str(folder)!r})"))
    state = card.wait(lambda s: service_state(s) == "failed")
    assert state["plugin"]["services"][0]["error"].endswith("poll failed")
    card.wait(lambda s: s["plugin"]["state"] == "unloaded", k.execute("%plugin unload flaky"))
    card.wait(lambda s: s["plugin"]["state"] == "active", k.execute(f"cru.plugins.load({str(folder)!r})"))
    click(k, card.id, {"action": "reload"})
    card.wait(lambda s: "reloaded flaky" in s["notice"])


# Text forms --------------------------------------------------------------------------------------------


def test_the_services_text_form():
    now = 1000.0
    rows = [
        {
            "id": "weather/poll",
            "kind": "plugin",
            "state": "running",
            "label": "running",
            "alive": True,
            "started_at": now - 75,
            "state_since": now - 75,
            "restarts": 0,
            "error": "",
            "output": [{"stream": "stdout", "text": f"poll {i}"} for i in range(5)],
        },
        {
            "id": "flaky",
            "kind": "defined",
            "state": "failed",
            "label": "failed",
            "alive": False,
            "started_at": now - 30,
            "state_since": now - 4,
            "restarts": 3,
            "error": "cell[2]:3: lost the gateway",
            "output": [],
        },
    ]
    assert services_text(rows, now) == (
        "Services: 1 running, 1 failed\n"
        "SERVICE       KIND     STATE          RESTARTS  UP  LAST ERROR\n"
        "weather/poll  plugin   running        0         1m\n"
        "flaky         defined  failed 4s ago  3         -   cell[2]:3: lost the gateway\n"
        "recent output:\n"
        "  weather/poll: poll 2\n"
        "  weather/poll: poll 3\n"
        "  weather/poll: poll 4"
    )


def test_the_plugin_text_form():
    info = {
        "name": "cardy",
        "version": "1.0.0",
        "description": "A plugin with a card",
        "state": "active",
        "path": "/p/cardy",
        "loaded_at": 90.0,
        "tools": [{"name": "greet", "desc": ""}],
        "commands": [],
        "services": [{"name": "beat", "state": "failed", "restarts": 0, "error": "init.lua:2: boom"}],
        "last_error": "",
        "warnings": ["something odd"],
    }
    assert plugin_text(info, 100.0) == (
        "Plugin cardy 1.0.0 (active): A plugin with a card\n"
        "  path: /p/cardy\n"
        "  loaded 10s ago\n"
        "  tools: greet\n"
        "  commands: (none)\n"
        "  services: beat failed\n"
        "  beat last error: init.lua:2: boom\n"
        "  warning: something odd"
    )


def test_an_executed_notebook_keeps_the_panels_last_state_and_current_text(tmp_path, cardy):
    cells = [
        "%services",
        f"p = cru.plugins.load({str(cardy)!r})\np",
        'cru.service.define{name = "once", desc = "fails", restart = {max_retries = 0},\n'
        '  start = function() print("going") error("gone") end}\n'
        'cru.services.start("once")\ncru.timer.sleep(0.3)',
    ]
    path = notebook(tmp_path / "panels.ipynb", *cells)
    nb = execute_notebook(str(path), kernel_name=KERNEL_NAME, timeout=60)
    panel_text = nb.cells[0].outputs[0]["data"]["text/plain"]
    assert "once" in panel_text and "failed" in panel_text and "cardy/beat" in panel_text
    assert "once: going" in panel_text
    states = nb.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    panel = next(s["state"] for s in states.values() if "services" in s["state"])
    assert {r["id"]: r["state"] for r in panel["services"]} == {"cardy/beat": "running", "once": "failed"}
    card = next(s["state"] for s in states.values() if "plugin" in s["state"])
    assert card["plugin"]["name"] == "cardy" and card["plugin"]["services"][0]["state"] == "running"
