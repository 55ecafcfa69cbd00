"""Incidents, their notes, status updates, snoozes, log entries and alerts, and the priorities list.

Behaviour follows PagerDuty's REST API v2 (official OpenAPI document plus the documented quirks):

* ``GET /incidents`` only searches ``created_at`` within ``since``..``until`` -- by default the last month
  up to now, at most 6 months (``date_range=all`` lifts the window). ``user_ids[]`` only ever matches
  open incidents (resolved incidents have no assignees). Default order is ``created_at`` ascending.
* ``{id}`` is an incident ID *or* its number everywhere.
* Status changes: acknowledging a triggered incident records the acknowledgement and makes the actor
  the assignee; resolving empties the assignments and stores ``resolution`` as the resolve log entry's
  note; setting ``triggered``/``acknowledged`` on a resolved incident reopens it (the spec says so).
  No-ops are errors as in PagerDuty: resolving a resolved incident is 1001, acknowledging an acknowledged
  one is 1002, triggering a triggered one is 1003.
* ``PUT /incidents`` (bulk, at most 250 items, else 413) is **all or nothing**: every item is validated
  against the current state first and the call fails with the errors of every bad item before anything
  changes; only then are all items applied.
* Team scope: a ``restricted_access`` token user sees (and may change) only incidents of their teams'
  services; others answer 404 as if they did not exist.

Performance: the incident list walks a ``created_at``-sorted index that is checked against the account
on every request (so it cannot go stale), bisects the time window, filters lazily and stops once the
requested page (plus one item, for ``more``) is found, unless ``total=true`` or a custom ``sort_by``
needs every match.
"""

from __future__ import annotations

import bisect
import hashlib
import heapq
import itertools
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot.sandbox.app import Context, Route
from bot.sandbox.http import (
    MAX_LIMIT,
    ApiError,
    SandboxRequest,
    SandboxResponse,
    invalid,
    iso,
    not_found,
    paginate,
    parse_time,
)
from bot.sandbox.model import (
    Acknowledgement,
    Alert,
    EscalationPolicy,
    Incident,
    IncidentStatus,
    LogEntry,
    Note,
    Priority,
    Service,
    StatusUpdate,
    Urgency,
    User,
    World,
)
from bot.sandbox.routes.directory import policy_json, service_json, team_json
from bot.sandbox.serialize import API_BASE, html_url, ref, user_object

T = TypeVar("T")

UTC = ZoneInfo("UTC")
MAX_BULK_UPDATE = 250
MAX_RANGE_MONTHS = 6
DEFAULT_WINDOW_MONTHS = 1
SNOOZE_MAX_SECONDS = 7 * 24 * 3600
NOTE_MAX_CHARS = 25_000
NOTES_PER_INCIDENT = 2000

INCIDENT_INCLUDES = frozenset({
    "acknowledgers", "agents", "assignees", "conference_bridge", "custom_fields", "escalation_policies",
    "first_trigger_log_entries", "priorities", "services", "teams", "users",
})
LOG_ENTRY_INCLUDES = frozenset({"incidents", "services", "channels", "teams"})
INCIDENT_SORT_FIELDS = ("incident_number", "created_at", "resolved_at", "urgency")
STATUSES = ("triggered", "acknowledged", "resolved")
URGENCIES = ("high", "low")
# ``is_overview=true`` keeps "the most important changes"; notifications and notes are the noise.
_NOT_OVERVIEW = frozenset({"notify_log_entry", "annotate_log_entry"})
_URGENCY_RANK = {"low": 0, "high": 1}
_OFFSET_SUFFIX = re.compile(r"(?:Z|z|[+\- ]\d{2}(?::?\d{2})?)$")
_STATUS: dict[str, IncidentStatus] = {"triggered": "triggered", "acknowledged": "acknowledged",
                                      "resolved": "resolved"}
_URGENCY: dict[str, Urgency] = {"high": "high", "low": "low"}


