"""cru.context (lua/context.lua): the conversation context of sessions.

Without a Crucible daemon, `usage`, `compact`, `messages` and `remove` answer
(nil, "no daemon connected"). Three parts work without one:

- `estimate_tokens(text)`: ceil(bytes / 4), pure;
- `attach(session_id, content, opts)`: queues text for a session's next model call, within a
  budget of 2,000 characters per session and once per `opts.key`; the session service takes
  the queue with `of(rt).attachments.drain(session_id)`;
- `register_validator(name, fn)`: output validators by name (`validators.run(name, text)`),
  owner-tagged like every registration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .convert import Multi, text
from .owners import owner_of, registrations
from .tasks import TaskState

if TYPE_CHECKING:
    from .engine import Runtime

__all__ = ["ATTACH_BUDGET", "Attachments", "ContextState", "Validators", "install", "of"]

ATTACH_BUDGET = 2000  # characters per session, as in the reference


@dataclass
class _Session:
    pending: list[str] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)
    used: int = 0


class Attachments:
    """Text attached to sessions, waiting for their next model call."""

    def __init__(self, budget: int = ATTACH_BUDGET) -> None:
        self.budget = budget
        self.sessions: dict[str, _Session] = {}

    def attach(self, session: str, content: str, key: str | None = None) -> str | None:
        """Queue `content`; None when it was, else why not (the reference's reasons)."""
        if not content.strip():
            return "empty content"
        entry = self.sessions.setdefault(session, _Session())
        if key is not None and key in entry.keys:
            return "duplicate key; already attached this session"
        cost = len(content)
        if entry.used + cost > self.budget:
            return f"attach budget exhausted ({entry.used}/{self.budget} chars)"
        if key is not None:
            entry.keys.add(key)
        entry.used += cost
        entry.pending.append(content)
        return None

    def drain(self, session: str) -> list[str]:
        """Take the texts waiting for `session` (its budget and keys stay spent)."""
        entry = self.sessions.get(session)
        if entry is None:
            return []
        pending, entry.pending = entry.pending, []
        return pending

    def release(self, session: str) -> None:
        """Forget `session` (it ended)."""
        self.sessions.pop(session, None)


@dataclass(eq=False)
class _Validator:
    fn: Any = field(repr=False)
    owner: str | None


class Validators:
    """Output validators registered with cru.context.register_validator, by name."""

    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self.validators: dict[str, _Validator] = {}

    async def run(self, name: str, output: str) -> str | None:
        """Check `output` with validator `name`: None if it passes, else why not."""
        validator = self.validators.get(name)
        if validator is None:
            return f"lua validator '{name}' not registered"
        task = self._rt.start(validator.fn, output, name=f"validator {name}", kind="validator")
        await task.wait()
        if task.state is not TaskState.DONE:
            return f"lua validator '{name}' failed: {task.message}"
        ok = task.results[0] if task.results else None
        if ok is True:
            return None
        if not isinstance(ok, bool):
            kind = "nil" if ok is None else type(ok).__name__
            return f"lua validator '{name}' returned non-boolean first value: {kind}"
        reason = task.results[1] if len(task.results) > 1 else None
        return text(reason) if isinstance(reason, bytes) else f"lua validator '{name}' returned false"

    def unregister_owner(self, owner: str | None) -> int:
        doomed = [name for name, v in self.validators.items() if v.owner == owner]
        for name in doomed:
            del self.validators[name]
        return len(doomed)

    def count_owner(self, owner: str | None) -> int:
        return sum(1 for v in self.validators.values() if v.owner == owner)


@dataclass
class ContextState:
    attachments: Attachments
    validators: Validators


def of(rt: Runtime) -> ContextState:
    return registrations(rt).get("context", ContextState)


def install(rt: Runtime) -> None:
    state = ContextState(Attachments(), Validators(rt))
    registrations(rt).add("context", state, owned=False)
    registrations(rt).add("validators", state.validators)

    def attach(session: bytes, content: bytes, key: bytes | None) -> Multi:
        why = state.attachments.attach(text(session), text(content), None if key is None else text(key))
        return Multi(True, None) if why is None else Multi(False, why.encode())

    def register_validator(name: bytes, fn: Any, owner: Any) -> None:
        state.validators.validators[text(name)] = _Validator(rt.keep(fn), owner_of(owner))

    rt.register(
        "context", rt.lua_module("context", {"attach": attach, "register_validator": register_validator})
    )
