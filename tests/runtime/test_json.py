"""cru.json: the reference's encode/decode/array (reference §3.2), plus cru.json.null.

Besides the rules one by one, three cross-checks against independent implementations:
floats against Python's shortest repr laid out as ryu does, whole documents against Python's
json module, and the fast decoder against the exact (serde_json) one on thousands of mutated
documents, with Python's json as the judge of what is valid.
"""

from __future__ import annotations

import json
import math
import random
import re
import struct
import threading
from typing import Any

import pytest

from crucible_kernel.runtime import TaskState

POSITION = re.compile(r"^test\[\d+\]:\d+: ")


def put(lua: Any, **values: Any) -> None:
    """Set Lua globals (str as bytes, lists and dicts as plain tables)."""
    g = lua.runtime.lua.globals()
    for name, value in values.items():
        g[name.encode()] = lua.runtime.to_lua(value)


async def message(lua: Any, code: str) -> str:
    """The error `code` raises, without the position prefix (which the error must have)."""
    error = await lua.error(code)
    assert POSITION.match(error.message), error.message
    return POSITION.sub("", error.message)


def dumps(value: Any) -> str:
    """What cru.json.encode writes, for values whose floats Python also writes that way."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def ryu(x: float) -> str:
    """serde_json's float text: Python's shortest digits (repr) in ryu's layout."""
    if math.isnan(x) or math.isinf(x):
        return "null"
    if x == 0:
        return "-0.0" if math.copysign(1, x) < 0 else "0.0"
    sign, text = ("-", repr(-x)) if x < 0 else ("", repr(x))
    mantissa, _, exponent = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    digits = (whole + fraction).lstrip("0")
    k = (int(exponent) if exponent else 0) - len(fraction)
    stripped = digits.rstrip("0")
    k += len(digits) - len(stripped)
    digits = stripped
    kk = len(digits) + k
    if k >= 0 and kk <= 16:
        return f"{sign}{digits}{'0' * k}.0"
    if 0 < kk <= 16:
        return f"{sign}{digits[:kk]}.{digits[kk:]}"
    if -5 < kk <= 0:
        return f"{sign}0.{'0' * -kk}{digits}"
    if len(digits) == 1:
        return f"{sign}{digits}e{kk - 1}"
    return f"{sign}{digits[0]}.{digits[1:]}e{kk - 1}"


# The contract (the cru.json examples of the Lua runtime API)


async def test_the_contract_example_encodes_with_sorted_keys_and_no_spaces(lua):
    assert (
        await lua.eval('return cru.json.encode({ name = "Alice", age = 30 })') == '{"age":30,"name":"Alice"}'
    )


async def test_the_contract_example_decodes_to_a_table_with_its_fields(lua):
    code = """local tbl = cru.json.decode('{"name":"Alice","age":30}')
              return tbl.name, tbl.age"""
    assert await lua.eval(code) == ("Alice", 30)


# Where the functions are


async def test_the_module_is_a_plain_table_of_real_functions_in_both_namespaces(lua):
    code = """local json = rawget(cru, "json")
              return type(json), getmetatable(json) == nil, crucible.json == json,
                     type(rawget(json, "encode")), type(rawget(json, "decode")), type(rawget(json, "array"))"""
    assert await lua.eval(code) == ("table", True, True, "function", "function", "function")


async def test_crucible_json_encode_and_decode_are_the_same_functions_as_cru_json(lua):
    code = """return rawequal(crucible.json_encode, cru.json.encode),
                     rawequal(crucible.json_decode, cru.json.decode)"""
    assert await lua.eval(code) == (True, True)


# Encoding: arrays and objects


async def test_a_sequence_encodes_as_an_array(lua):
    assert await lua.eval("return cru.json.encode({1, 'two', true, 4.5})") == '[1,"two",true,4.5]'


async def test_an_empty_table_encodes_as_an_object(lua):
    assert await lua.eval("return cru.json.encode({})") == "{}"


async def test_a_table_marked_with_json_array_encodes_as_an_array_even_when_empty(lua):
    assert await lua.eval("return cru.json.encode(cru.json.array({}))") == "[]"
    assert await lua.eval("return cru.json.encode({items = cru.json.array({})})") == '{"items":[]}'


async def test_a_mixed_table_encodes_its_sequence_and_drops_the_other_keys(lua):
    assert await lua.eval("return cru.json.encode({1, 2, x = 3})") == "[1,2]"


