"""cru.sessions against the echo agent: every function, the contract's examples, the errors."""

from __future__ import annotations

import pytest

# The contract's streaming example, as written (only the session and the message are given).
CONTRACT_EXAMPLE = """
local session_id, user_message = ...
-- 1. Subscribe first
local next_event, err = cru.sessions.subscribe(session_id)
if not next_event then return nil, err end
-- 2. Send the message (triggers agent processing)
local msg_id, err = cru.sessions.send_message(session_id, user_message)
if not msg_id then
pcall(cru.sessions.unsubscribe, session_id)
return nil, err
end
-- 3. Collect streaming response
local parts = {}
while true do
local event = next_event()
if not event then break end
if event.type == "text_delta" then
local text = event.data and event.data.text
if text then table.insert(parts, text) end
elseif event.type == "message_complete" or event.type == "response_done" then
break
elseif event.type == "error" then
break
end
end
-- 4. Clean up
pcall(cru.sessions.unsubscribe, session_id)
local response = table.concat(parts)
return response
"""

EVENTS = """
local id = ...
local next_event = cru.sessions.subscribe(id)
local seen = {}
while true do
  local e = next_event()
  if not e then break end
  local d = e.data
  local detail = d.text or d.content or d.tool or d.reason or d.message or d.request_id or ""
  seen[#seen + 1] = e.type .. ":" .. tostring(detail)
  if e.type == "response_done" or e.type == "ended" then break end
end
return table.concat(seen, "|")
"""


async def new_session(lua, opts="provider = 'echo', delay = 0"):
    return await lua.eval(f"return assert(cru.sessions.create({{{opts}}})).id")


async def test_the_contract_streaming_example_works_as_written(lua):
    sid = await new_session(lua)
    task = await lua.runtime.run(
        lua.runtime.load(CONTRACT_EXAMPLE, "=example"), sid, "What is Crucible?", name="x"
    )
    assert task.results == (b"Echo: What is Crucible?",)


async def test_create_returns_the_session_table_in_both_shapes(lua):
    got = await lua.eval(
        """
        local s = assert(cru.sessions.create({type = "chat", kiln = "/notes", workspace = "/ws", kilns = {}}))
        local legacy = assert(cru.sessions.create("agent"))
        return s.id, s.session_type, s.state, s.kiln, s.workspace, #s.kilns, legacy.session_type
        """
    )
    sid, kind, state, kiln, workspace, kilns, legacy = got
    assert sid.startswith("chat-") and len(sid.split("-")[-1]) == 6
    assert (kind, state, kiln, workspace, kilns, legacy) == ("chat", "active", "/notes", "/ws", 0, "agent")


@pytest.mark.parametrize(
    "arg, message",
    [
        ("42", 'create() expects a table argument, e.g. { type = "chat" }'),
        ('{"chat"}', 'create() expects named options, e.g. { type = "chat" }, not a list'),
        ("{type = 'chat', f = print}", "create() options are not serializable: cannot serialize <function>"),
        ("{type = 'nope'}", "Invalid create options: unknown variant `nope`"),
    ],
)
async def test_create_refusals_are_returned(lua, arg, message):
    ok, err = await lua.eval(f"local s, err = cru.sessions.create({arg}) return s == nil, err")
    assert ok and message in err


async def test_get_list_and_an_unknown_id(lua):
    sid = await new_session(lua)
    assert await lua.eval(f"return cru.sessions.get('{sid}').id") == sid
    assert await lua.eval("local s, err = cru.sessions.get('nope') return s == nil, err == nil") == (
        True,
        True,
    )
    ids = await lua.eval(
        "local t = {} for _, s in ipairs(cru.sessions.list()) do t[#t+1] = s.id end return table.concat(t, ',')"
    )
    assert sid in ids.split(",")


@pytest.mark.parametrize(
    "call",
    [
        "cru.sessions.send_message('nope', 'hi')",
        "cru.sessions.configure_agent('nope', {model = 'm'})",
        "cru.sessions.cancel('nope')",
        "cru.sessions.pause('nope')",
        "cru.sessions.resume('nope')",
        "cru.sessions.end_session('nope')",
        "cru.sessions.subscribe('nope')",
        "cru.sessions.messages('nope')",
        "cru.sessions.interaction_respond('nope', 'r', {allowed = true})",
    ],
)
async def test_an_unknown_session_is_session_not_found(lua, call):
    assert await lua.eval(f"local a, b = {call} return a == nil, b") == (True, "Session not found: nope")


