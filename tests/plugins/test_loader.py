"""Loading Crucible plugins into a Lua state (crucible_kernel/plugins/loader.py), from Lua."""

from __future__ import annotations

import asyncio

import pytest

from crucible_kernel.plugins import PluginError
from crucible_kernel.runtime import config, handlers, hooks, owners


async def load(lua, target: str, config_arg: str = "nil"):
    """cru.plugins.load from Lua: (description or None, error or None)."""
    task = await lua.run(f"return cru.plugins.load({target!r}, {config_arg})")
    assert task.error is None, task.error and task.error.traceback
    return (*task.results, None)[:2]  # a success is the description alone


async def short(lua, path) -> str:
    """How Lua shows chunk `@path` in messages (a long path keeps its tail, after "...")."""
    return await lua.eval(f"return debug.getinfo(load('', '@' .. {str(path)!r}), 'S').short_src")


def value(table, key):
    v = table[key.encode()]
    return v.decode() if isinstance(v, bytes) else v


def names(table) -> list[str]:
    return [table[i].decode() for i in range(1, len(table) + 1)]


# Every shape


async def test_a_manifest_plugin_loads_with_its_modules_tools_commands_services_and_setup(lua, search):
    info, err = await load(lua, str(search / "weather"), "{unit = 'F'}")
    assert err is None
    assert value(info, "state") == "active"
    assert value(info, "name") == "weather"
    assert value(info, "version") == "1.2.0"  # the manifest's version wins over the spec's
    assert value(info, "kind") == "manifest"
    assert names(info[b"tools"]) == ["broken", "forecast", "slow"]  # nofn is not registered
    assert names(info[b"commands"]) == ["argtype", "echo"]
    assert names(info[b"services"]) == ["ticker"]  # entries that are not {fn = ...} are skipped
    assert names(info[b"capabilities"]) == ["network", "kiln", "ui"]  # vault is kiln; merged with the spec's
    assert await lua.eval(
        "return setup_calls, setup_unit, loading_marker_seen, __crucible_loading_plugin__"
    ) == (
        1,
        "F",
        "weather",
        None,
    )
    assert await lua.eval("return weather_util_loads, cru._current_plugin") == (1, "weather")
    assert await lua.eval('return require("weather") == package.loaded.weather') is True


async def test_warnings_name_what_the_daemon_would_ignore(lua, search, host):
    await load(lua, str(search / "weather"))
    warnings = [m for level, m in host.logs if level == "warn"]
    assert "Plugin weather declares unknown capability 'telepathy' in its spec table; ignoring" in warnings
    assert "Plugin weather declared a tool with no `fn` (nofn); not registered" in warnings
    assert (
        "Plugin 'weather' declares 1 spec-table handler(s), which are not dispatched; "
        "register them with crucible.on(...) in init.lua instead" in warnings
    )


async def test_a_folder_without_a_manifest_takes_its_name_and_the_specs_version(lua, search):
    info, err = await load(lua, str(search / "folder-plugin"))
    assert err is None, err
    assert (value(info, "name"), value(info, "version"), value(info, "kind")) == (
        "folder-plugin",
        "0.3.0",
        "folder",
    )
    assert value(info, "description") == "from the spec"
    assert await lua.eval('return cru.plugins.tool("ping")') == "pong"


async def test_a_single_file_plugin_is_named_after_the_file(lua, search):
    info, err = await load(lua, str(search / "single.lua"))
    assert err is None, err
    assert (value(info, "name"), value(info, "kind"), value(info, "version")) == ("single", "file", "0.0.0")
    assert await lua.eval('return cru.plugins.command("hello", {who = "ana"})') == "hello ana"


async def test_a_plugin_loads_by_name_from_the_search_paths(lua, search):
    info, err = await load(lua, "lib")
    assert err is None, err
    assert value(info, "path") == str(search / "lib")
    found = await lua.eval(
        "local f = cru.plugins.discover() local n = {} for _, p in ipairs(f.plugins) do n[#n + 1] = p.name end"
        " return table.concat(n, ','), #f.errors"
    )
    # the broken/ folder is not a plugin; the valid plugins are found in name order
    assert found == ("app,folder-plugin,lib,single,weather", 0)


