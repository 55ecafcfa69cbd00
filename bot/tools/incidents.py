"""Incident read tools: ``list_incidents`` (a filtered list plus its patterns) and ``get_incident``.

``list_incidents`` answers "what's open?" and "find patterns" in one call, cheaply even on a huge
account: for each status asked, the newest (up to) 100 matching incidents with ``total=true`` (so
every per-status count is exact), plus one request for the incidents resolved in the last 48 hours
(flapping, MTTA, MTTR), all concurrently. When more incidents match than were read, the patterns say
which sample they come from, one more request finds the oldest open incident (it is not among the
newest), and the result is marked partial. Demo account: 3 requests; 10,000 open: 4, in two rounds.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from bot.analysis import patterns as analysis
from bot.analysis.patterns import IncidentFact, compute_patterns
from bot.analysis.windows import Window, instant_or_none, local_iso
from bot.pagerduty.pagination import Page
from bot.tools.base import DEFAULT_LIST, RESULT_BUDGET_CHARS, Tool, ToolArgs, ToolContext, ToolResult
from bot.tools.common import asked_window, window_field
from bot.tools.errors import ToolError
from bot.tools.resolve import clean_ref, looks_like_id, resolve_service, resolve_team
from bot.tools.resolve import get_incident as fetch_incident
from bot.tools.results import WindowEcho, in_zone
from bot.tools.results.incidents import (
    HISTORY_CAP,
    AckTimes,
    AlertCounts,
    Burst,
    Flap,
    IncidentDetail,
    IncidentFacts,
    IncidentList,
    IncidentNote,
    IncidentPatterns,
    IncidentRow,
    OldestOpen,
    RepeatedTitle,
    ResolveTimes,
    Sample,
    Status,
    StatusRead,
    TimelineEvent,
)

OPEN_STATUSES: tuple[Status, ...] = ("triggered", "acknowledged")
ALL_STATUSES: tuple[Status, ...] = ("triggered", "acknowledged", "resolved")
MAX_SHOWN = DEFAULT_LIST
"""Rows one answer shows at most (about what fits in a result next to the patterns)."""
PER_STATUS = 100
"""Incidents read per status asked (the newest; one request each, with the status's exact total)."""
HISTORY_SIZE = HISTORY_CAP
HISTORY_SPAN = timedelta(hours=48)
DEFAULT_RESOLVED_WINDOW = "last 30 days"
SEARCH_SPAN = timedelta(days=180)
"""PagerDuty's ``/incidents`` searches at most 6 months (since to until); 180 days always fits."""
MAX_TITLE = 200
MAX_NOTE = 500
NOTES_SHOWN = 10
TIMELINE_SHOWN = 10
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BUDGET = RESULT_BUDGET_CHARS - 200  # headroom for the envelope the runner adds


# ----------------------------------------------------------------------------- list_incidents

class ListIncidents(ToolArgs):
    """Incidents (open by default) created in a window (an instant: since then), with patterns: noisy
    services, repeats, flapping, bursts, oldest, MTTA/MTTR. One incident: get_incident."""

    statuses: list[Status] | None = Field(description="null=open")
    service: str | None = Field(description="name")
    team: str | None = Field(description="name")
    urgency: Literal["high", "low"] | None = Field(description="null=any")
    window: str | None = window_field("any age if open, else last 30 days")
    mine: bool | None = Field(description="assigned to me")
    limit: int | None = Field(description="rows shown, 1-20 (null: 20; fewer if over 8 KB); total counts all")


async def list_incidents(args: ListIncidents, ctx: ToolContext) -> ToolResult[IncidentList]:
    limit = DEFAULT_LIST if args.limit is None else args.limit
    if limit < 1:
        raise ToolError(f"limit must be between 1 and {MAX_SHOWN}, not {limit}.", "Use null for the default.")
    statuses = [s for s in ALL_STATUSES if s in set(args.statuses or OPEN_STATUSES)]
    window = _window(args.window, "resolved" in statuses, ctx)  # argument errors before any request
    scope = await _scope(args, ctx)
    params: dict[str, Any] = {**scope, "sort_by": "created_at:desc"}
    if window is None:
        params["date_range"] = "all"
    else:
        params["since"], params["until"] = window.start, window.end

    reads = [ctx.client.fetch("/incidents", "incidents", {**params, "statuses[]": [status]}, max_items=PER_STATUS,
                              concurrent=True, deadline=ctx.deadline) for status in statuses]
    history_span = _history_span(args, statuses, window, ctx.now)
    if history_span is not None:
        history_params = {"statuses[]": ["resolved"], **scope, "sort_by": "created_at:desc",
                          "since": history_span[0], "until": history_span[1]}
        reads.append(ctx.client.fetch("/incidents", "incidents", history_params, max_items=HISTORY_SIZE,
                                      deadline=ctx.deadline))
    pages = await asyncio.gather(*reads)
    by_status = dict(zip(statuses, pages[:len(statuses)], strict=True))
    history = pages[len(statuses)] if history_span is not None else Page()
    counts = {status: page.total if page.total is not None else len(page.items) for status, page in by_status.items()}
    total = sum(counts.values())
    items = sorted((i for page in by_status.values() for i in page.items), key=_created_key, reverse=True)

    echo = _echo(window, ctx.tz)
    note = ("PagerDuty's assignee filter ('mine') only returns open incidents."
            if args.mine and "resolved" in statuses else None)
    if not items:
        return ToolResult.nothing("No incidents match.", IncidentList(
            window=echo, total=total, by_status=counts, shown=0, more=False, incidents=()))

    open_asked = [s for s in statuses if s in OPEN_STATUSES]
    older = Page()
    if any(len(by_status[s].items) < counts[s] for s in open_asked):
        # The sample is the newest incidents: the oldest open one lies beyond it.
        older = await ctx.client.fetch("/incidents", "incidents", {
            **params, "statuses[]": open_asked, "sort_by": "created_at:asc"}, max_items=1, deadline=ctx.deadline)
    found = compute_patterns(_facts(items), ctx.now, history=_facts(history.items), oldest=_facts(older.items))
    sample = Sample(statuses=tuple(StatusRead(status=s, read=len(page.items), total=counts[s])
                                   for s, page in by_status.items()),
                    history=len(history.items), history_capped=history.more)
    patterns = _patterns(found, sample, counts, open_now_known=bool(open_asked), tz=ctx.tz)

    def answer(rows: tuple[IncidentRow, ...], trimmed: str | None = None) -> IncidentList:
        return IncidentList(window=echo, total=total, by_status=counts, note=note, shown=len(rows),
                            more=total > len(rows), incidents=rows, patterns=patterns, trimmed=trimmed)

    envelope = answer((), "x" * 140)
    wanted = min(limit, MAX_SHOWN, len(items))
    rows = _fit([_row(i, ctx) for i in items[:wanted]], len(ToolResult.ok(envelope, partial=True).to_json()))
    trimmed = None
    if len(rows) < min(limit, len(items)):
        cap = f"at most {MAX_SHOWN} rows" if len(rows) == MAX_SHOWN else f"only {len(rows)} rows fit"
        trimmed = (f"{cap} in one answer (limit {limit}); narrow the filters (status, service, urgency, window) "
                   "to see the others")
    return ToolResult.ok(answer(tuple(rows), trimmed), partial=len(items) < total or history.more)


def _fit(rows: list[IncidentRow], base: int) -> list[IncidentRow]:
    """As many rows as keep the whole answer under the budget (at least one); "more" tells the rest."""
    size = base
    for count, row in enumerate(rows):
        size += row.wire_size() + 1
        if size > _BUDGET and count > 0:
            return rows[:count]
    return rows


def _patterns(found: analysis.Patterns, sample: Sample, counts: dict[Status, int], *, open_now_known: bool,
              tz: ZoneInfo) -> IncidentPatterns:
    """The patterns as the result says them: times in ``tz``, the ack ratio from the exact counts when
    both open statuses were asked, "open now" only when open incidents were read. The sample's split by
    status is left out (the exact counts are the list's ``by_status``)."""
    ack_ratio = found.ack_ratio
    opened = counts.get("triggered", 0) + counts.get("acknowledged", 0)
    if "acknowledged" in counts and "triggered" in counts and opened:
        ack_ratio = round(counts["acknowledged"] / opened, 2)
    oldest = found.oldest_open
    return IncidentPatterns(
        sample=sample,
        by_urgency=dict(found.by_urgency),
        top_services=dict(found.top_services),
        repeated_titles=tuple(RepeatedTitle(title=r.title, count=r.count, services=r.services[:3])
                              for r in found.repeated_titles),
        flapping=tuple(Flap(title=f.title, service=f.service, count=f.count, last=f.last_trigger.astimezone(tz),
                            open_now=f.open_now if open_now_known else None) for f in found.flapping),
        bursts=tuple(Burst(service=b.service, count=b.count, start=b.start.astimezone(tz),
                           minutes=round((b.end - b.start).total_seconds() / 60)) for b in found.bursts),
        oldest_open=None if oldest is None else OldestOpen(number=oldest.number, title=oldest.title,
                                                           service=oldest.service, age_hours=oldest.age_hours),
        ack_ratio=ack_ratio,
        mtta=None if found.mtta is None else AckTimes(median=found.mtta.median, mean=found.mtta.mean,
                                                      count=found.mtta.count,
                                                      still_open=found.acknowledged_still_open),
        mttr=None if found.mttr is None else ResolveTimes(median=found.mttr.median, mean=found.mttr.mean,
                                                          count=found.mttr.count,
                                                          never_acknowledged=found.resolved_never_acknowledged),
    )


def _facts(incidents: list[dict[str, Any]]) -> list[IncidentFact]:
    return [f for f in map(incident_fact, incidents) if f is not None]


async def _scope(args: ListIncidents, ctx: ToolContext) -> dict[str, Any]:
    """Filters shared by the listing and the history request (names resolved concurrently)."""
    scope: dict[str, Any] = {}
    if args.mine:
        if ctx.asker.user_id is None:
            raise ToolError("The asker has no PagerDuty account linked, so 'mine' is unknown.",
                            "Ask whose incidents they mean.")
        scope["user_ids[]"] = [ctx.asker.user_id]
    lookups = []
    if args.service is not None:
        lookups.append(("service_ids[]", resolve_service(ctx, args.service)))
    if args.team is not None:
        lookups.append(("team_ids[]", resolve_team(ctx, args.team)))
    found = await asyncio.gather(*(lookup for _, lookup in lookups))
    for (key, _), obj in zip(lookups, found, strict=True):
        scope[key] = [obj["id"]]
    if args.urgency is not None:
        scope["urgencies[]"] = [args.urgency]
    return scope


def _window(text: str | None, with_resolved: bool, ctx: ToolContext) -> Window | None:
    """The creation window asked (an instant: since then, until now); None means any age (open
    incidents without a window)."""
    if text is None or not text.strip():
        if not with_resolved:
            return None
        text = DEFAULT_RESOLVED_WINDOW
    hint = "Pass a window such as 'today' or 'last 7 days', or null."
    window = asked_window(ctx, text, hint, longest=SEARCH_SPAN)
    if window.start >= ctx.now:
        raise ToolError(f"The window {text!r} is in the future; incidents are created in the past.",
                        "Use a past window such as 'today' or 'last 24 hours'.")
    if window.is_instant:  # "since <instant>"
        if ctx.now - window.start > SEARCH_SPAN:
            raise ToolError(f"PagerDuty searches incidents over at most {SEARCH_SPAN.days} days; "
                            f"since {local_iso(window.start, ctx.tz)} is longer.", hint)
        return Window(window.start, ctx.now, f"since {window.label}")
    return window


def _history_span(args: ListIncidents, statuses: list[Status], window: Window | None,
                  now: datetime) -> tuple[datetime, datetime] | None:
    """The slice of the last 48 h to read resolved incidents from (flapping, MTTA/MTTR), or None when
    it is not needed: ``mine`` (PagerDuty drops resolved incidents from ``user_ids[]`` filters), or the
    listing itself already reads resolved incidents over that time."""
    if args.mine:
        return None
    since, until = now - HISTORY_SPAN, now
    if window is not None:
        since, until = max(since, window.start), min(until, window.end)
        if since >= until:
            return None
        if "resolved" in statuses:
            return None
    return since, until


def _created_key(incident: dict[str, Any]) -> tuple[datetime, int]:
    """Newest-first order across the per-status pages: creation time, then number."""
    return instant_or_none(incident.get("created_at")) or _EPOCH, int(incident.get("incident_number") or 0)


def _row(incident: dict[str, Any], ctx: ToolContext) -> IncidentRow:
    created = instant_or_none(incident.get("created_at"))
    is_open = incident.get("status") != "resolved"
    return IncidentRow(
        number=incident["incident_number"],
        title=_clip(str(incident.get("title") or incident.get("summary") or ""), MAX_TITLE),
        id=incident["id"],
        url=incident.get("html_url"),
        status=incident["status"],
        urgency=incident["urgency"],
        service=_summary(incident.get("service")),
        created=in_zone(created, ctx.tz),
        age=format_age(ctx.now - created) if created is not None and is_open else None,
        resolved=in_zone(_resolved_at(incident), ctx.tz),
        assignees=tuple(_names(a.get("assignee") for a in incident.get("assignments") or [])),
        priority=_summary(incident.get("priority")),
    )


# ----------------------------------------------------------------------------- get_incident

class GetIncident(ToolArgs):
    """One incident in detail: assignees, alerts, notes, timeline. Find numbers with list_incidents."""

    incident: str = Field(description='number ("4521") or ID')

    @field_validator("incident", mode="before")
    @classmethod
    def _number_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


async def get_incident(args: GetIncident, ctx: ToolContext) -> ToolResult[IncidentDetail]:
    ref = clean_ref(args.incident, "incident number")
    if not (ref.isdigit() or looks_like_id(ref)):
        raise ToolError(f"{ref!r} is not an incident number or ID.",
                        "Use the number (e.g. 4521); list_incidents finds it.")
    if looks_like_id(ref):  # all three at once
        got_incident, got_notes, got_log = await asyncio.gather(
            fetch_incident(ctx, ref), _notes(ctx, ref), _log(ctx, ref), return_exceptions=True)
        # The incident's own error ("there is no incident ...") explains best, so it goes first.
        if isinstance(got_incident, BaseException):
            raise got_incident
        if isinstance(got_notes, BaseException):
            raise got_notes
        if isinstance(got_log, BaseException):
            raise got_log
        incident, notes, log = got_incident, got_notes, got_log
    else:  # PagerDuty takes a number on /incidents/{id}; the sub-resources get the ID it answers
        incident = await fetch_incident(ctx, ref)
        notes, log = await asyncio.gather(_notes(ctx, incident["id"]), _log(ctx, incident["id"]))
    return ToolResult.ok(_detail(incident, notes, log, ctx))


async def _notes(ctx: ToolContext, incident_id: str) -> list[dict[str, Any]]:
    body = await ctx.client.get(f"/incidents/{quote(incident_id, safe='')}/notes", deadline=ctx.deadline)
    notes = body.get("notes")
    return [n for n in notes if isinstance(n, dict)] if isinstance(notes, list) else []


async def _log(ctx: ToolContext, incident_id: str) -> Page:
    return await ctx.client.fetch(f"/incidents/{quote(incident_id, safe='')}/log_entries", "log_entries",
                                  {"is_overview": True}, max_items=TIMELINE_SHOWN, deadline=ctx.deadline)


def _detail(incident: dict[str, Any], notes: list[dict[str, Any]], log: Page, ctx: ToolContext) -> IncidentDetail:
    tz = ctx.tz
    created = instant_or_none(incident.get("created_at"))
    acks = sorted(t for t in (instant_or_none(a.get("at")) for a in incident.get("acknowledgements") or []) if t)
    counts = incident.get("alert_counts") or {}
    details = (incident.get("body") or {}).get("details")
    facts = IncidentFacts(
        number=incident["incident_number"],
        title=str(incident.get("title") or incident.get("summary") or ""),
        id=incident["id"],
        url=incident.get("html_url"),
        status=incident["status"],
        urgency=incident["urgency"],
        priority=_summary(incident.get("priority")),
        service=_summary(incident.get("service")),
        escalation_policy=_summary(incident.get("escalation_policy")),
        assignees=tuple(_names(a.get("assignee") for a in incident.get("assignments") or [])),
        acknowledgers=tuple(_names(a.get("acknowledger") for a in incident.get("acknowledgements") or [])),
        created=in_zone(created, tz),
        acknowledged=in_zone(acks[0], tz) if acks else None,
        resolved=in_zone(_resolved_at(incident), tz),
        age=format_age(ctx.now - created) if created is not None and incident.get("status") != "resolved" else None,
        alerts=AlertCounts(total=counts.get("all", 0), triggered=counts.get("triggered", 0)),
        details=_clip(details, MAX_NOTE) if isinstance(details, str) and details else None,
    )
    ordered = sorted(notes, key=lambda n: str(n.get("created_at") or ""), reverse=True)
    entries = sorted(log.items, key=lambda e: str(e.get("created_at") or ""))
    return IncidentDetail(
        time_zone=tz.key,
        incident=facts,
        notes_total=len(notes),
        notes=tuple(_note(n, tz) for n in ordered[:NOTES_SHOWN]),
        timeline=tuple(_event(e, tz) for e in entries),
        timeline_note=f"the {len(entries)} newest key events; older ones are in PagerDuty" if log.more else None,
    )


def _note(note: dict[str, Any], tz: ZoneInfo) -> IncidentNote:
    return IncidentNote(at=in_zone(instant_or_none(note.get("created_at")), tz), by=_summary(note.get("user")),
                        text=_clip(str(note.get("content") or ""), MAX_NOTE))


EVENT_WORDS = {
    "trigger_log_entry": "triggered",
    "acknowledge_log_entry": "acknowledged",
    "unacknowledge_log_entry": "unacknowledged",
    "resolve_log_entry": "resolved",
    "escalate_log_entry": "escalated",
    "assign_log_entry": "reassigned",
    "annotate_log_entry": "note added",
    "notify_log_entry": "notified",
    "snooze_log_entry": "snoozed",
    "exhaust_escalation_path_log_entry": "escalation policy exhausted (nobody acknowledged)",
    "repeat_escalation_path_log_entry": "escalation policy repeated",
    "urgency_change_log_entry": "urgency changed",
    "priority_change_log_entry": "priority changed",
    "reach_trigger_limit_log_entry": "trigger limit reached",
    "reach_ack_limit_log_entry": "acknowledgement limit reached",
    "link_log_entry": "linked",
    "merge_log_entry": "merged",
    "status_update_log_entry": "status update sent",
}


def _event(entry: dict[str, Any], tz: ZoneInfo) -> TimelineEvent:
    kind = str(entry.get("type") or "")
    agent = entry.get("agent") or {}
    channel = entry.get("channel") or {}
    by = None
    if isinstance(agent, dict) and agent.get("summary"):
        if str(agent.get("type", "")).startswith("user"):
            by = str(agent["summary"])
        elif isinstance(channel, dict) and channel.get("type") == "auto":
            by = "PagerDuty (automatic)"
        else:
            by = f"{agent['summary']} (integration)"
    note = entry.get("note")
    return TimelineEvent(
        at=in_zone(instant_or_none(entry.get("created_at")), tz),
        what=EVENT_WORDS.get(kind, kind.removesuffix("_log_entry").replace("_", " ")),
        by=by,
        to=tuple(_names(entry.get("assignees") or []) or _names([entry.get("user")])),
        note=_clip(note, MAX_NOTE) if kind == "resolve_log_entry" and isinstance(note, str) and note else None,
    )


# ----------------------------------------------------------------------------- shared helpers

def incident_fact(incident: dict[str, Any]) -> IncidentFact | None:
    """A PagerDuty incident object as the pattern analysis sees it (None without a creation time)."""
    created = instant_or_none(incident.get("created_at"))
    if created is None:
        return None
    acks = [t for t in (instant_or_none(a.get("at")) for a in incident.get("acknowledgements") or []) if t]
    return IncidentFact(
        number=int(incident.get("incident_number") or 0),
        title=str(incident.get("title") or incident.get("summary") or ""),
        status=str(incident.get("status") or ""),
        urgency=str(incident.get("urgency") or ""),
        service_name=_summary(incident.get("service")) or "unknown service",
        created_at=created,
        acknowledged_at=min(acks) if acks else None,
        resolved_at=_resolved_at(incident),
        incident_key=incident.get("incident_key") or None,
        alert_count=int((incident.get("alert_counts") or {}).get("all") or 0),
        assignees=tuple(_names(a.get("assignee") for a in incident.get("assignments") or [])),
    )


def format_age(span: timedelta) -> str:
    """``"45m"``, ``"3h 20m"``, ``"9d 2h"``."""
    minutes = max(int(span.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {mins}m"
    return f"{mins}m"


def _echo(window: Window | None, tz: ZoneInfo) -> WindowEcho:
    """The creation window asked (never an instant: "since <instant>" ends now)."""
    if window is None:
        return WindowEcho(label="any age", time_zone=tz.key)
    return WindowEcho(label=window.label, start=window.start.astimezone(tz), end=window.end.astimezone(tz),
                      time_zone=tz.key)


def _resolved_at(incident: dict[str, Any]) -> datetime | None:
    if incident.get("status") != "resolved":
        return None
    return instant_or_none(incident.get("resolved_at")) or instant_or_none(incident.get("last_status_change_at"))


def _summary(ref: Any) -> str | None:
    if isinstance(ref, dict):
        text = ref.get("summary") or ref.get("name")
        return str(text) if text else None
    return None


def _names(refs: Any) -> list[str]:
    names: list[str] = []
    for ref in refs:
        name = _summary(ref)
        if name and name not in names:
            names.append(name)
    return names


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


TOOLS: list[Tool[Any]] = [
    Tool("list_incidents", ListIncidents, list_incidents, "read", result=IncidentList),
    Tool("get_incident", GetIncident, get_incident, "read", result=IncidentDetail),
]