async def test_a_session_without_an_agent_says_so(lua):
    sid = await lua.eval("return cru.sessions.create({type = 'chat'}).id")
    err = await lua.eval(f"return select(2, cru.sessions.send_message('{sid}', 'hi'))")
    assert err == f"No agent configured for session: {sid}"
    assert await lua.eval(
        f"return cru.sessions.configure_agent('{sid}', {{model = 'echo', system_prompt = 'Be brief.'}})"
    )
    assert (
        await lua.eval(f"cru.sessions.send_message('{sid}', 'hi') return cru.sessions.watch('{sid}')")
        == "Echo: hi"
    )


async def test_configure_agent_takes_the_references_full_shape_and_refuses_bad_ones(lua):
    sid = await lua.eval("return cru.sessions.create({}).id")
    full = (
        "{agent_type = 'internal', provider = 'echo', model = 'echo', system_prompt = 'x', temperature = 0.2}"
    )
    assert await lua.eval(f"return cru.sessions.configure_agent('{sid}', {full})") == (True, None)
    err = await lua.eval(
        f"return select(2, cru.sessions.configure_agent('{sid}', {{provider = 'anthropic'}}))"
    )
    assert err.startswith("Invalid agent config: unknown provider 'anthropic'")
    err = await lua.eval(
        f"return select(2, cru.sessions.configure_agent('{sid}', {{provider = 'openai', api_key = 'sk'}}))"
    )
    assert "never put an API key in a notebook" in err
    error = await lua.error(f"cru.sessions.configure_agent('{sid}', {{f = print}})")
    assert "cannot serialize <function>" in error.message


async def test_a_second_message_while_a_turn_runs_is_refused(lua):
    sid = await new_session(lua, "provider = 'echo', delay = 0.01")
    err = await lua.eval(
        f"cru.sessions.send_message('{sid}', 'a long message to answer') return select(2, cru.sessions.send_message('{sid}', 'again'))"
    )
    assert err == f"Concurrent request in progress for session: {sid}"


async def test_every_event_type_of_a_scripted_turn_in_order(lua):
    replies = """{
      {thinking = "hmm"}, {text = "Looking it up. "},
      {tool = "search", args = {q = "x"}, result = {hits = 1}},
      {permission = "shell", description = "run ls"},
      {text = "Done."},
    }"""
    sid = await new_session(lua, f"provider = 'echo', delay = 0, replies = {{ {replies} }}")
    await lua.eval("collected = nil")
    lua.start(f"collected = (function(...) {EVENTS} end)('{sid}')", foreground=False)
    await lua.eval(f"cru.timer.sleep(0) cru.sessions.send_message('{sid}', 'go') cru.sessions.watch('{sid}')")
    seen = (await lua.eval("return collected")).split("|")
    assert seen == [
        "user_message:go",
        "thinking:hmm",
        "text_delta:Looking ",
        "text_delta:it ",
        "text_delta:up. ",
        "tool_call:search",
        "tool_result:search",
        "tool_call:shell",
        "interaction_requested:" + seen[8].split(":", 1)[1],
        "interaction_completed:" + seen[8].split(":", 1)[1],
        "tool_result:shell",
        "text_delta:Done.",
        "message_complete:",
        "response_done:",
    ]


async def test_text_delta_carries_the_chunk_in_text_and_content_and_message_complete_has_tokens(lua):
    sid = await new_session(lua)
    got = await lua.eval(
        f"""
        local next_event = cru.sessions.subscribe('{sid}')
        cru.sessions.send_message('{sid}', 'one two')
        local e = next_event()
        while e.type ~= "text_delta" do e = next_event() end
        local same = e.data.text == e.data.content and e.session_id == '{sid}'
        while e.type ~= "message_complete" do e = next_event() end
        local d = e.data
        return same, d.full_response, d.prompt_tokens, d.completion_tokens, d.total_tokens
        """
    )
    assert got == (True, "Echo: one two", 2, 3, 5)


async def test_a_failed_turn_sends_error_then_ended(lua):
    sid = await new_session(
        lua, "provider = 'echo', delay = 0, replies = {{{text = 'partial '}, {error = 'model overloaded'}}}"
    )
    lua.start(f"collected = (function(...) {EVENTS} end)('{sid}')", foreground=False)
    await lua.eval(
        f"cru.timer.sleep(0) cru.sessions.send_message('{sid}', 'go') return cru.sessions.watch('{sid}')"
    )
    seen = (await lua.eval("return collected")).split("|")
    assert seen[-2:] == ["error:model overloaded", "ended:error: model overloaded"]
    assert await lua.eval(f"return select(2, cru.sessions.watch('{sid}'))") == "model overloaded"