async def test_holes_inside_the_sequence_encode_as_null(lua):
    assert await lua.eval("local t = {1, 2, 3, 4} t[2] = nil return cru.json.encode(t)") == "[1,null,3,4]"


async def test_a_table_whose_length_is_zero_encodes_as_an_object_with_decimal_keys(lua):
    assert await lua.eval("return cru.json.encode({[2] = 'b'})") == '{"2":"b"}'
    assert (
        await lua.eval("return cru.json.encode({[-1] = 'a', [10] = 'b', x = 1})")
        == '{"-1":"a","10":"b","x":1}'
    )


async def test_an_integer_key_and_the_same_string_key_both_go_out_with_their_own_values(lua):
    assert await lua.eval("return cru.json.encode({[5] = 'int', ['5'] = 'str'})") in (
        '{"5":"int","5":"str"}',
        '{"5":"str","5":"int"}',
    )


@pytest.mark.parametrize("key", ["1.5", "true", "{}"])
async def test_a_float_boolean_or_table_key_is_refused(lua, key):
    assert (
        await message(lua, f"local s = cru.json.encode({{[{key}] = 1}}) return s") == "key must be a string"
    )


async def test_object_keys_are_sorted_bytewise(lua):
    code = "return cru.json.encode({b = 1, a = 2, B = 3, _ = 4, ['é'] = 5, aa = 6, [''] = 7})"
    assert await lua.eval(code) == '{"":7,"B":3,"_":4,"a":2,"aa":6,"b":1,"é":5}'


async def test_array_metatable_encoding_takes_only_the_sequence(lua):
    code = "local t = cru.json.array({1, 2}) t.x = 'dropped' return cru.json.encode(t)"
    assert await lua.eval(code) == "[1,2]"


async def test_a_metatable_with_index_does_not_fill_holes(lua):
    code = """local t = setmetatable({1, 2, 3}, {__index = function() return "filled" end})
              t[2] = nil
              return cru.json.encode(t)"""
    assert await lua.eval(code) == "[1,null,3]"


async def test_nested_structures_encode_recursively(lua):
    code = "return cru.json.encode({a = {b = {c = {1, {d = 'e'}}}}, z = {}})"
    assert await lua.eval(code) == '{"a":{"b":{"c":[1,{"d":"e"}]}},"z":{}}'


async def test_objects_of_other_sizes_side_by_side_keep_only_their_own_keys(lua):
    code = (
        """return cru.json.encode({{c = 1, b = 2, a = 3}, {z = 1}, {[2] = "x", y = 2}, {}, {q = {p = 1}}})"""
    )
    assert await lua.eval(code) == '[{"a":3,"b":2,"c":1},{"z":1},{"2":"x","y":2},{},{"q":{"p":1}}]'


async def test_records_of_one_shape_and_then_another_each_go_out_sorted(lua):
    code = """local function rec(n, skip) local t = {} for i = n, 1, -1 do if i ~= skip then t["k" .. i] = i end end return t end
              return cru.json.encode({rec(3), rec(3), rec(2), rec(3), rec(4), rec(4, 2), rec(4), {k1 = 1, [7] = 7}})"""
    assert await lua.eval(code) == (
        '[{"k1":1,"k2":2,"k3":3},{"k1":1,"k2":2,"k3":3},{"k1":1,"k2":2},{"k1":1,"k2":2,"k3":3},'
        '{"k1":1,"k2":2,"k3":3,"k4":4},{"k1":1,"k3":3,"k4":4},{"k1":1,"k2":2,"k3":3,"k4":4},{"7":7,"k1":1}]'
    )


async def test_the_same_table_twice_is_not_a_cycle(lua):
    assert await lua.eval("local t = {1} return cru.json.encode({t, t, {t}})") == "[[1],[1],[[1]]]"


async def test_deep_nesting_encodes(lua):
    code = "local t = {} for i = 1, 5000 do t = {t} end return cru.json.encode(t)"
    assert await lua.eval(code) == "[" * 5000 + "{}" + "]" * 5000


# Encoding: scalars


async def test_scalars_encode_at_the_top_level(lua):
    assert await lua.eval("return cru.json.encode(nil), cru.json.encode(true), cru.json.encode('x')") == (
        "null",
        "true",
        '"x"',
    )


