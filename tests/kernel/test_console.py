"""The kernel in `jupyter console`, a terminal frontend, driven through a pseudo-terminal."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

from .conftest import KERNEL_NAME

JUPYTER = Path(sys.executable).with_name("jupyter")
COLOR = r"(?:\x1b\[[0-9;]*m)*"
PROMPT = re.compile(rf"In \[{COLOR}(\d+){COLOR}\]: ")
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][0-9A-B]|\x1b[=>]")


class Console:
    """`jupyter console` in a pseudo-terminal: send cells, read what the terminal received."""

    def __init__(self) -> None:
        self.child = pexpect.spawn(
            str(JUPYTER),
            ["console", "--kernel", KERNEL_NAME],
            env={**os.environ, "TERM": "xterm", "PROMPT_TOOLKIT_NO_CPR": "1"},
            encoding="utf-8",
            timeout=60,
            dimensions=(40, 120),
        )
        self.child.expect(PROMPT)
        self.number = int(self.child.match.group(1))

    def run(self, code: str) -> str:
        """Send one cell and return what the terminal showed until the next cell's prompt
        (escape codes removed). The console redraws the current prompt as it echoes keys."""
        self.child.send(code + "\r")
        seen = []
        while True:
            self.child.expect(PROMPT)
            seen.append(self.child.before)
            number = int(self.child.match.group(1))
            if number > self.number:
                self.number = number
                return ANSI.sub("", "".join(seen))
            seen.append(self.child.after)

    def read_for(self, seconds: float) -> str:
        """What the terminal received in the next `seconds` (escape codes removed)."""
        received = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                received.append(self.child.read_nonblocking(65536, timeout=min(left, 0.1)))
            except pexpect.TIMEOUT:
                continue
        return ANSI.sub("", "".join(received))

    def close(self) -> None:
        """Leave with Ctrl-D, as a user would: the console shuts its kernel down."""
        self.child.sendcontrol("d")
        with contextlib.suppress(pexpect.TIMEOUT):
            if self.child.expect([r"exit \(\[y\]/n\)\?", pexpect.EOF], timeout=20) == 0:
                self.child.send("y\r")
                self.child.expect(pexpect.EOF, timeout=20)
        self.child.close(force=True)


@pytest.fixture(scope="module")
def console() -> Iterator[Console]:
    if not JUPYTER.exists():
        pytest.fail(f"jupyter_console is part of the test extra, but {JUPYTER} is missing")
    c = Console()
    yield c
    c.close()


def test_late_output_without_a_newline_ends_its_line_instead_of_sticking_to_the_prompt(console):
    console.run('cru.spawn(function() cru.timer.sleep(0.3) io.write("late-tick") end);')
    # The console prints other output when it next talks to the kernel, over the prompt line.
    # The task wrote no newline; the kernel ends its late output with one, so what follows
    # starts on a line of its own.
    late = console.read_for(1.5) + console.run("1 + 1")
    assert re.search(r"late-tick\r?\n", late), repr(late)
    assert late.strip().endswith(f"Out[{console.number - 1}]: 2")


def test_a_cells_own_output_is_left_as_it_was_written(console):
    out = console.run('io.write("no newline here") return 7')
    assert "no newline hereOut[" in out  # the console puts the result right after it, as IPython would


def test_html_shows_as_its_text_and_a_table_as_rows(console):
    out = console.run(
        'cru.display.html("<p>Plugins</p><table><tr><th>plugin</th><th>state</th></tr>'
        '<tr><td>discord-bridge</td><td>active</td></tr></table>")'
    )
    lines = [line.rstrip() for line in out.replace("\r", "").split("\n")]
    assert "<HTML>" not in out
    assert "Plugins" in lines and "plugin          state" in lines and "discord-bridge  active" in lines


def test_values_errors_and_help_read_as_in_ipython(console):
    assert "Out[" in (out := console.run('"42"')) and ']: "42"' in out
    error = console.run('error({code = 42, message = "upstream refused"})')
    assert "upstream refused" in error and 'error value: {code = 42, message = "upstream refused"}' in error
    assert "table: 0x" not in error
    assert "Object `nosuchthing` not found." in console.run("?nosuchthing")
