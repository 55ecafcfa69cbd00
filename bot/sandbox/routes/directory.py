"""Users, teams, services and escalation policies: the account's directory."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from bot.sandbox.app import Context, Route
from bot.sandbox.http import SandboxRequest, SandboxResponse, invalid, iso, not_found, paginate
from bot.sandbox.model import ContactMethod, EscalationPolicy, NotificationRule, Service, Team, User, World
from bot.sandbox.serialize import (
    api_base,
    html_url,
    policy_ref,
    ref,
    service_ref,
    team_ref,
    team_refs,
    user_object,
    user_ref_by_id,
)

T = TypeVar("T")


def _matches(query: str | None, *fields: str) -> bool:
    """PagerDuty's ``query``: a case-insensitive match on the name (and e-mail for users)."""
    if not query:
        return True
    wanted = query.strip().lower()
    return any(wanted in field.lower() for field in fields)


def _get(mapping: dict[str, T], object_id: str, what: str) -> T:
    found = mapping.get(object_id)
    if found is None:
        raise not_found(f"{what} {object_id}")
    return found


def _sorted_by_name(items: Iterable[T], name: Callable[[T], str], request: SandboxRequest) -> list[T]:
    descending = (request.one("sort_by") or "name").endswith(":desc")
    return sorted(items, key=lambda item: name(item).lower(), reverse=descending)


# -- users ----------------------------------------------------------------------------------------
def contact_method_json(user: User, method: ContactMethod) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": method.id, "type": method.type, "summary": method.label, "label": method.label,
        "address": method.address, "self": f"{api_base()}/users/{user.id}/contact_methods/{method.id}",
        "html_url": None,
    }
    if method.type in ("phone_contact_method", "sms_contact_method"):
        body["country_code"] = method.country_code or 1
        body["enabled"] = True
        body["blacklisted"] = False
    elif method.type == "push_notification_contact_method":
        body["device_type"] = "ios"
        body["blacklisted"] = False
    else:
        body["send_short_email"] = False
        body["enabled"] = True
    return body


def notification_rule_json(user: User, rule: NotificationRule, expand_contact: bool) -> dict[str, Any]:
    method = next((m for m in user.contact_methods if m.id == rule.contact_method_id), None)
    if method is not None and expand_contact:
        contact: dict[str, Any] = contact_method_json(user, method)
    else:
        kind = method.type if method else "email_contact_method"
        contact = {"id": rule.contact_method_id, "type": f"{kind}_reference",
                   "summary": method.label if method else "",
                   "self": f"{api_base()}/users/{user.id}/contact_methods/{rule.contact_method_id}",
                   "html_url": None}
    return {
        "id": rule.id, "type": "assignment_notification_rule",
        "summary": f"{rule.start_delay_in_minutes} minutes: channel {rule.contact_method_id}",
        "self": f"{api_base()}/users/{user.id}/notification_rules/{rule.id}", "html_url": None,
        "start_delay_in_minutes": rule.start_delay_in_minutes, "contact_method": contact,
        "urgency": rule.urgency,
    }


def user_json(world: World, user: User, include: list[str]) -> dict[str, Any]:
    body = user_object(world, user)
    if "contact_methods" in include:
        body["contact_methods"] = [contact_method_json(user, m) for m in user.contact_methods]
    if "notification_rules" in include:
        body["notification_rules"] = [notification_rule_json(user, r, False) for r in user.notification_rules]
    if "teams" in include:
        body["teams"] = [team_json(world, world.teams[t]) for t in world.team_ids_of_user(user.id)]
    return body


