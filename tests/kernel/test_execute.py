"""`crucible-kernel execute`: print, store (--inplace) or check (--check) a notebook's outputs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat

from .conftest import notebook

CLI = [sys.executable, "-m", "crucible_kernel", "execute"]


def execute(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *map(str, args)], capture_output=True, text=True, timeout=180)


def test_execute_prints_what_each_cell_produced(tmp_path):
    source = notebook(tmp_path / "a.ipynb", 'print("hi")', "{1, 'two'}")
    done = execute(source)
    assert done.returncode == 0, done.stderr
    assert 'In [1]: print("hi")\nhi\n' in done.stdout
    assert 'Out[2]: {1, "two"}' in done.stdout


def test_inplace_stores_the_outputs_and_the_widgets_state_and_check_then_passes(tmp_path):
    source = notebook(
        tmp_path / "a.ipynb",
        'print("stored", cru.timer.clock() >= 0)',
        "limiter = cru.ratelimit.new({capacity = 2, interval = 0.2})\nlimiter",
        "{ref = {}}",
    )
    done = execute("--inplace", source)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{source}: outputs stored\n"
    nb = nbformat.read(str(source), as_version=4)
    assert [c.execution_count for c in nb.cells] == [1, 2, 3]
    assert nb.cells[0].outputs[0]["text"] == "stored\ttrue\n"
    assert "application/vnd.jupyter.widget-state+json" in nb.metadata["widgets"]
    assert "execution" not in nb.cells[0].metadata  # no timestamps: a re-run changes nothing
    check = execute("--check", source)
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout == f"{source}: the outputs match the stored ones\n"


def test_check_fails_with_a_diff_of_each_changed_cell(tmp_path):
    source = notebook(tmp_path / "a.ipynb", 'print("one")', 'answer = 42\nprint("answer", answer)')
    assert execute("--inplace", source).returncode == 0
    nb = nbformat.read(str(source), as_version=4)
    nb.cells[1].source = 'answer = 43\nprint("answer", answer)'  # edited, not re-run
    nbformat.write(nb, str(source))
    check = execute("--check", source)
    assert check.returncode == 1
    assert check.stdout.startswith(f"{source}: 1 code cell(s) changed")
    assert "code cell 2 (answer = 43)\n--- stored\n+++ this run\n" in check.stdout
    assert "-answer\t42\n+answer\t43" in check.stdout
    assert nbformat.read(str(source), as_version=4).cells[1].outputs[0]["text"] == "answer\t42\n"  # untouched


def test_a_cell_tagged_raises_exception_may_fail_and_others_may_not(tmp_path):
    shown = notebook(
        tmp_path / "shown.ipynb", "error({code = 42})", "print('after')", tags={0: ["raises-exception"]}
    )
    done = execute(shown)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "LuaError: {code = 42}" in done.stdout and "after" in done.stdout
    failing = notebook(tmp_path / "failing.ipynb", "error('boom')", "print('never')")
    done = execute(failing)
    assert done.returncode == 1
    assert "boom" in done.stderr and "never" not in done.stdout


def test_several_notebooks_at_once_and_output_takes_only_one(tmp_path):
    a = notebook(tmp_path / "a.ipynb", "1")
    b = notebook(tmp_path / "b.ipynb", "2")
    done = execute("--inplace", a, b)
    assert done.returncode == 0 and done.stdout == f"{a}: outputs stored\n{b}: outputs stored\n"
    refused = execute("--output", tmp_path / "out.ipynb", a, b)
    assert refused.returncode == 2
    assert "--output takes one NOTEBOOK" in refused.stderr
