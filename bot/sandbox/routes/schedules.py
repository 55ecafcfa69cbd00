"""Schedules (layer-based "v2" and shift-based "v3"), their overrides, and on-calls.

``ROUTES`` also carries ``GET /oncalls`` (:mod:`bot.sandbox.routes.oncalls`, which holds the on-call
timelines both files render). All time arithmetic is :mod:`bot.sandbox.schedule_engine`'s.

Choices where PagerDuty's documents leave room (sources in brackets):

* ``GET /schedules`` lists layer-based schedules only; shift-based ones are listed by
  ``GET /v3/schedules`` ["Schedules API: v2 -> v3 Upgrade Guide": "GET /schedules returns only
  layer-based schedules"], as ``schedule_v3_reference`` objects (the spec's only type there) with
  ``limit`` (default 100, at most 1,000), ``offset`` and ``more`` but no ``total`` (the docs).
  The v2 endpoints answer 400 on a v3 id (pointing at ``/v3/schedules``),
  and ``GET /v3/schedules/{id}`` answers 400 on a v2 id (the guide's "call v3 first, fall back to v2
  on a 400" recipe relies on it). Unknown ids are 404 on both.
* ``schedule_layers`` are listed highest priority first, the reverse of the order in which they are
  created (PagerDuty/public-support-scripts#60: "a GET request and a POST or PUT request for a schedule
  will have schedule layers in opposite order").
* Restrictions are evaluated, and shown (``start_time_of_day`` "HH:MM:SS"), in the schedule's zone;
  ``time_zone`` only changes how instants are rendered.
* **Bounds** (the sandbox's, where PagerDuty documents none): one schedule renders at most
  :data:`MAX_SCHEDULE_WINDOW` (366 days) between ``since`` and ``until``, ``GET /schedules`` at most
  :data:`MAX_LIST_WINDOW` (93 days, as it renders up to 100 schedules), and ``POST .../overrides``
  takes at most :data:`MAX_OVERRIDES_PER_REQUEST` items while a schedule holds at most
  :data:`MAX_OVERRIDES_PER_SCHEDULE`. Past them: 400 with PagerDuty's error body.
* Without ``since``/``until`` rendered entries are empty and ``rendered_coverage_percentage`` is null
  (the spec's own descriptions); with one of them the other is 2 weeks away. ``since == until`` asks
  what is on call at that instant (PagerDuty/api-schema#479); ``until`` before ``since`` is a 400.
* ``GET /schedules/{id}/users`` without a window lists every user on the schedule's layers
  (mozilla-services/foxsec-pipeline#351: "returns all the users in the schedule ... unless you bound
  it with since and until"); with a zero-width window it is empty (app-sre/qontract-reconcile#4015).
* ``GET /schedules/{id}/overrides?editable=true`` keeps only future overrides; PagerDuty then shows
  only their ids, the sandbox shows whole overrides because the spec requires start/end/user.
* ``POST /schedules/{id}/overrides`` always answers 201 with the spec's array of per-item results,
  also for the deprecated single ``{"override": {...}}`` body. A rejected item echoes what was sent
  (``start``/``end`` normalized when they parse, verbatim when not; what was left out stays out).
* v3 ``rotations[].events[]`` are derived from the sandbox's layer model (one event per rotation, or
  one per restriction window, with an RFC 5545 RRULE): a faithful *shape*, an approximate description;
  ``final_schedule`` is computed exactly. Gaps are explicit ``empty_member`` assignments.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.sandbox.app import Context, Route
from bot.sandbox.http import (
    ApiError,
    SandboxRequest,
    SandboxResponse,
    check_span,
    check_time,
    invalid,
    iso,
    not_found,
    page_params,
    paginate,
    parse_zone,
)
from bot.sandbox.model import EscalationPolicy, Override, Schedule, World
from bot.sandbox.routes.oncalls import (
    MAX_FUTURE,
    POINT,
    Piece,
    clip_entries,
    clip_pieces,
    final_entries,
    in_window,
    overlaps,
    policies_by_schedule,
    schedule_object,
    schedule_users,
    turn_pad,
    v3_pieces,
    zone_of,
)
from bot.sandbox.routes.oncalls import ROUTES as ONCALL_ROUTES
from bot.sandbox.schedule_engine import (
    Entry,
    Layer,
    RenderLimitError,
    Restriction,
    coverage_percentage,
    find_gaps,
    render_layer,
    render_overrides,
)
from bot.sandbox.serialize import (
    api_base,
    html_url,
    policy_ref,
    schedule_ref,
    team_refs,
    user_object,
    user_ref_by_id,
)

TWO_WEEKS = timedelta(weeks=2)
MAX_SCHEDULE_WINDOW = timedelta(days=366)
"""Longest ``since``..``until`` one schedule is rendered (or its overrides listed) for."""
MAX_LIST_WINDOW = timedelta(days=93)
"""Longest window of ``GET /schedules``, which renders up to 100 schedules in one answer."""
MAX_OVERRIDES_PER_REQUEST = 100
MAX_OVERRIDES_PER_SCHEDULE = 1_000
V3_LIST_DEFAULT_LIMIT = 100
V3_LIST_MAX_LIMIT = 1_000
"""``GET /v3/schedules`` pages by 100 by default, at most 1,000 (the spec's and the docs' numbers)."""
DAY = 86_400
WEEK = 7 * DAY
V2_PARTS = frozenset({"schedule_layers", "overrides_subschedule", "final_schedule"})
_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")

Window = tuple[datetime, datetime]


# --------------------------------------------------------------------------- request helpers


def _window(req: SandboxRequest, longest: timedelta = MAX_SCHEDULE_WINDOW,
            what: str = "one schedule") -> Window | None:
    """``since``/``until``; when only one is given the other is two weeks away; None when neither.
    Longer than ``longest`` apart is a 400."""
    since, until = req.time("since"), req.time("until")
    if until is None:
        if since is None:
            return None
        until = check_time(since + TWO_WEEKS, "until")
    elif since is None:
        since = check_time(until - TWO_WEEKS, "since")
    if until < since:
        raise ApiError(400, 2001, "Invalid Input Provided", ["The until parameter must not be before since"])
    check_span(since, until, longest, what)
    return since, until


def _schedule(world: World, schedule_id: str) -> Schedule:
    schedule = world.schedules.get(schedule_id)
    if schedule is None:
        raise not_found("Schedule")
    return schedule


def _v2_schedule(world: World, schedule_id: str) -> Schedule:
    schedule = _schedule(world, schedule_id)
    if schedule.kind == "v3":
        raise ApiError(400, 2001, "Invalid Input Provided", [
            f"Schedule {schedule.id} is a shift-based schedule; use GET /v3/schedules/{schedule.id} "
            "and the /v3/schedules endpoints for it"])
    return schedule


# --------------------------------------------------------------------------- v2 rendering


def _rendered(world: World, render: Callable[[datetime, datetime], list[Entry]], window: Window | None,
              tz: ZoneInfo, overflow: bool, pad: timedelta) -> dict[str, Any]:
    """``rendered_schedule_entries`` and ``rendered_coverage_percentage`` of one (sub)schedule."""
    if window is None:
        return {"rendered_schedule_entries": [], "rendered_coverage_percentage": None}
    since, until = window
    entries = in_window(render, since, until, overflow, pad)
    shown = entries if overflow else clip_entries(entries, since, until)
    return {
        "rendered_schedule_entries": [
            {"start": iso(e.start, tz), "end": iso(e.end, tz), "user": user_ref_by_id(world, e.user_id)}
            for e in shown
        ],
        "rendered_coverage_percentage": coverage_percentage(entries, since, until if until > since
                                                            else since + POINT),
    }


def _restriction(restriction: Restriction) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": restriction.type,
        "start_time_of_day": restriction.start_time_of_day.strftime("%H:%M:%S"),
        "duration_seconds": restriction.duration_seconds,
    }
    if restriction.start_day_of_week is not None:
        body["start_day_of_week"] = restriction.start_day_of_week
    return body


def _layer_name(schedule: Schedule, index: int) -> str:
    return schedule.layer_names[index] if index < len(schedule.layer_names) else f"Layer {index + 1}"


def _layer_object(world: World, schedule: Schedule, index: int, window: Window | None, tz: ZoneInfo,
                  overflow: bool) -> dict[str, Any]:
    layer = schedule.layers[index]
    zone = zone_of(schedule)

    def render(lo: datetime, hi: datetime) -> list[Entry]:
        return render_layer(layer, zone, lo, hi)

    return {
        "id": layer.id,
        "name": _layer_name(schedule, index),
        "start": iso(layer.start, tz),
        "end": iso(layer.end, tz) if layer.end is not None else None,
        "rotation_virtual_start": iso(layer.rotation_virtual_start, tz),
        "rotation_turn_length_seconds": layer.rotation_turn_length_seconds,
        "users": [{"user": user_ref_by_id(world, u)} for u in layer.user_ids],
        "restrictions": [_restriction(r) for r in layer.restrictions],
        **_rendered(world, render, window, tz, overflow,
                    timedelta(seconds=layer.rotation_turn_length_seconds)),
    }


def _next_oncall(world: World, schedule: Schedule, user_id: str, tz: ZoneInfo) -> dict[str, Any] | None:
    """The user's current or next final-schedule entry within the next 90 days."""
    now = world.now
    for entry in final_entries(schedule, now - turn_pad(schedule), now + MAX_FUTURE):
        if entry.user_id == user_id and entry.end > now:
            return {"start": iso(entry.start, tz), "end": iso(entry.end, tz),
                    "user": user_ref_by_id(world, user_id)}
    return None


