"""cru.context: estimate_tokens (pure), the daemon stubs, attach and register_validator."""

from __future__ import annotations

import pytest

from crucible_kernel.runtime import context


@pytest.mark.parametrize(
    ("text", "tokens"), [("", 0), ("a", 1), ("abcd", 1), ("hello world", 3), ("é", 1), (12345, 2)]
)
async def test_estimate_tokens_is_bytes_over_four_rounded_up(lua, text, tokens):
    assert await lua.eval(f"return cru.context.estimate_tokens({text!r})") == tokens


async def test_estimate_tokens_wants_a_string(lua):
    assert (await lua.error("cru.context.estimate_tokens()")).message == (
        "test[1]:1: bad argument #1 to 'estimate_tokens' (string expected, got nil)"
    )


async def test_daemon_backed_functions_answer_no_daemon_connected(lua):
    code = """
        local a, b = cru.context.usage("s")
        local c, d = cru.context.compact("s")
        local e, f = cru.context.messages("s", {role = "user"})
        local g, h = cru.context.remove("s", {type = "all"})
        return a, b, c, d, e, f, g, h
    """
    assert await lua.eval(code) == (None, "no daemon connected") * 4


async def test_attach_queues_text_within_a_budget_and_once_per_key(lua):
    code = """
        local r = {}
        local function add(ok, why) r[#r + 1] = tostring(ok) .. ":" .. tostring(why) end
        add(cru.context.attach("s1", "cpp notes", {key = "filetype:cpp"}))
        add(cru.context.attach("s1", "cpp notes", {key = "filetype:cpp"}))
        add(cru.context.attach("s1", "   "))
        add(cru.context.attach("s1", string.rep("x", 1992)))
        add(cru.context.attach("s2", string.rep("y", 2000), {key = ""}))
        return table.concat(r, " | ")
    """
    assert await lua.eval(code) == (
        "true:nil | false:duplicate key; already attached this session | false:empty content | "
        "false:attach budget exhausted (9/2000 chars) | true:nil"
    )
    attachments = context.of(lua.runtime).attachments
    assert attachments.drain("s1") == ["cpp notes"]
    assert attachments.drain("s1") == []
    assert attachments.drain("nobody") == []


async def test_validators_run_by_name_and_go_with_their_owner(lua):
    rt = lua.runtime
    rt.engine[b"current_owner"] = rt.lua.eval("function() return 'plugin:v' end")
    await lua.run(
        """
        cru.context.register_validator("json", function(text)
          local ok = pcall(cru.json.decode, text)
          if ok then return true end
          return false, "not JSON"
        end)
        cru.context.register_validator("odd", function() return "yes" end)
        """
    )
    validators = context.of(rt).validators
    assert await validators.run("json", '{"a": 1}') is None
    assert await validators.run("json", "{oops") == "not JSON"
    assert await validators.run("odd", "x") == "lua validator 'odd' returned non-boolean first value: bytes"
    assert await validators.run("missing", "x") == "lua validator 'missing' not registered"
    assert validators.unregister_owner("plugin:v") == 2
    assert validators.validators == {}
