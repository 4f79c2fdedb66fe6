"""inspect_request content and pager text (crucible_kernel/kernel/inspection.py)."""

from __future__ import annotations

import pytest

import tests.runtime.conftest as runtime_fixtures
from crucible_kernel.kernel.docs import public_functions
from crucible_kernel.kernel.inspection import inspect, pager_data

host = runtime_fixtures.host
lua = runtime_fixtures.lua


async def plain(rt, code, cursor=None, detail=0, sources=None):
    reply = await inspect(rt, code, len(code) if cursor is None else cursor, detail, sources)
    assert reply["found"], f"nothing found for {code!r}"
    return reply["data"]["text/plain"]


async def test_a_cru_function_shows_signature_description_parameters_and_that_it_yields(lua):
    reply = await inspect(lua.runtime, "cru.timer.sleep", 15)
    assert reply["status"] == "ok" and reply["found"] is True and reply["metadata"] == {}
    text = reply["data"]["text/plain"]
    assert text.startswith("cru.timer.sleep(seconds)\n")
    assert "Suspends the calling task" in text
    assert "seconds (number)" in text
    assert "Returns: nothing" in text
    assert "Yields: yes" in text
    assert "Module: cru.timer" in text
    assert "Defined at" not in text and "crucible/" not in text
    markdown = reply["data"]["text/markdown"]
    assert markdown.startswith("```lua\ncru.timer.sleep(seconds)\n```")
    assert "**Yields:** yes" in markdown


async def test_a_runtime_function_reached_another_way_names_its_cru_module(lua):
    await lua.run("enc = cru.json.encode\ncodec = {pack = cru.json.encode}")
    assert "Module: cru.json" in await plain(lua.runtime, "enc")
    assert "Module: cru.json" in await plain(lua.runtime, "codec.pack")
    assert "Module: crucible.timer" in await plain(lua.runtime, "crucible.timer.sleep")


async def test_help_on_every_public_function_names_no_runtime_file_or_spec_section(lua):
    # What help shows must mean something to a user: never where the runtime keeps a function
    # (crucible/json.lua:398), a Python module, or a section of a document the user does not have.
    paths = [path for path, _ in public_functions(lua.runtime)]
    assert len(paths) > 100
    for path in paths:
        if ":" in path:
            continue  # methods of objects reachable from cru: their help goes through the object
        text = await plain(lua.runtime, path)
        for bad in ("crucible/", "Defined at", "§", "reference", ".py"):
            assert bad not in text, f"?{path} shows {bad!r}:\n{text}"
    for name in ("cru", "cru.json", "cru.oq", "cru.sessions", "cru.display", "cru.graph"):
        text = await plain(lua.runtime, name)
        for bad in ("crucible/", "§", "reference", ".py"):
            assert bad not in text, f"?{name} shows {bad!r}:\n{text}"


async def test_a_cru_function_that_does_not_yield_says_so(lua):
    text = await plain(lua.runtime, "cru.ratelimit.new")
    assert text.startswith("cru.ratelimit.new(opts)\n")
    assert "Creates a token-bucket rate limiter." in text
    assert "Returns:\n  RateLimiter" in text
    assert "Yields: no" in text


async def test_the_crucible_namespace_shows_the_same_documentation(lua):
    text = await plain(lua.runtime, "crucible.timer.sleep")
    assert text.startswith("crucible.timer.sleep(seconds)\n")
    assert "Yields: yes" in text


async def test_methods_of_objects_are_documented_through_their_metatable(lua):
    await lua.run("limiter = cru.ratelimit.new({capacity = 1})\nhandle = cru.spawn(function() end)")
    text = await plain(lua.runtime, "limiter:acquire")
    assert text.startswith("limiter:acquire()\n")
    assert "Yields: yes" in text
    assert "Yields: no" in await plain(lua.runtime, "limiter:try_acquire")
    wait = await plain(lua.runtime, "handle:wait")
    assert wait.startswith("handle:wait()\n") and "Yields: yes" in wait
    assert (await plain(lua.runtime, "limiter.acquire")).startswith("limiter.acquire(self)\n")


async def test_a_callable_table_shows_its_call_signature(lua):
    text = await plain(lua.runtime, "cru.log")
    assert text.startswith("cru.log(level, message)\n")
    assert "level (string)" in text


async def test_the_call_around_the_cursor_is_inspected(lua):
    rt = lua.runtime
    assert (await plain(rt, "cru.timer.sleep(")).startswith("cru.timer.sleep(seconds)")
    code = "x = cru.timer.sleep(1, )"
    assert (await plain(rt, code, code.index(", ") + 2)).startswith("cru.timer.sleep(seconds)")
    code = 'cru.timer.timeout(2, function() print("hi") end)'
    assert (await plain(rt, code, code.index(" print"))).startswith("cru.timer.timeout(seconds, fn)")
    assert (await plain(rt, code, code.index("hi"))).startswith("print(...)")  # the innermost call
    code = "cru.ratelimit.new{capacity = "
    assert (await plain(rt, code)).startswith("cru.ratelimit.new(opts)")


async def test_the_name_under_the_cursor_is_inspected_whole(lua):
    code = "local n = string.format('%d', 1)"
    assert (await plain(lua.runtime, code, code.index("form") + 2)).startswith("string.format(")
    assert (await plain(lua.runtime, code, code.index("string"))).startswith("string: table")


async def test_a_name_that_means_nothing_falls_back_to_the_enclosing_call(lua):
    code = "string.rep(unknown_local"
    assert (await plain(lua.runtime, code)).startswith("string.rep(s, n, sep?)")


