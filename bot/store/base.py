"""The one interface every state backend implements (:class:`StateStore`), and the proposal codec."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, cast
from zoneinfo import ZoneInfo

from bot.store.feedback import FeedbackStore
from bot.store.notify import NotifyStore
from bot.store.proposals import PendingProposal, ProposalStore, State
from bot.store.thread_memory import ThreadMemory
from bot.tools.audit import AuditEntry
from bot.tools.base import Asker, Operation, OperationKind, Proposal, TargetOutcome

DEDUPE_TTL_S = 900.0
"""Slack retries a delivery up to 3 times over about 5 minutes; 15 minutes covers it with room."""
AUDIT_MAX_ROWS = 100_000
DEDUPE_MAX_KEYS = 200_000
OPERATION_BOUND_S = 2.0
"""The longest a store operation waits for a locked or slow store before raising :class:`StateUnavailable`."""
DEDUPE_BOUND_S = 0.4
"""The bound of ``first_seen`` on the Events ack path (Slack retries a delivery not acked within 3 s)."""
HEALTH_BOUND_S = 1.0
"""The bound of :meth:`StateStore.health` (``/healthz`` must answer even when the store does not)."""
MAX_LEASE_KEY = 200
"""The longest ``lease`` key or owner (they become store keys)."""


def check_lease(key: str, owner: str, ttl_s: float) -> None:
    """``lease``'s arguments, the same for every backend."""
    if not key or not owner or len(key) > MAX_LEASE_KEY or len(owner) > MAX_LEASE_KEY or ttl_s < 0:
        raise ValueError("a lease needs a key and an owner of at most 200 characters and a TTL of 0 or more")


class StateUnavailable(Exception):
    """The store could not serve an operation within its bound: locked by another process, unreachable,
    or a damaged file. Nothing was changed by the failed operation; the caller can say "try again".
    The message names the store (kind and file), never its contents or a URL."""


@dataclass(frozen=True, slots=True)
class StateHealth:
    """The answer of :meth:`StateStore.health`: what ``/healthz`` and ``alex doctor`` report."""

    ok: bool
    detail: str
    """e.g. ``sqlite alex-state.sqlite3: ok``, ``sqlite alex-state.sqlite3: not a SQLite database…``."""


class StateStore(Protocol):
    """Shared state of one deployment (every replica pointing at the same store sees the same state).

    * ``first_seen(key, ttl_s)``: True the first time ``key`` is seen within ``ttl_s`` (event dedupe);
    * ``hit(key, limit, window_s)``: count one use of ``key``; False when that exceeds ``limit`` uses in
      the current window (rate limits);
    * ``record(entry)`` / ``recent(limit)``: the audit log (newest first), bounded;
    * ``proposals``: a :class:`~bot.store.proposals.ProposalStore` (atomic claim across replicas);
    * ``memory``: a :class:`~bot.store.thread_memory.ThreadMemory` (bounded per thread, expiring);
    * ``feedback``: a :class:`~bot.store.feedback.FeedbackStore` (model answers and the votes on them,
      bounded and expiring);
    * ``notify``: a :class:`~bot.store.notify.NotifyStore` (incident cards posted by notifications, the
      channels' notification routes; bounded and expiring);
    * ``lease(key, owner, ttl_s)``: hold ``key`` for ``ttl_s`` as ``owner``; True when it was free, expired
      or already ``owner``'s (renewed), False while another owner holds it; ``ttl_s`` 0 gives it up
      (the scheduled posts' one scheduler across replicas, and their "posted" marks);
    * ``health()``: whether the store answers (``/healthz``, ``alex doctor``, start-up).

    Operations wait at most :data:`OPERATION_BOUND_S` (``first_seen``: :data:`DEDUPE_BOUND_S`) for a
    locked or unreachable store, then raise :class:`StateUnavailable`.
    """

    kind: str
    """``sqlite``, ``redis`` or ``memory``."""

    @property
    def proposals(self) -> ProposalStore: ...

    @property
    def memory(self) -> ThreadMemory: ...

    @property
    def feedback(self) -> FeedbackStore: ...

    @property
    def notify(self) -> NotifyStore: ...

    async def first_seen(self, key: str, ttl_s: float = DEDUPE_TTL_S) -> bool: ...

    async def hit(self, key: str, limit: int, window_s: float) -> bool: ...

    async def lease(self, key: str, owner: str, ttl_s: float) -> bool: ...

    async def record(self, entry: AuditEntry) -> None: ...

    async def recent(self, limit: int = 50) -> list[AuditEntry]: ...

    async def health(self, *, thorough: bool = False) -> StateHealth:
        """A cheap probe within :data:`HEALTH_BOUND_S` (``thorough``: also check the data's integrity, for
        start-up). Never raises: a store that fails is ``StateHealth(ok=False, detail=why)``."""
        ...

    async def aclose(self) -> None: ...


