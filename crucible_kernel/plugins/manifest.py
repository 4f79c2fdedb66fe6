"""A plugin's manifest: `plugin.yaml` (or `plugin.yml`, `manifest.yaml`, `manifest.yml`).

The fields and validation rules are Crucible's (its `crucible-lua` manifest module): `name`
(required; `[a-z][a-z0-9_-]*`, at most 64 characters, not ending in `-` or `_`), `version`
(required; 1 to 4 dot-separated parts, all numbers except the last, which may also be letters,
digits and hyphens), `description`, `author`, `license`, `main` (default `init.lua`),
`capabilities` (a closed set; an unknown one makes the manifest invalid), `dependencies`
(`[{name, optional}]`) and `enabled`. Other keys (`config:`, `exports:`, ...) are ignored: shipped
manifests document their config there.

Errors use Crucible's wording: `Failed to parse YAML: ...`, `Missing required field: name`,
`Validation failed: Invalid plugin name 'X': must be lowercase alphanumeric with hyphens`,
`Invalid version format: X`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CAPABILITIES",
    "MANIFEST_NAMES",
    "Dependency",
    "Manifest",
    "ManifestError",
    "find_manifest",
    "parse_manifest",
    "read_manifest",
    "valid_name",
    "valid_version",
]

MANIFEST_NAMES = ("plugin.yaml", "plugin.yml", "manifest.yaml", "manifest.yml")
CAPABILITIES = (
    "filesystem",
    "network",
    "shell",
    "kiln",
    "agent",
    "ui",
    "config",
    "system",
    "websocket",
    "intercept_tools",
)
_ALIASES = {"vault": "kiln", "web_socket": "websocket", "intercept-tools": "intercept_tools"}
_NAME = re.compile(r"[a-z][a-z0-9_-]*\Z")
_PART = re.compile(r"[0-9]+\Z")


class ManifestError(ValueError):
    """A manifest that cannot be read or is invalid; the message is Crucible's."""


@dataclass(frozen=True)
class Dependency:
    name: str
    optional: bool = False


@dataclass
class Manifest:
    name: str
    version: str
    description: str = ""
    author: str = ""
    license: str | None = None
    main: str = "init.lua"
    capabilities: list[str] = field(default_factory=list)
    dependencies: list[Dependency] = field(default_factory=list)
    enabled: bool | None = None
    path: Path | None = None
    """The manifest file (None for a plugin without one)."""

    @property
    def is_enabled(self) -> bool:
        return self.enabled is not False

    @property
    def required(self) -> list[str]:
        return [d.name for d in self.dependencies if not d.optional]


def valid_name(name: str) -> bool:
    """Crucible's rule for plugin names."""
    return 0 < len(name) <= 64 and bool(_NAME.match(name)) and not name.endswith(("-", "_"))


def valid_version(version: str) -> bool:
    """1 to 4 dot-separated parts: numbers, the last may also be alphanumeric with hyphens."""
    parts = version.split(".")
    if not version or len(parts) > 4:
        return False
    *head, last = parts
    if not all(_PART.match(p) and int(p) < 2**32 for p in head):
        return False
    return bool(_PART.match(last) or (last and all(c.isalnum() or c == "-" for c in last)))


def find_manifest(folder: Path) -> Path | None:
    """The folder's manifest file, by Crucible's order of names."""
    for name in MANIFEST_NAMES:
        candidate = folder / name
        if candidate.exists():
            return candidate
    return None


def read_manifest(path: Path) -> Manifest:
    """Read and validate the manifest at `path`."""
    try:
        source = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(f"Failed to read manifest: {exc}") from None
    manifest = parse_manifest(source)
    manifest.path = path
    return manifest


def parse_manifest(source: str) -> Manifest:
    """A validated Manifest from YAML text; raises ManifestError."""
    import yaml  # on first use: kernel start-up stays light

    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        raise ManifestError(f"Failed to parse YAML: {_one_line(exc)}") from None
    if not isinstance(data, dict):
        raise ManifestError(
            f"Failed to parse YAML: invalid type: {_kind(data)}, expected struct PluginManifest"
        )
    for key in ("name", "version"):
        if key not in data:
            raise ManifestError(f"Failed to parse YAML: missing field `{key}`")
    manifest = Manifest(
        name=_string(data, "name"),
        version=_string(data, "version"),
        description=_string(data, "description", ""),
        author=_string(data, "author", ""),
        license=_optional_string(data, "license"),
        main=_string(data, "main", "init.lua"),
        capabilities=_capabilities(data.get("capabilities")),
        dependencies=_dependencies(data.get("dependencies")),
        enabled=_optional_bool(data, "enabled"),
    )
    validate(manifest)
    return manifest


def validate(manifest: Manifest) -> None:
    if not manifest.name:
        raise ManifestError("Missing required field: name")
    if not manifest.version:
        raise ManifestError("Missing required field: version")
    if not valid_name(manifest.name):
        raise ManifestError(
            f"Validation failed: Invalid plugin name '{manifest.name}': "
            "must be lowercase alphanumeric with hyphens"
        )
    if not valid_version(manifest.version):
        raise ManifestError(f"Invalid version format: {manifest.version}")


# What serde would refuse, in serde's words


def _kind(value: Any) -> str:
    if value is None:
        return "unit value"
    if isinstance(value, bool):
        return f"boolean `{str(value).lower()}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, list):
        return "sequence"
    return "map"


def _string(data: dict[str, Any], key: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise ManifestError(f"Failed to parse YAML: {key}: invalid type: {_kind(value)}, expected a string")
    return value


def _optional_string(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ManifestError(f"Failed to parse YAML: {key}: invalid type: {_kind(value)}, expected a string")
    return value


def _optional_bool(data: dict[str, Any], key: str) -> bool | None:
    value = data.get(key)
    if value is None or isinstance(value, bool):
        return value
    raise ManifestError(f"Failed to parse YAML: {key}: invalid type: {_kind(value)}, expected a boolean")


def _capabilities(value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ManifestError(_invalid("capabilities", value, "a sequence"))
    out = []
    for i, item in enumerate(value):
        name = _ALIASES.get(item, item) if isinstance(item, str) else item
        if name not in CAPABILITIES:
            expected = ", ".join(f"`{c}`" for c in CAPABILITIES)
            shown = f"`{item}`" if isinstance(item, str) else _kind(item)
            raise ManifestError(
                f"Failed to parse YAML: capabilities[{i}]: unknown variant {shown}, "
                f"expected one of {expected}"
            )
        if name not in out:
            out.append(name)
    return out


def _dependencies(value: Any) -> list[Dependency]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ManifestError(_invalid("dependencies", value, "a sequence"))
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise ManifestError(_invalid(f"dependencies[{i}]", item, "struct PluginDependency"))
        if "name" not in item:
            raise ManifestError(f"Failed to parse YAML: dependencies[{i}]: missing field `name`")
        name = _string(item, "name")
        optional = item.get("optional", False)
        if not isinstance(optional, bool):
            raise ManifestError(_invalid(f"dependencies[{i}].optional", optional, "a boolean"))
        out.append(Dependency(name, optional))
    return out


def _invalid(where: str, value: Any, expected: str) -> str:
    return f"Failed to parse YAML: {where}: invalid type: {_kind(value)}, expected {expected}"


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
