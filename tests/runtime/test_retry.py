"""cru.retry: call counts, backoff delays, jitter, `after`, the predicate and rethrowing (§3.10)."""

from __future__ import annotations

import re
import threading

import pytest

# Replaces cru.timer.sleep with a recorder (retry looks it up at call time).
RECORD_SLEEPS = """
    local delays = {}
    cru.timer.sleep = function(s) delays[#delays + 1] = s end
"""


def line_of(code: str, marker: str) -> int:
    """The 1-based line of `code` that contains `marker`."""
    return next(i for i, line in enumerate(code.split("\n"), 1) if marker in line)


CONTRACT_EXAMPLE = """
    local result = cru.retry(function()
    local resp = cru.http.get("https://api.example.com/data")
    if not resp.ok then
    error({ retryable = resp.status >= 500 })
    end
    return resp
    end, {
    max_retries = 5,
    base_delay = 1.0,
    max_delay = 30.0,
    retryable = function(err)
    return type(err) == "table" and err.retryable
    end,
    })
"""


async def test_the_contract_example_retries_server_errors_until_the_request_succeeds(lua):
    code = (
        RECORD_SLEEPS
        + """
        local calls = 0
        cru.http = { get = function(url)
            calls = calls + 1
            if calls < 3 then return { ok = false, status = 503, body = "" } end
            return { ok = true, status = 200, body = "data" }
        end }
        """
        + CONTRACT_EXAMPLE
        + "return result.status, result.body, calls, #delays"
    )
    assert await lua.eval(code) == (200, "data", 3, 2)


async def test_the_contract_example_gives_up_at_once_on_a_client_error(lua):
    code = (
        RECORD_SLEEPS
        + """
        local calls = 0
        cru.http = { get = function(url)
            calls = calls + 1
            return { ok = false, status = 404, body = "" }
        end }
        local ok, err = pcall(function()
        """
        + CONTRACT_EXAMPLE
        + """
        end)
        return ok, type(err), err.retryable, calls, #delays
        """
    )
    assert await lua.eval(code) == (False, "table", False, 1, 0)


async def test_a_function_that_always_fails_is_called_max_retries_plus_one_times(lua):
    code = (
        RECORD_SLEEPS
        + """
        local calls = 0
        local ok, err = pcall(cru.retry, function()
            calls = calls + 1
            error({ n = calls })
        end, { max_retries = 2 })
        return ok, calls, err.n, #delays
        """
    )
    assert await lua.eval(code) == (False, 3, 3, 2)


async def test_max_retries_zero_calls_once_and_never_sleeps(lua):
    code = (
        RECORD_SLEEPS
        + """
        local calls = 0
        local ok = pcall(cru.retry, function() calls = calls + 1 error("no") end, { max_retries = 0 })
        return ok, calls, #delays
        """
    )
    assert await lua.eval(code) == (False, 1, 0)


async def test_a_function_that_succeeds_later_returns_its_result(lua):
    code = (
        RECORD_SLEEPS
        + """
        local calls = 0
        local result = cru.retry(function()
            calls = calls + 1
            if calls < 3 then error("not yet") end
            return "ok"
        end, { jitter = false })
        return result, calls, table.unpack(delays)
        """
    )
    assert await lua.eval(code) == ("ok", 3, 1.0, 2.0)


async def test_only_the_first_return_value_is_returned(lua):
    code = """
        local function count(...) return select("#", ...), ... end
        local n1, v1 = count(cru.retry(function() return 1, 2, 3 end))
        local n2, v2 = count(cru.retry(function() end))
        return n1, v1, n2, v2
    """
    assert await lua.eval(code) == (1, 1, 1, None)


async def test_delays_double_from_base_delay_up_to_max_delay(lua):
    code = (
        RECORD_SLEEPS
        + """
        pcall(cru.retry, function() error("x") end,
              { max_retries = 5, base_delay = 0.5, max_delay = 3, jitter = false })
        return table.unpack(delays)
        """
    )
    assert await lua.eval(code) == (0.5, 1.0, 2.0, 3, 3)


