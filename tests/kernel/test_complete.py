"""complete_request content (crucible_kernel/kernel/complete.py), against a real runtime."""

from __future__ import annotations

import pytest

import tests.runtime.conftest as runtime_fixtures
from crucible_kernel.kernel.complete import complete

host = runtime_fixtures.host
lua = runtime_fixtures.lua


async def matches(rt, code, cursor=None):
    return (await complete(rt, code, len(code) if cursor is None else cursor))["matches"]


# jupyter_kernel_test's completion_samples compare the matches as sets.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("strin", {"string"}),
        ("string.up", {"string.upper"}),
        ("cru.timer.sl", {"cru.timer.sleep"}),
        ("table.ins", {"table.insert"}),
    ],
)
async def test_jupyter_kernel_test_samples_complete_to_the_full_dotted_text(lua, text, expected):
    assert set(await matches(lua.runtime, text)) == expected


async def test_the_reply_has_the_complete_reply_fields(lua):
    reply = await complete(lua.runtime, "print(string.up", 15)
    assert reply == {
        "matches": ["string.upper"],
        "cursor_start": 6,
        "cursor_end": 15,
        "metadata": {
            "_jupyter_types_experimental": [
                {"start": 6, "end": 15, "text": "string.upper", "type": "function"}
            ]
        },
        "status": "ok",
    }


async def types(rt, code):
    reply = await complete(rt, code, len(code))
    entries = reply["metadata"]["_jupyter_types_experimental"]
    assert [e["text"] for e in entries] == reply["matches"]
    assert all(e["start"] == reply["cursor_start"] and e["end"] == reply["cursor_end"] for e in entries)
    return {e["text"]: e["type"] for e in entries}


async def test_every_match_has_a_type_for_the_frontends_badge(lua):
    rt = lua.runtime
    await lua.run("limiter = cru.ratelimit.new({capacity = 1})\nsettings = {depth = 2}\nanswer = 42")
    assert (await types(rt, "cru.js"))["cru.json"] == "module"
    assert (await types(rt, "cru.json."))["cru.json.encode"] == "function"
    assert (await types(rt, "cru.json.n"))["cru.json.null"] == "variable"
    assert (await types(rt, "stri"))["string"] == "module"
    assert (await types(rt, "limiter:"))["limiter:acquire"] == "method"
    assert (await types(rt, "sett")) == {"settings": "table"}
    assert (await types(rt, "answ")) == {"answer": "variable"}
    assert (await types(rt, "whi")) == {"while": "keyword"}
    assert (await types(rt, "local count = 1\nlocal function counter() end\ncoun"))["count"] == "variable"
    assert (await types(rt, "pri"))["print"] == "function"


async def test_cru_paths_complete_at_every_depth(lua):
    rt = lua.runtime
    assert {"cru", "crucible"} <= set(await matches(rt, "cr"))
    assert "cru.timer" in await matches(rt, "cru.")
    assert await matches(rt, "cru.ti") == ["cru.timer"]
    assert await matches(rt, "cru.timer.") == ["cru.timer.clock", "cru.timer.sleep", "cru.timer.timeout"]
    assert await matches(rt, "crucible.ratelimit.n") == ["crucible.ratelimit.new"]
    assert await matches(rt, "cru.nothing.here.") == []


async def test_matches_are_sorted_without_duplicates(lua):
    await lua.run("setmetatable(_G, {__index = {string2 = 1}}); stringy = 2")
    found = await matches(lua.runtime, "str")
    assert found == sorted(set(found))
    assert {"string", "string2", "stringy"} <= set(found)  # string2 through _G's __index table


async def test_colon_completes_the_methods_of_a_rate_limiter(lua):
    await lua.run("limiter = cru.ratelimit.new({capacity = 2})")
    assert await matches(lua.runtime, "limiter:") == [
        "limiter:acquire",
        "limiter:remaining",
        "limiter:tokens",
        "limiter:try_acquire",
    ]
    assert await matches(lua.runtime, "limiter:acq") == ["limiter:acquire"]


async def test_colon_completes_the_methods_of_a_task_handle(lua):
    await lua.run("handle = cru.spawn(function() end)")
    assert await matches(lua.runtime, "x = handle:w") == ["handle:wait"]
    assert {"handle:cancel", "handle:done", "handle:id", "handle:status"} <= set(
        await matches(lua.runtime, "handle:")
    )


async def test_colon_on_a_string_literal_completes_string_methods(lua):
    reply = await complete(lua.runtime, 'x = ("x"):up', 12)
    assert reply["matches"] == ["upper"]
    assert reply["cursor_start"] == 10


async def test_colon_offers_only_callable_fields(lua):
    await lua.run("obj = {count = 1, bump = function(self) end}")
    assert await matches(lua.runtime, "obj:") == ["obj:bump"]
    assert await matches(lua.runtime, "obj.") == ["obj.bump", "obj.count"]


