"""crucible.on_session_start / on_session_end fire when cru.sessions creates and ends a session."""

from __future__ import annotations


async def test_start_and_end_hooks_run_with_the_session(lua):
    result = await lua.eval(
        """
        events = {}
        crucible.on_session_start(function(s) events[#events + 1] = "start " .. s.session_type end)
        crucible.on_session_end(function(s) events[#events + 1] = "end " .. s.id end)
        local s = cru.sessions.create({provider = "echo"})
        cru.sessions.end_session(s.id)
        return events[1], events[2] == "end " .. s.id, #events
        """
    )
    assert result == ("start chat", True, 2)


async def test_a_failing_required_start_hook_refuses_the_session(lua):
    result = await lua.eval(
        """
        crucible.on_session_start(function() error("no sandbox available") end, {required = true})
        local s, err = cru.sessions.create({provider = "echo"})
        return s, err, #cru.sessions.list()
        """
    )
    session, message, count = result
    assert session is None
    assert message.startswith("session_start hook(s) failed: ") and "no sandbox available" in message
    assert count == 1  # the refused session was ended, not left running
    state = await lua.eval("return cru.sessions.list()[1].state")
    assert state == "ended"


async def test_a_failing_optional_hook_is_logged_and_the_session_goes_ahead(lua):
    session = await lua.eval(
        """
        crucible.on_session_start(function() error("only a warning") end)
        local s = cru.sessions.create({provider = "echo"})
        return s.id ~= nil
        """
    )
    assert session is True
    assert any(level == "error" and "only a warning" in m for level, m in lua.host.logs)
