"""Comparing a notebook's stored outputs with a fresh run (crucible_kernel/reproduce.py)."""

from __future__ import annotations

import nbformat
import pytest

from crucible_kernel.reproduce import cell_text, compare, sanitize


@pytest.mark.parametrize(
    ("text", "clean"),
    [
        ("<table: 0x55d0a1b2c3d4>", "<table: 0x...>"),
        ("function: 0x7f00 userdata: 0xabc thread: 0xdef", "function: 0x... userdata: 0x... thread: 0x..."),
        ("both done after 0.5 s; took 12ms", "both done after <time>; took <time>"),
        ("Task 17 (waiting)", "Task <id> (waiting)"),
        (
            "22  spawn  waiting  cell[12]:3  0.1s  cell[12]:1",
            "<id>  spawn  waiting  cell[12]:3  <time>  cell[12]:1",
        ),
        ("chat-2026-11-30T1148-25fbb0  active", "<session>  active"),
        ("at 2026-11-30T11:48:02.123Z", "at <time>"),
        ("GET http://127.0.0.1:43211/forecast", "GET http://127.0.0.1:<port>/forecast"),
        (
            "RateLimiter: 0.1 of 5 tokens, refills 5 tokens/s",
            "RateLimiter: <n> of 5 tokens, refills 5 tokens/s",
        ),
        ('  "tokens": 0.0149,', '  "tokens": <n>,'),
        ("ID   KIND   STATE", "ID  KIND  STATE"),
        ("\x1b[0;31mred\x1b[0m   ", "red"),
        ("server listening on 40121, pid 5521", "server listening on <port>, pid <pid>"),
        ("Loaded /check/work/main/plugins/kit/init.lua", "Loaded <checkout>/plugins/kit/init.lua"),
        ("(/tmp/tmp.1v1ITYTtOo/textkit)", "(<tmp>/textkit)"),
        ("path = /var/ci/tmp/tmpk2_x9aqz/report.txt", "path = <tmp>/report.txt"),
        ('"clock": 1796050045.6858444,', '"clock": <t>,'),
    ],
)
def test_what_varies_between_runs_is_replaced(text, clean):
    assert sanitize(text) == clean


@pytest.mark.parametrize(
    "text",
    [
        "granted 8, refused 3",
        "cell[4]:2: key must be a string",
        "version 0.3.0",
        "{1, 2, x = 3}",
        "  indented",
        "/tmp/notes.txt",
    ],
)
def test_what_does_not_vary_is_left_alone(text):
    assert sanitize(text) == text


def code_cell(source, *outputs, count=1):
    cell = nbformat.v4.new_code_cell(source)
    cell.execution_count = count
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    return cell


def stream(text, name="stdout"):
    return {"output_type": "stream", "name": name, "text": text}


def test_streams_are_joined_where_timing_cut_them():
    one = code_cell("x", stream("a\nb\n"), stream("c\n", "stderr"))
    cut = code_cell("x", stream("a\n"), stream("b\n"), stream("c\n", "stderr"))
    assert cell_text(one) == cell_text(cut) == "[stdout]\na\nb\n\n[stderr]\nc\n"


def test_rich_outputs_show_every_mime_type_and_errors_their_traceback():
    cell = code_cell(
        "x",
        {"output_type": "display_data", "data": {"text/html": "<b>x</b>", "text/plain": "x"}, "metadata": {}},
        {
            "output_type": "execute_result",
            "execution_count": 3,
            "data": {"application/json": {"b": 1, "a": [1]}},
            "metadata": {},
        },
        {
            "output_type": "error",
            "ename": "LuaError",
            "evalue": "boom",
            "traceback": ["\x1b[0;31mboom\x1b[0m", "stack traceback:"],
        },
    )
    assert cell_text(cell) == (
        "[display]\ntext/html:\n<b>x</b>\ntext/plain:\nx\n"
        '[result 3]\napplication/json:\n{\n "a": [\n  1\n ],\n "b": 1\n}\n'
        "[error LuaError]\nboom\nstack traceback:"
    )


def widget_notebook(model_id, value, esm):
    nb = nbformat.v4.new_notebook()
    view = {"model_id": model_id, "version_major": 2, "version_minor": 0}
    nb.cells = [
        code_cell(
            "w",
            {
                "output_type": "display_data",
                "data": {"application/vnd.jupyter.widget-view+json": view},
                "metadata": {},
            },
        )
    ]
    nb.metadata["widgets"] = {
        "application/vnd.jupyter.widget-state+json": {
            "version_major": 2,
            "version_minor": 0,
            "state": {
                model_id: {
                    "model_name": "IntSliderModel",
                    "state": {"value": value, "layout": f"IPY_MODEL_{model_id}L", "_esm": esm},
                },
                f"{model_id}L": {"model_name": "LayoutModel", "state": {"width": "100px"}},
            },
        }
    }
    return nb


def test_widgets_compare_by_their_state_whatever_their_model_ids():
    js = "x" * 1000
    assert compare(widget_notebook("aaaa", 7, js), widget_notebook("bbbb", 7, js)) == []
    (change,) = compare(widget_notebook("aaaa", 7, js), widget_notebook("bbbb", 8, js))
    assert '\n-  "value": 7\n+  "value": 8\n' in change
    (code_change,) = compare(widget_notebook("aaaa", 7, js), widget_notebook("aaaa", 7, js + "y"))
    assert '-  "_esm": "<1000 characters, sha256 ' in code_change
    assert '+  "_esm": "<1001 characters, sha256 ' in code_change


def test_a_changed_output_is_a_readable_diff_naming_the_cell():
    old, new = nbformat.v4.new_notebook(), nbformat.v4.new_notebook()
    old.cells = [code_cell("print(1)", stream("1\n")), code_cell("x = 2\nprint(x)", stream("2\n"), count=2)]
    new.cells = [code_cell("print(1)", stream("1\n")), code_cell("x = 2\nprint(x)", stream("3\n"), count=2)]
    (block,) = compare(old, new)
    assert block.startswith("code cell 2 (x = 2)\n--- stored\n+++ this run\n")
    assert "\n-2\n+3" in block


def test_a_cell_never_run_is_a_change():
    old, new = nbformat.v4.new_notebook(), nbformat.v4.new_notebook()
    unrun = nbformat.v4.new_code_cell("print(1)")
    old.cells, new.cells = [unrun], [code_cell("print(1)", stream("1\n"))]
    (block,) = compare(old, new)
    assert "+[stdout]" in block
