"""Per-plugin safe mode: `cru.plugins.load(path, {safe = true})` runs a plugin in an environment of
its own, where only the capabilities its manifest and spec table declare are granted, while the
cells (and other plugins) keep the unconfined runtime."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from crucible_kernel import plugins
from crucible_kernel.runtime import Runtime, SafeMode
from tests.runtime.conftest import Lua, RecordingHost
from tests.runtime.test_capabilities import ROUTE_IDS, ROUTES
from tests.servers import http_server, ws_server  # noqa: F401

EXAMPLES = Path(__file__).resolve().parents[2] / "plugins"

# A tool that runs one Lua snippet inside the plugin and reports how it went.
PROBE = """
local M = {name = "probe", version = "0.1.0"%(spec_caps)s}
M.tools = {
  try = {desc = "runs code in the plugin's environment", fn = function(args)
    local fn = assert(load(args.code, "=probe-code"))
    local ok, result = pcall(fn)
    return {ok = ok, result = tostring(result)}
  end},
}
%(top)s
return M
"""


def make_probe(root: Path, capabilities: list[str] = (), spec_caps: list[str] = (), top: str = "") -> Path:
    folder = root / "probe"
    folder.mkdir(parents=True, exist_ok=True)
    manifest = "name: probe\nversion: 0.1.0\n"
    if capabilities:
        manifest += "capabilities: [" + ", ".join(capabilities) + "]\n"
    (folder / "plugin.yaml").write_text(manifest)
    caps = ", capabilities = {" + ", ".join(f'"{c}"' for c in spec_caps) + "}" if spec_caps else ""
    (folder / "init.lua").write_text(PROBE % {"spec_caps": caps, "top": top})
    return folder


async def load_safe(lua: Lua, folder: Path, how: str = "{safe = true}") -> tuple:
    return await lua.eval(f"local p, err = cru.plugins.load({str(folder)!r}, {how}) return p and p.safe, err")


async def attempt(lua: Lua, code: str) -> tuple[bool, str]:
    """Runs `code` inside the probe plugin: (ok, result or error message)."""
    result = await lua.eval(
        f"local r = assert(cru.plugins.tool('try', {{code = {code!r}}})) return r.ok, r.result"
    )
    return result


def refusal(function: str, capability: str) -> str:
    return (
        f"{function} needs the '{capability}' capability, which this plugin does not declare (plugin "
        f"'probe' runs in safe mode: add '{capability}' to its capabilities in plugin.yaml or its spec table)"
    )


def snippet(call: str, path: Path, http_url: str, ws_url: str) -> str:
    return f"local PATH, HTTP, WS = {str(path)!r}, {http_url!r}, {ws_url!r}\nlocal x = {call}\nreturn 'done'"


@pytest.mark.parametrize(("call", "function", "capability"), ROUTES, ids=ROUTE_IDS)
async def test_each_route_is_refused_unless_the_plugin_declares_it(
    lua,
    tmp_path,
    http_server,  # noqa: F811
    ws_server,  # noqa: F811
    call,
    function,
    capability,
):
    target = tmp_path / "f.txt"
    target.write_text("x")
    code = snippet(call, target, http_server.url("/echo"), ws_server.url("/echo"))
    others = [c for c in ("filesystem", "shell", "network", "websocket") if c != capability]
    assert await load_safe(lua, make_probe(tmp_path / "without", others)) == (True, None)
    assert await attempt(lua, code) == (False, f"probe-code:2: {refusal(function, capability)}")
    assert target.read_text() == "x" and not (tmp_path / "f.txt2").exists()
    assert await load_safe(lua, make_probe(tmp_path / "with", [capability])) == (True, None)
    assert await attempt(lua, code) == (True, "done")


async def test_the_cells_keep_the_unconfined_runtime(lua, tmp_path):
    await load_safe(lua, make_probe(tmp_path / "plugins"))
    assert (await attempt(lua, "return shell.exec('true').success"))[0] is False
    assert await lua.eval("return shell.exec('true').success, (os.execute('true'))") == (True, True)


async def test_a_capability_of_the_spec_table_counts_from_setup_on(lua, tmp_path):
    folder = make_probe(tmp_path / "plugins", spec_caps=["Shell"])  # case-insensitive, as the daemon reads it
    assert await load_safe(lua, folder) == (True, None)
    assert await attempt(lua, "return shell.exec('true').success") == (True, "true")
    assert (await attempt(lua, "return io.tmpfile()"))[0] is False
    top = make_probe(tmp_path / "other", spec_caps=["shell"], top="os.execute('true')")
    ok, err = await load_safe(lua, top)
    assert ok is None and refusal("os.execute", "shell") in err  # the main chunk runs before the spec exists


async def test_every_way_of_asking_for_safe_mode(lua, tmp_path):
    folder = make_probe(tmp_path / "plugins")
    for how in (
        "{safe = true}",
        "nil, {safe = true}",
        "{safe = true, config = {x = 1}}",
        "{x = 1}, {safe = true}",
    ):
        assert await load_safe(lua, folder, how) == (True, None), how
        assert (await attempt(lua, "return os.tmpname()"))[0] is False, how
    assert await load_safe(lua, folder, "{safe = 'yes'}") == (False, None)  # not options: config values
    assert await lua.eval(f"return cru.plugins.load({str(folder)!r}).safe") is False


async def test_a_reload_keeps_safe_mode(lua, manager, tmp_path):
    folder = make_probe(tmp_path / "plugins")
    await load_safe(lua, folder)
    await manager.reload("probe")
    assert manager.get("probe").safe
    assert (await attempt(lua, "return os.tmpname()"))[0] is False


async def test_dependencies_loaded_by_a_safe_load_are_safe_too(lua, manager, tmp_path):
    root = tmp_path / "plugins"
    lib = root / "lib"
    lib.mkdir(parents=True)
    (lib / "plugin.yaml").write_text("name: lib\nversion: 1.0.0\n")
    (lib / "init.lua").write_text(
        'return {name = "lib", setup = function() lib_tmpname_ok = pcall(os.tmpname) end}\n'
    )
    folder = make_probe(root)
    (folder / "plugin.yaml").write_text("name: probe\nversion: 0.1.0\ndependencies:\n  - name: lib\n")
    assert await load_safe(lua, folder) == (True, None)
    assert manager.get("lib").safe
    assert await lua.eval("return lib_tmpname_ok") is None  # its globals are its own, not the cells'


ESCAPES = {
    "the shared globals": "return _G == _ENV and rawget(_G, 'cell_secret') == nil and cell_secret == nil",
    "cru.plugins and cru.services": "return cru.plugins == nil and crucible.services == nil",
    "aliases stay aliases": "return http == cru.http and crucible.http == cru.http and fs == cru.fs",
    "the module tables are copies": "cru.json.extra = 1 string.extra = 1 return true",
    "load compiles into the plugin's environment": "return not pcall(load('return os.tmpname()'))",
    "load with an explicit environment": "return load('return x', 'c', 't', {x = 'given'})()",
    "require('os') is the guarded copy": "return require('os') == os and not pcall(require('os').tmpname)",
    "no C modules": "return package.loadlib == nil and package.cpath == '' and #package.searchers == 2",
    "a debug library of traceback and getinfo": "local n = 0 for _ in pairs(debug) do n = n + 1 end "
    "return n == 2 and debug.sethook == nil and debug.getregistry == nil and debug.getupvalue == nil",
    "getinfo gives no function of a stack level": "local ok = true for l = 1, 10 do local i = debug.getinfo(l, 'f') "
    "if i and i.func then ok = false end end return ok and debug.getinfo(print, 'f').func == print",
    "binary chunks": "return load(string.dump(function() end)) == nil",
}


@pytest.mark.parametrize("code", ESCAPES.values(), ids=ESCAPES.keys())
async def test_the_environment_has_no_way_out(lua, tmp_path, code):
    await lua.eval("cell_secret = 'from a cell'")
    await load_safe(lua, make_probe(tmp_path / "plugins"))
    ok, result = await attempt(lua, code)
    assert ok, result
    assert result in ("true", "given"), result
    assert await lua.eval("return cru.json.extra, string.extra") == (None, None)


async def test_require_runs_the_plugins_modules_confined_and_keeps_them_to_itself(lua, tmp_path):
    folder = make_probe(tmp_path / "plugins")
    (folder / "lua").mkdir()
    (folder / "lua" / "probe_helper.lua").write_text(
        "local M = {}\nfunction M.run() return shell.exec('true') end\nM.env_ok = _G == _ENV\nreturn M\n"
    )
    shared_path = await lua.eval("return package.path")
    await load_safe(lua, folder)
    ok, message = await attempt(lua, "return require('probe_helper').run()")
    assert not ok and refusal("cru.shell.exec", "shell") in message
    assert await attempt(lua, "return require('probe_helper').env_ok") == (True, "true")
    assert await attempt(lua, "return package.loaded.probe_helper ~= nil") == (True, "true")
    assert await lua.eval("return package.loaded.probe_helper, package.path") == (None, shared_path)
    ok, message = await attempt(lua, "local m = require('no_such_module_here') return m")
    assert not ok and message.startswith("probe-code:1: module 'no_such_module_here' not found:\n\tno field")


async def test_kernel_wide_safe_mode_still_applies_beneath(tmp_path):
    host = RecordingHost()
    rt = Runtime(host, safe=SafeMode(frozenset({"filesystem"}), " (kernel)"))
    plugins.install(rt)
    lua = Lua(rt, host)
    try:
        assert await load_safe(lua, make_probe(tmp_path / "plugins", ["shell"])) == (True, None)
        ok, message = await attempt(lua, "return os.execute('true')")
        assert not ok and message.endswith(
            "os.execute needs the 'shell' capability, which this plugin does not declare (kernel)"
        )
        # the kernel grants it, the plugin does not declare it
        ok, message = await attempt(lua, "return os.tmpname()")
        assert not ok and refusal("os.tmpname", "filesystem") in message
    finally:
        await rt.aclose()


async def test_a_refusal_inside_a_service_names_the_plugin(lua, tmp_path, host):
    folder = make_probe(tmp_path / "plugins")
    (folder / "init.lua").write_text(
        textwrap.dedent("""
            return {name = "probe", services = {
              writer = {desc = "writes", fn = function() os.remove("x") end},
            }}
        """)
    )
    await load_safe(lua, folder)
    await lua.eval("cru.timer.sleep(0.1)")
    service = next(s for s in plugins.services.of(lua.runtime).records.values() if s.name == "writer")
    assert service.state == "failed" and refusal("os.remove", "filesystem") in service.last_error


async def test_the_example_plugins_declare_what_they_use(lua, http_server, ws_server):  # noqa: F811
    url = http_server.url("/echo")
    info = await lua.eval(
        f"local p = assert(cru.plugins.load({str(EXAMPLES / 'poller')!r}, {{url = {url!r}}}, {{safe = true}}))"
        " local r = cru.plugins.command('poll') return p.safe, r.ok, r.body.method"
    )
    assert info == (True, True, "GET")
    await lua.eval(
        f"assert(cru.plugins.load({str(EXAMPLES / 'chatbot')!r}, {{url = {ws_server.url('/record')!r}}}, {{safe = true}}))"
    )
    for _ in range(100):
        if ws_server.received:
            break
        await lua.eval("cru.timer.sleep(0.02)")
    assert ws_server.received == ['{"name":"crucible-bot","op":"identify"}']
    states = await lua.eval(
        "local s = {} for _, r in ipairs(cru.services.list()) do s[#s + 1] = r.id .. '=' .. r.state end return table.concat(s, ' ')"
    )
    assert "chatbot/gateway=running" in states
