"""Lua values that Python keeps outlive the task that handed them over (runtime/anchor.py).

lupa ties each value to the coroutine that was running when it crossed into Python; without
`Runtime.keep`, using or releasing such a value after its task ended and Lua collected the
coroutine reads freed memory. The scenarios run in a child process with glibc's MALLOC_PERTURB_,
which fills freed memory, so a value that was not kept crashes there instead of passing by luck.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from crucible_kernel.runtime import TaskState

SCENARIO = textwrap.dedent(
    """
    import asyncio, gc
    from crucible_kernel.runtime import Runtime
    from crucible_kernel.runtime import handlers, hooks, schedule

    async def main():
        rt = Runtime()
        # Registrations made by many short tasks, each of which ends at once.
        code = '''
            for i = 1, 200 do
              cru.spawn(function()
                crucible.on("tool_result", function() return i end)
                crucible.on_session_start(function() end)
              end)
            end
            cru.timer.sleep(0.01)
            collectgarbage() collectgarbage()
            local junk = {} for i = 1, 200000 do junk[i] = {i} end
        '''
        task = await rt.run(rt.load(code, "=scenario"), name="scenario")
        assert task.state.value == "done", task.error and task.error.traceback
        # Use the values from Python after their tasks are gone: read, call, then let go.
        found = handlers.of(rt).matching("tool_result")
        assert len(found) == 200
        results = await handlers.of(rt).dispatch("tool_result", None, None)
        assert sorted(results) == list(range(1, 201)), results[:5]
        hooks.of(rt).unregister_owner(None)
        handlers.of(rt).unregister_owner(None)
        gc.collect()
        await rt.aclose()
        gc.collect()
        print("survived")

    asyncio.run(main())
    """
)


def test_values_registered_by_ended_tasks_stay_usable_and_release_cleanly():
    env = {**os.environ, "MALLOC_PERTURB_": "165"}
    run = subprocess.run(
        [sys.executable, "-c", SCENARIO], capture_output=True, text=True, env=env, timeout=120
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip() == "survived"


async def test_a_kept_value_reads_correctly_while_another_task_runs(lua):
    rt = lua.runtime
    kept = []
    rt.lua.globals()[b"keep"] = rt.natives({"f": lambda t: kept.append(rt.keep(t))})[b"f"]
    rt.lua.globals()[b"peek"] = rt.natives({"f": lambda: kept[0][b"answer"]})[b"f"]
    await lua.run("cru.spawn(function() keep({answer = 42}) end) cru.timer.sleep(0)")
    await lua.run("collectgarbage() collectgarbage()")
    # Read from Python inside a native while a task's coroutine runs: one value, not garbage.
    task = await lua.run("return peek()")
    assert task.state is TaskState.DONE
    assert task.results == (42,)


async def test_task_results_are_kept(lua):
    task = await lua.run("return {n = 1}, function() return 'called' end")
    await lua.run("collectgarbage() collectgarbage() local t = {} for i = 1, 100000 do t[i] = {} end")
    table, fn = task.results
    assert lua.runtime.anchor.is_safe(table) and lua.runtime.anchor.is_safe(fn)
    assert table[b"n"] == 1 and fn() == b"called"
