"""How frontends reach the kernel: private Unix sockets for `crucible-kernel execute`, and
CurveZMQ encryption over TCP for a Jupyter server on a shared machine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import zmq
from jupyter_client.manager import KernelManager

from .conftest import KERNEL_NAME, notebook

CLI = [sys.executable, "-m", "crucible_kernel"]


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temporary folder with a short path (a Unix socket path has room for 107 bytes)."""
    folder = Path(tempfile.mkdtemp(prefix="ck-", dir="/tmp" if os.path.isdir("/tmp") else None))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_execute_reaches_the_kernel_over_unix_sockets_in_a_private_folder_and_says_nothing(
    tmp_path, short_tmp
):
    private_tmp = short_tmp
    # The cell looks at the folder the sockets are in while the kernel runs.
    source = notebook(
        tmp_path / "nb.ipynb",
        'local p = io.popen("ls -ld $TMPDIR/crucible-kernel-*; ls $TMPDIR/crucible-kernel-*") '
        "print(p:read('a')) p:close()",
    )
    done = subprocess.run(
        [*CLI, "execute", str(source)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TMPDIR": str(private_tmp)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no "Kernel is running over TCP without encryption", no warning at all
    listing = done.stdout
    assert "drwx------" in listing  # only this user can enter the folder holding the sockets
    assert "kernel-1" in listing and "kernel-5" in listing  # shell, iopub, stdin, control, heartbeat
    assert list(private_tmp.iterdir()) == []  # and it is gone afterwards


@pytest.mark.skipif(not zmq.has("curve"), reason="this libzmq was built without CurveZMQ")
def test_a_manager_asking_for_encryption_gets_curve_over_tcp(tmp_path):
    # What a Jupyter server on a shared machine does with --KernelManager.transport_encryption=required:
    # the kernelspec says the kernel supports it, so the manager hands it CurveZMQ keys.
    log = tmp_path / "kernel.log"
    manager = KernelManager(kernel_name=KERNEL_NAME, transport_encryption="required")
    with open(log, "w") as err:
        manager.start_kernel(stderr=err)
    try:
        client = manager.blocking_client()
        client.start_channels()
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive("print('encrypted') return 1 + 1", timeout=30)
        assert reply["content"]["status"] == "ok"
        client.stop_channels()
    finally:
        manager.shutdown_kernel(now=True)
    assert manager.transport == "tcp" and manager.curve_publickey is not None
    assert "without encryption" not in log.read_text()


def test_the_kernelspec_declares_curve_support():
    from crucible_kernel.kernel.install import kernel_json

    assert kernel_json()["metadata"]["supported_encryption"] == ["curve"]
