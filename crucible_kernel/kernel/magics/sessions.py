"""Magics for agent sessions: %sessions (listing, on/off, recordings, the daemon) and %%session.

The sessions layer is imported when a magic first runs: kernel start-up does not pay for it.
"""

from __future__ import annotations

import os
import shlex
from typing import TYPE_CHECKING, Any

from ...runtime import TaskState
from . import OK, Reply, cell_magic, line_magic
from . import print_text as _print

if TYPE_CHECKING:
    from ..kernel import CrucibleKernel
    from ..session_views import KernelSessions

USAGE = """\
%sessions                      list the sessions (id, state, agent, turns, tokens)
%sessions off | on             switch cru.sessions off (every call: "no daemon connected") or on
%sessions record FILE          record the sessions created from now on to FILE (JSON Lines)
%sessions replay FILE [SPEED]  replay them from FILE (SPEED: 1 as recorded, 0 as fast as possible)
%sessions auto FILE [SPEED]    replay when FILE exists, else record (as vcrpy cassettes do)
%sessions live                 neither record nor replay (the default)
%sessions connect PATH         create sessions in the Crucible daemon at socket PATH
%sessions disconnect           create sessions in the kernel again
%sessions provider NAME [KEY=VALUE ...]  the default agent (echo, openai, ollama, llamacpp, vllm)"""


def _sessions(kernel: CrucibleKernel) -> KernelSessions:
    kernel.runtime  # noqa: B018 (makes the Lua state, and with it the session service)
    assert kernel.sessions is not None
    return kernel.sessions


def _value(text: str) -> Any:
    """A KEY=VALUE value: a number when it reads as one, else the text."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


@line_magic("sessions", "%sessions [off|on|record|replay|auto|live|connect|provider ...]  agent sessions")
async def _sessions_magic(kernel: CrucibleKernel, args: str) -> Reply:
    from ...sessions import RecordingSettings, SessionError
    from ...sessions.config import agent_config

    sessions = _sessions(kernel)
    service = sessions.service
    try:
        words = shlex.split(args)
    except ValueError as exc:
        return kernel.report_error("UsageError", f"%sessions: {exc}")
    if not words or words == ["list"]:
        return await _list(kernel, sessions)
    command, rest = words[0], words[1:]
    try:
        if command in ("off", "on") and not rest:
            sessions.switch(command == "on")
            _print(
                kernel,
                "cru.sessions is "
                + ("on." if command == "on" else 'off: every call returns "no daemon connected".'),
            )
        elif command in ("record", "replay", "auto") and 1 <= len(rest) <= (1 if command == "record" else 2):
            speed = float(rest[1]) if len(rest) > 1 else service.recording.speed
            path = os.path.abspath(rest[0])
            if command == "replay" and not os.path.exists(path):
                return kernel.report_error("UsageError", f"%sessions replay: no recording at {path}")
            service.close_recordings()
            service.rewind()
            service.recording = RecordingSettings(command, path, speed)
            _print(
                kernel,
                f"Sessions created from now on: {command} {rest[0]}"
                + (f" (speed {speed:g})" if command != "record" else ""),
            )
        elif command == "live" and not rest:
            service.close_recordings()
            service.recording = RecordingSettings()
            _print(kernel, "Sessions created from now on are neither recorded nor replayed.")
        elif command == "connect" and len(rest) == 1:
            await service.connect(rest[0])
            _print(kernel, f"Connected to the Crucible daemon at {rest[0]}; new sessions are created there.")
        elif command == "disconnect" and not rest:
            await service.connect(None)
            _print(kernel, "Disconnected; new sessions are created in the kernel.")
        elif command == "provider" and rest:
            raw: dict[str, Any] = {"provider": rest[0]}
            for item in rest[1:]:
                key, sep, value = item.partition("=")
                if not sep:
                    return kernel.report_error(
                        "UsageError", f"%sessions provider: expected KEY=VALUE, got {item!r}"
                    )
                raw[key] = _value(value)
            service.default_agent = agent_config(raw, {})
            _print(
                kernel, f"Default agent: {service.default_agent['provider']}/{service.default_agent['model']}"
            )
        else:
            return kernel.report_error("UsageError", "usage:\n" + USAGE)
    except (SessionError, ValueError, OSError) as exc:
        return kernel.report_error("SessionError", f"%sessions {command}: {exc}")
    return dict(OK)


async def _list(kernel: CrucibleKernel, sessions: KernelSessions) -> Reply:
    from ...sessions import SessionError

    try:
        listed = await sessions.service.list()
    except SessionError as exc:
        return kernel.report_error("SessionError", str(exc))
    if not listed:
        _print(kernel, "No sessions." + ("" if sessions.enabled else " (cru.sessions is off)"))
        return dict(OK)
    rows = [("ID", "STATE", "AGENT", "TURNS", "TOKENS")]
    for s in listed:
        t = s.transcript
        rows.append((s.id, s.state, s.agent_label, str(len(t.turns)), str(t.tokens)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    _print(
        kernel,
        "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows),
    )
    return dict(OK)


@cell_magic(
    "session",
    "%%session [ID]      send the cell's text to session ID (or a new echo session), stream the reply",
)
async def _session_cell(kernel: CrucibleKernel, args: str, body: str) -> Reply:
    sessions = _sessions(kernel)
    if not sessions.enabled:
        return kernel.report_error("SessionError", "no daemon connected (cru.sessions is off: %sessions on)")
    words = args.split()
    if len(words) > 1:
        return kernel.report_error("UsageError", "usage: %%session [ID]  (the cell's text is the message)")
    message = body.strip("\n")
    if not message.strip():
        return kernel.report_error("UsageError", "%%session: the cell has no message to send")
    assert sessions.binding is not None
    rt = kernel.runtime
    name = f"cell[{kernel.execution_count}]"
    task = await rt.run(
        sessions.binding.session_cell(),
        words[0].encode() if words else None,
        message.encode(),
        name=name,
        kind="cell",
    )
    if task.state is TaskState.DONE:
        return dict(OK)
    if task.state is TaskState.FAILED and task.error is not None:
        return kernel.report_error("SessionError", task.error.message)
    return kernel.report_error("Interrupted", f"{name} was {task.stop or 'cancelled'}")