# =================================================================================================
# Rendering
# =================================================================================================
class _Renderer:
    """Renders incidents and their parts for one response.

    References and expanded objects shared by many incidents of a page (a service, a user, a policy)
    are built once per response: each response gets fresh objects, so nothing can go stale.
    """

    def __init__(self, world: World, tz: ZoneInfo = UTC, include: Iterable[str] = ()) -> None:
        self.world = world
        self.tz = tz
        self.include = frozenset(include)
        self._memo: dict[tuple[str, str], dict[str, Any]] = {}

    def _cached(self, kind: str, key: str, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        found = self._memo.get((kind, key))
        if found is None:
            found = self._memo[(kind, key)] = build()
        return found

    def time(self, value: datetime | None) -> str | None:
        return iso(value, self.tz) if value is not None else None

    # -- references and expansions -------------------------------------------------------------
    def user(self, user_id: str, expand: bool = False) -> dict[str, Any]:
        user = self.world.users.get(user_id)
        if expand and user is not None:
            return self._cached("user", user_id, lambda: user_object(self.world, user))
        return self._cached("user_ref", user_id, lambda: ref(
            self.world, "user", user_id, user.name if user else "Deleted user"))

    def service(self, service_id: str, expand: bool = False) -> dict[str, Any]:
        service = self.world.services.get(service_id)
        if expand and service is not None:
            return self._cached("service", service_id,
                                lambda: service_json(self.world, service, [], self.tz.key))
        return self._cached("service_ref", service_id, lambda: _service_ref(self.world, service_id))

    def policy(self, policy_id: str, expand: bool = False) -> dict[str, Any]:
        policy = self.world.escalation_policies.get(policy_id)
        if expand and policy is not None:
            return self._cached("policy", policy_id, lambda: policy_json(self.world, policy, []))
        return self._cached("policy_ref", policy_id, lambda: ref(
            self.world, "escalation_policy", policy_id, policy.name if policy else "Deleted policy"))

    def teams(self, team_ids: Sequence[str], expand: bool = False) -> list[dict[str, Any]]:
        return [self.team(t, expand) for t in team_ids if t in self.world.teams]

    def team(self, team_id: str, expand: bool = False) -> dict[str, Any]:
        team = self.world.teams[team_id]
        if expand:
            return self._cached("team", team_id, lambda: team_json(self.world, team))
        return self._cached("team_ref", team_id, lambda: ref(self.world, "team", team.id, team.name))

    def priority(self, priority_id: str | None, expand: bool = False) -> dict[str, Any] | None:
        if priority_id is None:
            return None
        found = next((p for p in self.world.priorities if p.id == priority_id), None)
        if found is None:
            return None
        if expand:
            return priority_json(self.world, found)
        body = ref(self.world, "priority", found.id, found.name)
        body.update(type="priority_reference", html_url=_priorities_page(self.world))
        return body

    def incident_ref(self, incident: Incident) -> dict[str, Any]:
        return self._cached("incident_ref", incident.id, lambda: ref(
            self.world, "incident", incident.id, _incident_summary(incident)))

    def agent(self, user_id: str | None, service_id: str, expand: bool = False) -> dict[str, Any]:
        """Who acted: a user, or the service itself when ``user_id`` is None (an integration)."""
        return self.user(user_id, expand) if user_id is not None else self.service(service_id, expand)

    # -- the incident --------------------------------------------------------------------------
    def incident(self, incident: Incident, *, body: bool = False) -> dict[str, Any]:
        """The ``incident`` object; ``body`` adds the incident body (single-incident reads only)."""
        world, include = self.world, self.include
        expand_users = "users" in include
        service = world.services.get(incident.service_id)
        changed_at = incident.last_status_change_at or incident.created_at
        trigger = _first_trigger(incident)
        assigned_at = self.time(changed_at)
        result: dict[str, Any] = {
            "id": incident.id,
            "type": "incident",
            "summary": _incident_summary(incident),
            "self": f"{API_BASE}/incidents/{incident.id}",
            "html_url": html_url(world, "incident", incident.id),
            "incident_number": incident.number,
            "title": incident.title,
            "description": incident.title,
            "created_at": self.time(incident.created_at),
            "updated_at": self.time(incident.updated_at),
            "status": incident.status,
            "incident_key": incident.incident_key,
            "service": self.service(incident.service_id, "services" in include),
            "assignments": [
                {"at": assigned_at, "assignee": self.user(u, expand_users or "assignees" in include)}
                for u in incident.assigned_user_ids
            ],
            "assigned_via": "escalation_policy",
            "last_status_change_at": self.time(changed_at),
            "last_status_change_by": self.agent(
                incident.last_status_change_by, incident.service_id,
                "agents" in include or (expand_users and incident.last_status_change_by is not None)),
            "resolved_at": self.time(incident.resolved_at),
            "first_trigger_log_entry": (
                self.log_entry(trigger, incident) if trigger and "first_trigger_log_entries" in include
                else _log_entry_ref(world, trigger) if trigger else None),
            "alert_counts": _alert_counts(incident),
            "is_mergeable": True,
            "incident_type": {"name": "incident_default"},
            "escalation_policy": self.policy(incident.escalation_policy_id, "escalation_policies" in include),
            "teams": self.teams(service.team_ids if service else [], "teams" in include),
            "pending_actions": self._pending_actions(incident, service),
            "acknowledgements": [
                {"at": self.time(a.at),
                 "acknowledger": self.user(a.user_id, expand_users or "acknowledgers" in include)}
                for a in incident.acknowledgements
            ],
            "priority": self.priority(incident.priority_id, "priorities" in include),
            "resolve_reason": None,
            "conference_bridge": None,
            "incidents_responders": [],
            "responder_requests": [],
            "urgency": incident.urgency,
        }
        if body and incident.details is not None:
            result["body"] = {"type": "incident_body", "details": incident.details}
        return result

    def _pending_actions(self, incident: Incident, service: Service | None) -> list[dict[str, Any]]:
        """What PagerDuty will do by itself next: escalate, un-acknowledge (ack timeout/snooze), resolve."""
        if not incident.is_open:
            return []
        actions: list[dict[str, Any]] = []
        since = incident.last_status_change_at or incident.created_at
        if incident.status == "triggered":
            policy = self.world.escalation_policies.get(incident.escalation_policy_id)
            can_escalate = policy is not None and policy.rules and (
                incident.escalation_level < len(policy.rules) or policy.num_loops)
            if policy is not None and can_escalate:
                rule = policy.rules[min(incident.escalation_level, len(policy.rules)) - 1]
                actions.append({"type": "escalate", "at": self.time(
                    since + timedelta(minutes=rule.escalation_delay_in_minutes))})
        elif incident.snoozed_until is not None:
            actions.append({"type": "unacknowledge", "at": self.time(incident.snoozed_until)})
        elif service is not None and service.acknowledgement_timeout:
            actions.append({"type": "unacknowledge", "at": self.time(
                since + timedelta(seconds=service.acknowledgement_timeout))})
        if service is not None and service.auto_resolve_timeout:
            actions.append({"type": "resolve", "at": self.time(
                since + timedelta(seconds=service.auto_resolve_timeout))})
        return actions

    # -- log entries, notes, alerts ------------------------------------------------------------
    def log_entry(self, entry: LogEntry, incident: Incident,
                  include: frozenset[str] = frozenset()) -> dict[str, Any]:
        """A polymorphic log entry (``trigger_log_entry``, ``acknowledge_log_entry`` ...)."""
        world = self.world
        service = world.services.get(incident.service_id)
        result: dict[str, Any] = {
            "id": entry.id,
            "type": entry.type,
            "summary": entry.summary or _default_summary(world, entry),
            "self": f"{API_BASE}/log_entries/{entry.id}",
            "html_url": f"https://{world.subdomain}.pagerduty.com/incidents/{incident.id}/log_entries/{entry.id}",
            "created_at": self.time(entry.created_at),
            "agent": self.agent(entry.agent_user_id, incident.service_id),
            "channel": _channel(entry),
            "service": self.service(incident.service_id, "services" in include),
            "incident": (self.incident(incident) if "incidents" in include else self.incident_ref(incident)),
            "teams": self.teams(service.team_ids if service else [], "teams" in include),
            "contexts": [],
            "event_details": {},
        }
        if entry.note is not None:
            result["note"] = entry.note
        if entry.type == "acknowledge_log_entry" and service and service.acknowledgement_timeout:
            result["acknowledgement_timeout"] = service.acknowledgement_timeout
        if entry.type in ("assign_log_entry", "escalate_log_entry"):
            result["assignees"] = [self.user(u) for u in entry.assigned_user_ids]
        if entry.type == "notify_log_entry" and entry.assigned_user_ids:
            result["user"] = self.user(entry.assigned_user_ids[0])
        return result

    def note(self, note: Note) -> dict[str, Any]:
        return {
            "id": note.id,
            "user": self.user(note.user_id),
            "channel": {"summary": "The PagerDuty website or APIs"},
            "content": note.content,
            "created_at": self.time(note.created_at),
            "updated_at": self.time(note.created_at),
        }

    def alert(self, alert: Alert, incident: Incident,
              include: frozenset[str] = frozenset()) -> dict[str, Any]:
        trigger = _first_trigger(incident)
        result: dict[str, Any] = {
            "id": alert.id,
            "type": "alert",
            "summary": alert.summary,
            "self": f"{API_BASE}/incidents/{incident.id}/alerts/{alert.id}",
            "html_url": f"https://{self.world.subdomain}.pagerduty.com/alerts/{alert.id}",
            "created_at": self.time(alert.created_at),
            "status": alert.status,
            "alert_key": alert.alert_key,
            "service": self.service(incident.service_id, "services" in include),
            "incident": self.incident(incident) if "incidents" in include else self.incident_ref(incident),
            "suppressed": False,
            "severity": alert.severity,
            "body": {"type": "alert_body", "contexts": [], "details": {}},
        }
        if trigger is not None:
            result["first_trigger_log_entry"] = (
                self.log_entry(trigger, incident) if "first_trigger_log_entries" in include
                else _log_entry_ref(self.world, trigger))
        return result


def render_incident(world: World, incident: Incident, tz: ZoneInfo = UTC, include: Iterable[str] = (),
                    *, body: bool = False) -> dict[str, Any]:
    """PagerDuty's ``incident`` object -- the one rendering every incident endpoint uses."""
    return _Renderer(world, tz, include).incident(incident, body=body)


def priority_json(world: World, priority: Priority) -> dict[str, Any]:
    """The full ``priority`` object."""
    body = ref(world, "priority", priority.id, priority.name)
    body.update(type="priority", html_url=_priorities_page(world), name=priority.name,
                description=priority.description, color=priority.color, order=priority.order)
    return body


def _priorities_page(world: World) -> str:
    # PagerDuty links every priority to the account's priority settings page.
    return f"https://{world.subdomain}.pagerduty.com/account/incident_priorities"


def _incident_summary(incident: Incident) -> str:
    return f"[#{incident.number}] {incident.title}"


def _service_ref(world: World, service_id: str) -> dict[str, Any]:
    service = world.services.get(service_id)
    body = ref(world, "service", service_id, service.name if service else "Deleted service")
    # PagerDuty links services to the service directory page.
    body["html_url"] = f"https://{world.subdomain}.pagerduty.com/service-directory/{service_id}"
    return body


def _first_trigger(incident: Incident) -> LogEntry | None:
    return next((e for e in incident.log_entries if e.type == "trigger_log_entry"), None)


def _log_entry_ref(world: World, entry: LogEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "type": f"{entry.type}_reference",
        "summary": entry.summary or _default_summary(world, entry),
        "self": f"{API_BASE}/log_entries/{entry.id}",
        "html_url": (f"https://{world.subdomain}.pagerduty.com/incidents/{entry.incident_id}"
                     f"/log_entries/{entry.id}"),
    }


def _alert_counts(incident: Incident) -> dict[str, int]:
    triggered = sum(1 for a in incident.alerts if a.status == "triggered")
    return {"all": len(incident.alerts), "triggered": triggered, "resolved": len(incident.alerts) - triggered}


def _channel(entry: LogEntry) -> dict[str, Any]:
    """The spec's channel types: a user acts via ``web_trigger``/``note``/``website``; a service via
    ``api`` (events) or ``auto`` (timeouts, escalations, notifications)."""
    if entry.agent_user_id is None:
        return {"type": "api" if entry.type == "trigger_log_entry" else "auto"}
    if entry.type == "trigger_log_entry":
        return {"type": "web_trigger", "summary": entry.summary or "Triggered through the website"}
    if entry.type == "annotate_log_entry":
        return {"type": "note", "summary": entry.note or ""}
    return {"type": "website"}


def _default_summary(world: World, entry: LogEntry) -> str:
    who = world.users[entry.agent_user_id].name if entry.agent_user_id in world.users else "the service"
    verbs = {
        "trigger_log_entry": "Triggered through the API" if entry.agent_user_id is None
        else f"Triggered through the website by {who}",
        "acknowledge_log_entry": f"Acknowledged by {who}",
        "unacknowledge_log_entry": f"Unacknowledged by {who}",
        "resolve_log_entry": f"Resolved by {who}",
        "annotate_log_entry": f"Note added by {who}",
        "assign_log_entry": f"Reassigned by {who}",
        "escalate_log_entry": f"Escalated by {who}",
        "snooze_log_entry": f"Snoozed by {who}",
        "notify_log_entry": "Notified",
        "urgency_change_log_entry": f"Urgency changed by {who}",
    }
    return verbs.get(entry.type, entry.type.removesuffix("_log_entry").replace("_", " ").capitalize())


# =================================================================================================
# Shared request helpers
# =================================================================================================
def _includes(req: SandboxRequest, allowed: frozenset[str]) -> frozenset[str]:
    values = req.many("include")
    bad = [v for v in values if v not in allowed]
    if bad:
        raise invalid(f"include[] has invalid values: {', '.join(bad)}")
    return frozenset(values)


def _visible_incident(ctx: Context, incident_id: str) -> Incident:
    """The incident by ID or number, 404 when unknown or outside the token user's team scope."""
    incident = ctx.world.find_incident(incident_id)
    if incident is not None:
        visible = ctx.world.visible_service_ids(ctx.token_user)
        if visible is None or incident.service_id in visible:
            return incident
    raise ApiError(404, 2100, "Not Found", [f"Incident {incident_id} not found"])


def _page(req: SandboxRequest, items: Iterable[T], render: Callable[[T], Any], key: str) -> dict[str, Any]:
    """:func:`paginate`, but stops pulling ``items`` (already in final order) once the page and one
    more item are known -- enough for ``more`` -- unless ``total=true`` asks for the full count."""
    if isinstance(items, Sequence):
        return paginate(req, items, render, key)
    end = None if req.flag("total") else _page_end(req)
    materialized = list(items) if end is None else list(itertools.islice(items, end + 1))
    return paginate(req, materialized, render, key)


def _page_end(req: SandboxRequest) -> int | None:
    """``offset + limit`` as :func:`paginate` will read them; None when they are malformed (then the
    whole list is handed to paginate, which rejects them with PagerDuty's error)."""
    try:
        limit = int(req.one("limit") or 25)
        offset = int(req.one("offset") or 0)
    except ValueError:
        return None
    if offset < 0:
        return None
    return offset + min(limit if limit >= 1 else 25, MAX_LIMIT)


def _add_months(value: datetime, months: int) -> datetime:
    """Calendar month arithmetic (the day is clamped: Mar 31 - 1 month = Feb 28/29)."""
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    days = [31, 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28, 31, 30, 31, 30,
            31, 31, 30, 31, 30, 31][month - 1]
    return value.replace(year=year, month=month, day=min(value.day, days))


def _bound(req: SandboxRequest, name: str, zone: ZoneInfo) -> datetime | None:
    """``since``/``until``; a value without an offset is read in ``zone`` (``time_zone``, else the
    account's zone, UTC here), as PagerDuty does on ``/incidents``."""
    raw = req.one(name)
    if raw is None or raw.strip() == "":
        return None
    value = parse_time(raw, name)
    text = raw.strip()
    clock = text.split("T", 1)[1] if "T" in text else ""
    if not _OFFSET_SUFFIX.search(clock):
        value = value.replace(tzinfo=zone)
    return value


def _window(req: SandboxRequest, now: datetime, zone: ZoneInfo, *, default_months: int | None,
            max_months: int | None) -> tuple[datetime | None, datetime | None]:
    """The ``[since, until)`` search window; ``(None, None)`` means unbounded."""
    since, until = _bound(req, "since", zone), _bound(req, "until", zone)
    if default_months is not None:
        until = until or now
        since = since or _add_months(until, -default_months)
    if since is not None and until is not None:
        if since > until:
            raise ApiError(400, 2005, "Invalid Query Date Range", ["since must be before until"])
        if max_months is not None and until > _add_months(since, max_months):
            # Field report (grafana-pagerduty#19): ranges over 6 months answer 400 code 2001.
            raise invalid(f"The date range between since and until is over the maximum of {max_months} "
                          "months. Narrow it, or use date_range=all.")
    return since, until


# =================================================================================================
# GET /incidents
# =================================================================================================
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


_FAR_FUTURE = datetime.max.replace(tzinfo=UTC)


def _sort_key(name: str) -> Callable[[Incident], Any]:
    if name == "incident_number":
        return lambda i: i.number
    if name == "created_at":
        return lambda i: (i.created_at, i.number)
    if name == "urgency":
        return lambda i: _URGENCY_RANK[i.urgency]
    # NULLS LAST ascending / first descending: still-open incidents sort as "resolved in the future".
    return lambda i: i.resolved_at or _FAR_FUTURE


def _set_filter(req: SandboxRequest, name: str,
                allowed: Sequence[str] | None = None) -> frozenset[str] | None:
    values = req.many(name)
    if not values:
        return None
    if allowed is not None:
        bad = [v for v in values if v not in allowed]
        if bad:
            raise invalid(f"{name}[] has invalid values: {', '.join(bad)} (allowed: {', '.join(allowed)})")
    return frozenset(values)


def _incident_service_scope(ctx: Context, req: SandboxRequest) -> frozenset[str] | None:
    """Service IDs an incident may have, from team scope, ``service_ids[]`` and ``team_ids[]``."""
    world = ctx.world
    scope: set[str] | None = None
    visible = world.visible_service_ids(ctx.token_user)
    if visible is not None:
        scope = set(visible)
    service_ids = req.many("service_ids")
    if service_ids:
        scope = set(service_ids) if scope is None else scope & set(service_ids)
    team_ids = set(req.many("team_ids"))
    if team_ids:
        of_teams = {s.id for s in world.services.values() if team_ids.intersection(s.team_ids)}
        scope = of_teams if scope is None else scope & of_teams
    return None if scope is None else frozenset(scope)


def list_incidents(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``GET /incidents``: filtered, windowed, sorted and paged incidents."""
    world = ctx.world
    tz = req.time_zone("UTC")
    include = _includes(req, INCIDENT_INCLUDES)
    statuses = _set_filter(req, "statuses", STATUSES)
    urgencies = _set_filter(req, "urgencies", URGENCIES)
    user_ids = _set_filter(req, "user_ids")
    services = _incident_service_scope(ctx, req)
    incident_key = req.one("incident_key")
    sort = _sort_spec(req)
    if req.one("date_range") not in (None, "", "all"):
        raise invalid("date_range must be 'all'")
    since, until = (None, None) if req.one("date_range") == "all" else _window(
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

    renderer = _Renderer(world, tz, include)
    if not sort or sort == [("created_at", False)]:
        items: Iterable[Incident] = matching(candidates(False))
    elif sort == [("created_at", True)]:
        items = matching(candidates(True))
    else:
        found = list(matching(candidates(False)))
        for name, descending in reversed(sort):  # stable sorts, last key first
            found.sort(key=_sort_key(name), reverse=descending)
        items = found
    return SandboxResponse(200, _page(req, items, renderer.incident, "incidents"))


def get_incident(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``GET /incidents/{id}`` (ID or number), with the incident body when it has details."""
    incident = _visible_incident(ctx, params["id"])
    renderer = _Renderer(ctx.world, req.time_zone("UTC"), _includes(req, INCIDENT_INCLUDES))
    return SandboxResponse(200, {"incident": renderer.incident(incident, body=True)})


# =================================================================================================
# Updates: PUT /incidents, PUT /incidents/{id}
# =================================================================================================
@dataclass(slots=True)
class _Change:
    """One validated update, applied only once every update of the request is known to be valid."""

    incident: Incident
    status: IncidentStatus | None = None
    resolution: str | None = None
    escalation_level: int | None = None
    assignee_ids: list[str] | None = None
    policy_id: str | None = None
    urgency: Urgency | None = None
    title: str | None = None
    set_priority: bool = False
    priority_id: str | None = None
    service_id: str | None = None


def _reference_id(value: Any, field_name: str, types: tuple[str, ...]) -> str:
    if not isinstance(value, dict) or not isinstance(value.get("id"), str) or not value["id"]:
        raise invalid(f"{field_name} must be a reference object with an id")
    if value.get("type") not in types:
        raise invalid(f"{field_name}.type must be one of {', '.join(types)}")
    object_id: str = value["id"]
    return object_id


def _assignee_ids(world: World, value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        raise invalid("assignments must be a non-empty array of {\"assignee\": user reference}")
    ids: list[str] = []
    for item in value:
        if not isinstance(item, dict):
            raise invalid("each assignment must be an object with an assignee")
        user_id = _reference_id(item.get("assignee"), "assignments[].assignee", ("user_reference", "user"))
        if user_id not in world.users:
            raise ApiError(400, 1007, "Assigned To User Not Found", [f"User {user_id} not found"])
        if user_id not in ids:
            ids.append(user_id)
    return ids


def _find_priority(world: World, value: Any) -> str | None:
    """A priority reference or -- on updates -- a priority name (the highest priority of that name)."""
    if value is None:
        return None
    if isinstance(value, str):
        found = next((p for p in world.priorities if p.name == value), None) or next(
            (p for p in world.priorities if p.name.lower() == value.lower()), None)
        if found is None:
            raise ApiError(400, 1020, "Invalid Priority", [f"No priority is named '{value}'"])
        return found.id
    priority_id = _reference_id(value, "priority", ("priority_reference", "priority"))
    if not any(p.id == priority_id for p in world.priorities):
        raise ApiError(400, 1020, "Invalid Priority", [f"Priority {priority_id} not found"])
    return priority_id


def _policy(world: World, policy_id: str) -> EscalationPolicy:
    policy = world.escalation_policies.get(policy_id)
    if policy is None:
        raise ApiError(400, 1014, "Escalation Policy Not Found", [f"Escalation policy {policy_id} not found"])
    return policy


def _level_users(policy: EscalationPolicy | None, level: int) -> list[str]:
    """The users a level assigns to. Only direct user targets are resolved: schedule targets would
    need the schedule engine, which the incident routes deliberately keep out of."""
    if policy is None or not policy.rules:
        return []
    rule = policy.rules[min(level, len(policy.rules)) - 1]
    return [t.id for t in rule.targets if t.type == "user_reference"]


def _parse_change(ctx: Context, incident: Incident, data: dict[str, Any], *, allow_service: bool) -> _Change:
    """Validate one update against the incident's current state, without changing anything."""
    world = ctx.world
    if data.get("type") not in ("incident", "incident_reference"):
        raise invalid("type must be 'incident' or 'incident_reference'")
    change = _Change(incident)
    status = data.get("status")
    if status is not None:
        if status not in STATUSES:
            raise ApiError(400, 1003, "Invalid Status Provided",
                           [f"status must be one of {', '.join(STATUSES)}"])
        if status == incident.status:
            if status == "resolved":
                raise ApiError(400, 1001, "Incident Already Resolved",
                               [f"Incident {incident.id} is resolved"])
            if status == "acknowledged":
                raise ApiError(400, 1002, "Incident Already Acknowledged",
                               [f"Incident {incident.id} is already acknowledged"])
            raise ApiError(400, 1003, "Invalid Status Provided",
                           [f"Incident {incident.id} is already triggered"])
        change.status = _STATUS[status]
    resolution = data.get("resolution")
    if resolution is not None:
        if not isinstance(resolution, str):
            raise invalid("resolution must be a string")
        change.resolution = resolution
    if "title" in data:
        title = data["title"]
        if not isinstance(title, str) or not title.strip():
            raise invalid("title must be a non-empty string")
        change.title = title
    if "urgency" in data:
        if data["urgency"] not in URGENCIES:
            raise invalid("urgency must be 'high' or 'low'")
        change.urgency = _URGENCY[data["urgency"]]
    if "priority" in data:
        change.set_priority, change.priority_id = True, _find_priority(world, data["priority"])
    if "assignments" in data and "escalation_policy" in data:
        raise invalid("assignments and escalation_policy cannot both be given")
    if "assignments" in data:
        change.assignee_ids = _assignee_ids(world, data["assignments"])
    if "escalation_policy" in data:
        policy_id = _reference_id(data["escalation_policy"], "escalation_policy",
                                  ("escalation_policy_reference", "escalation_policy"))
        change.policy_id = _policy(world, policy_id).id
    if "escalation_level" in data:
        level = data["escalation_level"]
        policy = world.escalation_policies.get(change.policy_id or incident.escalation_policy_id)
        rules = len(policy.rules) if policy else 0
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= max(rules, 1):
            raise ApiError(400, 1006, "Cannot Escalate",
                           [f"escalation_level must be between 1 and {max(rules, 1)}"])
        change.escalation_level = level
    if "service" in data:
        if not allow_service:
            raise invalid("service can only be changed with PUT /incidents/{id}")
        service_id = _reference_id(data["service"], "service", ("service_reference",))
        service = world.services.get(service_id)
        visible = world.visible_service_ids(ctx.token_user)
        if service is None or (visible is not None and service_id not in visible):
            raise ApiError(400, 5002, "Service Not Found", [f"Service {service_id} not found"])
        change.service_id = service_id
    reassigning = change.assignee_ids is not None or change.escalation_level is not None or change.policy_id
    if reassigning and incident.status == "resolved" and change.status in (None, "resolved"):
        raise ApiError(400, 1001, "Incident Already Resolved",
                       [f"Incident {incident.id} is resolved: reopen it to reassign or escalate it"])
    return change


def _log(world: World, incident: Incident, entry_type: str, actor: User | None, summary: str, *,
         note: str | None = None, assigned: Sequence[str] = ()) -> LogEntry:
    entry = LogEntry(world.ids.new(), entry_type, world.now, incident.id,
                     agent_user_id=actor.id if actor else None, summary=summary, note=note,
                     assigned_user_ids=list(assigned))
    incident.log_entries.append(entry)
    return entry


def _set_status(incident: Incident, status: IncidentStatus, actor: User, now: datetime) -> None:
    incident.status = status
    incident.last_status_change_at = now
    incident.last_status_change_by = actor.id


def _apply_change(ctx: Context, change: _Change) -> None:
    world, actor, incident, now = ctx.world, ctx.actor, change.incident, ctx.world.now
    if change.title is not None:
        incident.title = change.title
    if change.urgency is not None and change.urgency != incident.urgency:
        incident.urgency = change.urgency
        _log(world, incident, "urgency_change_log_entry", actor,
             f"Urgency changed to {change.urgency} by {actor.name}")
    if change.set_priority:
        incident.priority_id = change.priority_id
    if change.service_id is not None:
        incident.service_id = change.service_id

    if change.status is not None and incident.status == "resolved":
        # Reopen: back to triggered (assigned by the request or the policy's first level) or
        # acknowledged (assigned to the actor, who acknowledges it).
        incident.resolved_at = None
        incident.acknowledgements = []
        incident.escalation_level = 1
        if change.policy_id:
            incident.escalation_policy_id = change.policy_id
        policy = world.escalation_policies.get(incident.escalation_policy_id)
        if change.status == "acknowledged":
            incident.assigned_user_ids = [actor.id]
        else:
            incident.assigned_user_ids = change.assignee_ids or _level_users(policy, 1)
        _set_status(incident, "triggered", actor, now)
        _log(world, incident, "trigger_log_entry", actor, f"Reopened by {actor.name}",
             assigned=incident.assigned_user_ids)
        change.assignee_ids = change.policy_id = change.escalation_level = None

    if change.policy_id is not None:
        incident.escalation_policy_id = change.policy_id
        incident.escalation_level = 1
        users = _level_users(world.escalation_policies.get(change.policy_id), 1)
        incident.assigned_user_ids = users or incident.assigned_user_ids
        _log(world, incident, "escalate_log_entry", actor, f"Escalation policy changed by {actor.name}",
             assigned=incident.assigned_user_ids)
    if change.escalation_level is not None:
        incident.escalation_level = change.escalation_level
        policy = world.escalation_policies.get(incident.escalation_policy_id)
        users = _level_users(policy, change.escalation_level)
        incident.assigned_user_ids = users or incident.assigned_user_ids
        _log(world, incident, "escalate_log_entry", actor,
             f"Escalated to level {change.escalation_level} by {actor.name}",
             assigned=incident.assigned_user_ids)
    if change.assignee_ids is not None:
        incident.assigned_user_ids = list(change.assignee_ids)
        _log(world, incident, "assign_log_entry", actor, f"Reassigned by {actor.name}",
             assigned=incident.assigned_user_ids)
    reassigned = change.policy_id is not None or change.escalation_level is not None \
        or change.assignee_ids is not None
    if reassigned and incident.status == "acknowledged" and change.status is None:
        # Reassigning or escalating an acknowledged incident hands it over: it is triggered again.
        incident.acknowledgements = []
        incident.snoozed_until = None
        _set_status(incident, "triggered", actor, now)

    if change.status == "acknowledged":
        incident.acknowledgements.append(Acknowledgement(actor.id, now))
        incident.assigned_user_ids = [actor.id]
        incident.snoozed_until = None
        _set_status(incident, "acknowledged", actor, now)
        _log(world, incident, "acknowledge_log_entry", actor, f"Acknowledged by {actor.name}")
    elif change.status == "resolved":
        incident.resolved_at = now
        incident.assigned_user_ids = []
        incident.acknowledgements = []
        incident.snoozed_until = None
        for alert in incident.alerts:
            alert.status = "resolved"
        _set_status(incident, "resolved", actor, now)
        _log(world, incident, "resolve_log_entry", actor, f"Resolved by {actor.name}", note=change.resolution)
    elif change.status == "triggered" and incident.status == "acknowledged":
        incident.acknowledgements = []
        incident.snoozed_until = None
        _set_status(incident, "triggered", actor, now)
        _log(world, incident, "unacknowledge_log_entry", actor, f"Unacknowledged by {actor.name}")
    incident.updated_at = now


def update_incidents(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """Bulk update. All or nothing: every item is validated before any is applied."""
    data = req.json()
    items = data.get("incidents") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise invalid("'incidents' is required and must be an array", code=2003, message="Missing Arguments")
    if len(items) > MAX_BULK_UPDATE:
        raise ApiError(413, 2001, "Request Entity Too Large",
                       [f"A maximum of {MAX_BULK_UPDATE} incidents may be updated at a time; "
                        f"got {len(items)}"])
    changes: list[_Change] = []
    failures: list[ApiError] = []
    seen: set[str] = set()
    for position, item in enumerate(items):
        try:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                raise ApiError(400, 1004, "Invalid Id Provided", ["each incident needs an id"])
            incident = _visible_incident(ctx, item["id"])
            if incident.id in seen:
                raise invalid(f"incident {incident.id} appears more than once")
            seen.add(incident.id)
            changes.append(_parse_change(ctx, incident, item, allow_service=False))
        except ApiError as error:
            where = f"incidents[{position}] ({_item_id(item)})"
            error.errors = [f"{where}: {e}" for e in error.errors or [error.message]]
            failures.append(error)
    if failures:
        first = failures[0]
        status = 404 if all(f.status == 404 for f in failures) else 400
        raise ApiError(status, first.code, first.message, [e for f in failures for e in f.errors])
    for change in changes:
        _apply_change(ctx, change)
    renderer = _Renderer(ctx.world)
    updated = [c.incident for c in changes]
    if req.one("limit") is None and req.one("offset") is None:
        # The answer is paginated-shaped; unless the caller pages it, it holds every updated incident.
        return SandboxResponse(200, {
            "incidents": [renderer.incident(i) for i in updated], "limit": len(updated), "offset": 0,
            "more": False, "total": len(updated) if req.flag("total") else None})
    return SandboxResponse(200, paginate(req, updated, renderer.incident, "incidents",
                                         max_limit=MAX_BULK_UPDATE))


def _item_id(item: Any) -> str:
    return str(item.get("id")) if isinstance(item, dict) else "?"


def update_incident(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``PUT /incidents/{id}``: status change, reassignment, escalation or edit of one incident."""
    incident = _visible_incident(ctx, params["id"])
    change = _parse_change(ctx, incident, req.object_body("incident"), allow_service=True)
    _apply_change(ctx, change)
    return SandboxResponse(200, {"incident": render_incident(ctx.world, incident)})


# =================================================================================================
# POST /incidents
# =================================================================================================
def create_incident(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``POST /incidents``: a manual incident, deduplicated on open incidents' ``incident_key``."""
    world, actor, now = ctx.world, ctx.actor, ctx.world.now
    data = req.object_body("incident")
    missing = [name for name in ("type", "title", "service") if data.get(name) in (None, "")]
    if missing:
        raise invalid(*(f"{name} is required" for name in missing))
    if data["type"] != "incident":
        raise invalid("type must be 'incident'")
    title = data["title"]
    if not isinstance(title, str) or not title.strip():
        raise invalid("title must be a non-empty string")
    service_id = _reference_id(data["service"], "service", ("service_reference",))
    service = world.services.get(service_id)
    visible = world.visible_service_ids(ctx.token_user)
    if service is None or (visible is not None and service_id not in visible):
        raise ApiError(400, 5002, "Service Not Found", [f"Service {service_id} not found"])
    if service.admin_status == "disabled":
        raise invalid(f"Service {service.name} is disabled: it cannot have new incidents",
                      message="Incident could not be created")
    urgency = data.get("urgency", "high")  # the services here use the constant "high" urgency rule
    if urgency not in URGENCIES:
        raise invalid("urgency must be 'high' or 'low'")
    if "assignments" in data and "escalation_policy" in data:
        raise invalid("assignments and escalation_policy cannot both be given: assignments bypass the "
                      "escalation policy")
    policy = world.escalation_policies.get(service.escalation_policy_id)
    if "escalation_policy" in data:
        policy = _policy(world, _reference_id(data["escalation_policy"], "escalation_policy",
                                              ("escalation_policy_reference", "escalation_policy")))
    assignees = _assignee_ids(world, data["assignments"]) if "assignments" in data else None
    priority_id = _find_priority(world, data.get("priority"))
    details = _details(data.get("body"))
    key = data.get("incident_key")
    if key is not None and (not isinstance(key, str) or not key):
        raise invalid("incident_key must be a non-empty string")
    if key is not None:
        duplicate = next((i for i in world.incidents.values()
                          if i.is_open and i.service_id == service.id and i.incident_key == key), None)
        if duplicate is not None:
            raise invalid(f"Open incident with key '{key}' already exists on service {service.name} "
                          f"(incident #{duplicate.number})", message="Incident could not be created")

    incident_id = world.ids.new()
    incident = Incident(
        id=incident_id, number=world.next_incident_number, title=title, status="triggered",
        urgency=urgency, service_id=service.id,
        escalation_policy_id=policy.id if policy else service.escalation_policy_id,
        created_at=now, updated_at=now,
        incident_key=key or hashlib.md5(incident_id.encode(), usedforsecurity=False).hexdigest(),
        assigned_user_ids=assignees if assignees is not None else _level_users(policy, 1),
        priority_id=priority_id, last_status_change_at=now, last_status_change_by=actor.id,
        details=details,
    )
    _log(world, incident, "trigger_log_entry", actor, "Triggered through the website",
         assigned=incident.assigned_user_ids)
    if assignees == [actor.id]:
        # PagerDuty: an incident you assign to yourself starts acknowledged (nobody is paged).
        incident.status = "acknowledged"
        incident.acknowledgements.append(Acknowledgement(actor.id, now))
        _log(world, incident, "acknowledge_log_entry", actor, f"Acknowledged by {actor.name}")
    incident.alerts.append(Alert(world.ids.new(), title, now, "triggered", incident.incident_key))
    world.add_incident(incident)
    return SandboxResponse(201, {"incident": render_incident(world, incident)})


def _details(body: Any) -> str | None:
    if body is None:
        return None
    if not isinstance(body, dict):
        raise invalid("body must be an object {\"type\": \"incident_body\", \"details\": \"...\"}")
    details = body.get("details")
    if details is None or isinstance(details, str):
        return details
    return json.dumps(details)


# =================================================================================================
# Notes, status updates, snooze
# =================================================================================================
def list_notes(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``GET /incidents/{id}/notes``: every note, oldest first (not paginated)."""
    incident = _visible_incident(ctx, params["id"])
    renderer = _Renderer(ctx.world, req.time_zone("UTC"))
    return SandboxResponse(200, {"notes": [renderer.note(n) for n in incident.notes]})


def add_note(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``POST /incidents/{id}/notes``: a note by the ``From`` user (201), logged as an annotation."""
    incident = _visible_incident(ctx, params["id"])
    content = req.object_body("note").get("content")
    if not isinstance(content, str) or not content.strip():
        raise invalid("note content is required", code=2003, message="Missing Arguments")
    if len(content) > NOTE_MAX_CHARS:
        raise invalid(f"note content is longer than {NOTE_MAX_CHARS} characters")
    if len(incident.notes) >= NOTES_PER_INCIDENT:
        raise invalid(f"An incident can have at most {NOTES_PER_INCIDENT} notes")
    world, actor = ctx.world, ctx.actor
    note = Note(world.ids.new(), actor.id, content, world.now)
    incident.notes.append(note)
    _log(world, incident, "annotate_log_entry", actor, f"Note added by {actor.name}", note=content)
    incident.updated_at = world.now
    return SandboxResponse(201, {"note": _Renderer(world).note(note)})


def add_status_update(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``POST /incidents/{id}/status_updates``: a stakeholder update sent by the ``From`` user."""
    incident = _visible_incident(ctx, params["id"])
    data = req.json()
    if not isinstance(data, dict):
        raise invalid("the body must be an object with a message")
    message = data.get("message")
    if not isinstance(message, str) or not message.strip():
        raise invalid("message is required", code=2003, message="Missing Arguments")
    subject, html_message = data.get("subject"), data.get("html_message")
    for name, value in (("subject", subject), ("html_message", html_message)):
        if value is not None and not isinstance(value, str):
            raise invalid(f"{name} must be a string")
    world, actor = ctx.world, ctx.actor
    update = StatusUpdate(world.ids.new(), message, world.now, actor.id, subject)
    incident.status_updates.append(update)
    incident.updated_at = world.now
    body: dict[str, Any] = {
        "id": update.id,
        "message": update.message,
        "created_at": iso(update.created_at),
        "sender": _Renderer(world).user(actor.id),
    }
    # subject and html_message (a custom HTML e-mail) are echoed only when given, as the spec says.
    if subject is not None:
        body["subject"] = subject
    if html_message is not None:
        body["html_message"] = html_message
    return SandboxResponse(200, {"status_update": body})


def snooze_incident(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``POST /incidents/{id}/snooze``: delay an acknowledged incident's un-acknowledgement."""
    incident = _visible_incident(ctx, params["id"])
    data = req.json()
    duration = data.get("duration") if isinstance(data, dict) else None
    if isinstance(duration, bool) or not isinstance(duration, int) or not 1 <= duration <= SNOOZE_MAX_SECONDS:
        raise ApiError(400, 1013, "Snooze Duration is Invalid",
                       [f"duration must be a whole number of seconds from 1 to {SNOOZE_MAX_SECONDS}"])
    if incident.status == "resolved":
        raise ApiError(400, 1001, "Incident Already Resolved", [f"Incident {incident.id} is resolved"])
    if incident.status != "acknowledged":
        raise ApiError(400, 1012, "Incident Is Not Acknowledged",
                       ["Only acknowledged incidents can be snoozed"])
    world, actor = ctx.world, ctx.actor
    incident.snoozed_until = world.now + timedelta(seconds=duration)
    incident.updated_at = world.now
    _log(world, incident, "snooze_log_entry", actor, f"Snoozed for {_duration(duration)} by {actor.name}")
    return SandboxResponse(201, {"incident": render_incident(world, incident)})


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{secs}s" if secs else ""]
    return "".join(parts)


# =================================================================================================
# Log entries, alerts, priorities
# =================================================================================================
def _log_entry_filter(req: SandboxRequest, zone: ZoneInfo, now: datetime) -> Callable[[LogEntry], bool]:
    since, until = _window(req, now, zone, default_months=None, max_months=None)
    overview = req.flag("is_overview")

    def keep(entry: LogEntry) -> bool:
        return ((since is None or entry.created_at >= since)
                and (until is None or entry.created_at < until)
                and not (overview and entry.type in _NOT_OVERVIEW))

    return keep


def list_incident_log_entries(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``GET /incidents/{id}/log_entries``: the incident's log, newest first."""
    incident = _visible_incident(ctx, params["id"])
    tz = req.time_zone("UTC")
    include = _includes(req, LOG_ENTRY_INCLUDES)
    keep = _log_entry_filter(req, tz, ctx.world.now)
    # Newest first, like PagerDuty; entries of the same instant keep their logical order reversed.
    entries = sorted((e for e in reversed(incident.log_entries) if keep(e)),
                     key=lambda e: e.created_at, reverse=True)
    renderer = _Renderer(ctx.world, tz)
    return SandboxResponse(200, _page(req, entries, lambda e: renderer.log_entry(e, incident, include),
                                      "log_entries"))


def list_log_entries(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``GET /log_entries``: the whole account's incident log, newest first."""
    world = ctx.world
    tz = req.time_zone("UTC")
    include = _includes(req, LOG_ENTRY_INCLUDES)
    keep = _log_entry_filter(req, tz, ctx.world.now)
    scope = world.visible_service_ids(ctx.token_user)
    team_ids = set(req.many("team_ids"))
    if team_ids:
        of_teams = {s.id for s in world.services.values() if team_ids.intersection(s.team_ids)}
        scope = of_teams if scope is None else scope & of_teams
    incidents: Iterable[Incident] = world.incidents.values()
    if scope is not None:
        incidents = [i for i in incidents if i.service_id in scope]
    entries = [e for incident in incidents for e in incident.log_entries]
    if req.one("since") or req.one("until") or req.flag("is_overview"):
        entries = [e for e in entries if keep(e)]
    # Newest first, like PagerDuty. Without total=true only the page (and one more, for ``more``) is
    # needed: a partial selection instead of sorting the account's whole log.
    entries.reverse()
    end = None if req.flag("total") else _page_end(req)
    if end is not None and end + 1 < len(entries):
        entries = heapq.nlargest(end + 1, entries, key=_entry_time)
    else:
        entries.sort(key=_entry_time, reverse=True)
    renderer = _Renderer(world, tz)
    return SandboxResponse(200, _page(
        req, entries, lambda e: renderer.log_entry(e, world.incidents[e.incident_id], include),
        "log_entries"))


def _entry_time(entry: LogEntry) -> datetime:
    return entry.created_at


def get_log_entry(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``GET /log_entries/{id}``: one log entry."""
    world = ctx.world
    visible = world.visible_service_ids(ctx.token_user)
    include = _includes(req, LOG_ENTRY_INCLUDES)
    for incident in world.incidents.values():
        if visible is not None and incident.service_id not in visible:
            continue
        for entry in incident.log_entries:
            if entry.id == params["id"]:
                renderer = _Renderer(world, req.time_zone("UTC"))
                return SandboxResponse(200, {"log_entry": renderer.log_entry(entry, incident, include)})
    raise not_found(f"Log entry {params['id']}")


def list_alerts(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``GET /incidents/{id}/alerts``: the incident's alerts, oldest first by default."""
    incident = _visible_incident(ctx, params["id"])
    statuses = _set_filter(req, "statuses", ("triggered", "resolved"))
    alert_key = req.one("alert_key")
    include = _includes(req, frozenset({"services", "first_trigger_log_entries", "incidents"}))
    alerts = [a for a in incident.alerts
              if (statuses is None or a.status in statuses)
              and (alert_key is None or a.alert_key == alert_key)]
    sort = req.one("sort_by") or "created_at:asc"
    name, _, direction = sort.partition(":")
    if name not in ("created_at", "resolved_at") or direction not in ("", "asc", "desc"):
        raise invalid(f"sort_by '{sort}' is invalid")
    # Alerts keep no resolution time here; resolved_at sorts like created_at.
    alerts.sort(key=lambda a: a.created_at, reverse=direction == "desc")
    renderer = _Renderer(ctx.world, req.time_zone("UTC"))
    return SandboxResponse(200, _page(req, alerts, lambda a: renderer.alert(a, incident, include), "alerts"))


def list_priorities(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """Priorities most to least severe, i.e. in the account's order."""
    world = ctx.world
    return SandboxResponse(200, paginate(req, world.priorities, lambda p: priority_json(world, p),
                                         "priorities"))


ROUTES: list[Route] = [
    Route("GET", "/incidents", list_incidents),
    Route("PUT", "/incidents", update_incidents, requires_from=True),
    Route("POST", "/incidents", create_incident, requires_from=True),
    Route("GET", "/incidents/{id}", get_incident),
    Route("PUT", "/incidents/{id}", update_incident, requires_from=True),
    Route("GET", "/incidents/{id}/notes", list_notes),
    Route("POST", "/incidents/{id}/notes", add_note, requires_from=True),
    Route("POST", "/incidents/{id}/status_updates", add_status_update, requires_from=True),
    Route("POST", "/incidents/{id}/snooze", snooze_incident, requires_from=True),
    Route("GET", "/incidents/{id}/log_entries", list_incident_log_entries),
    Route("GET", "/incidents/{id}/alerts", list_alerts),
    Route("GET", "/log_entries", list_log_entries),
    Route("GET", "/log_entries/{id}", get_log_entry),
    Route("GET", "/priorities", list_priorities),
]