async def test_integers_encode_as_integer_literals(lua):
    code = "return cru.json.encode({0, -7, 42, math.maxinteger, math.mininteger})"
    assert await lua.eval(code) == "[0,-7,42,9223372036854775807,-9223372036854775808]"


@pytest.mark.parametrize(
    ("lua_value", "text"),
    [
        ("1.0", "1.0"),
        ("1e16", "1e16"),
        ("1.5e-7", "1.5e-7"),
        ("1e15", "1000000000000000.0"),
        ("0.0001", "0.0001"),
        ("1e-5", "0.00001"),
        ("1e-6", "1e-6"),
        ("0.1", "0.1"),
        ("-0.0", "-0.0"),
        ("0.0", "0.0"),
        ("-2.5", "-2.5"),
        ("100.0", "100.0"),
        ("123.456", "123.456"),
        ("1/3", "0.3333333333333333"),
        ("2^53 + 0.0", "9007199254740992.0"),
        ("2^60 + 0.0", "1.152921504606847e18"),
        ("1e21", "1e21"),
        ("1.7976931348623157e308", "1.7976931348623157e308"),
        ("5e-324", "5e-324"),
        ("2.2250738585072014e-308", "2.2250738585072014e-308"),
    ],
)
async def test_floats_encode_in_ryus_shortest_form(lua, lua_value, text):
    assert await lua.eval(f"return cru.json.encode({lua_value})") == text


async def test_float_text_matches_pythons_shortest_digits_laid_out_as_ryu_does(lua):
    rnd = random.Random(20240601)
    floats = [struct.unpack("<d", struct.pack("<Q", rnd.getrandbits(64)))[0] for _ in range(3000)]
    floats += [rnd.random() * 10.0 ** rnd.randint(-12, 22) for _ in range(3000)]
    floats += [2.0**e for e in range(-1074, 1024, 7)] + [-(2.0**e) for e in range(-1022, 1024, 11)]
    floats += [math.nextafter(10.0**e, math.inf) for e in range(-300, 300, 3)]
    floats = [x for x in floats if math.isfinite(x)]
    put(lua, FLOATS=floats)
    text = await lua.eval("return cru.json.encode(FLOATS)")
    assert text.strip("[]").split(",") == [ryu(x) for x in floats]


async def test_nan_and_infinities_encode_as_null(lua):
    assert await lua.eval("return cru.json.encode({0/0, math.huge, -math.huge})") == "[null,null,null]"


async def test_strings_are_escaped_like_serde_json(lua):
    code = r"""return cru.json.encode('q" b\\ n\n r\r t\t b\b f\f nul\0 us\31 del\127 / é')"""
    assert await lua.eval(code) == r'"q\" b\\ n\n r\r t\t b\b f\f nul\u0000 us\u001f del' + '\x7f / é"'


async def test_every_control_character_has_an_escape(lua):
    text = await lua.eval(
        "local t = {} for b = 0, 31 do t[#t + 1] = string.char(b) end return cru.json.encode(table.concat(t))"
    )
    assert json.loads(text) == "".join(chr(b) for b in range(32))
    assert "\\u000b" in text and "\\u001e" in text  # lowercase hex, as serde writes


async def test_non_ascii_text_is_written_raw(lua):
    assert await lua.eval("return cru.json.encode({'naïve 東京 🎉'})") == '["naïve 東京 🎉"]'


async def test_a_string_that_is_not_utf8_encodes_as_an_array_of_bytes(lua):
    assert await lua.eval(r"return cru.json.encode('\255ab')") == "[255,97,98]"
    assert await lua.eval(r"return cru.json.encode({s = 'ok\192'})") == '{"s":[111,107,192]}'
    assert await lua.eval(r"return cru.json.encode('\237\160\128')") == "[237,160,128]"  # a surrogate


async def test_a_long_string_that_is_not_utf8_keeps_every_byte(lua):
    text = await lua.eval("return cru.json.encode(string.rep('\\255', 10000))")
    assert json.loads(text) == [255] * 10000


async def test_a_key_that_is_not_utf8_is_refused(lua):
    assert await message(lua, r"local s = cru.json.encode({['\255'] = 1}) return s") == "key must be a string"


async def test_the_null_sentinel_encodes_as_null(lua):
    assert (
        await lua.eval("return cru.json.encode({cru.json.null, {a = cru.json.null}})") == '[null,{"a":null}]'
    )


