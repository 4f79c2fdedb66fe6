"""cru.http against a local HTTP server (reference §3.6; extras: query, json, fractional timeouts)."""

from __future__ import annotations

import asyncio
import json

import pytest

from crucible_kernel.runtime import TaskState
from tests import servers
from tests.servers import UNICODE_TEXT, HttpServer

http_server = servers.http_server  # fixture


def lua_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # valid Lua for text without control characters


# The contract's examples, as written (only the URLs point at the local server)


async def test_the_contract_convenience_calls_run_as_written(lua, http_server):
    url = http_server.url("/echo")
    code = f"""
        local url, opts = {lua_string(url)}, nil
        local methods = {{}}
        local resp = cru.http.get(url, opts?)
        methods[#methods + 1] = cru.json.decode(resp.body).method
        local resp = cru.http.post(url, opts?)
        methods[#methods + 1] = cru.json.decode(resp.body).method
        local resp = cru.http.put(url, opts?)
        methods[#methods + 1] = cru.json.decode(resp.body).method
        local resp = cru.http.patch(url, opts?)
        methods[#methods + 1] = cru.json.decode(resp.body).method
        local resp = cru.http.delete(url, opts?)
        methods[#methods + 1] = cru.json.decode(resp.body).method
        return table.concat(methods, " ")
    """.replace("opts?", "opts")  # `opts?` is the contract's notation for an optional argument
    assert await lua.eval(code) == "GET POST PUT PATCH DELETE"


async def test_the_contract_request_example_sends_method_headers_and_body(lua, http_server):
    code = f"""
        local resp = cru.http.request({{
        url = {lua_string(http_server.url("/echo"))},
        method = "PUT",
        headers = {{ Authorization = "Bearer token123" }},
        body = cru.json.encode({{ key = "value" }}),
        timeout = 60,
        }})
        return resp.status, resp.ok
    """
    assert await lua.eval(code) == (200, True)
    (request,) = http_server.requests
    assert request.method == "PUT"
    assert request.header("authorization") == "Bearer token123"
    assert request.body == b'{"key":"value"}'
    assert request.header("content-type") is None  # no Content-Type is added for a plain body


@pytest.mark.parametrize(
    ("path", "logs"),
    [
        ("/users", []),
        ("/status/404", [("warn", "HTTP 404: status 404")]),
    ],
)
async def test_the_contract_response_example_decodes_users_or_logs_the_failure(lua, http_server, path, logs):
    code = f"""
        local users
        local resp = cru.http.get({lua_string(http_server.url(path))})
        if resp.ok then
        local users = cru.json.decode(resp.body)
        result = users
        else
        cru.log("warn", "HTTP " .. resp.status .. ": " .. resp.body)
        end
        return result and #result or 0, result and result[1].name or nil
    """
    expected = (2, "Alice") if path == "/users" else (0, None)
    assert await lua.eval(code) == expected
    assert lua.host.logs == logs


async def test_the_contract_timeout_example_gives_up_on_a_slow_request(lua, http_server):
    code = f"""
        local ok, result = cru.timer.timeout(0.2, function()
        return cru.http.get({lua_string(http_server.url("/hang"))})
        end)
        if not ok and result == "timeout" then
        cru.log("warn", "Request timed out")
        end
        return ok, result
    """
    assert await lua.eval(code) == (False, "timeout")
    assert lua.host.logs == [("warn", "Request timed out")]
    await asyncio.wait_for(http_server.hang_ended.wait(), 5)  # the request was really abandoned


async def test_the_contract_retry_example_retries_a_server_error_until_it_succeeds(lua, http_server):
    code = f"""
        local delays = {{}}
        cru.timer.sleep = function(s) delays[#delays + 1] = s end
        local result = cru.retry(function()
        local resp = cru.http.get({lua_string(http_server.url("/flaky?fail=2"))})
        if not resp.ok then
        error({{ retryable = resp.status >= 500 }})
        end
        return resp
        end, {{
        max_retries = 5,
        base_delay = 1.0,
        max_delay = 30.0,
        retryable = function(err)
        return type(err) == "table" and err.retryable
        end,
        }})
        return result.status, result.body, #delays
    """
    assert await lua.eval(code) == (200, "ok after 3", 2)


