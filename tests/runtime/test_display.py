"""display(), cru.display, clear_output, ilua.display and cell results (runtime/display.py)."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest

from crucible_kernel.runtime import LuaError
from crucible_kernel.runtime.display import result_bundle

from .conftest import RecordingHost

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(40))
HEX_ID = re.compile(r"[0-9a-f]{32}")


class DisplayHost(RecordingHost):
    """Also records metadata and clear_output calls."""

    def __init__(self) -> None:
        super().__init__()
        self.clears: list[bool] = []

    def display(self, data, metadata=None, display_id=None, update=False) -> None:
        self.displays.append({"data": data, "metadata": metadata, "display_id": display_id, "update": update})

    def clear_output(self, wait: bool = False) -> None:
        self.clears.append(wait)


@pytest.fixture
def host() -> DisplayHost:
    return DisplayHost()


async def result(lua, code: str) -> Any:
    """What the kernel would show for a cell returning what `code` returns."""
    task = await lua.run(code)
    assert task.error is None, task.error and task.error.traceback
    return await result_bundle(lua.runtime, task.results)


def lua_string(data: bytes) -> str:
    return '"' + "".join(f"\\{b}" for b in data) + '"'


# display()


async def test_display_publishes_the_pretty_text_of_a_value_with_a_fresh_display_id(lua):
    await lua.run("display({b = 2, a = {1, 2}})")
    (shown,) = lua.host.displays
    assert shown["data"] == {"text/plain": "{a = {1, 2}, b = 2}"}
    assert shown["metadata"] == {}
    assert shown["update"] is False
    assert HEX_ID.fullmatch(shown["display_id"])


async def test_display_shows_a_string_as_it_is(lua):
    await lua.run("display('line one\\nline two')")
    assert lua.host.displays[0]["data"] == {"text/plain": "line one\nline two"}


async def test_display_publishes_one_output_per_value_and_returns_a_handle_for_each(lua):
    kinds = await lua.eval(
        "local a, b, c = display(1, 'two', nil) return type(a), type(b), type(c), select('#', display())"
    )
    assert kinds == ("userdata", "userdata", "userdata", 0)
    texts = [d["data"]["text/plain"] for d in lua.host.displays]
    assert texts == ["1", "two", "nil"]
    ids = {d["display_id"] for d in lua.host.displays}
    assert len(ids) == 3


async def test_a_value_with_display_shows_its_bundle_with_the_text_of_its_html_as_fallback(lua):
    await lua.run("""
        local Card = {__display = function(c) return {["text/html"] = "<b>" .. c.title .. "</b>"} end}
        display(setmetatable({title = "hi"}, Card))
        display(setmetatable({title = "hi"}, {__display = function() return {["image/png"] = "x"} end}))
    """)
    assert lua.host.displays[0]["data"] == {"text/html": "<b>hi</b>", "text/plain": "hi"}
    assert lua.host.displays[1]["data"] == {"image/png": "x", "text/plain": '{title = "hi"}'}


async def test_a_display_bundle_keeps_its_own_text_and_a_markdown_one_is_the_fallback(lua):
    await lua.run("""
        display(setmetatable({}, {__display = function() return {["text/html"] = "<p>", ["text/plain"] = "P"} end}))
        display(setmetatable({}, {__display = function() return {["text/markdown"] = "# T"} end}))
    """)
    assert lua.host.displays[0]["data"] == {"text/html": "<p>", "text/plain": "P"}
    assert lua.host.displays[1]["data"] == {"text/markdown": "# T", "text/plain": "# T"}


async def test_display_may_return_a_string_taken_as_text(lua):
    await lua.run("display(setmetatable({}, {__display = function() return 'as text' end}))")
    assert lua.host.displays[0]["data"] == {"text/plain": "as text"}


async def test_non_string_bundle_data_is_passed_as_json_data(lua):
    await lua.run("""
        display(setmetatable({}, {__display = function()
          return {["application/json"] = {rows = {1, 2}, empty = cru.json.array({}), none = cru.json.null},
                  ["application/vnd.custom+json"] = {}}
        end}))
    """)
    data = lua.host.displays[0]["data"]
    assert data["application/json"] == {"rows": [1, 2], "empty": [], "none": None}
    assert data["application/vnd.custom+json"] == {}


async def test_a_second_result_of_display_is_the_metadata(lua):
    await lua.run("""
        display(setmetatable({}, {__display = function()
          return {["image/png"] = "AAAA"}, {["image/png"] = {width = 20}}
        end}))
    """)
    assert lua.host.displays[0]["metadata"] == {"image/png": {"width": 20}}


async def test_an_error_inside_display_is_reported_naming_display_and_nothing_is_shown(lua):
    err = await lua.error("""
        local Bad = {__display = function() error("no bundle today") end}
        display(1, setmetatable({}, Bad))
    """)
    assert err.message == "test[1]:3: __display failed: test[1]:2: no bundle today"
    assert lua.host.displays == []


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        ("42", "__display must return a mime bundle (a table of mime type -> data) or a string, got number"),
        ("{[1] = 'x'}", "__display: a mime bundle's keys must be mime type strings, got number"),
        ("{['text/html'] = {}}", "__display: data for text/html must be a string, got table"),
        (
            "{['application/json'] = {f = print}}",
            "__display: data for application/json cannot be sent as JSON (cannot serialize <function>)",
        ),
        ("{}, 'meta'", "__display must return its metadata (second result) as a table, got string"),
    ],
)
async def test_a_bad_display_result_is_a_clear_error(lua, returned, message):
    err = await lua.error(f"display(setmetatable({{}}, {{__display = function() return {returned} end}}))")
    assert err.message == f"test[1]:1: {message}"


async def test_invalid_utf8_is_replaced_before_it_reaches_the_host(lua):
    await lua.run("cru.display.html('caf\\xe9')")
    assert lua.host.displays[0]["data"]["text/html"] == "caf\ufffd"


# cru.display.*


@pytest.mark.parametrize(
    ("call", "data"),
    [
        ("cru.display.html('<b>x</b> &amp; y')", {"text/html": "<b>x</b> &amp; y", "text/plain": "x & y"}),
        ("cru.display.markdown('# Title')", {"text/markdown": "# Title", "text/plain": "# Title"}),
        ("cru.display.svg('<svg/>')", {"image/svg+xml": "<svg/>", "text/plain": "[SVG image]"}),
        ("cru.display.text('just text')", {"text/plain": "just text"}),
        (
            "cru.display.json({b = 1, a = {true, cru.json.null}})",
            {"application/json": {"a": [True, None], "b": 1}, "text/plain": '{"a":[true,null],"b":1}'},
        ),
        (
            "cru.display.json('[1, 2.5, \"x\"]')",
            {"application/json": [1, 2.5, "x"], "text/plain": '[1, 2.5, "x"]'},
        ),
    ],
)
async def test_each_display_function_publishes_its_bundle_at_once(lua, call, data):
    kind = await lua.eval(f"return type({call})")
    assert kind == "userdata"
    (shown,) = lua.host.displays
    assert shown["data"] == data
    assert shown["metadata"] == {}
    assert shown["update"] is False
    assert HEX_ID.fullmatch(shown["display_id"])


async def test_image_sniffs_png_and_sends_it_base64_encoded(lua):
    await lua.run(f"cru.display.image({lua_string(PNG)})")
    (shown,) = lua.host.displays
    assert shown["data"] == {
        "image/png": base64.b64encode(PNG).decode(),
        "text/plain": f"[PNG image, {len(PNG)} bytes]",
    }
    assert shown["metadata"] == {}


@pytest.mark.parametrize(
    ("head", "mime"),
    [
        (b"\xff\xd8\xff\xe0", "image/jpeg"),
        (b"GIF89a", "image/gif"),
        (b"GIF87a", "image/gif"),
    ],
)
async def test_image_sniffs_jpeg_and_gif(lua, head, mime):
    await lua.run(f"cru.display.image({lua_string(head + b'rest')})")
    assert mime in lua.host.displays[0]["data"]


async def test_image_takes_its_format_and_size_from_opts(lua):
    await lua.run("cru.display.image('raw bytes', {format = 'jpeg', width = 320, height = 200.5})")
    (shown,) = lua.host.displays
    assert shown["data"]["image/jpeg"] == base64.b64encode(b"raw bytes").decode()
    assert shown["metadata"] == {"image/jpeg": {"width": 320, "height": 200.5}}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ("cru.display.html(42)", "bad argument #1 to 'html' (string expected, got number)"),
        ("cru.display.markdown()", "bad argument #1 to 'markdown' (string expected, got nil)"),
        ("cru.display.svg({})", "bad argument #1 to 'svg' (string expected, got table)"),
        ("cru.display.text(true)", "bad argument #1 to 'text' (string expected, got boolean)"),
        ("cru.display.json(1)", "bad argument #1 to 'json' (table or JSON string expected, got number)"),
        (
            "cru.display.json('{oops')",
            "bad argument #1 to 'json' (not valid JSON: key must be a string at line 1 column 2)",
        ),
        ("cru.display.json({f = print})", "bad argument #1 to 'json' (cannot serialize <function>)"),
        (
            "cru.display.image('not an image')",
            "bad argument #1 to 'image' (not PNG, JPEG or GIF data; set opts.format if it is one of them)",
        ),
        (
            "cru.display.image('x', {format = 'bmp'})",
            'bad option \'format\' to \'image\' ("png", "jpeg" or "gif" expected, got "bmp")',
        ),
        (
            "cru.display.image('x', {format = 'png', width = -3})",
            "bad option 'width' to 'image' (positive number expected, got -3)",
        ),
        ("cru.display.image('x', 'png')", "bad argument #2 to 'image' (table expected, got string)"),
    ],
)
async def test_bad_arguments_are_reported_at_the_callers_line(lua, call, message):
    err = await lua.error("local x = 1\n" + call)
    assert err.message == f"test[1]:2: {message}"
    assert lua.host.displays == []


# Handles


async def test_a_handle_knows_its_display_id_and_prints_its_kind_and_id(lua):
    display_id, text = await lua.eval("local h = cru.display.html('<i>') return h:display_id(), tostring(h)")
    assert display_id == lua.host.displays[0]["display_id"]
    assert text == f"DisplayHandle(html, {display_id})"
    assert (await lua.eval("return tostring(display(1))")).startswith("DisplayHandle(display, ")


async def test_update_sends_update_display_data_with_the_same_id_and_no_new_output(lua):
    await lua.run("""
        local h = cru.display.markdown("step 1")
        h:update("step 2")
        h:update("step 3")
    """)
    first, second, third = lua.host.displays
    assert [d["update"] for d in lua.host.displays] == [False, True, True]
    assert first["display_id"] == second["display_id"] == third["display_id"]
    assert third["data"] == {"text/markdown": "step 3", "text/plain": "step 3"}


async def test_update_of_a_display_handle_takes_any_value_and_bundles_it_again(lua):
    await lua.run("""
        local h = display("loading")
        h:update({done = true})
        h:update(setmetatable({}, {__display = function() return {["text/html"] = "<b>done</b>"} end}))
    """)
    assert [d["data"] for d in lua.host.displays] == [
        {"text/plain": "loading"},
        {"text/plain": "{done = true}"},
        {"text/html": "<b>done</b>", "text/plain": "done"},
    ]
    assert len({d["display_id"] for d in lua.host.displays}) == 1


async def test_update_of_a_kind_specific_handle_takes_that_kinds_arguments(lua):
    await lua.run(
        "local h = cru.display.image('x', {format = 'gif'}) h:update('y', {format = 'png', width = 5})"
    )
    update = lua.host.displays[1]
    assert update["update"] is True
    assert update["data"]["image/png"] == base64.b64encode(b"y").decode()
    assert update["metadata"] == {"image/png": {"width": 5}}
    err = await lua.error("local h = cru.display.html('<p>') h:update(3)")
    assert err.message == "test[2]:1: bad argument #1 to 'update' (string expected, got number)"


async def test_update_from_a_spawned_task_after_the_cell_ended_still_targets_the_output(lua):
    await lua.run("""
        local h = cru.display.text("0%")
        cru.spawn(function() for i = 1, 2 do cru.timer.sleep(0.001) h:update(i * 50 .. "%") end end)
    """)
    await lua.runtime.wait_tasks()
    assert [(d["data"]["text/plain"], d["update"]) for d in lua.host.displays] == [
        ("0%", False),
        ("50%", True),
        ("100%", True),
    ]


async def test_a_handle_method_called_on_something_else_says_so(lua):
    err = await lua.error("local h = display(1) h.update(5, 'x')")
    assert "calling 'update' on bad self (DisplayHandle expected, got number)" in err.message


# clear_output


async def test_clear_output_reaches_the_host_with_its_wait_flag(lua):
    await lua.run("clear_output(true) clear_output() cru.display.clear(false) cru.display.clear(true)")
    assert lua.host.clears == [True, False, False, True]


async def test_clear_output_wants_a_boolean(lua):
    err = await lua.error("clear_output('yes')")
    assert "bad argument #1 to 'clear_output' (boolean expected, got string)" in err.message
    assert lua.host.clears == []


# Cell results


async def test_no_values_give_no_result(lua):
    assert await result_bundle(lua.runtime, ()) is None


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("return 1 + 1", "2"),
        ("return 7 / 7", "1.0"),
        ("return '42'", '"42"'),
        ("return 'say \"hi\"\\tnow'", '"say \\"hi\\"\\tnow"'),
        ("return 'two\\nlines'", "[[\ntwo\nlines]]"),
        ("return 'ends in ]]\\nor ]'", "[=[\nends in ]]\nor ]]=]"),
        ("return 'bell\\a\\nline'", '"bell\\a\\nline"'),
        ("return nil", "nil"),
        ("return false", "false"),
        ("return {1, 'a', x = {y = 'z'}}", '{1, "a", x = {y = "z"}}'),
        ("return print", "function: builtin"),
    ],
)
async def test_a_single_value_is_shown_as_its_pretty_text(lua, code, text):
    assert await result(lua, code) == ({"text/plain": text}, {})


async def test_several_values_are_shown_together_separated_by_tabs(lua):
    assert await result(lua, "return 1, 'two', nil, {3}") == ({"text/plain": '1\t"two"\tnil\t{3}'}, {})


async def test_a_string_of_several_lines_is_quoted_on_one_line_among_several_values(lua):
    assert await result(lua, "return 'a\\nb', 1") == ({"text/plain": '"a\\nb"\t1'}, {})


async def test_a_block_shown_for_a_string_reads_back_as_the_same_string(lua):
    for text in ["a\nb", "]]\n]", "x]=]\n]]", "\nstarts with a newline\n", "tab\tand\nline"]:
        lua.runtime.lua.globals()[b"probe"] = text.encode()
        data, _ = await result(lua, "return probe")
        shown = data["text/plain"]
        assert shown.startswith("[") and "\n" in shown
        assert await lua.eval(f"return {shown} == probe") is True


async def test_several_values_are_separated_by_newlines_when_one_spans_lines(lua):
    code = "return 'x', {long = string.rep('a', 80)}"
    data, _ = await result(lua, code)
    assert data["text/plain"] == '"x"\n{\n  long = "' + "a" * 80 + '"\n}'


async def test_a_value_with_display_gives_a_rich_result_with_its_metadata(lua):
    code = """
        return setmetatable({n = 3}, {__display = function(t)
          return {["text/html"] = "<i>" .. t.n .. "</i>"}, {isolated = true}
        end})
    """
    assert await result(lua, code) == ({"text/html": "<i>3</i>", "text/plain": "3"}, {"isolated": True})


async def test_among_several_values_display_is_not_used(lua):
    code = "return 1, setmetatable({}, {__display = function() return {['text/html'] = '<p>'} end})"
    assert await result(lua, code) == ({"text/plain": "1\t{}"}, {})


async def test_display_handles_are_skipped_in_a_result(lua):
    assert await result(lua, "return cru.display.html('<b>shown once</b>')") is None
    assert await result(lua, "return display(1, 2)") is None
    assert await result(lua, "return cru.display.text('t'), 42") == ({"text/plain": "42"}, {})
    assert len(lua.host.displays) == 4


async def test_an_error_in_display_while_formatting_a_result_is_a_lua_error(lua):
    task = await lua.run("return setmetatable({}, {__display = function() error('broken', 0) end})")
    with pytest.raises(LuaError) as caught:
        await result_bundle(lua.runtime, task.results)
    assert caught.value.message == "__display failed: broken"


# ilua.display (xeus-lua)


async def test_ilua_html_returns_a_displayable_without_publishing_and_display_shows_it(lua):
    assert await lua.eval("return type(ilua.display.html('<b>hi</b>'))") == "table"
    assert lua.host.displays == []
    await lua.run('ilua.display.display(ilua.display.html("<b>hi</b>"))')
    (shown,) = lua.host.displays
    assert shown["data"] == {"text/html": "<b>hi</b>", "text/plain": "hi"}
    assert shown["update"] is False


async def test_an_ilua_displayable_as_the_last_value_is_a_rich_result(lua):
    assert await result(lua, "return ilua.display.html('<b>bold</b>')") == (
        {"text/html": "<b>bold</b>", "text/plain": "bold"},
        {},
    )


@pytest.mark.parametrize(
    ("call", "data"),
    [
        ("ilua.display.plain_text('plain')", {"text/plain": "plain"}),
        ("ilua.display.latex('$x^2$')", {"text/latex": "$x^2$", "text/plain": "$x^2$"}),
        ("ilua.display.json({a = {1, 2}})", {"application/json": {"a": [1, 2]}, "text/plain": '{"a":[1,2]}'}),
    ],
)
async def test_ilua_plain_text_latex_and_json_return_displayables(lua, call, data):
    assert await result(lua, f"return {call}") == (data, {})
    assert await lua.eval(f"return tostring({call})") == data["text/plain"]
    assert lua.host.displays == []


async def test_ilua_display_shows_plain_values_and_calls_a_display_method(lua):
    await lua.run("""
        local widget = {display = function(self) cru.display.text("widget " .. self.name) end, name = "w"}
        ilua.display.display(42, widget)
    """)
    assert [d["data"] for d in lua.host.displays] == [{"text/plain": "42"}, {"text/plain": "widget w"}]


async def test_ilua_display_data_and_update_display_data_pair_on_a_transient_display_id(lua):
    await lua.run("""
        ilua.display.display_data({["text/html"] = "<b>initial</b>"}, {}, {display_id = "test_update"})
        ilua.display.update_display_data({["text/html"] = "<b>updated</b>"}, {}, {display_id = "test_update"})
    """)
    first, second = lua.host.displays
    assert first == {
        "data": {"text/html": "<b>initial</b>", "text/plain": "initial"},
        "metadata": {},
        "display_id": "test_update",
        "update": False,
    }
    assert second == {
        "data": {"text/html": "<b>updated</b>", "text/plain": "updated"},
        "metadata": {},
        "display_id": "test_update",
        "update": True,
    }


async def test_ilua_display_data_without_an_id_publishes_without_one_and_keeps_its_metadata(lua):
    await lua.run("""ilua.display.display_data({["text/plain"] = "x", ["application/json"] = {k = 1}},
                                                  {["application/json"] = {expanded = true}})""")
    (shown,) = lua.host.displays
    assert shown == {
        "data": {"text/plain": "x", "application/json": {"k": 1}},
        "metadata": {"application/json": {"expanded": True}},
        "display_id": None,
        "update": False,
    }


async def test_ilua_update_display_data_needs_a_display_id(lua):
    err = await lua.error("ilua.display.update_display_data({['text/plain'] = 'x'})")
    assert "bad argument #3 to 'update_display_data' (transient.display_id expected" in err.message
    err = await lua.error("ilua.display.display_data({})")
    assert "bad argument #1 to 'display_data' (the mime bundle is empty)" in err.message
    assert lua.host.displays == []


async def test_ilua_clear_output_clears(lua):
    await lua.run("ilua.display.clear_output(true)")
    assert lua.host.clears == [True]


# Shape of the API


async def test_every_exported_function_is_a_lua_function(lua):
    code = """
        local bad = {}
        local function check(prefix, t)
          for k, v in pairs(t) do
            if type(v) == "function" and debug.getinfo(v, "S").what ~= "Lua" then bad[#bad + 1] = prefix .. k end
          end
        end
        check("cru.display.", cru.display)
        check("ilua.display.", ilua.display)
        check("", {display = display, clear_output = clear_output})
        check("handle:", getmetatable(display(1)).__index)
        return #bad == 0 and "ok" or table.concat(bad, ", ")
    """
    assert await lua.eval(code) == "ok"
    assert await lua.eval("return rawequal(cru.display, crucible.display), getmetatable(cru.display)") == (
        True,
        None,
    )