@pytest.mark.parametrize(
    ("value", "kind"),
    [("print", "function"), ("coroutine.create(print)", "thread"), ("cru.ratelimit.new({})", "userdata")],
)
async def test_values_json_cannot_hold_are_refused(lua, value, kind):
    assert (
        await message(lua, f"local s = cru.json.encode({{x = {{{value}}}}}) return s")
        == f"cannot serialize <{kind}>"
    )


async def test_a_table_that_contains_itself_is_refused(lua):
    assert await message(lua, "local t = {} t.self = t local s = cru.json.encode(t) return s") == (
        "recursive table detected"
    )
    code = "local a, b = {}, {} a[1] = b b.a = a local s = cru.json.encode({a}) return s"
    assert await message(lua, code) == "recursive table detected"


async def test_encode_matches_pythons_json_on_a_realistic_document(lua):
    rnd = random.Random(5)
    words = [
        "alpha",
        "naïve",
        "東京",
        "emoji 🎉",
        "line\nbreak",
        'q"uote',
        "tab\t",
        "back\\slash",
        "a/b",
        "\x01",
    ]
    doc = {
        "records": [
            {
                "id": i,
                "name": " ".join(rnd.choice(words) for _ in range(3)),
                "score": round(rnd.uniform(0.001, 1e6), rnd.randint(0, 6)),
                "flags": [rnd.random() < 0.5 for _ in range(rnd.randint(0, 3))],
                "meta": {"owner": {"id": rnd.randint(-5, 5)}, "note": None, "tags": []},
            }
            for i in range(300)
        ],
        "empty": {},
    }
    put(lua, TEXT=dumps(doc))
    assert await lua.eval("return cru.json.encode(cru.json.decode(TEXT))") == dumps(doc)


# Decoding


async def test_objects_decode_to_plain_tables(lua):
    assert await lua.eval("""return getmetatable(cru.json.decode('{"a":1}')) == nil""") is True


async def test_arrays_decode_with_the_array_metatable_and_re_encode_as_arrays(lua):
    code = """local a, e, o = cru.json.decode('[1,2]'), cru.json.decode('[]'), cru.json.decode('{}')
              return getmetatable(a) ~= nil, getmetatable(a) == getmetatable(e), #a,
                     cru.json.encode(a), cru.json.encode(e), cru.json.encode(o)"""
    assert await lua.eval(code) == (True, True, 2, "[1,2]", "[]", "{}")


async def test_json_null_decodes_to_one_truthy_userdata_that_prints_like_mluas(lua):
    code = """local a = cru.json.decode('[null]')[1]
              local b = cru.json.decode('{"s":null}').s
              local c = cru.json.decode('null')
              return type(a), rawequal(a, b), rawequal(b, c), a == cru.json.null, a and "truthy" or "falsy",
                     tostring(a)"""
    assert await lua.eval(code) == ("userdata", True, True, True, "truthy", "userdata: (nil)")


async def test_null_and_decoded_arrays_read_like_mluas_values_in_messages(lua):
    assert await lua.eval("return tostring(cru.json.decode('[1]')):match('^table: ') ~= nil") is True
    error = await lua.error("local v = cru.json.null.field return v")
    assert "attempt to index a userdata value" in error.message


async def test_nulls_in_an_array_leave_no_holes_and_encode_back_as_null(lua):
    code = """local t = cru.json.decode('[1,null,null]')
              return #t, cru.json.encode(t)"""
    assert await lua.eval(code) == (3, "[1,null,null]")


async def test_numbers_keep_the_integer_or_float_subtype(lua):
    code = """local t = cru.json.decode('[1, -2, 0, -0, 1.0, 1e2, 2.5E-3, -0.0, 12.75]')
              local out = {}
              for i, v in ipairs(t) do out[i] = math.type(v) .. ":" .. tostring(v) end
              return table.concat(out, " ")"""
    assert await lua.eval(code) == (
        "integer:1 integer:-2 integer:0 integer:0 float:1.0 float:100.0 float:0.0025 float:-0.0 float:12.75"
    )


async def test_integers_beyond_64_bits_become_floats(lua):
    code = """local t = cru.json.decode([[ [9223372036854775807, -9223372036854775808, 9223372036854775808,
                                            -9223372036854775809, 123456789012345678901234567890] ]])
              local out = {}
              for i, v in ipairs(t) do out[i] = math.type(v) end
              return table.concat(out, " "), t[1] == math.maxinteger, t[2] == math.mininteger, t[3] == 2^63"""
    assert await lua.eval(code) == ("integer integer float float float", True, True, True)


