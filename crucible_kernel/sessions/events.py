"""Session events and the subscriptions that carry them.

An event is a plain tuple `(type, data)`: the reference's event name ("text_delta", ...) and its
payload dict. Tuples are the cheapest thing Python builds, and a turn may stream tens of
thousands of them. Subscriptions hold the session id, so events need not.

A `Subscription` is a buffer that one reader drains: `push` appends (never blocks the agent), a
reader takes buffered events without waiting, and waits only when the buffer is empty. The
publisher keeps only weak references to its subscriptions, so a subscription nobody holds any
more (a collected `next_event` closure) stops costing anything.
"""

from __future__ import annotations

import asyncio
import collections
import weakref
from typing import Any

__all__ = [
    "BUFFER_LIMIT",
    "TURN_END",
    "Event",
    "Fanout",
    "Subscription",
]

Event = tuple[str, dict[str, Any]]

# Events after which a turn is over (send_and_collect and watch stop there; reference names
# included for daemons that send them).
TURN_END = frozenset({"message_complete", "response_complete", "response_done", "ended"})

BUFFER_LIMIT = 50_000
"""Events a subscription keeps for a reader that does not read; older ones are dropped and the
reader gets a `stream_gap {dropped}` event, as a lagging daemon connection does."""


class Subscription:
    """Events of one session for one reader, in order."""

    __slots__ = ("__weakref__", "buffer", "closed", "dropped", "session_id", "waiter")

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.buffer: collections.deque[Event] = collections.deque()
        self.waiter: asyncio.Future[None] | None = None
        self.closed = False
        self.dropped = 0

    def __repr__(self) -> str:
        return f"<Subscription {self.session_id} {len(self.buffer)} buffered>"

    def push(self, event: Event) -> None:
        buffer = self.buffer
        if len(buffer) >= BUFFER_LIMIT:
            buffer.popleft()
            self.dropped += 1
        buffer.append(event)
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def close(self) -> None:
        """No more events: a reader gets what is buffered, then the end."""
        self.closed = True
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def take(self) -> Event | None:
        """The next buffered event, or None when there is none (now)."""
        if self.dropped:
            dropped, self.dropped = self.dropped, 0
            return ("stream_gap", {"dropped": dropped})
        buffer = self.buffer
        return buffer.popleft() if buffer else None

    def wait(self) -> asyncio.Future[None]:
        """A future that completes when an event arrives or the subscription closes."""
        waiter = self.waiter
        if waiter is None or waiter.done():  # a wait that was cancelled leaves a done future
            waiter = self.waiter = asyncio.get_running_loop().create_future()
            if self.buffer or self.closed:
                waiter.set_result(None)
        return waiter

    async def next(self, timeout: float | None = None) -> Event | None:
        """The next event; None when the subscription has ended (or `timeout` passed)."""
        while True:
            event = self.take()
            if event is not None:
                return event
            if self.closed:
                return None
            if timeout is None:
                await self.wait()
            else:
                try:
                    await asyncio.wait_for(asyncio.shield(self.wait()), timeout)
                except TimeoutError:
                    return None


class Fanout:
    """The subscriptions of one session, held weakly; `publish` pushes to each."""

    __slots__ = ("_refs",)

    def __init__(self) -> None:
        self._refs: tuple[weakref.ref[Subscription], ...] = ()

    def add(self, sub: Subscription) -> None:
        self._refs = (*self._refs, weakref.ref(sub, self._gone))

    def _gone(self, ref: weakref.ref[Subscription]) -> None:
        self._refs = tuple(r for r in self._refs if r is not ref)

    def publish(self, event: Event) -> None:
        for ref in self._refs:  # a tuple: a collection during the loop cannot disturb it
            sub = ref()
            if sub is not None:
                sub.push(event)

    def close(self) -> None:
        for ref in self._refs:
            sub = ref()
            if sub is not None:
                sub.close()
        self._refs = ()

    def __len__(self) -> int:
        return sum(1 for r in self._refs if r() is not None)
