"""Natives behind cru.paths and the global `paths` (lua/paths.lua), and where they are configured.

`kiln()`, `workspace()` and `session()` answer the paths configured here and raise
`Kiln path not configured` (and so on) while a path is not. They are configured:

- from the environment when the runtime starts: `CRUCIBLE_KILN` (the variable Crucible itself
  reads for the kiln), `CRUCIBLE_WORKSPACE` and `CRUCIBLE_SESSION` (ours: the reference has no
  variables for these two);
- from Python, with `of(rt).configure(kiln=..., workspace=..., session=...)` (what the
  `%plugin paths` magic calls).

Configured paths are made absolute (against the working directory of that moment, with `~`
expanded), so changing directory later does not move them.

`state(plugin)` is `<CRUCIBLE_HOME or ~/.crucible>/plugin-state/<plugin>`, created on demand;
`CRUCIBLE_HOME` is read at each call, as the reference does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .convert import Multi
from .owners import registrations

if TYPE_CHECKING:
    from .engine import Runtime

__all__ = ["ENV", "Paths", "crucible_home", "install", "of", "state_dir"]

# The environment variable configuring each path when the runtime starts.
ENV = {"kiln": "CRUCIBLE_KILN", "workspace": "CRUCIBLE_WORKSPACE", "session": "CRUCIBLE_SESSION"}
PLUGIN_STATE_DIR = "plugin-state"
_UNSET: Any = object()


def crucible_home() -> str:
    """`$CRUCIBLE_HOME`, else `~/.crucible` (the reference's crucible_home())."""
    home = os.environ.get("CRUCIBLE_HOME")
    if home is not None:
        return home
    return os.path.join(os.path.expanduser("~"), ".crucible")


def single_component(name: str) -> str | None:
    """`name` as one path component, or None if it is not exactly one (Rust's Path::components:
    empty and "." components in the middle or at the end do not count; a leading "." does)."""
    if not name or name.startswith("/"):
        return None
    parts = name.split("/")
    if parts[0] == ".":
        return None
    parts = [p for p in parts if p not in ("", ".")]
    if len(parts) != 1 or parts[0] == "..":
        return None
    return parts[0]


def state_dir(plugin: str, home: str | None = None) -> str:
    """`<home>/plugin-state/<plugin>`, created if missing. Raises ValueError with the reference's
    message for a name that is not one path component, or a directory that cannot be made."""
    name = single_component(plugin)
    if name is None:
        raise ValueError(f"paths.state: '{plugin}' is not a plugin name")
    path = os.path.join(crucible_home() if home is None else home, PLUGIN_STATE_DIR, name)
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as exc:
        detail = f"{exc.strerror} (os error {exc.errno})" if exc.errno is not None else str(exc)
        raise ValueError(f"paths.state: could not create '{path}': {detail}") from None
    return path


def _absolute(path: str | os.PathLike[str] | None) -> str | None:
    if path is None:
        return None
    text = os.fspath(path)
    if not text:
        return None
    return os.path.abspath(os.path.expanduser(text))


@dataclass
class Paths:
    """The kiln, workspace and session paths that cru.paths answers (None: not configured)."""

    kiln: str | None = None
    workspace: str | None = None
    session: str | None = None
    sources: dict[str, str] = field(default_factory=dict)
    """Where each configured path came from: "environment" or "configured"."""

    @classmethod
    def from_environment(cls) -> Paths:
        paths = cls()
        for name, variable in ENV.items():
            value = _absolute(os.environ.get(variable))
            if value is not None:
                setattr(paths, name, value)
                paths.sources[name] = "environment"
        return paths

    def configure(
        self,
        *,
        kiln: str | os.PathLike[str] | None = _UNSET,
        workspace: str | os.PathLike[str] | None = _UNSET,
        session: str | os.PathLike[str] | None = _UNSET,
    ) -> None:
        """Set the paths given (None or "" unsets one; the others stay as they are)."""
        for name, value in (("kiln", kiln), ("workspace", workspace), ("session", session)):
            if value is _UNSET:
                continue
            path = _absolute(value)
            setattr(self, name, path)
            if path is None:
                self.sources.pop(name, None)
            else:
                self.sources[name] = "configured"

    def as_dict(self) -> dict[str, str | None]:
        return {"kiln": self.kiln, "workspace": self.workspace, "session": self.session}


def of(rt: Runtime) -> Paths:
    """The paths of runtime `rt` (configure them here)."""
    return registrations(rt).get("paths", Paths)


def install(rt: Runtime) -> None:
    paths = Paths.from_environment()
    registrations(rt).add("paths", paths, owned=False)

    def configured(name: bytes) -> bytes | None:
        value = getattr(paths, name.decode())
        return os.fsencode(value) if value else None

    def state(plugin: bytes) -> Multi:
        try:
            return Multi(True, os.fsencode(state_dir(os.fsdecode(plugin))))
        except ValueError as exc:
            return Multi(False, os.fsencode(str(exc)))

    rt.register(
        "paths", rt.lua_module("paths", {"configured": configured, "state": state}), global_name="paths"
    )
