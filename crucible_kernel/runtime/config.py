"""The two config stores plugins read (lua/config.lua), and loading them from a config.toml.

- `cru.config.get(key)` / `cru.config.set(table)`: the app config store, top-level keys of
  Crucible's config. Values are kept as JSON (what the reference keeps), so `get` hands back a
  fresh copy each time and `set` refuses what JSON cannot hold. The keys that name places on
  disk (`kiln_path`, `kilns`, ...) are never stored, as in the reference.
- `crucible.config.get("<plugin>.<dotted.key>")`: the `[plugins.<name>]` sections of
  config.toml, held as a Lua table in `crucible.config._data` (one entry per plugin).

`load_toml(rt, path)` reads a config.toml into both (the plugin loader calls it for
`--config`); `of(rt)` gives the stores for finer work:

    cfg = load_toml(rt, "config.toml")
    cfg.plugins["discord"]            # the [plugins.discord] section, as Python data
    of(rt).plugins.section("discord")  # ... as the Lua table setup(cfg) receives ({} if none)
"""

from __future__ import annotations

import datetime
import json
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .convert import text
from .owners import registrations

if TYPE_CHECKING:
    from .engine import Runtime

__all__ = ["LOCATION_KEYS", "AppConfig", "ConfigFile", "ConfigStores", "PluginConfig", "load_toml", "of"]

# Top-level config keys that name a place on disk; the app store never holds them (a plugin is
# told which kilns a session reaches by name, not by directory).
LOCATION_KEYS = frozenset(
    {"agent_directories", "data_home", "kiln_path", "kilns", "projects", "runtimepath", "session_kiln"}
)


def plain(value: Any) -> Any:
    """TOML data as JSON data: dates and times become their ISO 8601 text."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    return value


class AppConfig:
    """The app config store behind cru.config: top-level keys to JSON values."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def seed(self, values: dict[str, Any]) -> None:
        """Replace the store with `values` (their place-naming keys dropped)."""
        self.values = {k: v for k, v in plain(values).items() if k not in LOCATION_KEYS}

    def merge(self, values: Any) -> None:
        """Set each top-level key of `values` (cru.config.set's semantics: no deep merge).
        Anything but a mapping is ignored."""
        if isinstance(values, dict):
            self.values.update({k: v for k, v in plain(values).items() if k not in LOCATION_KEYS})

    def get(self, key: str) -> Any:
        return self.values.get(key)


class PluginConfig:
    """The `[plugins.<name>]` sections behind crucible.config (its `_data` table)."""

    def __init__(self, rt: Runtime, table: Any) -> None:
        self._rt = rt
        self.table = table
        """The crucible.config table as installed (plugins may replace `_data` in it)."""
        self.sections: dict[str, Any] = {}
        """The sections last loaded, as Python data."""

    def set_sections(self, sections: dict[str, Any]) -> None:
        """Make `sections` ({plugin name: {key: value}}) what crucible.config answers."""
        self.sections = plain({k: v for k, v in sections.items() if isinstance(v, dict)})
        self.table[b"_data"] = self._lua_value(self.sections)

    def set_section(self, name: str, values: dict[str, Any]) -> None:
        """Make `values` plugin `name`'s section (the other plugins' stay as they are)."""
        self.set_sections({**self.sections, name: values})

    def section(self, name: str) -> Any:
        """A fresh Lua table of plugin `name`'s section, or an empty one (what setup(cfg) gets)."""
        return self._lua_value(self.sections.get(name, {}))

    def _lua_value(self, value: Any) -> Any:
        # cru.json.decode gives arrays the JSON array metatable, as mlua's to_value does.
        decode = self._rt.cru[b"json"][b"decode"]
        return decode(json.dumps(value, ensure_ascii=False).encode())


@dataclass
class ConfigStores:
    app: AppConfig
    plugins: PluginConfig


@dataclass
class ConfigFile:
    """What load_toml read."""

    path: str
    plugins: dict[str, Any] = field(default_factory=dict)
    """The `[plugins.<name>]` sections."""
    watch: bool = False
    """`[plugins] watch = true` (reload plugins when their files change)."""
    app: dict[str, Any] = field(default_factory=dict)
    """The top-level keys seeded into the app store."""


def of(rt: Runtime) -> ConfigStores:
    """The config stores of runtime `rt`."""
    return registrations(rt).get("config", ConfigStores)


def load_toml(rt: Runtime, path: str | os.PathLike[str], *, merge: bool = False) -> ConfigFile:
    """Read a Crucible config.toml: its `[plugins.<name>]` sections become crucible.config's
    data and its top-level keys seed cru.config. With `merge`, the file's sections replace only
    the same plugins' sections and its keys are set over the app store's (the plugin loader's
    `--config`: one file per plugin). Raises OSError or ValueError (with the file's name and
    what is wrong) for a file that cannot be read or is not TOML."""
    import tomllib  # on first use: Runtime creation stays light

    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            data = tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{name} is not valid TOML: {exc}") from None
    raw_plugins = data.get("plugins", {})
    if not isinstance(raw_plugins, dict):
        raise ValueError(f"{name}: `plugins` must be a table ([plugins.<name>] sections)")
    sections = {k: v for k, v in raw_plugins.items() if isinstance(v, dict)}
    stores = of(rt)
    app = {k: v for k, v in data.items() if k != "plugins"}
    if merge:
        stores.plugins.set_sections({**stores.plugins.sections, **sections})
        stores.app.merge(app)
    else:
        stores.plugins.set_sections(sections)
        stores.app.seed(app)
    return ConfigFile(
        path=name,
        plugins=stores.plugins.sections,
        watch=raw_plugins.get("watch") is True,
        app=dict(stores.app.values),
    )


def install(rt: Runtime) -> None:
    """cru.config (the app store) and crucible.config (the plugin sections): two tables."""
    app = AppConfig()

    def app_set(encoded: bytes) -> None:
        app.merge(json.loads(encoded))

    def app_get(key: bytes) -> bytes | None:
        value = app.get(text(key))
        return None if value is None else json.dumps(value, ensure_ascii=False).encode()

    json_module = rt.cru[b"json"]
    module = rt.lua_module(
        "config",
        {
            "app_set": app_set,
            "app_get": app_get,
            "encode": json_module[b"encode"],
            "decode": json_module[b"decode"],
        },
    )
    rt.cru[b"config"] = module[b"app"]
    rt.crucible[b"config"] = module[b"plugin"]
    registrations(rt).add("config", ConfigStores(app, PluginConfig(rt, module[b"plugin"])), owned=False)
