"""Building blocks shared by the seeded accounts: local-time arithmetic, users, on-call lookups, incidents.

Everything here is deterministic: callers pass the :class:`random.Random` and the world (whose
:class:`~bot.sandbox.model.IdFactory` hands out ids in call order), and no function reads the wall clock.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.sandbox.model import (
    Acknowledgement,
    Alert,
    ContactMethod,
    EscalationPolicy,
    Incident,
    IncidentStatus,
    LogEntry,
    Note,
    NotificationRule,
    Priority,
    Role,
    Schedule,
    StatusUpdate,
    Target,
    Urgency,
    User,
    World,
)
from bot.sandbox.schedule_engine import OverrideSpan, Restriction, render_final

AlertSeverity = Literal["critical", "error", "warning", "info"]
AlertStatus = Literal["triggered", "resolved"]

HOUR = 3600
DAY = 86_400
WEEK = 7 * DAY
MONDAY = 1
WEEKDAYS = (1, 2, 3, 4, 5)

PD_COLORS = (
    "red", "green", "blue", "purple", "orange", "teal", "brown", "cayenne", "forest-green", "navy",
    "violet", "dark-slate-grey", "chocolate", "crimson", "lime", "royal-blue", "indigo", "goldenrod",
)

# PagerDuty's default priority scheme (descriptions as in its API reference), most severe first.
PRIORITIES = (
    ("P1", "Critical issue that warrants public notification and liaison with executive teams", "a8171c"),
    ("P2", "Critical system issue actively impacting many customers' ability to use the product", "eb6016"),
    ("P3", "Stability or minor customer-impacting issues that require immediate attention from service "
           "owners", "f9b406"),
    ("P4", "Minor issues requiring action, but not affecting customer ability to use the product", "555555"),
    ("P5", "Cosmetic issues or bugs, not affecting customer ability to use the product", "999999"),
)

_METHOD_LABEL = {
    "email_contact_method": "email",
    "phone_contact_method": "phone",
    "sms_contact_method": "SMS",
    "push_notification_contact_method": "push notification",
}


# --------------------------------------------------------------------------- time


def require_utc(now: datetime) -> datetime:
    """``now`` as an aware UTC datetime; naive datetimes are refused (the sandbox never guesses a zone)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be timezone-aware, got naive {now!r}")
    return now.astimezone(UTC)


def floor_hour(value: datetime) -> datetime:
    """``value`` truncated to the start of its hour."""
    return value.replace(minute=0, second=0, microsecond=0)


