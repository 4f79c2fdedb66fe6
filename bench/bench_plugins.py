"""Plugins: loading and reloading a plugin of 10 modules, 20 tools and 3 services, and 1,000
tool calls through the daemon's JSON round trip.

Peers, in the same run: for load and reload, the same plugin run by hand in the same kind of
Lua state (`dofile` of init.lua after requiring its modules, then `setup`), without the loader
(discovery, manifest, package.loaded clearing, ownership, the supervisor starting services,
taking back a previous generation); for tool calls, 1,000 calls of the same Lua function
directly from Lua, without JSON or a task per call."""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from _table import print_table  # noqa: E402

MODULES, TOOLS, SERVICES, CALLS, RUNS = 10, 20, 3, 1_000, 7


def write_plugin(root: Path) -> Path:
    plugin = root / "bench-plugin"
    (plugin / "lua" / "bench").mkdir(parents=True)
    (plugin / "plugin.yaml").write_text('name: bench-plugin\nversion: "1.0.0"\ncapabilities: [network]\n')
    for i in range(MODULES):
        (plugin / "lua" / "bench" / f"m{i}.lua").write_text(
            f"local M = {{}}\nfunction M.f(x) return x + {i} end\n"
            + "".join(f"function M.g{j}(t) return #t + {j} end\n" for j in range(20))
            + "return M\n"
        )
    requires = "".join(f'local m{i} = require("bench.m{i}")\n' for i in range(MODULES))
    tools = "".join(
        f"  t{i} = {{desc = 'tool {i}', params = {{{{name = 'n', type = 'number'}}}},"
        f" fn = function(args) return {{n = m{i % MODULES}.f(args.n), tags = args.tags}} end}},\n"
        for i in range(TOOLS)
    )
    services = "".join(
        f"  s{i} = {{desc = 'service {i}', fn = function() cru.timer.sleep(3600) end}},\n"
        for i in range(SERVICES)
    )
    (plugin / "init.lua").write_text(
        requires
        + "local M = {name = 'bench-plugin'}\nfunction M.setup(cfg) M.cfg = cfg end\n"
        + "M.tools = {\n"
        + tools
        + "}\nM.services = {\n"
        + services
        + "}\nreturn M\n"
    )
    return plugin


async def ours(plugin: Path) -> tuple[float, float, float]:
    from crucible_kernel import plugins
    from crucible_kernel.runtime import Runtime

    loads, reloads = [], []
    for _ in range(RUNS):
        rt = Runtime()
        manager = plugins.install(rt)
        start = time.perf_counter()
        await manager.load(plugin)
        loads.append(time.perf_counter() - start)
        start = time.perf_counter()
        await manager.reload("bench-plugin")
        reloads.append(time.perf_counter() - start)
        await rt.aclose()
    rt = Runtime()
    plugins.install(rt)
    await plugins.of(rt).load(plugin)
    fn = rt.load(
        "local n = ... for i = 1, n do local r = cru.plugins.tool('t3', {n = i, tags = {'a'}}) end", "=bench"
    )
    calls = []
    for _ in range(RUNS):
        start = time.perf_counter()
        task = await rt.run(fn, CALLS, name="bench")
        assert task.state.value == "done", task.error
        calls.append(time.perf_counter() - start)
    await rt.aclose()
    return median(loads), median(reloads), median(calls)


async def peer(plugin: Path) -> tuple[float, float]:
    from crucible_kernel.runtime import Runtime

    runs, calls = [], []
    code = f"""
        package.path = {str(plugin / "lua" / "?.lua")!r} .. ";" .. package.path
        local spec = dofile({str(plugin / "init.lua")!r})
        spec.setup({{}})
        return spec
    """
    for _ in range(RUNS):
        rt = Runtime()
        fn = rt.load(code, "=peer")
        start = time.perf_counter()
        task = await rt.run(fn, name="peer")
        runs.append(time.perf_counter() - start)
        assert task.state.value == "done", task.error
        await rt.aclose()
    rt = Runtime()
    spec = (await rt.run(rt.load(code, "=peer"), name="peer")).results[0]
    direct = rt.load(
        "local spec, n = ... local fn = spec.tools.t3.fn"
        " for i = 1, n do local r = fn({n = i, tags = {'a'}}) end",
        "=direct",
    )
    for _ in range(RUNS):
        start = time.perf_counter()
        await rt.run(direct, spec, CALLS, name="direct")
        calls.append(time.perf_counter() - start)
    await rt.aclose()
    return median(runs), median(calls)


def median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        plugin = write_plugin(Path(tmp))
        load, reload, tool_calls = await ours(plugin)
        by_hand, direct_calls = await peer(plugin)
    print_table(
        f"A plugin of {MODULES} modules, {TOOLS} tools and {SERVICES} services (median of {RUNS})",
        [
            ("load (services started)", ms(load), ms(by_hand), f"{load / by_hand:.1f}x", ""),
            ("reload (previous one taken back)", ms(reload), ms(by_hand), f"{reload / by_hand:.1f}x", ""),
            (
                f"{CALLS:,} tool calls (JSON round trip, a task each)",
                ms(tool_calls),
                ms(direct_calls),
                f"{tool_calls / direct_calls:.0f}x",
                "",
            ),
            (
                "one tool call",
                f"{tool_calls / CALLS * 1e6:.1f} µs",
                f"{direct_calls / CALLS * 1e6:.2f} µs",
                "",
                "",
            ),
        ],
    )


if __name__ == "__main__":
    asyncio.run(main())
