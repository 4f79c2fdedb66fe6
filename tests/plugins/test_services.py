"""The services supervisor (crucible_kernel/plugins/services.py): plugin services and
cru.service services as watched tasks, with their state, errors, output and events."""

from __future__ import annotations

import asyncio
import threading

from crucible_kernel.plugins import services

PLUGIN = """
return {{name = "svc", services = {{
{services}
}}}}
"""


def plugin(tmp_path, body: str):
    folder = tmp_path / "svc"
    folder.mkdir()
    (folder / "init.lua").write_text(PLUGIN.format(services=body))
    return folder


async def until(predicate, timeout: float = 5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)


async def test_a_plugin_service_runs_and_its_completion_is_logged_and_reported(lua, tmp_path, host):
    folder = plugin(tmp_path, 'once = {desc = "runs once", fn = function() print("working") end},')
    await lua.run(f"cru.plugins.load({str(folder)!r})")
    sup = services.of(lua.runtime)
    record = sup.find("svc/once")
    await record.task.wait()
    assert record.state == "completed"
    assert ("info", "Service 'once' completed") in host.logs
    assert host.states("svc/once") == ["starting", "running", "completed"]
    assert [e["text"] for e in record.output] == ["working\n"]
    event = next(e for e in host.service_events if e["event"] == "output")
    assert event["output"]["text"] == "working\n" and event["service"]["id"] == "svc/once"
    assert event["service"]["kind"] == "plugin" and event["service"]["plugin"] == "svc"


async def test_a_failing_plugin_service_is_not_restarted_and_keeps_its_traceback(lua, tmp_path, host):
    folder = plugin(tmp_path, 'bad = {fn = function() cru.timer.sleep(0) error("lost the gateway") end},')
    await lua.run(f"cru.plugins.load({str(folder)!r})")
    record = services.of(lua.runtime).find("bad")
    await record.task.wait()
    await asyncio.sleep(0.05)
    assert record.state == "failed" and record.restarts == 0
    assert record.last_error.endswith("lost the gateway")
    assert "stack traceback:" in record.last_traceback and "init.lua:3" in record.last_traceback
    assert any(level == "warn" and m.startswith("Service 'bad' failed: ") for level, m in host.logs)


async def test_a_crashing_service_leaves_the_others_and_the_runtime_running(lua, tmp_path):
    folder = plugin(
        tmp_path,
        """
        crash = {fn = function() cru.timer.sleep(0.02) local t = nil; return t.field end},
        steady = {fn = function() while true do steady_ticks = (steady_ticks or 0) + 1 cru.timer.sleep(0.01) end end},
        """,
    )
    await lua.run(f"cru.plugins.load({str(folder)!r})")
    sup = services.of(lua.runtime)
    await sup.find("crash").task.wait()
    before = await lua.eval("return steady_ticks")
    await asyncio.sleep(0.05)
    assert await lua.eval("return steady_ticks") > before
    assert sup.find("steady").state == "running"
    assert await lua.eval("return 1 + 1") == 2


async def test_stop_and_restart_from_lua(lua, tmp_path, host):
    folder = plugin(tmp_path, "loop = {fn = function() runs = (runs or 0) + 1 cru.timer.sleep(60) end},")
    await lua.run(f"cru.plugins.load({str(folder)!r})")
    await until(lambda: services.of(lua.runtime).find("loop").state == "running")
    assert await lua.eval('return cru.services.stop("loop")') is True
    assert await lua.eval("local s = cru.services.list()[1] return s.state, s.id") == ("stopped", "svc/loop")
    assert await lua.eval('return cru.services.stop("loop")') == (
        None,
        "service 'svc/loop' is not running (stopped)",
    )
    assert await lua.eval('return cru.services.restart("svc/loop")') is True
    await until(lambda: services.of(lua.runtime).find("loop").state == "running")
    assert await lua.eval("return runs, cru.services.list()[1].restarts") == (2, 1)
    assert await lua.eval('return cru.services.stop("nope")') == (
        None,
        "no service named 'nope' (services: svc/loop)",
    )
    assert host.states("svc/loop") == ["starting", "running", "stopped", "starting", "running"]


