"""Ownership: every registration carries engine.current_owner(), and one call removes all that an
owner registered (what re-running a cell and reloading a plugin will do)."""

from __future__ import annotations

import pytest

from crucible_kernel.runtime import context, handlers, hooks, owners, publish, schedule, status
from crucible_kernel.runtime.owners import Registrations

REGISTER_EVERYTHING = """
    crucible.on("pre_tool_call", function() end)
    crucible.on_session_start(function() end, {required = true})
    crucible.on_session_end(function() end)
    cru.schedule(60, function() end)
    crucible.publish("isolation", {available = true})
    crucible.options({args = {}})
    crucible.set_status{session = "s1", key = "k", text = "t"}
    cru.context.register_validator("v", function() return true end)
    cru.emitter.global():on("event", function() end)
"""


async def test_current_owner_is_nil_until_something_tracks_one(lua):
    assert lua.runtime.engine[b"current_owner"]() is None
    await lua.run('crucible.on("tool_result", function() end)')
    assert handlers.of(lua.runtime).handlers[0].owner is None


async def test_every_owned_registry_is_listed(lua):
    assert owners.registrations(lua.runtime).names() == [
        "session_hooks",
        "emitters",
        "schedules",
        "statuses",
        "handlers",
        "publications",
        "options",
        "validators",
    ]


async def test_unregister_owner_removes_what_one_owner_registered_everywhere(lua):
    rt = lua.runtime
    rt.engine[b"current_owner"] = rt.lua.eval("function() return current end")
    await lua.run("current = 'cell:1'\n" + REGISTER_EVERYTHING)
    await lua.run(
        "current = 'plugin:other'\n" + REGISTER_EVERYTHING.replace('"k"', '"k2"').replace('"v"', '"v2"')
    )
    regs = owners.registrations(rt)
    everything = {
        "session_hooks": 2,
        "schedules": 1,
        "statuses": 1,
        "handlers": 1,
        "publications": 1,
        "options": 1,
        "validators": 1,
        "emitters": 1,
    }
    assert regs.owned("cell:1") == everything
    assert regs.unregister_owner("cell:1") == everything
    assert regs.owned("cell:1") == {}
    assert regs.owned("plugin:other") == everything  # the other owner keeps all of its own
    assert regs.unregister_owner("cell:1") == dict.fromkeys(everything, 0)
    # and what is left works: no refusal from the removed required hook, the other's is there
    assert [h.owner for h in hooks.of(rt).start] == ["plugin:other"]
    assert [h.owner for h in handlers.of(rt).handlers] == ["plugin:other"]
    assert [e.owner for e in schedule.of(rt).schedules.values()] == ["plugin:other"]
    assert publish.publications_of(rt).get("isolation") == [("plugin:other", {"available": True})]
    assert publish.options_of(rt).owners() == ["plugin:other"]
    assert [k for k, _ in status.of(rt).get("s1")] == ["k2"]
    assert list(context.of(rt).validators.validators) == ["v2"]


async def test_running_the_same_registrations_again_after_removal_does_not_double_them(lua):
    rt = lua.runtime
    rt.engine[b"current_owner"] = rt.lua.eval("function() return 'cell:x' end")
    regs = owners.registrations(rt)
    for _ in range(3):  # what re-running a cell will do
        regs.unregister_owner("cell:x")
        await lua.run(REGISTER_EVERYTHING)
    assert regs.owned("cell:x")["handlers"] == 1
    assert regs.owned("cell:x")["session_hooks"] == 2
    assert regs.owned("cell:x")["schedules"] == 1


async def test_unowned_registrations_are_owner_none(lua):
    await lua.run(REGISTER_EVERYTHING)
    regs = owners.registrations(lua.runtime)
    assert regs.owned(None)["handlers"] == 1
    assert regs.unregister_owner(None)["schedules"] == 1


async def test_a_failing_registry_does_not_stop_the_others():
    class Broken:
        def unregister_owner(self, owner):
            raise RuntimeError("broken")

        def count_owner(self, owner):
            return 0

    class Fine:
        removed = False

        def unregister_owner(self, owner):
            Fine.removed = True
            return 1

        def count_owner(self, owner):
            return 1

    regs = Registrations()
    regs.add("broken", Broken())
    regs.add("fine", Fine())
    with pytest.raises(RuntimeError, match="broken"):
        regs.unregister_owner("x")
    assert Fine.removed
    with pytest.raises(ValueError, match="already registered"):
        regs.add("fine", Fine())
    with pytest.raises(TypeError, match="no unregister_owner"):
        regs.add("config", object())
    regs.add("config", object(), owned=False)
    assert regs.names() == ["broken", "fine"]


async def test_owners_from_lua_must_be_strings(lua):
    rt = lua.runtime
    rt.engine[b"current_owner"] = rt.lua.eval("function() return {} end")
    error = await lua.error('crucible.on("pre_tool_call", function() end)')
    assert "an owner is a string or nil" in error.message


async def test_tasks_inherit_the_owner_of_the_code_that_started_them(lua):
    rt = lua.runtime
    with owners.owned_by("cell:inherit"):
        await lua.run(
            """
            child = cru.spawn(function()
              crucible.on("tool_result", function() end)
              cru.timer.sleep(60)
            end)
            cru.timer.sleep(0)
            """
        )
    regs = owners.registrations(rt)
    assert regs.owned("cell:inherit") == {"handlers": 1}  # registered by the spawned task
    assert [t.kind for t in regs.tasks_of(rt, "cell:inherit")] == ["spawn"]
    removed = await regs.release(rt, "cell:inherit")
    assert removed["tasks"] == 1 and removed["handlers"] == 1
    assert await lua.eval("return child:status()") == "cancelled"
    assert regs.owned("cell:inherit") == {}
