"""The sandbox's in-memory PagerDuty account: plain dataclasses, no HTTP, no JSON.

Routes read and change a :class:`World`; serializers turn its objects into PagerDuty's JSON shapes.
Derived facts (a service's status, a team's services, a user's teams) are computed from the primary
records rather than stored twice, so a write can never leave them inconsistent.
"""

from __future__ import annotations

import bisect
import random
import string
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from bot.sandbox.schedule_engine import Layer, OverrideSpan

Role = Literal[
    "owner", "admin", "user", "limited_user", "observer", "restricted_access",
    "read_only_user", "read_only_limited_user",
]
"""PagerDuty account roles as the API spells them ("user" is shown as Manager, "limited_user" as Responder)."""

READ_ONLY_ROLES: frozenset[str] = frozenset({"observer", "read_only_user", "read_only_limited_user"})
TeamRole = Literal["manager", "responder", "observer"]
IncidentStatus = Literal["triggered", "acknowledged", "resolved"]
Urgency = Literal["high", "low"]


@dataclass(slots=True)
class ContactMethod:
    id: str
    type: Literal["email_contact_method", "phone_contact_method", "sms_contact_method",
                  "push_notification_contact_method"]
    label: str
    address: str
    country_code: int | None = None


@dataclass(slots=True)
class NotificationRule:
    id: str
    start_delay_in_minutes: int
    contact_method_id: str
    urgency: Urgency


@dataclass(slots=True)
class User:
    id: str
    name: str
    email: str
    time_zone: str
    role: Role
    job_title: str = ""
    color: str = "purple"
    description: str | None = None
    contact_methods: list[ContactMethod] = field(default_factory=list)
    notification_rules: list[NotificationRule] = field(default_factory=list)

    @property
    def can_write(self) -> bool:
        return self.role not in READ_ONLY_ROLES


@dataclass(slots=True)
class Team:
    id: str
    name: str
    description: str = ""
    members: dict[str, TeamRole] = field(default_factory=dict)
    """user id -> team role; the single source of team membership."""


@dataclass(slots=True)
class Target:
    type: Literal["user_reference", "schedule_reference", "schedule_v3_reference"]
    id: str


@dataclass(slots=True)
class EscalationRule:
    id: str
    escalation_delay_in_minutes: int
    targets: list[Target]


@dataclass(slots=True)
class EscalationPolicy:
    id: str
    name: str
    rules: list[EscalationRule]
    description: str = ""
    num_loops: int = 0
    on_call_handoff_notifications: Literal["if_has_services", "always"] = "if_has_services"
    team_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Service:
    id: str
    name: str
    escalation_policy_id: str
    created_at: datetime
    description: str = ""
    team_ids: list[str] = field(default_factory=list)
    admin_status: Literal["active", "disabled", "maintenance"] = "active"
    acknowledgement_timeout: int | None = 1800
    auto_resolve_timeout: int | None = 14400


@dataclass(slots=True)
class Override:
    id: str
    start: datetime
    end: datetime
    user_id: str
    created_order: int
    rotation_id: str | None = None
    """v3 schedules scope an override to one rotation; None on v2 schedules."""


@dataclass(slots=True)
class Schedule:
    """A schedule. ``layers`` are ordered lowest priority first; on v3 schedules they are rotations."""

    id: str
    name: str
    time_zone: str
    layers: list[Layer]
    layer_names: list[str]
    kind: Literal["v2", "v3"] = "v2"
    description: str = ""
    team_ids: list[str] = field(default_factory=list)
    overrides: list[Override] = field(default_factory=list)

    def override_spans(self) -> list[OverrideSpan]:
        return [OverrideSpan(o.start, o.end, o.user_id, o.created_order) for o in self.overrides]


@dataclass(slots=True)
class Note:
    id: str
    user_id: str
    content: str
    created_at: datetime


@dataclass(slots=True)
class LogEntry:
    id: str
    type: str
    """PagerDuty's log entry type, e.g. ``trigger_log_entry``, ``acknowledge_log_entry``."""
    created_at: datetime
    incident_id: str
    agent_user_id: str | None = None
    """The user who acted; None means the service (an integration) did."""
    summary: str = ""
    note: str | None = None
    assigned_user_ids: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Alert:
    id: str
    summary: str
    created_at: datetime
    status: Literal["triggered", "resolved"]
    alert_key: str
    severity: Literal["critical", "error", "warning", "info"] = "error"


@dataclass(slots=True)
class StatusUpdate:
    id: str
    message: str
    created_at: datetime
    user_id: str
    subject: str | None = None


@dataclass(slots=True)
class Acknowledgement:
    user_id: str
    at: datetime


@dataclass(slots=True)
class ResponderRequest:
    """``POST /incidents/{id}/responder_requests``: who asked whom (users, and the users a policy reached)."""

    id: str
    requester_id: str
    message: str
    requested_at: datetime
    targets: list[tuple[Literal["user", "escalation_policy"], str]]
    responders: list[tuple[str, str | None]]
    """(user id, the policy it was reached through, or None) for every person asked."""


@dataclass(slots=True)
class Incident:
    id: str
    number: int
    title: str
    status: IncidentStatus
    urgency: Urgency
    service_id: str
    escalation_policy_id: str
    created_at: datetime
    updated_at: datetime
    incident_key: str
    assigned_user_ids: list[str] = field(default_factory=list)
    acknowledgements: list[Acknowledgement] = field(default_factory=list)
    priority_id: str | None = None
    escalation_level: int = 1
    resolved_at: datetime | None = None
    last_status_change_at: datetime | None = None
    last_status_change_by: str | None = None
    """User id of whoever last changed the status; None means the service."""
    details: str | None = None
    snoozed_until: datetime | None = None
    notes: list[Note] = field(default_factory=list)
    log_entries: list[LogEntry] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    status_updates: list[StatusUpdate] = field(default_factory=list)
    responder_requests: list[ResponderRequest] = field(default_factory=list)

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"