async def test_the_defaults_are_three_retries_from_one_second_with_jitter(lua):
    code = (
        RECORD_SLEEPS
        + """
        math.random = function() return 0.5 end
        local calls = 0
        pcall(cru.retry, function() calls = calls + 1 error("x") end)
        return calls, table.unpack(delays)
        """
    )
    assert await lua.eval(code) == (4, 0.75, 1.5, 3.0)


async def test_jitter_scales_each_delay_by_half_plus_half_of_math_random(lua):
    code = (
        RECORD_SLEEPS
        + """
        local values, args = { 0, 0.5, 0.75 }, {}
        math.random = function(...)
            args[#args + 1] = select("#", ...)
            return table.remove(values, 1)
        end
        pcall(cru.retry, function() error("x") end, { max_retries = 3, base_delay = 2 })
        return table.concat(args, ","), table.unpack(delays)
        """
    )
    assert await lua.eval(code) == ("0,0,0", 1.0, 3.0, 7.0)


async def test_real_jitter_keeps_each_delay_between_half_and_all_of_the_backoff(lua):
    code = (
        RECORD_SLEEPS
        + """
        pcall(cru.retry, function() error("x") end, { max_retries = 8, base_delay = 1, max_delay = 1000 })
        return table.unpack(delays)
        """
    )
    delays = await lua.eval(code)
    assert len(delays) == 8
    for attempt, delay in enumerate(delays):
        assert 0.5 * 2**attempt <= delay <= 2**attempt


@pytest.mark.parametrize("jitter", ["nil", "true", "0", '"no"'])
async def test_only_jitter_false_turns_jitter_off(lua, jitter):
    code = (
        RECORD_SLEEPS
        + f"""
        local randoms = 0
        math.random = function() randoms = randoms + 1 return 0 end
        pcall(cru.retry, function() error("x") end, {{ max_retries = 2, jitter = {jitter} }})
        local with = randoms
        pcall(cru.retry, function() error("x") end, {{ max_retries = 2, jitter = false }})
        return with, randoms - with
        """
    )
    assert await lua.eval(code) == (2, 0)


async def test_after_raises_the_delay_even_beyond_max_delay(lua):
    code = (
        RECORD_SLEEPS
        + """
        pcall(cru.retry, function() error({ after = 100 }) end,
              { max_retries = 2, max_delay = 10, jitter = false })
        return table.unpack(delays)
        """
    )
    assert await lua.eval(code) == (100, 100)


async def test_after_never_lowers_the_delay_and_must_be_a_number(lua):
    code = (
        RECORD_SLEEPS
        + """
        local afters = { 0.1, "7", "soon", false }
        local i = 0
        pcall(cru.retry, function()
            i = i + 1
            error({ after = afters[i] })
        end, { max_retries = 4, base_delay = 1, jitter = false })
        return table.unpack(delays)
        """
    )
    # 0.1 < 1 keeps 1; "7" counts as 7; "soon" is no number; false is no `after` at all
    assert await lua.eval(code) == (1.0, 7, 4.0, 8.0)


async def test_string_errors_never_have_an_after(lua):
    # Strings index the string library, so a missing type check would read string.after.
    code = (
        RECORD_SLEEPS
        + """
        string.after = 99
        local ok = pcall(cru.retry, function() error("x") end, { max_retries = 2, jitter = false })
        string.after = nil
        return table.unpack(delays)
        """
    )
    assert await lua.eval(code) == (1.0, 2.0)


async def test_the_predicate_gets_each_error_but_not_after_the_last_attempt(lua):
    code = (
        RECORD_SLEEPS
        + """
        local raised, seen = {}, {}
        local ok, err = pcall(cru.retry, function()
            local e = { n = #raised + 1 }
            raised[#raised + 1] = e
            error(e)
        end, { max_retries = 2, retryable = function(e) seen[#seen + 1] = e return true end })
        return #raised, #seen, rawequal(seen[1], raised[1]), rawequal(seen[2], raised[2]),
               rawequal(err, raised[3])
        """
    )
    assert await lua.eval(code) == (3, 2, True, True, True)


