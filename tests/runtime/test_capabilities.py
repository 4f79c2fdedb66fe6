"""Safe mode: capabilities enforced at the functions that need them, no C modules, a reduced debug
library; and the engine's policy/guard mechanism a plugin's own environment is built from."""

from __future__ import annotations

import pytest

from crucible_kernel.kernel.inspection import inspect
from crucible_kernel.runtime import Runtime, SafeMode
from crucible_kernel.runtime.capabilities import parse_capabilities
from tests.servers import http_server  # noqa: F401

from .conftest import Lua, RecordingHost

HINT = " (grant it with --allow {capability})"


def refusal(function: str, capability: str) -> str:
    return (
        f"{function} needs the '{capability}' capability, which this plugin does not declare"
        f" (grant it with --allow {capability})"
    )


@pytest.fixture
async def safe_lua():
    made: list[Runtime] = []

    def make(*allow: str) -> Lua:
        host = RecordingHost()
        rt = Runtime(host, safe=SafeMode(frozenset(allow), HINT))
        made.append(rt)
        return Lua(rt, host)

    yield make
    for rt in made:
        await rt.aclose()


# Every route to the outside world a capability guards: (Lua call, function named in the
# refusal, capability). PATH, HTTP and WS are set before the call (tests/plugins reuses them).
ROUTES = [
    ("os.execute('true')", "os.execute", "shell"),
    ("io.popen('true')", "io.popen", "shell"),
    ("cru.shell.exec('true')", "cru.shell.exec", "shell"),
    ("shell.spawn('true')", "cru.shell.spawn", "shell"),
    ("io.open(PATH, 'w')", "io.open", "filesystem"),
    ("io.open(PATH, 'a+')", "io.open", "filesystem"),
    ("io.output(PATH)", "io.output", "filesystem"),
    ("io.tmpfile()", "io.tmpfile", "filesystem"),
    ("os.remove(PATH)", "os.remove", "filesystem"),
    ("os.rename(PATH, PATH .. '2')", "os.rename", "filesystem"),
    ("os.tmpname()", "os.tmpname", "filesystem"),
    ("cru.http.get(HTTP)", "cru.http.get", "network"),
    ("http.post(HTTP)", "cru.http.post", "network"),
    ("crucible.http.request({url = HTTP})", "cru.http.request", "network"),
    ("cru.ws.connect(WS):close()", "cru.ws.connect", "websocket"),
    ("fs.write(PATH, 'y')", "cru.fs.write", "filesystem"),
    ("cru.fs.append(PATH, 'y')", "cru.fs.append", "filesystem"),
    ("crucible.fs.mkdir(PATH .. '.d')", "cru.fs.mkdir", "filesystem"),
    ("cru.fs.remove(PATH)", "cru.fs.remove", "filesystem"),
    ("cru.fs.copy(PATH, PATH .. '2')", "cru.fs.copy", "filesystem"),
    ("cru.fs.rename(PATH, PATH .. '2')", "cru.fs.rename", "filesystem"),
]
ROUTE_IDS = [f"{r[1]}-{r[0][:12]}" for r in ROUTES]
LOCAL_ROUTES = [r for r in ROUTES if r[2] in ("shell", "filesystem")]


@pytest.mark.parametrize(("call", "function", "capability"), ROUTES, ids=ROUTE_IDS)
async def test_each_route_is_refused_without_its_capability(safe_lua, tmp_path, call, function, capability):
    lua = safe_lua()
    code = f"PATH, HTTP, WS = {str(tmp_path / 'f.txt')!r}, 'http://127.0.0.1:1/', 'ws://127.0.0.1:1/'\nlocal x = {call}"
    error = await lua.error(code)
    assert error.message.endswith(refusal(function, capability))
    assert error.message.startswith("test[1]:2: ")  # blamed on the user's line
    assert not (tmp_path / "f.txt").exists()


