"""cru.spawn and its task handles (reference §3.5; the handle is our extension)."""

from __future__ import annotations

import asyncio


async def test_the_contract_example_runs_in_the_background(lua):
    await lua.run("""
        cru.spawn(function()
        cru.timer.sleep(0.05)
        cru.log("info", "Background task done")
        end)
    """)
    assert lua.host.logs == []  # the chunk returned before the task finished
    await lua.runtime.wait_tasks()
    assert lua.host.logs == [("info", "Background task done")]


async def test_a_failing_task_is_logged_as_a_warning_and_does_not_reach_the_caller(lua):
    task = await lua.run(
        "cru.spawn(function() cru.timer.sleep(0) error('bad luck') end) return 'caller fine'"
    )
    assert task.results == (b"caller fine",)
    await lua.runtime.wait_tasks()
    ((level, message),) = lua.host.logs
    assert level == "warn"
    assert message.startswith("Spawned Lua task error: test[1]:1: bad luck")
    assert "stack traceback" in message


async def test_wait_returns_the_results_of_the_task(lua):
    assert await lua.eval(
        "local h = cru.spawn(function(a, b) cru.timer.sleep(0.01) return a + b, 'x' end, 2, 3) "
        "return h:wait()"
    ) == (5, "x")


async def test_wait_raises_the_tasks_own_error_value(lua):
    code = """
        local h = cru.spawn(function() error({code = 42}) end)
        local ok, err = pcall(h.wait, h)
        return ok, type(err), err.code
    """
    assert await lua.eval(code) == (False, "table", 42)
    message = await lua.eval(
        "local h = cru.spawn(function() error('plain') end) return select(2, pcall(h.wait, h))"
    )
    assert message == "test[2]:1: plain"


async def test_cancel_stops_a_task_at_its_next_wait(lua):
    code = """
        reached = false
        local h = cru.spawn(function() cru.timer.sleep(10) reached = true end)
        cru.timer.sleep(0.01)
        local first, second = h:cancel(), h:cancel()
        local ok, err = pcall(h.wait, h)
        return first, second, h:status(), h:done(), ok, err, reached
    """
    status = await lua.eval(code)
    assert status[:5] == (True, False, "cancelled", True, False)
    assert "was cancelled" in status[5]
    assert status[6] is False


async def test_status_follows_the_task(lua):
    code = """
        local h = cru.spawn(function() cru.timer.sleep(0.05) end)
        local before = h:status()
        cru.timer.sleep(0.01)
        local during = h:status()
        h:wait()
        return before, during, h:status(), type(h:id()), tostring(h):match("^Task %d+ %(done%)$") ~= nil
    """
    assert await lua.eval(code) == ("pending", "waiting", "done", "number", True)


async def test_spawned_tasks_outlive_the_chunk_that_started_them(lua):
    await lua.run(
        "results = {} for i = 1, 10 do cru.spawn(function() cru.timer.sleep(0.01 * i) results[i] = i end) end"
    )
    assert await lua.eval("return #results") == 0
    await lua.runtime.wait_tasks()
    assert await lua.eval("return #results") == 10


async def test_spawn_needs_a_function(lua):
    error = await lua.error("cru.spawn(42)")
    assert error.message == "test[1]:1: bad argument #1 to 'spawn' (function expected, got number)"


async def test_a_handle_that_is_dropped_does_not_keep_its_task(lua):
    await lua.run("for i = 1, 200 do cru.spawn(function() end) end")
    await lua.runtime.wait_tasks()
    await asyncio.sleep(0)
    await lua.eval("collectgarbage() collectgarbage() return 1")
    assert lua.runtime.live_tasks() == []
