"""Re-running a cell is safe: what a cell's previous run registered goes before it runs again.

A cell is identified by the `cellId` JupyterLab and Notebook 7 put in the execute request's
metadata (ipykernel hands it to do_execute as `cell_id`), else by its source. Everything the cell
registers or starts (emitter handlers, crucible.on hooks, schedules, spawned tasks, services,
loaded plugins, watches, controls and session views) is owned by `cell:<id>`, since the cell
runs with that owner current and tasks inherit their creator's owner. Running the cell again
first takes all of it back (`Registrations.release`): its plugins unloaded, its services
stopped, its tasks cancelled, its registrations removed, its controls closed, so no handler
fires twice and no service runs twice.
"""

from __future__ import annotations

import hashlib

from ..runtime import Runtime
from ..runtime.owners import registrations

__all__ = ["cell_owner", "release"]


def cell_owner(cell_id: str | None, code: str) -> str:
    """The owner of a cell's registrations: its cellId, else a digest of its source."""
    if cell_id:
        return f"cell:{cell_id}"
    return "cell:source:" + hashlib.sha1(code.encode("utf-8", "replace")).hexdigest()[:16]


async def release(rt: Runtime, owner: str) -> dict[str, int]:
    """Take back what `owner` (a cell's previous run) still has in `rt`."""
    return await registrations(rt).release(rt, owner)
