"""PagerDuty V3 webhook events, read into what a card needs.

A V3 delivery holds one event: ``{"event": {"id", "event_type", "resource_type", "occurred_at", "agent",
"client", "data"}}`` (PagerDuty's "Webhook Payload" reference). For the incident state changes
(:data:`STATE_EVENTS`) ``data`` is the incident itself (``number``, ``status``, ``urgency``, ``priority``,
``service``, ``assignees``, ``teams``…), read into an :class:`IncidentState`; for a note
(``incident.annotated``: an ``incident_note``), a status update (``incident_status_update``) or a responder
request (``incident.responder.added``: an ``incident_responder``) it names the incident by reference only,
and the event carries the note, message or responder instead. The same :class:`IncidentState` is read from a
REST incident (``incident_number``, ``assignments``) by :meth:`IncidentState.from_rest` for the catch-up.

Every text is cut to a bound here (titles :data:`MAX_TITLE`, names :data:`MAX_NAME`, notes :data:`MAX_NOTE`,
at most :data:`MAX_PEOPLE` assignees and teams); it stays untrusted text, escaped where it is shown.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

STATE_EVENTS = frozenset({
    "incident.triggered", "incident.acknowledged", "incident.unacknowledged", "incident.escalated",
    "incident.reassigned", "incident.resolved", "incident.reopened", "incident.priority_updated"})
NOTE_EVENTS = frozenset({"incident.annotated", "incident.status_update_published", "incident.responder.added"})
HANDLED = STATE_EVENTS | NOTE_EVENTS
"""The event types alex acts on; any other (``service.updated``, ``incident.delegated``…) is answered 2xx and
ignored."""
WEBHOOK_PATH = "/pagerduty/webhooks"
"""Where alex receives them (:mod:`bot.notify.receiver`), and what a subscription of alex's points at."""
MAX_TITLE = 1_024
MAX_NAME = 200
MAX_NOTE = 2_000
MAX_PEOPLE = 20
MAX_ID = 64
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_EVENT_ID = re.compile(r"[A-Za-z0-9_.:-]{1,128}")

Status = Literal["triggered", "acknowledged", "resolved"]
STATUSES: tuple[Status, ...] = ("triggered", "acknowledged", "resolved")


class BadEvent(ValueError):
    """A signed delivery alex cannot read; the message names the field (never its value)."""


@dataclass(frozen=True, slots=True)
class IncidentState:
    """An incident as a card shows it (what one event or a REST read says it is)."""

    id: str
    number: int
    title: str
    status: Status
    urgency: str
    service_id: str | None
    service: str | None
    priority: str | None = None
    assignees: tuple[str, ...] = ()
    team_ids: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    url: str | None = None
    created_at: str | None = None
    """ISO 8601, as PagerDuty sent it."""
    escalation_policy: str | None = None
    resolved_at: str | None = None
    """ISO 8601: when it was resolved (a resolved event's time, or the REST incident's)."""

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"

    @property
    def created(self) -> datetime | None:
        return parse_time(self.created_at)

    def to_json(self) -> str:
        return json.dumps({
            "id": self.id, "number": self.number, "title": self.title, "status": self.status,
            "urgency": self.urgency, "service_id": self.service_id, "service": self.service,
            "priority": self.priority, "assignees": list(self.assignees), "team_ids": list(self.team_ids),
            "teams": list(self.teams), "url": self.url, "created_at": self.created_at,
            "escalation_policy": self.escalation_policy, "resolved_at": self.resolved_at,
        }, ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: str) -> IncidentState:
        raw: dict[str, Any] = json.loads(data)
        return cls(str(raw["id"]), int(raw["number"]), str(raw["title"]), _status(raw["status"]), str(raw["urgency"]),
                   raw.get("service_id"), raw.get("service"), raw.get("priority"),
                   tuple(str(a) for a in raw.get("assignees") or ()), tuple(str(t) for t in raw.get("team_ids") or ()),
                   tuple(str(t) for t in raw.get("teams") or ()), raw.get("url"), raw.get("created_at"),
                   raw.get("escalation_policy"), raw.get("resolved_at"))

    @classmethod
    def from_v3(cls, data: dict[str, Any]) -> IncidentState:
        """``event.data`` of a state event (an ``incident``)."""
        return cls._read(data, number=data.get("number"),
                         assignees=[a for a in _list(data.get("assignees")) if isinstance(a, dict)])

    @classmethod
    def from_rest(cls, incident: dict[str, Any]) -> IncidentState:
        """An incident of ``GET /incidents`` (``incident_number``, ``assignments[].assignee``)."""
        assignments = [a.get("assignee") for a in _list(incident.get("assignments")) if isinstance(a, dict)]
        state = cls._read(incident, number=incident.get("incident_number", incident.get("number")),
                          assignees=[a for a in assignments if isinstance(a, dict)])
        if state.status != "resolved":
            return state
        return replace(state, resolved_at=_text(incident.get("resolved_at") or incident.get("last_status_change_at"),
                                                40))

    @classmethod
    def _read(cls, data: dict[str, Any], *, number: Any, assignees: list[dict[str, Any]]) -> IncidentState:
        incident_id = data.get("id")
        if not isinstance(incident_id, str) or _ID.fullmatch(incident_id) is None:
            raise BadEvent("data.id is not a PagerDuty ID")
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise BadEvent("data.number is not an incident number")
        service = _object(data.get("service"))
        teams = [t for t in _list(data.get("teams")) if isinstance(t, dict)][:MAX_PEOPLE]
        priority = _object(data.get("priority"))
        policy = _object(data.get("escalation_policy"))
        urgency = _text(data.get("urgency"), 20) or "high"
        people = tuple(n for a in assignees[:MAX_PEOPLE] if (n := _text(a.get("summary"), MAX_NAME)))
        return cls(incident_id, number, _text(data.get("title") or data.get("summary"), MAX_TITLE) or "(no title)",
                   _status(data.get("status")), urgency, _id(service.get("id")),
                   _text(service.get("summary"), MAX_NAME), _text(priority.get("summary"), 40), people,
                   tuple(i for t in teams if (i := _id(t.get("id")))),
                   tuple(n for t in teams if (n := _text(t.get("summary"), MAX_NAME))),
                   _text(data.get("html_url"), 500), _text(data.get("created_at"), 40),
                   _text(policy.get("summary"), MAX_NAME))


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One delivery's event, read."""

    id: str
    type: str
    occurred_at: datetime
    incident_id: str
    agent: str | None = None
    """Who or what made the change (``event.agent.summary``), if PagerDuty says."""
    state: IncidentState | None = None
    """The incident as it is after a state event (None for notes, status updates, responders)."""
    title: str | None = None
    """The incident's title as a note event's reference gives it."""
    text: str | None = None
    """The note's content, the status update's message, or the responder request's message."""
    responder: str | None = None
    """``incident.responder.added``: who was asked to help."""

    @property
    def at(self) -> float:
        return self.occurred_at.timestamp()


