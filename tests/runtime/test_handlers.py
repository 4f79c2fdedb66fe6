"""crucible.on / cru.on: runtime hooks by Crucible's event names (reference §3.16)."""

from __future__ import annotations

import pytest

from crucible_kernel.runtime import handlers
from crucible_kernel.runtime.handlers import HOOK_NAMES


def set_owner(lua, owner: str | None) -> None:
    lua.runtime.engine[b"current_owner"] = lua.runtime.lua.eval(f"function() return {owner!r} end")


async def test_on_is_one_function_under_both_namespaces(lua):
    assert await lua.eval("return type(crucible.on), rawequal(crucible.on, cru.on)") == ("function", True)


async def test_every_reference_name_registers(lua):
    names = ", ".join(f'"{n}"' for n in HOOK_NAMES)
    await lua.run(f"for _, n in ipairs({{{names}}}) do crucible.on(n, function() end) end")
    registered = handlers.of(lua.runtime).handlers
    assert [h.event for h in registered] == list(HOOK_NAMES)
    assert len(HOOK_NAMES) == 19


async def test_options_give_a_pattern_and_a_priority(lua):
    await lua.run(
        """
        crucible.on("pre_tool_call", {pattern = "bash", priority = 50}, function() end)
        crucible.on("pre_tool_call", {priority = "10"}, function() end)
        crucible.on("pre_tool_call", {pattern = 5, priority = "high"}, function() end)
        crucible.on("pre_tool_call", function() end)
        """
    )
    registered = handlers.of(lua.runtime).handlers
    assert [(h.pattern, h.priority) for h in registered] == [
        ("bash", 50),
        (None, 10),
        ("5", 100),
        (None, 100),
    ]


async def test_matching_orders_by_priority_and_filters_by_glob(lua):
    await lua.run(
        """
        crucible.on("pre_tool_call", {pattern = "read_*", priority = 50}, function() end)
        crucible.on("pre_tool_call", {priority = 10}, function() end)
        crucible.on("pre_tool_call", {pattern = "bash"}, function() end)
        crucible.on("tool_result", function() end)
        """
    )
    registry = handlers.of(lua.runtime)
    assert [h.id for h in registry.matching("pre_tool_call", "read_file")] == [2, 1]
    assert [h.id for h in registry.matching("pre_tool_call", "bash")] == [2, 3]
    assert [h.id for h in registry.matching("pre_tool_call")] == [2]  # a pattern needs a subject


async def test_dispatch_calls_handlers_in_order_as_tasks(lua, host):
    await lua.run(
        """
        seen = {}
        crucible.on("note:created", {priority = 20}, function(ctx, event)
          cru.timer.sleep(0)   -- a handler may wait
          seen[#seen + 1] = "second " .. event.path
          return "b"
        end)
        crucible.on("note:created", {priority = 5}, function(ctx, event)
          seen[#seen + 1] = "first " .. ctx.session_id
          return "a"
        end)
        crucible.on("note:created", {priority = 30}, function() error("broken") end)
        """
    )
    results = await handlers.of(lua.runtime).dispatch("note:created", {"session_id": "s1"}, {"path": "x.md"})
    assert results == [b"a", b"b", None]
    assert await lua.eval("return table.concat(seen, ', ')") == "first s1, second x.md"
    assert host.logs[-1][0] == "warn"
    assert host.logs[-1][1].startswith("handler error on 'note:created': test[1]:12: broken")


async def test_an_unknown_name_raises_with_a_suggestion(lua):
    error = await lua.error('crucible.on("pre_toolcall", function() end)')
    assert (
        error.message
        == "test[1]:1: crucible.on: unknown event `pre_toolcall` — did you mean `pre_tool_call`?"
    )
    error = await lua.error('cru.on("note:create", function() end)')
    assert error.message.endswith("did you mean `note:created`?")
    assert handlers.of(lua.runtime).handlers == []


async def test_a_name_nothing_resembles_gets_the_whole_list(lua):
    error = await lua.error('crucible.on("on_everything_please", function() end)')
    assert error.message.startswith(
        "test[1]:1: crucible.on: unknown event `on_everything_please`. Valid: FileChanged,"
    )
    assert "pre_tool_call" in error.message and "tool:display_complete" in error.message


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            'crucible.on("pre_tool_call")',
            "crucible.on requires at least 2 arguments: (event_type, handler) or (event_type, opts, handler)",
        ),
        ("crucible.on(5, function() end)", "crucible.on: first argument must be a string (event type)"),
        (
            'crucible.on("pre_tool_call", 5)',
            "crucible.on: second argument must be a function or options table",
        ),
        (
            'crucible.on("pre_tool_call", {})',
            "crucible.on: when second argument is a table, third argument must be the handler function",
        ),
        ('crucible.on("pre_tool_call", {}, 5)', "crucible.on: third argument must be a function"),
        ('crucible.on("typo", 5)', "crucible.on: unknown event `typo`. Valid: " + ", ".join(HOOK_NAMES)),
    ],
)
async def test_bad_calls_raise(lua, call, message):
    assert (await lua.error(call)).message == f"test[1]:1: {message}"


async def test_handlers_carry_their_owner_and_go_with_it(lua):
    set_owner(lua, "plugin:a")
    await lua.run('crucible.on("pre_tool_call", function() end) crucible.on("tool_result", function() end)')
    set_owner(lua, "plugin:b")
    await lua.run('crucible.on("pre_tool_call", function() end)')
    set_owner(lua, None)
    await lua.run('crucible.on("pre_tool_call", function() end)')
    registry = handlers.of(lua.runtime)
    assert registry.count_owner("plugin:a") == 2
    assert registry.unregister_owner("plugin:a") == 2
    assert [h.owner for h in registry.handlers] == ["plugin:b", None]
    assert registry.unregister_owner("plugin:a") == 0
