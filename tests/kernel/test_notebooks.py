"""Every notebook in notebooks/ runs through the kernel with nbclient, without errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from crucible_kernel.notebooks import execute_notebook, format_outputs

from .conftest import KERNEL_NAME

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))
# What the example plugins' notebooks must show, beyond running without errors: each one stops
# the server it started (it checks that the process is gone).
SHOWS = {
    "poller.ipynb": [
        "every: must be >= 0.05, got 0",
        "GET /flaky?fail=2 -> 503",
        "the API has stopped:\ttrue",
    ],
    "chatbot.ipynb": [
        "Hello! I answer through cru.sessions.",
        "1 answer: Echo: are you still there?",
        "echo-bot left",
        "the gateway has stopped:\ttrue",
    ],
    "textkit.ipynb": [
        "Good evening, Ada.",
        "cru.shell.exec needs the 'shell' capability, which this plugin does not declare",
        "It runs in safe mode, granted what it declares: filesystem, shell.",
        "Command 'rm' is not allowed by shell policy",
    ],
}


def test_there_are_notebooks_to_run():
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_the_notebook_runs_without_errors(path):
    nb = execute_notebook(str(path), kernel_name=KERNEL_NAME, timeout=120)
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code_cells)
    errors = [o for c in code_cells for o in c.outputs if o.output_type == "error"]
    assert errors == []
    text = format_outputs(nb)
    assert text.strip()
    for expected in SHOWS.get(path.name, []):
        assert expected in text, f"{path.name} does not show {expected!r}"


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
