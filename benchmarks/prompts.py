"""The prompt set: the seed's four example prompts plus ten covering every capability.

Each prompt has alex's script (the natural tool calls, all in one step) and the naive strategy's
plan (raw ``pd_get`` requests, name -> id -> data chained by the model) producing the same answer.
Names come from the dataset so they resolve (the large account has no ``platform-engineering``).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from benchmarks.model import AlexScript, Plan, Request
from bot.analysis.windows import resolve_window
from bot.pagerduty.params import format_datetime
from bot.sandbox import Sandbox

OPEN = "statuses[]=triggered&statuses[]=acknowledged"


@dataclass(frozen=True)
class Prompt:
    key: str
    text: str
    seed: bool
    alex: AlexScript
    naive: Callable[[], Plan]


def _q(**params: Any) -> str:
    return urlencode(params, doseq=True)


def _paged(path: str, key: str, query: str = "") -> Generator[list[Request], list[Any], list[dict[str, Any]]]:
    """Page through a list, one model turn per page (the model sees ``more`` and asks again)."""
    items: list[dict[str, Any]] = []
    offset = 0
    while True:
        [body] = yield [(path, "&".join(p for p in (query, f"limit=100&offset={offset}") if p))]
        items += body.get(key) or []
        if not body.get("more"):
            return items
        offset += 100


def _first(path: str, key: str, query: str) -> Generator[list[Request], list[Any], dict[str, Any]]:
    [body] = yield [(path, query)]
    found = body.get(key) or [{}]
    return dict(found[0])


def _span(window: str, now: datetime, tz: ZoneInfo) -> str:
    span = resolve_window(window, now, tz)
    return _q(since=format_datetime(span.start), until=format_datetime(span.end), time_zone=tz.key)


def build_prompts(sandbox: Sandbox, asker_tz: ZoneInfo) -> list[Prompt]:  # noqa: C901 - one plan per prompt
    world = sandbox.world
    now = world.now
    services = list(world.services.values())
    service, other = services[0].name, services[1 % len(services)].name
    schedule = next(iter(world.schedules.values())).name
    policy = next(iter(world.escalation_policies.values())).name
    team = next(iter(world.teams.values())).name
    person = list(world.users.values())[len(world.users) // 2].name
    open_incidents = [i for i in world.incidents.values() if i.status == "triggered"]
    number = min(i.number for i in open_incidents)
    next_week = _span("next week", now, asker_tz)
    this_week = _span("next 7 days", now, asker_tz)
    dst = "2026-03-28T00:00/2026-03-30T00:00"
    dst_span = _span(dst, now, asker_tz)

    def list_open() -> Plan:
        [body] = yield [("/incidents", f"{OPEN}&limit=100")]
        return f"{len(body.get('incidents') or [])} open incidents on the first page."

    def oncall_service(name: str) -> Callable[[], Plan]:
        def plan() -> Plan:
            found = yield from _first("/services", "services", _q(query=name))
            policy_id = (found.get("escalation_policy") or {}).get("id", "")
            yield [(f"/escalation_policies/{policy_id}", None)]
            [body] = yield [("/oncalls", _q(**{"escalation_policy_ids[]": policy_id}))]
            return f"{len(body.get('oncalls') or [])} on-call entries."
        return plan

    def health() -> Plan:
        all_services = yield from _paged("/services", "services")
        bodies = yield [("/incidents", f"{OPEN}&" + _q(**{"service_ids[]": s["id"]})) for s in all_services]
        active = sum(1 for b in bodies if b.get("incidents"))
        return f"{active} services have open incidents."

    def gaps() -> Plan:
        schedules = yield from _paged("/schedules", "schedules")
        bodies = yield [(f"/schedules/{s['id']}", next_week) for s in schedules]
        return f"Read {len(bodies)} schedules for next week."

    def incident() -> Plan:
        [body] = yield [(f"/incidents/{number}", None)]
        incident_id = (body.get("incident") or {}).get("id", "")
        yield [(f"/incidents/{incident_id}/alerts", None)]
        yield [(f"/incidents/{incident_id}/notes", None)]
        yield [(f"/incidents/{incident_id}/log_entries", None)]
        return f"Incident #{number}."

    def policy_rules() -> Plan:
        found = yield from _first("/escalation_policies", "escalation_policies", _q(query=policy))
        [ep] = yield [(f"/escalation_policies/{found.get('id', '')}", None)]
        [oncalls] = yield [("/oncalls", _q(**{"escalation_policy_ids[]": found.get("id", "")}))]
        users = sorted({o["user"]["id"] for o in oncalls.get("oncalls") or [] if o.get("user")})
        yield [(f"/users/{user}/notification_rules", None) for user in users]
        return f"{len((ep.get('escalation_policy') or {}).get('escalation_rules') or [])} levels."

    def schedule_plan(window: str) -> Callable[[], Plan]:
        def plan() -> Plan:
            found = yield from _first("/schedules", "schedules", _q(query=schedule))
            yield [(f"/schedules/{found.get('id', '')}", window)]
            return "Shifts."
        return plan

    def overrides() -> Plan:
        found = yield from _first("/schedules", "schedules", _q(query=schedule))
        [body] = yield [(f"/schedules/{found.get('id', '')}/overrides", this_week)]
        return f"{len(body.get('overrides') or [])} overrides."

    def people() -> Plan:
        found = yield from _first("/users", "users", _q(query=person))
        yield [(f"/users/{found.get('id', '')}", "include[]=contact_methods&include[]=teams")]
        return person

    def acknowledge() -> Plan:
        yield [(f"/incidents/{number}", None)]
        return f"Shall I acknowledge #{number}? (confirm)"

    def team_oncall() -> Plan:
        found = yield from _first("/teams", "teams", _q(query=team))
        policies = yield from _paged("/escalation_policies", "escalation_policies",
                                     _q(**{"team_ids[]": found.get("id", "")}))
        [body] = yield [("/oncalls", _q(**{"escalation_policy_ids[]": [p["id"] for p in policies]}))]
        return f"{len(body.get('oncalls') or [])} on-call entries."

    def next_oncall() -> Plan:
        [me] = yield [("/users/me", None)]
        window = _span("next 30 days", now, asker_tz)
        [body] = yield [("/oncalls", window + "&" + _q(**{"user_ids[]": (me.get("user") or {}).get("id", "")}))]
        return f"{len(body.get('oncalls') or [])} upcoming shifts."

    def service_incidents() -> Plan:
        found = yield from _first("/services", "services", _q(query=other))
        [body] = yield [("/incidents", f"{OPEN}&" + _q(**{"service_ids[]": found.get("id", "")}))]
        return f"{len(body.get('incidents') or [])} incidents."

    return [
        Prompt("seed: open incidents + patterns",
               "list all triggered and acknowledged incidents and identify patterns", True,
               [("list_incidents", {"statuses": ["triggered", "acknowledged"]})], list_open),
        Prompt("seed: on-call for a service",
               f"who is currently on-call for the {service} service?", True,
               [("who_is_on_call", {"target": service, "target_type": "service"})], oncall_service(service)),
        Prompt("seed: services with active incidents",
               "list all services with active incidents and their current status", True,
               [("service_health", {"only_active": True})], health),
        Prompt("seed: next week's gaps",
               "show next week's on-call schedule and identify any coverage gaps", True,
               [("find_coverage_gaps", {"window": "next week"})], gaps),
        Prompt("one incident", f"what is going on with incident #{number}?", False,
               [("get_incident", {"incident": str(number)})], incident),
        Prompt("policy + notification rules", f"show the {policy} policy with notification rules", False,
               [("get_escalation_policy", {"policy": policy, "notification_rules": True})], policy_rules),
        Prompt("schedule shifts", f"show the shifts on {schedule} this week", False,
               [("get_schedule", {"schedule": schedule, "window": "next 7 days"})],
               schedule_plan(this_week)),
        Prompt("overrides", f"any overrides on {schedule}?", False,
               [("list_overrides", {"schedule": schedule, "window": "next 7 days"})], overrides),
        Prompt("people", f"who is {person}?", False,
               [("find_people", {"query": person, "kind": "user"})], people),
        Prompt("write proposal", f"acknowledge incident #{number}", False,
               [("acknowledge_incidents", {"incidents": [str(number)]})], acknowledge),
        Prompt("team on-call", f"who is on call for team {team}?", False,
               [("who_is_on_call", {"target": team, "target_type": "team"})], team_oncall),
        Prompt("when am I next on call", "when am I next on call?", False,
               [("who_is_on_call", {"target_type": "me", "window": "next 30 days"})], next_oncall),
        Prompt("incidents of one service", f"open incidents on {other}", False,
               [("list_incidents", {"service": other})], service_incidents),
        Prompt("DST window", f"show {schedule} from {dst} (the DST change)", False,
               [("get_schedule", {"schedule": schedule, "window": dst})], schedule_plan(dst_span)),
    ]
