"""cru.emitter: ids, ordering, removal during emit, once, owners and failing handlers (§3.11)."""

from __future__ import annotations

import re


def line_of(code: str, marker: str) -> int:
    """The 1-based line of `code` that contains `marker`."""
    return next(i for i, line in enumerate(code.split("\n"), 1) if marker in line)


async def test_the_contract_example_logs_the_message(lua):
    code = """
        local events = cru.emitter.new()
        events:on("message", function(data)
        cru.log("info", "Got message: " .. data.content)
        end)
        events:emit("message", { content = "Hello" })
    """
    await lua.run(code)
    assert lua.host.logs == [("info", "Got message: Hello")]


async def test_handlers_fire_in_registration_order_with_the_arguments_but_not_the_event(lua):
    code = """
        local em, seen = cru.emitter.new(), {}
        em:on("e", function(...)
            seen[#seen + 1] = "a:" .. select("#", ...) .. ":" .. table.concat({...}, ",")
        end)
        em:on("e", function(x, y) seen[#seen + 1] = "b:" .. x .. y end)
        em:on("other", function() seen[#seen + 1] = "other" end)
        em:on("e", function(x) seen[#seen + 1] = "c:" .. x end)
        em:emit("e", "1", "2")
        return table.concat(seen, " ")
    """
    assert await lua.eval(code) == "a:2:1,2 b:12 c:1"


async def test_emit_returns_nothing_and_ignores_what_handlers_return(lua):
    code = """
        local em = cru.emitter.new()
        em:on("e", function() return 1, 2 end)
        return select("#", em:emit("e")), select("#", em:emit("nobody")), select("#", em:emit_async("e"))
    """
    assert await lua.eval(code) == (0, 0, 0)


async def test_ids_are_per_event_start_at_one_and_are_not_reused_after_off(lua):
    code = """
        local em = cru.emitter.new()
        local a1, a2 = em:on("a", print), em:on("a", print)
        local b1 = em:on("b", print)
        em:off("a", a2)
        local a3 = em:on("a", print)
        return a1, a2, b1, a3, em:count("a")
    """
    assert await lua.eval(code) == (1, 2, 1, 3, 2)


async def test_off_all_for_one_event_restarts_its_ids_and_keeps_the_others(lua):
    code = """
        local em = cru.emitter.new()
        em:on("a", print) em:on("a", print) em:on("b", print)
        em:off_all("a")
        return em:count("a"), em:count("b"), em:on("a", print), em:on("b", print)
    """
    assert await lua.eval(code) == (0, 1, 1, 2)


async def test_off_all_without_an_event_and_remove_all_drop_every_handler(lua):
    code = """
        local em = cru.emitter.new()
        em:on("a", print) em:on("b", print)
        em:off_all()
        local after_off_all = em:count("a") + em:count("b")
        em:on("a", print) em:on("b", print)
        em:remove_all()
        local after_remove_all = em:count("a") + em:count("b")
        em:on("a", print) em:on("b", print)
        em:remove_all("a")
        return after_off_all, after_remove_all, em:count("a"), em:count("b"), em.remove_all == em.off_all
    """
    assert await lua.eval(code) == (0, 0, 0, 1, True)


async def test_off_of_an_unknown_event_or_id_does_nothing(lua):
    code = """
        local em = cru.emitter.new()
        em:off("nothing", 1)
        em:on("a", print)
        em:off("a", 7)
        return em:count("a"), em:count("nothing")
    """
    assert await lua.eval(code) == (1, 0)


async def test_a_handler_removed_during_emit_is_skipped(lua):
    code = """
        local em, seen = cru.emitter.new(), {}
        local second
        em:on("e", function() seen[#seen + 1] = "first" em:off("e", second) end)
        second = em:on("e", function() seen[#seen + 1] = "second" end)
        em:on("e", function() seen[#seen + 1] = "third" end)
        em:emit("e")
        return table.concat(seen, " ")
    """
    assert await lua.eval(code) == "first third"


async def test_a_handler_added_during_emit_is_called_only_by_the_next_emit(lua):
    code = """
        local em, seen = cru.emitter.new(), {}
        local added = false
        em:on("e", function()
            seen[#seen + 1] = "old"
            if not added then
                added = true
                em:on("e", function() seen[#seen + 1] = "new" end)
            end
        end)
        em:emit("e")
        seen[#seen + 1] = "|"
        em:emit("e")
        return table.concat(seen, " ")
    """
    assert await lua.eval(code) == "old | old new"


async def test_once_runs_a_handler_one_time_and_removes_it_before_calling_it(lua):
    code = """
        local em, calls, count_inside = cru.emitter.new(), 0, nil
        local id = em:once("e", function(x) calls = calls + x count_inside = em:count("e") end)
        em:emit("e", 5)
        em:emit("e", 7)
        return id, calls, count_inside, em:count("e")
    """
    assert await lua.eval(code) == (1, 5, 0, 0)


async def test_a_once_handler_that_fails_is_still_removed(lua):
    code = """
        local em, calls = cru.emitter.new(), 0
        em:once("e", function() calls = calls + 1 error("bad") end)
        em:emit("e")
        em:emit("e")
        return calls, em:count("e")
    """
    assert await lua.eval(code) == (1, 0)
    assert len([level for level, _ in lua.host.logs if level == "warn"]) == 1


async def test_count_counts_only_live_handlers(lua):
    code = """
        local em = cru.emitter.new()
        local ids = {}
        for i = 1, 4 do ids[i] = em:on("e", print) end
        em:off("e", ids[2])
        em:off("e", ids[4])
        return em:count("e"), em:count("none")
    """
    assert await lua.eval(code) == (2, 0)


