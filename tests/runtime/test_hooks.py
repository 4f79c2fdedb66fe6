"""crucible.on_session_start / on_session_end and the firing API the session service calls."""

from __future__ import annotations

import asyncio

import pytest

from crucible_kernel.runtime import hooks
from crucible_kernel.runtime.hooks import SessionRefused


def set_owner(lua, owner: str | None) -> None:
    lua.runtime.engine[b"current_owner"] = lua.runtime.lua.eval(f"function() return {owner!r} end")


async def test_the_hooks_live_on_crucible_only(lua):
    assert await lua.eval(
        "return type(crucible.on_session_start), type(crucible.on_session_end), cru.on_session_start"
    ) == (
        "function",
        "function",
        None,
    )


async def test_start_hooks_run_in_order_with_the_session_and_may_wait(lua):
    await lua.run(
        """
        seen = {}
        crucible.on_session_start(function(s) cru.timer.sleep(0.01) seen[#seen + 1] = "a " .. s.id end)
        crucible.on_session_start(function(s) seen[#seen + 1] = "b " .. s.workspace end)
        """
    )
    await hooks.of(lua.runtime).fire_session_start({"id": "chat-1", "workspace": "/w"})
    assert await lua.eval("return table.concat(seen, ', ')") == "a chat-1, b /w"


async def test_a_session_value_from_lua_is_passed_as_it_is(lua):
    await lua.run("crucible.on_session_end(function(s) got = s end) session = {id = 'x'}")
    session = lua.runtime.lua.globals()[b"session"]
    await hooks.of(lua.runtime).fire_session_end(session)
    assert await lua.eval("return rawequal(got, session)") is True


async def test_a_failing_hook_is_logged_and_the_others_still_run(lua, host):
    await lua.run(
        """
        ran = 0
        crucible.on_session_start(function() error("no container runtime") end)
        crucible.on_session_start(function() ran = ran + 1 end)
        """
    )
    await hooks.of(lua.runtime).fire_session_start({"id": "s"})
    assert await lua.eval("return ran") == 1
    level, message = host.logs[-1]
    assert level == "error"
    assert message.startswith("Session start hook failed: test[1]:3: no container runtime")


async def test_a_failing_required_hook_refuses_the_session(lua, host):
    await lua.run(
        """
        ran = 0
        crucible.on_session_start(function() error("sandbox broken") end, {required = true})
        crucible.on_session_start(function() ran = ran + 1 end)
        crucible.on_session_start(function() error("cosmetic") end, {required = false})
        crucible.on_session_start(function() error("also required") end, {required = true})
        """
    )
    with pytest.raises(SessionRefused) as refused:
        await hooks.of(lua.runtime).fire_session_start({"id": "s"})
    assert str(refused.value) == (
        "session_start hook(s) failed: test[1]:3: sandbox broken; test[1]:6: also required"
    )
    assert await lua.eval("return ran") == 1  # every hook ran before the refusal
    assert sum(1 for level, _ in host.logs if level == "error") == 3


async def test_required_must_be_exactly_true(lua):
    await lua.run('crucible.on_session_start(function() error("x") end, {required = "yes"})')
    await hooks.of(lua.runtime).fire_session_start({"id": "s"})  # not refused


async def test_end_hooks_never_raise(lua, host):
    await lua.run("crucible.on_session_end(function() error('cleanup failed') end)")
    await hooks.of(lua.runtime).fire_session_end({"id": "s"})
    assert host.logs[-1][1].startswith("Session end hook failed: test[1]:1: cleanup failed")


async def test_cancelling_a_fire_stops_the_running_hook(lua):
    await lua.run(
        """
        closed = false
        crucible.on_session_start(function()
          local guard <close> = setmetatable({}, {__close = function() closed = true end})
          cru.timer.sleep(60)
        end)
        """
    )
    firing = asyncio.ensure_future(hooks.of(lua.runtime).fire_session_start({"id": "s"}))
    await asyncio.sleep(0.05)
    firing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await firing
    for _ in range(50):
        await asyncio.sleep(0)
    assert await lua.eval("return closed") is True
    assert lua.runtime.live_tasks(["hook"]) == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            "crucible.on_session_start('f')",
            "bad argument #1 to 'on_session_start' (function expected, got string)",
        ),
        (
            "crucible.on_session_start(function() end, 5)",
            "bad argument #2 to 'on_session_start' (table expected, got number)",
        ),
        ("crucible.on_session_end()", "bad argument #1 to 'on_session_end' (function expected, got nil)"),
    ],
)
async def test_bad_arguments_raise(lua, call, message):
    assert (await lua.error(call)).message == f"test[1]:1: {message}"


async def test_hooks_carry_their_owner_and_go_with_it(lua):
    set_owner(lua, "plugin:oci")
    await lua.run(
        "crucible.on_session_start(function() error('x') end, {required = true}) crucible.on_session_end(function() end)"
    )
    set_owner(lua, None)
    await lua.run("crucible.on_session_end(function() end)")
    registry = hooks.of(lua.runtime)
    assert registry.count_owner("plugin:oci") == 2
    assert registry.unregister_owner("plugin:oci") == 2
    assert (len(registry.start), len(registry.end)) == (0, 1)
    await registry.fire_session_start({"id": "s"})  # the required hook went with its owner