async def test_every_subscriber_gets_every_event_in_order(lua):
    sid = await new_session(lua)
    got = await lua.eval(
        f"""
        local subs = {{}}
        for i = 1, 5 do subs[i] = cru.sessions.subscribe('{sid}') end
        cru.sessions.send_message('{sid}', 'a b c d e f g h')
        local out = {{}}
        for i = 1, 5 do
          local seen = {{}}
          repeat local e = subs[i]() seen[#seen + 1] = e.type .. (e.data.text or '') until e.type == 'response_done'
          out[i] = table.concat(seen, ',')
        end
        for i = 2, 5 do if out[i] ~= out[1] then return false, out[i] end end
        return true, out[1]
        """
    )
    assert got[0] is True
    assert got[1].startswith("user_message,text_deltaEcho: ,text_deltaa ") and got[1].endswith(
        "message_complete,response_done"
    )


async def test_unsubscribe_ends_the_subscriptions_and_cancel_reports_cancelled(lua):
    sid = await new_session(lua, "provider = 'echo', delay = 0.01")
    got = await lua.eval(
        f"""
        local next_event = cru.sessions.subscribe('{sid}')
        cru.sessions.send_message('{sid}', string.rep('word ', 50))
        repeat local e = next_event() until e.type == 'text_delta'
        local cancelled = cru.sessions.cancel('{sid}')
        local last
        repeat last = next_event() until last.type == 'ended'
        local again = cru.sessions.cancel('{sid}')
        local ok = cru.sessions.unsubscribe('{sid}')
        return cancelled, last.data.reason, again, ok, next_event() == nil
        """
    )
    assert got == (True, "cancelled", False, True, True)


async def test_pause_holds_the_stream_and_refuses_messages_until_resume(lua):
    sid = await new_session(lua, "provider = 'echo', delay = 0.005")
    got = await lua.eval(
        f"""
        local next_event = cru.sessions.subscribe('{sid}')
        cru.sessions.send_message('{sid}', 'a b c d e f')
        repeat local e = next_event() until e.type == 'text_delta'
        assert(cru.sessions.pause('{sid}'))
        local state = cru.sessions.get('{sid}').state
        cru.timer.sleep(0.05)
        local held = 0
        local _, refused = cru.sessions.send_message('{sid}', 'more')
        assert(cru.sessions.resume('{sid}'))
        repeat local e = next_event() until e.type == 'response_done'
        return state, refused, cru.sessions.get('{sid}').state
        """
    )
    assert got[0] == "paused"
    assert got[1].startswith(f"Session is paused: {sid}")
    assert got[2] == "active"


async def test_an_ended_session_refuses_messages_and_its_subscriptions_end(lua):
    sid = await new_session(lua)
    got = await lua.eval(
        f"""
        local next_event = cru.sessions.subscribe('{sid}')
        assert(cru.sessions.end_session('{sid}'))
        local _, err = cru.sessions.send_message('{sid}', 'hi')
        return next_event() == nil, err, cru.sessions.get('{sid}').state, (cru.sessions.end_session('{sid}'))
        """
    )
    assert got == (True, f"Session has ended: {sid}", "ended", True)


@pytest.mark.parametrize("answer, field", [("true", "allowed"), ("false", "allowed"), ("true", "approved")])
async def test_a_permission_request_is_answered_both_ways(lua, answer, field):
    sid = await new_session(
        lua,
        "provider = 'echo', delay = 0, replies = {{{permission = 'shell', description = 'run ls', result = 'a b'}}}",
    )
    got = await lua.eval(
        f"""
        local next_event = cru.sessions.subscribe('{sid}')
        cru.sessions.send_message('{sid}', 'list files', {{interactive = true}})
        local e
        repeat e = next_event() until e.type == 'interaction_requested'
        assert(e.data.request.kind == 'permission' and e.data.request.tool == 'shell')
        assert(cru.sessions.interaction_respond('{sid}', e.data.request_id, {{{field} = {answer}}}))
        local completed, result
        repeat
          e = next_event()
          if e.type == 'interaction_completed' then completed = e.data.response.allowed end
          if e.type == 'tool_result' then result = e.data.result end
        until e.type == 'response_done'
        return completed, result.result, result.error
        """
    )
    if answer == "true":
        assert got == (True, "a b", None)
    else:
        assert got == (False, None, "permission denied")