async def test_a_rejected_error_is_rethrown_unchanged_after_one_call(lua):
    code = (
        RECORD_SLEEPS
        + """
        local calls, raised = 0, { code = 401 }
        local ok, err = pcall(cru.retry, function()
            calls = calls + 1
            error(raised)
        end, { max_retries = 5, retryable = function() return false end })
        return ok, calls, rawequal(err, raised), #delays
        """
    )
    assert await lua.eval(code) == (False, 1, True, 0)


@pytest.mark.parametrize("retryable", ["nil", "function() return false end"])
async def test_a_string_error_gains_the_position_of_the_retry_chunk(lua, retryable):
    code = (
        RECORD_SLEEPS
        + f"""
        cru.retry(function()
            error("boom") -- raised here
        end, {{ max_retries = 1, retryable = {retryable} }})
        """
    )
    err = await lua.error(code)
    line = line_of(code, "-- raised here")
    assert re.fullmatch(rf"crucible/retry\.lua:\d+: test\[\d+\]:{line}: boom", err.message)


async def test_yields_inside_the_function_work_with_the_real_sleep(lua):
    code = """
        local calls = 0
        local result = cru.retry(function()
            calls = calls + 1
            cru.timer.sleep(0.01)
            if calls < 3 then error({ retryable = true }) end
            return "ok"
        end, { max_retries = 5, base_delay = 0.01 })
        return result, calls
    """
    assert await lua.eval(code) == ("ok", 3)


async def test_cancelling_a_task_inside_retry_stops_it_instead_of_retrying(lua):
    code = """
        local calls, judged, finished = 0, 0, false
        local h = cru.spawn(function()
            cru.retry(function()
                calls = calls + 1
                cru.timer.sleep(10)
            end, {
                max_retries = 5,
                base_delay = 0,
                retryable = function() judged = judged + 1 return true end,
            })
            finished = true
        end)
        cru.timer.sleep(0.02)
        h:cancel()
        pcall(function() h:wait() end)
        cru.timer.sleep(0.02)
        return calls, judged, finished, h:status()
    """
    assert await lua.eval(code) == (1, 0, False, "cancelled")


async def test_sleep_is_looked_up_when_retry_runs(lua):
    code = """
        local retry = cru.retry
        local slept = 0
        cru.timer = { sleep = function(s) slept = slept + 1 end }
        pcall(retry, function() error("x") end, { max_retries = 3 })
        return slept
    """
    assert await lua.eval(code) == 3


async def test_crucible_retry_is_the_same_function(lua):
    assert await lua.eval("return rawequal(cru.retry, crucible.retry)") is True


async def test_a_zero_base_delay_never_sleeps_nan_and_keeps_the_call_count(lua):
    # 0 x 2^1024 is NaN: 1,025 attempts used to end with a sleep error instead of the last error.
    code = (
        RECORD_SLEEPS
        + """
        local calls = 0
        local ok, err = pcall(cru.retry, function() calls = calls + 1 error("nope", 0) end,
                              {max_retries = 1100, base_delay = 0, jitter = false})
        local all_zero = true
        for _, d in ipairs(delays) do if d ~= 0 then all_zero = false end end
        return calls, #delays, all_zero, err
    """
    )
    calls, sleeps, all_zero, err = await lua.eval(code)
    assert (calls, sleeps, all_zero) == (1101, 1100, True)
    assert err.endswith(": nope")  # the last error, rethrown as the reference does


async def test_a_stop_inside_the_retried_function_is_never_retried(lua):
    lua.runtime.bind_loop()
    threading.Timer(0.2, lua.runtime.interrupt).start()
    task = await lua.run(
        "calls = 0 cru.retry(function() calls = calls + 1 while true do end end, {max_retries = 5})"
    )
    assert task.stop == "interrupted"
    assert await lua.eval("return calls") == 1
