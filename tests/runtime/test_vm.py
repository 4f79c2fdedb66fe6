"""The two module sets (Runtime(vm=...)) and engine.run_sync, the synchronous call of the test runner."""

from __future__ import annotations

import threading

import pytest

from crucible_kernel.runtime import Runtime, TaskState

from .conftest import RecordingHost


async def globals_of(rt: Runtime, code: str):
    task = await rt.run(rt.load(code, "=probe"), name="probe")
    assert task.state is TaskState.DONE, task.error and task.error.traceback
    return task.results


async def test_the_bare_vm_has_the_test_executors_modules_and_lacks_the_daemons():
    rt = Runtime(RecordingHost(), vm="bare")
    try:
        present = await globals_of(
            rt,
            "return cru.log ~= nil, cru.json ~= nil, cru.timer ~= nil, cru.spawn ~= nil, cru.ratelimit ~= nil,"
            " cru.retry ~= nil, cru.emitter ~= nil, cru.check ~= nil, cru.service ~= nil, cru.inspect ~= nil,"
            " http ~= nil, cru.http == crucible.http",
        )
        assert all(present)
        absent = await globals_of(
            rt, "return cru.ws, cru.oq, oq, display, cru.display, ilua, cru.shell, cru.paths, cru.sessions"
        )
        assert absent == (None,) * 9
    finally:
        await rt.aclose()


async def test_the_daemon_vm_is_the_default_and_has_ws():
    rt = Runtime(RecordingHost())
    try:
        assert rt.vm == "daemon"
        (has_ws,) = await globals_of(rt, "return cru.ws ~= nil and display ~= nil")
        assert has_ws
    finally:
        await rt.aclose()


def test_an_unknown_module_set_is_refused():
    with pytest.raises(ValueError, match="unknown module set 'plugin'"):
        Runtime(RecordingHost(), vm="plugin")


async def run_with_engine(rt: Runtime, code: str):
    return await rt.run(rt.load(code, "=sync"), rt.engine, name="sync")


async def test_an_async_call_that_must_wait_fails_fast_and_one_that_is_ready_returns(lua):
    task = await run_with_engine(
        lua.runtime,
        """
        local engine = ...
        local yieldable = engine.run_sync(function() return coroutine.isyieldable() end)
        local ok, err = pcall(engine.run_sync, function() cru.timer.sleep(5) end)
        local ready = engine.run_sync(function() cru.timer.sleep(0); return "ready at once" end)
        return yieldable, ok, err, ready
        """,
    )
    assert task.state is TaskState.DONE
    assert task.results == (False, False, b"attempt to yield from outside a coroutine", b"ready at once")


async def test_run_sync_returns_every_value_and_re_raises_errors_unchanged(lua):
    task = await run_with_engine(
        lua.runtime,
        """
        local engine = ...
        local n = select("#", engine.run_sync(function() return 1, nil, 3 end))
        local ok, err = pcall(engine.run_sync, function() error({code = 7}) end)
        return n, ok, type(err), err.code
        """,
    )
    assert task.results == (3, False, b"table", 7)


async def test_an_interrupt_stops_a_busy_loop_inside_run_sync_and_the_state_survives(lua):
    rt = lua.runtime
    timer = threading.Timer(0.2, rt.interrupt)
    timer.start()
    task = await run_with_engine(
        rt, "local engine = ... engine.run_sync(function() while true do pcall(function() end) end end)"
    )
    timer.join()
    assert task.state is TaskState.CANCELLED and task.stop == "interrupted"
    assert await lua.eval("return 6 * 7") == 42
