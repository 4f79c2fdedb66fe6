"""The transcript behind every view: events reduced to turns, rendered as Markdown and text."""

from __future__ import annotations

from crucible_kernel.sessions.transcript import Transcript, markdown, plain


def feed(t: Transcript, events: list[tuple[str, dict]]) -> None:
    for kind, data in events:
        t.apply(kind, data)


TURN = [
    ("user_message", {"message_id": "m1", "content": "List my files"}),
    ("thinking", {"content": "I should use the shell."}),
    ("text_delta", {"content": "Let me "}),
    ("text_delta", {"content": "look. "}),
    ("tool_call", {"call_id": "c1", "tool": "search", "args": {"q": "files"}}),
    ("tool_result", {"call_id": "c1", "tool": "search", "result": {"result": ["a.md"]}}),
    (
        "interaction_requested",
        {"request_id": "p1", "request": {"kind": "permission", "tool": "shell", "description": "run ls"}},
    ),
]


def test_a_turn_shows_thinking_text_tools_and_a_waiting_permission_as_they_happen():
    t = Transcript("chat-1")
    feed(t, TURN)
    md, text = markdown(t), plain(t)
    assert "> **you:** List my files" in md
    assert "*thinking:* I should use the shell." in md
    assert "Let me look. " in md
    assert '**tool call** `search` `{"q":"files"}`' in md
    assert '**tool result** `search` `{"result":["a.md"]}`' in md
    assert "**permission requested** `shell` run ls (waiting for an answer)" in md
    assert md.endswith("*...*")  # still running
    assert text.splitlines() == [
        "session chat-1",
        "you: List my files",
        "thinking: I should use the shell.",
        "agent: Let me look. ",
        'tool call: search {"q":"files"}',
        'tool result: search {"result":["a.md"]}',
        "permission: shell run ls (waiting)",
        "...",
    ]


def test_the_answer_the_tokens_and_the_ends_of_turns():
    t = Transcript("chat-1")
    feed(t, TURN)
    feed(
        t,
        [
            ("interaction_completed", {"request_id": "p1", "response": {"allowed": False}}),
            (
                "message_complete",
                {
                    "message_id": "m1",
                    "full_response": "x",
                    "prompt_tokens": 3,
                    "completion_tokens": 4,
                    "total_tokens": 7,
                },
            ),
            ("user_message", {"message_id": "m2", "content": "again"}),
            ("ended", {"reason": "cancelled"}),
            ("user_message", {"message_id": "m3", "content": "once more"}),
            ("error", {"message": "boom"}),
            ("ended", {"reason": "error: boom"}),
        ],
    )
    assert [turn.status for turn in t.turns] == ["done", "cancelled", "failed"]
    text = plain(t)
    assert "permission: shell run ls (denied)" in text
    assert "[3 prompt + 4 completion = 7 tokens]" in text
    assert "[cancelled]" in text and "[failed: boom]" in text
    assert t.tokens == 7
    assert "**failed: boom**" in markdown(t, first_turn=2)
    assert "List my files" not in markdown(t, first_turn=1)


def test_a_long_stream_is_kept_as_one_string():
    t = Transcript("chat-1")
    t.apply("user_message", {"content": "go"})
    for _ in range(5000):
        t.apply("text_delta", {"content": "w "})
    block = t.turns[0].blocks[0]
    assert len(block.parts) < 600
    assert t.turns[0].response == "w " * 5000