async def test_the_contract_ratelimit_example_posts_after_acquiring_a_token(lua, http_server):
    code = f"""
        local url, payload = {lua_string(http_server.url("/echo"))}, "tick"
        local limiter = cru.ratelimit.new({{ capacity = 5, interval = 1.0 }})
        limiter:acquire()
        cru.http.post(url, {{ body = payload }})
        return limiter:remaining() < 5
    """
    assert await lua.eval(code) is True
    assert [(r.method, r.body) for r in http_server.requests] == [("POST", b"tick")]


# Where the module lives and what it is made of


async def test_http_is_the_same_table_as_cru_http_and_crucible_http_with_real_functions(lua):
    code = """
        local names = {}
        for _, name in ipairs({"get", "post", "put", "patch", "delete", "request"}) do
          if type(rawget(cru.http, name)) == "function" then names[#names + 1] = name end
        end
        return http == cru.http and crucible.http == cru.http, getmetatable(cru.http) == nil,
               table.concat(names, ",")
    """
    assert await lua.eval(code) == (True, True, "get,post,put,patch,delete,request")


# Status codes and the response table


@pytest.mark.parametrize("status", [200, 204, 400, 404, 418, 500, 503])
async def test_every_status_comes_back_with_ok_true_only_for_2xx(lua, http_server, status):
    code = f"""
        local r = cru.http.get({lua_string(http_server.url(f"/status/{status}"))})
        return r.status, r.ok, r.body, r.error, type(r.headers)
    """
    body = "" if status == 204 else f"status {status}"
    assert await lua.eval(code) == (status, 200 <= status < 300, body, None, "table")


async def test_redirects_are_followed_and_the_final_status_is_reported(lua, http_server):
    code = f"""
        local r = cru.http.get({lua_string(http_server.url("/redirect/10"))})
        return r.status, r.body
    """
    assert await lua.eval(code) == (200, "landed")
    assert [r.path for r in http_server.requests][-1] == "/redirect/0"


async def test_more_than_ten_redirects_is_a_request_failure(lua, http_server):
    code = f"""
        local r = cru.http.get({lua_string(http_server.url("/redirect/11"))})
        return r.status, r.ok, r.body, r.error, next(r.headers)
    """
    status, ok, body, error, first_header = await lua.eval(code)
    assert (status, ok, body, first_header) == (0, False, "", None)
    assert error.startswith("HTTP request failed: error following redirect")


async def test_a_303_after_a_post_is_followed_with_a_get(lua, http_server):
    code = f"""
        local r = cru.http.post({lua_string(http_server.url("/see-other"))}, {{body = "payload"}})
        return r.status, cru.json.decode(r.body).method
    """
    assert await lua.eval(code) == (200, "GET")


# Headers, both ways


async def test_request_headers_are_sent_with_numbers_coerced(lua, http_server):
    code = f"""
        local r = cru.http.get({lua_string(http_server.url("/echo"))}, {{
          headers = {{["X-Token"] = "abc", ["X-Count"] = 42, ["X-Ratio"] = 1.5, [7] = "seven"}},
        }})
        return r.status
    """
    assert await lua.eval(code) == 200
    (request,) = http_server.requests
    assert request.header("x-token") == "abc"
    assert request.header("x-count") == "42"
    assert request.header("x-ratio") == "1.5"
    assert request.header("7") == "seven"


async def test_no_user_agent_or_other_extra_headers_are_sent(lua, http_server):
    assert await lua.eval(f"return cru.http.get({lua_string(http_server.url('/echo'))}).status") == 200
    (request,) = http_server.requests
    names = {k.lower() for k, _ in request.headers}
    assert "user-agent" not in names
    assert "connection" not in names
    assert request.header("accept") == "*/*"
    assert names <= {"host", "accept", "accept-encoding"}


async def test_a_user_agent_is_sent_when_the_plugin_sets_one(lua, http_server):
    url = lua_string(http_server.url("/echo"))
    assert (
        await lua.eval(f"return cru.http.get({url}, {{headers = {{['User-Agent'] = 'my-plugin/1'}}}}).status")
        == 200
    )
    assert http_server.requests[0].header("user-agent") == "my-plugin/1"


