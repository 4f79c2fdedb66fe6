"""describe/it/assert and test_mocks are globals of every VM, the notebook's too (as in the
reference); the runner's own tests live in tests/plugins/."""

from __future__ import annotations


async def test_the_test_api_is_global_and_assert_is_a_callable_table(lua):
    kinds = await lua.eval(
        "return type(describe), type(it), type(pending), type(before_each), type(after_each),"
        " type(run_tests), type(assert), type(test_mocks), select('#', assert(1, 2, 3))"
    )
    assert kinds == ("function",) * 6 + ("table", "table", 3)


async def test_in_a_cell_tests_may_wait_because_run_tests_runs_inside_the_cells_task(lua):
    results = await lua.eval(
        """
        describe("cell suite", function()
          it("sleeps", function() cru.timer.sleep(0.01); assert.truthy(true) end)
          it("fails", function() assert.equal(1, 2) end)
        end)
        local r = run_tests()
        return r.passed, r.failed, r.errors[1].suite, r.errors[1].error, r.errors[1].file, r.errors[1].line
        """
    )
    assert results == (1, 1, "cell suite", "Expected: 1\nActual: 2", "test[1]", "4")


async def test_assert_blames_the_calling_line_and_keeps_lua_semantics(lua):
    error = await lua.error("local x = 1\nassert(x == 2, 'x is not 2')")
    assert error.message == "test[1]:2: x is not 2"
    error = await lua.error("assert(false)")
    assert error.message == "test[2]:1: assertion failed!"
    error = await lua.error("assert(nil, {code = 1})")
    assert error.message.startswith("table: ")
    error = await lua.error("assert()")
    assert "bad argument #1 to 'assert' (value expected)" in error.message


async def test_test_mocks_setup_replaces_cru_http_in_the_state_it_runs_in(lua):
    real = await lua.eval(
        "local before = cru.http; test_mocks.setup(); return before ~= cru.http, http.get('x').status"
    )
    assert real == (True, 200)
