"""The catch-up at ``alex serve`` start: while the receiver was down, cards went stale; bring them back.

1. PagerDuty's open incidents (``GET /incidents?statuses[]=triggered&statuses[]=acknowledged``, at most
   :data:`MAX_OPEN`, so at most :data:`MAX_OPEN` / 100 requests): each incident's cards are drawn again when
   they show another state; an open incident that began after the watermark (:meth:`~bot.store.notify.
   NotifyStore.last_seen`: alex was down when it triggered) and has no card gets one in its routed channels
   (at most :data:`MAX_NEW` per start; on the very first start, with no watermark, none: alex does not flood
   channels with incidents older than itself).
2. Cards the store holds as open whose incident is no longer in that list (resolved while alex was down):
   each incident read once (``GET /incidents/{id}``, at most :data:`MAX_CHECKS`) and its cards drawn again.

A card's stored time only moves forward: the state read is stamped with PagerDuty's latest change of the
incident (``updated_at``, ``last_status_change_at``), never before the card's own, so a delivery PagerDuty
retries later and that occurred earlier cannot move the card back. One replica runs it at a time (a lock in
the shared state for :data:`LOCK_S`); every request waits at most the client's timeout, the whole at most
:data:`DEADLINE_S`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bot.notify.events import BadEvent, IncidentState, parse_time
from bot.pagerduty import PagerDutyClient
from bot.pagerduty.errors import PagerDutyError
from bot.store import StateStore

log = logging.getLogger("bot.notify.catchup")

MAX_OPEN = 500
MAX_CHECKS = 50
MAX_NEW = 20
LOCK_S = 300.0
DEADLINE_S = 60.0


class Cards(Protocol):
    """What draws cards (:class:`bot.slack.notify_cards.LiveCards`)."""

    async def show(self, state: IncidentState, at: float, *, new: bool) -> int: ...


@dataclass(frozen=True, slots=True)
class CatchUp:
    """What one catch-up did."""

    ran: bool
    open_read: int = 0
    checked: int = 0
    changed: int = 0
    posted_new: int = 0
    requests: int = 0
    incomplete: bool = False
    """More open incidents than :data:`MAX_OPEN`, or PagerDuty failed part-way."""


async def catch_up(client: PagerDutyClient, state: StateStore, cards: Cards, *, now: datetime,
                   max_open: int = MAX_OPEN, max_checks: int = MAX_CHECKS, max_new: int = MAX_NEW,
                   deadline_s: float = DEADLINE_S) -> CatchUp:
    """Reconcile the cards with PagerDuty (see the module docstring); ``now`` is PagerDuty's time."""
    if not await state.first_seen("notify:catch-up", LOCK_S):
        log.info("another alex is catching up on incident cards: skipped here")
        return CatchUp(False)
    deadline = time.monotonic() + deadline_s
    try:
        async with asyncio.timeout(deadline_s):
            return await _reconcile(client, state, cards, now=now, max_open=max_open, max_checks=max_checks,
                                    max_new=max_new, deadline=deadline)
    except TimeoutError:
        log.warning("the catch-up on incident cards took over %g s: stopped (later events update the rest)",
                    deadline_s)
        return CatchUp(True, incomplete=True)


async def _reconcile(client: PagerDutyClient, state: StateStore, cards: Cards, *, now: datetime, max_open: int,
                     max_checks: int, max_new: int, deadline: float) -> CatchUp:
    store = state.notify
    since = await store.last_seen()
    requests, changed, posted, incomplete = 0, 0, 0, False
    open_ids: set[str] = set()
    try:
        page = await client.fetch("/incidents", "incidents", {"statuses[]": ["triggered", "acknowledged"]},
                                  max_items=max_open, deadline=deadline)
        requests += max(1, -(-len(page.items) // 100))
        incomplete = page.more
        incidents: list[dict[str, Any]] = [i for i in page.items if isinstance(i, dict)]
    except PagerDutyError as exc:
        log.warning("the catch-up could not list open incidents (%s): cards update with the next events",
                    type(exc).__name__)
        return CatchUp(True, requests=requests + 1, incomplete=True)
    for incident in incidents:
        read = _state(incident)
        if read is None:
            continue
        open_ids.add(read.id)
        created = read.created
        new = since is not None and created is not None and created.timestamp() > since and posted < max_new
        count = await cards.show(read, _changed_at(incident, read), new=new)
        changed += count
        posted += int(new and count > 0)
    checked = 0
    for card in await store.open_cards(max_checks * 4):
        if card.incident_id in open_ids or checked >= max_checks:
            continue
        open_ids.add(card.incident_id)  # one read per incident, however many channels show it
        checked += 1
        requests += 1
        try:
            body = await client.get(f"/incidents/{card.incident_id}", deadline=deadline)
        except PagerDutyError as exc:
            log.info("the catch-up could not read incident %s (%s)", card.incident_id, type(exc).__name__)
            incomplete = True
            continue
        fresh = body.get("incident")
        read = _state(fresh) if isinstance(fresh, dict) else None
        if read is not None and isinstance(fresh, dict):
            changed += await cards.show(read, _changed_at(fresh, read), new=False)
    await store.seen_until(now.timestamp())
    result = CatchUp(True, len(incidents), checked, changed, posted, requests, incomplete)
    log.info("caught up on incident cards: %d open incidents read, %d cards checked, %d drawn again, %d new "
             "(%d PagerDuty requests)%s", result.open_read, result.checked, result.changed, result.posted_new,
             result.requests, "; incomplete" if incomplete else "")
    return result


def _state(incident: dict[str, Any]) -> IncidentState | None:
    try:
        return IncidentState.from_rest(incident)
    except BadEvent:
        return None


def _changed_at(incident: dict[str, Any], read: IncidentState) -> float:
    """PagerDuty's latest change of the incident, as a time (its creation at the least)."""
    times = [parse_time(incident.get(key)) for key in ("updated_at", "last_status_change_at", "resolved_at")]
    times.append(read.created)
    found = [t.timestamp() for t in times if t is not None]
    return max(found) if found else 0.0