@pytest.mark.parametrize("headers", ["{X = true}", "{X = {}}", "{[true] = 'x'}"])
async def test_a_boolean_or_table_header_raises(lua, http_server, headers):
    error = await lua.error(f"cru.http.get({lua_string(http_server.url('/echo'))}, {{headers = {headers}}})")
    assert error.message.startswith("test[1]:1: bad argument #2 to 'get' (header")
    assert http_server.requests == []


async def test_headers_that_are_not_a_table_are_ignored(lua, http_server):
    code = f"return cru.http.get({lua_string(http_server.url('/echo'))}, {{headers = 'X-Token: abc'}}).status"
    assert await lua.eval(code) == 200
    assert http_server.requests[0].header("x-token") is None


async def test_response_headers_are_lower_case_with_the_last_of_repeated_values(lua, http_server):
    code = f"""
        local h = cru.http.get({lua_string(http_server.url("/headers"))}).headers
        local names = {{}}
        for k in pairs(h) do names[#names + 1] = k end
        table.sort(names)
        return h["x-custom"], h["x-multi"], h["mixed-case-name"], h["Mixed-Case-Name"], h["x-latin"],
               table.concat(names, ",")
    """
    custom, multi, mixed, mixed_upper, latin, names = await lua.eval(code)
    assert (custom, multi, mixed, mixed_upper, latin) == ("one", "second", "Value With Case", None, None)
    assert names == "content-length,mixed-case-name,set-cookie,x-custom,x-multi"


async def test_cookies_set_by_a_server_are_not_sent_back(lua, http_server):
    code = f"""
        cru.http.get({lua_string(http_server.url("/headers"))})
        return cru.json.decode(cru.http.get({lua_string(http_server.url("/echo"))}).body).headers.cookie
    """
    assert await lua.eval(code) is None


# Bodies


async def test_unicode_bodies_travel_intact_both_ways(lua, http_server):
    code = f"""
        local sent = {lua_string(UNICODE_TEXT)}
        local echoed = cru.json.decode(cru.http.post({lua_string(http_server.url("/echo"))}, {{body = sent}}).body)
        local got = cru.http.get({lua_string(http_server.url("/unicode"))}).body
        return echoed.body == sent, got == sent, utf8.len(got)
    """
    assert await lua.eval(code) == (True, True, len(UNICODE_TEXT))
    assert http_server.requests[0].body == UNICODE_TEXT.encode()


async def test_a_binary_response_body_is_decoded_lossily_as_text(lua, http_server):
    code = f"""
        local body = cru.http.get({lua_string(http_server.url("/binary"))}).body
        local replaced = select(2, body:gsub("\\u{{FFFD}}", ""))
        return utf8.len(body) ~= nil, body:sub(1, 3) == "\\0\\1\\2", replaced
    """
    assert await lua.eval(code) == (True, True, 128)  # bytes 0x80-0xff each became U+FFFD


async def test_a_declared_charset_is_decoded_to_utf8_and_a_bom_is_dropped(lua, http_server):
    code = f"""
        return cru.http.get({lua_string(http_server.url("/latin1"))}).body,
               cru.http.get({lua_string(http_server.url("/bom"))}).body
    """
    assert await lua.eval(code) == ("café", "hello")


async def test_a_gzip_body_arrives_decompressed(lua, http_server):
    assert (
        await lua.eval(f"return cru.http.get({lua_string(http_server.url('/gzip'))}).body")
        == "unzipped " * 20
    )


async def test_a_binary_request_body_is_sent_byte_for_byte(lua, http_server):
    code = f"""
        local r = cru.http.post({lua_string(http_server.url("/echo"))}, {{body = "\\0\\255\\128abc"}})
        return cru.json.decode(r.body).body_hex
    """
    assert await lua.eval(code) == "00ff80616263"


