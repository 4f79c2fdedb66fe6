"""cru.kiln, cru.graph, cru.storage, cru.tools and cru.ui without a daemon: the reference's
stub convention (empty results or (nil, "no daemon connected")), arguments still checked."""

from __future__ import annotations

import pytest


async def test_the_modules_exist_under_both_namespaces(lua):
    code = """
        local out = {}
        for _, name in ipairs({"kiln", "graph", "storage", "tools", "ui", "context", "schedule"}) do
          out[#out + 1] = type(cru[name]) == "table" and rawequal(cru[name], crucible[name])
        end
        return table.concat((function() local s = {} for i, v in ipairs(out) do s[i] = tostring(v) end return s end)(), ","),
               rawequal(graph, cru.graph)
    """
    assert await lua.eval(code) == ("true,true,true,true,true,true,true", True)


async def test_kiln_answers_empty_without_a_kiln(lua):
    code = """
        return #cru.kiln.list(), #cru.kiln.list(10), cru.kiln.get("a.md"), #cru.kiln.search("q", {limit = 5}),
               #cru.kiln.outlinks("a.md"), #cru.kiln.backlinks("a.md"), #cru.kiln.neighbors("a.md", 2),
               cru.kiln.active
    """
    assert await lua.eval(code) == (0, 0, None, 0, 0, 0, 0, None)


async def test_storage_keeps_nothing_without_a_store(lua):
    code = """
        cru.storage.set("e", "k", "v")
        return cru.storage.get("e", "k"), next(cru.storage.list("e")), next(cru.storage.find("k", "v")),
               cru.storage.delete("e", "k")
    """
    assert await lua.eval(code) == (None, None, None, False)


async def test_tools_and_ui_answer_no_daemon_connected(lua):
    code = """
        local r = {}
        local function add(...) r[#r + 1] = select(2, ...) end
        add(cru.tools.call("read_file", {path = "x"}))
        add(cru.tools.batch({{tool = "a"}}))
        add(cru.tools.list())
        add(cru.tools.set_active("s", {"read_*"}))
        add(cru.tools.get_active("s"))
        for _, kind in ipairs({"ask", "ask_batch", "edit", "show", "permission", "popup", "panel"}) do
          add(cru.ui[kind]("s", {question = "?"}))
        end
        local first = cru.ui.ask("s", {})
        return #r, r[1], r[#r], first
    """
    assert await lua.eval(code) == (12, "no daemon connected", "no daemon connected", None)


async def test_stubs_work_outside_a_coroutine(lua):
    kiln = lua.runtime.cru[b"kiln"]
    assert kiln[b"get"](b"x") is None
    assert lua.runtime.cru[b"tools"][b"call"](b"t") == (None, b"no daemon connected")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("cru.kiln.get()", "bad argument #1 to 'get' (string expected, got nil)"),
        ("cru.kiln.list('many')", "bad argument #1 to 'list' (number expected, got string)"),
        ("cru.kiln.list(-1)", "bad argument #1 to 'list' (a count must be a finite number >= 0, got -1)"),
        ("cru.kiln.search('q', 5)", "bad argument #2 to 'search' (table expected, got number)"),
        ("cru.kiln.neighbors('a', {})", "bad argument #2 to 'neighbors' (number expected, got table)"),
        ("cru.storage.set('e', 'k')", "bad argument #3 to 'set' (string expected, got nil)"),
        ("cru.tools.call({})", "bad argument #1 to 'call' (string expected, got table)"),
        ("cru.tools.get_active()", "bad argument #1 to 'get_active' (string expected, got nil)"),
        ("cru.ui.ask(nil, {})", "bad argument #1 to 'ask' (string expected, got nil)"),
    ],
)
async def test_bad_arguments_still_raise(lua, call, message):
    assert (await lua.error(call)).message == f"test[1]:1: {message}"


GRAPH = """
    local g = {notes = {
      {title = "Index", path = "Index.md", links = {"Project A", "Project B"}},
      {title = "Project A", path = "projects/a.md", links = {"Index"}},
      {title = "Project B", path = "projects/b.md", links = {}},
    }}
"""


async def test_graph_finds_notes_and_follows_links(lua):
    code = (
        GRAPH
        + """
        local function titles(list) local t = {} for i, n in ipairs(list) do t[i] = n.title end return table.concat(t, ",") end
        return graph.find(g, "Index").path, graph.find(g, "Nope"), titles(graph.outlinks(g, "Index")),
               titles(graph.inlinks(g, "Index")), titles(graph.outlinks(g, "Project B")),
               rawequal(graph.find(g, "Project A"), g.notes[2])
    """
    )
    assert await lua.eval(code) == ("Index.md", None, "Project A,Project B", "Project A", "", True)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ('graph.find(nil, "x")', "bad argument #1 to 'find' (table expected, got nil)"),
        ('graph.find({}, "x")', "find: g.notes must be a table, got nil"),
        (
            'graph.outlinks({notes = {{path = "a"}}}, "x")',
            "outlinks: every note needs a string title, got nil",
        ),
        ('graph.inlinks({notes = {"x"}}, "x")', "inlinks: g.notes[1] must be a table, got string"),
        ("graph.find({notes = {}}, {})", "bad argument #2 to 'find' (string expected, got table)"),
    ],
)
async def test_graph_rejects_malformed_graphs(lua, call, message):
    assert (await lua.error(call)).message == f"test[1]:1: {message}"