@pytest.mark.parametrize(("call", "function", "capability"), LOCAL_ROUTES, ids=[r[0] for r in LOCAL_ROUTES])
async def test_the_same_calls_work_with_the_capability_granted(
    safe_lua, tmp_path, call, function, capability
):
    lua = safe_lua(capability)
    (tmp_path / "f.txt").write_text("x")
    code = f"PATH = {str(tmp_path / 'f.txt')!r}\nlocal ok, err = pcall(function() local x = {call} end) return ok, err"
    assert await lua.eval(code) == (True, None)


async def test_network_granted_reaches_a_server(safe_lua, http_server):  # noqa: F811
    lua = safe_lua("network")
    assert await lua.eval(f"return cru.http.get({http_server.url('/status/200')!r}).status") == 200


async def test_reading_files_needs_no_capability(safe_lua, tmp_path):
    (tmp_path / "data.txt").write_text("one\ntwo\n")
    lua = safe_lua()
    code = f"""
        local f = io.open({str(tmp_path / "data.txt")!r}) local first = f:read("l") f:close()
        local n = 0 for _ in io.lines({str(tmp_path / "data.txt")!r}) do n = n + 1 end
        return first, n
    """
    assert await lua.eval(code) == ("one", 2)


async def test_no_c_modules_and_a_debug_library_of_traceback_and_getinfo(safe_lua):
    lua = safe_lua()
    code = """
        local names = {}
        for k in pairs(debug) do names[#names + 1] = k end
        table.sort(names)
        local ok, err = pcall(require, "some_c_module")
        return package.loadlib, package.cpath, #package.searchers, table.concat(names, ","),
               require("debug") == debug, err:find("no file", 1, true) ~= nil
    """
    assert await lua.eval(code) == (None, "", 2, "getinfo,traceback", True, True)


async def test_binary_chunks_stay_refused(safe_lua):
    lua = safe_lua()
    ok, message = await lua.eval("return load(string.dump(function() return 1 end))")
    assert ok is None and "binary chunks are refused" in message


async def test_a_guarded_function_keeps_its_documentation(safe_lua):
    lua = safe_lua()
    reply = await inspect(lua.runtime, "cru.http.get", 12)
    assert reply["found"] and "Yields: yes" in reply["data"]["text/plain"]
    assert "(No doc comment.)" not in reply["data"]["text/plain"]


def test_capability_names_are_checked_and_aliases_accepted():
    assert parse_capabilities("network, Shell,vault web_socket") == {"network", "shell", "kiln", "websocket"}
    with pytest.raises(ValueError, match=r"unknown capability 'fs'.*filesystem, network, shell"):
        parse_capabilities("fs")


# The mechanism a plugin's environment reuses --------------------------------------------------------


async def test_a_guarded_copy_confines_one_environment_and_leaves_the_shared_tables_alone(lua, tmp_path):
    # What the plugin loader will do for one plugin: its own io/os/cru.http copies, guarded
    # under its own policy, while the kernel itself is not in safe mode.
    engine = lua.runtime.engine
    policy = engine[b"policy"](lua.runtime.lua.table_from([b"network"]), b"")
    copy = engine[b"guarded_copy"]
    g = lua.runtime.lua.globals()
    env = lua.runtime.lua.table_from(
        {b"io": copy(policy, g[b"io"]), b"os": copy(policy, g[b"os"]), b"pcall": g[b"pcall"]}
    )
    path = str(tmp_path / "w.txt")
    source = f"return pcall(io.open, {path!r}, 'w')".encode()
    fn = lua.runtime.lua.eval("function(src, env) return load(src, '=plugin', 't', env) end")(source, env)
    task = await lua.runtime.run(fn, name="plugin")
    assert task.state.value == "done", task.error and task.error.traceback
    assert task.results[0] is False
    assert (
        task.results[1]
        .decode()
        .endswith("io.open needs the 'filesystem' capability, which this plugin does not declare")
    )
    assert (
        await lua.eval(f"local f = io.open({path!r}, 'w') f:close() return true") is True
    )  # shared io is untouched
