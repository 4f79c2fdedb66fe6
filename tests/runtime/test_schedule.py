"""cru.schedule (reference §3.16). Timing runs on a fake clock that the tests advance; no test
asserts a wall time."""

from __future__ import annotations

import asyncio

import pytest

from crucible_kernel.runtime import owners, schedule


class FakeClock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 0.0
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self._sleepers.append((self.now + delay, future))
        await future

    def jump(self, seconds: float) -> None:
        """Move time on without waking anyone (as if Lua computed that long)."""
        self.now += seconds

    async def advance(self, seconds: float) -> None:
        """Move time on, wake the sleepers that are due and let what they start run."""
        self.now += seconds
        for item in list(self._sleepers):
            deadline, future = item
            if deadline <= self.now + 1e-9:
                self._sleepers.remove(item)
                if not future.done():
                    future.set_result(None)
        await settle()


async def settle(rounds: int = 50) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


@pytest.fixture
def clock(lua):
    fake = FakeClock()
    schedule.of(lua.runtime).clock = fake
    lua.runtime.lua.globals()[b"jump"] = fake.jump
    return fake


async def count(lua) -> int:
    return await lua.eval("return runs")


async def test_schedule_is_a_callable_table_with_cancel(lua):
    assert await lua.eval(
        "return type(cru.schedule), type(cru.schedule.cancel), rawequal(cru.schedule, crucible.schedule)"
    ) == ("table", "function", True)


async def test_the_first_run_comes_one_interval_after_scheduling(lua, clock):
    handle = await lua.eval("runs = 0 return cru.schedule(10, function() runs = runs + 1 end)")
    assert isinstance(handle, int)
    await clock.advance(9.9)
    assert await count(lua) == 0
    await clock.advance(0.1)
    assert await count(lua) == 1
    await clock.advance(10)
    await clock.advance(10)
    assert await count(lua) == 3


@pytest.mark.parametrize(
    "spec", ["{every = 5}", "{interval = 5}", "{every = '5'}", "{every = {}, interval = 5}", "5.0"]
)
async def test_the_interval_may_be_given_several_ways(lua, clock, spec):
    await lua.run(f"runs = 0 cru.schedule({spec}, function() runs = runs + 1 end)")
    await clock.advance(4.9)
    assert await count(lua) == 0
    await clock.advance(0.1)
    assert await count(lua) == 1


async def test_each_run_is_a_task_that_may_wait_and_the_next_tick_waits_for_it(lua, clock):
    code = """
        runs, log = 0, {}
        cru.schedule(1, function()
          runs = runs + 1
          log[#log + 1] = "start " .. runs
          cru.timer.sleep(0.01)   -- real time: the fake clock does not move meanwhile
          log[#log + 1] = "end " .. runs
        end)
    """
    await lua.run(code)
    await clock.advance(1)
    await clock.advance(1)  # due while the first run still waits
    for _ in range(100):
        if await lua.eval("return #log") >= 2:
            break
        await asyncio.sleep(0.01)
    await clock.advance(0)
    for _ in range(100):
        if await lua.eval("return #log") >= 4:
            break
        await asyncio.sleep(0.01)
    assert await lua.eval("return table.concat(log, ', ')") == "start 1, end 1, start 2, end 2"


async def test_ticks_missed_by_a_slow_run_are_skipped(lua, clock):
    await lua.run("runs = 0 cru.schedule(10, function() runs = runs + 1 if runs == 1 then jump(25) end end)")
    await clock.advance(10)  # the first run "takes" 25 s: now 35, ticks 20 and 30 are missed
    assert await count(lua) == 1
    await clock.advance(4.9)
    assert await count(lua) == 1
    await clock.advance(0.1)  # 40: the next tick still ahead
    assert await count(lua) == 2


async def test_a_failing_run_is_logged_and_the_schedule_goes_on(lua, clock, host):
    await lua.run("runs = 0 cru.schedule(1, function() runs = runs + 1 error('boom ' .. runs) end)")
    await clock.advance(1)
    await clock.advance(1)
    assert await count(lua) == 2
    warnings = [m for level, m in host.logs if level == "warn"]
    assert len(warnings) == 2
    assert warnings[0].startswith("scheduled callback error: test[1]:1: boom 1")
    assert "stack traceback:" in warnings[0]


async def test_cancel_stops_future_runs(lua, clock):
    handle = await lua.eval("runs = 0 return cru.schedule(1, function() runs = runs + 1 end)")
    await clock.advance(1)
    assert await lua.eval(f"return cru.schedule.cancel({handle}), cru.schedule.cancel({handle})") == (
        True,
        False,
    )
    await clock.advance(5)
    assert await count(lua) == 1
    assert schedule.of(lua.runtime).schedules == {}


