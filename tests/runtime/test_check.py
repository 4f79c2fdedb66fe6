"""cru.check: the validators, their messages and the positions they blame (reference §3.12)."""

from __future__ import annotations

import re

import pytest


def line_of(code: str, marker: str) -> int:
    """The 1-based line of `code` that contains `marker`."""
    return next(i for i, line in enumerate(code.split("\n"), 1) if marker in line)


async def test_the_contract_examples_accept_good_values(lua):
    code = """
        local val = "x"
        cru.check.string(val, "name")
        val = nil
        cru.check.string(val, "name", { optional = true })
        val = 50
        cru.check.number(val, "count", { min = 1, max = 100 })
        val = true
        cru.check.boolean(val, "enabled")
        val = {}
        cru.check.table(val, "options")
        val = print
        cru.check.func(val, "callback")
        val = "yaml"
        cru.check.one_of(val, { "json", "text", "yaml" }, "format")
        return "passed"
    """
    assert await lua.eval(code) == "passed"


async def test_a_validator_returns_nothing_on_success(lua):
    code = """
        return select("#", cru.check.string("x", "name")), select("#", cru.check.number(1, "n")),
               select("#", cru.check.one_of("a", {"a"}, "c"))
    """
    assert await lua.eval(code) == (0, 0, 0)


async def test_cru_check_has_exactly_the_six_validators(lua):
    code = """
        local names = {}
        for k in pairs(cru.check) do names[#names + 1] = k end
        table.sort(names)
        return table.concat(names, ",")
    """
    assert await lua.eval(code) == "boolean,func,number,one_of,string,table"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ('cru.check.string(5, "name")', "name: expected string, got number"),
        ('cru.check.number("5", "count")', "count: expected number, got string"),
        ('cru.check.boolean(1, "enabled")', "enabled: expected boolean, got number"),
        ('cru.check.table("t", "options")', "options: expected table, got string"),
        ('cru.check.func(nil, "callback")', "callback: expected function, got nil"),
        ("cru.check.string(nil, nil)", "nil: expected string, got nil"),
    ],
)
async def test_a_type_failure_names_the_line_that_called_the_validator(lua, call, message):
    code = f"""
        local function handler(v)
            {call} -- the check
        end
        handler()
    """
    err = await lua.error(code)
    assert re.fullmatch(rf"test\[\d+\]:{line_of(code, '-- the check')}: {re.escape(message)}", err.message)


async def test_the_range_messages_name_the_line_that_called_the_validator(lua):
    code = """
        local function take(n)
            local ok, err = pcall(function()
                cru.check.number(n, "count", { min = 1, max = 100 }) -- the check
            end)
            return err
        end
        return take(0), take(101), take(0.5)
    """
    line = line_of(code, "-- the check")
    low, high, fractional = await lua.eval(code)
    assert re.fullmatch(rf"test\[\d+\]:{line}: count: must be >= 1, got 0", low)
    assert re.fullmatch(rf"test\[\d+\]:{line}: count: must be <= 100, got 101", high)
    assert fractional.endswith("count: must be >= 1, got 0.5")


async def test_range_bounds_and_values_are_formatted_as_lua_prints_them(lua):
    code = """
        local ok, err = pcall(cru.check.number, 2.0, "ratio", { max = 1.0 })
        return err
    """
    assert await lua.eval(code) == "ratio: must be <= 1.0, got 2.0"


async def test_the_bounds_are_inclusive(lua):
    code = """
        cru.check.number(1, "n", { min = 1, max = 1 })
        return "ok"
    """
    assert await lua.eval(code) == "ok"


async def test_one_of_lists_the_choices_and_names_the_calling_line(lua):
    code = """
        local format = "xml"
        cru.check.one_of(format, { "json", "text", "yaml" }, "format") -- the check
    """
    err = await lua.error(code)
    expected = r"format: must be one of \[json, text, yaml\], got xml"
    assert re.fullmatch(rf"test\[\d+\]:{line_of(code, '-- the check')}: {expected}", err.message)


async def test_one_of_accepts_number_choices_and_reports_nil(lua):
    code = """
        cru.check.one_of(2, { 1, 2, 3 }, "level")
        local ok, err = pcall(cru.check.one_of, nil, { 1, 2 }, "level")
        return err
    """
    assert await lua.eval(code) == "level: must be one of [1, 2], got nil"


async def test_one_of_with_choices_that_are_not_strings_fails_in_table_concat(lua):
    err = await lua.error('cru.check.one_of("x", { {} }, "kind")')
    assert re.search(r"invalid value .*index 1.* in table for 'concat'", err.message)


async def test_optional_accepts_nil_and_nothing_else(lua):
    code = """
        cru.check.string(nil, "a", { optional = true })
        cru.check.number(nil, "b", { optional = true, min = 5 })
        cru.check.boolean(nil, "c", { optional = true })
        cru.check.table(nil, "d", { optional = true })
        cru.check.func(nil, "e", { optional = true })
        cru.check.one_of(nil, { "x" }, "f", { optional = true })
        local ok1, e1 = pcall(function() cru.check.string(false, "a", { optional = true }) end)
        local ok2, e2 = pcall(function() cru.check.one_of(false, { "x" }, "f", { optional = true }) end)
        return ok1, e1, ok2, e2
    """
    ok1, e1, ok2, e2 = await lua.eval(code)
    assert (ok1, ok2) == (False, False)
    assert e1.endswith("a: expected string, got boolean")
    assert e2.endswith("f: must be one of [x], got false")


async def test_numbers_are_not_coerced_from_strings(lua):
    err = await lua.error('cru.check.number("42", "count")')
    assert err.message.endswith("count: expected number, got string")


async def test_crucible_check_is_the_same_table(lua):
    assert await lua.eval("return rawequal(cru.check, crucible.check)") is True
