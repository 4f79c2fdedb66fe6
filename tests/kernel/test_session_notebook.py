"""notebooks/sessions.ipynb replays its committed recording: the same output on every run."""

from __future__ import annotations

from pathlib import Path

import nbformat

from crucible_kernel.notebooks import execute_notebook, format_outputs

from .conftest import KERNEL_NAME

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "sessions.ipynb"
RECORDING = NOTEBOOK.parent / "recordings" / "sessions-demo.jsonl"


def test_the_sessions_notebook_reruns_to_its_committed_output_and_leaves_the_recording_alone():
    committed = nbformat.read(str(NOTEBOOK), as_version=4)
    recording = RECORDING.read_bytes()
    first = format_outputs(execute_notebook(str(NOTEBOOK), kernel_name=KERNEL_NAME, timeout=120))
    second = format_outputs(execute_notebook(str(NOTEBOOK), kernel_name=KERNEL_NAME, timeout=120))
    assert first == second == format_outputs(committed)
    assert "A Crucible plugin is a Lua module" in first  # the recorded model's answer
    assert "[13 prompt + 28 completion = 41 tokens]" in first
    assert RECORDING.read_bytes() == recording  # replayed, not recorded again
