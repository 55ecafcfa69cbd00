"""The audit log's entry: one per write attempt (who asked, who confirmed, what, when, PagerDuty's answer).

An entry carries no token and no secret: Slack user ids, the PagerDuty identity the write ran as (name
and e-mail), the action, its targets, the operations (method, path, a bounded copy of the body), the
status PagerDuty answered per request and the outcome.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

AuditOutcome = Literal["started", "ok", "failed", "maybe_applied", "refused"]
"""``refused``: alex turned the attempt down before any PagerDuty write (role, read-only, wrong clicker).
``started``: recorded before the first PagerDuty write of an attempt (no write runs unless this entry is
written); the entry with the same ``attempt_id`` and another outcome says how it ended. A ``started``
entry with no outcome entry is a write that may or may not have happened (alex stopped mid-way)."""
BODY_CHARS = 1_000
"""An operation's body is kept up to this many characters of JSON (notes can be long)."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One write attempt, successful or not."""

    action: str
    """The write tool (``resolve_incidents``, ``create_override``…)."""
    summary: str
    outcome: AuditOutcome
    detail: str = ""
    """What the person was told (the outcome's summary)."""
    targets: tuple[str, ...] = ()
    """Incident ids, or the paths written to when the proposal names no incidents."""
    operations: tuple[dict[str, Any], ...] = ()
    """``{"method", "path", "body"}`` for each prepared PagerDuty write (body: bounded JSON text)."""
    pd_status: tuple[str, ...] = ()
    """PagerDuty's answer per write request sent, in order: ``"2xx"``, ``"409"``, ``"no response"``…;
    empty when nothing was sent (refused before any request, or nothing to do)."""
    requested_by: str | None = None
    """Who asked (a Slack user id; the actor when they typed the command themselves)."""
    confirmed_by: str | None = None
    """Who clicked Confirm or typed the command (a Slack user id)."""
    actor_name: str | None = None
    actor_email: str | None = None
    """The PagerDuty identity the write ran as (``From``)."""
    via: str | None = None
    """``button`` (a proposal's Confirm), ``incident_card`` (Ack/Resolve on a card), ``command``, ``cli``."""
    channel: str | None = None
    thread_ts: str | None = None
    at: float = field(default_factory=time.time)
    """Epoch seconds."""
    attempt_id: str | None = None
    """Links an attempt's ``started`` entry to its outcome entry."""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuditEntry:
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        for name in ("targets", "operations", "pd_status"):
            known[name] = tuple(known.get(name) or ())
        return cls(**known)

    @classmethod
    def from_json(cls, text: str) -> AuditEntry:
        return cls.from_dict(json.loads(text))


def operation_record(method: str, path: str, body: Any) -> dict[str, Any]:
    """An operation as the audit log keeps it (the body cut to :data:`BODY_CHARS`)."""
    text = None if body is None else json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=str)
    if text is not None and len(text) > BODY_CHARS:
        text = text[: BODY_CHARS - 1] + "…"
    return {"method": method, "path": path, "body": text}


class AuditSink(Protocol):
    """Where audit entries go (every :class:`~bot.store.base.StateStore` is one)."""

    async def record(self, entry: AuditEntry) -> None: ...


@runtime_checkable
class KeepingSink(AuditSink, Protocol):
    """A sink that can also keep an entry durably when the store cannot take it now (to record later)."""

    async def keep(self, entry: AuditEntry) -> None:
        """Record ``entry``, or keep it to record later; raises only when neither worked."""
        ...
