"""cru.fmt, cru.inspect, cru.tbl_deep_extend, cru.tbl_get, cru.errors and cru.on_error (§3.15)."""

from __future__ import annotations

import re
from importlib import resources

import pytest

PURE_LUA_FILES = ("retry", "emitter", "check", "service", "qol")


# cru.fmt


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ('cru.fmt("Hello {name}", { name = "world" })', "Hello world"),
        ('cru.fmt("Missing {key}", {})', "Missing {key}"),
        ('cru.fmt("Count: {n}", { n = 42 })', "Count: 42"),
        ('cru.fmt("{greeting} {name}!", { greeting = "Hello", name = "Alice" })', "Hello Alice!"),
        ('cru.fmt("No placeholders", {})', "No placeholders"),
        ('cru.fmt("Nothing given {x}")', "Nothing given {x}"),
        ('cru.fmt("{a-b} {a_b} {ok}", { ["a-b"] = 1, a_b = 2, ok = false })', "{a-b} {a_b} false"),
        ('cru.fmt("{1}", { "positional" })', "{1}"),
        ('cru.fmt("{r}", { r = 0.5 })', "0.5"),
        ('cru.fmt("{t}", { t = setmetatable({}, { __tostring = function() return "T" end }) })', "T"),
    ],
)
async def test_fmt_fills_word_placeholders_and_keeps_unknown_ones(lua, call, expected):
    assert await lua.eval(f"return {call}") == expected


async def test_fmt_returns_one_value(lua):
    assert await lua.eval('return select("#", cru.fmt("{a}{a}", { a = 1 }))') == 1


# cru.inspect


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("nil", "nil"),
        ("true", "true"),
        ("42", "42"),
        ("2.0", "2.0"),
        ('"plain"', '"plain"'),
        ('"say \\"hi\\"\\n\\0"', '"say \\"hi\\"\\\n\\0"'),
        ("print", "<function>"),
        ("cru.ratelimit.new({ capacity = 1 })", "<userdata>"),
        ("coroutine.create(print)", "<thread>"),
        ("{}", "{}"),
        ('{ 1, "x" }', '{\n  [1] = 1,\n  [2] = "x"\n}'),
        ("{ a = { b = {} } }", "{\n  a = {\n    b = {}\n  }\n}"),
        ('{ ["a key"] = 1 }', "{\n  a key = 1\n}"),
        ("{ [true] = 1 }", "{\n  [true] = 1\n}"),
        ("{ [{}] = 1 }", "{\n  [{}] = 1\n}"),
        ("setmetatable({ 1 }, { __tostring = function() return 'T' end })", "{\n  [1] = 1\n}"),
    ],
)
async def test_inspect_renders_each_kind_of_value(lua, value, expected):
    assert await lua.eval(f"return cru.inspect({value})") == expected


async def test_inspect_marks_a_cycle(lua):
    code = """
        local t = {}
        t.me = t
        return inspect(t)
    """
    assert await lua.eval(code) == "{\n  me = <cycle: table>\n}"


async def test_inspect_shows_a_table_reached_twice_as_a_cycle_like_the_reference(lua):
    code = """
        local shared = { 1 }
        return inspect({ shared, shared })
    """
    assert await lua.eval(code) == "{\n  [1] = {\n    [1] = 1\n  },\n  [2] = <cycle: table>\n}"


@pytest.mark.parametrize(
    ("depth", "expected"),
    [
        (0, "{...}"),
        (1, "{\n  a = {...}\n}"),
        (2, "{\n  a = {\n    b = {...}\n  }\n}"),
        (3, "{\n  a = {\n    b = {\n      c = 1\n    }\n  }\n}"),
    ],
)
async def test_inspect_stops_at_max_depth(lua, depth, expected):
    code = f"return inspect({{ a = {{ b = {{ c = 1 }} }} }}, {{ max_depth = {depth} }})"
    assert await lua.eval(code) == expected


async def test_inspect_uses_the_indent_option(lua):
    code = 'return inspect({ a = { b = 1 } }, { indent = "\\t" })'
    assert await lua.eval(code) == "{\n\ta = {\n\t\tb = 1\n\t}\n}"


async def test_inspect_lists_every_field_of_a_table(lua):
    rendered = await lua.eval('return inspect({ x = 1, y = "two", z = false, [10] = 3 })')
    lines = rendered.split("\n")
    assert (lines[0], lines[-1]) == ("{", "}")
    fields = sorted(line.rstrip(",") for line in lines[1:-1])
    assert fields == ["  [10] = 3", "  x = 1", '  y = "two"', "  z = false"]


async def test_the_global_inspect_and_crucible_inspect_are_cru_inspect(lua):
    code = "return rawequal(inspect, cru.inspect), rawequal(crucible.inspect, cru.inspect)"
    assert await lua.eval(code) == (True, True)


# cru.tbl_deep_extend


MERGE = """
    local first = { a = 1, n = { x = 1, y = 1 } }
    local second = { a = 2, n = { y = 2, z = 2 }, b = 3 }
    local r = cru.tbl_deep_extend("{behavior}", first, second)
    return r.a, r.b, r.n.x, r.n.y, r.n.z, rawequal(r, first), rawequal(r.n, first.n), first.n.z, first.a
"""


async def test_tbl_deep_extend_force_lets_later_values_win_and_merges_nested_tables(lua):
    # As in the reference, "force" puts the first table's nested tables into the result as they
    # are, so merging the second one into them changes the first argument's nested table too.
    assert await lua.eval(MERGE.replace("{behavior}", "force")) == (2, 3, 1, 2, 2, False, True, 2, 1)


