"""The docs registry (crucible_kernel/kernel/docs.py)."""

from __future__ import annotations

from importlib import resources

import tests.runtime.conftest as runtime_fixtures
from crucible_kernel.kernel.docs import (
    STDLIB,
    Param,
    Registry,
    Return,
    doc_of,
    parse_block,
    parse_lua,
    public_functions,
    registry,
    split_type,
)

host = runtime_fixtures.host
lua = runtime_fixtures.lua

SAMPLE = """\
-- sample: a module for the tests.

local M = {}

--- Sleeps, then calls back.
---
--- A second paragraph.
---@async
---@param seconds number how long
---@param fn fun(err: any): boolean the callback
---@param opts? {a?: integer, b?: string} options
---@return boolean ok whether it worked
---@return string|nil # the error
function M.wait(seconds, fn, opts)
end

--- Assigned.
M.other = function(x, y) end

--- A local, exported later.
local function helper(a) end

-------------------------------------------------------------------------------
-- Not a doc block: a separator and a comment.
function M.undocumented() end

--- A method.
function M:method(v) end

setmetatable(M, {
  --- Called as M(...).
  __call = function(_, ...) end,
})

M.helper = helper
return M
"""


def test_a_block_gives_summary_description_params_returns_and_async():
    docs, header = parse_lua(SAMPLE, "sample.lua")
    assert header == "sample: a module for the tests."
    doc = docs[14]
    assert (doc.chunk, doc.line, doc.name) == ("sample.lua", 14, "M.wait")
    assert doc.summary == "Sleeps, then calls back."
    assert doc.description == "Sleeps, then calls back.\n\nA second paragraph."
    assert doc.is_async
    assert doc.params == (
        Param("seconds", "number", "how long"),
        Param("fn", "fun(err: any): boolean", "the callback"),
        Param("opts?", "{a?: integer, b?: string}", "options"),
    )
    assert doc.returns == (Return("boolean", "ok whether it worked"), Return("string|nil", "the error"))
    assert doc.param_names() == ["seconds", "fn", "opts?"]


def test_every_form_of_definition_is_keyed_by_the_line_of_its_function_keyword():
    docs, _ = parse_lua(SAMPLE, "sample.lua")
    lines = SAMPLE.split("\n")
    found = {doc.name: line for line, doc in docs.items()}
    assert found == {"M.wait": 14, "M.other": 18, "helper": 21, "M:method": 28, "__call": 32}
    for line in found.values():
        assert "function" in lines[line - 1]
    assert docs[18].source_params == ("x", "y")
    assert docs[28].method and docs[28].param_names() == ["v"]
    assert not docs[18].is_async


def test_separator_lines_do_not_start_a_doc_block():
    docs, _ = parse_lua(SAMPLE, "sample.lua")
    assert all(doc.name != "M.undocumented" for doc in docs.values())


def test_types_with_spaces_are_split_from_their_description():
    assert split_type("fun(err: any): boolean the predicate") == ("fun(err: any): boolean", "the predicate")
    assert split_type('"force"|"keep"') == ('"force"|"keep"', "")
    assert split_type("string | nil maybe") == ("string | nil", "maybe")
    assert split_type("table<string, any> map") == ("table<string, any>", "map")


def test_yields_falls_back_to_an_await_call_in_the_body():
    reg = Registry()
    reg.add(
        "fake.lua",
        "--- Waits.\nfunction M.f()\n  return await(1)\nend\n--- Returns.\nfunction M.g()\n  return 1\nend\n",
    )
    assert reg.yields("=crucible/fake.lua", 2, 4)
    assert not reg.yields("=crucible/fake.lua", 6, 8)
    assert reg.lookup("=crucible/fake.lua", 2).summary == "Waits."
    assert reg.lookup("=cell[1]", 2) is None


def test_the_registry_reads_every_lua_file_of_the_runtime():
    folder = resources.files("crucible_kernel.runtime").joinpath("lua")
    present = {f.name for f in folder.iterdir() if f.name.endswith(".lua")}
    assert present <= set(registry().sources)
    assert "introspect.lua" in registry().sources  # and the kernel's own


