"""cru.health: the report builder of health.lua files (reference §3.15)."""

from __future__ import annotations


async def test_a_report_collects_lines_and_an_error_makes_it_unhealthy(lua):
    code = """
        cru.health.start("my-plugin")
        cru.health.ok("Database connected")
        cru.health.info("version 2")
        cru.health.warn("Cache miss rate high", {"Consider increasing cache size"})
        local healthy_so_far = cru.health.get_results().healthy
        cru.health.start("my-plugin")
        cru.health.error("API key missing", {"Set CRUCIBLE_API_KEY env var"})
        cru.health.ok("still fine")
        local r = cru.health.get_results()
        return healthy_so_far, r.name, r.healthy, #r.checks, r.checks[1].level, r.checks[1].msg,
               r.checks[1].advice[1], r.checks[2].level, r.checks[2].advice
    """
    assert await lua.eval(code) == (
        True,
        "my-plugin",
        False,
        2,
        "error",
        "API key missing",
        "Set CRUCIBLE_API_KEY env var",
        "ok",
        None,
    )


async def test_get_results_starts_afresh(lua):
    code = """
        cru.health.start("p") cru.health.error("bad")
        cru.health.get_results()
        local r = cru.health.get_results()
        return r.name, r.healthy, #r.checks
    """
    assert await lua.eval(code) == (None, True, 0)


async def test_a_plugin_health_check_runs_as_written(lua):
    code = """
        local M = {}
        function M.check()
          cru.health.start("example")
          if cru and cru.log then cru.health.ok("cru.log available") else cru.health.error("no cru.log") end
          if cru and cru.json then cru.health.ok("cru.json available") else cru.health.warn("no json") end
        end
        M.check()
        local r = cru.health.get_results()
        return r.healthy, r.checks[1].msg, r.checks[2].msg
    """
    assert await lua.eval(code) == (True, "cru.log available", "cru.json available")


async def test_arguments_are_checked_at_the_callers_line(lua):
    assert (await lua.error("cru.health.start(5)")).message == "test[1]:1: name: expected string, got number"
    assert (await lua.error("cru.health.warn('w', 'advice')")).message == (
        "test[2]:1: advice: expected table, got string"
    )
    assert (await lua.error("cru.health.ok()")).message == "test[3]:1: msg: expected string, got nil"
