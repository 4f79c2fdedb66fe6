"""cru.service: define, the wrapped fn, status/list/stop and config resolution (§3.13, §3.14)."""

from __future__ import annotations

import re

import pytest

# Makes retries instant: cru.retry looks cru.timer.sleep up at call time.
NO_SLEEP = "cru.timer.sleep = function() end\n"


async def test_the_contract_services_table_runs_as_a_task(lua):
    code = """
        local works = 0
        local function do_work() works = works + 1 end
        local spec = {
        name = "my-plugin",
        version = "1.0.0",
        capabilities = { "network", "agent" },
        services = {
        my_service = {
        desc = "Description of what this service does",
        fn = function()
        -- Long-running loop
        while true do
        do_work()
        cru.timer.sleep(60)
        end
        end,
        },
        },
        tools = { ... },
        commands = { ... },
        }
        local h = cru.spawn(spec.services.my_service.fn)
        cru.timer.sleep(0.02)
        local status = h:status()
        h:cancel()
        return spec.services.my_service.desc, works, status
    """
    assert await lua.eval(code) == ("Description of what this service does", 1, "waiting")


async def test_a_defined_service_fits_a_services_table_and_runs_its_start(lua):
    code = """
        local gateway = {}
        local connected = 0
        gateway.connect = cru.service.define({
            name = "gateway",
            desc = "Discord WebSocket gateway connection",
            start = function() connected = connected + 1 end,
        })
        local services = {
        gateway = {
        desc = "Discord WebSocket gateway connection",
        fn = gateway.connect.fn,
        },
        }
        local keys = {}
        for k in pairs(gateway.connect) do keys[#keys + 1] = k end
        table.sort(keys)
        cru.spawn(services.gateway.fn):wait()
        return table.concat(keys, ","), gateway.connect.desc, connected
    """
    assert await lua.eval(code) == ("desc,fn", "Discord WebSocket gateway connection", 1)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nil", "spec: expected table, got nil"),
        ('{ desc = "d", start = print }', "spec.name: expected string, got nil"),
        ('{ name = "n", start = print }', "spec.desc: expected string, got nil"),
        ('{ name = "n", desc = "d" }', "spec.start: expected function, got nil"),
        ('{ name = "n", desc = "d", start = print, stop = "x" }', "spec.stop: expected function, got string"),
        (
            '{ name = "n", desc = "d", start = print, health = 1 }',
            "spec.health: expected function, got number",
        ),
    ],
)
async def test_define_validates_the_spec_with_cru_check(lua, spec, message):
    err = await lua.error(f"cru.service.define({spec})")
    # cru.check raises at level 3 from its helper: the caller of the validator, which is define
    assert re.fullmatch(rf"crucible/service\.lua:\d+: {re.escape(message)}", err.message)
    assert await lua.eval("return cru.service.list()[1]") is None


async def test_the_wrapped_fn_logs_start_and_completion_and_tracks_running(lua):
    code = """
        local inside
        local svc = cru.service.define({
            name = "poller", desc = "polls",
            start = function() inside = cru.service.status("poller").running end,
        })
        local before = cru.service.status("poller").running
        local ok = pcall(svc.fn)
        return before, inside, cru.service.status("poller").running, ok
    """
    assert await lua.eval(code) == (False, True, False, True)
    assert lua.host.logs == [("info", "service 'poller' starting"), ("info", "service 'poller' completed")]


async def test_a_failing_start_is_restarted_and_then_logged_as_stopped(lua):
    code = (
        NO_SLEEP
        + """
        local calls = 0
        local svc = cru.service.define({
            name = "flaky", desc = "fails",
            restart = { max_retries = 2 },
            start = function() calls = calls + 1 error("boom") end, -- fails
        })
        local results = select("#", svc.fn())
        return calls, results, cru.service.status("flaky").running
        """
    )
    assert await lua.eval(code) == (3, 0, False)
    assert lua.host.logs[0] == ("info", "service 'flaky' starting")
    level, message = lua.host.logs[1]
    assert level == "warn"
    assert re.fullmatch(r"service 'flaky' stopped: crucible/retry\.lua:\d+: test\[\d+\]:\d+: boom", message)


async def test_an_error_table_with_retryable_false_stops_at_once(lua):
    code = (
        NO_SLEEP
        + """
        local calls = 0
        local svc = cru.service.define({
            name = "auth", desc = "d",
            start = function() calls = calls + 1 error({ retryable = false }) end,
        })
        svc.fn()
        return calls
        """
    )
    assert await lua.eval(code) == 1
    assert re.fullmatch(r"service 'auth' stopped: table: 0x[0-9a-f]+", lua.host.logs[-1][1])


async def test_the_restart_policy_and_retryable_rule_are_handed_to_cru_retry(lua):
    code = """
        local seen = {}
        cru.retry = function(fn, opts) seen[#seen + 1] = opts fn() end
        local started = 0
        local start = function() started = started + 1 end
        cru.service.define({ name = "a", desc = "d", start = start }).fn()
        cru.service.define({ name = "b", desc = "d", start = start,
                             restart = { max_retries = 2, max_delay = 5 } }).fn()
        local a, b = seen[1], seen[2]
        local r = a.retryable
        return started, a.max_retries, a.base_delay, a.max_delay, b.max_retries, b.base_delay,
               b.max_delay, r("text"), r({}), r({ retryable = true }), r({ retryable = false })
    """
    assert await lua.eval(code) == (2, 10, 1.0, 60.0, 2, 1.0, 5, True, True, True, False)