async def test_scalars_decode_at_the_top_level(lua):
    code = """return cru.json.decode('3'), cru.json.decode('"x"'), cru.json.decode('true'),
                     cru.json.decode(' false '), cru.json.decode('-1.5')"""
    assert await lua.eval(code) == (3, "x", True, False, -1.5)


async def test_a_number_argument_is_read_as_its_lua_text(lua):
    code = "return cru.json.decode(5), math.type(cru.json.decode(5)), cru.json.decode(1.5), math.type(cru.json.decode(2.0))"
    assert await lua.eval(code) == (5, "integer", 1.5, "float")


async def test_escapes_decode_including_surrogate_pairs(lua):
    put(lua, TEXT=r'"q\" b\\ s\/ \b\f\n\r\t \u0041\u00e9\u6771 \ud83c\udf89 \\u0041 \u005cn \u0000"')
    assert await lua.eval("return cru.json.decode(TEXT)") == 'q" b\\ s/ \b\f\n\r\t Aé東 🎉 \\u0041 \\n \x00'


async def test_unicode_escapes_decode_the_same_the_first_time_and_from_the_cache(lua):
    words = ["café", "東京", "🎉", "\\u0041", "\\", 'a"b', "tab\t", "Ωmega 🎉 é"]
    doc = [{"w": w, "pair": [w, w + "!"]} for w in words] * 3
    put(lua, TEXT=json.dumps(doc))  # ensure_ascii: every non-ASCII character as \u escapes
    code = "return cru.json.encode(cru.json.decode(TEXT)), cru.json.encode(cru.json.decode(TEXT))"
    first, again = await lua.eval(code)
    assert json.loads(first) == doc
    assert again == first


async def test_raw_unicode_decodes_unchanged(lua):
    put(lua, TEXT='{"k":"naïve 東京 🎉","東":1}')
    assert await lua.eval("local t = cru.json.decode(TEXT) return t.k, t['東']") == ("naïve 東京 🎉", 1)


async def test_duplicate_keys_keep_the_last_value(lua):
    assert await lua.eval("""return cru.json.decode('{"a":1,"a":2}').a""") == 2


async def test_whitespace_between_tokens_is_allowed(lua):
    doc = {"a": [1, 2.5, "x", None, True, {"b": []}], "c": {"d": "e\nf"}, "g": -3}
    put(lua, PRETTY=json.dumps(doc, indent=2), SPACED=json.dumps(doc), TABS=json.dumps(doc, indent="\t"))
    code = "return cru.json.encode(cru.json.decode(PRETTY)), cru.json.encode(cru.json.decode(SPACED)), cru.json.encode(cru.json.decode(TABS))"
    assert await lua.eval(code) == (dumps(doc),) * 3


async def test_deep_nesting_decodes_up_to_serdes_limit(lua):
    put(lua, OK="[" * 127 + "]" * 127, DEEP="[" * 128 + "]" * 128)
    assert await lua.eval("local t = cru.json.decode(OK) for i = 1, 126 do t = t[1] end return #t") == 0
    assert (
        await message(lua, "local t = cru.json.decode(DEEP) return t")
        == "recursion limit exceeded at line 1 column 128"
    )


async def test_a_large_document_decodes_like_pythons_json(lua):
    rnd = random.Random(9)
    words = ["alpha", "beta", "naïve", "東京", "emoji 🎉", "line\nbreak", 'q"uote', "tab\t", "a/b", "é\\"]
    doc = [
        {
            "id": i,
            "uuid": f"{rnd.getrandbits(64):016x}",
            "name": " ".join(rnd.choice(words) for _ in range(3)),
            "score": rnd.random() * 100,
            "neg": -rnd.randint(0, 10**12),
            "ok": rnd.random() < 0.5,
            "note": None if rnd.random() < 0.3 else rnd.choice(words),
            "tags": [rnd.choice(words) for _ in range(rnd.randint(0, 4))],
            "nums": [rnd.choice([0, 1, -1, 2.5, 1e-7, 3e20, 10**15]) for _ in range(rnd.randint(0, 4))],
            "nested": {"a": {"b": [{"c": i}]}} if i % 3 else {},
        }
        for i in range(1500)
    ]
    for text in (
        json.dumps(doc, separators=(",", ":"), ensure_ascii=False),
        json.dumps(doc),
        json.dumps(doc, indent=1),
    ):
        put(lua, TEXT=text)
        assert json.loads(await lua.eval("return cru.json.encode(cru.json.decode(TEXT))")) == doc


