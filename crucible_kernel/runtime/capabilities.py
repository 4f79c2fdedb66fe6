"""Capabilities and safe mode: code that is not trusted gets only what it was granted.

A plugin declares capabilities (Crucible's plugin manifest: filesystem, network, shell, kiln,
agent, ui, config, system, websocket, intercept_tools). In safe mode those that reach the outside
world are enforced at the functions that need them:

- filesystem: writing through io (io.open for writing, io.output to a file, io.tmpfile),
  os.remove, os.rename, os.tmpname, and cru.fs's write, append, mkdir, remove, copy, rename;
- shell: os.execute, io.popen, cru.shell.exec and cru.shell.spawn;
- network: cru.http (and the global `http`, the same table);
- websocket: cru.ws.connect.

A refused call raises "<function> needs the '<capability>' capability, which this plugin does not
declare", followed by the policy's hint on how to grant it. Safe mode also removes C modules
(package.loadlib, the C searchers, package.cpath) and reduces the debug library to traceback and
getinfo; binary chunks are refused in every mode. It is a Lua environment, not an OS sandbox:
reading files, environment variables, CPU time and memory (up to the heap cap) stay available.

The mechanism is the engine's (lua/prelude.lua): `engine.needs` declares, `engine.policy` makes a
policy, `engine.guard` / `engine.guarded_copy` wrap functions and tables under a policy (what a
plugin's own environment is built from), `engine.confine` makes the whole state safe. This module
parses capability names and applies a kernel-wide or run-wide SafeMode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .engine import Runtime

__all__ = ["CAPABILITIES", "ENFORCED", "SafeMode", "parse_capabilities"]

CAPABILITIES = (
    "filesystem",
    "network",
    "shell",
    "websocket",
    "kiln",
    "agent",
    "ui",
    "config",
    "system",
    "intercept_tools",
)
"""The names Crucible's plugin manifests accept."""
ALIASES = {"vault": "kiln", "web_socket": "websocket", "intercept-tools": "intercept_tools"}
ENFORCED = ("filesystem", "shell", "network", "websocket")
"""The capabilities safe mode enforces (the others guard nothing this runtime has)."""


def parse_capabilities(text: str) -> frozenset[str]:
    """Capability names from "network,shell" (commas or spaces, case-insensitive, the manifest's
    aliases accepted); ValueError naming the accepted names for anything else."""
    names = set()
    for raw in text.replace(",", " ").split():
        name = ALIASES.get(raw.lower(), raw.lower())
        if name not in CAPABILITIES:
            raise ValueError(f"unknown capability {raw!r} (the capabilities are: {', '.join(CAPABILITIES)})")
        names.add(name)
    return frozenset(names)


@dataclass(frozen=True)
class SafeMode:
    """Safe mode for a whole runtime (the kernel's --safe, `crucible-kernel run --safe`)."""

    allow: frozenset[str] = frozenset()
    """The capabilities granted."""
    hint: str = ""
    """Appended to a refusal: how to grant a capability ("{capability}" names the one refused)."""

    def apply(self, rt: Runtime) -> None:
        """Confine `rt`: call after its modules are installed, before any user code runs."""
        granted = rt.lua.table_from([name.encode() for name in sorted(self.allow)])
        policy = rt.engine[b"policy"](granted, self.hint.encode())
        rt.engine[b"confine"](policy)