async def test_a_run_may_cancel_its_own_schedule_and_finishes(lua, clock):
    code = """
        runs, finished = 0, false
        h = cru.schedule(1, function()
          runs = runs + 1
          cru.schedule.cancel(h)
          cru.timer.sleep(0)
          finished = true
        end)
    """
    await lua.run(code)
    await clock.advance(1)
    await clock.advance(1)
    assert await lua.eval("return runs, finished") == (1, True)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("cru.schedule(0, f)", "schedule interval must be a finite positive number"),
        ("cru.schedule(-5, f)", "schedule interval must be a finite positive number"),
        ("cru.schedule(math.huge, f)", "schedule interval must be a finite positive number"),
        ("cru.schedule(0/0, f)", "schedule interval must be a finite positive number"),
        ("cru.schedule({}, f)", "schedule spec table must have an 'every' or 'interval' field"),
        ("cru.schedule('5', f)", "schedule spec must be a table with 'every' field or a number of seconds"),
        ("cru.schedule(5, 'f')", "schedule handler must be a function"),
        ("cru.schedule(f)", "schedule expects (spec, handler), got 1 args"),
        ("cru.schedule(1, f, 2)", "schedule expects (spec, handler), got 3 args"),
        ("cru.schedule.cancel('x')", "bad argument #1 to 'cancel' (number expected, got string)"),
        ("cru.schedule.cancel(1.5)", "bad argument #1 to 'cancel' (number has no integer representation)"),
    ],
)
async def test_bad_arguments_raise(lua, call, message):
    assert (await lua.error(f"local f = function() end\n{call}")).message == f"test[1]:2: {message}"


async def test_cancel_accepts_integral_numbers_and_numeric_strings(lua, clock):
    handle = await lua.eval("return cru.schedule(1, function() end)")
    assert await lua.eval(f"return cru.schedule.cancel('{handle}')") is True
    handle = await lua.eval("return cru.schedule(1, function() end)")
    assert await lua.eval(f"return cru.schedule.cancel({handle}.0)") is True


async def test_at_most_256_schedules_are_active(lua, clock):
    code = """
        local handles = {}
        for i = 1, 256 do handles[i] = cru.schedule(60, function() end) end
        local ok, err = pcall(cru.schedule, 60, function() end)
        cru.schedule.cancel(handles[1])
        local again = cru.schedule(60, function() end)
        return ok, err, type(again)
    """
    assert await lua.eval(code) == (False, "test[1]:4: too many active schedules (256/256)", "number")


async def test_short_real_intervals_run_repeatedly(lua):
    await lua.run("runs = 0 h = cru.schedule(0.01, function() runs = runs + 1 end)")
    for _ in range(300):
        if await count(lua) >= 3:
            break
        await asyncio.sleep(0.01)
    assert await count(lua) >= 3
    await lua.run("cru.schedule.cancel(h)")


async def test_schedules_are_removed_by_owner_with_the_run_in_progress(lua, clock):
    rt = lua.runtime
    rt.engine[b"current_owner"] = rt.lua.eval("function() return owner end")
    code = """
        runs, stopped = 0, false
        owner = "cell:A"
        cru.schedule(1, function()
          local guard <close> = setmetatable({}, {__close = function() stopped = true end})
          runs = runs + 1
          cru.timer.sleep(30)
        end)
        owner = "cell:B"
        cru.schedule(1, function() end)
    """
    await lua.run(code)
    scheduler = schedule.of(rt)
    assert scheduler.count_owner("cell:A") == 1
    await clock.advance(1)
    assert await count(lua) == 1
    assert owners.registrations(rt).unregister_owner("cell:A")["schedules"] == 1
    await settle()
    assert await lua.eval("return stopped") is True
    assert [e.owner for e in scheduler.schedules.values()] == ["cell:B"]
    await clock.advance(5)
    assert await count(lua) == 1


async def test_closing_the_runtime_stops_every_schedule(lua, clock):
    await lua.run("cru.schedule(1, function() cru.timer.sleep(60) end) cru.schedule(2, function() end)")
    await clock.advance(1)
    scheduler = schedule.of(lua.runtime)
    runners = [e.runner for e in scheduler.schedules.values()]
    await lua.runtime.aclose()
    assert all(r is not None and r.done() for r in runners)
    assert scheduler.schedules == {}
    assert lua.runtime.live_tasks() == []


async def test_output_of_a_run_reaches_the_host(lua, clock, host):
    await lua.run('cru.schedule(1, function() print("tick") end)')
    await clock.advance(1)
    assert lua.out == "tick\n"
