"""crucible.publish and crucible.options: what plugins state about themselves, kept by owner."""

from __future__ import annotations

import pytest

from crucible_kernel.runtime import publish


def set_owner(lua, owner: str | None) -> None:
    lua.runtime.engine[b"current_owner"] = lua.runtime.lua.eval(f"function() return {owner!r} end")


async def test_a_publication_is_kept_as_json_data_per_owner(lua):
    set_owner(lua, "oci")
    await lua.run('crucible.publish("isolation", {available = true, profiles = {"rust"}})')
    set_owner(lua, "firecracker")
    await lua.run('crucible.publish("isolation", {available = false}) crucible.publish("weather", "rain")')
    publications = publish.publications_of(lua.runtime)
    assert publications.get("isolation") == [
        ("firecracker", {"available": False}),
        ("oci", {"available": True, "profiles": ["rust"]}),
    ]
    assert publications.get("weather") == [("firecracker", "rain")]


async def test_publishing_again_replaces_that_owners_value(lua):
    await lua.run(
        'crucible.publish("k", {a = 1}) crucible.publish("k", {a = 2}) crucible.publish(7, cru.json.null)'
    )
    publications = publish.publications_of(lua.runtime)
    assert publications.get("k") == [(None, {"a": 2})]
    assert publications.get("7") == [(None, None)]


async def test_unregister_owner_drops_only_that_owners_publications(lua):
    set_owner(lua, "oci")
    await lua.run('crucible.publish("isolation", true) crucible.publish("weather", "rain")')
    set_owner(lua, "other")
    await lua.run('crucible.publish("isolation", false)')
    publications = publish.publications_of(lua.runtime)
    assert publications.unregister_owner("oci") == 2
    assert publications.get("isolation") == [("other", False)]
    assert publications.entries.keys() == {"isolation"}


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            'crucible.publish("", 1)',
            'crucible.publish: a key is required, e.g. crucible.publish("isolation", {…})',
        ),
        (
            'crucible.publish("k", {f = print})',
            "crucible.publish: 'k' must be JSON-encodable data, not a function or userdata: cannot serialize <function>",
        ),
        ("crucible.publish({}, 1)", "bad argument #1 to 'publish' (string expected, got table)"),
    ],
)
async def test_bad_publications_raise(lua, call, message):
    assert (await lua.error(call)).message == f"test[1]:1: {message}"


async def test_an_options_tree_is_kept_live_per_owner(lua):
    set_owner(lua, "oci")
    await lua.run(
        """
        config = {image = "alpine"}
        tree = {type = "group", args = {
          image = {type = "input", name = "Image", get = function() return config.image end},
        }}
        crucible.options(tree)
        config.image = "debian"
        """
    )
    options = publish.options_of(lua.runtime)
    kept = options.get("oci")
    getter = kept[b"args"][b"image"][b"get"]
    assert getter() == b"debian"  # the live table: its functions see the current state
    assert options.owners() == ["oci"]
    assert options.unregister_owner("oci") == 1
    assert options.get("oci") is None


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            "crucible.options({type = 'group'})",
            "crucible.options: the root must be a group with an `args` table",
        ),
        ("crucible.options('x')", "bad argument #1 to 'options' (table expected, got string)"),
    ],
)
async def test_bad_options_raise(lua, call, message):
    assert (await lua.error(call)).message == f"test[1]:1: {message}"