def list_users(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    team_ids = set(req.many("team_ids"))
    query = req.one("query")
    users = [
        u for u in ctx.world.users.values()
        if _matches(query, u.name, u.email)
        and (not team_ids or team_ids.intersection(ctx.world.team_ids_of_user(u.id)))
    ]
    include = req.many("include")
    return SandboxResponse(200, paginate(req, users, lambda u: user_json(ctx.world, u, include), "users"))


def get_user(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    user = _get(ctx.world.users, params["id"], "User")
    return SandboxResponse(200, {"user": user_json(ctx.world, user, req.many("include"))})


def get_me(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    return SandboxResponse(200, {"user": user_json(ctx.world, ctx.token_user, req.many("include"))})


def list_notification_rules(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    user = _get(ctx.world.users, params["id"], "User")
    urgency = req.one("urgency") or "high"
    if urgency not in ("high", "low", "all"):
        raise invalid("urgency must be one of high, low, all")
    expand = "contact_methods" in req.many("include")
    rules = [notification_rule_json(user, r, expand) for r in user.notification_rules
             if urgency == "all" or r.urgency == urgency]
    return SandboxResponse(200, {"notification_rules": rules})


def list_contact_methods(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    user = _get(ctx.world.users, params["id"], "User")
    return SandboxResponse(200, {"contact_methods": [contact_method_json(user, m) for m in user.contact_methods]})


# -- teams ----------------------------------------------------------------------------------------
def team_json(world: World, team: Team) -> dict[str, Any]:
    body = team_ref(world, team)
    body.update(type="team", name=team.name, description=team.description, default_role="manager")
    return body


def list_teams(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    teams = [t for t in ctx.world.teams.values() if _matches(req.one("query"), t.name)]
    return SandboxResponse(200, paginate(req, teams, lambda t: team_json(ctx.world, t), "teams"))


def get_team(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    team = _get(ctx.world.teams, params["id"], "Team")
    return SandboxResponse(200, {"team": team_json(ctx.world, team)})


def list_team_members(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    team = _get(ctx.world.teams, params["id"], "Team")
    expand = "users" in req.many("include")
    members = [(user_id, role) for user_id, role in team.members.items() if user_id in ctx.world.users]

    def render(member: tuple[str, str]) -> dict[str, Any]:
        user_id, role = member
        user = (user_object(ctx.world, ctx.world.users[user_id]) if expand
                else user_ref_by_id(ctx.world, user_id))
        return {"user": user, "role": role}

    return SandboxResponse(200, paginate(req, members, render, "members"))


# -- services -------------------------------------------------------------------------------------
def service_json(world: World, service: Service, include: list[str], tz_name: str = "UTC") -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(tz_name)
    policy = world.escalation_policies.get(service.escalation_policy_id)
    body = service_ref(world, service)
    last = world.last_incident_at(service.id)
    body.update(
        type="service",
        html_url=f"https://{world.subdomain}.pagerduty.com/service-directory/{service.id}",
        name=service.name,
        description=service.description,
        auto_resolve_timeout=service.auto_resolve_timeout,
        acknowledgement_timeout=service.acknowledgement_timeout,
        created_at=iso(service.created_at, tz),
        status=world.service_status(service),
        escalation_policy=(policy_json(world, policy, []) if policy and "escalation_policies" in include
                           else policy_ref(world, policy) if policy else None),
        teams=([team_json(world, world.teams[t]) for t in service.team_ids if t in world.teams]
               if "teams" in include else team_refs(world, service.team_ids)),
        integrations=[],
        incident_urgency_rule={"type": "constant", "urgency": "high"},
        scheduled_actions=[],
        alert_creation="create_alerts_and_incidents",
        alert_grouping_parameters={"type": None},
    )
    if last is not None:
        body["last_incident_timestamp"] = iso(last, tz)
    if "auto_pause_notifications_parameters" in include:
        body["auto_pause_notifications_parameters"] = {"enabled": False, "timeout": 0}
    return body


def _visible_services(ctx: Context) -> list[Service]:
    visible = ctx.world.visible_service_ids(ctx.token_user)
    return [s for s in ctx.world.services.values() if visible is None or s.id in visible]


def list_services(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    team_ids = set(req.many("team_ids"))
    query, exact = req.one("query"), req.one("name")
    services = [
        s for s in _visible_services(ctx)
        if _matches(query, s.name)
        and (exact is None or s.name == exact)
        and (not team_ids or team_ids.intersection(s.team_ids))
    ]
    services = _sorted_by_name(services, lambda s: s.name, req)
    include, tz = req.many("include"), req.one("time_zone") or "UTC"
    req.time_zone("UTC")
    return SandboxResponse(200, paginate(req, services, lambda s: service_json(ctx.world, s, include, tz),
                                         "services"))


def get_service(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    service = _get(ctx.world.services, params["id"], "Service")
    visible = ctx.world.visible_service_ids(ctx.token_user)
    if visible is not None and service.id not in visible:
        raise not_found(f"Service {service.id}")
    return SandboxResponse(200, {"service": service_json(ctx.world, service, req.many("include"))})


# -- escalation policies --------------------------------------------------------------------------
def _target_json(world: World, target_type: str, target_id: str, expand: bool) -> dict[str, Any]:
    if target_type == "user_reference":
        user = world.users.get(target_id)
        if expand and user:
            return user_object(world, user)
        return user_ref_by_id(world, target_id)
    schedule = world.schedules.get(target_id)
    kind = "schedule_v3" if target_type == "schedule_v3_reference" else "schedule"
    body = ref(world, kind, target_id, schedule.name if schedule else "Deleted schedule")
    # The spec's target types have no expanded v3 schedule ("schedule_v3"): those stay references.
    if expand and schedule and kind == "schedule":
        body.update(type="schedule", name=schedule.name, time_zone=schedule.time_zone,
                    description=schedule.description)
    return body


def policy_json(world: World, policy: EscalationPolicy, include: list[str]) -> dict[str, Any]:
    body = policy_ref(world, policy)
    expand_targets = "targets" in include
    services = world.services_of_policy(policy.id)
    body.update(
        type="escalation_policy",
        name=policy.name,
        description=policy.description,
        num_loops=policy.num_loops,
        on_call_handoff_notifications=policy.on_call_handoff_notifications,
        escalation_rules=[
            {
                "id": rule.id,
                "escalation_delay_in_minutes": rule.escalation_delay_in_minutes,
                "targets": [_target_json(world, t.type, t.id, expand_targets) for t in rule.targets],
                "escalation_rule_assignment_strategy": "assign_to_everyone",
            }
            for rule in policy.rules
        ],
        services=([service_json(world, s, []) for s in services] if "services" in include
                  else [service_ref(world, s) for s in services]),
        teams=([team_json(world, world.teams[t]) for t in policy.team_ids if t in world.teams]
               if "teams" in include else team_refs(world, policy.team_ids)),
    )
    return body


def list_policies(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    team_ids, user_ids = set(req.many("team_ids")), set(req.many("user_ids"))
    query = req.one("query")
    policies = [
        p for p in ctx.world.escalation_policies.values()
        if _matches(query, p.name)
        and (not team_ids or team_ids.intersection(p.team_ids))
        and (not user_ids or _targets_any_user(ctx.world, p, user_ids))
    ]
    policies = _sorted_by_name(policies, lambda p: p.name, req)
    include = req.many("include")
    return SandboxResponse(200, paginate(req, policies, lambda p: policy_json(ctx.world, p, include),
                                         "escalation_policies"))


def _targets_any_user(world: World, policy: EscalationPolicy, user_ids: set[str]) -> bool:
    for rule in policy.rules:
        for target in rule.targets:
            if target.type == "user_reference" and target.id in user_ids:
                return True
            schedule = world.schedules.get(target.id)
            if schedule and any(user_ids.intersection(layer.user_ids) for layer in schedule.layers):
                return True
    return False


def get_policy(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    policy = _get(ctx.world.escalation_policies, params["id"], "Escalation Policy")
    return SandboxResponse(200, {"escalation_policy": policy_json(ctx.world, policy, req.many("include"))})


ROUTES: list[Route] = [
    Route("GET", "/users/me", get_me),
    Route("GET", "/users", list_users),
    Route("GET", "/users/{id}", get_user),
    Route("GET", "/users/{id}/notification_rules", list_notification_rules),
    Route("GET", "/users/{id}/contact_methods", list_contact_methods),
    Route("GET", "/teams", list_teams),
    Route("GET", "/teams/{id}", get_team),
    Route("GET", "/teams/{id}/members", list_team_members),
    Route("GET", "/services", list_services),
    Route("GET", "/services/{id}", get_service),
    Route("GET", "/escalation_policies", list_policies),
    Route("GET", "/escalation_policies/{id}", get_policy),
]

__all__ = ["ROUTES", "html_url", "policy_json", "service_json", "team_json", "user_json"]
