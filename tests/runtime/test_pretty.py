"""The pretty printer (lua/pretty.lua), through cru.display.format."""

from __future__ import annotations

import re

import pytest


async def fmt(lua, expr: str, opts: str = "") -> str:
    return await lua.eval(f"return cru.display.format({expr}{', ' + opts if opts else ''})")


# Scalars


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        ("1", "1"),
        ("-7", "-7"),
        ("1.0", "1.0"),
        ("2^53", "9.007199254741e+15"),
        ("0.1", "0.1"),
        ("1e100", "1e+100"),
        ("-0.0", "-0.0"),
        ("math.huge", "inf"),
        ("true", "true"),
        ("nil", "nil"),
    ],
)
async def test_numbers_booleans_and_nil_show_as_lua_writes_them(lua, expr, text):
    assert await fmt(lua, expr) == text


async def test_a_top_level_string_is_quoted_unless_quote_is_false(lua):
    assert await fmt(lua, "'hi'") == '"hi"'
    assert await fmt(lua, "'hi\\n'", "{quote = false}") == "hi\n"


@pytest.mark.parametrize(
    ("lua_string", "shown"),
    [
        ("'a\\n'", '"a\\n"'),
        ("'tab\\there'", '"tab\\there"'),
        ("'cr\\r'", '"cr\\r"'),
        ("'say \"hi\"'", '"say \\"hi\\""'),
        ("'back\\\\slash'", '"back\\\\slash"'),
        ("'nul\\0 bell\\7 esc\\27'", '"nul\\000 bell\\a esc\\027"'),
        ("'del\\127'", '"del\\127"'),
        ("'héllo'", '"héllo"'),
    ],
)
async def test_strings_in_tables_are_quoted_with_readable_escapes(lua, lua_string, shown):
    assert await fmt(lua, "{" + lua_string + "}") == "{" + shown + "}"


async def test_c_functions_and_runtime_functions_show_as_builtin(lua):
    assert await fmt(lua, "print") == "function: builtin"
    assert await fmt(lua, "cru.spawn") == "function: builtin"
    assert await fmt(lua, "cru.display.format") == "function: builtin"


async def test_lua_functions_are_named_by_chunk_and_line_defined(lua):
    code = """
        local function f()
        end
        return cru.display.format({f = f})
    """
    assert await lua.eval(code) == "{f = function <test[1]:2>}"


async def test_userdata_with_tostring_shows_through_it(lua):
    assert await fmt(lua, "cru.json.null") == "userdata: (nil)"
    assert await fmt(lua, "{x = cru.json.null}") == "{x = userdata: (nil)}"
    task = await lua.eval("local h = cru.spawn(function() end) return cru.display.format(h)")
    assert re.fullmatch(r"Task \d+ \(pending\)", task)
    assert (await fmt(lua, "io.stdout")).startswith("file (")


async def test_userdata_without_tostring_shows_as_userdata(lua):
    rt = lua.runtime
    plain = rt.engine[b"new_object"](rt.lua.table())
    format_ = rt.cru[b"display"][b"format"]
    assert format_(plain) == b"<userdata>"
    assert format_(rt.lua.table_from({b"u": plain})) == b"{u = <userdata>}"


async def test_threads_show_as_thread(lua):
    assert await fmt(lua, "coroutine.create(print)") == "<thread>"


# Tables


async def test_an_array_shows_compactly_on_one_line(lua):
    assert await fmt(lua, "{1, 2, 3}") == "{1, 2, 3}"
    assert await fmt(lua, "{}") == "{}"
    assert await fmt(lua, "{'a', {true, false}}") == '{"a", {true, false}}'


async def test_identifier_keys_show_bare_and_others_in_brackets(lua):
    text = await fmt(
        lua,
        "{name = 1, _x9 = 2, ['a b'] = 3, [1.5] = 4, [-1] = 5, ['end'] = 6, ['9a'] = 7, [true] = 8}",
        "{width = 200}",
    )
    assert (
        text == '{[-1] = 5, [1.5] = 4, ["9a"] = 7, _x9 = 2, ["a b"] = 3, ["end"] = 6, name = 1, [true] = 8}'
    )


async def test_keys_sort_numbers_first_then_strings_in_byte_order_then_other_types(lua):
    text = await fmt(
        lua,
        "{b = 1, B = 2, a = 3, [10] = 4, [2] = 5, [0.5] = 6, [false] = 7, [true] = 8, _ = 9}",
        "{width = 200}",
    )
    assert text == "{[0.5] = 6, [2] = 5, [10] = 4, B = 2, _ = 9, a = 3, b = 1, [false] = 7, [true] = 8}"


async def test_the_array_part_comes_first_without_keys_and_a_hole_ends_it(lua):
    assert await fmt(lua, "{1, 2, x = 'y', [0] = 0}") == '{1, 2, [0] = 0, x = "y"}'
    assert await fmt(lua, "{1, 2, nil, 4}") == "{1, 2, [4] = 4}"


async def test_the_same_table_built_in_another_order_prints_the_same(lua):
    code = """
        local a, b = {}, {}
        for i = 1, 50 do a["k" .. i] = i end
        for i = 50, 1, -1 do b["k" .. i] = i end
        return cru.display.format(a) == cru.display.format(b)
    """
    assert await lua.eval(code) is True