async def test_dependencies_load_first_and_an_optional_missing_one_is_skipped(lua, search):
    _info, err = await load(lua, "app")
    assert err is None, err
    assert await lua.eval("return load_order") == "lib,app,"
    assert [p["name"] for p in [p.as_dict() for p in (await _list(lua))]] == ["lib", "app"]
    assert await lua.eval('return cru.plugins.tool("twice", {n = 21})') == 42
    # an active dependency is not loaded again when another plugin needs it
    await load(lua, "app")
    assert await lua.eval("return load_order") == "lib,app,app,"


async def _list(lua):
    from crucible_kernel import plugins

    return list(plugins.of(lua.runtime).plugins.values())


async def test_a_missing_required_dependency_is_an_error_naming_it(lua, search):
    info, err = await load(lua, str(search / "broken" / "needs-missing"))
    assert info is None
    assert err.decode() == "Dependency not satisfied: needs-missing requires nowhere-to-be-found"
    assert await lua.eval("return cru.plugins.list()[1].state, cru.plugins.list()[1].last_error") == (
        "error",
        "Dependency not satisfied: needs-missing requires nowhere-to-be-found",
    )


async def test_a_dependency_cycle_is_an_error(lua, search):
    _, err = await load(lua, str(search / "broken" / "cycle-a"))
    assert err.decode() == "Circular dependency detected: cycle-a"


# Broken plugins of every kind


@pytest.mark.parametrize(
    ("folder", "expected"),
    [
        ("syntax", "exec {main}: {short}:1: unexpected symbol near ','"),
        ("nospec", "plugin 'nospec' returned no spec"),
        ("services-only", "plugin 'services-only' returned no spec"),
        (
            "bad-name",
            "Manifest error: Validation failed: Invalid plugin name 'Bad_Name': must be lowercase alphanumeric with hyphens",
        ),
        ("bad-version", "Manifest error: Invalid version format: 1.2.3.4.5"),
        ("missing-main", "Main file not found: {dir}/src/main.lua"),
    ],
)
async def test_a_broken_plugin_is_reported_in_crucibles_words(lua, search, folder, expected):
    folder_path = search / "broken" / folder
    _, err = await load(lua, str(folder_path))
    main = folder_path / "init.lua"
    assert err.decode() == expected.format(main=main, short=await short(lua, main), dir=folder_path)


async def test_an_unknown_capability_or_bad_yaml_makes_the_manifest_invalid(lua, search):
    _, err = await load(lua, str(search / "broken" / "bad-capability"))
    assert err.decode().startswith(
        "Manifest error: Failed to parse YAML: capabilities[1]: unknown variant `telepathy`, expected one of `filesystem`"
    )
    _, err = await load(lua, str(search / "broken" / "bad-yaml"))
    assert err.decode().startswith("Manifest error: Failed to parse YAML: ")


async def test_an_error_at_load_has_the_traceback_and_leaves_the_plugin_inert(lua, search):
    main = search / "broken" / "raises" / "init.lua"
    info, err = await load(lua, str(main.parent))
    assert info is None
    message = err.decode()
    src = await short(lua, main)
    assert message.startswith(f"exec {main}: {src}:2: boom at load\nstack traceback:")
    assert f"{src}:2: in " in message and f"{src}:3: in main chunk" in message
    assert handlers.of(lua.runtime).handlers == []  # what it registered before failing is gone
    rows = await lua.eval("local p = cru.plugins.list()[1] return p.name, p.state, p.last_error")
    assert rows == ("raises", "error", message)


async def test_setup_raising_leaves_no_tool_service_or_hook_behind(lua, search, host):
    _info, err = await load(lua, str(search / "broken" / "setup-raises"))
    assert err.decode().startswith("setup() for 'setup-raises': ")
    assert "missing token" in err.decode() and "stack traceback:" in err.decode()
    assert handlers.of(lua.runtime).handlers == []
    assert await lua.eval('return cru.plugins.tool("t")') == (None, "Tool not found: t")
    assert await lua.eval("return #cru.services.list()") == 0