async def test_a_non_interactive_turn_is_denied_without_waiting_and_bad_answers_are_refused(lua):
    sid = await new_session(lua, "provider = 'echo', delay = 0, replies = {{{permission = 'shell'}}}")
    got = await lua.eval(
        f"""
        local next_event = cru.sessions.subscribe('{sid}')
        cru.sessions.send_message('{sid}', 'go')
        local e
        repeat e = next_event() until e.type == 'interaction_completed'
        local _, unknown = cru.sessions.interaction_respond('{sid}', 'perm-x', {{allowed = true}})
        local _, bad = cru.sessions.interaction_respond('{sid}', 'perm-x', {{yes = true}})
        return e.data.response.allowed, unknown, bad
        """
    )
    assert got == (
        False,
        "Permission not found: perm-x",
        "Invalid permission response: missing field `allowed`",
    )


async def test_send_and_collect_returns_the_parts_including_permission_requests(lua):
    replies = """{
      {thinking = "plan"}, {text = "Hello "}, {text = "world. "},
      {tool = "search", args = {q = "x"}, result = {hits = 1}},
      {tool = "fetch", error = "404"},
      {permission = "shell", description = "run ls"},
      {text = "Bye."},
    }"""
    sid = await new_session(lua, f"provider = 'echo', delay = 0, replies = {{ {replies} }}")
    got = await lua.eval(
        f"""
        local next_part = assert(cru.sessions.send_and_collect('{sid}', 'go', {{timeout = 10}}))
        local out = {{}}
        while true do
          local p = next_part()
          if not p then break end
          out[#out + 1] = p.type .. '=' .. (p.content or p.args_brief or p.result_brief or p.tool or '')
            .. (p.is_error and '!' or '')
        end
        return table.concat(out, '|')
        """
    )
    assert got.split("|") == [
        "thinking=plan",
        "text=Hello world. ",
        'tool_call={"q":"x"}',
        'tool_result={"result":{"hits":1}}',
        "tool_call={}",
        "tool_result=404!",
        "tool_call={}",
        "permission_request=shell",
        "tool_result=permission denied!",
        "text=Bye.",
    ]


async def test_send_and_collect_stops_at_its_deadline_and_returns_errors(lua):
    sid = await new_session(lua, "provider = 'echo', delay = 0.2")
    got = await lua.eval(
        f"""
        local next_part = cru.sessions.send_and_collect('{sid}', 'a b c d e f', 0.3)
        local first = next_part()
        return first.type, first.content, next_part() == nil
        """
    )
    assert got == ("text", "Echo: ", True)
    err = await lua.eval(f"return select(2, cru.sessions.send_and_collect('{sid}', 'x'))")
    assert err == f"Concurrent request in progress for session: {sid}"


async def test_complete_messages_inject_and_fork(lua):
    sid = await new_session(lua, "provider = 'echo', delay = 0, completions = {['2+2?'] = '4'}")
    got = await lua.eval(
        f"""
        local a = cru.sessions.complete('{sid}', '2+2?')
        local b = cru.sessions.complete('{sid}', {{prompt = 'hi', system = 's', timeout = 5}})
        local _, bad = cru.sessions.complete('{sid}', {{prompt = 'x', timeout = 20.0}})
        local _, missing = cru.sessions.complete('{sid}', {{system = 's'}})
        local _, kind = cru.sessions.complete('{sid}', 42)
        cru.sessions.send_message('{sid}', 'hello') cru.sessions.watch('{sid}')
        assert(cru.sessions.inject('{sid}', 'system', 'be nice'))
        local _, role = cru.sessions.inject('{sid}', 'robot', 'x')
        local all = cru.sessions.messages('{sid}')
        local last = cru.sessions.messages('{sid}', {{limit = 1}})
        local users = cru.sessions.messages('{sid}', {{role = 'user'}})
        local _, filter = cru.sessions.messages('{sid}', {{role = 'robot'}})
        local child = cru.sessions.fork('{sid}', {{up_to = 2}})
        local _, no_agent = cru.sessions.send_message(child.id, 'x')
        return a, b, bad, missing, kind, role, #all, all[2].content, last[1].content, #users, filter,
          child.parent_id == '{sid}', child.messages_copied, no_agent ~= nil, type(all[1].timestamp)
        """
    )
    assert got[:2] == ("4", "Echo: hi")
    assert got[2].startswith("Invalid complete() options:") and "timeout" in got[2]
    assert got[3] == "Invalid complete() options: missing field `prompt`"
    assert got[4] == 'complete() expects a prompt string or a table, e.g. { prompt = "…" }'
    assert got[5] == "Invalid role 'robot': must be 'system', 'user', or 'assistant'"
    assert got[6:10] == (3, "Echo: hello", "be nice", 1)
    assert got[10] == "Invalid role filter 'robot': must be 'user', 'assistant', or 'system'"
    assert got[11:] == (True, 2, True, "string")


