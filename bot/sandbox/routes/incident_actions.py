"""Changing incidents: ``PUT /incidents`` (bulk), ``PUT /incidents/{id}``, ``POST /incidents``, and an
incident's notes, status updates, snooze and responder requests.

* Status changes: acknowledging a triggered incident records the acknowledgement and makes the actor
  the assignee; resolving empties the assignments and stores ``resolution`` as the resolve log entry's
  note; setting ``triggered``/``acknowledged`` on a resolved incident reopens it (the spec says so).
  No-ops are errors as in PagerDuty: resolving a resolved incident is 1001, acknowledging an acknowledged
  one is 1002, triggering a triggered one is 1003.
* Assignment follows the escalation policy as PagerDuty's does: a new or reopened incident, and one
  escalated (``escalation_level``) or moved to another policy, is assigned to the level's users --
  direct user targets as they are, and whoever is on call at that instant on its schedule targets.
  A level with nobody on call leaves the current assignees in place.
* ``PUT /incidents`` (bulk, at most 250 items, else 413) is **all or nothing**: every item is validated
  against the current state first and the call fails with the errors of every bad item before anything
  changes; only then are all items applied.
* ``POST /incidents/{id}/responder_requests`` (200, as the spec documents) asks users and escalation
  policies to respond to an open incident: a policy reaches whoever its first level reaches now. People
  stay ``pending`` responders (nobody accepts in the sandbox); assignments do not change.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from bot.sandbox.app import Context, Route
from bot.sandbox.http import ApiError, SandboxRequest, SandboxResponse, invalid, iso, paginate
from bot.sandbox.model import (
    Acknowledgement,
    Alert,
    EscalationPolicy,
    Incident,
    IncidentStatus,
    LogEntry,
    Note,
    ResponderRequest,
    Service,
    StatusUpdate,
    Urgency,
    User,
    World,
)
from bot.sandbox.routes.incident_render import IncidentRenderer, render_incident
from bot.sandbox.routes.incident_requests import STATUSES, URGENCIES, visible_incident
from bot.sandbox.routes.oncalls import level_assignees
from bot.sandbox.webhooks import emit_incident, emit_note, emit_responder, emit_status_update

MAX_BULK_UPDATE = 250
SNOOZE_MAX_SECONDS = 7 * 24 * 3600
NOTE_MAX_CHARS = 25_000
NOTES_PER_INCIDENT = 2000
STATUS_UPDATES_PER_INCIDENT = 2000
RESPONDER_TARGETS_MAX = 50
"""Targets one responder request may name (the sandbox's bound; PagerDuty documents none)."""
RESPONDER_REQUESTS_PER_INCIDENT = 500
TITLE_MAX_CHARS = 1024
"""A title is shown in every list page: long ones would multiply a page's size (the sandbox's bound)."""
MAX_INCIDENTS = 50_000
"""Incidents the account may hold (``large`` starts with 12,000): creating more is refused."""
_STATUS: dict[str, IncidentStatus] = {"triggered": "triggered", "acknowledged": "acknowledged",
                                      "resolved": "resolved"}
_URGENCY: dict[str, Urgency] = {"high": "high", "low": "low"}


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


def _policy(world: World, value: Any) -> EscalationPolicy:
    """The escalation policy an ``escalation_policy`` reference names (400 code 1014 when unknown)."""
    policy_id = _reference_id(value, "escalation_policy", ("escalation_policy_reference", "escalation_policy"))
    policy = world.escalation_policies.get(policy_id)
    if policy is None:
        raise ApiError(400, 1014, "Escalation Policy Not Found", [f"Escalation policy {policy_id} not found"])
    return policy


def _visible_service(ctx: Context, value: Any) -> Service:
    """The service a ``service`` reference names, 400 code 5002 when unknown or outside team scope."""
    service_id = _reference_id(value, "service", ("service_reference",))
    service = ctx.world.services.get(service_id)
    visible = ctx.world.visible_service_ids(ctx.token_user)
    if service is None or (visible is not None and service_id not in visible):
        raise ApiError(400, 5002, "Service Not Found", [f"Service {service_id} not found"])
    return service


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
        change.title = _title(data["title"])
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
        change.policy_id = _policy(world, data["escalation_policy"]).id
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
        change.service_id = _visible_service(ctx, data["service"]).id
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
    if change.set_priority and change.priority_id != incident.priority_id:
        incident.priority_id = change.priority_id
        emit_incident(ctx, "incident.priority_updated", incident)
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
            incident.assigned_user_ids = change.assignee_ids or level_assignees(world, policy, 1)
        _set_status(incident, "triggered", actor, now)
        _log(world, incident, "trigger_log_entry", actor, f"Reopened by {actor.name}",
             assigned=incident.assigned_user_ids)
        emit_incident(ctx, "incident.reopened", incident)
        change.assignee_ids = change.policy_id = change.escalation_level = None

    if change.policy_id is not None:
        incident.escalation_policy_id = change.policy_id
        incident.escalation_level = 1
        users = level_assignees(world, world.escalation_policies.get(change.policy_id), 1)
        incident.assigned_user_ids = users or incident.assigned_user_ids
        _log(world, incident, "escalate_log_entry", actor, f"Escalation policy changed by {actor.name}",
             assigned=incident.assigned_user_ids)
        emit_incident(ctx, "incident.delegated", incident)
    if change.escalation_level is not None:
        incident.escalation_level = change.escalation_level
        policy = world.escalation_policies.get(incident.escalation_policy_id)
        users = level_assignees(world, policy, change.escalation_level)
        incident.assigned_user_ids = users or incident.assigned_user_ids
        _log(world, incident, "escalate_log_entry", actor,
             f"Escalated to level {change.escalation_level} by {actor.name}",
             assigned=incident.assigned_user_ids)
        emit_incident(ctx, "incident.escalated", incident)
    if change.assignee_ids is not None:
        incident.assigned_user_ids = list(change.assignee_ids)
        _log(world, incident, "assign_log_entry", actor, f"Reassigned by {actor.name}",
             assigned=incident.assigned_user_ids)
        emit_incident(ctx, "incident.reassigned", incident)
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
        emit_incident(ctx, "incident.acknowledged", incident)
    elif change.status == "resolved":
        incident.resolved_at = now
        incident.assigned_user_ids = []
        incident.acknowledgements = []
        incident.snoozed_until = None
        for alert in incident.alerts:
            alert.status = "resolved"
        _set_status(incident, "resolved", actor, now)
        _log(world, incident, "resolve_log_entry", actor, f"Resolved by {actor.name}", note=change.resolution)
        emit_incident(ctx, "incident.resolved", incident)
    elif change.status == "triggered" and incident.status == "acknowledged":
        incident.acknowledgements = []
        incident.snoozed_until = None
        _set_status(incident, "triggered", actor, now)
        _log(world, incident, "unacknowledge_log_entry", actor, f"Unacknowledged by {actor.name}")
        emit_incident(ctx, "incident.unacknowledged", incident)
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
            incident = visible_incident(ctx, item["id"])
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
    renderer = IncidentRenderer(ctx.world)
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
    incident = visible_incident(ctx, params["id"])
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
    title = _title(data["title"])
    if len(world.incidents) >= MAX_INCIDENTS:
        raise invalid(f"The sandbox account holds at most {MAX_INCIDENTS:,} incidents",
                      message="Incident could not be created")
    service = _visible_service(ctx, data["service"])
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
        policy = _policy(world, data["escalation_policy"])
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
        assigned_user_ids=assignees if assignees is not None else level_assignees(world, policy, 1),
        priority_id=priority_id, last_status_change_at=now, last_status_change_by=actor.id,
        details=details,
    )
    _log(world, incident, "trigger_log_entry", actor, "Triggered through the website",
         assigned=incident.assigned_user_ids)
    emit_incident(ctx, "incident.triggered", incident)
    if assignees == [actor.id]:
        # PagerDuty: an incident you assign to yourself starts acknowledged (nobody is paged).
        incident.status = "acknowledged"
        incident.acknowledgements.append(Acknowledgement(actor.id, now))
        _log(world, incident, "acknowledge_log_entry", actor, f"Acknowledged by {actor.name}")
        emit_incident(ctx, "incident.acknowledged", incident)
    incident.alerts.append(Alert(world.ids.new(), title, now, "triggered", incident.incident_key))
    world.add_incident(incident)
    return SandboxResponse(201, {"incident": render_incident(world, incident)})


