"""Who is on call when, for both schedule kinds, and ``GET /oncalls``.

The timelines here are shared with :mod:`bot.sandbox.routes.schedules` (which imports this module, never
the other way round). All time arithmetic is delegated to :mod:`bot.sandbox.schedule_engine`; this module
only decides *which* window to render and how to stitch the results together:

* **v2 (layered) schedules**: the engine's final schedule, one user at a time, overrides on top.
* **v3 (shift-based) schedules**: each rotation (one engine ``Layer``) is rendered on its own and the
  results are *not* stacked: concurrent on-calls are possible. A v3 override is scoped to one rotation
  (``Override.rotation_id``; ``None`` means every rotation) and only replaces the member of that
  rotation's shifts -- it never fills a hole (PagerDuty uses custom shifts for that).
* **Real bounds.** ``/oncalls`` returns each on-call period's own start and end, not clipped to the
  query window (PagerDuty's own example shows shift bounds such as 15:28:51 -> next day 15:28:51).
  :func:`unclipped` renders a padded window and widens it until no matching entry touches its edge.
* **Bounds.** ``until`` at most 90 days past now (PagerDuty's own), and ``since``..``until`` at most
  :data:`MAX_RANGE` (the sandbox's: every schedule on the account is rendered over it). Past them: 400.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple, Protocol, TypeVar
from zoneinfo import ZoneInfo

from bot.sandbox.app import Context, Route
from bot.sandbox.http import ApiError, SandboxRequest, SandboxResponse, check_span, iso, paginate
from bot.sandbox.model import EscalationPolicy, Override, Schedule, World
from bot.sandbox.routes.directory import policy_json
from bot.sandbox.schedule_engine import Entry, merge_adjacent, render_final, render_layer
from bot.sandbox.serialize import (
    api_base,
    html_url,
    policy_ref,
    schedule_ref,
    team_refs,
    user_object,
    user_ref_by_id,
)

MAX_FUTURE = timedelta(days=90)
"""``/oncalls`` answers at most 90 days past now."""
MAX_RANGE = timedelta(days=366)
"""Longest ``since``..``until`` of ``/oncalls``."""
MIN_PAD = timedelta(hours=1)
MAX_PAD = timedelta(days=128)
"""How far :func:`unclipped` looks beyond the window for an entry's real start/end (then it gives up)."""
POINT = timedelta(microseconds=1)
"""A zero-width window ``[t, t]`` is rendered as ``[t, t + POINT)``: what is on call at ``t``."""


class Span(Protocol):
    @property
    def start(self) -> datetime: ...

    @property
    def end(self) -> datetime: ...


S = TypeVar("S", bound=Span)


@dataclass(frozen=True, slots=True)
class Piece:
    """One v3 computed shift: ``user_id`` on call for ``rotation_id`` (via ``override_id`` if set)."""

    start: datetime
    end: datetime
    user_id: str
    rotation_id: str
    override_id: str | None = None


# --------------------------------------------------------------------------- windows


def zone_of(schedule: Schedule) -> ZoneInfo:
    """The zone in which the schedule's rotations and restrictions are evaluated."""
    return ZoneInfo(schedule.time_zone)


def overlaps(start: datetime, end: datetime, since: datetime, until: datetime) -> bool:
    """Half-open overlap with ``[since, until)``; a zero-width window matches what is on call at ``since``."""
    if since == until:
        return start <= since < end
    return start < until and end > since


def turn_pad(schedule: Schedule) -> timedelta:
    """A first guess of how far an entry can reach beyond a window: the longest turn of any layer."""
    turns = [timedelta(seconds=layer.rotation_turn_length_seconds) for layer in schedule.layers]
    return max([MIN_PAD, *turns])


def unclipped(render: Callable[[datetime, datetime], list[S]], since: datetime, until: datetime,
              pad: timedelta) -> list[S]:
    """The rendered items overlapping ``[since, until]`` with their real (unclipped) bounds.

    ``render(lo, hi)`` clips to ``[lo, hi)``, so an item starting at ``lo`` or ending at ``hi`` may be
    longer: the padding doubles until none does, or reaches :data:`MAX_PAD`.
    """
    pad = min(max(pad, MIN_PAD), MAX_PAD)
    while True:
        lo, hi = since - pad, until + pad
        found = [item for item in render(lo, hi) if overlaps(item.start, item.end, since, until)]
        if pad >= MAX_PAD or not any(item.start <= lo or item.end >= hi for item in found):
            return found
        pad = min(pad * 2, MAX_PAD)


