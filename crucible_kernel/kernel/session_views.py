"""Sessions in the notebook: the kernel's session service and live views of sessions.

A live view is one output (display_data with a display id) kept current with
`update_display_data` as the session's transcript changes, coalesced to at most UPDATES_PER_S
updates a second (the first change after a quiet spell goes out at once), with a final update
when the turn or the session ends. Its data is Markdown plus the plain-text transcript, so
nbconvert and terminals show the conversation.

A view follows the session's `Transcript` (sessions/transcript.py), not its own subscription:
whatever shows a session (this view, a widget later) listens to the same model.

`display(session)` and a session as a cell's value reach the kernel as a bundle whose metadata
carries LIVE_KEY; the kernel host publishes it with a display id and binds the waiting view to
that id (`KernelSessions.bind`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import time
import uuid
from typing import TYPE_CHECKING, Any

from ..sessions import Binding, SessionService, Views, install
from ..sessions.events import TURN_END
from ..sessions.transcript import Transcript, Turn, markdown, plain
from ..sessions.views import wait_turn

if TYPE_CHECKING:
    from ..runtime import Runtime
    from ..sessions import Session
    from .kernel import CrucibleKernel

__all__ = ["LIVE_KEY", "UPDATES_PER_S", "KernelSessions", "LiveView", "LiveViews"]

LIVE_KEY = "crucible_kernel/live_view"  # metadata key of a bundle that wants a live view
UPDATES_PER_S = 30
INTERVAL = 1.0 / UPDATES_PER_S
UNBOUND_KEPT = 64  # views made for a bundle that was never published are forgotten after this many


class LiveView:
    """One output showing a session (from turn `first_turn` on), updated in place."""

    def __init__(
        self, kernel: CrucibleKernel, session: Session, first_turn: int = 0, turn: Turn | None = None
    ) -> None:
        self.kernel = kernel
        self.session = session
        self.first_turn = first_turn
        self.turn = turn
        """The one turn this view follows (it stops after it); None: the whole session."""
        self.display_id: str | None = None
        self.parent: dict[str, Any] | None = None
        self.updates = 0
        self.closed = False
        self._last = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._dirty = False

    def data(self) -> dict[str, Any]:
        t = self.session.transcript
        return {"text/markdown": markdown(t, self.first_turn), "text/plain": plain(t, self.first_turn)}

    def bind(self, display_id: str, parent: dict[str, Any] | None) -> None:
        """Start following the session; the view's output is `display_id`, parented to `parent`."""
        self.display_id, self.parent = display_id, parent
        self._last = float("-inf")  # the first change goes out at once
        self.session.transcript.listeners.append(self._changed)
        if self._over():
            self.close()

    def _over(self) -> bool:
        t = self.session.transcript
        return t.ended or (self.turn is not None and self.turn.finished)

    def _changed(self, transcript: Transcript, kind: str) -> None:
        if self.closed:
            return
        self._dirty = True
        if self._over():
            self.close()  # the final update, at once
            return
        if kind in TURN_END:  # a turn's outcome goes out at once too
            self.flush()
            return
        if self._timer is not None:
            return
        wait = self._last + INTERVAL - time.monotonic()
        if wait <= 0:
            self.flush()
        else:
            self._timer = asyncio.get_running_loop().call_later(wait, self.flush)

    def flush(self) -> None:
        """Publish the current state now (if it changed)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._dirty or self.display_id is None:
            return
        self._dirty = False
        self._last = time.monotonic()
        self.updates += 1
        content = {"data": self.data(), "metadata": {}, "transient": {"display_id": self.display_id}}
        self.kernel.host.publish("update_display_data", content, self.parent)

    def close(self) -> None:
        """Send the last update and stop following."""
        if self.closed:
            return
        self.flush()
        self.closed = True
        with contextlib.suppress(ValueError):
            self.session.transcript.listeners.remove(self._changed)


class LiveViews(Views):
    """The kernel's views: Markdown outputs updated in place."""

    def __init__(self, kernel: CrucibleKernel) -> None:
        super().__init__(kernel.host)
        self.kernel = kernel
        self._unbound: collections.OrderedDict[str, LiveView] = collections.OrderedDict()

    def bundle(self, session: Session) -> tuple[dict[str, Any], dict[str, Any]]:
        view = LiveView(self.kernel, session)
        token = uuid.uuid4().hex
        self._unbound[token] = view
        while len(self._unbound) > UNBOUND_KEPT:
            self._unbound.popitem(last=False)
        return view.data(), {LIVE_KEY: token}

    def bind(self, token: Any, display_id: str, parent: dict[str, Any] | None) -> None:
        view = self._unbound.pop(str(token), None)
        if view is not None:
            view.bind(display_id, parent)

    async def watch(self, session: Session, turn: Turn) -> None:
        view = LiveView(self.kernel, session, turn.index, turn)
        display_id = uuid.uuid4().hex
        parent = self.kernel.get_parent("shell")
        self.kernel.host.display(view.data(), {}, display_id)
        view.bind(display_id, parent)
        # On an interrupt the view stays bound: the turn's cancellation ("cancelled") is its
        # last update, and it closes itself then.
        await wait_turn(session.transcript, turn)
        view.close()


class KernelSessions:
    """The kernel's session service, its views, and the binding of the current Lua state."""

    def __init__(self, kernel: CrucibleKernel) -> None:
        self.kernel = kernel
        self.service = SessionService(socket_path=os.environ.get("CRUCIBLE_SOCKET") or None)
        self.views = LiveViews(kernel)
        self.binding: Binding | None = None
        self.enabled = True

    def attach(self, rt: Runtime) -> None:
        """Give a new Lua state cru.sessions (off if sessions are switched off)."""
        self.binding = install(rt, self.service, self.views)
        if not self.enabled:
            self.binding.disable()

    def switch(self, on: bool) -> None:
        self.enabled = on
        if self.binding is not None:
            (self.binding.enable if on else self.binding.disable)()

    async def aclose(self) -> None:
        await self.service.aclose()

    @staticmethod
    def wants_live_view(metadata: dict[str, Any] | None) -> bool:
        return bool(metadata) and LIVE_KEY in metadata  # type: ignore[operator]

    @staticmethod
    def live_token(metadata: dict[str, Any] | None) -> tuple[Any, dict[str, Any] | None]:
        """(token, metadata without it) when a bundle asks for a live view, else (None, metadata)."""
        if not metadata or LIVE_KEY not in metadata:
            return None, metadata
        return metadata[LIVE_KEY], {k: v for k, v in metadata.items() if k != LIVE_KEY}
