"""The engine: the Lua state, the sandbox, errors and tracebacks, yields, interrupts, memory."""

from __future__ import annotations

import asyncio
import threading

import pytest

from crucible_kernel.runtime import LuaSyntaxError, Runtime, TaskState

from .conftest import Lua, RecordingHost


def interrupt_later(runtime: Runtime, delay: float = 0.2) -> threading.Timer:
    """Interrupt from another thread, as the kernel's control channel does: a busy Lua loop
    never lets the event loop run a callback."""
    timer = threading.Timer(delay, runtime.interrupt)
    timer.start()
    return timer


# The Lua state -------------------------------------------------------------------------------------


async def test_the_state_is_lua_5_4_with_the_reference_standard_libraries(lua):
    assert await lua.eval("return _VERSION") == "Lua 5.4"
    libs = "coroutine table io os string utf8 math package debug"
    code = f"local out = {{}} for name in ('{libs}'):gmatch('%S+') do out[#out+1] = type(_G[name]) end "
    code += "return table.concat(out, ',')"
    assert await lua.eval(code) == ",".join(["table"] * 9)


async def test_lua_5_4_semantics_are_available(lua):
    code = """
        local log = {}
        do
          local x <close> = setmetatable({}, {__close = function() log[#log+1] = "closed" end})
        end
        return math.type(1), math.type(1.0), 7 // 2, 1 << 4, log[1]
    """
    assert await lua.eval(code) == ("integer", "float", 3, 16, "closed")


async def test_python_is_not_reachable_from_lua(lua):
    assert await lua.eval("return type(python), package.loaded.python") == ("nil", None)
    # The natives behind cru.* are upvalues of the runtime's Lua functions, which the debug
    # library does not show: neither they nor the raw pcall behind the wrapper can be fetched.
    code = """
        local seen = 0
        for _, f in ipairs({cru.timer.clock, cru.timer.timeout, print, pcall, cru.spawn}) do
          if debug.getupvalue(f, 1) ~= nil then seen = seen + 1 end
        end
        local own = 0
        local x = 1
        local function mine() return x end
        if debug.getupvalue(mine, 1) == "x" then own = own + 1 end
        return seen, own
    """
    assert await lua.eval(code) == (0, 1)


async def test_modules_are_the_same_tables_under_cru_and_crucible(lua):
    code = """
        local names = {"log", "timer", "spawn", "ratelimit", "json"}
        for _, n in ipairs(names) do
          if cru[n] == nil or not rawequal(cru[n], crucible[n]) then return n end
        end
        return "same"
    """
    assert await lua.eval(code) == "same"


async def test_api_functions_are_real_lua_functions(lua):
    code = """
        return type(cru.timer.sleep), type(cru.timer.clock), type(cru.spawn),
               type(cru.ratelimit.new), type(print), type(cru.log)
    """
    assert await lua.eval(code) == ("function",) * 5 + ("table",)


# Errors and tracebacks -----------------------------------------------------------------------------


async def test_an_uncaught_error_carries_a_traceback_naming_the_chunk_and_line(lua):
    error = await lua.error("local function f()\n  local t = nil\n  return t.x\nend\nf()")
    assert error.message == "test[1]:3: attempt to index a nil value (local 't')"
    assert "test[1]:3: in local 'f'" in error.traceback
    assert "test[1]:5: in main chunk" in error.traceback
    assert "crucible/" not in error.traceback


async def test_an_error_after_a_yield_still_has_its_traceback(lua):
    error = await lua.error("cru.timer.sleep(0.01)\nlocal function g() error('late') end\ng()")
    assert error.message == "test[1]:2: late"
    assert "test[1]:3: in main chunk" in error.traceback
    assert "crucible/" not in error.traceback


async def test_a_syntax_error_names_the_chunk_and_line(lua):
    with pytest.raises(LuaSyntaxError) as info:
        lua.runtime.load("x = = 1", "=cell[4]")
    assert info.value.message == "cell[4]:1: unexpected symbol near '='"


