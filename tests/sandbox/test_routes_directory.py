"""Users, teams, services and escalation policies as PagerDuty serves them."""

from __future__ import annotations

import pytest

from bot.sandbox.app import Sandbox
from bot.sandbox.routes import ALL_ROUTES
from tests.helpers import sandbox_client
from tests.sandbox.tiny_world import MANAGER_TOKEN, RESTRICTED_TOKEN, tiny_world


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(tiny_world(), ALL_ROUTES)


async def test_users_me_is_the_token_user(sandbox: Sandbox) -> None:
    async with sandbox_client(sandbox, MANAGER_TOKEN) as client:
        me = (await client.get("/users/me", params={"include[]": ["teams"]})).json()["user"]
    assert (me["id"], me["email"], me["role"], me["type"]) == ("PMIA001", "mia@example.com", "user", "user")
    assert [t["name"] for t in me["teams"]] == ["Platform"]


async def test_users_query_matches_name_or_email_and_team_filter(sandbox: Sandbox) -> None:
    async with sandbox_client(sandbox, MANAGER_TOKEN) as client:
        by_email = (await client.get("/users", params={"query": "ROB@example"})).json()
        by_team = (await client.get("/users", params={"team_ids[]": ["PTEAMPA"]})).json()
        included = (await client.get("/users/PMIA001", params={"include[]": ["contact_methods"]})).json()
    assert [u["id"] for u in by_email["users"]] == ["PROB001"]
    assert by_email["more"] is False and by_email["total"] is None
    assert [u["id"] for u in by_team["users"]] == ["PRIT001"]
    assert {m["type"] for m in included["user"]["contact_methods"]} == {"email_contact_method",
                                                                       "sms_contact_method"}


async def test_notification_rules_default_to_high_urgency(sandbox: Sandbox) -> None:
    async with sandbox_client(sandbox, MANAGER_TOKEN) as client:
        high = (await client.get("/users/PMIA001/notification_rules")).json()["notification_rules"]
        every = (await client.get("/users/PMIA001/notification_rules",
                                  params={"urgency": "all", "include[]": "contact_methods"})).json()
        methods = (await client.get("/users/PMIA001/contact_methods")).json()["contact_methods"]
    assert [(r["start_delay_in_minutes"], r["contact_method"]["id"]) for r in high] == [
        (0, "PCM0001"), (5, "PCM0002")]
    assert len(every["notification_rules"]) == 3
    assert every["notification_rules"][1]["contact_method"]["address"] == "5550100"
    assert [m["label"] for m in methods] == ["Work", "Mobile"]


async def test_unknown_user_is_404(sandbox: Sandbox) -> None:
    async with sandbox_client(sandbox, MANAGER_TOKEN) as client:
        response = await client.get("/users/PNOPE00")
    assert response.status_code == 404
    assert response.json()["error"] == {"message": "Not Found", "code": 2100, "errors": ["User PNOPE00 not found"]}


async def test_teams_and_members(sandbox: Sandbox) -> None:
    async with sandbox_client(sandbox, MANAGER_TOKEN) as client:
        teams = (await client.get("/teams", params={"query": "plat"})).json()["teams"]
        members = (await client.get("/teams/PTEAMPL/members", params={"include[]": "users"})).json()
        team = (await client.get("/teams/PTEAMPL")).json()["team"]
    assert [t["name"] for t in teams] == ["Platform"]
    assert [(m["user"]["email"], m["role"]) for m in members["members"]] == [
        ("mia@example.com", "manager"), ("rob@example.com", "responder")]
    assert team["name"] == "Platform"


async def test_services_status_is_derived_from_open_incidents(sandbox: Sandbox) -> None:
    async with sandbox_client(sandbox, MANAGER_TOKEN) as client:
        services = (await client.get("/services", params={"include[]": ["escalation_policies"]})).json()
        one = (await client.get("/services/PSVCPLT")).json()["service"]
    by_name = {s["name"]: s for s in services["services"]}
    assert list(by_name) == ["legacy-batch", "payments-api", "platform-engineering"]
    assert by_name["payments-api"]["status"] == "critical"
    assert by_name["platform-engineering"]["status"] == "warning"
    assert by_name["legacy-batch"]["status"] == "disabled"
    assert by_name["payments-api"]["escalation_policy"]["escalation_rules"][0]["targets"][0]["id"] == "PRIT001"
    assert one["escalation_policy"] == {
        "id": "PEPPLAT", "type": "escalation_policy_reference", "summary": "Platform EP",
        "self": "https://api.pagerduty.com/escalation_policies/PEPPLAT",
        "html_url": "https://acme.pagerduty.com/escalation_policies/PEPPLAT"}


async def test_service_status_follows_writes(sandbox: Sandbox) -> None:
    async with sandbox_client(sandbox, MANAGER_TOKEN, from_email="mia@example.com") as client:
        await client.put("/incidents/PINC003", json={"incident": {"type": "incident_reference",
                                                                   "status": "resolved"}})
        one = (await client.get("/services/PSVCPLT")).json()["service"]
    assert one["status"] == "active"


async def test_services_query_team_filter_and_sort(sandbox: Sandbox) -> None:
    async with sandbox_client(sandbox, MANAGER_TOKEN) as client:
        query = (await client.get("/services", params={"query": "PAY"})).json()["services"]
        team = (await client.get("/services", params={"team_ids[]": "PTEAMPL"})).json()["services"]
        desc = (await client.get("/services", params={"sort_by": "name:desc"})).json()["services"]
    assert [s["name"] for s in query] == ["payments-api"]
    assert [s["name"] for s in team] == ["platform-engineering"]
    assert [s["name"] for s in desc][0] == "platform-engineering"


async def test_restricted_user_sees_only_their_teams_services(sandbox: Sandbox) -> None:
    async with sandbox_client(sandbox, RESTRICTED_TOKEN) as client:
        services = (await client.get("/services")).json()["services"]
        hidden = await client.get("/services/PSVCPLT")
    assert [s["name"] for s in services] == ["payments-api"]
    assert hidden.status_code == 404


async def test_escalation_policies_with_targets_and_user_filter(sandbox: Sandbox) -> None:
    async with sandbox_client(sandbox, MANAGER_TOKEN) as client:
        policy = (await client.get("/escalation_policies/PEPPLAT",
                                   params={"include[]": ["targets"]})).json()["escalation_policy"]
        by_user = (await client.get("/escalation_policies", params={"user_ids[]": ["PROB001"]})).json()
        by_query = (await client.get("/escalation_policies", params={"query": "payments"})).json()
    rules = policy["escalation_rules"]
    assert [(r["escalation_delay_in_minutes"], [t["type"] for t in r["targets"]]) for r in rules] == [
        (15, ["schedule"]), (30, ["user"])]
    assert policy["num_loops"] == 1
    assert sorted(s["summary"] for s in policy["services"]) == ["legacy-batch", "platform-engineering"]
    assert [p["id"] for p in by_user["escalation_policies"]] == ["PEPPLAT"]
    assert [p["id"] for p in by_query["escalation_policies"]] == ["PEPPAY1"]
