"""plugin.yaml: Crucible's fields and validation rules (crucible_kernel/plugins/manifest.py)."""

from __future__ import annotations

import pytest

from crucible_kernel.plugins.manifest import ManifestError, parse_manifest, valid_name, valid_version


def test_every_field_is_read_with_its_default():
    m = parse_manifest(
        """
name: discord
version: "0.26.1"
description: A bot
author: someone
license: MIT
main: lua/main.lua
capabilities: [network, websocket, vault, web_socket, intercept-tools]
dependencies:
  - name: base
  - {name: extras, optional: true}
enabled: false
config: {token: "documentation only"}
exports: [x]
"""
    )
    assert (m.name, m.version, m.description, m.author, m.license, m.main) == (
        "discord", "0.26.1", "A bot", "someone", "MIT", "lua/main.lua",
    )  # fmt: skip
    assert m.capabilities == ["network", "websocket", "kiln", "intercept_tools"]
    assert [(d.name, d.optional) for d in m.dependencies] == [("base", False), ("extras", True)]
    assert m.required == ["base"] and not m.is_enabled
    bare = parse_manifest('name: x\nversion: "1"\n')
    assert (bare.main, bare.capabilities, bare.dependencies, bare.is_enabled) == ("init.lua", [], [], True)


@pytest.mark.parametrize("name", ["a", "my-plugin", "p2", "a_b", "x" * 64])
def test_valid_names(name):
    assert valid_name(name)


@pytest.mark.parametrize("name", ["", "My", "1abc", "-a", "a-", "a_", "a.b", "a b", "x" * 65])
def test_invalid_names(name):
    assert not valid_name(name)


@pytest.mark.parametrize("version", ["1", "1.0", "1.2.3", "1.2.3.4", "1.0.0-beta", "0.1.rc1"])
def test_valid_versions(version):
    assert valid_version(version)


@pytest.mark.parametrize("version", ["", "1.2.3.4.5", "a.1", "1..2", "1.2.x_y", "-1.0"])
def test_invalid_versions(version):
    assert not valid_version(version)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("version: '1'\n", "Failed to parse YAML: missing field `name`"),
        ("name: ''\nversion: '1'\n", "Missing required field: name"),
        ("name: x\nversion: ''\n", "Missing required field: version"),
        (
            "name: x\nversion: 1.0\n",
            "Failed to parse YAML: version: invalid type: floating point `1.0`, expected a string",
        ),
        (
            "name: X\nversion: '1'\n",
            "Validation failed: Invalid plugin name 'X': must be lowercase alphanumeric with hyphens",
        ),
        ("name: x\nversion: '1.x.2'\n", "Invalid version format: 1.x.2"),
        (
            "name: x\nversion: '1'\ndependencies: [{optional: true}]\n",
            "Failed to parse YAML: dependencies[0]: missing field `name`",
        ),
        ("- a list\n", "Failed to parse YAML: invalid type: sequence, expected struct PluginManifest"),
    ],
)
def test_invalid_manifests_are_refused_in_crucibles_words(source, message):
    with pytest.raises(ManifestError) as raised:
        parse_manifest(source)
    assert str(raised.value) == message
