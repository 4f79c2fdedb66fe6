"""The demo notebooks: every notebook git tracks in notebooks/ is stored executed (so it reads
without running) and re-runs through the kernel to the outputs stored in it, cell by cell
(crucible_kernel/reproduce.py), without errors and without changing a file git tracks.

A notebook saved in notebooks/ but not added to git (a scratch notebook from `make lab`) is
not run. A new demo is covered by adding it to git and running `make demos`, which stores its
outputs; `make demos` also refreshes them after an intended change.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import nbformat
import pytest

from crucible_kernel.notebooks import execute_notebook, failed_cells, format_outputs
from crucible_kernel.reproduce import compare

from .conftest import KERNEL_NAME

ROOT = Path(__file__).resolve().parents[2]
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


def tracked(pattern: str) -> list[Path]:
    """The files git tracks that match `pattern` (a pathspec from the repository's root)."""
    try:
        listing = subprocess.run(
            ["git", "ls-files", "-z", "--", pattern], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise RuntimeError(
            f"cannot ask git which notebooks are demos ({exc}); run the tests in a checkout"
        ) from exc
    return sorted(ROOT / name for name in listing.split("\0") if name)


NOTEBOOKS = tracked("notebooks/*.ipynb")
_runs: dict[Path, tuple[nbformat.NotebookNode, dict[Path, bytes], dict[Path, bytes]]] = {}


def run(path: Path) -> tuple[nbformat.NotebookNode, dict[Path, bytes], dict[Path, bytes]]:
    """A fresh run of the notebook (once per test session), with the tracked files of its folder
    before and after the run."""
    if path not in _runs:
        files = [f for f in tracked("notebooks/*") if f.is_file()]
        before = {f: f.read_bytes() for f in files}
        nb = execute_notebook(str(path), kernel_name=KERNEL_NAME, timeout=120)
        after = {f: f.read_bytes() for f in files}
        _runs[path] = (nb, before, after)
    return _runs[path]


def stored(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(str(path), as_version=4)


ids = [p.name for p in NOTEBOOKS]


def test_git_tracks_the_demo_notebooks_and_ignores_checkpoints():
    assert ROOT / "notebooks" / "demo.ipynb" in NOTEBOOKS
    assert not [p for p in NOTEBOOKS if ".ipynb_checkpoints" in p.parts]
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "notebooks/.ipynb_checkpoints/demo-checkpoint.ipynb"], cwd=ROOT
    )
    assert ignored.returncode == 0, ".ipynb_checkpoints/ is not in .gitignore"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_the_notebook_is_stored_executed_with_its_widgets_state(path):
    nb = stored(path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.execution_count for c in code), (
        f"{path.name}: run `make demos` to store its outputs"
    )
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    assert any(c.outputs for c in code)
    views = [
        o.data["application/vnd.jupyter.widget-view+json"]["model_id"]
        for c in code
        for o in c.outputs
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    if views:
        state = nb.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
        assert set(views) <= set(state), f"{path.name}: widgets shown without their saved state"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_the_notebook_reruns_to_its_stored_outputs(path):
    fresh, _, _ = run(path)
    changes = compare(stored(path), fresh)
    assert not changes, (
        f"{path.name}: {len(changes)} code cell(s) show something else than what is stored. If the "
        "change is intended, store the new outputs with `make demos`.\n\n" + "\n\n".join(changes)
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=ids)
def test_the_notebook_runs_without_errors_and_changes_no_tracked_file(path):
    fresh, before, after = run(path)
    assert failed_cells(fresh) == []
    assert format_outputs(fresh).strip()
    changed = [str(f.relative_to(ROOT)) for f in before if before[f] != after[f]]
    assert changed == []


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.name in SHOWS], ids=lambda p: p.name)
def test_the_example_notebook_shows_what_it_must(path):
    text = format_outputs(run(path)[0])
    for expected in SHOWS[path.name]:
        assert expected in text, f"{path.name} does not show {expected!r}"


def test_the_demo_shows_its_results():
    fresh, _, _ = run(ROOT / "notebooks" / "demo.ipynb")
    text = format_outputs(fresh)
    assert "Hello, plugin author, from Lua 5.4" in text
    assert '{"age":30,"name":"Alice"}' in text
    assert "both done after 0.5 s" in text
    assert '"succeeded on attempt 3"' in text
    assert "third handler still runs" in text
    # the error is reported at the line that met the bad text, not at the pcall
    assert "cell[" in text and "]:2: key must be a string at line 1 column 2" in text
    # HTML as text for frontends without HTML
    assert "discord-bridge  active" in text
    # Widgets: their text is their state at the last cell's end, and the state is saved.
    assert "granted 8, refused 3, waiting 0" in text
    assert "speed: 7 (slider 1..10, step 1)" in text
    states = fresh.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    assert {s["model_name"] for s in states.values()} >= {"AnyModel", "IntSliderModel"}


def test_the_sessions_notebook_replays_its_recording():
    fresh, _, _ = run(ROOT / "notebooks" / "sessions.ipynb")
    text = format_outputs(fresh)
    assert "A Crucible plugin is a Lua module" in text  # the recorded model's answer
    assert "[13 prompt + 28 completion = 41 tokens]" in text
