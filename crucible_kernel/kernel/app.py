"""Launching the kernel process: an IPKernelApp running CrucibleKernel."""

from __future__ import annotations

from typing import Any

from ipykernel.kernelapp import IPKernelApp

from .kernel import CrucibleKernel

CONTROL_JOIN_TIMEOUT = 5.0  # seconds; a control thread stuck longer is left to ipykernel's close


class CrucibleKernelApp(IPKernelApp):
    name = "crucible-kernel"

    def init_control(self, context: Any) -> None:
        super().init_control(context)
        # No subshells, so no shell-channel thread: shell messages go straight to the main loop
        # (one thread hop less per request). The thread object was never started.
        unused = self.shell_channel_thread
        self.shell_channel_thread = None
        if unused is not None:
            unused.io_loop.close()

    def start(self) -> None:
        super().start()
        # The main loop has stopped: a shutdown request, which the control thread may still be
        # finishing (flushing stdout, publishing "idle" through IOPub). The interpreter's exit
        # handlers stop IOPub first (IOPubThread.stop closes every thread's pipe to it), and a
        # send on a closed pipe now and then aborts the process in libzmq ("Assertion failed:
        # pfd.revents & POLLIN (src/signaler.cpp)") or raises ENOTSOCK. So the control thread
        # ends before they run.
        control = self.control_thread
        if control is not None and control.is_alive():
            control.stop()
            control.join(timeout=CONTROL_JOIN_TIMEOUT)


def main() -> None:
    CrucibleKernelApp.launch_instance(kernel_class=CrucibleKernel)