async def test_one_broken_plugin_leaves_the_others_alone(lua, search):
    await load(lua, str(search / "weather"))
    await load(lua, str(search / "broken" / "raises"))
    await load(lua, str(search / "broken" / "syntax"))
    states = await lua.eval(
        "local s = {} for _, p in ipairs(cru.plugins.list()) do s[#s + 1] = p.name .. '=' .. p.state end"
        " return table.concat(s, ' ')"
    )
    assert states == "weather=active raises=error syntax=error"
    assert await lua.eval('return cru.plugins.tool("forecast", {city = "Oslo"})')  # still works


async def test_bad_arguments_raise_and_unknown_paths_say_where_they_looked(lua, search):
    error = await lua.error("cru.plugins.load({})")
    assert "bad argument #1 to 'load' (string expected, got table)" in error.message
    _, err = await load(lua, "no-such-plugin")
    assert err.decode().startswith(
        "Plugin not found: no-such-plugin (no such path, and no plugin of that name in "
    )
    _, err = await load(lua, str(search / "nothing-here"))
    assert "no such file or folder" in err.decode()


async def test_a_disabled_plugin_does_not_run(lua, search, tmp_path):
    toml = tmp_path / "config.toml"
    toml.write_text("[plugins.lib]\nenabled = false\n")
    _, err = await load(lua, "lib", repr(str(toml)))
    assert err.decode() == "plugin 'lib' is disabled (enabled = false in [plugins.lib])"
    assert await lua.eval("return load_order") is None
    assert await lua.eval('return cru.plugins.reload("lib")') == (
        None,
        "plugin 'lib' is disabled; enable it before reloading",
    )


# Config passing


async def test_setup_gets_the_plugins_section_of_a_config_file_or_an_empty_table(lua, search, tmp_path):
    toml = tmp_path / "config.toml"
    toml.write_text('[plugins.weather]\nunit = "K"\n[plugins.weather.limits]\nper_minute = 5\n')
    await load(lua, str(search / "weather"), repr(str(toml)))
    assert await lua.eval('return setup_unit, crucible.config.get("weather.limits.per_minute")') == ("K", 5)
    assert await lua.eval('return cru.plugins.tool("forecast", {city = "Rome"}).text') == "Rome: 21 K"
    (search / "folder-plugin" / "init.lua").write_text(
        "return {name = 'folder-plugin', setup = function(cfg) folder_cfg = cfg end}"
    )
    await load(lua, str(search / "folder-plugin"))
    assert await lua.eval("return type(folder_cfg), next(folder_cfg)") == ("table", None)


async def test_a_config_file_that_cannot_be_read_is_an_error(lua, search, tmp_path):
    _, err = await load(lua, str(search / "lib"), repr(str(tmp_path / "missing.toml")))
    assert err.decode() == f"cannot read the config file {tmp_path / 'missing.toml'}: no such file"
    bad = tmp_path / "bad.toml"
    bad.write_text("[plugins\n")
    _, err = await load(lua, str(search / "lib"), repr(str(bad)))
    assert err.decode().startswith(f"cannot read the config file {bad}: {bad} is not valid TOML")


# Reload and unload


async def test_reload_stops_services_forgets_registrations_and_re_requires_modules(lua, search, manager):
    await load(lua, str(search / "weather"))
    regs = owners.registrations(lua.runtime)
    before = regs.owned("weather")
    assert before == {"session_hooks": 1, "handlers": 1, "emitters": 1}
    await asyncio.sleep(0.05)
    first_task = manager.supervisor.find("ticker").task
    task = await lua.run('return cru.plugins.reload("weather")')
    assert task.results[0][b"state"] == b"active"
    assert first_task.state.value == "cancelled"  # the old generation's service was aborted
    assert manager.supervisor.find("ticker").task is not first_task
    assert regs.owned("weather") == before  # nothing registered twice
    assert await lua.eval("return weather_util_loads, setup_calls") == (2, 2)  # modules re-required
    await lua.run('cru.emitter.global():emit("weather:update", 1)')
    assert await lua.eval("return weather_updates") == 1  # one handler, not two