async def test_tbl_deep_extend_keep_lets_the_first_value_win_and_merges_nested_tables(lua):
    assert await lua.eval(MERGE.replace("{behavior}", "keep")) == (1, 3, 1, 1, 2, False, False, None, 1)


async def test_tbl_deep_extend_force_replaces_values_of_another_type(lua):
    code = """
        local r = cru.tbl_deep_extend("force", { a = 1, b = { c = 1 } }, { a = { c = 2 }, b = 2 })
        return r.a.c, r.b
    """
    assert await lua.eval(code) == (2, 2)


async def test_tbl_deep_extend_force_takes_a_new_nested_table_as_is_and_keep_copies_it(lua):
    code = """
        local src = { n = { x = 1 } }
        local forced = cru.tbl_deep_extend("force", {}, src)
        local kept = cru.tbl_deep_extend("keep", {}, src)
        return rawequal(forced.n, src.n), rawequal(kept.n, src.n), kept.n.x
    """
    assert await lua.eval(code) == (True, False, 1)


async def test_tbl_deep_extend_skips_arguments_that_are_not_tables_and_stops_at_nil(lua):
    code = """
        local skipped = cru.tbl_deep_extend("force", { a = 1 }, 5, "x", { b = 2 })
        local stopped = cru.tbl_deep_extend("force", { a = 1 }, nil, { b = 2 })
        return skipped.a, skipped.b, stopped.a, stopped.b, next(cru.tbl_deep_extend("keep"))
    """
    assert await lua.eval(code) == (1, 2, 1, None, None)


@pytest.mark.parametrize(("behavior", "shown"), [('"merge"', "merge"), ("nil", "nil"), ("1", "1")])
async def test_tbl_deep_extend_validates_the_behavior_with_cru_check_one_of(lua, behavior, shown):
    err = await lua.error(f"cru.tbl_deep_extend({behavior}, {{}})")
    expected = rf"behavior: must be one of \[force, keep\], got {shown}"
    assert re.fullmatch(rf"crucible/qol\.lua:\d+: {expected}", err.message)


# cru.tbl_get


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ('cru.tbl_get(T, "a", "b", "c")', 1),
        ('cru.tbl_get(T, "a", "x", "c")', None),
        ('cru.tbl_get(T, "a", "b", "c", "d")', None),
        ('cru.tbl_get(T, "flag")', False),
        ('cru.tbl_get(T, "flag", "x")', None),
        ('cru.tbl_get(T, "list", 2)', "two"),
        ('cru.tbl_get("not a table", "a")', None),
        ("cru.tbl_get(nil)", None),
        ('cru.tbl_get(T, "a", nil, "zzz").b.c', 1),
        ("rawequal(cru.tbl_get(T), T)", True),
    ],
)
async def test_tbl_get_walks_nested_keys_and_gives_nil_when_a_level_is_missing(lua, call, expected):
    code = f"""
        T = {{ a = {{ b = {{ c = 1 }} }}, flag = false, list = {{ "one", "two" }} }}
        return {call}
    """
    assert await lua.eval(code) == expected


# cru.errors, cru.on_error


async def test_errors_capture_records_nothing_and_recent_is_empty(lua):
    code = """
        local n = select("#", cru.errors._capture("plugin", "boom", "context"))
        local recent, five = cru.errors.recent(), cru.errors.recent(5)
        return n, type(recent), #recent, next(recent), #five, rawequal(recent, cru.errors.recent())
    """
    assert await lua.eval(code) == (0, "table", 0, None, 0, False)


async def test_on_error_is_reserved_and_nil(lua):
    code = "return rawget(cru, 'on_error'), rawget(crucible, 'on_error'), type(cru.errors)"
    assert await lua.eval(code) == (None, None, "table")


async def test_the_helpers_are_the_same_objects_under_cru_and_crucible(lua):
    code = """
        local same = true
        for _, name in ipairs({ "fmt", "inspect", "tbl_deep_extend", "tbl_get", "errors" }) do
            same = same and cru[name] ~= nil and rawequal(cru[name], crucible[name])
        end
        return same
    """
    assert await lua.eval(code) is True


# Documentation comments (parsed later for inspection in the notebook)


def _exported_locals(source: str) -> set[str]:
    block = source[source.rindex("\nreturn {") :]
    return set(re.findall(r"=\s*([A-Za-z_]\w*)", block))


@pytest.mark.parametrize("name", PURE_LUA_FILES)
def test_every_public_function_has_a_doc_comment_with_its_parameters(name):
    source = resources.files("crucible_kernel.runtime").joinpath("lua", f"{name}.lua").read_text()
    lines = source.split("\n")
    exported = _exported_locals(source)
    problems = []
    for i, line in enumerate(lines):
        public = re.match(r"function [\w.:]+\((.*?)\)", line)
        local = re.match(r"local function (\w+)\((.*?)\)", line)
        if not (public or (local and local.group(1) in exported)):
            continue
        params = public.group(1) if public else local.group(2)
        doc = []
        j = i - 1
        while j >= 0 and lines[j].startswith("---"):
            doc.insert(0, lines[j])
            j -= 1
        if not any(d.startswith("--- ") for d in doc):
            problems.append(f"{line}: no description")
        for param in filter(None, (p.strip() for p in params.split(","))):
            if not any(re.match(rf"---@param {re.escape(param)}\??\s", d) for d in doc):
                problems.append(f"{line}: no ---@param {param}")
    assert problems == []