def _title(title: Any) -> str:
    if not isinstance(title, str) or not title.strip():
        raise invalid("title must be a non-empty string")
    if len(title) > TITLE_MAX_CHARS:
        raise invalid(f"title is longer than {TITLE_MAX_CHARS} characters")
    return title


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
    incident = visible_incident(ctx, params["id"])
    renderer = IncidentRenderer(ctx.world, req.time_zone("UTC"))
    return SandboxResponse(200, {"notes": [renderer.note(n) for n in incident.notes]})


def add_note(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``POST /incidents/{id}/notes``: a note by the ``From`` user (201), logged as an annotation."""
    incident = visible_incident(ctx, params["id"])
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
    emit_note(ctx, incident, note)
    incident.updated_at = world.now
    return SandboxResponse(201, {"note": IncidentRenderer(world).note(note)})


def add_status_update(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``POST /incidents/{id}/status_updates``: a stakeholder update sent by the ``From`` user."""
    incident = visible_incident(ctx, params["id"])
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
    if len(incident.status_updates) >= STATUS_UPDATES_PER_INCIDENT:
        raise invalid(f"An incident can have at most {STATUS_UPDATES_PER_INCIDENT} status updates")
    world, actor = ctx.world, ctx.actor
    update = StatusUpdate(world.ids.new(), message, world.now, actor.id, subject)
    incident.status_updates.append(update)
    emit_status_update(ctx, incident, update)
    incident.updated_at = world.now
    body: dict[str, Any] = {
        "id": update.id,
        "message": update.message,
        "created_at": iso(update.created_at),
        "sender": IncidentRenderer(world).user(actor.id),
    }
    # subject and html_message (a custom HTML e-mail) are echoed only when given, as the spec says.
    if subject is not None:
        body["subject"] = subject
    if html_message is not None:
        body["html_message"] = html_message
    return SandboxResponse(200, {"status_update": body})


def snooze_incident(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``POST /incidents/{id}/snooze``: delay an acknowledged incident's un-acknowledgement."""
    incident = visible_incident(ctx, params["id"])
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


def add_responder_request(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``POST /incidents/{id}/responder_requests``: ask users and escalation policies to respond."""
    incident = visible_incident(ctx, params["id"])
    data = req.json()
    if not isinstance(data, dict):
        raise invalid("the body must be an object with requester_id, message and responder_request_targets")
    required = ("requester_id", "message", "responder_request_targets")
    missing = [name for name in required if data.get(name) in (None, "")]
    if missing:
        raise invalid(*(f"{name} is required" for name in missing), code=2003, message="Missing Arguments")
    world = ctx.world
    requester, message, raw_targets = data["requester_id"], data["message"], data["responder_request_targets"]
    if not isinstance(requester, str) or requester not in world.users:
        raise invalid(f"requester_id {requester} is not a user on this account")
    if not isinstance(message, str) or not message.strip():
        raise invalid("message must be a non-empty string")
    if len(message) > NOTE_MAX_CHARS:
        raise invalid(f"message is longer than {NOTE_MAX_CHARS} characters")
    if not isinstance(raw_targets, list) or not raw_targets:
        raise invalid("responder_request_targets must be a non-empty array")
    if len(raw_targets) > RESPONDER_TARGETS_MAX:
        raise invalid(f"A responder request may name at most {RESPONDER_TARGETS_MAX} targets")
    if not incident.is_open:
        raise ApiError(400, 1001, "Incident Already Resolved", [f"Incident {incident.id} is resolved"])
    if len(incident.responder_requests) >= RESPONDER_REQUESTS_PER_INCIDENT:
        raise invalid(f"An incident can have at most {RESPONDER_REQUESTS_PER_INCIDENT} responder requests")
    targets = _responder_targets(world, raw_targets)
    responders: list[tuple[str, str | None]] = []
    for kind, target_id in targets:
        reached = [target_id] if kind == "user" else level_assignees(world, world.escalation_policies[target_id], 1)
        responders += [(u, None if kind == "user" else target_id) for u in reached
                       if all(u != seen for seen, _ in responders)]
    request = ResponderRequest(world.ids.new(), requester, message, world.now, targets, responders)
    incident.responder_requests.append(request)
    for user_id, via in responders:
        emit_responder(ctx, incident, user_id, via, message, requester)
    incident.updated_at = world.now
    return SandboxResponse(200, {"responder_request": IncidentRenderer(world).responder_request(request, incident)})


def _responder_targets(world: World, raw: list[Any]) -> list[tuple[Literal["user", "escalation_policy"], str]]:
    """Each target (wrapped in ``responder_request_target`` as the spec's example sends it, or bare), once."""
    targets: list[tuple[Literal["user", "escalation_policy"], str]] = []
    for item in raw:
        target = item.get("responder_request_target", item) if isinstance(item, dict) else None
        if not isinstance(target, dict) or not isinstance(target.get("id"), str):
            raise invalid("each responder_request_target needs an id and a type")
        kind: Literal["user", "escalation_policy"]
        if target.get("type") in ("user_reference", "user"):
            kind, known = "user", target["id"] in world.users
        elif target.get("type") in ("escalation_policy_reference", "escalation_policy"):
            kind, known = "escalation_policy", target["id"] in world.escalation_policies
        else:
            raise invalid("responder_request_target.type must be user_reference or escalation_policy_reference")
        if not known:
            raise invalid(f"{kind.replace('_', ' ')} {target['id']} not found")
        if (kind, target["id"]) not in targets:
            targets.append((kind, target["id"]))
    return targets


def _duration(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours}h" if hours else "", f"{minutes}m" if minutes else "", f"{secs}s" if secs else ""]
    return "".join(parts)


ROUTES: list[Route] = [
    Route("PUT", "/incidents", update_incidents, requires_from=True),
    Route("POST", "/incidents", create_incident, requires_from=True),
    Route("PUT", "/incidents/{id}", update_incident, requires_from=True),
    Route("GET", "/incidents/{id}/notes", list_notes),
    Route("POST", "/incidents/{id}/notes", add_note, requires_from=True),
    Route("POST", "/incidents/{id}/status_updates", add_status_update, requires_from=True),
    Route("POST", "/incidents/{id}/snooze", snooze_incident, requires_from=True),
    # The spec documents no From header here: the requester is the body's requester_id.
    Route("POST", "/incidents/{id}/responder_requests", add_responder_request),
]