async def test_the_other_reference_names_say_not_supported_and_check_arguments(lua):
    for call in (
        "cache_stats('s')",
        "undo('s')",
        "can_undo('s')",
        "undo_depth('s')",
        "undo_history('s')",
        "review_list_hunks('s')",
        "review_set_state('s', 'h', 'accepted')",
        "review_comment('s', {})",
        "review_resolve_comment('s', 'c')",
        "collect_subagents({'a'})",
        "set_output_validation('s', 'json')",
    ):
        got = await lua.eval(f"local a, b = cru.sessions.{call} return a == nil, b")
        assert got == (True, "not supported by this session service"), call
    error = await lua.error("cru.sessions.set_output_validation('s', {type = 'xml'})")
    assert "unknown validation type 'xml'; want none|json|regex|lua" in error.message
    error = await lua.error("cru.sessions.set_output_validation('s', 42)")
    assert "validation spec must be string or table, got number" in error.message
    error = await lua.error("cru.sessions.send_message('s')")
    assert "bad argument #2 to 'send_message' (string expected, got nil)" in error.message


async def test_switching_off_restores_the_stubs_and_on_the_service(lua):
    lua.binding.disable()
    assert await lua.eval("return select(2, cru.sessions.create({}))") == "no daemon connected"
    assert await lua.eval("return select(2, cru.sessions.watch('x'))") == "no daemon connected"
    lua.binding.enable()
    assert await lua.eval("return cru.sessions.create({}).state") == "active"


async def test_a_collected_subscription_stops_costing_anything(lua, service):
    import gc

    sid = await new_session(lua)
    await lua.eval(f"for i = 1, 3 do cru.sessions.subscribe('{sid}') end")
    await lua.eval("collectgarbage() collectgarbage()")
    gc.collect()
    assert len(service.sessions[sid].fanout) == 0


async def test_a_session_displays_as_its_transcript_on_a_plain_host(lua):
    sid = await new_session(lua)
    await lua.eval(
        f"cru.sessions.send_message('{sid}', 'hi') cru.sessions.watch('{sid}') display(cru.sessions.get('{sid}'))"
    )
    shown = lua.host.displays[-1]["data"]
    assert "you: hi" in shown["text/plain"] and "Echo: hi" in shown["text/markdown"]


async def test_interrupting_a_cell_that_watches_cancels_the_turn_and_the_text_says_so(lua):
    import asyncio

    sid = await new_session(lua, "provider = 'echo', delay = 0.01")
    task = lua.start(
        f"cru.sessions.send_message('{sid}', string.rep('word ', 100)) return cru.sessions.watch('{sid}')"
    )
    while b"word word" not in lua.host.stdout:
        await asyncio.sleep(0.01)
    lua.runtime.interrupt()
    await task.wait()
    assert task.stop == "interrupted"
    assert lua.host.out.endswith("[cancelled]\n")
    assert await lua.eval(f"return cru.sessions.get('{sid}').state") == "active"
    assert (
        await lua.eval(f"cru.sessions.send_message('{sid}', 'x') return cru.sessions.watch('{sid}')")
        == "Echo: x"
    )


async def test_interrupting_a_cell_reading_next_event_cancels_the_turn(lua):
    import asyncio

    sid = await new_session(lua, "provider = 'echo', delay = 0.01")
    task = lua.start(
        f"local n = cru.sessions.subscribe('{sid}') cru.sessions.send_message('{sid}', string.rep('w ', 100))"
        " while true do n() end"
    )
    await asyncio.sleep(0.1)
    lua.runtime.interrupt()
    await task.wait()
    assert task.stop == "interrupted"
    assert await lua.eval(f"return (cru.sessions.cancel('{sid}'))") is False  # nothing left to cancel
