"""Log entries (an incident's and the whole account's), an incident's alerts, and the priorities list.

Log entries are listed newest first, like PagerDuty; ``since``/``until`` bound them only when given.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.sandbox.app import Context, Route
from bot.sandbox.http import SandboxRequest, SandboxResponse, invalid, not_found, paginate
from bot.sandbox.model import Incident, LogEntry
from bot.sandbox.routes.incident_render import IncidentRenderer, priority_json
from bot.sandbox.routes.incident_requests import (
    incident_service_scope,
    includes,
    page,
    page_end,
    set_filter,
    visible_incident,
    window,
)

LOG_ENTRY_INCLUDES = frozenset({"incidents", "services", "channels", "teams"})
# ``is_overview=true`` keeps "the most important changes"; notifications and notes are the noise.
_NOT_OVERVIEW = frozenset({"notify_log_entry", "annotate_log_entry"})


def _log_entry_filter(req: SandboxRequest, zone: ZoneInfo, now: datetime) -> Callable[[LogEntry], bool]:
    since, until = window(req, now, zone, default_months=None, max_months=None)
    overview = req.flag("is_overview")

    def keep(entry: LogEntry) -> bool:
        return ((since is None or entry.created_at >= since)
                and (until is None or entry.created_at < until)
                and not (overview and entry.type in _NOT_OVERVIEW))

    return keep


def list_incident_log_entries(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``GET /incidents/{id}/log_entries``: the incident's log, newest first."""
    incident = visible_incident(ctx, params["id"])
    tz = req.time_zone("UTC")
    include = includes(req, LOG_ENTRY_INCLUDES)
    keep = _log_entry_filter(req, tz, ctx.world.now)
    # Newest first, like PagerDuty; entries of the same instant keep their logical order reversed.
    entries = sorted((e for e in reversed(incident.log_entries) if keep(e)),
                     key=lambda e: e.created_at, reverse=True)
    renderer = IncidentRenderer(ctx.world, tz)
    return SandboxResponse(200, page(req, entries, lambda e: renderer.log_entry(e, incident, include),
                                     "log_entries"))


def list_log_entries(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``GET /log_entries``: the whole account's incident log, newest first."""
    world = ctx.world
    tz = req.time_zone("UTC")
    include = includes(req, LOG_ENTRY_INCLUDES)
    keep = _log_entry_filter(req, tz, ctx.world.now)
    scope = incident_service_scope(ctx, req, service_filter=False)
    incidents: Iterable[Incident] = world.incidents.values()
    if scope is not None:
        incidents = [i for i in incidents if i.service_id in scope]
    entries = [e for incident in incidents for e in incident.log_entries]
    if req.one("since") or req.one("until") or req.flag("is_overview"):
        entries = [e for e in entries if keep(e)]
    # Newest first, like PagerDuty. Without total=true only the page (and one more, for ``more``) is
    # needed: a partial selection instead of sorting the account's whole log.
    entries.reverse()
    end = None if req.flag("total") else page_end(req)
    if end is not None and end + 1 < len(entries):
        entries = heapq.nlargest(end + 1, entries, key=_entry_time)
    else:
        entries.sort(key=_entry_time, reverse=True)
    renderer = IncidentRenderer(world, tz)
    return SandboxResponse(200, page(
        req, entries, lambda e: renderer.log_entry(e, world.incidents[e.incident_id], include),
        "log_entries"))


def _entry_time(entry: LogEntry) -> datetime:
    return entry.created_at


def get_log_entry(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``GET /log_entries/{id}``: one log entry."""
    world = ctx.world
    visible = world.visible_service_ids(ctx.token_user)
    include = includes(req, LOG_ENTRY_INCLUDES)
    for incident in world.incidents.values():
        if visible is not None and incident.service_id not in visible:
            continue
        for entry in incident.log_entries:
            if entry.id == params["id"]:
                renderer = IncidentRenderer(world, req.time_zone("UTC"))
                return SandboxResponse(200, {"log_entry": renderer.log_entry(entry, incident, include)})
    raise not_found(f"Log entry {params['id']}")


def list_alerts(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``GET /incidents/{id}/alerts``: the incident's alerts, oldest first by default."""
    incident = visible_incident(ctx, params["id"])
    statuses = set_filter(req, "statuses", ("triggered", "resolved"))
    alert_key = req.one("alert_key")
    include = includes(req, frozenset({"services", "first_trigger_log_entries", "incidents"}))
    alerts = [a for a in incident.alerts
              if (statuses is None or a.status in statuses)
              and (alert_key is None or a.alert_key == alert_key)]
    sort = req.one("sort_by") or "created_at:asc"
    name, _, direction = sort.partition(":")
    if name not in ("created_at", "resolved_at") or direction not in ("", "asc", "desc"):
        raise invalid(f"sort_by '{sort}' is invalid")
    # Alerts keep no resolution time here; resolved_at sorts like created_at.
    alerts.sort(key=lambda a: a.created_at, reverse=direction == "desc")
    renderer = IncidentRenderer(ctx.world, req.time_zone("UTC"))
    return SandboxResponse(200, page(req, alerts, lambda a: renderer.alert(a, incident, include), "alerts"))


def list_priorities(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """Priorities most to least severe, i.e. in the account's order."""
    world = ctx.world
    return SandboxResponse(200, paginate(req, world.priorities, lambda p: priority_json(world, p),
                                         "priorities"))


ROUTES: list[Route] = [
    Route("GET", "/incidents/{id}/log_entries", list_incident_log_entries),
    Route("GET", "/incidents/{id}/alerts", list_alerts),
    Route("GET", "/log_entries", list_log_entries),
    Route("GET", "/log_entries/{id}", get_log_entry),
    Route("GET", "/priorities", list_priorities),
]
