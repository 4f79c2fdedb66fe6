"""What plugins describe about themselves: crucible.publish and crucible.options
(lua/publish.lua).

- A publication is JSON data under a key, kept per owner: `publish("isolation", {...})` from
  two plugins gives two answers to "isolation", each attributed. Publishing again under the
  same key replaces that owner's answer.
- An options tree is a plugin's settings, described once (Ace3's AceConfig shape: groups with
  `args`, leaves with `type`, `name`, `get`, `set`, ...) and kept as the live Lua table, so its
  function-valued fields are evaluated when someone reads it. One tree per owner.

Both are kept for whoever shows a plugin (a plugin card); nothing in the runtime reads them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from .convert import text
from .owners import owner_of, registrations

if TYPE_CHECKING:
    from .engine import Runtime

__all__ = ["Options", "Publications", "install", "options_of", "publications_of"]


def _by_owner(item: tuple[str | None, Any]) -> tuple[bool, str]:
    return (item[0] is not None, item[0] or "")


class Publications:
    """Published values: key -> owner -> JSON data."""

    def __init__(self) -> None:
        self.entries: dict[str, dict[str | None, Any]] = {}

    def set(self, owner: str | None, key: str, value: Any) -> None:
        self.entries.setdefault(key, {})[owner] = value

    def get(self, key: str) -> list[tuple[str | None, Any]]:
        """Every answer published under `key`, as (owner, value), sorted by owner."""
        return sorted(self.entries.get(key, {}).items(), key=_by_owner)

    def unregister_owner(self, owner: str | None) -> int:
        removed = 0
        for key in list(self.entries):
            by_owner = self.entries[key]
            if owner in by_owner:
                del by_owner[owner]
                removed += 1
            if not by_owner:
                del self.entries[key]
        return removed

    def count_owner(self, owner: str | None) -> int:
        return sum(1 for by_owner in self.entries.values() if owner in by_owner)


class Options:
    """Options trees (live Lua tables) by owner."""

    def __init__(self) -> None:
        self.trees: dict[str | None, Any] = {}

    def get(self, owner: str | None) -> Any:
        return self.trees.get(owner)

    def owners(self) -> list[str | None]:
        return sorted(self.trees, key=lambda o: (o is not None, o or ""))

    def unregister_owner(self, owner: str | None) -> int:
        return 1 if self.trees.pop(owner, None) is not None else 0

    def count_owner(self, owner: str | None) -> int:
        return 1 if owner in self.trees else 0


def publications_of(rt: Runtime) -> Publications:
    return registrations(rt).get("publications", Publications)


def options_of(rt: Runtime) -> Options:
    return registrations(rt).get("options", Options)


def install(rt: Runtime) -> None:
    publications, options = Publications(), Options()
    registrations(rt).add("publications", publications)
    registrations(rt).add("options", options)

    def publish(key: bytes, encoded: bytes, owner: Any) -> None:
        publications.set(owner_of(owner), text(key), json.loads(encoded))

    def set_options(tree: Any, owner: Any) -> None:
        options.trees[owner_of(owner)] = rt.keep(tree)

    json_module = rt.cru[b"json"]
    module = rt.lua_module(
        "publish", {"publish": publish, "options": set_options, "encode": json_module[b"encode"]}
    )
    rt.crucible[b"publish"] = module[b"publish"]
    rt.crucible[b"options"] = module[b"options"]