async def test_python_errors_reach_lua_as_catchable_errors(lua):
    async def failing(what):
        await asyncio.sleep(0)
        raise ValueError(f"bad {what.decode()}")

    wrap = lua.runtime.lua.eval(b"function(await, f) return function(...) return await(f(...)) end end")
    lua.runtime.lua.globals()[b"failing"] = wrap(lua.runtime.engine[b"await"], failing)
    ok, message = await lua.eval("local ok, m = pcall(failing, 'input') return ok, m")
    assert ok is False
    assert message == "test[1]:1: ValueError: bad input"
    # In a tail call no user frame is left to blame: no position rather than a wrong one.
    assert await lua.eval("return pcall(failing, 'tail')") == (False, "ValueError: bad tail")
    error = await lua.error("local x = 1\nfailing('thing')")
    assert error.message == "test[3]:2: ValueError: bad thing"


async def test_the_state_survives_an_error(lua):
    await lua.error("counter = 41\nerror('boom')")
    assert await lua.eval("counter = counter + 1 return counter") == 42


# Yields --------------------------------------------------------------------------------------------


async def test_yields_work_inside_pcall_and_xpcall(lua):
    code = """
        local ok1, v1 = pcall(function() cru.timer.sleep(0.01) return "p" end)
        local ok2, v2 = xpcall(function() cru.timer.sleep(0.01) error("x", 0) end,
                               function(e) return "handled " .. e end)
        return ok1, v1, ok2, v2
    """
    assert await lua.eval(code) == (True, "p", False, "handled x")


async def test_yields_work_inside_metamethods_and_iterators(lua):
    code = """
        local lazy = setmetatable({}, {__index = function(_, k) cru.timer.sleep(0.01) return k .. "!" end})
        local function slow_range(n)
          local i = 0
          return function() cru.timer.sleep(0.001) i = i + 1 if i <= n then return i end end
        end
        local sum = 0
        for i in slow_range(4) do sum = sum + i end
        return lazy.hello, sum
    """
    assert await lua.eval(code) == ("hello!", 10)


async def test_a_coroutine_wrap_generator_may_sleep(lua):
    code = """
        local gen = coroutine.wrap(function()
          for i = 1, 3 do cru.timer.sleep(0.01) coroutine.yield(i * 10) end
        end)
        return gen() + gen() + gen()
    """
    assert await lua.eval(code) == 60


async def test_nested_user_coroutines_forward_awaits_and_keep_their_own_yields(lua):
    code = """
        local inner = coroutine.create(function(a)
          cru.timer.sleep(0.01)
          local b = coroutine.yield(a + 1)
          cru.timer.sleep(0.01)
          return b * 2
        end)
        local outer = coroutine.wrap(function()
          local _, first = coroutine.resume(inner, 1)
          local _, second = coroutine.resume(inner, first + 10)
          return first, second, coroutine.status(inner)
        end)
        return outer()
    """
    assert await lua.eval(code) == (2, 24, "dead")


async def test_coroutine_wrap_errors_get_the_callers_position(lua):
    error = await lua.error("local g = coroutine.wrap(function() error('inside') end)\n\ng()")
    assert error.message == "test[1]:3: test[1]:1: inside"


async def test_a_bare_yield_at_the_top_of_a_task_lets_others_run(lua):
    code = """
        local seen = {}
        cru.spawn(function() seen[#seen + 1] = "other" end)
        coroutine.yield()
        return seen[1]
    """
    assert await lua.eval(code) == "other"


async def test_async_calls_fail_across_a_c_call_boundary(lua):
    error = await lua.error("table.sort({3, 1, 2}, function(a, b) cru.timer.sleep(0.01) return a < b end)")
    assert "attempt to yield across a C-call boundary" in error.message


async def test_async_from_synchronous_code_raises_unless_it_completes_at_once(lua):
    await lua.run("""
        function sync_sleep(s) cru.timer.sleep(s) return "slept" end
        function sync_acquire() local l = cru.ratelimit.new({capacity = 1}) l:acquire() return l:remaining() < 0.5 end
        function sync_timeout() return cru.timer.timeout(1, function() return "quick" end) end
    """)
    g = lua.runtime.lua.globals()
    call = lua.runtime.lua.eval(b"function(f, ...) return pcall(f, ...) end")
    assert call(g[b"sync_sleep"], 0.5) == (False, b"attempt to yield from outside a coroutine")
    assert call(g[b"sync_sleep"], 0) == (True, b"slept")
    assert call(g[b"sync_acquire"]) == (True, True)
    assert call(g[b"sync_timeout"]) == (True, True, b"quick")


