"""How incidents and their parts look in PagerDuty's JSON: incidents, log entries, notes, alerts, priorities.

:class:`IncidentRenderer` renders one response; every incident route builds its bodies with it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.sandbox.http import iso
from bot.sandbox.model import Alert, Incident, LogEntry, Note, Priority, ResponderRequest, Service, World
from bot.sandbox.routes.directory import policy_json, service_json, team_json
from bot.sandbox.serialize import api_base, html_url, ref, team_ref, user_object, user_ref_by_id

UTC = ZoneInfo("UTC")


class IncidentRenderer:
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
        return self._cached("user_ref", user_id, lambda: user_ref_by_id(self.world, user_id))

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
        return self._cached("team_ref", team_id, lambda: team_ref(self.world, team))

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
            "self": f"{api_base()}/incidents/{incident.id}",
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
            "incidents_responders": self._responders(incident),
            "responder_requests": [self.responder_request(r, incident) for r in incident.responder_requests],
            "urgency": incident.urgency,
        }
        if body and incident.details is not None:
            result["body"] = {"type": "incident_body", "details": incident.details}
        return result

    def responder_request(self, request: ResponderRequest, incident: Incident) -> dict[str, Any]:
        """A ``ResponderRequest``; each target lists the responders it reached (as the spec's example)."""
        targets = []
        for kind, target_id in request.targets:
            via = None if kind == "user" else target_id
            summary = (self.user(target_id) if kind == "user" else self.policy(target_id))["summary"]
            reached = [r for r in request.responders if r[1] == via and (via is not None or r[0] == target_id)]
            targets.append({"responder_request_target": {
                "type": kind, "id": target_id, "summary": summary,
                "incidents_responders": [self._responder(request, incident, u, via) for u, via in reached]}})
        return {"id": request.id, "incident": self.incident_ref(incident), "requester": self.user(request.requester_id),
                "requested_at": self.time(request.requested_at), "message": request.message,
                "responder_request_targets": targets}

    def _responders(self, incident: Incident) -> list[dict[str, Any]]:
        """Every person asked to respond, once (the latest request that asked them)."""
        latest: dict[str, tuple[ResponderRequest, str | None]] = {}
        for request in incident.responder_requests:
            for user_id, via in request.responders:
                latest[user_id] = (request, via)
        return [self._responder(request, incident, user_id, via) for user_id, (request, via) in latest.items()]

    def _responder(self, request: ResponderRequest, incident: Incident, user_id: str,
                   via: str | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "state": "pending", "user": self.user(user_id), "incident": self.incident_ref(incident),
            "updated_at": self.time(request.requested_at), "message": request.message,
            "requester": self.user(request.requester_id), "requested_at": self.time(request.requested_at)}
        if via is not None:
            body["escalation_policy_requests"] = [self.policy(via)["summary"]]
        return body

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
            "self": f"{api_base()}/log_entries/{entry.id}",
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
            "self": f"{api_base()}/incidents/{incident.id}/alerts/{alert.id}",
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
    return IncidentRenderer(world, tz, include).incident(incident, body=body)


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
        "self": f"{api_base()}/log_entries/{entry.id}",
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