async def test_a_number_body_is_sent_as_text_and_other_types_send_no_body(lua, http_server):
    code = f"""
        local url = {lua_string(http_server.url("/echo"))}
        local a = cru.json.decode(cru.http.post(url, {{body = 42}}).body).body
        local b = cru.json.decode(cru.http.post(url, {{body = 2.5}}).body).body
        local c = cru.json.decode(cru.http.post(url, {{body = {{1, 2}}}}).body).body
        local d = cru.json.decode(cru.http.post(url, {{body = true}}).body).body
        return a, b, c, d
    """
    assert await lua.eval(code) == ("42", "2.5", "", "")


async def test_head_returns_headers_without_a_body(lua, http_server):
    code = f"""
        local r = cru.http.request({{url = {lua_string(http_server.url("/unicode"))}, method = "HEAD"}})
        return r.status, r.body, r.headers["content-length"]
    """
    assert await lua.eval(code) == (200, "", str(len(UNICODE_TEXT.encode())))


# Methods and arguments


@pytest.mark.parametrize(
    ("method", "sent"),
    [
        ("'POST'", "POST"),
        ("'post'", "POST"),
        ("'PUT'", "PUT"),
        ("'put'", "PUT"),
        ("'PATCH'", "PATCH"),
        ("'patch'", "PATCH"),
        ("'DELETE'", "DELETE"),
        ("'delete'", "DELETE"),
        ("'OPTIONS'", "OPTIONS"),
        ("'options'", "OPTIONS"),
        ("'Post'", "GET"),
        ("'GET'", "GET"),
        ("'TRACE'", "GET"),
        ("nil", "GET"),
        ("42", "GET"),
    ],
)
async def test_request_matches_the_method_exactly_and_falls_back_to_get(lua, http_server, method, sent):
    code = (
        f"return cru.http.request({{url = {lua_string(http_server.url('/echo'))}, method = {method}}}).status"
    )
    assert await lua.eval(code) == 200
    assert http_server.requests[0].method == sent


async def test_the_convenience_functions_ignore_a_method_option(lua, http_server):
    code = f"return cru.http.post({lua_string(http_server.url('/echo'))}, {{method = 'DELETE'}}).status"
    assert await lua.eval(code) == 200
    assert http_server.requests[0].method == "POST"


async def test_request_without_a_url_raises(lua):
    error = await lua.error("cru.http.request({method = 'GET'})")
    assert error.message == "test[1]:1: bad argument #1 to 'request' (field 'url' must be a string, got nil)"
    error = await lua.error("cru.http.request('http://127.0.0.1/')")
    assert error.message == "test[2]:1: bad argument #1 to 'request' (table expected, got string)"


async def test_a_url_or_options_of_the_wrong_type_raise(lua):
    error = await lua.error("cru.http.get({})")
    assert error.message == "test[1]:1: bad argument #1 to 'get' (string expected, got table)"
    error = await lua.error("cru.http.post('http://127.0.0.1/', 'body')")
    assert error.message == "test[2]:1: bad argument #2 to 'post' (table expected, got string)"


async def test_a_call_outside_a_running_task_raises_the_yield_error(lua):
    from lupa import lua54

    with pytest.raises(lua54.LuaError, match="attempt to yield from outside a coroutine"):
        lua.runtime.lua.execute(b"cru.http.get('http://127.0.0.1:1/')")


# Failures never raise


async def test_a_refused_connection_returns_a_failure_table(lua):
    code = """
        local r = cru.http.get("http://127.0.0.1:1/nothing")
        local n = 0 for _ in pairs(r.headers) do n = n + 1 end
        return r.status, r.ok, r.body, n, r.error
    """
    status, ok, body, n, error = await lua.eval(code)
    assert (status, ok, body, n) == (0, False, "", 0)
    assert error.startswith("HTTP request failed: error sending request for url (http://127.0.0.1:1/nothing)")


async def test_an_invalid_url_returns_a_failure_table(lua):
    status, error = await lua.eval("local r = cru.http.get('not a url') return r.status, r.error")
    assert status == 0
    assert error.startswith("HTTP request failed: ")


@pytest.mark.parametrize(
    ("headers", "problem"),
    [
        ("{['bad name'] = 'x'}", "invalid HTTP header name 'bad name'"),
        ("{['X-Split'] = 'a\\r\\nInjected: yes'}", "invalid HTTP header value for 'X-Split'"),
    ],
)
async def test_a_malformed_header_fails_before_anything_is_sent(lua, http_server, headers, problem):
    code = f"local r = cru.http.get({lua_string(http_server.url('/echo'))}, {{headers = {headers}}}) return r.status, r.error"
    assert await lua.eval(code) == (0, f"HTTP request failed: builder error: {problem}")
    assert http_server.requests == []


