"""cru.log (reference §3.1)."""

from __future__ import annotations


async def test_the_contract_examples_log_at_their_levels(lua):
    await lua.run("""
        cru.log("debug", "Detailed trace info")
        cru.log("info", "Plugin loaded")
        cru.log("warn", "Connection dropped, retrying")
        cru.log("error", "Fatal: could not open kiln")
    """)
    assert lua.host.logs == [
        ("debug", "Detailed trace info"),
        ("info", "Plugin loaded"),
        ("warn", "Connection dropped, retrying"),
        ("error", "Fatal: could not open kiln"),
    ]
    assert lua.out == ""  # logs are not stdout


async def test_log_is_a_callable_table_with_levels(lua):
    code = "return type(cru.log), cru.log.levels.TRACE, cru.log.levels.WARN, cru.log.levels.OFF, rawequal(cru.log, crucible.log)"
    assert await lua.eval(code) == ("table", 0, 3, 5, True)


async def test_an_unknown_level_logs_at_info(lua):
    await lua.run("cru.log('verbose', 'hello')")
    assert lua.host.logs == [("info", "hello")]


async def test_bad_calls_raise_the_reference_messages(lua):
    assert (await lua.error("cru.log('info')")).message == "test[1]:1: log requires 2 arguments"
    assert (await lua.error("cru.log(1, 'x')")).message == "test[2]:1: log level must be a string"
    assert (await lua.error("cru.log('info', 42)")).message == "test[3]:1: log message must be a string"
    assert (await lua.error("cru.log('info', nil)")).message == "test[4]:1: log message must be a string"
