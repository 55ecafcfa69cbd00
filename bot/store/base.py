"""The one interface every state backend implements (:class:`StateStore`), and the proposal codec."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast

from bot.agent.memory import ThreadMemory
from bot.slack.proposals_store import PendingProposal, ProposalStore, State
from bot.store.audit import AuditEntry
from bot.tools.base import Operation, Proposal

DEDUPE_TTL_S = 900.0
"""Slack retries a delivery up to 3 times over about 5 minutes; 15 minutes covers it with room."""
AUDIT_MAX_ROWS = 100_000
DEDUPE_MAX_KEYS = 200_000


class StateStore(Protocol):
    """Shared state of one deployment (every replica pointing at the same store sees the same state).

    * ``first_seen(key, ttl_s)``: True the first time ``key`` is seen within ``ttl_s`` (event dedupe);
    * ``hit(key, limit, window_s)``: count one use of ``key``; False when that exceeds ``limit`` uses in
      the current window (rate limits);
    * ``record(entry)`` / ``recent(limit)``: the audit log (newest first), bounded;
    * ``proposals``: a :class:`~bot.slack.proposals_store.ProposalStore` (atomic claim across replicas);
    * ``memory``: a :class:`~bot.agent.memory.ThreadMemory` (bounded per thread, expiring).
    """

    kind: str
    """``sqlite``, ``redis`` or ``memory``."""

    @property
    def proposals(self) -> ProposalStore: ...

    @property
    def memory(self) -> ThreadMemory: ...

    async def first_seen(self, key: str, ttl_s: float = DEDUPE_TTL_S) -> bool: ...

    async def hit(self, key: str, limit: int, window_s: float) -> bool: ...

    async def record(self, entry: AuditEntry) -> None: ...

    async def recent(self, limit: int = 50) -> list[AuditEntry]: ...

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
                     "operations": [{"method": o.method, "path": o.path, "body": o.body} for o in p.operations],
                     "noops": list(p.noops), "incident_ids": list(p.incident_ids)},
        "asker_slack_id": pending.asker_slack_id, "channel": pending.channel, "thread_ts": pending.thread_ts,
        "asker_name": pending.asker_name, "tool": pending.tool, "arguments": pending.arguments,
    }, ensure_ascii=False, separators=(",", ":"))


def decode_pending(data: str, fields: StoredFields) -> PendingProposal:
    raw: dict[str, Any] = json.loads(data)
    p = raw["proposal"]
    proposal = Proposal(p["action"], p["summary"], tuple(p["lines"]),
                        tuple(Operation(o["method"], o["path"], o.get("body")) for o in p["operations"]),
                        tuple(p.get("noops") or ()), tuple(p.get("incident_ids") or ()))
    state = cast(State, fields.state if fields.state in ("pending", "confirmed", "cancelled", "expired") else "expired")
    return PendingProposal(proposal, raw["asker_slack_id"], raw["channel"], raw["thread_ts"],
                           asker_name=raw.get("asker_name") or "the person who asked", tool=raw.get("tool"),
                           arguments=raw.get("arguments"), created_at=fields.created_at,
                           expires_at=fields.expires_at, state=state,
                           handled_by=fields.handled_by)
