"""cru.ws against a local WebSocket server (reference §3.7; extras: headers, subprotocols,
close code and reason)."""

from __future__ import annotations

import asyncio
import base64
import json

import pytest

from crucible_kernel.runtime import Runtime, TaskState
from tests import servers
from tests.servers import UNICODE_TEXT, WsServer

from .conftest import Lua

http_server = servers.http_server  # fixture
ws_server = servers.ws_server  # fixture


def lua_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


# The contract's examples, as written (only the URL points at the local server)


async def test_the_contract_examples_connect_send_receive_and_close(lua, ws_server):
    code = f"""
        local payloads = {{}}
        local function handle_payload(payload) payloads[#payloads + 1] = payload end
        local ws = cru.ws.connect({lua_string(ws_server.url("/echo"))})
        ws:send(cru.json.encode({{ op = 1, d = nil }}))
        while true do
        local msg = ws:receive(30.0)
        if msg == nil then
        -- timeout, send heartbeat or check state
        elseif msg.type == "text" then
        local payload = cru.json.decode(msg.data)
        handle_payload(payload)
        ws:close()
        break
        elseif msg.type == "close" then
        break
        end
        end
        ws:close()
        return #payloads, payloads[1].op
    """
    assert await lua.eval(code) == (1, 1)
    assert await ws_server.wait_closes(1) == [(1000, "closed by client")]


async def test_the_contract_receive_loop_ends_on_the_servers_close(lua, ws_server):
    code = f"""
        local seen = {{}}
        local function handle_payload(payload) seen[#seen + 1] = payload end
        local ws = cru.ws.connect({lua_string(ws_server.url("/close"))}, {{ timeout = 5 }})
        while true do
        local msg = ws:receive(30.0)
        if msg == nil then
        -- timeout, send heartbeat or check state
        elseif msg.type == "text" then
        local payload = msg.data
        handle_payload(payload)
        elseif msg.type == "close" then
        break
        end
        end
        ws:close()
        return table.concat(seen, ",")
    """
    assert await lua.eval(code) == "bye soon"


async def test_the_discord_style_pcall_form_of_receive_works(lua, ws_server):
    code = f"""
        local ws = cru.ws.connect({lua_string(ws_server.url("/greet"))})
        local ok, msg = pcall(ws.receive, ws, 5)
        ws.send(ws, "again")
        local ok2, msg2 = pcall(ws.receive, ws, 5)
        ws.close(ws)
        return ok, msg.type, msg.data, ok2, msg2.data
    """
    assert await lua.eval(code) == (True, "text", "hello", True, "again")


# What a connection is


async def test_a_connection_is_a_userdata_that_hides_its_python_side(lua, ws_server):
    code = f"""
        local ws = cru.ws.connect({lua_string(ws_server.url("/echo"))})
        local t, name = type(ws), tostring(ws)
        local ok_index, ws_field = pcall(function() return ws.ws end)
        local ok_set = pcall(function() ws.closed = true end)
        ws:close()
        return t, name:match("^WebSocket %d+$") ~= nil, ok_index, ws_field, ok_set,
               type(cru.ws.connect), getmetatable(cru.ws) == nil
    """
    assert await lua.eval(code) == ("userdata", True, True, None, False, "function", True)


async def test_wrong_arguments_and_a_bad_self_raise(lua, ws_server):
    error = await lua.error("cru.ws.connect('ws://127.0.0.1:1/', 5)")
    assert error.message == "test[1]:1: bad argument #2 to 'connect' (table expected, got number)"
    error = await lua.error("cru.ws.connect({})")
    assert error.message == "test[2]:1: bad argument #1 to 'connect' (string expected, got table)"
    code = f"""
        local ws = cru.ws.connect({lua_string(ws_server.url("/echo"))})
        local ok, err = pcall(ws.send, {{}}, "x")
        local ok2, err2 = pcall(ws.send, ws, {{}})
        local ok3, err3 = pcall(ws.receive, ws, "soon")
        ws:close()
        return err, err2, err3
    """
    assert await lua.eval(code) == (
        "test[3]:3: calling 'send' on bad self (WebSocket expected, got table)",
        "test[3]:4: bad argument #1 to 'send' (string expected, got table)",
        "test[3]:5: bad argument #1 to 'receive' (number expected, got string)",
    )


