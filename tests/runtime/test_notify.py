"""crucible.notify / notify_once and crucible.set_status / clear_status: what a plugin tells the
user, delivered through the host."""

from __future__ import annotations

import pytest

from crucible_kernel.runtime import Runtime, notify, status

from .conftest import Lua, RecordingHost


class NotifyingHost(RecordingHost):
    """Records notifications and status changes as the host receives them."""

    def __init__(self) -> None:
        super().__init__()
        self.notifications: list[tuple[str, str, tuple[int, int] | None]] = []
        self.statuses: list[tuple[str, str, dict | None]] = []

    def notify(self, message, kind, progress=None):
        self.notifications.append((message, kind, progress))

    def status(self, session, key, entry):
        self.statuses.append((session, key, entry))


@pytest.fixture
async def nlua():
    host = NotifyingHost()
    rt = Runtime(host)
    yield Lua(rt, host)
    await rt.aclose()


async def test_notify_levels_make_plain_notes_or_warnings(nlua):
    await nlua.run(
        """
        crucible.notify("Index rebuilt")
        crucible.notify("Token expires", crucible.log.levels.WARN)
        crucible.notify("Failed", 4.0)
        crucible.notify("Debug", 1)
        crucible.notify("By name", "warn")
        crucible.notify("Indexing", nil, {progress = {current = 3, total = 10}})
        crucible.notify("Default total", 2, {progress = {current = 1}})
        """
    )
    assert nlua.host.notifications == [
        ("Index rebuilt", "toast", None),
        ("Token expires", "warning", None),
        ("Failed", "warning", None),
        ("Debug", "toast", None),
        ("By name", "warning", None),
        ("Indexing", "progress", (3, 10)),
        ("Default total", "progress", (1, 100)),
    ]
    assert [n.message for n in notify.of(nlua.runtime).recent][:2] == ["Index rebuilt", "Token expires"]


async def test_notify_once_shows_a_message_the_first_time_only(nlua):
    assert await nlua.eval(
        'return crucible.notify_once("No kiln"), crucible.notify_once("No kiln"), crucible.notify_once("Other")'
    ) == (True, False, True)
    assert [m for m, _, _ in nlua.host.notifications] == ["No kiln", "Other"]


async def test_the_message_must_be_a_string(nlua):
    assert (
        await nlua.error("crucible.notify(5)")
    ).message == "test[1]:1: notify: first argument must be a string"
    assert (await nlua.error("crucible.notify_once()")).message == (
        "test[2]:1: notify_once: first argument must be a string"
    )


async def test_the_default_host_shows_notifications_as_log_lines(lua, host):
    await lua.run(
        'crucible.notify("hello") crucible.notify("careful", 3) crucible.notify("step", 2, {progress = {current = 2, total = 4}})'
    )
    assert host.logs == [("info", "hello"), ("warn", "careful"), ("info", "step (2/4)")]


async def test_a_status_slot_is_set_replaced_and_cleared(nlua):
    await nlua.run(
        """
        crucible.set_status{session = "s1", key = "oci", text = "starting", plugin = "oci"}
        crucible.set_status{session = "s1", key = "oci", text = "sandboxed: alpine", plugin = "oci"}
        crucible.set_status{session = "s1", key = "build", text = "pulling", progress = 4.2, level = "warn"}
        crucible.set_status{session = "s2", key = "oci", text = "other", progress = true}
        """
    )
    statuses = status.of(nlua.runtime)
    assert [(k, e.text, e.plugin, e.level, e.progress) for k, e in statuses.get("s1")] == [
        ("build", "pulling", "unknown", "warn", 1.0),
        ("oci", "sandboxed: alpine", "oci", "info", None),
    ]
    assert statuses.get("s2")[0][1].progress is True
    await nlua.run(
        'crucible.clear_status{session = "s1", key = "build"} crucible.clear_status{session = "s1", key = "nope"}'
    )
    assert [k for k, _ in statuses.get("s1")] == ["oci"]
    assert nlua.host.statuses[-1] == ("s1", "build", None)
    assert nlua.host.statuses[1] == (
        "s1",
        "oci",
        {"plugin": "oci", "text": "sandboxed: alpine", "level": "info", "progress": None},
    )


async def test_progress_fractions_are_clamped(nlua):
    await nlua.run('crucible.set_status{session = "s", key = "k", text = "t", progress = -1}')
    assert status.of(nlua.runtime).get("s")[0][1].progress == 0.0


async def test_the_default_host_shows_status_changes_as_log_lines(lua, host):
    await lua.run(
        'crucible.set_status{session = "s1", key = "oci", text = "sandboxed", progress = 0.5} '
        'crucible.set_status{session = "s1", key = "err", text = "broken", level = "error"} '
        'crucible.clear_status{session = "s1", key = "oci"}'
    )
    assert host.logs == [
        ("info", "status oci (s1): sandboxed [50%]"),
        ("error", "status err (s1): broken"),
        ("info", "status oci (s1): cleared"),
    ]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            'crucible.set_status{key = "k", text = "t"}',
            "crucible.set_status: `session` is required (use session.id)",
        ),
        ('crucible.set_status{session = "s", text = "t"}', "crucible.set_status: `key` is required"),
        ('crucible.set_status{session = "s", key = "k"}', "crucible.set_status: `text` is required"),
        ('crucible.set_status("s")', "bad argument #1 to 'set_status' (table expected, got string)"),
        ('crucible.clear_status{key = "k"}', "crucible.clear_status: `session` is required"),
        ('crucible.clear_status{session = "s"}', "crucible.clear_status: `key` is required"),
    ],
)
async def test_bad_status_calls_raise(nlua, call, message):
    assert (await nlua.error(call)).message == f"test[1]:1: {message}"


async def test_status_slots_go_with_their_owner(nlua):
    rt = nlua.runtime
    rt.engine[b"current_owner"] = rt.lua.eval("function() return owner end")
    await nlua.run(
        """
        owner = "plugin:oci"
        crucible.set_status{session = "s1", key = "oci", text = "sandboxed"}
        owner = nil
        crucible.set_status{session = "s1", key = "mine", text = "kept"}
        """
    )
    statuses = status.of(rt)
    assert statuses.unregister_owner("plugin:oci") == 1
    assert [k for k, _ in statuses.get("s1")] == ["mine"]
    assert nlua.host.statuses[-1] == ("s1", "oci", None)  # the user sees it go
