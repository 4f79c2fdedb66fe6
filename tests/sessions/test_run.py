"""`crucible-kernel run` with agent sessions: record, replay, and no service at all."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli import run, script

CHAT = """
local reply = ...
local s = assert(cru.sessions.create({provider = "echo", delay = 0.001, replies = {reply or "Recorded answer."}}))
cru.sessions.send_message(s.id, "Question?")
local text = cru.sessions.watch(s.id)
print("id " .. s.id)
"""


def test_a_run_records_its_sessions_and_replays_them(tmp_path: Path):
    path = script(tmp_path, CHAT)
    recording = tmp_path / "rec.jsonl"
    first = run("run", str(path), "--sessions-file", str(recording), "--sessions-mode", "record")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Recorded answer.\n")
    # replay: the script now scripts another answer, the recording's comes back, at full speed
    second = run("run", str(path), "Live answer.", "--sessions-file", str(recording), "--sessions-speed", "0")
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout  # same text, same session id


def test_replaying_a_message_the_recording_lacks_fails_clearly(tmp_path: Path):
    recording = tmp_path / "rec.jsonl"
    run("run", str(script(tmp_path, CHAT)), "--sessions-file", str(recording))
    other = script(
        tmp_path,
        """
        local s = cru.sessions.create({provider = "echo"})
        print(select(2, cru.sessions.send_message(s.id, "Something else?")))
        """,
        name="other.lua",
    )
    result = run("run", str(other), "--sessions-file", str(recording), "--sessions-mode", "replay")
    assert result.returncode == 0, result.stderr
    assert f'recording {recording} holds no message "Something else?" for session chat-' in result.stdout


def test_no_sessions_leaves_the_stubs(tmp_path: Path):
    path = script(tmp_path, "print(select(2, cru.sessions.create({})))")
    result = run("run", str(path), "--no-sessions")
    assert result.stdout == "no daemon connected\n"
    usage = run("run", str(path), "--sessions-mode", "replay")
    assert usage.returncode == 2 and "--sessions-mode needs --sessions-file" in usage.stderr
