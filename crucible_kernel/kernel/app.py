"""Launching the kernel process: an IPKernelApp running CrucibleKernel."""

from __future__ import annotations

from typing import Any

from ipykernel.kernelapp import IPKernelApp

from .kernel import CrucibleKernel


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


def main() -> None:
    CrucibleKernelApp.launch_instance(kernel_class=CrucibleKernel)