@dataclass(frozen=True, slots=True)
class Ignored:
    """A well-formed event of a type alex does not act on."""

    type: str


def read_delivery(body: bytes) -> WebhookEvent | Ignored:
    """The event of a V3 delivery's (signature-checked) body; raises :class:`BadEvent` when it is no V3 payload."""
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadEvent("the body is not UTF-8 JSON") from None
    event = payload.get("event") if isinstance(payload, dict) else None
    if not isinstance(event, dict):
        raise BadEvent("no event object")
    event_type = event.get("event_type")
    if not isinstance(event_type, str) or not 0 < len(event_type) <= 100:
        raise BadEvent("event.event_type is missing")
    event_id = event.get("id")
    if not isinstance(event_id, str) or _EVENT_ID.fullmatch(event_id) is None:
        raise BadEvent("event.id is missing or not an ID")
    if event_type not in HANDLED:
        return Ignored(event_type)
    occurred = parse_time(event.get("occurred_at"))
    if occurred is None:
        raise BadEvent("event.occurred_at is not an ISO 8601 time with an offset")
    data = event.get("data")
    if not isinstance(data, dict):
        raise BadEvent("event.data is not an object")
    agent = _object(event.get("agent"))
    who = _text(agent.get("summary"), MAX_NAME)
    if event_type in STATE_EVENTS:
        state = IncidentState.from_v3(data)
        if state.status == "resolved":
            state = replace(state, resolved_at=occurred.isoformat())
        return WebhookEvent(event_id, event_type, occurred, state.id, who, state=state, title=state.title)
    reference = _object(data.get("incident"))
    incident_id = _id(reference.get("id"))
    if incident_id is None:
        raise BadEvent("event.data.incident.id is not a PagerDuty ID")
    text = data.get("content") if event_type == "incident.annotated" else data.get("message")
    user = _object(data.get("user"))
    return WebhookEvent(event_id, event_type, occurred, incident_id, who, title=_text(reference.get("summary"),
                                                                                      MAX_TITLE),
                        text=_text(text, MAX_NOTE), responder=_text(user.get("summary"), MAX_NAME))


def parse_time(value: Any) -> datetime | None:
    """An aware datetime from PagerDuty's ISO 8601 (``2026-03-10T14:00:00.000Z``), else None."""
    if not isinstance(value, str) or not 0 < len(value) <= 40:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else None


def _status(value: Any) -> Status:
    if value not in STATUSES:
        raise BadEvent("data.status is not triggered, acknowledged or resolved")
    return value  # type: ignore[no-any-return]


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value[:200] if isinstance(value, list) else []


def _id(value: Any) -> str | None:
    return value if isinstance(value, str) and _ID.fullmatch(value) else None


def _text(value: Any, limit: int) -> str | None:
    if not isinstance(value, str):
        return None
    text = value.strip()
    return (text if len(text) <= limit else text[: limit - 1] + "…") or None