async def test_a_defined_service_restarts_through_cru_retry_and_reports_each_attempt(lua, host):
    task = await lua.run(
        """
        attempts = 0
        local svc = cru.service.define{
          name = "flaky", desc = "fails twice", restart = {max_retries = 3, base_delay = 0.01, max_delay = 0.01},
          start = function()
            attempts = attempts + 1
            print("attempt " .. attempts)
            if attempts < 3 then error("refused " .. attempts) end
          end,
        }
        return cru.services.start("flaky")
        """
    )
    assert task.results == (True,)
    record = services.of(lua.runtime).find("flaky")
    await record.task.wait()
    assert record.state == "completed" and record.restarts == 2
    assert record.last_error.endswith("refused 2") and "stack traceback:" in record.last_traceback
    # The traceback reads as plain Lua's would: none of the runtime's own frames.
    assert "crucible/" not in record.last_traceback and "raw_" not in record.last_traceback
    assert "\t[C]: in function 'pcall'" in record.last_traceback
    assert [e["text"] for e in record.output if e["stream"] == "stdout"] == [
        "attempt 1\n",
        "attempt 2\n",
        "attempt 3\n",
    ]
    assert ("log:info", "service 'flaky' starting\n") not in [(e["stream"], e["text"]) for e in record.output]
    assert ("log:info", "service 'flaky' completed") in [(e["stream"], e["text"]) for e in record.output]
    assert host.states("flaky") == [
        "starting",
        "running",
        "starting",
        "running",
        "starting",
        "running",
        "completed",
    ]


async def test_a_defined_service_that_gives_up_is_failed(lua):
    await lua.run(
        """
        local svc = cru.service.define{name = "doomed", desc = "d", restart = {max_retries = 1, base_delay = 0.01},
          start = function() error({retryable = false, msg = "fatal"}) end}
        cru.spawn(svc.fn)
        """
    )
    sup = services.of(lua.runtime)
    await until(lambda: "doomed" in sup.records and not sup.find("doomed").alive)
    record = sup.find("doomed")
    assert record.state == "failed" and record.restarts == 0
    assert record.task.kind == "service"  # a spawned run of a cru.service is supervised too


async def test_stopping_a_defined_service_calls_its_stop_function(lua):
    await lua.run(
        """
        cru.service.define{name = "conn", desc = "c", start = function() cru.timer.sleep(60) end,
                           stop = function() stopped_by = "stop fn" end}
        cru.services.start("conn")
        """
    )
    await until(lambda: services.of(lua.runtime).find("conn").state == "running")
    assert await lua.eval('return cru.services.stop("conn")') is True
    assert await lua.eval('return stopped_by, cru.service.status("conn").running') == ("stop fn", False)
    assert await lua.eval('return cru.services.start("conn")') is True
    assert await lua.eval('return cru.services.start("conn")') == (
        None,
        "service 'conn' is already running (task 0)".replace(
            "task 0", f"task {services.of(lua.runtime).find('conn').task.id}"
        ),
    )
    assert await lua.eval('return cru.services.start("undefined")') == (
        None,
        "no cru.service named 'undefined' is defined",
    )


async def test_a_plugin_service_that_runs_a_defined_service_is_one_record(lua, tmp_path):
    folder = tmp_path / "gw"
    folder.mkdir()
    (folder / "init.lua").write_text(
        """
        local n = 0
        local gateway = cru.service.define{name = "gateway-loop", desc = "the gateway",
          restart = {max_retries = 2, base_delay = 0.01},
          start = function() n = n + 1 if n == 1 then error("dropped") end cru.timer.sleep(60) end}
        return {name = "gw", services = {gateway = gateway}}
        """
    )
    await lua.run(f"cru.plugins.load({str(folder)!r})")
    sup = services.of(lua.runtime)
    await until(lambda: sup.find("gw/gateway").restarts == 1 and sup.find("gw/gateway").state == "running")
    assert list(sup.records) == ["gw/gateway"]
    assert sup.find("gateway").as_dict()["defined"] == "gateway-loop"