def _v2_body(world: World, schedule: Schedule, policies: dict[str, list[EscalationPolicy]],
             window: Window | None, tz: ZoneInfo, overflow: bool, parts: frozenset[str],
             next_for: str | None) -> dict[str, Any]:
    body = schedule_object(world, schedule, policies)
    pad = turn_pad(schedule)
    if "schedule_layers" in parts:
        body["schedule_layers"] = [_layer_object(world, schedule, i, window, tz, overflow)
                                   for i in reversed(range(len(schedule.layers)))]
    if "overrides_subschedule" in parts:
        spans = schedule.override_spans()
        body["overrides_subschedule"] = {
            "name": "Overrides",
            **_rendered(world, lambda lo, hi: render_overrides(spans, lo, hi), window, tz, overflow, pad),
        }
    if "final_schedule" in parts:
        body["final_schedule"] = {
            "name": "Final Schedule",
            **_rendered(world, lambda lo, hi: final_entries(schedule, lo, hi), window, tz, overflow, pad),
        }
    if next_for:
        upcoming = _next_oncall(world, schedule, next_for, tz)
        if upcoming is not None:
            body["next_oncall_for_user"] = upcoming
    return body


# --------------------------------------------------------------------------- v2 routes


def list_schedules(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``GET /schedules``: layer-based schedules, ``query`` a case-insensitive name substring."""
    world = ctx.world
    query = (req.one("query") or "").strip().lower()
    team_ids = set(req.many("team_ids"))
    parts = frozenset(req.many("include")) & V2_PARTS
    window = _window(req, MAX_LIST_WINDOW, "GET /schedules (it renders up to 100 schedules)")
    # The list renders in the current user's zone (the account's is UTC here).
    tz = req.time_zone(ctx.token_user.time_zone or "UTC")
    overflow = req.flag("overflow")
    next_for = req.one("include_next_oncall_for_user")
    policies = policies_by_schedule(world)
    matching = [
        s for s in world.schedules.values()
        if s.kind == "v2" and query in s.name.lower() and (not team_ids or team_ids.intersection(s.team_ids))
    ]
    return SandboxResponse(200, paginate(
        req, matching, lambda s: _v2_body(world, s, policies, window, tz, overflow, parts, next_for),
        "schedules"))


def get_schedule(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``GET /schedules/{id}``: layers, overrides and final schedule rendered for ``since``/``until``."""
    world = ctx.world
    schedule = _v2_schedule(world, params["id"])
    window = _window(req)
    tz = req.time_zone(schedule.time_zone)
    body = _v2_body(world, schedule, policies_by_schedule(world), window, tz, req.flag("overflow"),
                    V2_PARTS, req.one("include_next_oncall_for_user"))
    return SandboxResponse(200, {"schedule": body})


def list_schedule_users(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``GET /schedules/{id}/users``: full users on call in the window (all layer users without one)."""
    world = ctx.world
    schedule = _v2_schedule(world, params["id"])
    window = _window(req)
    if window is None:
        user_ids = schedule_users(schedule)
    else:
        user_ids = list(dict.fromkeys(e.user_id for e in final_entries(schedule, *window)))
    return SandboxResponse(200, {"users": [user_object(world, world.users[u]) for u in user_ids
                                           if u in world.users]})


def _override_json(world: World, override: Override, tz: ZoneInfo, since: datetime | None = None,
                   until: datetime | None = None) -> dict[str, Any]:
    start = max(override.start, since) if since is not None else override.start
    end = min(override.end, until) if until is not None else override.end
    return {"id": override.id, "start": iso(start, tz), "end": iso(end, tz),
            "user": user_ref_by_id(world, override.user_id)}


def list_overrides(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``GET /schedules/{id}/overrides``: overrides overlapping the (required) window."""
    world = ctx.world
    schedule = _v2_schedule(world, params["id"])
    missing = [f"{name} is required" for name in ("since", "until") if not req.one(name)]
    if missing:
        raise ApiError(400, 2001, "Invalid Input Provided", missing)
    window = _window(req)
    assert window is not None
    since, until = window
    tz = req.time_zone(schedule.time_zone)
    overflow, editable = req.flag("overflow"), req.flag("editable")
    found = sorted(
        (o for o in schedule.overrides
         if overlaps(o.start, o.end, since, until) and (not editable or o.start > world.now)),
        key=lambda o: (o.start, o.created_order),
    )
    rendered = [_override_json(world, o, tz) if overflow else _override_json(world, o, tz, since, until)
                for o in found]
    # The spec documents 201 for this read; the real API answers 200.
    return SandboxResponse(200, {"overrides": rendered})


def _override_time(raw: Any, zone: ZoneInfo | None, name: str, errors: list[str]) -> datetime | None:
    if not isinstance(raw, str) or not raw.strip():
        errors.append(f"{name} is required")
        return None
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        errors.append(f"{name} is not a valid ISO-8601 date")
        return None
    # A time without an offset is read in the override's time_zone (UTC when none is given).
    try:
        return check_time(value if value.tzinfo is not None else value.replace(tzinfo=zone or UTC), name)
    except ApiError as error:
        errors.extend(error.errors)
        return None


def _create_override(world: World, schedule: Schedule, item: Any) -> dict[str, Any]:
    """Validate and create one requested override; the per-item result PagerDuty returns."""
    if not isinstance(item, dict):
        return {"status": 400, "errors": ["Each override must be an object"], "override": {}}
    errors: list[str] = []
    zone: ZoneInfo | None = None
    if item.get("time_zone") is not None:
        try:
            zone = parse_zone(str(item["time_zone"]))
        except ApiError as error:
            errors.extend(error.errors)
    start = _override_time(item.get("start"), zone, "start", errors)
    end = _override_time(item.get("end"), zone, "end", errors)
    user = item.get("user")
    user_id = user.get("id") if isinstance(user, dict) else None
    if not isinstance(user_id, str) or not user_id:
        errors.append("user is required and must be a user reference")
        user_id = None
    elif user_id not in world.users:
        errors.append(f"User {user_id} not found")
    if start is not None and end is not None and end <= start:
        errors.append("Override must end after its start")
    if len(schedule.overrides) >= MAX_OVERRIDES_PER_SCHEDULE:
        errors.append(f"A schedule can hold at most {MAX_OVERRIDES_PER_SCHEDULE} overrides; delete some first")
    if errors:
        return {"status": 400, "errors": errors, "override": _rejected_echo(world, item, start, end, user_id)}
    assert start is not None and end is not None and user_id is not None
    override = Override(world.ids.new(), start.astimezone(UTC), end.astimezone(UTC), user_id,
                        created_order=world.new_override_order())
    schedule.overrides.append(override)
    return {"status": 201, "override": _override_json(world, override, ZoneInfo("UTC"))}


def _rejected_echo(world: World, item: dict[str, Any], start: datetime | None, end: datetime | None,
                   user_id: str | None) -> dict[str, Any]:
    """What a rejected override request sent, as PagerDuty echoes it: each field that was sent (parsed
    times normalized, a known user as its full reference, anything else verbatim), none that was not."""
    echo: dict[str, Any] = {}
    for name, parsed in (("start", start), ("end", end)):
        if name in item:
            echo[name] = iso(parsed) if parsed is not None else item[name]
    if "user" in item:
        echo["user"] = user_ref_by_id(world, user_id) if user_id in world.users else item["user"]
    if "time_zone" in item:
        echo["time_zone"] = item["time_zone"]
    return echo


def create_overrides(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``POST /schedules/{id}/overrides``: 201 with one ``{status, errors?, override}`` per item."""
    world = ctx.world
    schedule = _v2_schedule(world, params["id"])
    data = req.json()
    items: list[Any] | None = None
    if isinstance(data, dict) and isinstance(data.get("overrides"), list):
        items = data["overrides"]
    elif isinstance(data, dict) and isinstance(data.get("override"), dict):
        items = [data["override"]]  # the deprecated single-override body
    if not items:
        raise ApiError(400, 2003, "Missing Arguments",
                       ["'overrides' is required and must be a non-empty array of overrides"])
    if len(items) > MAX_OVERRIDES_PER_REQUEST:
        raise invalid(f"A maximum of {MAX_OVERRIDES_PER_REQUEST} overrides may be created at a time; "
                      f"got {len(items)}")
    return SandboxResponse(201, [_create_override(world, schedule, item) for item in items])


def delete_override(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``DELETE /schedules/{id}/overrides/{override_id}``: 204 deleted, 200 truncated to now, 400 past."""
    world = ctx.world
    schedule = _v2_schedule(world, params["id"])
    override = next((o for o in schedule.overrides if o.id == params["override_id"]), None)
    if override is None:
        raise not_found("Override")
    now = world.now
    if override.end <= now:
        raise ApiError(400, 2001, "Invalid Input Provided", ["You cannot remove an override that has ended"])
    if override.start >= now:
        schedule.overrides.remove(override)
        return SandboxResponse(204)
    override.end = now  # in progress: PagerDuty truncates it to the current time
    return SandboxResponse(200)


# --------------------------------------------------------------------------- v3


def _v3_error(status: int, field: str, error: ApiError | str) -> SandboxResponse:
    """v3 errors carry ``errors`` as a field -> messages map."""
    if isinstance(error, str):
        message, code, details = "Invalid Request", 2001, [error]
    else:
        message, code, details = error.message, error.code, error.errors or [error.message]
    return SandboxResponse(status, {"error": {"message": message, "code": code, "errors": {field: details}}})


def _rrule(turn_seconds: int) -> str:
    for unit, seconds in (("WEEKLY", WEEK), ("DAILY", DAY), ("HOURLY", 3600), ("MINUTELY", 60)):
        if turn_seconds % seconds == 0:
            interval = turn_seconds // seconds
            return f"RRULE:FREQ={unit}" + (f";INTERVAL={interval}" if interval > 1 else "")
    return f"RRULE:FREQ=SECONDLY;INTERVAL={turn_seconds}"


def _first_day(start: date, iso_weekday: int) -> date:
    return start + timedelta(days=(iso_weekday - start.isoweekday()) % 7)


def _events(schedule: Schedule, layer: Layer, name: str) -> list[dict[str, Any]]:
    """The layer as v3 events: one per restriction window, or one turn-long recurring event."""
    zone = zone_of(schedule)
    anchor = layer.rotation_virtual_start.astimezone(zone)
    turn = layer.rotation_turn_length_seconds
    windows: list[tuple[datetime, datetime, str, int]] = []
    if not layer.restrictions:
        # Aware + timedelta is wall-clock arithmetic, as the engine's whole-day turns are.
        end = anchor + timedelta(seconds=turn) if turn % DAY == 0 else (
            layer.rotation_virtual_start + timedelta(seconds=turn)).astimezone(zone)
        windows.append((anchor, end, _rrule(turn), 1))
    for restriction in layer.restrictions:
        if restriction.type == "weekly_restriction":
            weekday = restriction.start_day_of_week or 1
            day, period = _first_day(anchor.date(), weekday), WEEK
            rule = f"RRULE:FREQ=WEEKLY;BYDAY={_WEEKDAYS[weekday - 1]}"
        else:
            day, period, rule = anchor.date(), DAY, "RRULE:FREQ=DAILY"
        opens = datetime.combine(day, restriction.start_time_of_day.replace(tzinfo=None), tzinfo=zone)
        windows.append((opens, opens + timedelta(seconds=restriction.duration_seconds), rule,
                        max(1, turn // period)))
    rotation_self = f"{api_base()}/v3/schedules/{schedule.id}/rotations/{layer.id}"
    events: list[dict[str, Any]] = []
    for number, (opens, closes, rule, shifts_per_member) in enumerate(windows, start=1):
        event_id = f"{layer.id}E{number}"
        events.append({
            "id": event_id,
            "type": "schedule_event",
            "name": name,
            "start_time": {"date_time": iso(opens, zone), "time_zone": schedule.time_zone},
            "end_time": {"date_time": iso(closes, zone), "time_zone": schedule.time_zone},
            "effective_since": iso(layer.start),
            "effective_until": iso(layer.end) if layer.end is not None else None,
            "recurrence": [rule],
            "assignment_strategy": {
                "type": "rotating_member_assignment_strategy",
                "shifts_per_member": shifts_per_member,
                "members": [{"type": "user_member", "user_id": u} for u in layer.user_ids],
            },
            "self": f"{rotation_self}/events/{event_id}",
        })
    return events


def _v3_final(schedule: Schedule, window: Window, tz: ZoneInfo, overflow: bool) -> dict[str, Any]:
    """``final_schedule``: every rotation's shifts (concurrent ones too) and explicit empty gaps."""
    since, until = window
    end = until if until > since else since + POINT
    pieces = in_window(lambda lo, hi: v3_pieces(schedule, lo, hi), since, until, overflow, turn_pad(schedule))
    entries = [Entry(p.start, p.end, p.user_id) for p in pieces]
    shown = pieces if overflow else clip_pieces(pieces, since, until)
    gap_source: dict[str, Any] = {"type": "schedule_rotation"}
    if len(schedule.layers) == 1:  # a hole can only be attributed when there is one rotation
        gap_source["rotation_id"] = schedule.layers[0].id

    def source(piece: Piece) -> dict[str, Any]:
        if piece.override_id is None:
            return {"type": "schedule_rotation", "rotation_id": piece.rotation_id}
        return {"type": "schedule_rotation_override", "rotation_id": piece.rotation_id,
                "override_id": piece.override_id}

    timeline: list[tuple[datetime, int, dict[str, Any]]] = [
        (p.start, order, {"type": "computed_shift_assignment", "start_time": iso(p.start, tz),
                          "end_time": iso(p.end, tz), "member": {"type": "user_member", "user_id": p.user_id},
                          "source": source(p)})
        for order, p in enumerate(shown)
    ]
    for gap_start, gap_end in find_gaps(entries, since, end):
        gap_start, gap_end = max(gap_start, since), min(gap_end, until)
        timeline.append((gap_start, len(timeline), {
            "type": "computed_shift_assignment", "start_time": iso(gap_start, tz),
            "end_time": iso(gap_end, tz), "member": {"type": "empty_member"}, "source": dict(gap_source)}))
    timeline.sort(key=lambda item: (item[0], item[1]))
    return {
        "type": "final_schedule",
        "rendered_coverage_percentage": coverage_percentage(entries, since, end),
        "computed_shift_assignments": [item[2] for item in timeline],
    }


def list_schedules_v3(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``GET /v3/schedules``: shift-based schedules as references; ``query`` a case-insensitive name
    substring, ``team_ids[]`` the teams; ``limit``/``offset`` paging with ``more`` and no ``total``."""
    world = ctx.world
    try:
        limit, offset = page_params(req, default_limit=V3_LIST_DEFAULT_LIMIT, max_limit=V3_LIST_MAX_LIMIT)
    except ApiError as error:
        return _v3_error(400, "offset" if error.errors[0].startswith("offset") else "limit", error)
    query = (req.one("query") or "").strip().lower()
    team_ids = set(req.many("team_ids"))
    matching = [
        s for s in world.schedules.values()
        if s.kind == "v3" and query in s.name.lower() and (not team_ids or team_ids.intersection(s.team_ids))
    ]
    shown = matching[offset:offset + limit]
    return SandboxResponse(200, {
        "schedules": [schedule_ref(world, s) for s in shown],
        "limit": limit,
        "offset": offset,
        "more": offset + len(shown) < len(matching),
    })


def get_schedule_v3(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``GET /v3/schedules/{id}``: rotations, and the computed final schedule on request."""
    world = ctx.world
    schedule = _schedule(world, params["id"])
    if schedule.kind != "v3":
        return _v3_error(400, "schedule", f"Schedule {schedule.id} is a layer-based schedule; "
                                          f"use GET /schedules/{schedule.id} for it")
    try:
        window = _window(req)
    except ApiError as error:
        about_since = error.code == 2004 or any(e.startswith("since ") for e in error.errors)  # 2004: bad since
        return _v3_error(400, "since" if about_since else "until", error)
    try:
        tz = req.time_zone(schedule.time_zone)
    except ApiError as error:
        return _v3_error(400, "time_zone", error)
    policies = policies_by_schedule(world)
    body: dict[str, Any] = {
        "id": schedule.id,
        "type": "schedule_v3",
        "name": schedule.name,
        "time_zone": schedule.time_zone,
        "description": schedule.description,
        "teams": team_refs(world, schedule.team_ids),
        "escalation_policies": [policy_ref(world, p) for p in policies.get(schedule.id, [])],
        "rotations": [
            {"id": layer.id, "type": "schedule_rotation",
             "events": _events(schedule, layer, _layer_name(schedule, index)),
             "self": f"{api_base()}/v3/schedules/{schedule.id}/rotations/{layer.id}"}
            for index, layer in enumerate(schedule.layers)
        ],
        "self": f"{api_base()}/v3/schedules/{schedule.id}",
        "html_url": html_url(world, "schedule_v3", schedule.id),
    }
    if "final_schedule" in req.many("include") and window is not None:
        try:
            body["final_schedule"] = _v3_final(schedule, window, tz, req.flag("overflow"))
        except RenderLimitError as error:
            return _v3_error(400, "until", invalid(str(error)))
    return SandboxResponse(200, {"schedule": body})


ROUTES: list[Route] = [
    Route("GET", "/schedules", list_schedules),
    Route("GET", "/schedules/{id}", get_schedule),
    Route("GET", "/schedules/{id}/users", list_schedule_users),
    Route("GET", "/schedules/{id}/overrides", list_overrides),
    Route("POST", "/schedules/{id}/overrides", create_overrides),
    Route("DELETE", "/schedules/{id}/overrides/{override_id}", delete_override),
    Route("GET", "/v3/schedules", list_schedules_v3),
    Route("GET", "/v3/schedules/{id}", get_schedule_v3),
    *ONCALL_ROUTES,
]