async def test_a_live_function_is_matched_to_its_doc_through_debug_getinfo(lua):
    sleep = lua.runtime.lua.globals()[b"cru"][b"timer"][b"sleep"]
    doc = doc_of(lua.runtime, sleep)
    assert doc is not None and doc.chunk == "timer.lua" and doc.is_async
    await lua.run("function mine() end")
    assert doc_of(lua.runtime, lua.runtime.lua.globals()[b"mine"]) is None
    assert doc_of(lua.runtime, 42) is None


async def test_every_public_function_reachable_from_cru_has_a_description(lua):
    task = await lua.run("return cru.ratelimit.new({}), cru.spawn(function() end), cru.emitter.new()")
    limiter, handle, emitter = task.results
    rt = lua.runtime
    roots = {"cru": rt.lua.globals()[b"cru"], "limiter": limiter, "task": handle, "emitter": emitter}
    functions = public_functions(rt, roots)
    paths = {path for path, _ in functions}
    assert {"cru.timer.sleep", "cru.log", "cru.spawn", "limiter:acquire", "task:wait", "emitter:on"} <= paths
    missing = sorted(path for path, fn in functions if not ((doc := doc_of(rt, fn)) and doc.summary))
    assert missing == [], "public functions without a doc comment: " + ", ".join(missing)


async def test_every_standard_library_function_has_an_entry(lua):
    found = await lua.eval(
        """
        local names = {}
        for _, lib in ipairs({"string", "table", "math", "io", "os", "coroutine", "utf8", "debug", "package"}) do
          for k, v in pairs(_G[lib]) do
            if type(v) == "function" then names[#names + 1] = lib .. "." .. k end
          end
        end
        for _, k in ipairs({"assert", "collectgarbage", "dofile", "error", "getmetatable", "ipairs",
                            "load", "loadfile", "next", "pairs", "pcall", "print", "rawequal",
                            "rawget", "rawlen", "rawset", "require", "select", "setmetatable",
                            "tonumber", "tostring", "type", "warn", "xpcall"}) do
          names[#names + 1] = k
        end
        local file_mt = debug.getregistry()["FILE*"]
        for k, v in pairs(file_mt.__index) do names[#names + 1] = "file:" .. k end
        return table.concat(names, " ")
        """
    )
    missing = sorted(set(found.split()) - set(STDLIB))
    assert missing == []


def test_parse_block_reads_a_cell_doc_comment():
    doc = parse_block([" Greets.", "@param name string who", "@return string"])
    assert doc.summary == "Greets."
    assert doc.params == (Param("name", "string", "who"),)
    assert doc.returns == (Return("string", ""),)


async def test_every_function_of_cru_sessions_has_a_description_stubs_and_real(lua):
    from crucible_kernel.sessions import SessionService, install

    rt = lua.runtime
    stubs = public_functions(rt, {"cru.sessions": rt.lua.globals()[b"cru"][b"sessions"]})
    assert len(stubs) == 28
    service = SessionService()
    install(rt, service)
    task = await lua.run(
        "local s = cru.sessions.create({provider = 'echo', delay = 0})"
        " return s, cru.sessions.subscribe(s.id), cru.sessions.send_and_collect(s.id, 'hi')"
    )
    session, next_event, next_part = task.results[:3]
    roots = {"cru.sessions": rt.lua.globals()[b"cru"][b"sessions"], "session": session}
    functions = [*public_functions(rt, roots), ("next_event", next_event), ("next_part", next_part)]
    paths = {path for path, _ in functions}
    assert {"cru.sessions.create", "cru.sessions.subscribe", "cru.sessions.watch", "next_event"} <= paths
    missing = sorted(
        path for path, fn in [*stubs, *functions] if not ((doc := doc_of(rt, fn)) and doc.summary)
    )
    assert missing == [], "functions without a doc comment: " + ", ".join(missing)
    await service.aclose()
