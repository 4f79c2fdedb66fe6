"""cru.sessions without a session service: the reference's stub convention."""

from __future__ import annotations

import pytest

NAMES = [
    "create",
    "get",
    "list",
    "configure_agent",
    "send_message",
    "cancel",
    "pause",
    "resume",
    "end_session",
    "subscribe",
    "unsubscribe",
    "interaction_respond",
    "send_and_collect",
    "inject",
    "collect_subagents",
    "messages",
    "fork",
    "cache_stats",
    "complete",
    "set_output_validation",
    "undo",
    "can_undo",
    "undo_depth",
    "undo_history",
    "review_list_hunks",
    "review_set_state",
    "review_comment",
    "review_resolve_comment",
]


def test_there_are_the_references_28_names():
    assert len(NAMES) == 28


async def test_every_function_returns_no_daemon_connected(lua):
    for name in NAMES:
        args = {
            "send_message": "'s', 'hi'",
            "send_and_collect": "'s', 'hi'",
            "interaction_respond": "'s', 'r', {allowed = true}",
            "inject": "'s', 'user', 'x'",
            "review_set_state": "'s', 'h', 'accepted'",
            "review_resolve_comment": "'s', 'c'",
            "list": "",
            "collect_subagents": "{'a'}",
            "create": "{type = 'chat'}",
        }.get(name, "'s'")
        got = await lua.eval(f"local a, b = cru.sessions.{name}({args}) return a == nil, b")
        assert got == (True, "no daemon connected"), name


async def test_the_stub_is_the_same_table_under_crucible_and_works_from_synchronous_code(lua):
    assert await lua.eval("return crucible.sessions == cru.sessions") is True
    # no coroutine: the stubs finish without waiting, as the reference's do
    fn = lua.runtime.lua.eval("function() return cru.sessions.list() end")
    assert fn() == (None, b"no daemon connected")


@pytest.mark.parametrize(
    "call, message",
    [
        ("cru.sessions.get()", "bad argument #1 to 'get' (string expected, got nil)"),
        (
            "cru.sessions.send_message('s', {})",
            "bad argument #2 to 'send_message' (string expected, got table)",
        ),
        (
            "cru.sessions.inject('s', 'user', true)",
            "bad argument #3 to 'inject' (string expected, got boolean)",
        ),
    ],
)
async def test_bad_arguments_still_raise(lua, call, message):
    error = await lua.error(call)
    assert message in error.message


async def test_numbers_are_accepted_as_strings(lua):
    assert await lua.eval("return select(2, cru.sessions.get(42))") == "no daemon connected"
