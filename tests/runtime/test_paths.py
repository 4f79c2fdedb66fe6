"""cru.paths and the global paths (reference §3.16). Every test points CRUCIBLE_HOME at a
temporary folder, so nothing is created in the real ~/.crucible."""

from __future__ import annotations

import os

import pytest

from crucible_kernel.runtime import Runtime, paths
from crucible_kernel.runtime.paths import single_component

from .conftest import Lua, RecordingHost


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CRUCIBLE_HOME", str(tmp_path / "home"))
    for variable in paths.ENV.values():
        monkeypatch.delenv(variable, raising=False)
    return tmp_path / "home"


async def test_paths_is_one_table_under_three_names(lua):
    assert await lua.eval("return rawequal(paths, cru.paths) and rawequal(paths, crucible.paths)") is True


async def test_state_is_a_created_folder_under_crucible_home(lua, home):
    assert await lua.eval('return paths.state("discord")') == str(home / "plugin-state" / "discord")
    assert (home / "plugin-state" / "discord").is_dir()
    assert await lua.eval('return paths.state("discord")') == str(home / "plugin-state" / "discord")


async def test_each_plugin_gets_its_own_state_folder(lua):
    assert await lua.eval('return paths.state("discord") ~= paths.state("oci")') is True


async def test_state_reads_crucible_home_at_each_call(lua, tmp_path, monkeypatch):
    monkeypatch.setenv("CRUCIBLE_HOME", str(tmp_path / "other"))
    assert await lua.eval('return paths.state("p")') == str(tmp_path / "other" / "plugin-state" / "p")


async def test_without_crucible_home_state_is_under_the_home_folder(lua, tmp_path, monkeypatch):
    monkeypatch.delenv("CRUCIBLE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert await lua.eval('return paths.state("p")') == str(
        tmp_path / "user" / ".crucible" / "plugin-state" / "p"
    )


@pytest.mark.parametrize("name", ["", ".", "..", "../escape", "a/b", "/absolute", "./a"])
async def test_state_refuses_a_name_that_is_not_one_path_component(lua, home, name):
    error = await lua.error(f"paths.state({name!r})")
    assert error.message == f"test[1]:1: paths.state: '{name}' is not a plugin name"
    assert not (home / "plugin-state" / "escape").exists()
    assert not (home.parent / "escape").exists()


def test_a_trailing_slash_or_dot_does_not_make_a_second_component():
    # As Rust's Path::components reads them.
    assert single_component("a/") == "a"
    assert single_component("a/.") == "a"
    assert single_component("a//") == "a"
    assert single_component("a/b") is None


async def test_state_reports_a_folder_it_cannot_create(lua, home):
    home.mkdir()
    (home / "plugin-state").write_text("a file in the way")
    error = await lua.error('paths.state("p")')
    assert error.message == (
        f"test[1]:1: paths.state: could not create '{home / 'plugin-state' / 'p'}': Not a directory (os error 20)"
    )


async def test_state_wants_a_string(lua):
    assert (
        await lua.error("paths.state({})")
    ).message == "test[1]:1: bad argument #1 to 'state' (string expected, got table)"


@pytest.mark.parametrize(
    ("fn", "label", "variable"),
    [
        ("kiln", "Kiln", "CRUCIBLE_KILN"),
        ("workspace", "Workspace", "CRUCIBLE_WORKSPACE"),
        ("session", "Session", "CRUCIBLE_SESSION"),
    ],
)
async def test_unconfigured_paths_raise_with_what_to_do(lua, fn, label, variable):
    error = await lua.error(f"paths.{fn}()")
    assert error.message == (
        f"test[1]:1: {label} path not configured "
        f"(set {variable} before starting the kernel, or configure it with %plugin paths)"
    )


async def test_plugins_fall_back_with_pcall(lua):
    code = """
        local ok, err = pcall(cru.paths.kiln)
        return ok, tostring(err):find("Kiln path not configured", 1, true) ~= nil
    """
    assert await lua.eval(code) == (False, True)


async def test_paths_come_from_the_environment_at_start(tmp_path, monkeypatch):
    monkeypatch.setenv("CRUCIBLE_KILN", str(tmp_path / "notes"))
    monkeypatch.setenv("CRUCIBLE_WORKSPACE", "~/project")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CRUCIBLE_SESSION", "")  # empty means not set
    host = RecordingHost()
    rt = Runtime(host)
    try:
        lua = Lua(rt, host)
        assert await lua.eval("return paths.kiln(), paths.workspace(), pcall(paths.session)") == (
            str(tmp_path / "notes"),
            str(tmp_path / "project"),
            False,
            "test[1]:1: Session path not configured (set CRUCIBLE_SESSION before starting the kernel, "
            "or configure it with %plugin paths)",
        )
        assert paths.of(rt).sources == {"kiln": "environment", "workspace": "environment"}
    finally:
        await rt.aclose()


async def test_configure_sets_and_unsets_paths_from_python(lua, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    configured = paths.of(lua.runtime)
    configured.configure(kiln="notes", session=tmp_path / "s")
    assert await lua.eval("return paths.kiln(), paths.session()") == (
        str(tmp_path / "notes"),
        str(tmp_path / "s"),
    )
    os.chdir("/")  # configured relative paths were made absolute when set
    assert await lua.eval("return paths.kiln()") == str(tmp_path / "notes")
    configured.configure(kiln=None)
    assert (await lua.error("paths.kiln()")).message.startswith("test[3]:1: Kiln path not configured")
    assert configured.as_dict() == {"kiln": None, "workspace": None, "session": str(tmp_path / "s")}
    assert configured.sources == {"session": "configured"}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ('"/home/user/notes", "plugins", "my_plugin.lua"', "/home/user/notes/plugins/my_plugin.lua"),
        ('"a", "/abs", "b"', "/abs/b"),
        ('"a/", "b"', "a/b"),
        ('"a", ""', "a/"),
        ('"", "a"', "a"),
        ('"a", 5, true, nil, "b"', "a/b"),
        ("", ""),
    ],
)
async def test_join_pushes_components_as_pathbuf_does(lua, args, expected):
    assert await lua.eval(f"return paths.join({args})") == expected


async def test_join_with_a_configured_kiln(lua, tmp_path):
    paths.of(lua.runtime).configure(kiln=tmp_path)
    assert (
        await lua.eval('return paths.join(paths.kiln(), "plugins", "x.lua")') == f"{tmp_path}/plugins/x.lua"
    )
