"""Finding plugins: the search paths, and what counts as a plugin in a folder.

Search paths, highest priority first (the first plugin with a name wins; later ones are
shadowed), as in Crucible: every entry of `$CRUCIBLE_PLUGIN_PATH` (`:`-separated), then
`~/.config/crucible/plugins` (`$XDG_CONFIG_HOME/crucible/plugins`), then
`$CRUCIBLE_RUNTIME/plugins`. Within a search path, in name order:

- a folder with `plugin.yaml` (`plugin.yml`, `manifest.yaml`, `manifest.yml`): a manifest plugin;
- else a folder with `init.lua` (or `init.fnl`): a plugin without a manifest, named after the
  folder, version `0.0.0` (its spec table's `name` and `version` then override them);
- a `*.lua` or `*.fnl` file: a single-file plugin named after the file.

A manifest that cannot be read is a discovery error, not a plugin.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .manifest import Manifest, ManifestError, find_manifest, read_manifest, valid_name

__all__ = ["Candidate", "Discovery", "PluginNotFound", "candidate_at", "discover", "search_paths"]

MAIN_FILES = ("init.lua", "init.fnl")
SUFFIXES = (".lua", ".fnl")


class PluginNotFound(LookupError):
    """No plugin at a path, or of a name; the message says where it looked."""


@dataclass
class Candidate:
    """A plugin found on disk, not loaded."""

    name: str
    dir: Path
    """The plugin's folder (for a single-file plugin, the folder holding the file)."""
    main: Path
    manifest: Manifest
    kind: str
    """"manifest", "folder" (no manifest) or "file"."""
    source: str = "path"
    """Which search path found it: "path" ($CRUCIBLE_PLUGIN_PATH), "user", "runtime", or
    "given" (loaded by its path)."""
    search_path: Path | None = None

    @property
    def root(self) -> Path:
        """Where the plugin's files are: its folder, or for a single file the file itself."""
        return self.main if self.kind == "file" else self.dir


@dataclass
class Discovery:
    plugins: dict[str, Candidate] = field(default_factory=dict)
    """The plugin each name resolves to, in discovery order."""
    shadowed: list[Candidate] = field(default_factory=list)
    errors: list[tuple[Path, str]] = field(default_factory=list)


def search_paths(env: Mapping[str, str] | None = None) -> list[tuple[Path, str]]:
    """The search paths with their source names, highest priority first."""
    env = os.environ if env is None else env
    paths: list[tuple[Path, str]] = []
    for entry in env.get("CRUCIBLE_PLUGIN_PATH", "").split(":"):
        if entry:
            paths.append((Path(entry).expanduser(), "path"))
    config_home = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    paths.append((Path(config_home) / "crucible" / "plugins", "user"))
    if env.get("CRUCIBLE_RUNTIME"):
        paths.append((Path(env["CRUCIBLE_RUNTIME"]) / "plugins", "runtime"))
    return paths


def discover(paths: Iterable[tuple[Path, str]] | None = None) -> Discovery:
    """Every plugin in the search paths (default: `search_paths()`)."""
    found = Discovery()
    for folder, source in search_paths() if paths is None else paths:
        if not folder.is_dir():
            continue
        try:
            entries = sorted(folder.iterdir(), key=lambda p: p.name)
        except OSError as exc:
            found.errors.append((folder, f"cannot list {folder}: {exc.strerror or exc}"))
            continue
        for entry in entries:
            try:
                candidate = _candidate(entry, source, folder)
            except ManifestError as exc:
                found.errors.append((entry, str(exc)))
                continue
            if candidate is None:
                continue
            if candidate.name in found.plugins:
                found.shadowed.append(candidate)
            else:
                found.plugins[candidate.name] = candidate
    return found


def candidate_at(path: str | os.PathLike[str]) -> Candidate:
    """The plugin at `path` (a folder or a `.lua`/`.fnl` file). Raises PluginNotFound, or
    ManifestError for a folder whose manifest is invalid."""
    target = Path(os.path.normpath(Path(path).expanduser().absolute()))  # no "notebooks/../" in names
    if not target.exists():
        raise PluginNotFound(f"Plugin not found: {path} (no such file or folder)")
    candidate = _candidate(target, "given", target.parent)
    if candidate is None:
        if target.is_dir():
            raise PluginNotFound(
                f"Plugin not found: {path} has no plugin.yaml (plugin.yml, manifest.yaml, "
                "manifest.yml), init.lua or init.fnl"
            )
        raise PluginNotFound(f"Plugin not found: {path} is not a .lua or .fnl file")
    return candidate


def _candidate(entry: Path, source: str, search_path: Path) -> Candidate | None:
    if entry.is_dir():
        manifest_file = find_manifest(entry)
        if manifest_file is not None:
            manifest = read_manifest(manifest_file)
            return Candidate(
                manifest.name, entry, entry / manifest.main, manifest, "manifest", source, search_path
            )
        main = next((entry / m for m in MAIN_FILES if (entry / m).is_file()), None)
        if main is None:
            return None
        if not valid_name(entry.name):
            raise ManifestError(
                f"Validation failed: Directory name '{entry.name}' is not a valid plugin name"
            )
        manifest = Manifest(name=entry.name, version="0.0.0", main=main.name)
        return Candidate(entry.name, entry, main, manifest, "folder", source, search_path)
    if entry.is_file() and entry.suffix in SUFFIXES and entry.stem:
        if not valid_name(entry.stem):
            return None  # Crucible skips such files quietly
        manifest = Manifest(name=entry.stem, version="0.0.0", main=entry.name)
        return Candidate(entry.stem, entry.parent, entry, manifest, "file", source, search_path)
    return None