async def test_a_table_that_does_not_fit_the_width_shows_one_entry_a_line_indented_by_two(lua):
    code = """
        return cru.display.format({
          name = "a fairly long name to push the width",
          tags = {"one", "two"},
          nested = {deeper = {x = 1, comment = "another long string that needs its own line"}},
        })
    """
    assert await lua.eval(code) == (
        "{\n"
        '  name = "a fairly long name to push the width",\n'
        "  nested = {\n"
        '    deeper = {comment = "another long string that needs its own line", x = 1}\n'
        "  },\n"
        '  tags = {"one", "two"}\n'
        "}"
    )


async def test_a_long_array_of_short_items_is_packed_to_the_width(lua):
    text = await fmt(lua, "(function() local t = {} for i = 1, 40 do t[i] = i * 1000 end return t end)()")
    lines = text.split("\n")
    assert lines[0] == "{"
    assert (
        lines[1] == "  " + ", ".join(str(i * 1000) for i in range(1, 13)) + ","
    )  # 13000 would pass column 80
    assert lines[-1] == "}"
    assert all(len(line) <= 80 for line in lines)
    assert [int(x) for x in "".join(lines[1:-1]).replace(" ", "").split(",")] == [
        i * 1000 for i in range(1, 41)
    ]


async def test_width_is_an_option(lua):
    assert await fmt(lua, "{1, 2, 3}", "{width = 8}") == "{\n  1, 2,\n  3\n}"


async def test_tables_deeper_than_four_levels_show_as_an_ellipsis(lua):
    assert await fmt(lua, "{{{{{1}}}}}") == "{{{{{...}}}}}"
    assert await fmt(lua, "{{{{1}}}}") == "{{{{1}}}}"


async def test_an_empty_table_past_the_depth_limit_still_shows_as_empty(lua):
    assert await fmt(lua, "{{{{{}}}}}") == "{{{{{}}}}}"


async def test_max_depth_is_an_option(lua):
    assert await fmt(lua, "{a = {b = {c = 1}}}", "{max_depth = 2}") == "{a = {b = {...}}}"
    assert await fmt(lua, "{a = 1}", "{max_depth = 0}") == "{...}"


async def test_tables_past_one_hundred_entries_end_with_a_count_of_the_rest(lua):
    text = await fmt(lua, "(function() local t = {} for i = 1, 250 do t[i] = i end t.x = 1 return t end)()")
    assert text.endswith(",\n  ... (151 more)\n}")
    assert "100," in text
    assert "101" not in text


async def test_max_items_is_an_option_and_shows_the_least_keys_in_order(lua):
    code = """
        local t = {}
        for i = 1000, 1, -1 do t[string.format("k%04d", i)] = i end
        return cru.display.format(t, {max_items = 3})
    """
    assert await lua.eval(code) == "{k0001 = 1, k0002 = 2, k0003 = 3, ... (997 more)}"


async def test_a_cycle_shows_as_cycle_and_a_shared_table_shows_twice(lua):
    assert await lua.eval("local t = {1} t.me = t return cru.display.format(t)") == "{1, me = <cycle>}"
    assert await lua.eval("local s = {1} return cru.display.format({a = s, b = s})") == "{a = {1}, b = {1}}"


async def test_a_table_key_is_shown_formatted_in_brackets(lua):
    assert await fmt(lua, "{[{1, 2}] = true}") == "{[{1, 2}] = true}"


async def test_a_table_with_tostring_shows_through_it(lua):
    assert (
        await fmt(lua, "setmetatable({}, {__tostring = function() return 'Point(1, 2)' end})")
        == "Point(1, 2)"
    )
    inner = "setmetatable({}, {__tostring = function() return 'P' end})"
    assert await fmt(lua, "{p = " + inner + "}") == "{p = P}"


async def test_a_failing_tostring_is_shown_not_raised(lua):
    text = await fmt(lua, "{x = setmetatable({}, {__tostring = function() error('nope') end})}")
    assert text.startswith("{x = <__tostring failed: ")
    assert "nope" in text


async def test_a_table_with_display_is_still_pretty_printed(lua):
    code = "setmetatable({a = 1}, {__display = function() return {['text/html'] = '<b>'} end})"
    assert await fmt(lua, code) == "{a = 1}"


async def test_tables_are_read_raw_without_index_or_pairs(lua):
    code = """
        local calls = 0
        local t = setmetatable({a = 1}, {
          __index = function() calls = calls + 1 return 'x' end,
          __pairs = function() calls = calls + 1 return next, {}, nil end,
        })
        return cru.display.format(t), calls
    """
    assert await lua.eval(code) == ("{a = 1}", 0)


async def test_bad_options_are_reported(lua):
    err = await lua.error("cru.display.format({}, {max_depth = -1})")
    assert "bad option 'max_depth' to 'format' (integer >= 0 expected, got -1)" in err.message
    err = await lua.error("cru.display.format({}, 'deep')")
    assert "bad argument #2 to 'format' (table expected, got string)" in err.message
