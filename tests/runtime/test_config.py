"""cru.config (the app store) and crucible.config (plugin sections), and loading a config.toml."""

from __future__ import annotations

import pytest

from crucible_kernel.runtime import config

CONFIG_TOML = """\
timeout = 30
kiln_path = "/private/notes"
theme = { name = "dark", size = 12 }

[plugins]
watch = true

[plugins.discord]
token = "abc"
channels = ["general", "dev"]
empty = []

[plugins.discord.limits]
per_minute = 5
ratio = 0.5

[plugins.oci.container]
image = "alpine"
started = 1979-05-27T07:32:00Z
"""


@pytest.fixture
def toml_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG_TOML)
    return path


async def test_the_two_stores_are_different_tables(lua):
    assert await lua.eval("return rawequal(cru.config, crucible.config), type(crucible.config._data)") == (
        False,
        "table",
    )


async def test_plugin_config_walks_every_dot_segment(lua, toml_file):
    loaded = config.load_toml(lua.runtime, toml_file)
    assert loaded.watch is True
    assert set(loaded.plugins) == {"discord", "oci"}
    code = """
        local c = crucible.config
        return c.get("discord.token"), c.get("discord.limits.per_minute"), c.get("discord.limits.ratio"),
               c.get("oci.container.image"), c.get("oci.container.started"),
               c.get("discord.channels")[2], c.get("discord.missing"), c.get("discord.token.deeper"),
               c.get("nobody.anything"), math.type(c.get("discord.limits.per_minute"))
    """
    assert await lua.eval(code) == (
        "abc",
        5,
        0.5,
        "alpine",
        "1979-05-27T07:32:00+00:00",
        "dev",
        None,
        None,
        None,
        "integer",
    )


async def test_plugin_config_arrays_keep_their_json_shape(lua, toml_file):
    config.load_toml(lua.runtime, toml_file)
    assert await lua.eval('return cru.json.encode(crucible.config.get("discord.empty"))') == "[]"


async def test_scalars_under_plugins_are_not_sections(lua, toml_file):
    config.load_toml(lua.runtime, toml_file)
    assert await lua.eval('return crucible.config.get("watch"), crucible.config._data.watch') == (None, None)


async def test_get_reads_data_at_call_time(lua):
    code = """
        crucible.config._data = {myplugin = {nested = {key = "v"}}}
        return crucible.config.get("myplugin.nested.key"), crucible.config.get("myplugin").nested.key
    """
    assert await lua.eval(code) == ("v", "v")


async def test_without_a_config_every_key_is_nil(lua):
    assert await lua.eval('return crucible.config.get("discord.token"), crucible.config.get("")') == (
        None,
        None,
    )


async def test_a_setup_receives_its_section_or_an_empty_table(lua, toml_file):
    config.load_toml(lua.runtime, toml_file)
    stores = config.of(lua.runtime)
    get = lua.runtime.lua.eval("function(t, k) return t[k], next(t) == nil end")
    assert get(stores.plugins.section("discord"), b"token") == (b"abc", False)
    assert get(stores.plugins.section("absent"), b"x") == (None, True)


async def test_plugin_config_get_checks_its_argument(lua):
    assert (await lua.error("crucible.config.get({})")).message == (
        "test[1]:1: bad argument #1 to 'get' (string expected, got table)"
    )


async def test_a_bad_toml_file_names_itself(lua, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[plugins\n")
    with pytest.raises(ValueError, match=r"bad\.toml is not valid TOML"):
        config.load_toml(lua.runtime, bad)
    with pytest.raises(FileNotFoundError):
        config.load_toml(lua.runtime, tmp_path / "absent.toml")


async def test_app_config_is_seeded_from_the_toml_without_location_keys(lua, toml_file):
    loaded = config.load_toml(lua.runtime, toml_file)
    assert "kiln_path" not in loaded.app and "plugins" not in loaded.app
    code = 'return cru.config.get("timeout"), cru.config.get("theme").name, cru.config.get("kiln_path")'
    assert await lua.eval(code) == (30, "dark", None)


async def test_app_config_set_replaces_top_level_keys(lua):
    code = """
        cru.config.set({model = "m1", limits = {a = 1, b = 2}})
        cru.config.set({limits = {a = 9}, kilns = {"x"}})
        local limits = cru.config.get("limits")
        return cru.config.get("model"), limits.a, limits.b, cru.config.get("kilns")
    """
    assert await lua.eval(code) == ("m1", 9, None, None)


async def test_app_config_get_returns_a_fresh_copy(lua):
    code = """
        cru.config.set({list = {1, 2}, empty = cru.json.array({})})
        local a = cru.config.get("list")
        a[1] = 99
        return cru.config.get("list")[1], rawequal(a, cru.config.get("list")), cru.json.encode(cru.config.get("empty"))
    """
    assert await lua.eval(code) == (1, False, "[]")


async def test_app_config_refuses_what_json_cannot_hold(lua):
    error = await lua.error("cru.config.set({f = function() end})")
    assert "cannot serialize <function>" in error.message
    assert (await lua.error("cru.config.set('x')")).message == (
        "test[2]:1: bad argument #1 to 'set' (table expected, got string)"
    )


async def test_config_stores_from_python(lua):
    stores = config.of(lua.runtime)
    stores.app.seed({"a": 1, "data_home": "/x"})
    stores.plugins.set_sections({"p": {"k": [1, {"v": True}]}, "flag": True})
    assert await lua.eval(
        'return cru.config.get("a"), cru.config.get("data_home"), crucible.config.get("p.k")[2].v'
    ) == (
        1,
        None,
        True,
    )
    assert stores.plugins.sections == {"p": {"k": [1, {"v": True}]}}