async def test_loading_a_loaded_plugin_reloads_it(lua, search):
    await load(lua, str(search / "weather"))
    await load(lua, str(search / "weather"))
    assert await lua.eval("return setup_calls, weather_util_loads") == (2, 2)
    assert len(handlers.of(lua.runtime).handlers) == 1


async def test_a_reload_that_fails_leaves_the_plugin_inert_with_its_error(lua, search):
    await load(lua, str(search / "weather"))
    (search / "weather" / "init.lua").write_text("error('edited badly')")
    await lua.run('cru.plugins.reload("weather")')
    state = await lua.eval("local p = cru.plugins.list()[1] return p.state, p.last_error")
    assert state[0] == "error" and "edited badly" in state[1]
    assert await lua.eval('return cru.plugins.tool("forecast", {city = "x"})') == (
        None,
        "Tool not found: forecast",
    )
    assert await lua.eval("return #cru.services.list()") == 0
    assert hooks.of(lua.runtime).start == []


async def test_unload_takes_everything_back_and_is_refused_while_a_plugin_depends_on_it(lua, search):
    await load(lua, "app")
    assert await lua.eval('return cru.plugins.unload("lib")') == (
        None,
        "Cannot unload lib: app depends on it",
    )
    assert await lua.eval('return cru.plugins.unload("app")') is True
    assert await lua.eval('return cru.plugins.unload("lib"), package.loaded.lib') == (True, None)
    assert await lua.eval("return #cru.plugins.list()") == 0
    assert await lua.eval('return cru.plugins.unload("lib")') == (
        None,
        "Plugin not found: lib (loaded: none is loaded)",
    )


async def test_unload_stops_the_plugins_services_and_spawned_tasks(lua, search, manager):
    (search / "folder-plugin" / "init.lua").write_text(
        "return {name = 'folder-plugin', setup = function() worker = cru.spawn(function() cru.timer.sleep(60) end) end,"
        " services = {loop = {fn = function() cru.timer.sleep(60) end}}}"
    )
    await load(lua, str(search / "folder-plugin"))
    await asyncio.sleep(0.01)
    service_task = manager.supervisor.find("loop").task
    await lua.run('cru.plugins.unload("folder-plugin")')
    assert service_task.state.value == "cancelled"
    assert await lua.eval("return worker:status()") == "cancelled"


# Tools and commands: the JSON round trip


async def test_tool_arguments_and_results_go_through_json(lua, search):
    await load(lua, str(search / "weather"), "{unit = 'C'}")
    result = await lua.eval(
        """
        local r = cru.plugins.tool("forecast", {city = "Oslo", days = 3, tags = {"a", "b"}, nothing = cru.json.null})
        return r.text, r.days, math.type(r.days), #r.tags, getmetatable(r.tags) ~= nil, r.kind,
               cru.json.encode(r.empty), r.none == cru.json.null
        """
    )
    # null arrives as the sentinel (a userdata) and comes back as one; arrays keep their marks
    assert result == ("Oslo: 21 C", 3, "integer", 2, True, "userdata", "[]", True)


async def test_command_arguments_may_be_any_json_and_nil_arrives_as_null(lua, search):
    await load(lua, str(search / "weather"))
    assert await lua.eval('return cru.plugins.command("argtype")') == "userdata"
    assert await lua.eval('return cru.plugins.command("argtype", "x")') == "string"
    assert (
        await lua.eval('return cru.json.encode(cru.plugins.command("echo", {1, 2, {a = {}}}))')
        == '[1,2,{"a":{}}]'
    )