async def test_a_decode_from_a_finalizer_during_a_decode_leaves_both_right(lua):
    doc = [{"id": i, "name": f"n{i}", "xs": [i, 2.5, None], "o": {"k": "v"}} for i in range(20000)]
    put(lua, TEXT=json.dumps(doc, separators=(",", ":")))
    code = """local good = 0
              for i = 1, 5000 do
                setmetatable({}, {__gc = function()
                  local v = cru.json.decode('[{"a":[1,2]},{"a":[3]}]')
                  if v[2].a[1] == 3 then good = good + 1 end
                end})
              end
              local s = cru.json.encode(cru.json.decode(TEXT))
              return s, good"""
    text, good = await lua.eval(code)
    assert json.loads(text) == doc
    assert good > 0


# Decoding errors, with serde_json's messages and positions


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "EOF while parsing a value at line 1 column 0"),
        ("   ", "EOF while parsing a value at line 1 column 3"),
        ("x", "expected value at line 1 column 1"),
        ("[1] x", "trailing characters at line 1 column 5"),
        ("1 2", "trailing characters at line 1 column 3"),
        ("0x10", "trailing characters at line 1 column 2"),
        ("[1,]", "trailing comma at line 1 column 4"),
        ('{"a":1,}', "trailing comma at line 1 column 8"),
        ("[\n  1,\n  2,\n]", "trailing comma at line 4 column 1"),
        ("[1 2]", "expected `,` or `]` at line 1 column 4"),
        ('{"a":1 "b":2}', "expected `,` or `}` at line 1 column 8"),
        ('{"a" 1}', "expected `:` at line 1 column 6"),
        ("{1:2}", "key must be a string at line 1 column 2"),
        ("{'a':1}", "key must be a string at line 1 column 2"),
        ("[", "EOF while parsing a list at line 1 column 1"),
        ("[1,2", "EOF while parsing a list at line 1 column 4"),
        ("{", "EOF while parsing an object at line 1 column 1"),
        ('{"a"', "EOF while parsing an object at line 1 column 4"),
        ('{"a":', "EOF while parsing a value at line 1 column 5"),
        ('{"a":1', "EOF while parsing an object at line 1 column 6"),
        ('"abc', "EOF while parsing a string at line 1 column 4"),
        ('"\\u12"', "EOF while parsing a string at line 1 column 6"),
        ('"\\uZZZZ"', "invalid escape at line 1 column 7"),
        ('"\\x"', "invalid escape at line 1 column 3"),
        ('"\\ud800"', "unexpected end of hex escape at line 1 column 8"),
        ('"\\ud800\\n"', "unexpected end of hex escape at line 1 column 9"),
        ('"\\udc00x"', "lone leading surrogate in hex escape at line 1 column 7"),
        ('"\\ud800\\u0041"', "lone leading surrogate in hex escape at line 1 column 13"),
        ('"a\tb"', "control character (\\u0000-\\u001F) found while parsing a string at line 1 column 3"),
        ("01", "invalid number at line 1 column 2"),
        ("-01", "invalid number at line 1 column 3"),
        ("1.", "EOF while parsing a value at line 1 column 2"),
        ("1.e5", "invalid number at line 1 column 3"),
        ("1e", "EOF while parsing a value at line 1 column 2"),
        ("1.5e+", "EOF while parsing a value at line 1 column 5"),
        ("-", "EOF while parsing a value at line 1 column 1"),
        ("-Infinity", "invalid number at line 1 column 2"),
        ("NaN", "expected value at line 1 column 1"),
        ("1e400", "number out of range at line 1 column 5"),
        ("-1e99999999999999", "number out of range at line 1 column 13"),
        ("1" + "0" * 400, "number out of range at line 1 column 401"),
        ("[-1" + "0" * 400 + "]", "number out of range at line 1 column 403"),
        ('[{"a":1},{"a":1' + "0" * 400 + "}]", "number out of range at line 1 column 415"),
        ('[{"a":1.5},{"a":1' + "0" * 400 + ".5}]", "number out of range at line 1 column 419"),
        ("nul", "EOF while parsing a value at line 1 column 3"),
        ("nulx", "expected ident at line 1 column 4"),
        ("tru", "EOF while parsing a value at line 1 column 3"),
        ("// comment\n1", "expected value at line 1 column 1"),
        ('{\n  "a": [1,\n    2 3]\n}', "expected `,` or `]` at line 3 column 7"),
    ],
)
async def test_invalid_json_raises_serde_jsons_message(lua, text, error):
    put(lua, TEXT=text)
    assert await message(lua, "local v = cru.json.decode(TEXT) return v") == error


