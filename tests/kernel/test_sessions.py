"""Agent sessions in the kernel, through jupyter_client: live views, magics, interrupts."""

from __future__ import annotations

from .conftest import Kernel


def _views(run):
    return run.of_type("display_data"), run.of_type("update_display_data")


def test_a_streamed_turn_is_one_display_then_updates_in_place(kernel):
    run = kernel.execute(
        's = cru.sessions.create({provider = "echo", delay = 0.01})\n'
        'cru.sessions.send_message(s.id, "one two three four five six seven eight nine ten")\n'
        "cru.sessions.watch(s.id)"
    )
    assert run.content["status"] == "ok"
    displays, updates = _views(run)
    assert len(displays) == 1
    display_id = displays[0]["content"]["transient"]["display_id"]
    assert updates and all(u["content"]["transient"]["display_id"] == display_id for u in updates)
    final = updates[-1]["content"]["data"]
    assert "Echo: one two three four five six seven eight nine ten" in final["text/markdown"]
    assert "you: one two three" in final["text/plain"]
    assert "agent: Echo: one two" in final["text/plain"]
    assert "completion" in final["text/plain"]  # the token counts when the turn ends
    # coalesced: fewer updates than the 11 text deltas
    assert len(updates) < 11
    assert run.result == '"Echo: one two three four five six seven eight nine ten"'


def test_a_session_as_a_cells_value_shows_its_transcript(kernel):
    kernel.execute('s2 = cru.sessions.create({provider = "echo", delay = 0})')
    kernel.execute('cru.sessions.send_message(s2.id, "hello there") cru.sessions.watch(s2.id)')
    run = kernel.execute("s2")
    displays = run.of_type("display_data")
    assert run.of_type("execute_result") == []
    assert len(displays) == 1
    data = displays[0]["content"]["data"]
    assert "you: hello there" in data["text/plain"] and "Echo: hello there" in data["text/markdown"]
    assert "crucible_kernel/live_view" not in displays[0]["content"]["metadata"]


def test_a_displayed_session_grows_as_its_events_arrive(kernel):
    run = kernel.execute(
        's3 = cru.sessions.create({provider = "echo", delay = 0.005})\n'
        "display(s3)\n"
        'cru.sessions.send_message(s3.id, "a b c d e")\n'
        "cru.sessions.watch(s3.id);"
    )
    displays, updates = _views(run)
    first = displays[0]["content"]["transient"]["display_id"]
    mine = [u for u in updates if u["content"]["transient"]["display_id"] == first]
    assert mine and "Echo: a b c d e" in mine[-1]["content"]["data"]["text/plain"]


def test_session_cell_magic_streams_a_reply_from_a_new_echo_session(kernel):
    run = kernel.execute("%%session\nHow are you?")
    assert run.content["status"] == "ok", run.content
    displays, updates = _views(run)
    assert len(displays) == 1
    assert "Echo: How are you?" in (updates or displays)[-1]["content"]["data"]["text/plain"]


def test_sessions_magic_lists_id_state_agent_turns_tokens(kernel):
    kernel.execute('s4 = cru.sessions.create({provider = "echo", delay = 0}) print(s4.id)')
    kernel.execute('cru.sessions.send_message(s4.id, "x y") cru.sessions.watch(s4.id)')
    sid = kernel.execute("print(s4.id)").stream().strip()
    out = kernel.execute("%sessions").stream()
    assert out.splitlines()[0].split() == ["ID", "STATE", "AGENT", "TURNS", "TOKENS"]
    row = next(line for line in out.splitlines() if line.startswith(sid)).split()
    assert row == [sid, "active", "echo/echo", "1", "5"]  # 2 prompt + 3 completion tokens ("Echo: x y")


def test_sessions_off_makes_every_call_no_daemon_connected_and_on_restores(kernel):
    assert kernel.execute("%sessions off").content["status"] == "ok"
    assert kernel.execute("select(2, cru.sessions.list())").result == '"no daemon connected"'
    assert kernel.execute("select(2, cru.sessions.watch('x'))").result == '"no daemon connected"'
    assert kernel.execute("%sessions on").content["status"] == "ok"
    assert kernel.execute("type(cru.sessions.list())").result == '"table"'