async def test_two_sleeping_tasks_run_concurrently(lua):
    code = """
        local events = {}
        local function job(name, s)
          return function() events[#events+1] = "start " .. name; cru.timer.sleep(s); events[#events+1] = "end " .. name end
        end
        local a, b = cru.spawn(job("a", 0.3)), cru.spawn(job("b", 0.5))
        a:wait() b:wait()
        return table.concat(events, ", ")
    """
    assert await lua.eval(code) == "start a, start b, end a, end b"


# Interrupts ----------------------------------------------------------------------------------------


async def test_an_interrupt_stops_a_sleeping_chunk_and_runs_its_close_handlers(lua):
    lua.runtime.bind_loop()
    asyncio.get_running_loop().call_later(0.2, lua.runtime.interrupt)
    task = await lua.run("""
        closed = false
        local guard <close> = setmetatable({}, {__close = function() closed = true end})
        cru.timer.sleep(30)
    """)
    assert task.state is TaskState.CANCELLED
    assert task.stop == "interrupted"
    assert await lua.eval("return closed") is True


@pytest.mark.parametrize(
    "busy",
    [
        "while true do end",
        "local n = 0 while true do n = n + 1 end",
        "while true do pcall(function() while true do end end) end",
        "while true do xpcall(function() while true do end end, function(e) return e end) end",
        "local g = coroutine.wrap(function() while true do end end) g()",
        "while true do pcall(cru.timer.sleep, 0) end",
    ],
    ids=["empty", "counting", "pcall", "xpcall", "in-coroutine", "pcall-sleep"],
)
async def test_an_interrupt_stops_busy_lua(lua, busy):
    await lua.run("kept = 'still here'")
    timer = interrupt_later(lua.runtime)
    task = await lua.run(busy)
    timer.join()
    assert task.state is TaskState.CANCELLED
    assert task.stop == "interrupted"
    assert await lua.eval("return kept") == "still here"


async def test_an_interrupt_leaves_background_tasks_running(lua):
    await lua.run("bg = cru.spawn(function() cru.timer.sleep(0.4) return 'bg done' end)")
    timer = interrupt_later(lua.runtime, 0.1)
    task = await lua.run("cru.timer.sleep(30)")
    timer.join()
    assert task.stop == "interrupted"
    assert await lua.eval("return bg:wait()") == "bg done"


async def test_an_interrupt_stops_a_busy_background_task_while_idle(lua):
    # Once the hog runs it owns the thread; an interrupt from outside is the only way back.
    timer = interrupt_later(lua.runtime)
    await lua.run("hog = cru.spawn(function() while true do end end)")
    await asyncio.sleep(0.01)
    timer.join()
    assert await lua.eval("return hog:status()") == "cancelled"


async def test_pcall_cannot_swallow_a_cancellation(lua):
    code = """
        attempts = 0
        worker = cru.spawn(function()
          while true do
            attempts = attempts + 1
            pcall(cru.timer.sleep, 10)
          end
        end)
        cru.timer.sleep(0.05)
        return worker:cancel()
    """
    assert await lua.eval(code) is True
    await asyncio.sleep(0.05)
    assert await lua.eval("return worker:status(), attempts") == ("cancelled", 1)


# Memory --------------------------------------------------------------------------------------------


async def test_exceeding_the_memory_cap_is_a_lua_error_not_a_dead_process():
    host = RecordingHost()
    lua = Lua(Runtime(host, max_memory=64 * 1024 * 1024), host)
    grab = "local t = {} for i = 1, 1e8 do t[i] = ('x'):rep(64) .. i end"
    ok, message = await lua.eval(f"return pcall(function() {grab} end)")
    assert (ok, message) == (False, "not enough memory")
    error = await lua.error(grab)
    assert "not enough memory" in error.message
    assert await lua.eval("return 'alive'") == "alive"


async def test_the_memory_cap_can_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("CRUCIBLE_LUA_MAX_MEMORY", "48M")
    assert Runtime().max_memory == 48 * 1024 * 1024


# Guard rails: nothing crashes the process, nothing switches the interrupt check off -----------------

CORRUPT_BYTECODE = """
    local s = string.dump(function() return "k" end, true)
    local i = s:find("\\3\\0\\0\\0", 1, true)
    return s:sub(1, i - 1) .. "\\3\\128\\255\\255" .. s:sub(i + 4)
"""
REFUSED = "binary chunks are refused (precompiled Lua can crash the kernel); load the source text"


