"""Running a plugin's Lua suite: 2,000 `it` cases across 20 files, against busted (the Lua test
runner these suites imitate; Debian's lua-busted) on the same files and pytest running the same
2,000 checks as Python tests across 20 files, in the same run.

- `crucible-kernel test DIR`, the whole process (start-up included), against `busted` on the
  same files and `pytest -q DIR` without its installed plugins, whole processes too (median of
  5, interleaved; the busted row is left out when busted is not installed);
- `%test DIR` in a cell of a running kernel, execute_request to reply (median of 5), against
  pytest's own in-process run of the same suite (`pytest.main`, median of 5);
- the suite alone in-process (`run_suite`, no start-up), for reference.

Each case does the same work on both sides: a small computation and three assertions.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _jupyter import kernel, temporary_jupyter
from _table import print_table

_TMP = temporary_jupyter()
os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # a lean pytest: no asyncio/timeout plugins


from crucible_kernel.plugins.testing import run_suite  # noqa: E402

FILES, CASES = 20, 100  # 2,000 cases
ROUNDS = 5


def write_suites(root: Path) -> tuple[Path, Path]:
    plugin = root / "bench_plugin"
    (plugin / "tests").mkdir(parents=True)
    (plugin / "init.lua").write_text('return {name = "bench_plugin", version = "0.1.0"}\n')
    py = root / "py_suite"
    py.mkdir()
    for f in range(FILES):
        lua = ['local plugin = require("bench_plugin")', f'describe("file {f}", function()']
        python = []
        for c in range(CASES):
            lua.append(
                f'  it("case {c}", function() local t = {{n = {c}, s = "x{c}"}} '
                f"assert.equal({c * 2}, t.n * 2) assert.is_string(t.s) assert.truthy(plugin.name) end)"
            )
            python.append(
                f"def test_case_{c}():\n    t = {{'n': {c}, 's': 'x{c}'}}\n"
                f"    assert t['n'] * 2 == {c * 2}\n    assert isinstance(t['s'], str)\n    assert NAME\n"
            )
        lua.append("end)")
        (plugin / "tests" / f"f{f:02d}_test.lua").write_text("\n".join(lua) + "\n")
        (py / f"test_f{f:02d}.py").write_text("NAME = 'bench_plugin'\n\n\n" + "\n\n".join(python))
    return plugin, py


def timed_process(args: list[str], cwd: Path) -> float:
    began = time.perf_counter()
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - began
    assert result.returncode == 0, result.stdout + result.stderr
    return elapsed


def cell_time(kc: object, code: str) -> float:
    began = time.perf_counter()
    msg_id = kc.execute(code)  # type: ignore[attr-defined]
    while True:
        reply = kc.get_shell_msg(timeout=300)  # type: ignore[attr-defined]
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    elapsed = time.perf_counter() - began
    assert reply["content"]["status"] == "ok", reply["content"]
    return elapsed


def pytest_in_process(py: Path) -> float:
    import pytest

    began = time.perf_counter()
    code = pytest.main(["-q", "-p", "no:cacheprovider", "--no-header", str(py)], plugins=[])
    elapsed = time.perf_counter() - began
    assert code == 0
    return elapsed


def main() -> None:
    root = Path(_TMP) / "suites"
    plugin, py = write_suites(root)
    env_python = sys.executable

    busted = shutil.which("busted")
    busted_cmd = [busted, f"--lpath={root}/?/init.lua", "--pattern=_test", "-o", "TAP", str(plugin / "tests")]
    ours_cmd, peer_cmd, busted_times = [], [], []
    for _ in range(ROUNDS):
        ours_cmd.append(timed_process([env_python, "-m", "crucible_kernel", "test", str(plugin)], root))
        peer_cmd.append(
            timed_process([env_python, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(py)], root)
        )
        if busted:
            busted_times.append(timed_process(busted_cmd, root))  # type: ignore[list-item]

    with kernel() as kc:
        cell_time(kc, f"%test {plugin}")  # warm-up
        ours_cell = [cell_time(kc, f"%test {plugin}") for _ in range(ROUNDS)]

    devnull = open(os.devnull, "w")  # noqa: SIM115
    stdout = sys.stdout
    sys.stdout = devnull
    try:
        peer_in_process = [pytest_in_process(py) for _ in range(ROUNDS)]
    finally:
        sys.stdout = stdout
        devnull.close()

    in_process = []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        result = asyncio.run(run_suite(plugin))
        in_process.append(time.perf_counter() - began)
        assert result.passed == FILES * CASES and result.exit_code == 0

    def ms(values: list[float]) -> float:
        return statistics.median(values) * 1000

    rows = []
    if busted_times:
        rows.append(
            (
                "command / busted, whole process",
                f"{ms(ours_cmd):.0f} ms",
                f"{ms(busted_times):.0f} ms",
                f"{ms(ours_cmd) / ms(busted_times):.2f}x",
                "",
            )
        )
    else:
        print("busted is not installed (apt-get install lua-busted): its row is left out")
    rows += [
        (
            "command / pytest, whole process",
            f"{ms(ours_cmd):.0f} ms",
            f"{ms(peer_cmd):.0f} ms",
            f"{ms(ours_cmd) / ms(peer_cmd):.2f}x",
            "",
        ),
        (
            "%test in a cell / pytest.main",
            f"{ms(ours_cell):.0f} ms",
            f"{ms(peer_in_process):.0f} ms",
            f"{ms(ours_cell) / ms(peer_in_process):.2f}x",
            "",
        ),
        ("run_suite in-process", f"{ms(in_process):.0f} ms", "", "", ""),
    ]
    print_table(
        f"Plugin suite: {FILES * CASES} cases in {FILES} files, ours against busted and pytest, "
        f"median of {ROUNDS}",
        rows,
    )


if __name__ == "__main__":
    main()
