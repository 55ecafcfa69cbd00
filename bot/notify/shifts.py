"""The on-call shifts about to start on the escalation policies behind the routed services and teams.

:class:`ShiftFinder` turns each routed target (a service: its escalation policy; a team: its policies, at
most :data:`MAX_TEAM_POLICIES`) into policy IDs, cached for :data:`POLICY_CACHE_S` (a target PagerDuty does
not know is skipped, logged by its route only), then asks ``GET /oncalls`` (``include[]=users``, at most
:data:`MAX_ROWS` rows) for the coming window. A shift starts when a schedule puts someone on call at a
level from a time inside the window; the person on call at that level just before it is who hands over.
The ``*`` and ``everything`` routes name no policy: they get no reminders (they would DM the whole account).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.notify.events import parse_time
from bot.notify.routes import Route
from bot.pagerduty.errors import PagerDutyError
from bot.tools.base import ToolContext
from bot.tools.errors import ToolError
from bot.tools.oncall import fetch_oncalls
from bot.tools.resolve import resolve_service, resolve_team

log = logging.getLogger("bot.notify.shifts")

MAX_TARGETS = 20
"""Routed services and teams looked at per run (the first ones)."""
MAX_TEAM_POLICIES = 25
MAX_ROWS = 500
POLICY_CACHE_S = 3600.0


@dataclass(frozen=True, slots=True)
class ShiftStart:
    """One person's on-call shift that starts soon, at one level of one escalation policy."""

    user_id: str
    user_name: str
    email: str | None
    time_zone: str | None
    """The person's PagerDuty zone (IANA), when PagerDuty gave it."""
    schedule: str
    schedule_id: str
    policy: str
    level: int
    start: datetime
    end: datetime | None
    hands_over: str | None
    """Who is on call at that level until ``start`` (None: nobody, or the same person)."""
    targets: tuple[Route, ...]
    """The routes whose services/teams the shift covers."""

    @property
    def key(self) -> str:
        """One reminder per person, schedule and start (several levels or policies share it)."""
        return f"shift:{self.user_id}:{self.schedule_id}:{int(self.start.timestamp())}"


Target = tuple[str, str]
"""``(kind, casefolded name)`` of a service or team route."""


@dataclass
class ShiftFinder:
    """Finds :class:`ShiftStart`\\ s for routes (see the module); one per scheduler, its cache bounded by
    :data:`MAX_TARGETS`."""

    clock: Callable[[], float] = time.monotonic
    _policies: dict[Target, tuple[float, tuple[str, ...]]] | None = None

    async def upcoming(self, ctx: ToolContext, routes: Sequence[Route], within: timedelta) -> list[ShiftStart]:
        """The shifts starting after ``ctx.now`` and at most ``within`` later, one per :attr:`ShiftStart.key`."""
        targets: dict[Target, list[Route]] = {}
        for route in routes:
            if route.kind in ("service", "team"):
                targets.setdefault((route.kind, route.target.casefold()), []).append(route)
        chosen = list(targets)[:MAX_TARGETS]
        found = await asyncio.gather(*(self._policy_ids(ctx, target, targets[target][0]) for target in chosen))
        covers: dict[str, list[Route]] = {}
        for target, ids in zip(chosen, found, strict=True):
            for policy_id in ids:
                covers.setdefault(policy_id, []).extend(targets[target])
        if not covers:
            return []
        until = ctx.now + within
        page = await fetch_oncalls(ctx, {"escalation_policy_ids[]": sorted(covers), "include[]": ["users"]},
                                   ctx.now, until, max_items=MAX_ROWS)
        rows = [row for row in page.items if isinstance(row, dict)]
        shifts: dict[str, ShiftStart] = {}
        for row in rows:
            shift = _shift(row, rows, covers, ctx.now, until)
            if shift is not None and shift.key not in shifts:
                shifts[shift.key] = shift
        return sorted(shifts.values(), key=lambda s: (s.start, s.user_name))

    async def _policy_ids(self, ctx: ToolContext, target: Target, route: Route) -> tuple[str, ...]:
        cache = self._policies = self._policies or {}
        cached = cache.get(target)
        if cached is not None and cached[0] > self.clock():
            return cached[1]
        try:
            if route.kind == "service":
                service = await resolve_service(ctx, route.target)
                ref = service.get("escalation_policy") or {}
                ids: tuple[str, ...] = (str(ref["id"]),) if isinstance(ref, dict) and ref.get("id") else ()
            else:
                team = await resolve_team(ctx, route.target)
                page = await ctx.client.fetch("/escalation_policies", "escalation_policies",
                                              {"team_ids[]": [team["id"]]}, max_items=MAX_TEAM_POLICIES,
                                              page_size=MAX_TEAM_POLICIES, deadline=ctx.deadline)
                ids = tuple(str(p["id"]) for p in page.items if isinstance(p, dict) and p.get("id"))
        except (ToolError, PagerDutyError) as exc:
            log.warning("shift reminders: the %s route of %s is skipped (%s)", route.kind, route.channel,
                        type(exc).__name__)
            ids = ()
        if len(cache) >= MAX_TARGETS and target not in cache:
            cache.pop(next(iter(cache)))
        cache[target] = (self.clock() + POLICY_CACHE_S, ids)
        return ids


def _shift(row: dict[str, Any], rows: list[dict[str, Any]], covers: dict[str, list[Route]], now: datetime,
           until: datetime) -> ShiftStart | None:
    schedule, user, policy = row.get("schedule"), row.get("user"), row.get("escalation_policy")
    if not isinstance(schedule, dict) or not isinstance(user, dict) or not isinstance(policy, dict):
        return None
    start, end = parse_time(row.get("start")), parse_time(row.get("end"))
    if start is None or not now < start <= until or not user.get("id") or not schedule.get("id"):
        return None
    level = int(row.get("escalation_level") or 0)
    before = [other for other in rows if other is not row and _ref_id(other, "escalation_policy") == policy.get("id")
              and int(other.get("escalation_level") or 0) == level and parse_time(other.get("end")) == start]
    handing = next((_name(other.get("user")) for other in before if _ref_id(other, "user") != user["id"]), None)
    return ShiftStart(
        user_id=str(user["id"]), user_name=_name(user), email=_text(user.get("email")),
        time_zone=_text(user.get("time_zone")), schedule=_name(schedule), schedule_id=str(schedule["id"]),
        policy=_name(policy), level=level, start=start, end=end, hands_over=handing,
        targets=tuple(dict.fromkeys(covers.get(str(policy.get("id")), []))))


def _ref_id(row: dict[str, Any], key: str) -> Any:
    ref = row.get(key)
    return ref.get("id") if isinstance(ref, dict) else None


def _name(ref: Any) -> str:
    if not isinstance(ref, dict):
        return "someone"
    return str(ref.get("name") or ref.get("summary") or ref.get("id") or "someone")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
