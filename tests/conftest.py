"""Shared fixtures. Every test runs with the Jupyter and IPython folders inside a temporary
directory, so nothing is written outside the checkout and /tmp."""

from __future__ import annotations

import os
import tempfile

import pytest

_SANDBOX = tempfile.mkdtemp(prefix="crucible-kernel-tests-")
for _var, _sub in (
    ("IPYTHONDIR", "ipython"),
    ("JUPYTER_RUNTIME_DIR", "runtime"),
    ("JUPYTER_DATA_DIR", "data"),
    ("JUPYTER_CONFIG_DIR", "config"),
    ("XDG_CACHE_HOME", "cache"),
    ("XDG_CONFIG_HOME", "xdg-config"),  # so ~/.config/crucible/plugins is not searched
):
    os.environ[_var] = os.path.join(_SANDBOX, _sub)


@pytest.fixture
def sandbox_dir() -> str:
    return _SANDBOX
