"""cru.ratelimit: token buckets (reference §3.9)."""

from __future__ import annotations

import asyncio

import pytest


async def test_the_contract_examples_run_as_written(lua):
    code = """
        local sent, skipped = 0, 0
        local function send_request() sent = sent + 1 end
        local limiter = cru.ratelimit.new({ capacity = 5, interval = 1.0 })
        limiter:acquire()
        send_request()
        for i = 1, 6 do
        if limiter:try_acquire() then
        send_request()
        else
        cru.log("info", "Rate limited, skipping")
        skipped = skipped + 1
        end
        end
        return sent, skipped, type(limiter)
    """
    assert await lua.eval(code) == (5, 2, "userdata")


async def test_a_new_bucket_starts_full_with_the_defaults(lua):
    assert await lua.eval(
        "local l = cru.ratelimit.new({}) return l:remaining(), math.type(l:remaining())"
    ) == (
        5.0,
        "float",
    )


async def test_tokens_is_an_alias_of_remaining(lua):
    assert await lua.eval(
        "local l = cru.ratelimit.new({capacity = 3}) l:try_acquire() "
        "return math.floor(l:tokens() + 0.5), rawequal(l.tokens, l.remaining)"
    ) == (2, True)


async def test_acquire_waits_for_the_refill(lua):
    code = """
        local l = cru.ratelimit.new({capacity = 1, interval = 0.1})
        local start = cru.timer.clock()
        l:acquire() l:acquire() l:acquire()
        return cru.timer.clock() - start >= 0.19
    """
    assert await lua.eval(code) is True


async def test_refill_is_continuous_and_capped_at_capacity(lua):
    code = """
        local l = cru.ratelimit.new({capacity = 2, interval = 0.05})
        l:try_acquire() l:try_acquire()
        local empty = l:remaining()
        cru.timer.sleep(0.3)
        return empty < 0.5, l:remaining()
    """
    assert await lua.eval(code) == (True, 2.0)


async def test_methods_work_with_a_dot_and_explicit_self(lua):
    assert await lua.eval(
        "local l = cru.ratelimit.new({capacity = 1}) return l.try_acquire(l), l.try_acquire(l)"
    ) == (
        True,
        False,
    )


async def test_wrongly_typed_fields_fall_back_to_the_defaults(lua):
    assert await lua.eval("return cru.ratelimit.new({capacity = 'many', interval = {}}):remaining()") == 5.0
    assert await lua.eval("return cru.ratelimit.new({capacity = '2'}):remaining()") == 2.0


@pytest.mark.parametrize(
    ("opts", "message"),
    [
        ("{capacity = 0}", "capacity must be a finite positive number"),
        ("{capacity = -1}", "capacity must be a finite positive number"),
        ("{capacity = math.huge}", "capacity must be a finite positive number"),
        ("{interval = 0}", "interval must be a finite positive number"),
        ("{interval = 0/0}", "interval must be a finite positive number"),
    ],
)
async def test_invalid_settings_are_refused(lua, opts, message):
    error = await lua.error(f"cru.ratelimit.new({opts})")
    assert error.message == f"test[1]:1: {message}"


async def test_new_needs_a_table(lua):
    error = await lua.error("cru.ratelimit.new(5)")
    assert error.message == "test[1]:1: bad argument #1 to 'new' (table expected, got number)"


async def test_a_method_called_on_something_else_says_so(lua):
    error = await lua.error("local l = cru.ratelimit.new({}) l.acquire({})")
    assert error.message == "test[1]:1: bad argument #1 to 'acquire' (RateLimiter expected, got table)"


@pytest.mark.parametrize("capacity", ["0.5", "0.999"])
async def test_a_capacity_below_one_token_is_refused_at_new(lua, capacity):
    # acquire() takes a whole token: such a bucket used to make acquire wait forever.
    error = await lua.error(f"cru.ratelimit.new({{capacity = {capacity}}})")
    assert (
        f"capacity must be at least 1: acquire takes a whole token, so a bucket of {float(capacity):g}"
        in error.message
    )


# Counting for live displays (the notebook's widgets read the bucket through engine.limiters)


def bucket_of(lua, limiter):
    return lua.runtime.engine[b"limiters"][b"bucket"](limiter)


def counts(bucket):
    return {k: bucket[k.encode()] for k in ("granted", "refused", "waiting")}


async def test_a_bucket_counts_granted_refused_and_waiting_calls(lua):
    task = await lua.run(
        """
        l = cru.ratelimit.new({capacity = 2, interval = 0.2})
        for i = 1, 5 do l:try_acquire() end
        return l
        """
    )
    bucket = bucket_of(lua, task.results[0])
    assert counts(bucket) == {"granted": 2, "refused": 3, "waiting": 0}
    waiter = lua.start("l:acquire() l:acquire()", foreground=False)
    await asyncio.sleep(0.01)
    assert counts(bucket)["waiting"] == 1  # asleep in one of its acquires
    await waiter.wait()
    assert counts(bucket) == {"granted": 4, "refused": 3, "waiting": 0}


async def test_an_interrupted_acquire_stops_counting_as_waiting(lua):
    task = await lua.run("l = cru.ratelimit.new({capacity = 1, interval = 30}) l:try_acquire() return l")
    bucket = bucket_of(lua, task.results[0])
    waiter = lua.start("l:acquire()")
    await asyncio.sleep(0.01)
    assert counts(bucket)["waiting"] == 1
    lua.runtime.interrupt()
    await waiter.wait()
    assert waiter.stop == "interrupted"
    assert counts(bucket) == {"granted": 1, "refused": 0, "waiting": 0}


async def test_a_watched_bucket_calls_its_watcher_once_per_look(lua):
    task = await lua.run("l = cru.ratelimit.new({capacity = 3}) return l")
    bucket = bucket_of(lua, task.results[0])
    calls = []
    bucket[b"watch"] = lambda: calls.append(1)
    bucket[b"dirty"] = False  # the watcher has looked
    await lua.run("for i = 1, 1000 do l:try_acquire() end")
    assert calls == [1] and bucket[b"dirty"] is True
    bucket[b"dirty"] = False
    await lua.run("l:try_acquire() l:try_acquire()")
    assert calls == [1, 1]
    await lua.run("l:remaining()")  # reading changes nothing
    assert calls == [1, 1]
