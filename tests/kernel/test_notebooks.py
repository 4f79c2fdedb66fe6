"""Every notebook in notebooks/ runs through the kernel with nbclient, without errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from crucible_kernel.notebooks import execute_notebook, format_outputs

from .conftest import KERNEL_NAME

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks_to_run():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_the_notebook_runs_without_errors(path):
    nb = execute_notebook(str(path), kernel_name=KERNEL_NAME, timeout=120)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code_cells)
    errors = [o for c in code_cells for o in c.outputs if o.output_type == "error"]
    assert errors == []
    assert format_outputs(nb).strip()


def test_the_demo_shows_its_results():
    demo = next(p for p in NOTEBOOKS if p.name == "demo.ipynb")
    nb = execute_notebook(str(demo), kernel_name=KERNEL_NAME, timeout=120)
    text = format_outputs(nb)
    assert '{"age":30,"name":"Alice"}' in text
    assert "both done after 0.5 s" in text
    assert "succeeded on attempt 3" in text
    assert "third handler still runs" in text
    # Widgets: their text is their state at the last cell's end, and the state is saved.
    assert "granted 8, refused 3, waiting 0" in text
    assert "speed: 7 (slider 1..10, step 1)" in text
    states = nb.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    assert {s["model_name"] for s in states.values()} >= {"AnyModel", "IntSliderModel"}