async def test_unregister_owner_removes_only_that_owners_handlers_on_every_event(lua):
    code = """
        local em, seen = cru.emitter.new(), {}
        em:on("a", function() seen[#seen + 1] = "a-mine" end, "mine")
        em:on("a", function() seen[#seen + 1] = "a-theirs" end, "theirs")
        em:on("a", function() seen[#seen + 1] = "a-nobody" end)
        em:once("b", function() seen[#seen + 1] = "b-mine" end, "mine")
        em:on("b", function() seen[#seen + 1] = "b-theirs" end, "theirs")
        em:unregister_owner("mine")
        em:emit("a")
        em:emit("b")
        return table.concat(seen, " "), em:count("a"), em:count("b")
    """
    assert await lua.eval(code) == ("a-theirs a-nobody b-theirs", 2, 1)


async def test_a_failing_handler_is_logged_and_does_not_stop_the_others(lua):
    code = """
        local em, seen = cru.emitter.new(), {}
        em:on("msg", function() seen[#seen + 1] = "before" end)
        em:on("msg", function() error("boom") end) -- fails
        em:on("msg", function() seen[#seen + 1] = "after" end)
        em:emit("msg")
        return table.concat(seen, " ")
    """
    assert await lua.eval(code) == "before after"
    [(level, message)] = lua.host.logs
    assert level == "warn"
    line = line_of(code, "-- fails")
    assert re.fullmatch(rf"emitter handler error on 'msg': test\[\d+\]:{line}: boom", message)


async def test_cru_log_is_looked_up_when_a_handler_fails(lua):
    code = """
        local logged = {}
        local em = cru.emitter.new()
        em:on("e", function() error({}) end)
        cru.log = function(level, message) logged[#logged + 1] = level .. "|" .. message end
        em:emit("e")
        return #logged, logged[1]
    """
    count, entry = await lua.eval(code)
    assert count == 1
    assert re.fullmatch(r"warn\|emitter handler error on 'e': table: 0x[0-9a-f]+", entry)


async def test_failures_are_reported_to_cru_errors_capture_with_owner_and_context(lua):
    code = """
        local captured = {}
        cru.errors._capture = function(...) captured[#captured + 1] = table.concat({...}, "|") end
        local em = cru.emitter.new()
        em:on("e", function() error("x", 0) end, "my-plugin")
        em:on("e", function() error("y", 0) end)
        em:emit("e")
        em:emit_async("e")
        return table.unpack(captured)
    """
    assert await lua.eval(code) == (
        "my-plugin|x|emitter:emit('e')",
        "unknown|y|emitter:emit('e')",
        "my-plugin|x|emitter:emit_async('e')",
        "unknown|y|emitter:emit_async('e')",
    )


async def test_emit_async_calls_handlers_before_it_returns(lua):
    code = """
        local em, seen = cru.emitter.new(), {}
        em:on("e", function(x) seen[#seen + 1] = x end)
        em:on("e", function() error("bad") end)
        em:on("e", function(x) seen[#seen + 1] = x * 2 end)
        em:emit_async("e", 21)
        return table.concat(seen, " ")
    """
    assert await lua.eval(code) == "21 42"
    assert [level for level, _ in lua.host.logs] == ["warn"]


async def test_a_failing_handler_of_an_event_that_is_not_a_string_makes_emit_raise(lua):
    code = """
        local em, key = cru.emitter.new(), {}
        em:on(key, function() error("bad") end)
        em:emit(key)
    """
    err = await lua.error(code)
    assert "attempt to concatenate" in err.message


async def test_numbers_are_event_names_too(lua):
    code = """
        local em, got = cru.emitter.new(), nil
        em:on(42, function(v) got = v end)
        em:on(42, function() error("bad", 0) end)
        em:emit(42, "answer")
        return got
    """
    assert await lua.eval(code) == "answer"
    assert lua.host.logs == [("warn", "emitter handler error on '42': bad")]


async def test_global_returns_one_shared_emitter_and_new_returns_fresh_ones(lua):
    code = """
        local g = cru.emitter.global()
        local a, b = cru.emitter.new(), cru.emitter.new()
        return rawequal(g, cru.emitter.global()), rawequal(g, crucible.emitter.global()),
               rawequal(a, b), rawequal(a, g)
    """
    assert await lua.eval(code) == (True, True, False, False)


async def test_the_global_emitter_survives_between_cells(lua):
    await lua.run('cru.emitter.global():on("tick", function(n) TICKED = n end)')
    assert await lua.eval('cru.emitter.global():emit("tick", 3) return TICKED') == 3


async def test_handlers_can_yield(lua):
    code = """
        local em, seen = cru.emitter.new(), {}
        em:on("e", function(x) cru.timer.sleep(0.01) seen[#seen + 1] = x end)
        em:on("e", function(x) cru.timer.sleep(0.01) seen[#seen + 1] = x + 1 end)
        em:emit("e", 1)
        return table.concat(seen, " ")
    """
    assert await lua.eval(code) == "1 2"
    assert lua.host.logs == []


async def test_cancelling_a_task_inside_a_handler_stops_it_and_is_not_logged(lua):
    code = """
        local em, seen = cru.emitter.new(), {}
        em:on("e", function() seen[#seen + 1] = "sleeping" cru.timer.sleep(10) seen[#seen + 1] = "woke" end)
        em:on("e", function() seen[#seen + 1] = "second" end)
        local h = cru.spawn(function()
            em:emit("e")
            seen[#seen + 1] = "emitted"
        end)
        cru.timer.sleep(0.02)
        h:cancel()
        pcall(function() h:wait() end)
        cru.timer.sleep(0.02)
        return table.concat(seen, " "), h:status()
    """
    assert await lua.eval(code) == ("sleeping", "cancelled")
    assert lua.host.logs == []
