"""cru.oq: parsing and writing JSON, YAML, TOML and TOON, detection, jq queries, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

DOC = """{
  name = "Alice", age = 30, ratio = 0.5, admin = true,
  tags = {"a", "b"}, nested = {deep = {x = 1}}, empty_list = cru.json.array({}),
}"""


async def encoded(lua, expr: str) -> dict:
    return json.loads(await lua.eval(f"return cru.json.encode({expr})"))


async def test_oq_is_a_global_the_same_table_under_cru_and_crucible_and_its_null_is_json_null(lua):
    assert await lua.eval("return oq == cru.oq and oq == crucible.oq, oq.null == cru.json.null")
    assert await lua.eval("return oq.json({a = oq.null, b = cru.json.null})") == '{"a":null,"b":null}'
    assert await lua.eval("return oq.parse('{\"v\": null}').v == oq.null")


@pytest.mark.parametrize("fmt", ["json", "yaml", "toml", "toon"])
async def test_every_format_round_trips(lua, fmt):
    original = await encoded(lua, DOC)
    back = await encoded(lua, f'oq.parse_as(oq.convert({DOC}, "{fmt}"), "{fmt}")')
    assert back == original


@pytest.mark.parametrize("fmt", ["json", "yaml", "toml"])
async def test_parse_detects_what_each_writer_produced(lua, fmt):
    assert await lua.eval(f'return oq.detect(oq.convert({DOC}, "{fmt}"))') == fmt
    assert await encoded(lua, f'oq.parse(oq.convert({DOC}, "{fmt}"))') == await encoded(lua, DOC)


async def test_flat_toon_is_detected_and_nested_toon_reads_as_yaml_as_in_the_reference(lua):
    flat = "{name = 'Alice', age = 30}"
    assert await lua.eval(f"return oq.detect(oq.toon({flat}))") == "toon"
    assert await encoded(lua, f"oq.parse(oq.toon({flat}))") == {"name": "Alice", "age": 30}
    assert await lua.eval(f"return oq.detect(oq.toon({DOC}))") == "yaml"  # indented keys


async def test_the_writers_layouts(lua):
    assert await lua.eval("return oq.json({b = 1, a = {1, 2}})") == '{"a":[1,2],"b":1}'
    assert await lua.eval("return oq.json_pretty({b = 1.0, a = {1, 2}, e = {}, s = 'x,:{'})") == (
        '{\n  "a": [\n    1,\n    2\n  ],\n  "b": 1.0,\n  "e": {},\n  "s": "x,:{"\n}'
    )
    assert (
        await lua.eval("return oq.yaml({name = 'Alice', list = {1, 2}})") == "list:\n- 1\n- 2\nname: Alice\n"
    )
    assert await lua.eval("return oq.yaml('plain')") == "plain\n"
    assert await lua.eval("return oq.yaml({text = 'one\\ntwo'})") == "text: |-\n  one\n  two\n"
    assert await lua.eval("return oq.toml({name = 'Alice', server = {port = 8080}})") == (
        'name = "Alice"\n\n[server]\nport = 8080\n'
    )
    assert await lua.eval("return oq.toon({users = {{id = 1, name = 'A'}, {id = 2, name = 'B'}}})") == (
        "users[2]{id,name}:\n  1,A\n  2,B"
    )


async def test_toml_writes_null_as_the_string_null_and_needs_a_table(lua):
    assert await lua.eval("return oq.toml({a = cru.json.null, b = {1, oq.null}})") == (
        'a = "null"\nb = [\n    1,\n    "null",\n]\n'
    )
    error = await lua.error("oq.toml({1, 2})")
    assert error.message.endswith(":1: TOML needs a table at the top level, not an array")
    error = await lua.error("oq.toml('text')")
    assert error.message.endswith("TOML needs a table at the top level, not a string")


async def test_yaml_reads_scalars_as_yaml_1_2_does(lua):
    value = await encoded(
        lua,
        """oq.parse_as("a: yes\\nb: True\\nc: 0o17\\nd: 017\\ne: 0x1F\\nf: 2001-12-14\\n"""
        """g: ~\\nh: .inf\\ni: 1.5e3\\nj: on\\nk:\\n", "yml")""",
    )
    assert value == {"a": "yes", "b": True, "c": 15, "d": 17, "e": 31, "f": "2001-12-14",
                     "g": None, "h": None, "i": 1500.0, "j": "on", "k": None}  # fmt: skip