# Messages


async def test_text_messages_echo_including_unicode(lua, ws_server):
    code = f"""
        local ws = cru.ws.connect({lua_string(ws_server.url("/echo"))})
        ws:send({lua_string(UNICODE_TEXT)})
        ws:send(42)
        local a, b = ws:receive(5), ws:receive(5)
        ws:close()
        return a.type, a.data, b.data
    """
    assert await lua.eval(code) == ("text", UNICODE_TEXT, "42")


async def test_binary_messages_go_out_decoded_and_come_back_base64(lua, ws_server):
    payload = bytes(range(256))
    code = f"""
        local ws = cru.ws.connect({lua_string(ws_server.url("/echo"))})
        ws:send_binary({lua_string(base64.b64encode(payload).decode())})
        ws:send_binary("")
        local a, b = ws:receive(5), ws:receive(5)
        ws:close()
        return a.type, a.data, b.type, b.data
    """
    kind, data, empty_kind, empty_data = await lua.eval(code)
    assert (kind, empty_kind, empty_data) == ("binary", "binary", "")
    assert base64.b64decode(data) == payload


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ("abc", "Incorrect padding"),
        ("YQ", "Incorrect padding"),
        ("ab!d", "Only base64 data is allowed"),
        ("YQ==YQ==", "Excess data after padding"),
    ],
)
async def test_bad_base64_raises_a_decode_error(lua, ws_server, data, why):
    code = f"""
        local ws = cru.ws.connect({lua_string(ws_server.url("/echo"))})
        local ok, err = pcall(ws.send_binary, ws, {lua_string(data)})
        ws:close()
        return ok, err
    """
    assert await lua.eval(code) == (False, f"test[1]:3: Base64 decode error: {why}")


async def test_invalid_utf8_text_is_refused(lua, ws_server):
    code = f"""
        local ws = cru.ws.connect({lua_string(ws_server.url("/echo"))})
        local ok, err = pcall(ws.send, ws, "\\255")
        ws:send("still open")
        local msg = ws:receive(5)
        ws:close()
        return ok, err, msg.data
    """
    assert await lua.eval(code) == (
        False,
        "test[1]:3: bad argument #1 to 'send' (text is not valid UTF-8)",
        "still open",
    )


async def test_pings_from_the_server_are_answered_and_pongs_skipped(lua, ws_server):
    code = f"""
        local ws = cru.ws.connect({lua_string(ws_server.url("/ping"))})
        local a, b = ws:receive(5), ws:receive(5)
        ws:close()
        return a.data, b.data
    """
    assert await lua.eval(code) == ("pong received", "after pong")
    assert ws_server.pong_received.is_set()


async def test_receive_returns_nil_on_timeout_and_the_connection_still_works(lua, ws_server):
    code = f"""
        local ws = cru.ws.connect({lua_string(ws_server.url("/echo"))})
        local start = cru.timer.clock()
        local nothing = ws:receive(0.1)
        local waited = cru.timer.clock() - start
        ws:send("after the timeout")
        local msg = ws:receive(5)
        ws:close()
        return nothing, waited >= 0.09, msg.data
    """
    assert await lua.eval(code) == (None, True, "after the timeout")


async def test_send_works_while_another_task_is_blocked_in_receive(lua, ws_server):
    code = f"""
        local ws = cru.ws.connect({lua_string(ws_server.url("/echo"))})
        local receiver = cru.spawn(function() return ws:receive(5) end)
        cru.timer.sleep(0.05)
        local status = receiver:status()
        ws:send("crossed")
        local msg = receiver:wait()
        ws:close()
        return status, msg.type, msg.data
    """
    assert await lua.eval(code) == ("waiting", "text", "crossed")


async def test_two_receivers_take_turns_instead_of_failing(lua, ws_server):
    code = f"""
        local ws = cru.ws.connect({lua_string(ws_server.url("/echo"))})
        local a = cru.spawn(function() return ws:receive(5).data end)
        local b = cru.spawn(function() return ws:receive(5).data end)
        cru.timer.sleep(0.02)
        ws:send("one")
        ws:send("two")
        local got = {{a:wait(), b:wait()}}
        table.sort(got)
        ws:close()
        return table.concat(got, ",")
    """
    assert await lua.eval(code) == "one,two"