async def test_binary_chunks_are_refused_by_load_loadfile_dofile_and_require(lua, tmp_path):
    (tmp_path / "dumped.lua").write_bytes(b"")
    await lua.run(f"BAD = (function() {CORRUPT_BYTECODE} end)()")
    path = str(tmp_path / "dumped.lua")
    code = f"""
        local f = io.open({path!r}, "wb") f:write(BAD) f:close()
        package.path = {str(tmp_path / "?.lua")!r}
        local a, am = load(BAD, "=bad", "b")
        local b, bm = load(BAD)
        local c, cm = loadfile({path!r})
        local d, dm = pcall(dofile, {path!r})
        local e, em = pcall(require, "dumped")
        return am, bm, cm, dm, em, string.dump(print == print and function() end) ~= nil
    """
    am, bm, cm, dm, em, dump_works = await lua.eval(code)
    assert am == bm == cm == dm == REFUSED
    assert em == f"error loading module 'dumped' from file '{path}':\n\t{REFUSED}"
    assert dump_works is True
    with pytest.raises(LuaSyntaxError, match="binary chunks are refused"):
        lua.runtime.load(b"\x1bLua", "=cell[1]")


async def test_text_chunks_still_load_with_every_mode_and_environment(lua, tmp_path):
    (tmp_path / "mod.lua").write_text("return {name = ..., answer = 42}")
    code = f"""
        package.path = {str(tmp_path / "?.lua")!r}
        local env = {{x = 5}}
        local f = load("return x", "=chunk", "t", env)
        local g = load("return x", "=chunk", "bt", nil)
        local m = require("mod")
        local missing = select(2, pcall(require, "nope"))
        return f(), pcall(g), m.name, m.answer, missing:find("no file", 1, true) ~= nil,
               select("#", load("return 1")), select("#", load("return", "=x", "t", {{}}))
    """
    assert await lua.eval(code) == (5, False, "mod", 42, True, 1, 1)


async def test_chunk_names_of_the_runtime_are_reserved(lua):
    error = await lua.error("load('return 1', '=crucible/prelude.lua')")
    assert "reserved for the runtime" in error.message


async def test_no_userdata_can_get_another_metatable(lua):
    code = """
        local f = io.tmpfile()
        local results = {}
        results[1] = select(2, pcall(debug.setmetatable, f, debug.getregistry().POBJECT))
        results[2] = select(2, pcall(debug.setmetatable, cru.ratelimit.new({}), getmetatable(f)))
        results[3] = debug.getregistry().POBJECT == nil and debug.getregistry().LUPA_PYTHON_REFERENCES_TABLE == nil
        -- a finalizer of ours called by hand on a foreign userdata does nothing
        local limiter = cru.ratelimit.new({})
        getmetatable(limiter).__gc(f)
        results[4] = tostring(f):match("^file %(") ~= nil
        results[5] = debug.setmetatable(5, nil) == 5
        f:close()
        return table.unpack(results, 1, 5)
    """
    one, two, hidden, file_intact, numbers_ok = await lua.eval(code)
    assert "cannot change the metatable of a userdata" in one
    assert "cannot change the metatable of a userdata" in two
    assert hidden is True and file_intact is True and numbers_ok is True


async def test_the_registry_view_hides_the_hook_table_and_python_references(lua):
    code = """
        local r = debug.getregistry()
        local keys = {}
        for k in pairs(r) do keys[#keys + 1] = tostring(k) end
        table.sort(keys)
        local ok, err = pcall(function() r._HOOKKEY = {} end)
        return r._HOOKKEY == nil, r[3] == nil, r._LOADED == package.loaded, r[2] == _G, ok,
               table.concat(keys, ",")
    """
    no_hooks, no_refs, loaded, globals_, ok, keys = await lua.eval(code)
    assert (no_hooks, no_refs, loaded, globals_, ok) == (True, True, True, True, False)
    assert "_HOOKKEY" not in keys and "POBJECT" not in keys and "_LOADED" in keys


async def test_the_runtimes_own_upvalues_and_locals_are_out_of_reach(lua):
    code = """
        local results = {}
        results[1] = debug.getupvalue(pcall, 1) == nil and debug.getupvalue(print, 1) == nil
        results[2] = select(2, pcall(debug.setupvalue, pcall, 1, 0))
        local function mine() return results end
        results[3] = select(2, pcall(debug.upvaluejoin, mine, 1, pcall, 1))
        -- a user function called from the runtime's code cannot read that code's locals
        local seen = {}
        local e = cru.emitter.new()
        e:on("x", function()
          for level = 2, 6 do
            local name = debug.getlocal(level, 1)
            if name then seen[#seen + 1] = name end
          end
        end)
        e:emit("x")
        results[4] = table.concat(seen, ",")
        local a = "mine"
        results[5] = debug.getlocal(1, 2) -- this chunk's own locals still show
        return table.unpack(results, 1, 5)
    """
    hidden, set_err, join_err, seen, own = await lua.eval(code)
    assert hidden is True
    assert "cannot change the runtime's own functions" in set_err
    assert "cannot reach into the runtime's own functions" in join_err
    assert "self" not in seen.split(",") and "list" not in seen.split(",")
    assert own == "a" or own is not None