async def test_toml_datetimes_become_strings(lua):
    value = await encoded(
        lua,
        'oq.parse_as("a = 1979-05-27T07:32:00Z\\nb = 1979-05-27T00:32:00.5-07:00\\n'
        'c = 1979-05-27T07:32:00\\nd = 1979-05-27\\ne = 07:32:00", "toml")',
    )
    assert value == {"a": "1979-05-27T07:32:00Z", "b": "1979-05-27T00:32:00.5-07:00",
                     "c": "1979-05-27T07:32:00", "d": "1979-05-27", "e": "07:32:00"}  # fmt: skip


async def test_decoded_arrays_keep_the_array_metatable(lua):
    assert await lua.eval("return oq.json(oq.parse_as('a: []\\nb: {}', 'yaml'))") == '{"a":[],"b":{}}'
    assert await lua.eval("return oq.json(oq.query({}, '[]'))") == "[]"


DETECTION = [
    ("[server]\nport = 1", "toml"),  # 1: a first line [section]
    ("[1, 2]", "json"),  # 2: starts with [ (has a comma)
    ('{"a": 1}', "json"),
    ("title = 'x'", "toml"),  # 3: key = value
    ("a: 1\n[[items]]\nb = 2", "toml"),  # 3: [[table]] anywhere
    ('"quoted" = 1', "toml"),
    ("---\na: 1", "yaml"),  # 4
    ("- a\n- b", "yaml"),  # 5: list items
    ("text: |\n  x", "yaml"),  # 5: block scalar
    ("a:\n  b: 1", "yaml"),  # 5: indented key
    ("a: 1\nb: 2", "toon"),  # 6: flat key: value
    ("# comment: here", "json"),  # 7: nothing matched
    ("42", "json"),
    ("a=1", "json"),  # no spaces around =
]


@pytest.mark.parametrize(("text", "fmt"), DETECTION)
async def test_detect_applies_the_heuristics_in_order(lua, text, fmt):
    assert await lua.eval(f"return oq.detect({json.dumps(text)})") == fmt


async def test_query_gives_one_result_as_is_and_several_or_none_as_an_array(lua):
    users = "{users = {{name = 'a', age = 30}, {name = 'b', age = 10}, {name = 'c', age = 40}}}"
    assert await lua.eval(f"return oq.query({users}, '.users[0].name')") == "a"
    assert await encoded(lua, f"oq.query({users}, '.users[] | select(.age > 21) | .name')") == ["a", "c"]
    assert await encoded(lua, f"oq.query({users}, '.users[] | select(.age > 99)')") == []
    assert await lua.eval(f"return oq.query({users}, '.users | length')") == 3
    assert await encoded(lua, "oq.query({10, 20, 30}, '.[1]')") == 20
    assert await encoded(lua, "oq.query({a = 1}, '{b: .a}')") == {"b": 1}
    assert await lua.eval("return oq.query({a = oq.null}, '.a') == oq.null")


