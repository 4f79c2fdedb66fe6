"""Recordings: a session recorded to JSON Lines plays back with the same events in the same order."""

from __future__ import annotations

import json
import time

from crucible_kernel.runtime import Runtime
from crucible_kernel.sessions import RecordingSettings, SessionService, install
from tests.runtime.conftest import Lua, RecordingHost

SCRIPT = """
local opts = ...
local s = assert(cru.sessions.create(opts))
local next_event = cru.sessions.subscribe(s.id)
local seen = {}
for _, message in ipairs({"What is Crucible?", "And plugins?"}) do
  local ok, err = cru.sessions.send_message(s.id, message)
  if not ok then return s.id, err end
  repeat
    local e = next_event()
    seen[#seen + 1] = e.type .. "=" .. cru.json.encode(e.data)
  until e.type == "response_done" or e.type == "ended"
end
return s.id, table.concat(seen, "\\n")
"""

AGENT = (
    "{provider = 'echo', delay = 0.01, replies = {"
    "{{thinking = 'recall'}, {text = 'A knowledge tool.'}, {tool = 'search', args = {q = 'c'}, result = {n = 1}}},"
    "'Lua ones.'}}"
)


async def run_script(service: SessionService, opts: str) -> tuple[str, str, float]:
    rt = Runtime(RecordingHost())
    install(rt, service)
    lua = Lua(rt, rt.host)  # type: ignore[arg-type]
    start = time.monotonic()
    task = await rt.run(rt.load(f"return (function(...) {SCRIPT} end)({opts})", "=script"), name="script")
    elapsed = time.monotonic() - start
    await rt.aclose()
    assert task.error is None, task.error and task.error.traceback
    sid, seen = (v.decode() for v in task.results)
    del lua
    return sid, seen, elapsed


async def test_a_recorded_session_replays_the_same_events_in_the_same_order(tmp_path):
    path = tmp_path / "talk.jsonl"
    recorder = SessionService(recording=RecordingSettings("record", str(path)))
    sid, recorded, _ = await run_script(recorder, AGENT)
    await recorder.aclose()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert "crucible_kernel_recording" in lines[0]
    assert {"t", "session", "type", "data"} <= lines[2].keys()
    assert [e["type"] for e in lines[1:4]] == ["session", "user_message", "thinking"]
    assert all(e["session"] == sid for e in lines[1:])
    assert all(lines[i]["t"] <= lines[i + 1]["t"] for i in range(1, len(lines) - 1))

    player = SessionService(recording=RecordingSettings("replay", str(path), speed=0))
    # the agent config may differ: the recording answers
    replayed_sid, replayed, _ = await run_script(player, "{provider = 'echo'}")
    await player.aclose()
    assert replayed_sid == sid
    assert replayed == recorded
    assert "text_delta" in replayed and "tool_result" in replayed and "total_tokens" in replayed


async def test_playback_keeps_the_recorded_timing_scaled_by_the_speed_factor(tmp_path):
    path = tmp_path / "slow.jsonl"
    agent = "{provider = 'echo', delay = 0.05, replies = {'one two three four five six', 'x'}}"
    recorder = SessionService(recording=RecordingSettings("record", str(path)))
    _, _, recorded_time = await run_script(recorder, agent)
    await recorder.aclose()
    _, _, at_speed_one = await run_script(
        SessionService(recording=RecordingSettings("replay", str(path), 1.0)), "{}"
    )
    _, _, as_fast = await run_script(
        SessionService(recording=RecordingSettings("replay", str(path), 0)), "{}"
    )
    assert at_speed_one > 0.8 * recorded_time * 0.9
    assert as_fast < at_speed_one / 3


async def test_a_message_the_recording_does_not_hold_fails_naming_session_and_message(tmp_path):
    path = tmp_path / "talk.jsonl"
    recorder = SessionService(recording=RecordingSettings("record", str(path)))
    sid, _, _ = await run_script(recorder, AGENT)
    await recorder.aclose()
    rt = Runtime(RecordingHost())
    install(rt, SessionService(recording=RecordingSettings("replay", str(path), 0)))
    task = await rt.run(
        rt.load(
            "local s = cru.sessions.create({}) return cru.sessions.send_message(s.id, 'Something else')", "=x"
        ),
        name="x",
    )
    await rt.aclose()
    ok, err = task.results
    assert ok is None
    err = err.decode()
    assert str(path) in err and sid in err and '"Something else"' in err
    assert '"What is Crucible?"' in err  # what it does hold


async def test_per_session_recording_options_and_auto_mode(tmp_path):
    path = tmp_path / "auto.jsonl"
    opts = f"{{provider = 'echo', delay = 0, recording_mode = 'auto', recording_path = '{path}', replies = {{'a', 'b'}}}}"
    recorder = SessionService()
    first_sid, first, _ = await run_script(recorder, opts)
    await recorder.aclose()
    assert path.exists()
    # auto again: the file exists now, so it replays (the replies in the options are not used)
    changed = opts.replace("replies = {'a', 'b'}", "replies = {'other', 'answers'}")
    replayer = SessionService()
    second_sid, second, _ = await run_script(replayer, changed)
    await replayer.aclose()
    assert (second_sid, second) == (first_sid, first)
    bad = "{recording_mode = 'record'}"
    rt = Runtime(RecordingHost())
    install(rt, SessionService())
    task = await rt.run(rt.load(f"return select(2, cru.sessions.create({bad}))", "=x"), name="x")
    await rt.aclose()
    assert task.results[0] == b"Invalid create options: recording_mode 'record' needs a recording_path"