async def test_fields_are_found_through_index_tables_but_index_functions_are_never_called(lua):
    await lua.run(
        "base = {inherited = 1}\n"
        "child = setmetatable({own = 2}, {__index = base})\n"
        "trap = setmetatable({}, {__index = function() trapped = true end,"
        " __pairs = function() trapped = true end})"
    )
    assert await matches(lua.runtime, "child.") == ["child.inherited", "child.own"]
    assert await matches(lua.runtime, "trap.") == []
    assert await lua.eval("return trapped") is None


async def test_globals_defined_by_earlier_cells_complete(lua):
    await lua.run("my_counter = 0\nfunction my_helper() end", "=cell[1]")
    assert await matches(lua.runtime, "my_") == ["my_counter", "my_helper"]


async def test_locals_above_the_cursor_complete_and_those_below_do_not(lua):
    code = "local alpha = 1\nlocal function alpine() end\nprint(al)\nlocal algae = 2"
    cursor = code.index("al)") + 2
    found = await matches(lua.runtime, code, cursor)
    assert {"alpha", "alpine"} <= set(found)
    assert "algae" not in found


async def test_parameters_loop_variables_and_block_scope_are_respected(lua):
    code = (
        "local function f(param_a, param_b, ...)\n"
        "  for param_i = 1, 2 do end\n"
        "  for param_k, param_v in pairs({}) do\n"
        "    local param_inner = 1\n"
        "  end\n"
        "  return param_"
    )
    assert await matches(lua.runtime, code) == ["param_a", "param_b"]
    inside = code.index("local param_inner = 1") + len("local param_inner = 1")
    assert await matches(lua.runtime, code[:inside] + "\nparam_", inside + 7) == [
        "param_a",
        "param_b",
        "param_inner",
        "param_k",
        "param_v",
    ]


async def test_locals_with_attributes_and_several_names_complete(lua):
    code = "local one <const>, two <close> = 1, nil\nlocal three, four = 3, 4\nreturn t"
    assert await matches(lua.runtime, code) == [
        "table",
        "test_mocks",  # a global in every VM, as in the reference
        "then",
        "three",
        "tonumber",
        "tostring",
        "true",
        "two",
        "type",
    ]


async def test_keywords_complete(lua):
    assert "function" in await matches(lua.runtime, "fun")
    assert await matches(lua.runtime, "whil") == ["while"]
    assert "local" in await matches(lua.runtime, "x = 1\nloc")


@pytest.mark.parametrize(
    "code",
    [
        "x = 'cru.ti",
        'x = "string.up',
        "x = [[string.up",
        "-- cru.ti",
        "--[[ cru.ti",
        "x = 1 -- strin",
    ],
)
async def test_there_are_no_matches_inside_strings_or_comments(lua, code):
    reply = await complete(lua.runtime, code, len(code))
    assert reply["matches"] == []
    assert reply["cursor_start"] == reply["cursor_end"] == len(code)


async def test_names_after_a_closed_string_or_comment_still_complete(lua):
    assert await matches(lua.runtime, "x = 'a' .. strin") == ["string"]
    assert await matches(lua.runtime, "--[[ note ]] strin") == ["string"]
    assert await matches(lua.runtime, "-- note\nstrin") == ["string"]


async def test_only_the_text_before_the_cursor_counts(lua):
    code = "string.up(x) + other"
    reply = await complete(lua.runtime, code, 9)
    assert reply["matches"] == ["string.upper"]
    assert (reply["cursor_start"], reply["cursor_end"]) == (0, 9)


async def test_the_cursor_counts_code_points(lua):
    code = "s = 'é€😀' .. strin"
    reply = await complete(lua.runtime, code, len(code))
    assert reply["matches"] == ["string"]
    assert reply["cursor_start"] == len(code) - 5


async def test_private_names_show_once_an_underscore_is_typed(lua):
    assert "cru.service._services" not in await matches(lua.runtime, "cru.service.")
    assert await matches(lua.runtime, "cru.service._") == ["cru.service._services"]


async def test_nothing_is_offered_after_a_number_or_a_closing_bracket(lua):
    assert await matches(lua.runtime, "x = 12") == []
    assert await matches(lua.runtime, "x = f()") == []
    assert await matches(lua.runtime, "x = f().") == []


@pytest.mark.parametrize(("code", "cursor"), [("strin", 99), ("strin", -3), ("", 0), (None, 0), ("x", "y")])
async def test_bad_input_gives_an_empty_or_clamped_answer_without_raising(lua, code, cursor):
    reply = await complete(lua.runtime, code, cursor)
    assert reply["status"] == "ok"
    assert isinstance(reply["matches"], list)