async def test_tiny_exponents_and_zero_significands_are_not_out_of_range(lua):
    code = "return cru.json.decode('1e-99999999999999'), cru.json.decode('0e99999999999999'), cru.json.decode('-1e-400')"
    assert await lua.eval(code) == (0.0, 0.0, -0.0)


async def test_decode_refuses_a_table(lua):
    assert await message(lua, "local v = cru.json.decode({}) return v") == (
        "bad argument #1 to 'decode' (string expected, got table)"
    )


async def test_decode_refuses_text_that_is_not_utf8_before_parsing_it(lua):
    put(lua, BAD=b'"ab\xff"', CUT=b'"ab\xe2\x82')
    assert await message(lua, "local v = cru.json.decode(BAD) return v") == (
        "bad argument #1 to 'decode' (invalid UTF-8: invalid utf-8 sequence of 1 bytes from index 3)"
    )
    assert await message(lua, "local v = cru.json.decode(CUT) return v") == (
        "bad argument #1 to 'decode' (invalid UTF-8: incomplete utf-8 byte sequence from index 3)"
    )


async def test_errors_name_the_users_line(lua):
    error = await lua.error("local x = 1\nlocal v = cru.json.decode('[1,')\nreturn v")
    assert re.match(r"^test\[\d+\]:2: EOF while parsing a value at line 1 column 3$", error.message)


