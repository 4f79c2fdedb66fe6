"""cru.timer: sleep, timeout, clock (reference §3.4)."""

from __future__ import annotations

import threading

import pytest


async def test_the_contract_timeout_example_runs_as_written(lua):
    code = """
        cru.http = {get = function(url) cru.timer.sleep(10) return {status = 200} end}
        local ok, result = cru.timer.timeout(0.05, function()
        return cru.http.get("https://api.example.com/data")
        end)
        if not ok and result == "timeout" then
        cru.log("warn", "Request timed out")
        end
        return ok, result
    """
    assert await lua.eval(code) == (False, "timeout")
    assert lua.host.logs == [("warn", "Request timed out")]


async def test_the_contract_clock_example_measures_wall_time_across_yields(lua):
    code = """
        local function do_work() cru.timer.sleep(0.05) end
        local start = cru.timer.clock()
        do_work()
        local elapsed = cru.timer.clock() - start
        cru.log("info", string.format("Took %.2fs", elapsed))
        return math.type(start), elapsed > 0.04
    """
    assert await lua.eval(code) == ("float", True)
    assert lua.host.logs[0][0] == "info"
    assert lua.host.logs[0][1].startswith("Took 0.0")


async def test_sleep_accepts_zero_floats_and_numeric_strings(lua):
    assert (
        await lua.eval("cru.timer.sleep(0) cru.timer.sleep(0.01) cru.timer.sleep('0.01') return 'ok'") == "ok"
    )


@pytest.mark.parametrize("value", ["-1", "0/0", "math.huge", "-math.huge"])
async def test_sleep_rejects_negative_and_non_finite_durations(lua, value):
    error = await lua.error(f"cru.timer.sleep({value})")
    assert error.message == "test[1]:1: sleep duration must be a finite non-negative number"


async def test_sleep_rejects_values_that_are_not_numbers(lua):
    error = await lua.error("cru.timer.sleep({})")
    assert error.message == "test[1]:1: bad argument #1 to 'sleep' (number expected, got table)"
    error = await lua.error("cru.timer.sleep('soon')")
    assert error.message == "test[2]:1: bad argument #1 to 'sleep' (number expected, got string)"


async def test_timeout_returns_only_the_first_value_of_a_function_that_finishes(lua):
    assert await lua.eval("return cru.timer.timeout(1, function() cru.timer.sleep(0) return 1, 2 end)") == (
        True,
        1,
    )
    assert await lua.eval("return cru.timer.timeout(1, function() end)") == (True, None)


async def test_timeout_zero_succeeds_for_a_function_that_does_not_wait(lua):
    assert await lua.eval("return cru.timer.timeout(0, function() return 'instant' end)") == (True, "instant")
    assert await lua.eval("return cru.timer.timeout(0, function() cru.timer.sleep(0.01) end)") == (
        False,
        "timeout",
    )


async def test_timeout_reports_an_error_as_a_string(lua):
    ok, message = await lua.eval("return cru.timer.timeout(1, function()\n error('boom')\n end)")
    assert (ok, message) == (False, "test[1]:2: boom")
    ok, message = await lua.eval("return cru.timer.timeout(1, function() error({code = 7}) end)")
    assert ok is False
    assert message.startswith("table: ")


async def test_timeout_unwinds_the_abandoned_function(lua):
    code = """
        closed = false
        local ok, why = cru.timer.timeout(0.02, function()
          local guard <close> = setmetatable({}, {__close = function() closed = true end})
          cru.timer.sleep(10)
        end)
        return ok, why, closed
    """
    assert await lua.eval(code) == (False, "timeout", True)


async def test_timeout_validates_its_arguments(lua):
    error = await lua.error("cru.timer.timeout(-1, function() end)")
    assert error.message == "test[1]:1: timeout duration must be a finite non-negative number"
    error = await lua.error("cru.timer.timeout(1, 'not a function')")
    assert error.message == "test[2]:1: bad argument #2 to 'timeout' (function expected, got string)"


async def test_clock_is_monotonic_and_starts_near_zero(lua):
    first, second = await lua.eval(
        "local a = cru.timer.clock() cru.timer.sleep(0.01) return a, cru.timer.clock()"
    )
    assert 0 <= first < second


# A stop is never a return value -------------------------------------------------------------------


async def test_an_interrupt_inside_a_timeout_stops_the_caller(lua):
    # Each interrupt used to come back as (false, "interrupted") and the loop went on.
    lua.runtime.bind_loop()
    threading.Timer(0.2, lua.runtime.interrupt).start()
    task = await lua.run("""
        calls = 0
        for i = 1, 100 do
          calls = calls + 1
          cru.timer.timeout(60, function() while true do end end)
        end
    """)
    assert task.stop == "interrupted"
    assert await lua.eval("return calls") == 1


async def test_an_interrupt_while_a_timeout_waits_stops_the_caller(lua):
    lua.runtime.bind_loop()
    threading.Timer(0.2, lua.runtime.interrupt).start()
    task = await lua.run("""
        results = {}
        for i = 1, 3 do results[i] = {cru.timer.timeout(60, function() cru.timer.sleep(30) end)} end
    """)
    assert task.stop == "interrupted"
    assert await lua.eval("return #results") == 0


async def test_os_exit_inside_a_timeout_exits(lua, host):
    task = await lua.run("cru.timer.timeout(5, function() os.exit(3) end) return 'after'")
    assert (task.stop, task.exit_code, task.results) == ("exit", 3, ())
    assert host.exit_codes == [3]


async def test_a_cancelled_task_in_a_timeout_loop_stops(lua):
    code = """
        worker = cru.spawn(function()
          while true do cru.timer.timeout(60, function() cru.timer.sleep(10) end) end
        end)
        cru.timer.sleep(0.05)
        worker:cancel()
        cru.timer.sleep(0.05)
        return worker:status()
    """
    assert await lua.eval(code) == "cancelled"