def clip_entries(entries: Iterable[Entry], since: datetime, until: datetime) -> list[Entry]:
    return [Entry(max(e.start, since), min(e.end, until), e.user_id) for e in entries]


def clip_pieces(pieces: Iterable[Piece], since: datetime, until: datetime) -> list[Piece]:
    return [replace(p, start=max(p.start, since), end=min(p.end, until)) for p in pieces]


def in_window(render: Callable[[datetime, datetime], list[S]], since: datetime, until: datetime,
              overflow: bool, pad: timedelta) -> list[S]:
    """Items for a query window: clipped to it (the engine clips), or unclipped with ``overflow``.

    A zero-width window renders what is on call at that instant; callers clip those to ``[t, t]``.
    """
    if overflow:
        return unclipped(render, since, until, pad)
    return render(since, until + POINT if since == until else until)


# --------------------------------------------------------------------------- v2 and v3 timelines


def final_entries(schedule: Schedule, since: datetime, until: datetime) -> list[Entry]:
    """A v2 schedule's final schedule (layers stacked, overrides on top) clipped to ``[since, until)``."""
    return render_final(schedule.layers, schedule.override_spans(), zone_of(schedule), since, until)


def v3_pieces(schedule: Schedule, since: datetime, until: datetime) -> list[Piece]:
    """A v3 schedule's computed shifts in ``[since, until)``: every rotation on its own (no stacking)."""
    zone = zone_of(schedule)
    pieces: list[Piece] = []
    for layer in schedule.layers:
        base = [Piece(e.start, e.end, e.user_id, layer.id) for e in render_layer(layer, zone, since, until)]
        scoped = sorted(
            (o for o in schedule.overrides
             if o.rotation_id in (None, layer.id) and o.start < until and o.end > since),
            key=lambda o: o.created_order,
        )
        for override in scoped:  # later-created overrides paint over earlier ones
            base = _paint(base, override)
        pieces.extend(_merge_pieces(base))
    pieces.sort(key=lambda p: (p.start, p.end))  # stable: rotation order breaks ties
    return pieces


def _paint(base: Sequence[Piece], override: Override) -> list[Piece]:
    """Replace the member of ``base`` pieces during the override (never filling holes)."""
    painted: list[Piece] = []
    for piece in base:
        lo, hi = max(piece.start, override.start), min(piece.end, override.end)
        if lo >= hi:
            painted.append(piece)
            continue
        if piece.start < lo:
            painted.append(replace(piece, end=lo))
        painted.append(Piece(lo, hi, override.user_id, piece.rotation_id, override.id))
        if hi < piece.end:
            painted.append(replace(piece, start=hi))
    return painted


def _merge_pieces(pieces: Sequence[Piece]) -> list[Piece]:
    merged: list[Piece] = []
    for piece in pieces:
        last = merged[-1] if merged else None
        if (last is not None and last.end == piece.start and last.user_id == piece.user_id
                and last.override_id == piece.override_id):
            merged[-1] = replace(last, end=piece.end)
        else:
            merged.append(piece)
    return merged


def v3_user_entries(schedule: Schedule, since: datetime, until: datetime) -> list[Entry]:
    """A v3 schedule's on-call periods: each user's pieces (from any rotation) merged when touching."""
    by_user: dict[str, list[Entry]] = {}
    for piece in v3_pieces(schedule, since, until):
        by_user.setdefault(piece.user_id, []).append(Entry(piece.start, piece.end, piece.user_id))
    entries = [entry for group in by_user.values() for entry in merge_adjacent(group)]
    entries.sort(key=lambda e: (e.start, e.end, e.user_id))
    return entries