async def test_tool_failures_are_returned_with_the_daemons_words(lua, search, manager):
    await load(lua, str(search / "weather"))
    _, err = await lua.eval('return cru.plugins.tool("broken")')
    assert err.startswith("Execution failed: ") and "no forecast today" in err and "stack traceback:" in err
    assert await lua.eval('return cru.plugins.tool("nope")') == (None, "Tool not found: nope")
    assert await lua.eval('return cru.plugins.command("nope")') == (None, "Unknown plugin command: nope")
    assert await lua.eval('return cru.plugins.tool("forecast", {f = print})') == (
        None,
        "argument conversion: cannot serialize <function>",
    )
    manager.tool_timeout = 0.1
    assert await lua.eval('return cru.plugins.tool("slow", {seconds = 5})') == (
        None,
        "Tool 'slow' timed out after 0.1 seconds",
    )
    assert await lua.eval('return cru.plugins.tool("slow", {seconds = 0})') == "late"


async def test_the_tool_timeout_is_thirty_seconds_and_commands_have_none(manager):
    assert manager.tool_timeout == 30.0


async def test_a_tool_returning_what_json_cannot_hold_fails(lua, search):
    (search / "folder-plugin" / "init.lua").write_text(
        "return {tools = {f = {fn = function() return print end}}}"
    )
    await load(lua, str(search / "folder-plugin"))
    _, err = await lua.eval('return cru.plugins.tool("f")')
    assert err.startswith("Execution failed: result conversion: cannot serialize <function>")


async def test_loading_from_python_raises_plugin_error(manager, search):
    with pytest.raises(PluginError, match="returned no spec"):
        await manager.load(search / "broken" / "nospec")
    assert manager.plugins["nospec"].state == "error"


async def test_package_path_gets_the_search_path_and_the_plugins_lua_folder_once(lua, search):
    await load(lua, str(search / "weather"))
    await load(lua, str(search / "weather"))
    path = await lua.eval("return package.path")
    entries = path.split(";")
    for entry in (f"{search}/?.lua", f"{search}/?/init.lua", f"{search}/weather/lua/?.lua"):
        assert entries.count(entry) == 1


async def test_a_config_table_becomes_the_plugins_section(lua, search):
    await load(lua, str(search / "weather"), "{unit = 'R', nested = {a = 1}}")
    assert config.of(lua.runtime).plugins.sections["weather"] == {"unit": "R", "nested": {"a": 1}}
    assert await lua.eval('return crucible.config.get("weather.nested.a")') == 1


async def test_a_reload_whose_dependency_went_missing_leaves_nothing_live(lua, search, tmp_path):
    await load(lua, "app")
    (search / "app" / "plugin.yaml").write_text(
        'name: app\nversion: "0.2.0"\ndependencies: [{name: vanished}]\n'
    )
    _, err = await load(lua, "app")
    assert err.decode() == "Dependency not satisfied: app requires vanished"
    assert await lua.eval('return cru.plugins.tool("twice", {n = 1})') == (None, "Tool not found: twice")


async def test_plugin_tables_share_one_metatable_and_a_success_is_the_table_alone(lua, search):
    # The notebook kernel gives that metatable a __display (the plugin's card); here it is empty.
    assert await lua.eval(
        f"""
        local p = cru.plugins.load({str(search / "weather")!r})
        local again = select("#", cru.plugins.reload("weather"))
        local mt = getmetatable(p)
        return type(mt), next(mt), mt == getmetatable(cru.plugins.list()[1]), again,
          cru.json.decode(cru.json.encode(p)).name
        """
    ) == ("table", None, True, 1, "weather")
    failed, err = await lua.eval(f"return cru.plugins.load({str(search / 'broken' / 'syntax')!r})")
    assert failed is None and "unexpected symbol" in err


async def test_listeners_hear_of_every_load_failure_and_unload(lua, search, manager):
    heard: list[tuple[str, str]] = []
    manager.listeners.append(lambda plugin: heard.append((plugin.name, plugin.state)))
    manager.listeners.append(lambda plugin: 1 / 0)  # a broken listener changes nothing
    await lua.run(f"cru.plugins.load({str(search / 'app')!r})")
    await lua.run("cru.plugins.reload('app')")
    await lua.run(f"cru.plugins.load({str(search / 'broken' / 'setup-raises')!r})")
    await lua.run("cru.plugins.unload('app')")
    assert heard == [
        ("lib", "active"),
        ("app", "active"),
        ("app", "active"),
        ("setup-raises", "error"),
        ("app", "unloaded"),
    ]