# Closing


async def test_close_is_idempotent_and_sends_1000_closed_by_client(lua, ws_server):
    code = f"""
        local ws = cru.ws.connect({lua_string(ws_server.url("/record"))})
        ws:send("last words")
        ws:close()
        ws:close()
        ws.close(ws)
    """
    await lua.eval(code)
    assert await ws_server.wait_closes(1) == [(1000, "closed by client")]
    assert ws_server.received == ["last words"]


async def test_every_call_after_close_raises_connection_is_closed(lua, ws_server):
    code = f"""
        local ws = cru.ws.connect({lua_string(ws_server.url("/echo"))})
        ws:close()
        local errors = {{}}
        for _, call in ipairs({{
          function() ws:send("x") end,
          function() ws:send_binary("eA==") end,
          function() ws:receive(1) end,
        }}) do
          local ok, err = pcall(call)
          errors[#errors + 1] = tostring(ok) .. " " .. err:gsub("^test%[1%]:%d+: ", "")
        end
        return table.concat(errors, "|")
    """
    expected = "|".join(["false WebSocket connection is closed"] * 3)
    assert await lua.eval(code) == expected


async def test_close_takes_a_code_and_a_reason(lua, ws_server):
    await lua.eval(f"cru.ws.connect({lua_string(ws_server.url('/record'))}):close(4001.0, 'going home')")
    assert await ws_server.wait_closes(1) == [(4001, "going home")]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ("1005", "bad argument #1 to 'close' (invalid close code 1005)"),
        ("'soon'", "bad argument #1 to 'close' (integer expected, got string)"),
        ("1000.5", "bad argument #1 to 'close' (integer expected, got float)"),
        ("1000, '\\255'", "bad argument #2 to 'close' (reason is not valid UTF-8)"),
        ("1000, string.rep('x', 124)", "bad argument #2 to 'close' (reason is 124 bytes, at most 123 fit)"),
    ],
)
async def test_close_refuses_codes_and_reasons_a_close_frame_cannot_carry(lua, ws_server, args, message):
    code = f"""
        local ws = cru.ws.connect({lua_string(ws_server.url("/echo"))})
        local ok, err = pcall(ws.close, ws, {args})
        ws:close()
        return ok, err
    """
    assert await lua.eval(code) == (False, f"test[1]:3: {message}")


async def test_a_server_initiated_close_returns_its_code_and_reason_then_raises(lua, ws_server):
    code = f"""
        local ws = cru.ws.connect({lua_string(ws_server.url("/close"))})
        local first, second = ws:receive(5), ws:receive(5)
        local ok, err = pcall(ws.receive, ws, 1)
        local ok_send, err_send = pcall(ws.send, ws, "x")
        ws:close()
        return first.data, second.type, second.code, second.reason, second.data, ok, err, ok_send, err_send
    """
    assert await lua.eval(code) == (
        "bye soon",
        "close",
        4000,
        "bye",
        None,
        False,
        "test[1]:4: WebSocket connection is closed",
        False,
        "test[1]:5: WebSocket connection is closed",
    )


async def test_a_send_after_the_server_closed_is_an_error_and_the_close_is_still_received(lua, ws_server):
    lua.runtime.lua.globals()[b"server_done"] = lambda: len(ws_server.closes) > 0
    code = f"""
        local ws = cru.ws.connect({lua_string(ws_server.url("/close"))})
        while not server_done() do cru.timer.sleep(0.01) end
        local ok, err = pcall(ws.send, ws, "too late")
        local first, second = ws:receive(5), ws:receive(5)
        return ok, err, first.data, second.type, second.code
    """
    ok, err, first, kind, code = await lua.eval(code)
    assert (ok, first, kind, code) == (False, "bye soon", "close", 4000)
    assert err.startswith("test[1]:4: WebSocket error: ")


