"""How a session shows itself to whoever runs the Lua: the base, for terminals.

The binding asks its `Views` for two things: the bundle of `display(session)` (a session as a
value), and `watch(session, turn)`, which follows one turn as it streams and returns when the
turn is over. This base writes plain text to the runtime's host (what `crucible-kernel run`
shows); the kernel's views (kernel/session_views.py) render Markdown updated in place.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from .transcript import Transcript, Turn, brief, markdown, plain

if TYPE_CHECKING:
    from ..runtime import Host
    from .session import Session

__all__ = ["TextFollower", "Views", "wait_turn"]


async def wait_turn(transcript: Transcript, turn: Turn) -> None:
    """Return once `turn` has finished (or the session ended)."""
    if turn.finished or transcript.ended:
        return
    done = asyncio.get_running_loop().create_future()

    def listener(t: Transcript, kind: str) -> None:
        if (turn.finished or t.ended) and not done.done():
            done.set_result(None)

    transcript.listeners.append(listener)
    try:
        await done
    finally:
        transcript.listeners.remove(listener)


class Views:
    """Plain text on the host: for the command line and any host without rich display."""

    def __init__(self, host: Host) -> None:
        self.host = host

    def bundle(self, session: Session) -> tuple[dict[str, Any], dict[str, Any]]:
        """What display(session) shows: the transcript, as Markdown and plain text."""
        t = session.transcript
        return {"text/markdown": markdown(t), "text/plain": plain(t)}, {}

    async def watch(self, session: Session, turn: Turn) -> None:
        """Follow `turn` until it ends, writing its text as it arrives."""
        follower = TextFollower(turn, lambda text: self.host.write("stdout", text.encode()))
        transcript = session.transcript

        def listener(t: Transcript, kind: str) -> None:
            follower.update()
            if turn.finished or t.ended:  # after an interrupt too: the turn's end is written
                transcript.listeners.remove(listener)

        follower.update()
        transcript.listeners.append(listener)
        await wait_turn(transcript, turn)
        if listener in transcript.listeners:
            transcript.listeners.remove(listener)
            follower.update()


class TextFollower:
    """Writes what a turn adds, as it adds it: streamed text as it comes, other blocks as lines."""

    def __init__(self, turn: Turn, write: Any) -> None:
        self.turn = turn
        self.write = write
        self.block = 0  # the block being written
        self.written = 0  # characters of it already written
        self.finished = False

    def update(self) -> None:
        turn, out = self.turn, []
        blocks = turn.blocks
        while self.block < len(blocks):
            block = blocks[self.block]
            last = self.block == len(blocks) - 1
            if block.kind == "text":
                text = block.text
                out.append(text[self.written :])
                self.written = len(text)
                if last and not turn.finished:
                    break
                out.append("\n")
            elif block.kind == "thinking":
                if last and not turn.finished:
                    break
                out.append(f"[thinking] {block.text}\n")
            elif block.kind == "tool_call":
                out.append(f"[tool call] {block.info.get('tool')} {brief(block.info.get('args'))}\n")
            elif block.kind == "tool_result":
                out.append(f"[tool result] {block.info.get('tool')} {brief(block.info.get('result'))}\n")
            elif block.kind == "permission":
                if block.info.get("answer") is None and (not last or not turn.finished):
                    break
                out.append(
                    f"[permission] {block.info.get('tool')}: {block.info.get('answer') or 'unanswered'}\n"
                )
            self.block += 1
            self.written = 0
        if turn.finished and not self.finished and self.block >= len(blocks):
            self.finished = True
            if turn.status == "cancelled":
                out.append("[cancelled]\n")
            elif turn.status == "failed":
                out.append(f"[failed: {turn.error}]\n")
        if out:
            self.write("".join(out))