ClaimTo = Literal["confirmed", "cancelled"]


@dataclass(frozen=True, slots=True)
class StoredFields:
    """The mutable part of a stored proposal (kept in columns / hash fields so a claim can compare-and-set)."""

    state: str
    created_at: float
    expires_at: float
    handled_by: str | None


def encode_pending(pending: PendingProposal) -> str:
    """The immutable part of a pending proposal as JSON (state and times are stored beside it)."""
    p = pending.proposal
    return json.dumps({
        "proposal": {"action": p.action, "summary": p.summary, "lines": list(p.lines),
                     "operations": [{"method": o.method, "path": o.path, "body": o.body, "kind": o.kind}
                                    for o in p.operations],
                     "noops": list(p.noops), "incident_ids": list(p.incident_ids),
                     "skipped": [dataclasses.asdict(t) for t in p.skipped],
                     "target_label": p.target_label, "resolution_note": p.resolution_note},
        "asker_slack_id": pending.asker_slack_id, "channel": pending.channel, "thread_ts": pending.thread_ts,
        "asker_name": pending.asker_name, "tool": pending.tool, "arguments": pending.arguments,
        "asker": _encode_asker(pending.asker),
        "prepared_at": pending.prepared_at.isoformat() if pending.prepared_at is not None else None,
    }, ensure_ascii=False, separators=(",", ":"))


def _encode_asker(asker: Asker | None) -> dict[str, Any] | None:
    if asker is None:
        return None
    return {"user_id": asker.user_id, "email": asker.email, "name": asker.name, "time_zone": asker.time_zone.key,
            "role": asker.role}


def _decode_asker(raw: Any) -> Asker | None:
    if not isinstance(raw, dict):
        return None
    return Asker(raw.get("user_id"), raw.get("email"), str(raw.get("name") or ""), ZoneInfo(raw["time_zone"]),
                 raw.get("role"))


def decode_pending(data: str, fields: StoredFields) -> PendingProposal:
    raw: dict[str, Any] = json.loads(data)
    p = raw["proposal"]
    proposal = Proposal(p["action"], p["summary"], tuple(p["lines"]),
                        tuple(Operation(o["method"], o["path"], o.get("body"), kind=o.get("kind") or _old_kind(o))
                              for o in p["operations"]),
                        tuple(p.get("noops") or ()), tuple(p.get("incident_ids") or ()),
                        tuple(TargetOutcome(**t) for t in p.get("skipped") or ()),
                        target_label=p.get("target_label"), resolution_note=p.get("resolution_note"))
    state = cast(State, fields.state if fields.state in ("pending", "confirmed", "cancelled", "expired") else "expired")
    return PendingProposal(proposal, raw["asker_slack_id"], raw["channel"], raw["thread_ts"],
                           asker_name=raw.get("asker_name") or "the person who asked", tool=raw.get("tool"),
                           arguments=raw.get("arguments"), asker=_decode_asker(raw.get("asker")),
                           prepared_at=datetime.fromisoformat(raw["prepared_at"]) if raw.get("prepared_at") else None,
                           created_at=fields.created_at,
                           expires_at=fields.expires_at, state=state,
                           handled_by=fields.handled_by)


def _old_kind(operation: dict[str, Any]) -> OperationKind:
    """The kind of an operation stored before operations carried one.

    Rows written by an older alex (still pending after an upgrade) have no ``kind``; the path is the
    only record of what they do, so it is read once here and nowhere else.
    """
    method, path = operation.get("method"), str(operation.get("path") or "")
    if path == "/incidents":
        return "bulk_status" if method == "PUT" else "create_incident"
    if "/overrides" in path:
        return "override_create" if method == "POST" else "override_delete"
    for suffix, kind in (("/notes", "note"), ("/status_updates", "status_update"), ("/snooze", "snooze")):
        if path.endswith(suffix):
            return cast(OperationKind, kind)
    return "reassign"