@dataclass(slots=True)
class Priority:
    id: str
    name: str
    description: str
    order: int
    color: str


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """What an API token may do: act as ``user_id``; read-only tokens get 403 on every write."""

    user_id: str
    read_only: bool = False
    revoked: bool = False


class IdFactory:
    """PagerDuty-looking IDs (``P`` + 6 upper-case alphanumerics), deterministic for a seed."""

    _ALPHABET = string.ascii_uppercase + string.digits

    def __init__(self, seed: int) -> None:
        self._rng = random.Random(seed)
        self._seen: set[str] = set()

    def new(self) -> str:
        while True:
            candidate = "P" + "".join(self._rng.choices(self._ALPHABET, k=6))
            if candidate not in self._seen:
                self._seen.add(candidate)
                return candidate


@dataclass(slots=True)
class World:
    """A whole PagerDuty account. Dict order is creation order, which list endpoints keep."""

    now: datetime
    ids: IdFactory
    subdomain: str = "acme"
    users: dict[str, User] = field(default_factory=dict)
    teams: dict[str, Team] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    escalation_policies: dict[str, EscalationPolicy] = field(default_factory=dict)
    schedules: dict[str, Schedule] = field(default_factory=dict)
    incidents: dict[str, Incident] = field(default_factory=dict)
    priorities: list[Priority] = field(default_factory=list)
    tokens: dict[str, TokenGrant] = field(default_factory=dict)
    next_incident_number: int = 1
    next_override_order: int = 1
    revision: int = 0
    """Bumped after every write; derived views cached against it."""
    _incident_by_number: dict[int, str] = field(default_factory=dict)
    _by_created: list[Incident] = field(default_factory=list)
    _created_keys: list[datetime] = field(default_factory=list)
    _status_cache: tuple[int, dict[str, str]] | None = None
    _last_cache: tuple[int, dict[str, datetime]] | None = None

    # -- building ---------------------------------------------------------------------------------
    def add_incident(self, incident: Incident) -> None:
        """The one way incidents enter the account: it keeps the number and time indexes right."""
        self.incidents[incident.id] = incident
        self._incident_by_number[incident.number] = incident.id
        self.next_incident_number = max(self.next_incident_number, incident.number + 1)
        at = bisect.bisect_right(self._by_created, (incident.created_at, incident.number),
                                 key=lambda i: (i.created_at, i.number))
        self._by_created.insert(at, incident)
        self._created_keys.insert(at, incident.created_at)
        self._status_cache = self._last_cache = None

    def incidents_by_created(self) -> tuple[list[Incident], list[datetime]]:
        """Incidents ordered by (created_at, number), with their creation times for bisecting a window.

        ``created_at`` never changes, so the order holds across every update. Read-only views.
        """
        return self._by_created, self._created_keys

    def new_override_order(self) -> int:
        order = self.next_override_order
        self.next_override_order += 1
        return order

    # -- lookups ----------------------------------------------------------------------------------
    def find_incident(self, id_or_number: str) -> Incident | None:
        """PagerDuty accepts an incident's ID or its number wherever ``{id}`` appears."""
        if id_or_number in self.incidents:
            return self.incidents[id_or_number]
        if id_or_number.isdigit():
            found = self._incident_by_number.get(int(id_or_number))
            return self.incidents.get(found) if found else None
        return None

    def user_by_email(self, email: str) -> User | None:
        wanted = email.strip().lower()
        return next((u for u in self.users.values() if u.email.lower() == wanted), None)

    def team_ids_of_user(self, user_id: str) -> list[str]:
        return [t.id for t in self.teams.values() if user_id in t.members]

    def services_of_policy(self, policy_id: str) -> list[Service]:
        return [s for s in self.services.values() if s.escalation_policy_id == policy_id]

    def open_incidents(self) -> list[Incident]:
        return [i for i in self.incidents.values() if i.is_open]

    def visible_service_ids(self, user: User) -> set[str] | None:
        """Team scope: a ``restricted_access`` user sees only their teams' services (None: all)."""
        if user.role != "restricted_access":
            return None
        teams = set(self.team_ids_of_user(user.id))
        return {s.id for s in self.services.values() if teams.intersection(s.team_ids)}

    def touch(self) -> None:
        """Record that something changed (the sandbox calls it after every successful write)."""
        self.revision += 1

    def service_status(self, service: Service) -> str:
        """PagerDuty's derived status: critical if any triggered, warning if any acknowledged."""
        if service.admin_status != "active":
            return service.admin_status
        return self._open_statuses().get(service.id, "active")

    def _open_statuses(self) -> dict[str, str]:
        if self._status_cache is None or self._status_cache[0] != self.revision:
            statuses: dict[str, str] = {}
            for incident in self.incidents.values():
                if incident.status == "triggered":
                    statuses[incident.service_id] = "critical"
                elif incident.status == "acknowledged":
                    statuses.setdefault(incident.service_id, "warning")
            self._status_cache = (self.revision, statuses)
        return self._status_cache[1]

    def last_incident_at(self, service_id: str) -> datetime | None:
        if self._last_cache is None or self._last_cache[0] != self.revision:
            latest: dict[str, datetime] = {}
            for incident in self.incidents.values():
                seen = latest.get(incident.service_id)
                if seen is None or incident.created_at > seen:
                    latest[incident.service_id] = incident.created_at
            self._last_cache = (self.revision, latest)
        return self._last_cache[1].get(service_id)