def oncall_periods(schedule: Schedule, since: datetime, until: datetime) -> list[Entry]:
    """Who is on call on ``schedule`` at some point of ``[since, until]``, each with real bounds."""
    if schedule.kind == "v3":
        return unclipped(lambda lo, hi: v3_user_entries(schedule, lo, hi), since, until, turn_pad(schedule))
    return unclipped(lambda lo, hi: final_entries(schedule, lo, hi), since, until, turn_pad(schedule))


def on_call_at(schedule: Schedule, at: datetime) -> list[str]:
    """Who is on call on ``schedule`` at the instant ``at``: one user on a v2 schedule (none in a gap),
    every concurrent shift's user on a v3 one, in order of their shifts."""
    end = at + POINT
    entries = v3_user_entries(schedule, at, end) if schedule.kind == "v3" else final_entries(schedule, at, end)
    return list(dict.fromkeys(e.user_id for e in entries))


def level_assignees(world: World, policy: EscalationPolicy | None, level: int) -> list[str]:
    """Whom an incident at escalation ``level`` of ``policy`` is assigned to right now, as PagerDuty
    does: users targeted directly as they are, and whoever is on call *now* on each targeted schedule
    (the level's targets in order, each user once). A level past the last is the last one."""
    if policy is None or not policy.rules:
        return []
    rule = policy.rules[min(max(level, 1), len(policy.rules)) - 1]
    users: list[str] = []
    for target in rule.targets:
        if target.type == "user_reference":
            found = [target.id] if target.id in world.users else []
        else:
            schedule = world.schedules.get(target.id)
            found = on_call_at(schedule, world.now) if schedule is not None else []
        users.extend(u for u in found if u not in users)
    return users


# --------------------------------------------------------------------------- shapes shared with schedules


def policies_by_schedule(world: World) -> dict[str, list[EscalationPolicy]]:
    """Schedule id -> the escalation policies whose rules target it (each policy once)."""
    index: dict[str, list[EscalationPolicy]] = {}
    for policy in world.escalation_policies.values():
        targeted = {t.id for rule in policy.rules for t in rule.targets if t.type != "user_reference"}
        for schedule_id in targeted:
            index.setdefault(schedule_id, []).append(policy)
    return index


def schedule_users(schedule: Schedule) -> list[str]:
    """Distinct user ids on the schedule's layers (rotations), in order of appearance."""
    return list(dict.fromkeys(u for layer in schedule.layers for u in layer.user_ids))


def schedule_object(world: World, schedule: Schedule,
                    policies: dict[str, list[EscalationPolicy]]) -> dict[str, Any]:
    """The basic schedule object (what lists and ``include[]=schedules`` show), without rendering."""
    kind = "schedule_v3" if schedule.kind == "v3" else "schedule"
    body: dict[str, Any] = {
        "id": schedule.id,
        "type": kind,
        "summary": schedule.name,
        "self": f"{api_base()}/{'v3/schedules' if schedule.kind == 'v3' else 'schedules'}/{schedule.id}",
        "html_url": html_url(world, kind, schedule.id),
        "name": schedule.name,
        "time_zone": schedule.time_zone,
        "description": schedule.description,
        "escalation_policies": [policy_ref(world, p) for p in policies.get(schedule.id, [])],
        "users": [user_ref_by_id(world, u) for u in schedule_users(schedule)],
        "teams": team_refs(world, schedule.team_ids),
    }
    return body


# --------------------------------------------------------------------------- GET /oncalls


class _Oncall(NamedTuple):  # a tuple: tens of thousands are built per request on the large account
    policy: EscalationPolicy
    level: int
    user_id: str
    schedule: Schedule | None
    start: datetime | None
    end: datetime | None


def _visible_policy_ids(ctx: Context) -> set[str] | None:
    """Team scope of restricted_access users: policies of their visible services or of their teams."""
    world = ctx.world
    visible = world.visible_service_ids(ctx.actor)
    if visible is None:
        return None
    teams = set(world.team_ids_of_user(ctx.actor.id))
    allowed = {world.services[s].escalation_policy_id for s in visible if s in world.services}
    allowed.update(p.id for p in world.escalation_policies.values() if teams.intersection(p.team_ids))
    return allowed