async def test_status_is_nil_for_an_unknown_service(lua):
    assert await lua.eval('return cru.service.status("nope")') is None


@pytest.mark.parametrize(
    ("health", "expected"),
    [
        ("nil", None),
        ("function() return true end", True),
        ('function() return "fine" end', "fine"),
        ("function() return nil end", False),
        ("function() return false end", False),
        ('function() error("down") end', False),
    ],
)
async def test_status_reports_health(lua, health, expected):
    code = f"""
        cru.service.define({{ name = "s", desc = "the s", start = print, health = {health} }})
        local st = cru.service.status("s")
        return st.name, st.desc, st.running, st.healthy
    """
    assert await lua.eval(code) == ("s", "the s", False, expected)


async def test_list_gives_every_defined_service(lua):
    code = """
        cru.service.define({ name = "b", desc = "B", start = print, health = function() return true end })
        cru.service.define({ name = "a", desc = "A", start = print })
        cru.service.define({ name = "a", desc = "A again", start = print })
        local rows = {}
        for _, s in ipairs(cru.service.list()) do
            local row = { s.name, s.desc, tostring(s.running), tostring(s.healthy) }
            rows[#rows + 1] = table.concat(row, ":")
        end
        table.sort(rows)
        return table.concat(rows, " ")
    """
    assert await lua.eval(code) == "a:A again:false:nil b:B:false:true"


async def test_stop_calls_the_stop_function_and_marks_the_service_stopped(lua):
    code = """
        local stopped = 0
        local svc = cru.service.define({
            name = "loop", desc = "d",
            start = function() while true do cru.timer.sleep(0.01) end end,
            stop = function() stopped = stopped + 1 end,
        })
        local h = cru.spawn(svc.fn)
        cru.timer.sleep(0.03)
        local running = cru.service.status("loop").running
        local result = cru.service.stop("loop")
        local after = cru.service.status("loop").running
        cru.timer.sleep(0.03)
        local task = h:status()
        h:cancel()
        return running, result, stopped, after, task, cru.service.stop("unknown")
    """
    # stop does not cancel the task running the service
    assert await lua.eval(code) == (True, True, 1, False, "waiting", False)


async def test_a_failing_stop_function_is_logged(lua):
    code = """
        cru.service.define({ name = "x", desc = "d", start = print, stop = function() error("stuck", 0) end })
        return cru.service.stop("x")
    """
    assert await lua.eval(code) is True
    assert lua.host.logs == [("warn", "service 'x' stop error: stuck")]


async def test_a_secret_comes_from_the_environment(lua, monkeypatch):
    monkeypatch.setenv("CRUCIBLE_MY_BOT_API_KEY", "s3cret")
    monkeypatch.setenv("CRUCIBLE_MY_BOT_CHANNEL", "from-env")
    code = """
        cru.service.define({
            name = "my-bot", desc = "d", start = print,
            config = {
                ["api-key"] = { secret = true, default = "none" },
                channel = { default = "general" },
                missing = { secret = true },
            },
        })
        local c = cru.service._services["my-bot"].config
        return c["api-key"], c.channel, c.missing
    """
    # only secrets read the environment
    assert await lua.eval(code) == ("s3cret", "general", None)


async def test_config_falls_back_to_crucible_config_then_to_the_default(lua, monkeypatch):
    monkeypatch.setenv("CRUCIBLE_FEED_TOKEN", "env-token")
    code = """
        local asked = {}
        crucible.config = { get = function(key)
            asked[#asked + 1] = key
            if key == "feed.url" then return "https://example.org" end
            if key == "feed.broken" then error("no such key") end
            return nil
        end }
        cru.service.define({
            name = "feed", desc = "d", start = print,
            config = {
                url = { default = "http://localhost" },
                broken = { default = 5 },
                token = { secret = true, default = "t" },
                limit = { default = 10 },
            },
        })
        local c = cru.service._services.feed.config
        table.sort(asked)
        return c.url, c.broken, c.token, c.limit, table.concat(asked, ",")
    """
    asked = "feed.broken,feed.limit,feed.url"  # never feed.token: the secret came from the environment
    assert await lua.eval(code) == ("https://example.org", 5, "env-token", 10, asked)


async def test_config_uses_defaults_when_there_is_no_crucible_config(lua):
    code = """
        cru.service.define({ name = "n", desc = "d", start = print, config = { a = { default = 1 } } })
        cru.service.define({ name = "m", desc = "d", start = print })
        return cru.service._services.n.config.a, cru.service._services.m.config
    """
    assert await lua.eval(code) == (1, None)


async def test_cancelling_a_running_service_is_not_counted_as_a_failure(lua):
    code = """
        local calls = 0
        local svc = cru.service.define({
            name = "sleepy", desc = "d",
            start = function() calls = calls + 1 cru.timer.sleep(10) end,
            restart = { base_delay = 0 },
        })
        local h = cru.spawn(svc.fn)
        cru.timer.sleep(0.02)
        h:cancel()
        pcall(function() h:wait() end)
        cru.timer.sleep(0.02)
        return calls, h:status()
    """
    assert await lua.eval(code) == (1, "cancelled")
    assert lua.host.logs == [("info", "service 'sleepy' starting")]


async def test_crucible_service_is_the_same_table(lua):
    assert await lua.eval("return rawequal(cru.service, crucible.service)") is True
