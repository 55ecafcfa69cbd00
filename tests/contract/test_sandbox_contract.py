"""Every endpoint the sandbox serves, called by our client on the demo account, against the official spec.

One scenario walks all of them through :class:`ValidatingTransport`; the test then checks that each
operation in ``ENDPOINTS`` was seen, so an endpoint cannot silently drop out of the contract check.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.pagerduty import NotFoundError, PagerDutyClient
from bot.pagerduty.params import format_datetime
from bot.sandbox import DEFAULT_NOW, build_sandbox, default_token
from tests.contract.openapi_contract import Contract, ValidatingTransport

ENDPOINTS: frozenset[tuple[str, str]] = frozenset({
    ("GET", "/users/me"), ("GET", "/users"), ("GET", "/users/{id}"),
    ("GET", "/users/{id}/notification_rules"), ("GET", "/users/{id}/contact_methods"),
    ("GET", "/teams"), ("GET", "/teams/{id}"), ("GET", "/teams/{id}/members"),
    ("GET", "/services"), ("GET", "/services/{id}"),
    ("GET", "/escalation_policies"), ("GET", "/escalation_policies/{id}"),
    ("GET", "/oncalls"),
    ("GET", "/schedules"), ("GET", "/schedules/{id}"), ("GET", "/schedules/{id}/users"),
    ("GET", "/schedules/{id}/overrides"), ("POST", "/schedules/{id}/overrides"),
    ("DELETE", "/schedules/{id}/overrides/{override_id}"), ("GET", "/v3/schedules"), ("GET", "/v3/schedules/{id}"),
    ("GET", "/incidents"), ("GET", "/incidents/{id}"), ("PUT", "/incidents"), ("PUT", "/incidents/{id}"),
    ("POST", "/incidents"), ("GET", "/incidents/{id}/notes"), ("POST", "/incidents/{id}/notes"),
    ("POST", "/incidents/{id}/status_updates"), ("POST", "/incidents/{id}/snooze"),
    ("POST", "/incidents/{id}/responder_requests"),
    ("GET", "/incidents/{id}/log_entries"), ("GET", "/incidents/{id}/alerts"),
    ("GET", "/log_entries"), ("GET", "/log_entries/{id}"), ("GET", "/priorities"),
})

ACTOR = "sam.rivera@acme-payments.example"


async def test_every_endpoint_speaks_the_official_contract(contract: Contract) -> None:
    sandbox = build_sandbox("demo", now=DEFAULT_NOW, rate_limit_per_minute=None)
    world = sandbox.world
    transport = ValidatingTransport(sandbox.transport(), contract)
    user = next(iter(world.users.values()))
    actor = world.user_by_email(ACTOR) or user
    team = next(iter(world.teams.values()))
    service = next(s for s in world.services.values() if s.name == "platform-engineering")
    v2 = next(s for s in world.schedules.values() if s.kind == "v2")
    v3 = next(s for s in world.schedules.values() if s.kind == "v3")
    open_incidents = [i for i in world.incidents.values() if i.status == "triggered"]
    since, until = DEFAULT_NOW, DEFAULT_NOW + timedelta(days=7)
    window = {"since": format_datetime(since), "until": format_datetime(until)}

    async with PagerDutyClient(default_token("demo"), transport=transport) as pd:
        await pd.me()
        await pd.fetch("/users", "users", {"query": user.name[:3], "include[]": ["teams", "contact_methods"]})
        await pd.get(f"/users/{user.id}", {"include[]": ["notification_rules"]})
        await pd.get(f"/users/{user.id}/notification_rules", {"urgency": "all", "include[]": "contact_methods"})
        await pd.get(f"/users/{user.id}/contact_methods")
        await pd.fetch("/teams", "teams")
        await pd.get(f"/teams/{team.id}")
        await pd.fetch(f"/teams/{team.id}/members", "members", {"include[]": "users"})
        await pd.fetch("/services", "services", {"include[]": ["escalation_policies", "teams"]})
        await pd.get(f"/services/{service.id}", {"include[]": ["escalation_policies"]})
        await pd.fetch("/escalation_policies", "escalation_policies", {"include[]": ["services", "targets"]})
        await pd.get(f"/escalation_policies/{service.escalation_policy_id}")
        await pd.fetch("/oncalls", "oncalls", {"escalation_policy_ids[]": [service.escalation_policy_id],
                                               **window, "include[]": ["users"]})
        await pd.fetch("/schedules", "schedules", {"query": "Primary"})
        await pd.get(f"/schedules/{v2.id}", window)
        await pd.get(f"/schedules/{v2.id}/users", window)
        await pd.get(f"/schedules/{v2.id}/overrides", window)
        created = await pd.post(f"/schedules/{v2.id}/overrides", {"overrides": [{
            "start": format_datetime(until - timedelta(days=1)), "end": format_datetime(until),
            "user": {"id": actor.id, "type": "user_reference"}, "time_zone": "UTC"}]}, from_email=ACTOR)
        await pd.delete(f"/schedules/{v2.id}/overrides/{created[0]['override']['id']}", from_email=ACTOR)
        await pd.fetch("/v3/schedules", "schedules", {"query": v3.name[:4]})
        await pd.get_schedule(v3.id, since, until)
        await pd.fetch("/incidents", "incidents", {"statuses[]": ["triggered", "acknowledged"], "total": True,
                                                   "include[]": ["assignees", "services", "priorities"]})
        first, second = open_incidents[0], open_incidents[1]
        await pd.get(f"/incidents/{first.number}")
        await pd.put(f"/incidents/{first.id}", {"incident": {"type": "incident_reference",
                                                              "status": "acknowledged"}}, from_email=ACTOR)
        await pd.put("/incidents", {"incidents": [{"id": second.id, "type": "incident_reference",
                                                  "status": "resolved", "resolution": "fixed"}]}, from_email=ACTOR)
        await pd.post("/incidents", {"incident": {
            "type": "incident", "title": "Contract check", "urgency": "low", "incident_key": "contract-1",
            "service": {"id": service.id, "type": "service_reference"},
            "body": {"type": "incident_body", "details": "made by the contract test"}}}, from_email=ACTOR)
        await pd.get(f"/incidents/{first.id}/notes")
        await pd.post(f"/incidents/{first.id}/notes", {"note": {"content": "looking"}}, from_email=ACTOR)
        await pd.post(f"/incidents/{first.id}/status_updates", {"message": "mitigating"}, from_email=ACTOR)
        await pd.post(f"/incidents/{first.id}/snooze", {"duration": 3600}, from_email=ACTOR)
        policy = next(iter(world.escalation_policies.values()))
        await pd.post(f"/incidents/{first.id}/responder_requests", {
            "requester_id": actor.id, "message": "join the bridge", "responder_request_targets": [
                {"responder_request_target": {"id": user.id, "type": "user_reference"}},
                {"responder_request_target": {"id": policy.id, "type": "escalation_policy_reference"}}]},
            from_email=ACTOR)
        priority = world.priorities[0]
        await pd.put(f"/incidents/{first.id}", {"incident": {
            "type": "incident_reference", "priority": {"id": priority.id, "type": "priority_reference"},
            "urgency": "low"}}, from_email=ACTOR)
        await pd.get(f"/incidents/{first.id}")  # now with its responders and responder requests
        entries = await pd.fetch(f"/incidents/{first.id}/log_entries", "log_entries")
        await pd.fetch(f"/incidents/{first.id}/alerts", "alerts")
        await pd.fetch("/log_entries", "log_entries", {"since": format_datetime(since - timedelta(days=1))},
                       max_items=200)
        await pd.get(f"/log_entries/{entries.items[0]['id']}")
        await pd.fetch("/priorities", "priorities")

    missing = ENDPOINTS - transport.checked_paths
    assert not missing, f"endpoints not exercised through the contract check: {sorted(missing)}"
    assert not transport.violations


async def test_unknown_endpoint_gets_pagerduty_404_not_a_crash() -> None:
    sandbox = build_sandbox("demo", now=DEFAULT_NOW)
    async with PagerDutyClient(default_token("demo"), transport=sandbox.transport()) as pd:
        with pytest.raises(NotFoundError) as caught:
            await pd.get("/no_such_endpoint")
        with pytest.raises(NotFoundError):
            await pd.post("/incidents/PNOPE12/merge_everything", {}, from_email=ACTOR)
    assert (caught.value.status, caught.value.code) == (404, 2100)