async def test_a_dropped_tcp_connection_raises_a_websocket_error_then_closed(lua, ws_server):
    code = f"""
        local ws = cru.ws.connect({lua_string(ws_server.url("/drop"))})
        local hello = ws:receive(5)
        local ok, err = pcall(ws.receive, ws, 5)
        local ok2, err2 = pcall(ws.receive, ws, 5)
        ws:close()
        return hello.data, ok, err, ok2, err2
    """
    hello, ok, err, ok2, err2 = await lua.eval(code)
    assert (hello, ok, ok2) == ("hello", False, False)
    assert err.startswith("test[1]:4: WebSocket error: ")
    assert err2 == "test[1]:5: WebSocket connection is closed"


async def test_closing_the_runtime_closes_open_connections_every_time(lua, ws_server):
    await lua.eval(f"keep = cru.ws.connect({lua_string(ws_server.url('/record'))})")
    await lua.runtime.aclose()
    assert await ws_server.wait_closes(1) == [(1000, "closed by client")]
    second = Lua(Runtime(lua.host), lua.host)  # a closed runtime is done; a fresh one does the same
    await second.eval(f"keep = cru.ws.connect({lua_string(ws_server.url('/record'))})")
    await second.runtime.aclose()
    assert await ws_server.wait_closes(2) == [(1000, "closed by client")] * 2


# Connecting


async def test_a_refused_connection_raises_a_websocket_error(lua):
    error = await lua.error("cru.ws.connect('ws://127.0.0.1:1/')")
    assert error.message == "test[1]:1: WebSocket error: IO error: Connection refused (os error 111)"


async def test_an_http_endpoint_that_is_not_a_websocket_raises_its_status(lua, http_server):
    url = http_server.url("/status/404").replace("http://", "ws://")
    error = await lua.error(f"cru.ws.connect({lua_string(url)})")
    assert error.message == "test[1]:1: WebSocket error: HTTP error: 404 Not Found"


async def test_a_server_that_never_completes_the_handshake_times_out(lua, http_server):
    url = http_server.url("/hang").replace("http://", "ws://")
    error = await lua.error(f"cru.ws.connect({lua_string(url)}, {{timeout = 0.2}})")
    assert error.message == "test[1]:1: WebSocket connection timed out"
    await asyncio.wait_for(http_server.hang_ended.wait(), 5)  # the half-open connection was dropped


async def test_a_bad_url_raises_a_websocket_error(lua):
    error = await lua.error("cru.ws.connect('http://127.0.0.1:1/')")
    assert error.message.startswith("test[1]:1: WebSocket error: ")


async def test_connect_sends_extra_headers_and_offers_subprotocols(lua, ws_server):
    code = f"""
        local ws = cru.ws.connect({lua_string(ws_server.url("/handshake"))}, {{
          headers = {{Authorization = "Bot abc", ["X-Shard"] = 3}},
          subprotocols = {{"chat.v1", "chat.v2"}},
        }})
        local info = cru.json.decode(ws:receive(5).data)
        local chosen = ws:subprotocol()
        ws:close()
        return info.headers.authorization, info.headers["x-shard"], info.headers["user-agent"],
               info.headers["sec-websocket-protocol"], info.subprotocol, chosen
    """
    assert await lua.eval(code) == ("Bot abc", "3", None, "chat.v1, chat.v2", "chat.v2", "chat.v2")


async def test_without_subprotocols_none_is_chosen(lua, ws_server):
    code = f"""
        local ws = cru.ws.connect({lua_string(ws_server.url("/handshake"))})
        local info = cru.json.decode(ws:receive(5).data)
        local chosen = ws:subprotocol()
        ws:close()
        return info.subprotocol == cru.json.null, chosen, info.headers["sec-websocket-extensions"]
    """
    assert await lua.eval(code) == (True, None, None)


async def test_connect_outside_a_running_task_raises_the_yield_error(lua):
    from lupa import lua54

    with pytest.raises(lua54.LuaError, match="attempt to yield from outside a coroutine"):
        lua.runtime.lua.execute(b"cru.ws.connect('ws://127.0.0.1:1/')")