def test_an_interrupt_cancels_the_turn_and_the_view_says_cancelled(fresh_kernel: Kernel):
    k = fresh_kernel
    k.execute('s = cru.sessions.create({provider = "echo", delay = 0.05})')
    msg_id = k.client.execute(
        'cru.sessions.send_message(s.id, string.rep("word ", 200)) cru.sessions.watch(s.id)'
    )
    while True:  # interrupt once the reply is streaming
        msg = k.client.get_iopub_msg(timeout=30)
        if msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "update_display_data":
            break
    k.manager.interrupt_kernel()
    run = k.collect(msg_id)
    assert run.content["status"] == "error"
    assert run.content["ename"] == "Interrupted"
    updates = run.of_type("update_display_data")
    assert updates and "cancelled" in updates[-1]["content"]["data"]["text/plain"]
    # the kernel is usable, and the session took the cancellation (it can take a new message)
    state = k.execute("cru.sessions.get(s.id).state").result
    assert state == '"active"'
    again = k.execute('cru.sessions.send_message(s.id, "again") return cru.sessions.watch(s.id)')
    assert again.result == '"Echo: again"'


def test_record_then_replay_through_the_magics_and_a_mismatch_names_session_and_message(
    fresh_kernel, tmp_path
):
    k = fresh_kernel
    recording = tmp_path / "nb.jsonl"
    assert k.execute(f"%sessions record {recording}").content["status"] == "ok"
    k.execute('r = cru.sessions.create({provider = "echo", delay = 0, replies = {"Recorded."}})')
    recorded = k.execute('cru.sessions.send_message(r.id, "hi") return cru.sessions.watch(r.id)').result
    assert k.execute(f"%sessions replay {recording} 0").content["status"] == "ok"
    k.execute('p = cru.sessions.create({provider = "echo", delay = 0, replies = {"Live."}})')
    replayed = k.execute('cru.sessions.send_message(p.id, "hi") return cru.sessions.watch(p.id)').result
    assert replayed == recorded == '"Recorded."'  # the recording answers, not the live agent
    k.execute('q = cru.sessions.create({provider = "echo"})')
    run = k.execute("%%session\nnot recorded")
    assert run.content["status"] == "error"
    evalue = run.content["evalue"]  # a session the recording does not have, with its message
    assert str(recording) in evalue and "has no session for chat-" in evalue and '"not recorded"' in evalue
    assert k.execute("%sessions live").content["status"] == "ok"
    assert k.execute("%sessions replay /no/such/file.jsonl").content["ename"] == "UsageError"


def test_sessions_provider_sets_the_default_agent(fresh_kernel):
    k = fresh_kernel
    run = k.execute("%sessions provider ollama model=llama3.2 timeout=5")
    assert run.stream().strip() == "Default agent: ollama/llama3.2"
    k.execute("d = cru.sessions.create({}) cru.sessions.configure_agent(d.id, {system_prompt = 'x'})")
    assert "ollama/llama3.2" in k.execute("%sessions").stream()
    assert k.execute("%sessions provider nope").content["ename"] == "SessionError"
    assert k.execute("%sessions frobnicate").content["ename"] == "UsageError"


def test_sessions_connect_creates_sessions_in_a_daemon(fresh_kernel, tmp_path):
    import asyncio
    import threading

    from tests.sessions.fake_daemon import FakeDaemon

    loop = asyncio.new_event_loop()
    daemon = FakeDaemon(str(tmp_path / "crucible.sock"))
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(daemon.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        k = fresh_kernel
        assert k.execute(f"%sessions connect {daemon.path}").content["status"] == "ok"
        k.execute(
            "r = cru.sessions.create({}) cru.sessions.configure_agent(r.id, "
            "{agent_type = 'internal', provider = 'ollama', model = 'llama3', system_prompt = ''})"
        )
        assert (
            k.execute('cru.sessions.send_message(r.id, "hi") return cru.sessions.watch(r.id)').result
            == '"daemon says: hi"'
        )
        assert "session.send_message" in [r["method"] for r in daemon.requests]
        assert k.execute("%sessions disconnect").content["status"] == "ok"
        assert k.execute("cru.sessions.create({provider = 'echo'}).id:sub(1, 5)").result == '"chat-"'
    finally:
        asyncio.run_coroutine_threadsafe(daemon.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def test_help_on_cru_sessions_and_the_magics_in_lsmagic(kernel):
    run = kernel.execute("?cru.sessions.subscribe")
    page = run.content["payload"][0]["data"]["text/plain"]
    assert "next_event" in page and "session_id" in page
    listing = kernel.execute("%lsmagic").stream()
    assert "%sessions" in listing and "%%session [ID]" in listing
