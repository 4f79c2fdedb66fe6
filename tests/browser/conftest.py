"""The browser tests: one JupyterLab server and one Chromium for this folder, a fresh page (and
kernel) per test. Both end with the folder's last test: Playwright's synchronous API runs an
event loop in this thread while it lives, which would stop every asyncio test after it.

They need JupyterLab and Playwright in this Python and Debian's Chromium (`make test` installs
them where it can). Without them the tests are skipped and the run ends with one line saying
why; with CI=true they must run, so a missing piece fails them instead.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from crucible_kernel.kernel.install import install

from .lab import KERNEL_NAME, Browser, LabServer, Notebook, find_chromium, why_unavailable

_UNAVAILABLE = why_unavailable()
_IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _UNAVAILABLE is None or _IN_CI:  # in CI the `lab` fixture fails them, saying why
        return
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.skip(reason=f"browser tests skipped: {_UNAVAILABLE}"))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _UNAVAILABLE is not None and not _IN_CI:
        terminalreporter.write_line(f"browser tests skipped: {_UNAVAILABLE}")


@pytest.fixture(scope="package")
def lab() -> Iterator[LabServer]:
    if _UNAVAILABLE is not None:  # only reached in CI, where the tests must run
        pytest.fail(f"the browser tests must run in CI (CI=true), but {_UNAVAILABLE}")
    home = Path(tempfile.mkdtemp(prefix="crucible-lab-"))
    prefix = home / "prefix"
    install(prefix=str(prefix), name=KERNEL_NAME)
    server = LabServer(home, str(prefix / "share" / "jupyter"))
    yield server
    server.stop()


@pytest.fixture(scope="package")
def browser(lab: LabServer) -> Iterator[Browser]:
    chromium = find_chromium()
    assert chromium is not None
    b = Browser(lab, chromium)
    yield b
    b.stop()


@pytest.fixture
def open_notebook(browser: Browser, lab: LabServer) -> Iterator[Callable[[str, list[str]], Notebook]]:
    """Opens a notebook of the given cells in a new page; the page and its kernel end with the test."""
    opened: list[Notebook] = []

    def opener(name: str, cells: list[str]) -> Notebook:
        notebook = browser.open(name, cells)
        opened.append(notebook)
        return notebook

    yield opener
    for notebook in opened:
        browser.close(notebook)
    lab.shutdown_kernels()
