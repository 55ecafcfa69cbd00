"""Shared pieces of PagerDuty's JSON shapes: references, links and the objects many routes embed."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from bot.sandbox.http import iso
from bot.sandbox.model import EscalationPolicy, Schedule, Service, Team, User, World

API_BASE = "https://api.pagerduty.com"
"""PagerDuty's own base: what ``self`` links use in process, unless the sandbox is told another."""
_BASE: ContextVar[str] = ContextVar("sandbox_api_base", default=API_BASE)


def api_base() -> str:
    """The base of every ``self`` link in the answer being built (no trailing slash)."""
    return _BASE.get()


@contextlib.contextmanager
def links_under(base: str | None) -> Iterator[None]:
    """Build ``self`` links under ``base`` (e.g. ``http://127.0.0.1:8765``) inside the block, so a
    client that follows them stays on the sandbox; None keeps PagerDuty's own base."""
    token = _BASE.set(base.rstrip("/") if base else API_BASE)
    try:
        yield
    finally:
        _BASE.reset(token)

# PagerDuty's collection path for each reference kind (self links and html_url paths).
_COLLECTION = {
    "user": "users",
    "team": "teams",
    "service": "services",
    "escalation_policy": "escalation_policies",
    "schedule": "schedules",
    "schedule_v3": "v3/schedules",
    "incident": "incidents",
    "priority": "priorities",
    "log_entry": "log_entries",
}
_HTML_PATH = {"schedule_v3": "schedules", "priority": None, "log_entry": None}


def html_url(world: World, kind: str, object_id: str) -> str:
    path = _HTML_PATH.get(kind, _COLLECTION[kind])
    return f"https://{world.subdomain}.pagerduty.com/{path}/{object_id}" if path else ""


def ref(world: World, kind: str, object_id: str, summary: str) -> dict[str, Any]:
    """A ``<kind>_reference``: id, type, summary, self and html_url."""
    result: dict[str, Any] = {
        "id": object_id,
        "type": f"{kind}_reference",
        "summary": summary,
        "self": f"{api_base()}/{_COLLECTION[kind]}/{object_id}",
    }
    link = html_url(world, kind, object_id)
    result["html_url"] = link or None
    return result


def user_ref(world: World, user: User) -> dict[str, Any]:
    return ref(world, "user", user.id, user.name)


def user_ref_by_id(world: World, user_id: str) -> dict[str, Any]:
    user = world.users.get(user_id)
    return ref(world, "user", user_id, user.name if user else "Deleted user")


def team_ref(world: World, team: Team) -> dict[str, Any]:
    return ref(world, "team", team.id, team.name)


def service_ref(world: World, service: Service) -> dict[str, Any]:
    return ref(world, "service", service.id, service.name)


def policy_ref(world: World, policy: EscalationPolicy) -> dict[str, Any]:
    return ref(world, "escalation_policy", policy.id, policy.name)


def schedule_ref(world: World, schedule: Schedule) -> dict[str, Any]:
    kind = "schedule_v3" if schedule.kind == "v3" else "schedule"
    return ref(world, kind, schedule.id, schedule.name)


def team_refs(world: World, team_ids: list[str]) -> list[dict[str, Any]]:
    return [team_ref(world, world.teams[t]) for t in team_ids if t in world.teams]


def user_object(world: World, user: User) -> dict[str, Any]:
    """The full ``user`` object (what ``include[]=users`` / ``assignees`` expand to)."""
    return {
        "id": user.id,
        "type": "user",
        "summary": user.name,
        "self": f"{api_base()}/users/{user.id}",
        "html_url": html_url(world, "user", user.id),
        "name": user.name,
        "email": user.email,
        "time_zone": user.time_zone,
        "color": user.color,
        "role": user.role,
        "avatar_url": f"https://secure.gravatar.com/avatar/{user.id.lower()}.png?d=mm&r=PG",
        "description": user.description,
        "invitation_sent": False,
        "job_title": user.job_title,
        "teams": team_refs(world, world.team_ids_of_user(user.id)),
        "contact_methods": [
            ref_contact(world, user, cm.id, cm.type, cm.label) for cm in user.contact_methods
        ],
        "notification_rules": [
            {"id": rule.id, "type": "assignment_notification_rule_reference",
             "summary": f"{rule.start_delay_in_minutes} minutes: channel {rule.contact_method_id}",
             "self": f"{api_base()}/users/{user.id}/notification_rules/{rule.id}", "html_url": None}
            for rule in user.notification_rules
        ],
    }


def ref_contact(world: World, user: User, cm_id: str, cm_type: str, label: str) -> dict[str, Any]:
    return {"id": cm_id, "type": f"{cm_type}_reference", "summary": label,
            "self": f"{api_base()}/users/{user.id}/contact_methods/{cm_id}", "html_url": None}


def timestamp(world: World) -> str:
    return iso(world.now)