async def test_output_of_tasks_a_service_spawns_is_the_services(lua, tmp_path):
    folder = plugin(
        tmp_path,
        """bg = {fn = function()
            cru.spawn(function() print("from a child") cru.log("warn", "child warning") end):wait()
            cru.timer.sleep(60) end},""",
    )
    await lua.run(f"cru.plugins.load({str(folder)!r})")
    print_from_cell = await lua.run('print("from the cell")')
    assert print_from_cell.error is None
    record = services.of(lua.runtime).find("bg")
    await until(lambda: len(record.output) == 2)
    assert [(e["stream"], e["text"]) for e in record.output] == [
        ("stdout", "from a child\n"),
        ("log:warn", "child warning"),
    ]


async def test_an_interrupt_does_not_stop_a_service(lua, tmp_path):
    folder = plugin(
        tmp_path,
        "busy = {fn = function() while true do local x = 0 for i = 1, 1e5 do x = x + i end cru.timer.sleep(0) end end},",
    )
    await lua.run(f"cru.plugins.load({str(folder)!r})")
    cell = lua.start("cru.timer.sleep(60)")
    await asyncio.sleep(0.05)
    lua.runtime.interrupt()
    await cell.wait()
    assert cell.stop == "interrupted"
    await asyncio.sleep(0.05)
    assert services.of(lua.runtime).find("busy").state == "running"


async def test_a_service_hogging_the_loop_is_stopped_by_a_second_interrupt(lua, tmp_path):
    folder = plugin(tmp_path, "hog = {fn = function() cru.timer.sleep(0.05) while true do end end},")
    await lua.run(f"cru.plugins.load({str(folder)!r})")
    rt = lua.runtime
    record = services.of(rt).find("hog")
    # the service never yields, so the loop never runs again: interrupts come from a thread
    threading.Timer(0.2, _interrupt_twice, [rt]).start()
    await record.task.wait()
    assert record.state == "stopped"


def _interrupt_twice(rt):
    import time

    rt.interrupt()
    time.sleep(0.05)
    rt.interrupt()


async def test_closing_the_runtime_stops_and_forgets_every_service(lua, tmp_path, host):
    folder = plugin(tmp_path, "loop = {fn = function() cru.timer.sleep(60) end},")
    await lua.run(f"cru.plugins.load({str(folder)!r})")
    await asyncio.sleep(0.01)
    supervisor = services.of(lua.runtime)
    await lua.runtime.aclose()
    assert host.service_events[-1]["event"] == "removed"
    assert host.service_events[-1]["service"]["state"] == "stopped"
    assert supervisor.records == {}


async def test_the_event_payload_is_json_data_for_a_live_view(lua, tmp_path, host):
    import json

    folder = plugin(tmp_path, 'p = {desc = "prints", fn = function() print("x") error("y") end},')
    await lua.run(f"cru.plugins.load({str(folder)!r})")
    await services.of(lua.runtime).find("p").task.wait()
    json.dumps(host.service_events)  # every event serializes
    last = [e for e in host.service_events if e["event"] == "state"][-1]["service"]
    assert set(last) >= {
        "id", "name", "plugin", "kind", "desc", "state", "previous", "started_at", "state_since",
        "restarts", "last_error", "last_traceback", "task_id", "owner", "output",
    }  # fmt: skip
    assert (last["state"], last["previous"], last["owner"]) == ("failed", "running", "svc")


async def test_an_interrupt_while_a_service_computes_spares_it_and_stops_the_cell(lua, tmp_path):
    folder = plugin(
        tmp_path,
        """crunch = {fn = function()
            cru.timer.sleep(0.02)
            local x = 0 for i = 1, 2e7 do x = x + i end
            computed = true
            cru.timer.sleep(60) end},""",
    )
    await lua.run(f"cru.plugins.load({str(folder)!r})")
    cell = lua.start("cru.timer.sleep(60)")
    threading.Timer(0.1, lua.runtime.interrupt).start()  # lands while the service computes
    await cell.wait()
    assert cell.stop == "interrupted"
    assert await lua.eval("return computed") is True
    assert services.of(lua.runtime).find("crunch").state == "running"
