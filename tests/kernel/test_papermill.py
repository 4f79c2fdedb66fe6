"""Parameterized notebooks with papermill: the Lua translator and the crucible engine
(crucible_kernel/parameters.py), through papermill itself and the real kernel."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest

import tests.runtime.conftest as runtime_fixtures
from crucible_kernel.parameters import LuaTranslator

from .conftest import KERNEL_NAME

host = runtime_fixtures.host
lua = runtime_fixtures.lua

PAPERMILL = Path(sys.executable).with_name("papermill")


def notebook(tmp_path: Path, *cells: str, parameters: str = 'who = "nobody"') -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": KERNEL_NAME, "display_name": "Lua (Crucible)", "language": "lua"}
    nb.metadata["language_info"] = {"name": "lua"}
    tagged = nbformat.v4.new_code_cell(parameters)
    tagged.metadata["tags"] = ["parameters"]
    nb.cells = [tagged, *(nbformat.v4.new_code_cell(c) for c in cells)]
    path = tmp_path / "params.ipynb"
    nbformat.write(nb, str(path))
    return path


def stdout_of(nb: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


# The translator ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "lua_text"),
    [
        ("world", '"world"'),
        ('say "hi"\\now', '"say \\"hi\\"\\\\now"'),
        ("line\nnext\ttab\r\x00\x07", '"line\\nnext\\ttab\\r\\000\\007"'),
        ("café ☕", '"café ☕"'),
        (42, "42"),
        (-7, "-7"),
        (2**70, "1180591620717411303424"),
        (1.5, "1.5"),
        (1e16, "1e+16"),
        (float("inf"), "math.huge"),
        (float("-inf"), "-math.huge"),
        (float("nan"), "(0/0)"),
        (True, "true"),
        (False, "false"),
        (None, "nil"),
        ([1, "a", [True]], '{1, "a", {true}}'),
        (
            {"name": "x", "a b": 1, "end": 2, 3: "three"},
            '{name = "x", ["a b"] = 1, ["end"] = 2, [3] = "three"}',
        ),
    ],
)
def test_values_become_lua_literals(value, lua_text):
    assert LuaTranslator.translate(value) == lua_text


def test_the_injected_cell_assigns_globals_and_comments_in_lua():
    code = LuaTranslator.codify({"who": "world", "end": 1, "my-name": "x"}, "Parameters")
    assert code == '-- Parameters\nwho = "world"\n_ENV["end"] = 1\n_ENV["my-name"] = "x"\n'


async def test_the_injected_code_gives_lua_the_values_papermill_was_given(lua):
    params = {
        "text": 'quote " backslash \\ newline \n nul \x00 then 1',
        "n": 3,
        "big": 2**63,
        "ratio": 0.1,
        "inf": float("inf"),
        "nan": float("nan"),
        "flag": False,
        "nothing": None,
        "items": [1, 2.5, "three"],
        "config": {"depth": 2, "tags": ["a", "b"], "with space": True},
    }
    await lua.run(LuaTranslator.codify(params))
    assert await lua.eval("return text") == params["text"]
    assert await lua.eval("return n, math.type(n)") == (3, "integer")
    assert await lua.eval("return math.type(big), big == 2^63") == ("float", True)
    assert await lua.eval("return ratio, math.type(ratio)") == (0.1, "float")
    assert await lua.eval("return inf") == math.inf
    assert await lua.eval("return nan ~= nan") is True
    assert await lua.eval("return flag, nothing") == (False, None)
    assert await lua.eval("return #items, items[2], items[3]") == (3, 2.5, "three")
    assert await lua.eval("return config.depth, config.tags[2], config['with space']") == (2, "b", True)


# Through papermill ---------------------------------------------------------------------------------


def test_papermill_injects_lua_parameters_and_the_notebook_uses_them(tmp_path):
    source = notebook(tmp_path, 'print("Hello, " .. who .. "!")', "print(count * 2, math.type(ratio))")
    out = tmp_path / "out.ipynb"
    nb = papermill.execute_notebook(
        str(source), str(out), parameters={"who": 'world "quoted"', "count": 21, "ratio": 0.5}
    )
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert [c.source for c in injected] == [
        '-- Parameters\nwho = "world \\"quoted\\""\ncount = 21\nratio = 0.5\n'
    ]
    assert stdout_of(nb) == 'Hello, world "quoted"!\n42\tfloat\n'
    assert stdout_of(nbformat.read(str(out), as_version=4)) == stdout_of(nb)


def test_papermill_infers_the_parameters_of_a_lua_notebook(tmp_path):
    source = notebook(
        tmp_path,
        "x = 1",
        parameters='who = "nobody"  -- whom to greet\ncount = 3\nverbose = false\nlimits = {1, 2}',
    )
    found = papermill.inspect_notebook(str(source))
    assert found["who"] == {
        "name": "who",
        "inferred_type_name": "string",
        "default": '"nobody"',
        "help": "whom to greet",
    }
    assert {name: p["inferred_type_name"] for name, p in found.items()} == {
        "who": "string",
        "count": "number",
        "verbose": "boolean",
        "limits": "table",
    }


def test_the_papermill_command_with_the_crucible_engine_runs_quietly_over_private_sockets(tmp_path):
    source = notebook(tmp_path, 'print("Hello, " .. who)')
    out = tmp_path / "out.ipynb"
    done = subprocess.run(
        [
            str(PAPERMILL),
            "--engine",
            "crucible",
            "--no-progress-bar",
            str(source),
            str(out),
            "-p",
            "who",
            "world",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "without encryption" not in done.stderr
    assert "WARNING" not in done.stderr
    assert stdout_of(nbformat.read(str(out), as_version=4)) == "Hello, world\n"
