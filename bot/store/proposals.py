"""Proposals waiting for a click: put/get, a compare-and-set claim so one click wins, expiry.

A proposal the model prepared is stored under a short random id; the Confirm/Cancel buttons carry
only that id (a button value holds 2,000 characters; the proposal stays server-side). The first
click that *claims* a pending, unexpired proposal wins; every later or concurrent click sees it taken,
so a proposal runs at most once.

:class:`InMemoryProposalStore` serves one process (tests, the sandbox). Several instances (Socket Mode
sends each event to one random connection) share :mod:`bot.store`'s backends, which implement
:class:`ProposalStore` with an atomic claim: SQLite (``UPDATE … WHERE state='pending' AND expires_at > now``)
and Redis (a Lua compare-and-set).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, Protocol

from bot.tools.base import Asker, Proposal

DEFAULT_TTL_S = 600.0
KEEP_AFTER_EXPIRY_S = 3600.0
"""Expired or handled entries are kept this long (a late click gets "expired"/"already handled")."""

State = Literal["pending", "confirmed", "cancelled", "expired"]
ClaimStatus = Literal["claimed", "taken", "expired", "missing"]


@dataclass(frozen=True, slots=True)
class PendingProposal:
    """A proposal shown in Slack, who may confirm it, and the tool call that prepared it.

    ``proposal.operations`` hold the resolved IDs and absolute times the card showed; ``asker`` and
    ``prepared_at`` are who it was prepared for and when, so a re-check at click time reads "me",
    "my" and "tomorrow" exactly as the card did, whoever clicks.
    """

    proposal: Proposal
    asker_slack_id: str
    channel: str
    thread_ts: str
    asker_name: str = "the person who asked"
    tool: str | None = None
    """The write tool that prepared it; confirming re-prepares it (as ``asker``, at ``prepared_at``) to
    re-check the current state: a different result refuses the click, the same one runs the stored operations."""
    arguments: dict[str, Any] | None = None
    asker: Asker | None = None
    prepared_at: datetime | None = None
    created_at: float = 0.0
    expires_at: float = 0.0
    state: State = "pending"
    handled_by: str | None = None
    """The Slack user whose click claimed it."""


@dataclass(frozen=True, slots=True)
class Claim:
    """The answer to a claim: ``claimed`` (this click runs it), ``taken``, ``expired`` or ``missing``."""

    status: ClaimStatus
    pending: PendingProposal | None = None


class ProposalStore(Protocol):
    """Where pending proposals live; ``claim`` must be atomic across every instance sharing it."""

    async def put(self, pending: PendingProposal) -> str:
        """Store a pending proposal (its times are set by the store) and return its id."""
        ...

    async def get(self, proposal_id: str) -> PendingProposal | None: ...

    async def claim(self, proposal_id: str, by: str, state: Literal["confirmed", "cancelled"]) -> Claim:
        """Move a pending, unexpired proposal to ``state``; only the first caller gets ``claimed``."""
        ...

    async def once(self, key: str, ttl_s: float) -> bool:
        """True the first time ``key`` is seen within ``ttl_s`` (double-click guard for card buttons)."""
        ...

    async def aclose(self) -> None: ...


class InMemoryProposalStore:
    """A :class:`ProposalStore` for one process (thread-safe; the claim is a locked compare-and-set)."""

    def __init__(self, ttl_s: float = DEFAULT_TTL_S, *, clock: Callable[[], float] = time.time) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._items: dict[str, PendingProposal] = {}
        self._seen: dict[str, float] = {}

    async def put(self, pending: PendingProposal) -> str:
        now = self._clock()
        proposal_id = secrets.token_urlsafe(12)
        with self._lock:
            self._purge(now)
            self._items[proposal_id] = replace(pending, created_at=now, expires_at=now + self.ttl_s,
                                               state="pending", handled_by=None)
        return proposal_id

    async def get(self, proposal_id: str) -> PendingProposal | None:
        with self._lock:
            return self._items.get(proposal_id)

    async def claim(self, proposal_id: str, by: str, state: Literal["confirmed", "cancelled"]) -> Claim:
        now = self._clock()
        with self._lock:
            pending = self._items.get(proposal_id)
            if pending is None:
                return Claim("missing")
            if pending.state == "expired":
                return Claim("expired", pending)
            if pending.state != "pending":
                return Claim("taken", pending)
            if now >= pending.expires_at:
                self._items[proposal_id] = replace(pending, state="expired")
                return Claim("expired", self._items[proposal_id])
            self._items[proposal_id] = claimed = replace(pending, state=state, handled_by=by)
            return Claim("claimed", claimed)

    async def once(self, key: str, ttl_s: float) -> bool:
        now = self._clock()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen < ttl_s:
                return False
            self._seen[key] = now
            return True

    async def aclose(self) -> None:
        with self._lock:
            self._items.clear()
            self._seen.clear()

    def _purge(self, now: float) -> None:
        old = [key for key, item in self._items.items() if now >= item.expires_at + KEEP_AFTER_EXPIRY_S]
        for key in old:
            del self._items[key]
        stale = [key for key, at in self._seen.items() if now - at >= KEEP_AFTER_EXPIRY_S]
        for key in stale:
            del self._seen[key]
