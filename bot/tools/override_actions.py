"""Write tools for schedule overrides: create one, delete one.

Like every write tool these only PREPARE (GETs): the proposal shows who is on call in that span now
(the people the override replaces, and any gap it fills) or the override that would be removed. A
person confirms; :func:`bot.tools.proposals.execute` then sends it as them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from pydantic import Field

from bot.analysis.windows import local_iso, parse_instant
from bot.pagerduty import format_datetime
from bot.tools.base import Operation, Proposal, Tool, ToolArgs, ToolContext, ToolResult
from bot.tools.common import asked_window, window_field
from bot.tools.errors import ToolError
from bot.tools.incident_actions import ensure_can_write
from bot.tools.resolve import clean_ref, resolve_schedule, resolve_user

MAX_OVERRIDE = timedelta(days=90)
MAX_START_AHEAD = timedelta(days=366)
"""How far ahead an override may start: a year."""
LOOKAHEAD = timedelta(days=90)
_SHOWN = 8


class CreateOverride(ToolArgs):
    """Propose an override: user covers schedule for a window (a span) or start-end; asker confirms."""

    schedule: str = Field(description="Schedule name")
    user: str = Field(description="Name, email or 'me'")
    start: str | None = Field(description="An instant: now, Friday 17:00, ISO")
    end: str | None = Field(description="An instant")
    window: str | None = window_field("start and end")


class DeleteOverride(ToolArgs):
    """Propose deleting a current or upcoming schedule override (IDs from list_overrides). The asker
    confirms."""

    schedule: str = Field(description="Schedule name")
    override_id: str = Field(description="Override ID")


async def _v2_schedule(ctx: ToolContext, name: str) -> dict[str, Any]:
    schedule = await resolve_schedule(ctx, name)
    if schedule.get("type") == "schedule_v3":
        raise ToolError(f"{schedule.get('name')} is a shift-based schedule: its overrides belong to one rotation "
                        "and alex can't change them.", "Tell the user to use PagerDuty's web app for it.")
    return schedule


def _span(ctx: ToolContext, args: CreateOverride) -> tuple[datetime, datetime, str | None]:
    """[start, end) in UTC, and a note when a start in the past was moved to now."""
    given = [v for v in (args.start, args.end) if v is not None and v.strip()]
    window = args.window.strip() if args.window and args.window.strip() else None
    if window is not None and given:
        raise ToolError("Give either window or start and end, not both.")
    if window is not None:
        span = asked_window(ctx, window, "Split it, or shorten it.", longest=MAX_OVERRIDE)
        if span.is_instant:
            raise ToolError(f"{window!r} is a moment, not a span.", "Use start and end, or 'next 4 hours'.")
        start, end = span.start, span.end
    elif len(given) == 2 and args.start is not None and args.end is not None:
        start, end = _instant(ctx, args.start), _instant(ctx, args.end)
    else:
        raise ToolError("An override needs both start and end, or a window.",
                        "Ask the user until when, e.g. end = '2026-03-11T18:00'.")
    if end <= start:
        raise ToolError(f"The override ends ({local_iso(end, ctx.tz)}) before it starts ({local_iso(start, ctx.tz)}).")
    if end <= ctx.now:
        raise ToolError(f"That span ended already ({local_iso(end, ctx.tz)}): overrides are for now or later.")
    if end - start > MAX_OVERRIDE:
        raise ToolError("An override here covers at most 90 days.", "Split it, or shorten it.")
    if start - ctx.now > MAX_START_AHEAD:
        raise ToolError(f"An override here starts at most {MAX_START_AHEAD.days} days ahead; "
                        f"{local_iso(start, ctx.tz)} is later.", "Ask for a nearer start.")
    note = None
    if start < ctx.now:
        note = f"The requested start ({local_iso(start, ctx.tz)}) has passed, so it starts now."
        start = ctx.now.replace(second=0, microsecond=0)
    return start, end, note


def _instant(ctx: ToolContext, text: str) -> datetime:
    try:
        return parse_instant(text, ctx.tz)
    except ValueError:
        pass
    span = asked_window(ctx, text, None)  # "now"; a span name is not one instant
    if not span.is_instant:
        raise ToolError(f"{text!r} is a span, not a time.", "Use window for spans, or an ISO-8601 time.")
    return span.start


async def create_override(args: CreateOverride, ctx: ToolContext) -> ToolResult[Any]:
    """Prepare an override; shows who is on call in that span now (whom it replaces)."""
    ensure_can_write(ctx, "create_override")
    start, end, note = _span(ctx, args)
    schedule = await _v2_schedule(ctx, args.schedule)
    user = await resolve_user(ctx, args.user)
    who = str(user.get("name") or user.get("summary") or user["id"])
    name = str(schedule.get("name") or schedule.get("summary") or schedule["id"])
    body = await ctx.client.get(f"/schedules/{quote(schedule['id'], safe='')}", {
        "since": format_datetime(start), "until": format_datetime(end), "time_zone": ctx.tz.key},
        deadline=ctx.deadline)
    entries = body.get("schedule", {}).get("final_schedule", {}).get("rendered_schedule_entries", [])
    tz = ctx.tz
    lines = [f"{who} covers {name} from {local_iso(start, tz)} to {local_iso(end, tz)} ({_length(end - start)})."]
    if note:
        lines.append(note)
    lines.extend(_replaced(entries, start, end, ctx, user["id"], who))
    operation = Operation("POST", f"/schedules/{schedule['id']}/overrides", {"overrides": [{
        "start": start.astimezone(tz).isoformat(timespec="seconds"),
        "end": end.astimezone(tz).isoformat(timespec="seconds"),
        "user": {"id": user["id"], "type": "user_reference"},
        "time_zone": tz.key,
    }]}, kind="override_create")
    summary = f"Put {who} on call for {name} from {local_iso(start, tz)} to {local_iso(end, tz)}"
    return ToolResult.propose(Proposal("create_override", summary, tuple(lines), (operation,)))


def _replaced(entries: list[dict[str, Any]], start: datetime, end: datetime, ctx: ToolContext,
              user_id: str, who: str) -> list[str]:
    """Who is on call in [start, end) now, gaps included, as lines (bounded)."""
    pieces: list[tuple[datetime, datetime, str | None, str]] = []
    cursor = start
    for entry in sorted(entries, key=lambda e: str(e.get("start"))):
        lo = max(parse_instant(str(entry.get("start"))), start)
        hi = min(parse_instant(str(entry.get("end"))), end)
        if hi <= lo:
            continue
        if lo > cursor:
            pieces.append((cursor, lo, None, ""))
        person = entry.get("user") or {}
        pieces.append((lo, hi, person.get("id"), str(person.get("summary") or person.get("name") or "someone")))
        cursor = max(cursor, hi)
    if cursor < end:
        pieces.append((cursor, end, None, ""))
    if pieces and all(p[2] == user_id for p in pieces):
        return [f"{who} is already on call for all of it: the override changes nothing now, it only keeps "
                "them on if the rotation changes."]
    shown = []
    for lo, hi, person_id, name in pieces[:_SHOWN]:
        span = f"{local_iso(lo, ctx.tz)} to {local_iso(hi, ctx.tz)}"
        if person_id is None:
            shown.append(f"Fills a gap (nobody on call), {span}")
        elif person_id == user_id:
            shown.append(f"{who} is already on call {span}")
        else:
            shown.append(f"Replaces {name}, {span}")
    if len(pieces) > _SHOWN:
        shown.append(f"… and {len(pieces) - _SHOWN} more shifts.")
    return shown


def _length(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    return " ".join(p for p in (f"{days} d" if days else "", f"{hours} h" if hours else "",
                                f"{mins} min" if mins else "") if p) or "under a minute"


async def delete_override(args: DeleteOverride, ctx: ToolContext) -> ToolResult[Any]:
    """Prepare deleting an override, re-read first (an unknown or finished one is an error)."""
    ensure_can_write(ctx, "delete_override")
    wanted = clean_ref(args.override_id, "override ID")
    schedule = await _v2_schedule(ctx, args.schedule)
    name = str(schedule.get("name") or schedule["id"])
    body = await ctx.client.get(f"/schedules/{quote(schedule['id'], safe='')}/overrides", {
        "since": format_datetime(ctx.now), "until": format_datetime(ctx.now + LOOKAHEAD), "overflow": True,
        "time_zone": ctx.tz.key}, deadline=ctx.deadline)
    overrides: list[dict[str, Any]] = [o for o in body.get("overrides", []) if isinstance(o, dict)]
    found = next((o for o in overrides if o.get("id") == wanted), None)
    if found is None:
        known = "; ".join(f"{o.get('id')} ({_describe(o, ctx)})" for o in overrides[:5])
        raise ToolError(f"{name} has no current or upcoming override {wanted}."
                        + (f" Its overrides: {known}." if known else " It has none in the next 90 days."),
                        "Use one of those IDs (list_overrides shows them); finished overrides can't be removed.")
    started = parse_instant(str(found.get("start"))) <= ctx.now
    line = f"Override {wanted} on {name}: {_describe(found, ctx)}"
    lines = [line, "It is under way: PagerDuty ends it now instead of deleting it." if started
             else "It has not started: it is removed."]
    operation = Operation("DELETE", f"/schedules/{schedule['id']}/overrides/{quote(wanted, safe='')}",
                          kind="override_delete")
    user = (found.get("user") or {}).get("summary") or "someone"
    since = local_iso(parse_instant(str(found.get("start"))), ctx.tz)
    summary = f"{'End' if started else 'Delete'} the override on {name} ({user}, from {since})"
    return ToolResult.propose(Proposal("delete_override", summary, tuple(lines), (operation,)))


def _describe(override: dict[str, Any], ctx: ToolContext) -> str:
    user = (override.get("user") or {}).get("summary") or "someone"
    return (f"{user} from {local_iso(parse_instant(str(override.get('start'))), ctx.tz)} "
            f"to {local_iso(parse_instant(str(override.get('end'))), ctx.tz)}")


TOOLS: list[Tool[Any]] = [
    Tool("create_override", CreateOverride, create_override, "write"),
    Tool("delete_override", DeleteOverride, delete_override, "write"),
]