async def test_send_and_close_work_from_a_caller_that_cannot_wait(lua, ws_server):
    await lua.eval(f"ws = cru.ws.connect({lua_string(ws_server.url('/record'))})")
    lua.runtime.lua.execute(b"ws:send('from sync code') ws:close() ws:close()")
    error = await lua.error("ws:send('too late')")
    assert error.message == "test[2]:1: WebSocket connection is closed"
    assert await ws_server.wait_closes(1) == [(1000, "closed by client")]
    assert ws_server.received == ["from sync code"]


# Interrupts and cancellation


async def test_a_close_handler_of_a_cancelled_task_closes_the_connection(lua, ws_server):
    # A service cancelled by a reload unwinds: its waits end at once, so the close handshake
    # finishes in the background instead of being dropped.
    code = f"""
        local task = cru.spawn(function()
          local ws = cru.ws.connect({lua_string(ws_server.url("/record"))})
          local closer <close> = setmetatable({{}}, {{__close = function() ws:close() end}})
          ws:receive()
        end)
        cru.timer.sleep(0.1)
        task:cancel()
        cru.timer.sleep(0)
        return task:status()
    """
    assert await lua.eval(code) == "cancelled"
    assert await ws_server.wait_closes(1) == [(1000, "closed by client")]


async def test_a_receive_cut_short_by_timer_timeout_leaves_the_connection_usable(lua, ws_server):
    code = f"""
        local ws = cru.ws.connect({lua_string(ws_server.url("/echo"))})
        local ok, why = cru.timer.timeout(0.05, function() return ws:receive() end)
        ws:send("still here")
        local msg = ws:receive(5)
        ws:close()
        return ok, why, msg.data
    """
    assert await lua.eval(code) == (False, "timeout", "still here")


async def test_an_interrupted_receive_stops_the_cell_and_the_next_cell_can_use_the_connection(lua, ws_server):
    await lua.eval(f"ws = cru.ws.connect({lua_string(ws_server.url('/echo'))})")
    task = lua.start("return ws:receive()")
    async with asyncio.timeout(5):
        while task.state is not TaskState.WAITING:
            await asyncio.sleep(0.005)
    lua.runtime.interrupt()
    await task.wait()
    assert (task.state, task.stop) == (TaskState.CANCELLED, "interrupted")
    assert (
        await lua.eval("ws:send('next cell') local m = ws:receive(5) ws:close() return m.data") == "next cell"
    )


async def test_an_interrupted_connect_leaves_nothing_open(lua, http_server):
    url = http_server.url("/hang").replace("http://", "ws://")
    task = lua.start(f"return cru.ws.connect({lua_string(url)})")
    await asyncio.wait_for(http_server.hang_started.wait(), 5)
    lua.runtime.interrupt()
    await task.wait()
    assert task.stop == "interrupted"
    await asyncio.wait_for(http_server.hang_ended.wait(), 5)


# Reconnecting


async def test_a_retry_loop_reconnects_after_the_server_restarts(lua):
    server = await WsServer().start()
    try:
        code = f"""
            local seen, attempts = {{}}, 0
            cru.retry(function()
              attempts = attempts + 1
              local ws = cru.ws.connect({lua_string(server.url("/generation"))}, {{timeout = 1}})
              while true do
                local msg = ws:receive(5)
                if msg == nil then ws:close() error("silent server") end
                if msg.type == "close" then error("closed by the server") end
                seen[#seen + 1] = msg.data
                if msg.data == "generation 2" then ws:close() return end
              end
            end, {{max_retries = 200, base_delay = 0.05, max_delay = 0.05, jitter = false,
                  retryable = function(err) return tostring(err):find("WebSocket") or tostring(err):find("closed") end}})
            return table.concat(seen, ","), attempts
        """
        task = lua.start(code, "=reconnect", foreground=False)
        await asyncio.wait_for(server.connected.wait(), 5)
        await server.stop()  # closes the connection (1001): the loop reconnects and is refused
        await asyncio.sleep(0.3)
        await server.start()  # the same port, generation 2
        await asyncio.wait_for(task.wait(), 10)
        assert task.state is TaskState.DONE, task.error
        seen, attempts = task.results
        assert seen == b"generation 1,generation 2"
        assert attempts >= 3  # the first connection, at least one refused attempt, the reconnection
    finally:
        await server.stop()