async def test_an_unsupported_scheme_is_a_builder_error(lua):
    status, error = await lua.eval("local r = cru.http.get('ftp://127.0.0.1/file') return r.status, r.error")
    assert status == 0
    assert error.startswith("HTTP request failed: builder error: ")


async def test_a_url_that_is_not_utf8_raises(lua):
    error = await lua.error("cru.http.get('http://127.0.0.1/\\255')")
    assert error.message == "test[1]:1: bad argument #1 to 'get' (url is not valid UTF-8)"


async def test_a_zero_timeout_times_out_at_once(lua, http_server):
    code = f"return cru.http.get({lua_string(http_server.url('/echo'))}, {{timeout = 0}}).error"
    assert await lua.eval(code) == "Request timed out"


@pytest.mark.parametrize("timeout", ["-1", "0/0", "math.huge", "'soon'", "{}"])
async def test_a_timeout_that_is_not_a_finite_non_negative_number_means_the_default(
    lua, http_server, timeout
):
    code = f"return cru.http.get({lua_string(http_server.url('/slow?delay=0.05'))}, {{timeout = {timeout}}}).status"
    assert await lua.eval(code) == 200


async def test_a_server_that_never_answers_times_out(lua, http_server):
    code = f"""
        local start = cru.timer.clock()
        local r = cru.http.get({lua_string(http_server.url("/hang"))}, {{timeout = 1}})
        return r.status, r.ok, r.error, cru.timer.clock() - start
    """
    status, ok, error, elapsed = await lua.eval(code)
    assert (status, ok, error) == (0, False, "Request timed out")
    assert elapsed >= 0.9


async def test_a_fractional_timeout_is_honoured(lua, http_server):
    code = f"""
        local fast = cru.http.get({lua_string(http_server.url("/slow?delay=0.05"))}, {{timeout = 2.5}})
        local slow = cru.http.get({lua_string(http_server.url("/slow?delay=5"))}, {{timeout = 0.2}})
        return fast.status, slow.error
    """
    assert await lua.eval(code) == (200, "Request timed out")


async def test_a_server_that_closes_mid_body_is_a_body_failure(lua, http_server):
    code = f"""
        local r = cru.http.get({lua_string(http_server.url("/truncated"))})
        return r.status, r.ok, r.body, r.error
    """
    status, ok, body, error = await lua.eval(code)
    assert (status, ok, body) == (0, False, "")
    assert error.startswith("Failed to read body: ")


async def test_a_body_that_stalls_past_the_deadline_is_a_body_failure(lua, http_server):
    code = f"return cru.http.get({lua_string(http_server.url('/stall-body'))}, {{timeout = 0.3}}).error"
    assert (await lua.eval(code)).startswith("Failed to read body: ")


# Extras


async def test_query_tables_are_encoded_into_the_url(lua, http_server):
    code = f"""
        local r = cru.http.get({lua_string(http_server.url("/echo?fixed=1"))}, {{
          query = {{q = "a b&c", n = 3, flag = true, tag = {{"x", "y"}}}},
        }})
        return cru.json.decode(r.body).query
    """
    assert await lua.eval(code) == "fixed=1&flag=true&n=3&q=a+b%26c&tag=x&tag=y"


async def test_a_json_option_is_encoded_as_the_body_with_the_json_content_type(lua, http_server):
    code = f"""
        local url = {lua_string(http_server.url("/echo"))}
        local a = cru.json.decode(cru.http.post(url, {{json = {{name = "Alice", tags = cru.json.array({{}})}}}}).body)
        local b = cru.json.decode(cru.http.post(url, {{json = {{1, 2}}, headers = {{["content-type"] = "application/vnd.x+json"}}}}).body)
        return a.body, a.headers["content-type"], b.body, b.headers["content-type"]
    """
    assert await lua.eval(code) == (
        '{"name":"Alice","tags":[]}',
        "application/json",
        "[1,2]",
        "application/vnd.x+json",
    )


