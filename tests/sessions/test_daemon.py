"""cru.sessions on a real daemon's protocol, against a fake daemon on a Unix socket."""

from __future__ import annotations

import asyncio

import pytest

from crucible_kernel.runtime import Runtime
from crucible_kernel.sessions import SessionService, install
from crucible_kernel.sessions.daemon import DaemonClient
from tests.runtime.conftest import Lua, RecordingHost

from .fake_daemon import fake_daemon  # noqa: F401 (a fixture)

AGENT = "{agent_type = 'internal', provider = 'ollama', model = 'llama3', system_prompt = ''}"


@pytest.fixture
async def dlua(fake_daemon):  # noqa: F811
    service = SessionService(socket_path=fake_daemon.path)
    rt = Runtime(RecordingHost())
    install(rt, service)
    yield Lua(rt, rt.host)  # type: ignore[arg-type]
    await rt.aclose()
    await service.aclose()


async def test_the_contract_example_streams_a_daemon_turn(dlua, fake_daemon):  # noqa: F811
    got = await dlua.eval(
        f"""
        local s = assert(cru.sessions.create({{type = "chat"}}))
        assert(cru.sessions.configure_agent(s.id, {AGENT}))
        local next_event = cru.sessions.subscribe(s.id)
        local msg_id = assert(cru.sessions.send_message(s.id, "hello there"))
        local parts, kinds = {{}}, {{}}
        while true do
          local event = next_event()
          if not event then break end
          kinds[#kinds + 1] = event.type
          if event.type == "text_delta" then table.insert(parts, event.data.text) end
          if event.type == "response_done" then break end
        end
        pcall(cru.sessions.unsubscribe, s.id)
        return s.id, msg_id, table.concat(parts), table.concat(kinds, ",")
        """
    )
    sid, msg_id, text, kinds = got
    assert sid.startswith("chat-") and msg_id.startswith("msg-")
    assert text == "daemon says: hello there"
    assert kinds.split(",")[0] == "user_message" and kinds.endswith("message_complete,response_done")
    assert kinds.count("user_message") == 1  # the daemon's event and our own are one
    sent = [r["method"] for r in fake_daemon.requests]
    assert sent[:4] == [
        "session.create",
        "session.subscribe",
        "session.configure_agent",
        "session.send_message",
    ]
    assert fake_daemon.requests[3]["params"]["is_interactive"] is False


async def test_out_of_order_responses_are_matched_by_id(fake_daemon):  # noqa: F811
    client = await DaemonClient.connect(fake_daemon.path)
    try:
        listed, created = await asyncio.gather(client.list(), client.create({"type": "chat"}))
    finally:
        await client.aclose()
    assert created.id.startswith("chat-")
    assert isinstance(listed, list)
    list_id = next(r["id"] for r in fake_daemon.requests if r["method"] == "session.list")
    create_id = next(r["id"] for r in fake_daemon.requests if r["method"] == "session.create")
    assert list_id < create_id  # asked first ...
    assert fake_daemon.responses.index(create_id) < fake_daemon.responses.index(list_id)  # ... answered last


async def test_daemon_errors_come_back_as_values(dlua):
    got = await dlua.eval(
        """
        local s = cru.sessions.create({})
        local _, no_agent = cru.sessions.send_message(s.id, "hi")
        local _, missing = cru.sessions.configure_agent(s.id, {model = "x"})
        local _, unknown = cru.sessions.send_message("nope", "hi")
        local gone, err = cru.sessions.get("nope")
        return no_agent, missing, unknown, gone == nil and err == nil
        """
    )
    no_agent, missing, unknown, nothing = got
    assert no_agent.startswith("No agent configured for session: chat-")
    assert missing == "Invalid agent config: missing field `provider`"
    assert unknown == "Session not found: nope"
    assert nothing is True


async def test_a_failed_daemon_turn_sends_error_then_ended(dlua):
    got = await dlua.eval(
        f"""
        local s = cru.sessions.create({{}})
        cru.sessions.configure_agent(s.id, {AGENT})
        local next_event = cru.sessions.subscribe(s.id)
        cru.sessions.send_message(s.id, "fail")
        local kinds = {{}}
        repeat local e = next_event() kinds[#kinds + 1] = e.type .. "=" .. (e.data.message or e.data.reason or "")
        until e.type == "ended"
        return table.concat(kinds, "|"), select(2, cru.sessions.watch(s.id))
        """
    )
    assert got[0].split("|")[-2:] == ["error=model unavailable", "ended=error: model unavailable"]
    assert got[1] == "model unavailable"


async def test_permission_cancel_and_end_go_to_the_daemon(dlua, fake_daemon):  # noqa: F811
    got = await dlua.eval(
        f"""
        local s = cru.sessions.create({{}})
        cru.sessions.configure_agent(s.id, {AGENT})
        local next_event = cru.sessions.subscribe(s.id)
        cru.sessions.send_message(s.id, "ask", {{interactive = true}})
        local e
        repeat e = next_event() until e.type == "interaction_requested"
        assert(cru.sessions.interaction_respond(s.id, e.data.request_id, {{approved = true}}))
        repeat e = next_event() until e.type == "interaction_completed"
        local allowed = e.data.response.allowed
        repeat e = next_event() until e.type == "text_delta"
        local cancelled = cru.sessions.cancel(s.id)
        repeat e = next_event() until e.type == "ended"
        local reason = e.data.reason
        assert(cru.sessions.end_session(s.id))
        return allowed, cancelled, reason, next_event() == nil
        """
    )
    assert got == (True, True, "cancelled", True)
    respond = next(r for r in fake_daemon.requests if r["method"] == "session.interaction_respond")
    assert respond["params"]["response"] == {"kind": "permission", "allowed": True}


async def test_an_unreachable_daemon_is_a_clear_error(tmp_path):
    service = SessionService(socket_path=str(tmp_path / "none.sock"))
    rt = Runtime(RecordingHost())
    install(rt, service)
    task = await rt.run(rt.load("return select(2, cru.sessions.create({}))", "=x"), name="x")
    await rt.aclose()
    err = task.results[0].decode()
    assert err.startswith(f"cannot connect to the Crucible daemon at {tmp_path / 'none.sock'}")
