"""The openai provider against a real local SSE server: chunks, a stall, a mid-stream failure, a 401."""

from __future__ import annotations

import pytest

from .servers import CHUNKS, KEY

EVENTS = """
local endpoint, model, env = ...
local s = assert(cru.sessions.create({provider = "openai", endpoint = endpoint, model = model,
  api_key_env = env, system_prompt = "Be brief.", timeout = 0.5}))
local next_event = cru.sessions.subscribe(s.id)
assert(cru.sessions.send_message(s.id, "What is Crucible?"))
local seen = {}
repeat
  local e = next_event()
  seen[#seen + 1] = e
until e.type == "response_done" or e.type == "ended"
return seen
"""


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("TEST_CHAT_KEY", KEY)


async def run_turn(lua, server, model, env="TEST_CHAT_KEY"):
    rt = lua.runtime
    task = await rt.run(rt.load(EVENTS, "=turn"), server.endpoint, model, env, name="turn")
    assert task.error is None, task.error and task.error.traceback
    events = task.results[0]
    out = []
    for i in range(1, len(events) + 1):
        e = events[i]
        out.append((e[b"type"].decode(), {k.decode(): v for k, v in e[b"data"].items()}))
    return out


async def test_a_streamed_reply_becomes_text_deltas_thinking_and_usage(lua, chat_server):
    events = await run_turn(lua, chat_server, "chunks")
    kinds = [k for k, _ in events]
    assert kinds[:2] == ["user_message", "thinking"]
    deltas = [d["text"].decode() for k, d in events if k == "text_delta"]
    assert deltas == CHUNKS
    kind, complete = events[-2]
    assert kind == "message_complete"
    assert complete["full_response"] == b"".join(c.encode() for c in CHUNKS)
    assert (complete["prompt_tokens"], complete["completion_tokens"], complete["total_tokens"]) == (9, 5, 14)
    assert events[-1][0] == "response_done"
    request = chat_server.requests[-1]
    assert request["model"] == "chunks" and request["stream"] is True
    assert request["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is Crucible?"},
    ]


async def test_the_history_goes_with_the_next_turn(lua, chat_server):
    got = await lua.eval(
        f"""
        local s = cru.sessions.create({{provider = "openai", endpoint = "{chat_server.endpoint}", model = "chunks",
          api_key_env = "TEST_CHAT_KEY"}})
        cru.sessions.send_message(s.id, "one") cru.sessions.watch(s.id)
        cru.sessions.send_message(s.id, "two") return cru.sessions.watch(s.id)
        """
    )
    assert got == "".join(CHUNKS)
    assert [m["content"] for m in chat_server.requests[-1]["messages"]] == ["one", "".join(CHUNKS), "two"]


async def test_a_stalled_stream_fails_the_turn_after_the_timeout(lua, chat_server):
    events = await run_turn(lua, chat_server, "stall")
    assert [d["text"] for k, d in events if k == "text_delta"] == [b"partial ", b"answer "]
    (kind, error), (last, ended) = events[-2:]
    assert kind == "error" and b"no answer from" in error["message"] and b"for 0.5 s" in error["message"]
    assert last == "ended" and ended["reason"].startswith(b"error: no answer")


async def test_a_stream_that_breaks_midway_fails_the_turn(lua, chat_server):
    events = await run_turn(lua, chat_server, "drop")
    kind, error = events[-2]
    assert kind == "error" and b"the stream from" in error["message"] and b"failed" in error["message"]
    assert events[-1][0] == "ended"


async def test_a_401_is_an_error_naming_the_status_and_the_servers_message(lua, chat_server, monkeypatch):
    monkeypatch.setenv("TEST_CHAT_KEY", "wrong")
    events = await run_turn(lua, chat_server, "chunks")
    kind, error = events[-2]
    assert kind == "error"
    assert b"answered 401 Unauthorized: Incorrect API key provided" in error["message"]


async def test_a_missing_key_variable_and_complete(lua, chat_server):
    events = await run_turn(lua, chat_server, "chunks", env="NO_SUCH_VARIABLE_SET")
    assert (
        events[-2][1]["message"]
        == b"the environment variable NO_SUCH_VARIABLE_SET (named by api_key_env) is not set"
    )
    got = await lua.eval(
        f"""
        local s = cru.sessions.create({{provider = "openai", endpoint = "{chat_server.endpoint}", model = "m",
          api_key_env = "TEST_CHAT_KEY"}})
        return cru.sessions.complete(s.id, "Say done")
        """
    )
    assert got == ("done", None)
    assert chat_server.requests[-1]["stream"] is False