def mutants(seed_docs: list[str], count: int, rnd: random.Random) -> list[str]:
    """Truncations and one-byte edits (at ASCII positions, so the text stays UTF-8)."""
    alphabet = list('{}[],:"\\0123456789-+.eEnultrfasx \n\t\x01/')
    out = []
    for doc in seed_docs:
        ascii_at = [i for i, c in enumerate(doc) if ord(c) < 128]
        out += [doc[:i] for i in range(0, len(doc), max(1, len(doc) // 40))]
        for _ in range(count):
            i = rnd.choice(ascii_at)
            edit = rnd.random()
            if edit < 0.5:
                out.append(doc[:i] + rnd.choice(alphabet) + doc[i + 1 :])
            elif edit < 0.75:
                out.append(doc[:i] + doc[i + 1 :])
            else:
                out.append(doc[:i] + rnd.choice(alphabet) + doc[i:])
    return out


def python_verdict(text: str) -> Any:
    """Python's json as the judge of validity, with serde's extra refusals (NaN and infinities,
    numbers out of range, lone surrogates); None when invalid."""

    def refuse(_: str) -> None:
        raise ValueError("constant")

    try:
        value = json.loads(text, parse_constant=refuse)
        json.dumps(value, allow_nan=False).encode("utf-8")
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (ValueError, UnicodeEncodeError):
        return None
    return value


async def test_the_fast_decoder_agrees_with_the_exact_one_and_with_pythons_json_on_mutated_documents(lua):
    rnd = random.Random(77)
    base = {
        "id": 12,
        "name": 'naïve "q" \\ 東京',
        "vals": [1, -2, 0.5, -0.25, 1e-3, 12.5, 0, True, False, None, "s", [], {}],
        "obj": {"k": {"x": [{"a": 1, "b": "c"}, {"a": 2, "b": "d\ne"}]}, "esc": "é🎉 \u0001"},
    }
    seeds = [
        json.dumps(base, separators=(",", ":"), ensure_ascii=False),
        json.dumps(base),
        json.dumps(base, indent=2),
        json.dumps([base, base]),
    ]
    cases = mutants(seeds, 700, rnd)
    module = lua.runtime.lua_module("json")  # a second instance, with the parsers exposed
    put(lua, CASES=cases)
    lua.runtime.lua.globals()[b"J"] = module
    code = """
    local out = {}
    for i, text in ipairs(CASES) do
      local fast_ok, fast = pcall(J.decode_fast, text)
      local exact_ok, exact = pcall(J.decode_exact, text)
      local public_ok, public = pcall(J.decode, text)
      if fast_ok and not exact_ok then return "fast accepted what exact refuses: " .. text end
      if fast_ok and J.encode(fast) ~= J.encode(exact) then return "fast and exact differ: " .. text end
      if public_ok ~= exact_ok then return "decode and exact disagree: " .. text end
      if exact_ok then
        out[i] = J.encode(exact)
      elseif type(exact) == "table" and exact.json_error and tostring(public):find(exact.json_error, 1, true) then
        out[i] = false
      else
        return "unexpected error for " .. text .. ": " .. tostring(exact) .. " / " .. tostring(public)
      end
    end
    return out
    """
    result = await lua.eval(code)
    assert not isinstance(result, str), result
    accepted = 0
    for i, text in enumerate(cases, start=1):
        ours = result[i]
        expected = python_verdict(text)
        if expected is None:
            assert ours is False, f"accepted invalid JSON: {text!r}"
        else:
            assert ours is not False, f"refused valid JSON: {text!r}"
            assert json.loads(ours) == expected, text
            accepted += 1
    assert accepted > 100  # the mutations left enough valid documents to compare


# cru.json.array


async def test_json_array_marks_and_returns_the_same_table(lua):
    code = """local t = {1}
              local r = cru.json.array(t)
              return rawequal(r, t), getmetatable(t) == getmetatable(cru.json.decode('[]'))"""
    assert await lua.eval(code) == (True, True)


async def test_json_array_replaces_any_metatable_even_a_protected_one(lua):
    code = """local t = setmetatable({}, {__metatable = "locked"})
              cru.json.array(t)
              return cru.json.encode(t)"""
    assert await lua.eval(code) == "[]"


async def test_json_array_refuses_what_is_not_a_table(lua):
    assert await message(lua, "local t = cru.json.array(5) return t") == (
        "bad argument #1 to 'array' (table expected, got number)"
    )


# Interrupts and the count hook


async def test_a_big_decode_and_encode_leave_the_interrupt_hook_as_they_found_it(lua):
    put(lua, TEXT=json.dumps([{"a": i, "b": [i, str(i)]} for i in range(20000)]))
    await lua.eval("""local v = cru.json.decode(TEXT)
                      local s = cru.json.encode(v)
                      local ok = pcall(cru.json.decode, TEXT .. ",")""")
    timer = threading.Timer(0.1, lua.runtime.interrupt)
    timer.start()
    task = await lua.run("cru.json.encode(cru.json.decode(TEXT)) while true do end")
    timer.join()
    assert task.state is TaskState.CANCELLED and task.stop == "interrupted"


async def test_a_users_hook_stays_in_place_through_a_big_encode(lua):
    put(lua, TEXT=json.dumps([{"a": i} for i in range(20000)]))
    code = """local calls = 0
              debug.sethook(function() calls = calls + 1 end, "", 1000)
              cru.json.encode(cru.json.decode(TEXT))
              local f, mask, count = debug.gethook()
              debug.sethook()
              return calls > 0, mask, count"""
    assert await lua.eval(code) == (True, "", 1000)


async def test_encode_never_runs_the_array_metatables_index(lua):
    # The array metatable is shared; a looping __index on it once froze encode with the
    # interrupt hook off.
    code = """local arr = cru.json.decode("[1, null, 3]")
              arr[2] = nil
              getmetatable(arr).__index = function() while true do end end
              local s = cru.json.encode({xs = arr})
              getmetatable(arr).__index = nil
              return s"""
    assert await lua.eval(code) == '{"xs":[1,null,3]}'


@pytest.mark.parametrize("operation", ["decode", "encode"])
async def test_an_interrupt_stops_a_long_decode_or_encode(lua, operation):
    doc = [{"id": i, "name": f"n{i}", "xs": [i, i + 1, 2.5]} for i in range(300_000)]
    put(lua, TEXT=json.dumps(doc, separators=(",", ":")))
    await lua.eval("DOC = cru.json.decode(TEXT)")
    call = "cru.json.decode(TEXT)" if operation == "decode" else "cru.json.encode(DOC)"
    timer = threading.Timer(0.05, lua.runtime.interrupt)
    timer.start()
    try:
        task = await lua.run(f"local v = {call} return 'finished'")
    finally:
        timer.cancel()
    # A single call with nothing after it: only the checks inside it can have seen the interrupt.
    assert task.state is TaskState.CANCELLED and task.stop == "interrupted"
