"""JupyterLab in a real browser: a server started on a free 127.0.0.1 port, Debian's Chromium
driven by Playwright (the Python package, with no browser download of its own), and helpers to
open a notebook, run its cells and read their outputs as a person would see them.

The waits and selectors follow what was measured with JupyterLab 4.6: wait for the kernel's idle
indicator and a moment more before typing, check that the editor has focus before Ctrl+Enter,
and keep the viewport tall so every cell stays on screen for screenshots.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
KERNEL_NAME = "crucible-lua"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-breakpad",
]
CELLS = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell"


def find_chromium() -> str | None:
    """Debian's Chromium (or the one CRUCIBLE_CHROMIUM names)."""
    named = os.environ.get("CRUCIBLE_CHROMIUM")
    if named:
        return named if os.access(named, os.X_OK) else None
    for candidate in ("chromium", "chromium-browser"):
        found = shutil.which(candidate)
        if found:
            return found
    return None


def why_unavailable() -> str | None:
    """None when the browser tests can run, else why not (one line)."""
    missing = []
    for module in ("playwright", "jupyterlab"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        return f"{' and '.join(missing)} not installed in this Python (make test installs them into .venv)"
    if find_chromium() is None:
        return "Chromium not found (install Debian's chromium package, or set CRUCIBLE_CHROMIUM)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LabServer:
    """A JupyterLab server whose Jupyter folders are all under `home`."""

    def __init__(self, home: Path, kernel_path: str) -> None:
        self.home = home
        self.notebooks = home / "notebooks"
        self.notebooks.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.token = uuid.uuid4().hex
        settings = home / "config" / "lab" / "user-settings"
        self._settings(settings)
        self.env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(home / "config"),
            "JUPYTER_DATA_DIR": str(home / "data"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
            "IPYTHONDIR": str(home / "ipython"),
            "JUPYTER_PATH": kernel_path,
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(home / "config" / "lab" / "workspaces"),
        }
        self.log = open(home / "lab.log", "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--no-browser",
                "--allow-root",
                "--ip=127.0.0.1",
                f"--port={self.port}",
                f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={self.notebooks}",
                "--LabApp.news_url=",
                "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            ],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, method: str, path: str) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def shutdown_kernels(self) -> None:
        for kernel in self.api("GET", "/api/kernels"):
            self.api("DELETE", f"/api/kernels/{kernel['id']}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited at start; see {self.home / 'lab.log'}")
            try:
                self.api("GET", "/api/status")
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"JupyterLab not ready in {timeout} s") from None
                time.sleep(0.2)

    @staticmethod
    def _settings(folder: Path) -> None:
        notification = folder / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        notification.parent.mkdir(parents=True, exist_ok=True)
        notification.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))


def write_notebook(path: Path, cells: list[str]) -> None:
    nb = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": None,
                "id": f"cell-{i}",
                "metadata": {},
                "outputs": [],
                "source": src,
            }
            for i, src in enumerate(cells)
        ],
        "metadata": {
            "kernelspec": {"display_name": "Lua (Crucible)", "language": "lua", "name": KERNEL_NAME},
            "language_info": {"name": "lua"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path.write_text(json.dumps(nb, indent=1))


class Notebook:
    """A notebook open in a page: run cells, read outputs, take screenshots."""

    def __init__(self, page: Any, name: str, path: Path) -> None:
        self.page = page
        self.name = name
        self.path = path

    def wait_idle(self, timeout: float = 60) -> None:
        self.page.wait_for_selector(
            '.jp-Notebook-ExecutionIndicator[data-status="idle"]', timeout=timeout * 1000
        )

    def cell(self, i: int) -> Any:
        return self.page.locator(CELLS).nth(i)

    def run(self, i: int, wait: bool = True, timeout: float = 60) -> None:
        """Run cell i as a person does (click into it, Ctrl+Enter); with `wait`, until it is done."""
        cell = self.cell(i)
        for _ in range(3):
            cell.locator(".jp-InputArea-editor").click()
            self.page.wait_for_timeout(300)
            if "cm-content" in self.page.evaluate("() => document.activeElement.className"):
                break
        self.page.keyboard.press("Control+Enter")
        if wait:
            self.wait_done(i, timeout)

    def wait_done(self, i: int, timeout: float = 60) -> None:
        """Wait until cell i shows an execution count ("[n]:")."""
        prompt = self.cell(i).locator(".jp-InputPrompt")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = prompt.inner_text().strip()
            if text.startswith("[") and text[1:2].isdigit():
                return
            self.page.wait_for_timeout(100)
        raise TimeoutError(f"cell {i} did not finish in {timeout} s")

    def prompt(self, i: int) -> str:
        return str(self.cell(i).locator(".jp-InputPrompt").inner_text()).strip()

    def outputs(self, i: int) -> Any:
        return self.cell(i).locator(".jp-Cell-outputArea > .jp-OutputArea-child")

    def output_text(self, i: int) -> str:
        area = self.cell(i).locator(".jp-Cell-outputArea")
        return str(area.inner_text()) if area.count() else ""

    def wait_for(self, predicate: Any, timeout: float = 15, what: str = "the page") -> Any:
        """Poll `predicate()` until it returns something true; return that."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} did not come within {timeout} s")
            self.page.wait_for_timeout(100)

    def save(self, timeout: float = 10) -> None:
        """Save the notebook (Ctrl+S) and wait until the file has been written."""
        before = self.path.stat().st_mtime_ns
        self.page.keyboard.press("Control+s")
        self.wait_for(lambda: self.path.stat().st_mtime_ns != before, timeout, what="the saved file")

    def reload(self) -> None:
        """Reload the page, as a person pressing F5 does, and wait for the kernel."""
        self.page.reload()
        self.wait_idle()
        self.page.wait_for_timeout(1000)

    def screenshot(self, label: str) -> Path:
        """Save the notebook's cells as test-artifacts/browser/<notebook>-<label>.png."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{label}.png"
        self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").screenshot(path=str(path))
        return path


class Browser:
    """Chromium through Playwright, opening notebooks of one LabServer."""

    def __init__(self, lab: LabServer, chromium: str) -> None:
        from playwright.sync_api import sync_playwright

        self.lab = lab
        self._playwright = sync_playwright().start()
        # Chromium keeps crash-report settings and a dconf cache in the user's config and cache
        # folders, whatever its profile: point those into the server's temporary home.
        env = {
            **os.environ,
            "XDG_CONFIG_HOME": str(lab.home / "chromium-config"),
            "XDG_CACHE_HOME": str(lab.home / "chromium-cache"),
        }
        self.browser = self._playwright.chromium.launch(
            executable_path=chromium, headless=True, args=CHROMIUM_ARGS, env=env
        )

    def open(self, name: str, cells: list[str]) -> Notebook:
        """Write a notebook of `cells` and open it in a new page, its kernel started and idle."""
        path = self.lab.notebooks / f"{name}.ipynb"
        write_notebook(path, cells)
        context = self.browser.new_context(viewport={"width": 1200, "height": 1400})
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())  # leaving a notebook with unsaved output
        page.goto(f"{self.lab.url}/lab/tree/{name}.ipynb?reset&token={self.lab.token}")
        notebook = Notebook(page, name, path)
        notebook.wait_idle()
        page.wait_for_timeout(1000)
        return notebook

    def close(self, notebook: Notebook) -> None:
        notebook.page.context.close()

    def stop(self) -> None:
        self.browser.close()
        self._playwright.stop()