async def test_a_cell_function_shows_its_location_and_doc_comment_and_at_detail_1_its_source(lua):
    code = "x = 1\n--- Greets someone.\n---@param name string who\nfunction greet(name, ...)\n  return 'hi ' .. name\nend"
    await lua.run(code, "=cell[3]")
    sources = {"cell[3]": code}
    text = await plain(lua.runtime, "greet", sources=sources)
    assert text.startswith("function greet(name, ...)\n")
    assert "Greets someone." in text
    assert "name (string)  who" in text
    assert "Defined at: cell[3]:4" in text
    assert "return 'hi '" not in text
    detailed = await plain(lua.runtime, "greet", detail=1, sources=sources)
    assert "Source:\nfunction greet(name, ...)\n  return 'hi ' .. name\nend" in detailed


async def test_a_cell_function_without_its_source_still_shows_where_it_is(lua):
    await lua.run("local M = {}\nfunction M:area(w, h) return w * h end\nshapes = M", "=cell[4]")
    text = await plain(lua.runtime, "shapes:area", detail=1)
    assert text.startswith("function shapes:area(w, h)\n")
    assert "Defined at: cell[4]:2" in text
    assert "(Source not available.)" in text


async def test_a_file_function_shows_its_path_line_and_source(lua, tmp_path):
    path = tmp_path / "helpers.lua"
    path.write_text(
        "local M = {}\n\n-- Adds two numbers.\nfunction M.add(a, b)\n  return a + b\nend\nreturn M\n"
    )
    await lua.run(f"helpers = dofile({str(path)!r})")
    text = await plain(lua.runtime, "helpers.add")
    assert text.startswith("function helpers.add(a, b)\n")
    assert "Adds two numbers." in text
    assert f"Defined at: {path}:4" in text
    detailed = await plain(lua.runtime, "helpers.add", detail=1)
    assert "function M.add(a, b)\n  return a + b\nend" in detailed


async def test_a_standard_library_function_shows_its_signature_and_description(lua):
    text = await plain(lua.runtime, "string.format")
    assert text.startswith("string.format(formatstring, ...)\n")
    assert "printf-style" in text
    assert "manual §6.4" in text
    assert (await plain(lua.runtime, "print")).startswith("print(...)\n")  # the runtime's own print
    assert (await plain(lua.runtime, '("x"):upper')).startswith("string.upper(s)\n")
    assert (await plain(lua.runtime, "io.read")).startswith("io.read(...)")
    assert "Yields: yes" in await plain(lua.runtime, "coroutine.yield")


async def test_a_module_table_lists_its_functions_with_their_summaries(lua):
    text = await plain(lua.runtime, "cru.timer")
    assert text.startswith("cru.timer: table (3 fields)\n")
    assert "sleep(seconds)" in text and "Suspends the calling task" in text
    assert "timeout(seconds, fn)" in text
    assert "clock()" in text


async def test_an_object_shows_its_text_and_methods(lua):
    await lua.run("limiter = cru.ratelimit.new({capacity = 3})")
    text = await plain(lua.runtime, "limiter")
    assert text.startswith("limiter: RateLimiter (userdata)\n")
    assert "RateLimiter(capacity=3" in text
    assert "try_acquire()" in text and "Takes a token if one is available now" in text


async def test_plain_values_show_their_type_and_text(lua):
    await lua.run("answer = 42\nratio = 0.5\nname = 'crucible'\nlist = {1, 2, x = 'y'}")
    assert await plain(lua.runtime, "answer") == "answer: number (integer)\n\n42"
    assert await plain(lua.runtime, "ratio") == "ratio: number (float)\n\n0.5"
    assert await plain(lua.runtime, "name") == 'name: string (8 bytes)\n\n"crucible"'
    assert await plain(lua.runtime, "list") == 'list: table (3 fields)\n\n{1, 2, x = "y"}'
    await lua.run("odd = {[1.5] = true, ['1'] = 'one', [true] = 0}")
    assert (
        await plain(lua.runtime, "odd")
        == 'odd: table (3 fields)\n\n{[true] = 0, [1.5] = true, ["1"] = "one"}'
    )


async def test_inspecting_never_runs_user_metamethods(lua):
    await lua.run(
        "obj = setmetatable({}, {__tostring = function() touched = true return 'x' end,"
        " __index = function() touched = true end, __pairs = function() touched = true end,"
        " __name = 'Thing'})"
    )
    assert (await plain(lua.runtime, "obj")).startswith("obj: table")
    assert (await inspect(lua.runtime, "obj.field", 9))["found"] is False
    assert await lua.eval("return touched") is None


@pytest.mark.parametrize("code", ["no_such_name", "cru.timer.nope", "", "x = 'cru.timer.sleep", "1 + 2"])
async def test_an_unknown_name_is_not_found(lua, code):
    assert await inspect(lua.runtime, code, len(code)) == {
        "status": "ok",
        "found": False,
        "data": {},
        "metadata": {},
    }


async def test_pager_data_is_the_help_as_text_and_markdown_or_none(lua):
    data = await pager_data(lua.runtime, "cru.timer.sleep", 0)
    assert set(data) == {"text/plain", "text/markdown"}
    assert data["text/plain"].startswith("cru.timer.sleep(seconds)")
    assert data["text/markdown"].startswith("```lua\ncru.timer.sleep(seconds)\n```")
    assert "Source:" in (await pager_data(lua.runtime, " cru.timer.sleep ", 1))["text/plain"]
    assert await pager_data(lua.runtime, "no_such_name", 0) is None


@pytest.mark.parametrize(("code", "cursor"), [(None, 0), ("cru", -5), ("cru", 99), ("cru", "x")])
async def test_bad_input_never_raises(lua, code, cursor):
    reply = await inspect(lua.runtime, code, cursor)
    assert reply["status"] == "ok"