async def test_errors_raise_with_the_parsers_message_at_the_callers_line(lua):
    cases = {
        "oq.query({}, '.[')": "jq: error: syntax error, unexpected end of file",
        "oq.query({a = 1}, '.a.b')": "Cannot index number with",
        "oq.parse_as('a: [', 'yaml')": "while parsing a flow node",
        "oq.parse_as('a = ', 'toml')": "Invalid value (at end of document)",
        "oq.parse_as('a = nan', 'toml')": "Invalid float value",
        "oq.parse_as('{', 'json')": "EOF while parsing an object at line 1 column 1",
        "oq.parse_as('a:\\n   b: 1', 'toon')": "line 2: Indentation of 3 spaces is not a multiple of 2",
        "oq.parse_as('x', 'xml')": "Unknown format: xml",
        "oq.convert({}, 'csv')": "Unknown format: csv",
        "oq.json({f = print})": "cannot serialize <function>",
        "oq.parse(nil)": "bad argument #1 to 'parse' (string expected, got nil)",
        "oq.query({}, {})": "bad argument #2 to 'query' (string expected, got table)",
    }
    for code, message in cases.items():
        error = await lua.error(f"\n{code}")
        assert error.message.startswith("test["), (code, error.message)
        assert ":2: " in error.message and message in error.message, (code, error.message)


async def test_toon_input_that_is_json_is_read_as_json(lua):
    assert await encoded(lua, "oq.parse_as('[1, 2]', 'toon')") == [1, 2]
    assert await encoded(lua, "oq.parse_as('true', 'TOON')") is True


async def test_format_is_toon_and_with_a_tool_puts_long_fields_in_blocks(lua):
    assert await lua.eval("return oq.format({b = 'x', a = 1})") == "a: 1\nb: x"
    out = await lua.eval(
        "return oq.format({path = 'src/main.rs', content = 'fn main() {\\n}', total = 2}, {tool = 'read_file'})"
    )
    assert out == "path: src/main.rs\ntotal: 2\n\n--- content ---\n```rust\nfn main() {\n}\n```"
    out = await lua.eval(
        "return oq.format({stdout = 'line one\\nline two', code = 0}, {tool = 'run_command'})"
    )
    assert out == "code: 0\n\n--- stdout ---\n```\nline one\nline two\n```"
    out = await lua.eval("return oq.format({{id = 1}, {id = 2}}, {tool = 'other'})")
    assert out == "## Item 1\nid: 1\n\n## Item 2\nid: 2"
    long = await lua.eval("return oq.format({content = string.rep('a', 6000)}, {tool = 'get_note'})")
    assert long.startswith("--- content ---\n" + "a" * 4980 + "... (1020 more characters)")


async def test_a_bare_vm_has_no_oq(host):
    from crucible_kernel.runtime import Runtime

    rt = Runtime(host, vm="bare")
    try:
        task = await rt.run(rt.load("return oq, cru.oq", "=probe"), name="probe")
        assert task.results == (None, None)
    finally:
        await rt.aclose()


def test_the_format_libraries_are_imported_on_first_use_only():
    code = (
        "import sys, asyncio\n"
        "from crucible_kernel.runtime import Runtime\n"
        "rt = Runtime()\n"
        "heavy = ('yaml', 'jq', 'tomli_w', 'toon_format', 'tomllib')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "async def main():\n"
        "    t = await rt.run(rt.load(\"return oq.yaml({a = 1})\", '=x'), name='x')\n"
        "    print(t.results[0].decode().strip())\n"
        "    print(sorted(m for m in heavy if m in sys.modules))\n"
        "asyncio.run(main())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["[]", "a: 1", "['yaml']"]


async def test_query_keeps_numbers_exactly(lua):
    result = await lua.eval(
        "local r = oq.query({a = 0.1, b = 1.5, c = 1e300, d = 3, e = -2.5e-8, f = 2^53 + 0.0, g = 1.0}, '.')"
        " return r.a == 0.1, r.b, r.c == 1e300, math.type(r.d), r.e == -2.5e-8, r.f == 2^53,"
        " math.type(r.g)"
    )
    # jq's numbers are doubles and it writes an integral one as an integer, so 1.0 comes back as 1
    assert result == (True, 1.5, True, "integer", True, True, "integer")