def _window(req: SandboxRequest, now: datetime) -> tuple[datetime, datetime]:
    since = req.time("since")
    until = req.time("until")
    # Both default to now. With only `since` given, `until` follows it rather than failing the
    # until-before-since rule for a future `since` (PagerDuty does not document that combination).
    since = since or now
    until = until or max(now, since)
    if until < since:
        raise ApiError(400, 2001, "Invalid Input Provided", ["The until parameter must not be before since"])
    if until > now + MAX_FUTURE:
        raise ApiError(400, 2001, "Invalid Input Provided",
                       ["On-call shifts are only available up to 90 days in the future; "
                        "choose an until at most 90 days from now"])
    check_span(since, until, MAX_RANGE, "GET /oncalls")
    return since, until


def list_oncalls(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``GET /oncalls``: one entry per (policy, level, user, on-call period) overlapping the window."""
    world = ctx.world
    since, until = _window(req, world.now)
    tz = req.time_zone("UTC")  # the account's zone; the sandbox account runs on UTC
    policy_filter = set(req.many("escalation_policy_ids"))
    schedule_filter = set(req.many("schedule_ids"))
    user_filter = set(req.many("user_ids"))
    include = set(req.many("include"))
    allowed = _visible_policy_ids(ctx)

    periods: dict[str, list[Entry]] = {}  # each schedule rendered once, only if some target needs it
    rows: list[_Oncall] = []
    for policy in world.escalation_policies.values():
        if policy_filter and policy.id not in policy_filter:
            continue
        if allowed is not None and policy.id not in allowed:
            continue
        for level, rule in enumerate(policy.rules, start=1):
            for target in rule.targets:
                if target.type == "user_reference":
                    # A direct user target is a permanent on-call; schedule_ids[] includes those
                    # only when it lists the literal "null".
                    if schedule_filter and "null" not in schedule_filter:
                        continue
                    if target.id in world.users and (not user_filter or target.id in user_filter):
                        rows.append(_Oncall(policy, level, target.id, None, None, None))
                    continue
                schedule = world.schedules.get(target.id)
                if schedule is None or (schedule_filter and schedule.id not in schedule_filter):
                    continue
                if schedule.id not in periods:
                    periods[schedule.id] = oncall_periods(schedule, since, until)
                rows.extend(_Oncall(policy, level, e.user_id, schedule, e.start, e.end)
                            for e in periods[schedule.id] if not user_filter or e.user_id in user_filter)
    if req.flag("earliest"):
        rows = _earliest(rows)

    policies = policies_by_schedule(world) if "schedules" in include else {}

    def render(row: _Oncall) -> dict[str, Any]:
        user = world.users.get(row.user_id)
        schedule: dict[str, Any] | None = None
        if row.schedule is not None:
            schedule = (schedule_object(world, row.schedule, policies) if "schedules" in include
                        else schedule_ref(world, row.schedule))
        return {
            "escalation_policy": (policy_json(world, row.policy, []) if "escalation_policies" in include
                                  else policy_ref(world, row.policy)),
            "escalation_level": row.level,
            "schedule": schedule,
            "user": (user_object(world, user) if "users" in include and user is not None
                     else user_ref_by_id(world, row.user_id)),
            "start": iso(row.start, tz) if row.start is not None else None,
            "end": iso(row.end, tz) if row.end is not None else None,
        }

    return SandboxResponse(200, paginate(req, rows, render, "oncalls"))


def _earliest(rows: list[_Oncall]) -> list[_Oncall]:
    """Only the earliest on-call per (policy, level, user); a permanent one (no start) is earliest."""
    best: dict[tuple[str, int, str], _Oncall] = {}
    for row in rows:
        key = (row.policy.id, row.level, row.user_id)
        current = best.get(key)
        if current is None or _starts_before(row.start, current.start):
            best[key] = row
    chosen = {id(row) for row in best.values()}
    return [row for row in rows if id(row) in chosen]


def _starts_before(start: datetime | None, other: datetime | None) -> bool:
    if other is None:
        return False
    return start is None or start < other


ROUTES: list[Route] = [Route("GET", "/oncalls", list_oncalls)]
