"""The widget of an agent session: its conversation as Markdown, kept current as it streams.

It follows the session's `Transcript` (sessions/transcript.py), the model every view of a
session listens to, as the Markdown live view does (kernel/session_views.py). The difference:
the live view updates its output with update_display_data, which a reloaded page never gets,
while this widget is an Output widget whose content lives in the kernel, so a reloaded page
fetches it and keeps receiving updates. A turn's end is written at once; streamed text is
coalesced to at most 10 updates a second.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

import ipywidgets

from ...sessions.events import TURN_END
from ...sessions.transcript import Transcript, markdown, plain
from .live import Live

if TYPE_CHECKING:
    from ...sessions import Session
    from .binding import WidgetBinding

__all__ = ["SessionWidget"]


class SessionWidget(Live):
    kind = "session"

    def __init__(self, binding: WidgetBinding, session: Session) -> None:
        super().__init__(binding)
        self.session: Session | None = session
        self.transcript: Transcript = session.transcript
        self.model = ipywidgets.Output(_view_count=0)
        self.model.outputs = (self._output(),)
        self.transcript.listeners.append(self._heard)

    def sync(self) -> None:
        self.model.outputs = (self._output(),)
        if self.transcript.ended:
            self._stop_following()

    def text(self) -> str:
        return plain(self.transcript)

    def get(self, key: str) -> Any:
        if key == "session":
            return self.transcript.session_id
        return None

    def detach(self) -> None:
        self._stop_following()
        super().detach()

    # Private methods

    def _output(self) -> dict[str, Any]:
        t = self.transcript
        return {
            "output_type": "display_data",
            "data": {"text/markdown": markdown(t), "text/plain": plain(t)},
            "metadata": {},
        }

    def _heard(self, transcript: Transcript, kind: str) -> None:
        if kind in TURN_END or transcript.ended:
            self._last = float("-inf")  # a turn's outcome goes out at once
        self.changed()

    def _stop_following(self) -> None:
        with contextlib.suppress(ValueError):
            self.transcript.listeners.remove(self._heard)
        self.session = None