async def test_the_example_in_the_module_header_works(lua, http_server):
    code = f"""
        local base = {lua_string(http_server.url(""))}
        local resp = cru.http.get(base .. "/users", {{query = {{page = 2}}, timeout = 5}})
        local users
        if resp.ok then
          users = cru.json.decode(resp.body)
        else
          cru.log("warn", "HTTP " .. resp.status .. ": " .. (resp.error or resp.body))
        end
        local created = cru.http.post(base .. "/echo", {{json = {{name = "Alice"}}}})
        return users[2].name, cru.json.decode(created.body).body
    """
    assert await lua.eval(code) == ("Bob", '{"name":"Alice"}')
    assert http_server.requests[0].target == "/users?page=2"


async def test_body_and_json_together_raise(lua):
    error = await lua.error("cru.http.post('http://127.0.0.1:1/', {body = 'x', json = {}})")
    assert error.message == "test[1]:1: bad argument #2 to 'post' (give body or json, not both)"


# Connections, concurrency, cancellation


async def test_sequential_requests_reuse_one_kept_alive_connection(lua, http_server):
    code = f"""
        for i = 1, 5 do cru.http.get({lua_string(http_server.url("/echo"))}) end
    """
    await lua.eval(code)
    assert [r.connection for r in http_server.requests] == [1] * 5


async def test_concurrent_requests_from_spawned_tasks_all_complete(lua, http_server):
    code = f"""
        local handles = {{}}
        for i = 1, 20 do
          handles[i] = cru.spawn(function() return cru.http.get({lua_string(http_server.url("/slow?delay=0.05"))}).status end)
        end
        local total = 0
        for _, h in ipairs(handles) do total = total + h:wait() end
        return total
    """
    assert await lua.eval(code) == 200 * 20


async def test_an_interrupted_request_is_abandoned_at_once(lua, http_server):
    task = lua.start(f"cru.http.get({lua_string(http_server.url('/hang'))})")
    await asyncio.wait_for(http_server.hang_started.wait(), 5)
    lua.runtime.interrupt()
    await task.wait()
    assert (task.state, task.stop) == (TaskState.CANCELLED, "interrupted")
    await asyncio.wait_for(http_server.hang_ended.wait(), 5)


async def test_a_cancelled_task_leaves_no_request_running(lua, http_server):
    code = f"""
        local h = cru.spawn(function() return cru.http.get({lua_string(http_server.url("/hang"))}) end)
        while not started() do cru.timer.sleep(0.01) end
        local cancelled = h:cancel()
        local ok, err = pcall(h.wait, h)
        return cancelled, ok, h:status()
    """
    lua.runtime.lua.globals()[b"started"] = http_server.hang_started.is_set
    assert await lua.eval(code) == (True, False, "cancelled")
    await asyncio.wait_for(http_server.hang_ended.wait(), 5)


async def test_a_request_works_again_after_a_cancelled_one(lua, http_server):
    code = f"""
        local ok = cru.timer.timeout(0.1, function() return cru.http.get({lua_string(http_server.url("/hang"))}) end)
        return ok, cru.http.get({lua_string(http_server.url("/status/200"))}).status
    """
    assert await lua.eval(code) == (False, 200)


async def test_closing_the_runtime_closes_the_shared_client(lua, http_server):
    await lua.eval(f"cru.http.get({lua_string(http_server.url('/echo'))})")
    assert len(http_server._writers) == 1  # the connection is kept alive
    await lua.runtime.aclose()
    for _ in range(200):
        if not http_server._writers:
            break
        await asyncio.sleep(0.01)
    assert not http_server._writers  # the client closed it


async def test_a_server_restarted_on_the_same_port_is_reached_again(lua):
    server = await HttpServer().start()
    url = lua_string(server.url("/status/200"))
    try:
        assert await lua.eval(f"return cru.http.get({url}).status") == 200
        await server.stop()
        assert await lua.eval(f"return cru.http.get({url}).status") == 0
        await server.start()
        assert await lua.eval(f"return cru.http.get({url}).status") == 200
    finally:
        await server.stop()
