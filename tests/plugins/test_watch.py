"""%plugin watch's machinery (crucible_kernel/plugins/watch.py): a change reloads the plugin."""

from __future__ import annotations

import asyncio

from crucible_kernel.plugins.watch import start_watch


async def until(predicate, timeout: float = 10.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)


async def test_a_changed_file_reloads_the_plugin_and_a_broken_change_is_reported(
    lua, manager, tmp_path, host
):
    folder = tmp_path / "live"
    (folder / "lua").mkdir(parents=True)
    (folder / "lua" / "live_words.lua").write_text('return {word = "one"}')
    (folder / "init.lua").write_text(
        'local words = require("live_words")\n'
        "return {name = 'live', tools = {word = {fn = function() return words.word end}}}\n"
    )
    await manager.load(folder)
    watch = start_watch(manager, "live")
    await watch.ready()
    assert await lua.eval('return cru.plugins.tool("word")') == "one"

    (folder / "lua" / "live_words.lua").write_text('return {word = "two"}')  # a module, not init.lua
    await until(lambda: watch.reloads == 1)
    assert await lua.eval('return cru.plugins.tool("word")') == "two"
    assert ("info", "plugin 'live' reloaded (lua/live_words.lua changed)") in host.logs

    (folder / "init.lua").write_text("error('half-written')")
    await until(lambda: any(m.startswith("Auto-reload failed for plugin 'live': ") for _, m in host.logs))
    assert manager.get("live").state == "error"

    (folder / "init.lua").write_text(
        "return {name = 'live', tools = {word = {fn = function() return 'three' end}}}"
    )
    await until(lambda: watch.reloads == 2)
    assert await lua.eval('return cru.plugins.tool("word")') == "three"


async def test_unloading_stops_the_watch(lua, manager, tmp_path):
    folder = tmp_path / "gone"
    folder.mkdir()
    (folder / "init.lua").write_text("return {name = 'gone'}")
    await manager.load(folder)
    watch = start_watch(manager, "gone")
    await watch.ready()
    await manager.unload("gone")
    await asyncio.wait_for(asyncio.shield(watch.task), 5)
    assert watch.task.done() and manager.watches == {}