def at_local(day: date, tod: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``tod`` on local ``day`` in ``tz`` (first occurrence if ambiguous)."""
    return datetime.combine(day, tod).replace(tzinfo=tz, fold=0).astimezone(UTC)


def next_local(after: datetime, tod: time, tz: ZoneInfo) -> datetime:
    """The first instant at or after ``after`` whose wall-clock time in ``tz`` is ``tod``."""
    day = after.astimezone(tz).date()
    candidate = at_local(day, tod, tz)
    while candidate < after:
        day += timedelta(days=1)
        candidate = at_local(day, tod, tz)
    return candidate


def last_weekday_local(before: datetime, isoweekday: int, tod: time, tz: ZoneInfo) -> datetime:
    """The latest instant at or before ``before`` that is ``isoweekday`` at ``tod`` local time."""
    day = before.astimezone(tz).date()
    day -= timedelta(days=(day.isoweekday() - isoweekday) % 7)
    candidate = at_local(day, tod, tz)
    while candidate > before:
        day -= timedelta(days=7)
        candidate = at_local(day, tod, tz)
    return candidate


def daily(tod: time, hours: float) -> Restriction:
    """A daily restriction opening at ``tod`` (schedule time zone) for ``hours``."""
    return Restriction("daily_restriction", tod, int(hours * HOUR))


def weekly(days: Iterable[int], tod: time, hours: float) -> tuple[Restriction, ...]:
    """One weekly restriction per ISO weekday (1 = Monday), each opening at ``tod`` for ``hours``."""
    return tuple(Restriction("weekly_restriction", tod, int(hours * HOUR), d) for d in days)


# --------------------------------------------------------------------------- people


def add_priorities(world: World) -> dict[str, str]:
    """PagerDuty's P1..P5, ``order`` 1 = most severe (the order ``GET /priorities`` lists); name -> id."""
    ids: dict[str, str] = {}
    for order, (name, description, color) in enumerate(PRIORITIES, start=1):
        priority = Priority(world.ids.new(), name, description, order, color)
        world.priorities.append(priority)
        ids[name] = priority.id
    return ids


def add_user(world: World, rng: random.Random, *, name: str, email: str, time_zone: str, role: Role,
             job_title: str, country_code: int, phone: str, device: str) -> User:
    """A user with email, phone, SMS and push contact methods and high/low-urgency notification rules."""
    user = User(world.ids.new(), name, email, time_zone, role, job_title=job_title,
                color=PD_COLORS[len(world.users) % len(PD_COLORS)])
    email_cm = ContactMethod(world.ids.new(), "email_contact_method", "Work", email)
    phone_cm = ContactMethod(world.ids.new(), "phone_contact_method", "Mobile", phone, country_code)
    sms_cm = ContactMethod(world.ids.new(), "sms_contact_method", "Mobile", phone, country_code)
    push_cm = ContactMethod(world.ids.new(), "push_notification_contact_method", device, device)
    user.contact_methods = [email_cm, phone_cm, sms_cm, push_cm]
    # High urgency: something loud at once, escalating to a call; low urgency: quiet channels only.
    first = push_cm if rng.random() < 0.6 else sms_cm
    second = sms_cm if first is push_cm else push_cm
    plan: list[tuple[int, ContactMethod, Urgency]] = [
        (0, first, "high"), (5, second, "high"), (10, phone_cm, "high"),
        (0, email_cm, "low"),
    ]
    if rng.random() < 0.5:
        plan.append((10, push_cm, "low"))
    user.notification_rules = [NotificationRule(world.ids.new(), delay, cm.id, urgency)
                               for delay, cm, urgency in plan]
    world.users[user.id] = user
    return user


def notify_label(user: User, urgency: Urgency) -> str:
    """How PagerDuty first reaches ``user`` for ``urgency`` (for "Notified X by SMS." summaries)."""
    methods = {cm.id: cm.type for cm in user.contact_methods}
    rules = sorted((r for r in user.notification_rules if r.urgency == urgency),
                   key=lambda r: r.start_delay_in_minutes)
    for rule in rules:
        kind = methods.get(rule.contact_method_id)
        if kind is not None:
            return _METHOD_LABEL[kind]
    return "email"


# --------------------------------------------------------------------------- on call


class OnCallResolver:
    """Who an escalation target pages at an instant, from the schedule engine (cached per instant)."""

    def __init__(self, world: World) -> None:
        self._world = world
        self._cache: dict[tuple[str, datetime], list[str]] = {}

    def users_at(self, target: Target, at: datetime) -> list[str]:
        """The users ``target`` pages at ``at``: the user itself, or whoever the schedule shows."""
        if target.type == "user_reference":
            return [target.id]
        key = (target.id, at)
        if key not in self._cache:
            self._cache[key] = self._schedule_users(self._world.schedules[target.id], at)
        return self._cache[key]

    @staticmethod
    def _schedule_users(schedule: Schedule, at: datetime) -> list[str]:
        tz = ZoneInfo(schedule.time_zone)
        until = at + timedelta(seconds=1)
        if schedule.kind == "v2":
            entries = render_final(schedule.layers, schedule.override_spans(), tz, at, until)
            return [e.user_id for e in entries if e.start <= at < e.end]
        # v3 rotations run side by side: everyone on call in any rotation is paged; overrides are scoped
        # to one rotation.
        users: list[str] = []
        for layer in schedule.layers:
            spans = [OverrideSpan(o.start, o.end, o.user_id, o.created_order)
                     for o in schedule.overrides if o.rotation_id == layer.id]
            entries = render_final([layer], spans, tz, at, until)
            users.extend(e.user_id for e in entries if e.start <= at < e.end and e.user_id not in users)
        return users


@dataclass(frozen=True, slots=True)
class Step:
    """One stop on an escalation path: rule index (0-based), when it was reached, who it assigned."""

    level_index: int
    at: datetime
    user_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EscalationPath:
    """The stops an incident made on its escalation policy, in order."""

    steps: tuple[Step, ...]
    exhausted_at: datetime | None = None
    """When the last rule's delay ran out with no loops left (PagerDuty logs the path as exhausted)."""


def escalate(resolver: OnCallResolver, policy: EscalationPolicy, start: datetime,
             stop: datetime) -> EscalationPath:
    """Walk ``policy`` from ``start`` until ``stop`` (an acknowledgement, a resolve, or now).

    PagerDuty moves on after each rule's delay, loops ``num_loops`` times, and skips a rule at once
    when nobody is on call for it.
    """
    steps: list[Step] = []
    at, index, loops = start, 0, 0
    while len(steps) < 64:
        users: list[str] = []
        for target in policy.rules[index].targets:
            users.extend(u for u in resolver.users_at(target, at) if u not in users)
        steps.append(Step(index, at, tuple(users)))
        delay = timedelta(minutes=policy.rules[index].escalation_delay_in_minutes) if users else timedelta(0)
        if at + delay > stop:
            break
        index += 1
        if index == len(policy.rules):
            if loops >= policy.num_loops:
                return EscalationPath(tuple(steps), at + delay if users else None)
            loops, index = loops + 1, 0
        at += delay
    return EscalationPath(tuple(steps))


# --------------------------------------------------------------------------- incidents


@dataclass(slots=True)
class NoteSpec:
    content: str
    after: timedelta
    """Written this long after the incident was created (capped at its resolve time / now)."""
    user_id: str | None = None
    """None: whoever acknowledged the incident (else its first assignee)."""


@dataclass(slots=True)
class IncidentSpec:
    """What happened to one incident; :func:`add_incident` turns it into records and log entries."""

    service_id: str
    title: str
    created_at: datetime
    urgency: Urgency
    incident_key: str
    ack_after: timedelta | None = None
    resolve_after: timedelta | None = None
    resolved_by_user: bool = True
    """False: the monitoring integration resolved it (agent is the service, e.g. a flapping check)."""
    priority: str | None = None
    alerts: int = 1
    details: str | None = None
    notes: list[NoteSpec] = field(default_factory=list)
    resolution: str | None = None
    status_update: tuple[str, str] | None = None
    """(user id, message) of one status update sent 12 minutes in."""


def _log(world: World, incident: Incident, kind: str, at: datetime, summary: str, *,
         agent: str | None = None, note: str | None = None, assigned: Sequence[str] = ()) -> None:
    incident.log_entries.append(LogEntry(world.ids.new(), kind, at, incident.id, agent, summary, note,
                                         list(assigned)))


def add_incident(world: World, spec: IncidentSpec, number: int, path: EscalationPath,
                 priority_ids: dict[str, str]) -> Incident:
    """Materialise ``spec`` as incident ``number`` whose assignments follow ``path``.

    The log tells the same story as the fields: trigger, notifications per assignment, escalations,
    acknowledgement by an assignee, notes, resolve.
    """
    created = spec.created_at
    ack_at = created + spec.ack_after if spec.ack_after is not None else None
    resolved_at = created + spec.resolve_after if spec.resolve_after is not None else None
    if ack_at is not None and resolved_at is not None and ack_at > resolved_at:
        ack_at = None
    service = world.services[spec.service_id]
    assigned_steps = [s for s in path.steps if s.user_ids]
    assignees = list(assigned_steps[-1].user_ids) if assigned_steps else []
    status: IncidentStatus = "resolved" if resolved_at else ("acknowledged" if ack_at else "triggered")
    incident = Incident(
        id=world.ids.new(), number=number, title=spec.title, status=status, urgency=spec.urgency,
        service_id=service.id, escalation_policy_id=service.escalation_policy_id, created_at=created,
        updated_at=created, incident_key=spec.incident_key,
        assigned_user_ids=[] if resolved_at else assignees,
        priority_id=priority_ids[spec.priority] if spec.priority else None,
        escalation_level=path.steps[-1].level_index + 1 if path.steps else 1,
        resolved_at=resolved_at, last_status_change_at=created, details=spec.details,
    )
    _log(world, incident, "trigger_log_entry", created, "Triggered through the API.")
    settled = ack_at or resolved_at or world.now
    for step in path.steps:
        if step is not path.steps[0] and step.user_ids:
            _log(world, incident, "escalate_log_entry", step.at,
                 f"Escalated to level {step.level_index + 1} by timeout.", assigned=step.user_ids)
        for offset, user_id in enumerate(step.user_ids):
            user = world.users[user_id]
            _log(world, incident, "notify_log_entry", min(step.at + timedelta(seconds=2 + offset), settled),
                 f"Notified {user.name} by {notify_label(user, spec.urgency)}.", assigned=[user_id])
    if path.exhausted_at is not None and path.exhausted_at <= settled:
        _log(world, incident, "exhaust_escalation_path_log_entry", path.exhausted_at,
             "Escalation policy exhausted.")
    acknowledger = assignees[0] if assignees else None
    if ack_at is not None and acknowledger is not None:
        incident.acknowledgements.append(Acknowledgement(acknowledger, ack_at))
        incident.last_status_change_at, incident.last_status_change_by = ack_at, acknowledger
        _log(world, incident, "acknowledge_log_entry", ack_at,
             f"Acknowledged by {world.users[acknowledger].name}.", agent=acknowledger)
    elif ack_at is not None and resolved_at is None:
        incident.status = "triggered"
    end = resolved_at or world.now
    for note_spec in spec.notes:
        author = note_spec.user_id or acknowledger or (assignees[0] if assignees else None)
        if author is None:
            continue
        at = min(created + note_spec.after, end)
        incident.notes.append(Note(world.ids.new(), author, note_spec.content, at))
        _log(world, incident, "annotate_log_entry", at, "Note added.", agent=author, note=note_spec.content)
    if spec.status_update is not None:
        author, message = spec.status_update
        at = min(created + timedelta(minutes=12), end)
        incident.status_updates.append(StatusUpdate(world.ids.new(), message, at, author,
                                                    f"Update: {spec.title}"))
    if resolved_at is not None:
        resolver_id = (acknowledger if spec.resolved_by_user else None)
        summary = (f"Resolved by {world.users[resolver_id].name}." if resolver_id
                   else "Resolved through the API.")
        _log(world, incident, "resolve_log_entry", resolved_at, summary, agent=resolver_id,
             note=spec.resolution)
        incident.last_status_change_at, incident.last_status_change_by = resolved_at, resolver_id
    _add_alerts(world, incident, spec, end)
    incident.log_entries.sort(key=lambda e: e.created_at)
    incident.updated_at = max(e.created_at for e in incident.log_entries)
    world.add_incident(incident)
    return incident


def _add_alerts(world: World, incident: Incident, spec: IncidentSpec, end: datetime) -> None:
    severity: AlertSeverity = "warning"
    if spec.urgency == "high":
        severity = "critical" if spec.priority in ("P1", "P2") else "error"
    span = max(end - spec.created_at, timedelta(seconds=spec.alerts))
    status: AlertStatus = "resolved" if incident.status == "resolved" else "triggered"
    for n in range(spec.alerts):
        at = spec.created_at + span * n / (spec.alerts + 1) if n else spec.created_at
        incident.alerts.append(Alert(world.ids.new(), spec.title, at, status, spec.incident_key, severity))
