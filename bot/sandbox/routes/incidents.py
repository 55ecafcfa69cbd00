"""Incidents: ``GET /incidents`` and ``GET /incidents/{id}``; ``ROUTES`` carries every incident endpoint.

The other incident endpoints live next door: changes (``PUT``/``POST /incidents``, notes, status
updates, snooze) in :mod:`~bot.sandbox.routes.incident_actions`; log entries, alerts and priorities in
:mod:`~bot.sandbox.routes.log_entries`. They share :mod:`~bot.sandbox.routes.incident_requests` and
render with :mod:`~bot.sandbox.routes.incident_render`.

Behaviour follows PagerDuty's REST API v2 (official OpenAPI document plus the documented quirks):

* ``GET /incidents`` only searches ``created_at`` within ``since``..``until`` -- by default the last month
  up to now, at most 6 months (``date_range=all`` lifts the window). ``user_ids[]`` only ever matches
  open incidents (resolved incidents have no assignees). Default order is ``created_at`` ascending.

Performance: the incident list walks a ``created_at``-sorted index that is checked against the account
on every request (so it cannot go stale), bisects the time window, filters lazily and stops once the
requested page (plus one item, for ``more``) is found, unless ``total=true`` or a custom ``sort_by``
needs every match.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.sandbox.app import Context, Route
from bot.sandbox.http import SandboxRequest, SandboxResponse, invalid
from bot.sandbox.model import Incident
from bot.sandbox.routes.incident_actions import ROUTES as ACTION_ROUTES
from bot.sandbox.routes.incident_render import IncidentRenderer
from bot.sandbox.routes.incident_requests import (
    STATUSES,
    URGENCIES,
    incident_service_scope,
    includes,
    page,
    set_filter,
    visible_incident,
    window,
)
from bot.sandbox.routes.log_entries import ROUTES as LOG_ENTRY_ROUTES

MAX_RANGE_MONTHS = 6
DEFAULT_WINDOW_MONTHS = 1
INCIDENT_INCLUDES = frozenset({
    "acknowledgers", "agents", "assignees", "conference_bridge", "custom_fields", "escalation_policies",
    "first_trigger_log_entries", "priorities", "services", "teams", "users",
})
INCIDENT_SORT_FIELDS = ("incident_number", "created_at", "resolved_at", "urgency")
_URGENCY_RANK = {"low": 0, "high": 1}


def _sort_spec(req: SandboxRequest) -> list[tuple[str, bool]]:
    """``sort_by`` as (field, descending) pairs; comma-separated and/or repeated, at most two."""
    raw = req.query.get("sort_by", []) + req.query.get("sort_by[]", [])
    parts = [p.strip() for value in raw for p in value.split(",") if p.strip()]
    if len(parts) > 2:
        raise invalid("sort_by accepts at most 2 fields")
    spec: list[tuple[str, bool]] = []
    for part in parts:
        name, _, direction = part.partition(":")
        if name not in INCIDENT_SORT_FIELDS or direction not in ("", "asc", "desc"):
            raise invalid(f"sort_by '{part}' is invalid: use one of {', '.join(INCIDENT_SORT_FIELDS)} "
                          "with an optional :asc or :desc")
        spec.append((name, direction == "desc"))
    return spec


_FAR_FUTURE = datetime.max.replace(tzinfo=ZoneInfo("UTC"))


def _sort_key(name: str) -> Callable[[Incident], Any]:
    if name == "incident_number":
        return lambda i: i.number
    if name == "created_at":
        return lambda i: (i.created_at, i.number)
    if name == "urgency":
        return lambda i: _URGENCY_RANK[i.urgency]
    # NULLS LAST ascending / first descending: still-open incidents sort as "resolved in the future".
    return lambda i: i.resolved_at or _FAR_FUTURE


def list_incidents(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``GET /incidents``: filtered, windowed, sorted and paged incidents."""
    world = ctx.world
    tz = req.time_zone("UTC")
    include = includes(req, INCIDENT_INCLUDES)
    statuses = set_filter(req, "statuses", STATUSES)
    urgencies = set_filter(req, "urgencies", URGENCIES)
    user_ids = set_filter(req, "user_ids")
    services = incident_service_scope(ctx, req)
    incident_key = req.one("incident_key")
    sort = _sort_spec(req)
    if req.one("date_range") not in (None, "", "all"):
        raise invalid("date_range must be 'all'")
    since, until = (None, None) if req.one("date_range") == "all" else window(
        req, world.now, tz, default_months=DEFAULT_WINDOW_MONTHS, max_months=MAX_RANGE_MONTHS)

    ordered, keys = world.incidents_by_created()
    lo = 0 if since is None else bisect.bisect_left(keys, since)
    if until is None:
        hi = len(keys)
    elif req.one("until"):
        hi = bisect.bisect_left(keys, until)
    else:  # the default window runs up to and including now: a just-created incident is listed
        hi = bisect.bisect_right(keys, until)

    def candidates(descending: bool) -> Iterator[Incident]:
        if descending:
            return (ordered[i] for i in range(hi - 1, lo - 1, -1))
        return itertools.islice(ordered, lo, hi)

    def matching(source: Iterator[Incident]) -> Iterator[Incident]:
        for incident in source:
            if statuses is not None and incident.status not in statuses:
                continue
            if services is not None and incident.service_id not in services:
                continue
            if urgencies is not None and incident.urgency not in urgencies:
                continue
            if incident_key is not None and incident.incident_key != incident_key:
                continue
            if user_ids is not None and (
                    not incident.is_open or user_ids.isdisjoint(incident.assigned_user_ids)):
                continue
            yield incident

    renderer = IncidentRenderer(world, tz, include)
    if not sort or sort == [("created_at", False)]:
        items: Iterable[Incident] = matching(candidates(False))
    elif sort == [("created_at", True)]:
        items = matching(candidates(True))
    else:
        found = list(matching(candidates(False)))
        for name, descending in reversed(sort):  # stable sorts, last key first
            found.sort(key=_sort_key(name), reverse=descending)
        items = found
    return SandboxResponse(200, page(req, items, renderer.incident, "incidents"))


def get_incident(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``GET /incidents/{id}`` (ID or number), with the incident body when it has details."""
    incident = visible_incident(ctx, params["id"])
    renderer = IncidentRenderer(ctx.world, req.time_zone("UTC"), includes(req, INCIDENT_INCLUDES))
    return SandboxResponse(200, {"incident": renderer.incident(incident, body=True)})


ROUTES: list[Route] = [
    Route("GET", "/incidents", list_incidents),
    Route("GET", "/incidents/{id}", get_incident),
    *ACTION_ROUTES,
    *LOG_ENTRY_ROUTES,
]