async def test_a_users_hook_runs_chained_behind_the_interrupt_check(lua):
    code = """
        local lines, where = 0, nil
        local function f()
          local x = 1
          x = x + 1
          return x
        end
        debug.sethook(function(event, line)
          lines = lines + 1
          if not where then where = debug.getinfo(2, "S").short_src end
        end, "l")
        f()
        local fn, mask, count = debug.gethook()
        debug.sethook()
        return lines > 2, where, mask, count, debug.gethook()
    """
    assert await lua.eval(code) == (True, "test[1]", "l", 0, None)


@pytest.mark.parametrize(
    "busy",
    [
        "debug.sethook() while true do end",
        "debug.sethook(function() end, '', 1) while true do end",
        "debug.sethook(function() end, 'l') while true do end",
        "local h = debug.gethook() while true do end",
        "local co = coroutine.running() debug.sethook(co) while true do end",
        "load(function() while true do end end)",
        "while true do pcall(coroutine.close, coroutine.create(function() end)) end",
    ],
    ids=["sethook-off", "count-hook", "line-hook", "gethook", "sethook-thread", "load-reader", "close"],
)
async def test_an_interrupt_stops_busy_lua_whatever_the_hooks(lua, busy):
    timer = interrupt_later(lua.runtime)
    task = await lua.run(busy)
    timer.join()
    assert task.state is TaskState.CANCELLED and task.stop == "interrupted"


async def test_a_second_interrupt_stops_a_looping_close_handler(lua):
    timers = [interrupt_later(lua.runtime, 0.2), interrupt_later(lua.runtime, 0.5)]
    task = await lua.run("""
        closing = false
        local guard <close> = setmetatable({}, {__close = function() closing = true while true do end end})
        while true do end
    """)
    for t in timers:
        t.join()
    assert task.stop == "interrupted"
    assert await lua.eval("return closing") is True


async def test_interrupts_are_not_lost_between_two_steps(lua):
    # An interrupt that arrives while no Lua runs still stops the foreground task when it next
    # computes, even if it never waits again.
    await lua.run("x = 0")
    lua.runtime.bind_loop()
    task = lua.start("cru.timer.sleep(0) while true do end")
    lua.runtime.interrupt()
    await task.wait()
    assert task.stop == "interrupted"


def rss_mib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    raise KeyError("VmRSS")


async def test_closing_a_runtime_gives_its_memory_back_every_time():
    # The natives are bound methods of the runtime held by the Lua state: without an explicit
    # teardown every closed runtime kept its heap.
    before = rss_mib()
    for _ in range(3):
        host = RecordingHost()
        lua = Lua(Runtime(host), host)
        await lua.run(
            "big = {} for i = 1, 1e7 do big[i] = i end small = {} for i = 1, 2e5 do small[i] = {i} end"
        )
        assert rss_mib() > before + 100
        await lua.runtime.aclose()
        del lua
        assert rss_mib() <= before * 1.1


def test_a_cleaned_traceback_shows_pcall_as_plain_lua_does():
    from crucible_kernel.runtime.errors import clean_traceback

    raw = (
        "cell[2]:8: lost it\n"
        "stack traceback:\n"
        "\t[C]: in function 'error'\n"
        "\tcell[2]:8: in function <cell[2]:4>\n"
        "\t[C]: in upvalue 'raw_xpcall'\n"
        "\tcrucible/prelude.lua:102: in function 'xpcall'\n"
        "\tcell[2]:12: in main chunk"
    )
    assert clean_traceback(raw) == (
        "cell[2]:8: lost it\n"
        "stack traceback:\n"
        "\t[C]: in function 'error'\n"
        "\tcell[2]:8: in function <cell[2]:4>\n"
        "\t[C]: in function 'xpcall'\n"
        "\tcell[2]:12: in main chunk"
    )
