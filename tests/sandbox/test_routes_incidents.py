"""Incident endpoints of the sandbox, held to PagerDuty's documented behaviour and its OpenAPI contract.

Requests that follow the spec go through the contract-validating transport (when the spec is present),
so every such response is proven spec-valid; deliberately malformed requests (missing ``From``, missing
required fields, expansions the spec does not model) use an unvalidated client.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import pytest

from bot.sandbox.app import Sandbox
from bot.sandbox.http import SandboxRequest
from bot.sandbox.model import (
    Acknowledgement,
    Alert,
    EscalationPolicy,
    EscalationRule,
    IdFactory,
    Incident,
    LogEntry,
    Note,
    Priority,
    Service,
    Target,
    Team,
    TokenGrant,
    User,
    World,
)
from bot.sandbox.routes.directory import ROUTES as DIRECTORY_ROUTES
from bot.sandbox.routes.incidents import ROUTES
from tests.helpers import sandbox_transport

NOW = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
ACCEPT = "application/vnd.pagerduty+json;version=2"
MANAGER, OBSERVER, READ_ONLY, RESTRICTED = "tok-mgr", "tok-obs", "tok-ro", "tok-rita"
ALICE, BOB, OLGA, RITA = "PALICE1", "PBOB001", "POLGA01", "PRITA01"
API, DB, PAY = "PSAPI01", "PSDB001", "PSPAY01"


# -------------------------------------------------------------------------------------------------
# The account
# -------------------------------------------------------------------------------------------------
def _incident(world: World, number: int, service: str, status: str, urgency: str, age: timedelta, *,
              assignees: tuple[str, ...] = (), key: str | None = None, priority: str | None = None,
              details: str | None = None, alerts: tuple[str, ...] = ("triggered",)) -> Incident:
    created = NOW - age
    incident = Incident(
        f"PINC{number:03d}", number, f"Incident {number} on {world.services[service].name}", "triggered",
        "high" if urgency == "high" else "low", service, world.services[service].escalation_policy_id,
        created, created, key or f"key-{number}", assigned_user_ids=list(assignees), priority_id=priority,
        last_status_change_at=created, details=details)
    incident.log_entries.append(LogEntry(f"PLT{number:04d}", "trigger_log_entry", created, incident.id,
                                         summary="Triggered through the API."))
    incident.alerts.extend(Alert(f"PAL{number:02d}{n}", incident.title, created + timedelta(seconds=n),
                                 "resolved" if status == "resolved" or alert_status == "resolved"
                                 else "triggered", incident.incident_key)
                           for n, alert_status in enumerate(alerts))
    if status == "acknowledged":
        at = created + timedelta(minutes=5)
        incident.status = "acknowledged"
        incident.acknowledgements.append(Acknowledgement(assignees[0], at))
        incident.last_status_change_at, incident.last_status_change_by = at, assignees[0]
        incident.log_entries.append(LogEntry(f"PLA{number:04d}", "acknowledge_log_entry", at, incident.id,
                                             assignees[0], "Acknowledged."))
    if status == "resolved":
        at = created + timedelta(days=1)
        incident.status, incident.resolved_at, incident.assigned_user_ids = "resolved", at, []
        incident.last_status_change_at, incident.last_status_change_by = at, ALICE
        incident.log_entries.append(LogEntry(f"PLR{number:04d}", "resolve_log_entry", at, incident.id,
                                             ALICE, "Resolved.", note="fixed"))
    incident.updated_at = incident.log_entries[-1].created_at
    world.add_incident(incident)
    return incident


def build_world() -> World:
    """Three services on two teams, ten incidents in every state and age (numbers 1..10)."""
    world = World(now=NOW, ids=IdFactory(11))
    for user in (User(ALICE, "Alice Manager", "alice@example.com", "Europe/Berlin", "user"),
                 User(BOB, "Bob Responder", "bob@example.com", "UTC", "limited_user"),
                 User(OLGA, "Olga Observer", "olga@example.com", "UTC", "observer"),
                 User(RITA, "Rita Restricted", "rita@example.com", "UTC", "restricted_access")):
        world.users[user.id] = user
    world.teams["PTPLAT1"] = Team("PTPLAT1", "Platform", members={ALICE: "manager", BOB: "responder"})
    world.teams["PTPAY01"] = Team("PTPAY01", "Payments", members={RITA: "responder", BOB: "responder"})
    world.escalation_policies["PEPPLAT"] = EscalationPolicy("PEPPLAT", "Platform EP", [
        EscalationRule("PRUL001", 15, [Target("user_reference", ALICE)]),
        EscalationRule("PRUL002", 30, [Target("user_reference", BOB)])], team_ids=["PTPLAT1"])
    world.escalation_policies["PEPPAY1"] = EscalationPolicy("PEPPAY1", "Payments EP", [
        EscalationRule("PRUL003", 10, [Target("user_reference", BOB)])], team_ids=["PTPAY01"])
    for service in (Service(API, "api", "PEPPLAT", NOW - timedelta(days=700), team_ids=["PTPLAT1"]),
                    Service(DB, "database", "PEPPLAT", NOW - timedelta(days=700), team_ids=["PTPLAT1"]),
                    Service(PAY, "payments", "PEPPAY1", NOW - timedelta(days=700), team_ids=["PTPAY01"])):
        world.services[service.id] = service
    world.priorities.extend([Priority("PPRIO01", "P1", "Critical", 1, "a8171c"),
                             Priority("PPRIO02", "P2", "High", 2, "eb6016"),
                             Priority("PPRIO03", "P3", "Moderate", 3, "f9b406")])
    hour, day = timedelta(hours=1), timedelta(days=1)
    _incident(world, 1, API, "triggered", "high", hour, assignees=(ALICE,), key="api-latency",
              priority="PPRIO01")
    _incident(world, 2, API, "acknowledged", "low", 2 * hour, assignees=(ALICE,))
    _incident(world, 3, DB, "triggered", "high", 3 * day, assignees=(BOB,))
    _incident(world, 4, DB, "resolved", "high", 5 * day)
    _incident(world, 5, PAY, "triggered", "low", 10 * day, assignees=(BOB,), key="pay-1")
    _incident(world, 6, PAY, "acknowledged", "high", 20 * day, assignees=(BOB,))
    _incident(world, 7, API, "resolved", "low", 60 * day)
    _incident(world, 8, API, "triggered", "high", 40 * day, assignees=(ALICE,))
    _incident(world, 9, PAY, "resolved", "high", 200 * day, key="pay-old")
    ten = _incident(world, 10, DB, "triggered", "high", timedelta(minutes=10), assignees=(ALICE,),
                    details="disk full on db-1", alerts=("triggered", "triggered", "resolved"))
    ten.notes.append(Note("PNOTE01", BOB, "looking", NOW - timedelta(minutes=8)))
    ten.log_entries.append(LogEntry("PLN0010", "annotate_log_entry", NOW - timedelta(minutes=8), ten.id, BOB,
                                    "Note added.", note="looking"))
    ten.log_entries.insert(1, LogEntry("PLY0010", "notify_log_entry", NOW - timedelta(minutes=9), ten.id,
                                       None, "Notified Alice Manager by email.", assigned_user_ids=[ALICE]))
    world.tokens.update({MANAGER: TokenGrant(ALICE), OBSERVER: TokenGrant(OLGA),
                         READ_ONLY: TokenGrant(ALICE, read_only=True), RESTRICTED: TokenGrant(RITA)})
    return world


def _client(sandbox: Sandbox, token: str, from_email: str | None, *, validate: bool) -> httpx2.AsyncClient:
    headers = {"Accept": ACCEPT, "Authorization": f"Token token={token}"}
    if from_email is not None:
        headers["From"] = from_email
    transport = sandbox_transport(sandbox) if validate else sandbox.transport()
    return httpx2.AsyncClient(transport=transport, base_url="https://api.pagerduty.com", headers=headers)


class Api:
    """Requests as one token (and ``From`` user), validated against the contract unless ``raw``."""

    def __init__(self, sandbox: Sandbox, token: str = MANAGER, from_email: str | None = "alice@example.com",
                 *, raw: bool = False) -> None:
        self.client = _client(sandbox, token, from_email, validate=not raw)

    async def __call__(self, method: str, path: str, *, json: Any = None,
                       params: dict[str, Any] | None = None) -> httpx2.Response:
        return await self.client.request(method, path, json=json, params=params)

    async def get(self, path: str, **params: Any) -> Any:
        response = await self("GET", path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    async def numbers(self, **params: Any) -> list[int]:
        return [i["incident_number"] for i in (await self.get("/incidents", **params))["incidents"]]


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
def sandbox(world: World) -> Sandbox:
    return Sandbox(world, [*ROUTES, *DIRECTORY_ROUTES], rate_limit_per_minute=None)


@pytest.fixture
async def api(sandbox: Sandbox) -> AsyncIterator[Api]:
    client = Api(sandbox)
    yield client
    await client.client.aclose()


@pytest.fixture
async def raw(sandbox: Sandbox) -> AsyncIterator[Api]:
    client = Api(sandbox, raw=True)
    yield client
    await client.client.aclose()


def _error(response: httpx2.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error


def _ref(incident_id: str, **fields: Any) -> dict[str, Any]:
    return {"id": incident_id, "type": "incident_reference", **fields}


# -------------------------------------------------------------------------------------------------
# GET /incidents
# -------------------------------------------------------------------------------------------------
async def test_default_window_is_last_month_in_created_order(api: Api) -> None:
    page = await api.get("/incidents")
    assert [i["incident_number"] for i in page["incidents"]] == [6, 5, 4, 3, 2, 1, 10]
    assert (page["limit"], page["offset"], page["more"], page["total"]) == (25, 0, False, None)


@pytest.mark.parametrize(("params", "expected"), [
    ({"statuses[]": "triggered"}, [5, 3, 1, 10]),
    ({"statuses[]": ["triggered", "acknowledged"]}, [6, 5, 3, 2, 1, 10]),
    ({"service_ids[]": API}, [2, 1]),
    ({"service_ids[]": [API, PAY]}, [6, 5, 2, 1]),
    ({"team_ids[]": "PTPAY01"}, [6, 5]),
    ({"user_ids[]": BOB}, [6, 5, 3]),
    ({"user_ids[]": ALICE, "date_range": "all"}, [8, 2, 1, 10]),
    ({"urgencies[]": "low"}, [5, 2]),
    ({"incident_key": "api-latency"}, [1]),
    ({"statuses[]": "resolved", "date_range": "all"}, [9, 7, 4]),
    ({"team_ids[]": "PTPLAT1", "urgencies[]": "high", "statuses[]": "triggered"}, [3, 1, 10]),
])
async def test_filters(api: Api, params: dict[str, Any], expected: list[int]) -> None:
    assert await api.numbers(**params) == expected


async def test_user_filter_never_returns_resolved_incidents(api: Api, world: World) -> None:
    world.incidents["PINC004"].assigned_user_ids = [BOB]  # even if a resolved one still named an assignee
    assert await api.numbers(**{"user_ids[]": BOB, "statuses[]": "resolved"}) == []


async def test_since_until_and_date_range(api: Api, raw: Api) -> None:
    assert await api.numbers(date_range="all") == [9, 7, 8, 6, 5, 4, 3, 2, 1, 10]
    assert await api.numbers(since="2026-01-04T14:00:00Z", until="2026-02-08T14:00:00Z") == [7, 8]
    assert await api.numbers(since="2026-03-07T14:00:00Z") == [3, 2, 1, 10]  # until defaults to now
    # date_range=all ignores since/until altogether
    assert len(await api.numbers(date_range="all", since="2026-03-01T00:00:00Z")) == 10

    too_long = await api("GET", "/incidents", params={"since": "2025-08-01T00:00:00Z"})
    assert too_long.status_code == 400
    assert _error(too_long)["code"] == 2001 and "6 months" in _error(too_long)["errors"][0]
    backwards = await api("GET", "/incidents", params={"since": "2026-03-01T00:00:00Z",
                                                       "until": "2026-02-01T00:00:00Z"})
    assert backwards.status_code == 400 and _error(backwards)["code"] == 2005
    garbage = await raw("GET", "/incidents", params={"since": "yesterday"})
    assert garbage.status_code == 400 and _error(garbage)["code"] == 2004


async def test_time_zone_renders_and_reads_naive_bounds(api: Api) -> None:
    tokyo = await api.get("/incidents", time_zone="Asia/Tokyo", incident_key="api-latency")
    assert tokyo["incidents"][0]["created_at"] == "2026-03-10T22:00:00+09:00"
    assert (await api.get("/incidents", incident_key="api-latency"))["incidents"][0][
        "created_at"] == "2026-03-10T13:00:00Z"
    # A since without an offset is read in time_zone (else the account zone, UTC here).
    assert await api.numbers(since="2026-03-10T13:00:00") == [1, 10]
    assert await api.numbers(since="2026-03-10T13:00:00", time_zone="Asia/Tokyo") == [2, 1, 10]


@pytest.mark.parametrize(("params", "expected"), [
    ({"sort_by": "incident_number:desc"}, [10, 6, 5, 4, 3, 2, 1]),
    ({"sort_by": "created_at:desc"}, [10, 1, 2, 3, 4, 5, 6]),
    ({"sort_by": "created_at"}, [6, 5, 4, 3, 2, 1, 10]),
    ({"sort_by": "urgency:desc,incident_number:asc"}, [1, 3, 4, 6, 10, 2, 5]),
    ({"sort_by": ["urgency:asc", "incident_number:desc"]}, [5, 2, 10, 6, 4, 3, 1]),
    ({"sort_by": "resolved_at:asc", "date_range": "all"}, [9, 7, 4, 8, 6, 5, 3, 2, 1, 10]),
    ({"sort_by": "resolved_at:desc", "date_range": "all", "limit": 3}, [8, 6, 5]),
])
async def test_sort_by(raw: Api, params: dict[str, Any], expected: list[int]) -> None:
    # raw: the spec declares sort_by a comma-joined array, so repeated sort_by params are not spec-valid.
    assert await raw.numbers(**params) == expected


@pytest.mark.parametrize("sort_by", ["title", "created_at:up", "incident_number,urgency,created_at"])
async def test_bad_sort_by_is_rejected(raw: Api, sort_by: str) -> None:
    response = await raw("GET", "/incidents", params={"sort_by": sort_by})
    assert response.status_code == 400 and _error(response)["code"] == 2001


async def test_paging(api: Api, raw: Api) -> None:
    first = await api.get("/incidents", limit=2)
    assert [i["incident_number"] for i in first["incidents"]] == [6, 5]
    assert (first["more"], first["total"]) == (True, None)
    second = await api.get("/incidents", limit=2, offset=2, total="true")
    assert [i["incident_number"] for i in second["incidents"]] == [4, 3]
    assert (second["more"], second["total"]) == (True, 7)
    last = await api.get("/incidents", limit=2, offset=6, total="true")
    assert [i["incident_number"] for i in last["incidents"]] == [10]
    assert (last["more"], last["total"]) == (False, 7)
    assert (await api.get("/incidents", limit=1000))["limit"] == 100
    capped = await api("GET", "/incidents", params={"offset": 9950, "limit": 100})
    assert capped.status_code == 400
    assert _error(capped)["code"] == 2002 and "10000" in _error(capped)["errors"][0]
    assert (await raw("GET", "/incidents", params={"statuses[]": "open"})).status_code == 400


async def test_incident_shape(api: Api) -> None:
    one = (await api.get("/incidents", incident_key="api-latency"))["incidents"][0]
    assert one["id"] == "PINC001" and one["type"] == "incident"
    assert one["summary"] == "[#1] Incident 1 on api" and one["title"] == one["description"]
    assert one["self"] == "https://api.pagerduty.com/incidents/PINC001"
    assert one["html_url"] == "https://acme.pagerduty.com/incidents/PINC001"
    assert one["service"]["type"] == "service_reference" and one["service"]["id"] == API
    assert one["assignments"][0]["assignee"] == {
        "id": ALICE, "type": "user_reference", "summary": "Alice Manager",
        "self": f"https://api.pagerduty.com/users/{ALICE}", "html_url": f"https://acme.pagerduty.com/users/{ALICE}"}
    assert one["last_status_change_by"]["type"] == "service_reference"  # triggered by the integration
    assert one["first_trigger_log_entry"]["type"] == "trigger_log_entry_reference"
    assert one["alert_counts"] == {"all": 1, "triggered": 1, "resolved": 0}
    assert one["priority"]["type"] == "priority_reference" and one["priority"]["summary"] == "P1"
    assert one["teams"][0]["id"] == "PTPLAT1" and one["escalation_policy"]["id"] == "PEPPLAT"
    assert (one["resolved_at"], one["resolve_reason"], one["conference_bridge"]) == (None, None, None)
    assert [a["type"] for a in one["pending_actions"]] == ["escalate", "resolve"]
    assert one["pending_actions"][0]["at"] == "2026-03-10T13:15:00Z"  # level 1 waits 15 minutes
    assert one["acknowledgements"] == [] and "body" not in one


async def test_include_expands_references(api: Api, raw: Api) -> None:
    includes = ["assignees", "acknowledgers", "escalation_policies", "priorities", "teams",
                "first_trigger_log_entries", "users"]
    page = await api.get("/incidents", **{"include[]": includes, "service_ids[]": API})
    two, one = page["incidents"]
    assert two["assignments"][0]["assignee"]["type"] == "user"
    assert two["assignments"][0]["assignee"]["email"] == "alice@example.com"
    assert two["acknowledgements"][0]["acknowledger"]["type"] == "user"
    assert two["last_status_change_by"]["type"] == "user"
    assert two["escalation_policy"]["type"] == "escalation_policy"
    assert two["escalation_policy"]["escalation_rules"][0]["escalation_delay_in_minutes"] == 15
    assert two["teams"][0]["type"] == "team"
    assert two["first_trigger_log_entry"]["type"] == "trigger_log_entry"
    assert two["first_trigger_log_entry"]["agent"]["id"] == API
    assert one["priority"]["type"] == "priority" and one["priority"]["name"] == "P1"
    # raw: directory's full service object is checked by its own tests
    services = (await raw.get("/incidents", **{"include[]": "services"}))["incidents"][0]["service"]
    assert services["type"] == "service" and services["name"] == "payments"
    assert (await raw("GET", "/incidents", params={"include[]": "everything"})).status_code == 400


# -------------------------------------------------------------------------------------------------
# GET /incidents/{id}
# -------------------------------------------------------------------------------------------------
async def test_get_by_id_or_number(api: Api) -> None:
    by_number = (await api.get("/incidents/10"))["incident"]
    by_id = (await api.get("/incidents/PINC010"))["incident"]
    assert by_number == by_id
    assert by_id["body"] == {"type": "incident_body", "details": "disk full on db-1"}
    assert by_id["alert_counts"] == {"all": 3, "triggered": 2, "resolved": 1}
    included = (await api.get("/incidents/2", **{"include[]": "acknowledgers"}))["incident"]
    assert included["acknowledgements"][0]["acknowledger"]["type"] == "user"
    assert "body" not in included  # no details
    missing = await api("GET", "/incidents/PNOPE99")
    assert missing.status_code == 404
    assert _error(missing) == {"message": "Not Found", "code": 2100, "errors": ["Incident PNOPE99 not found"]}


# -------------------------------------------------------------------------------------------------
# PUT /incidents/{id}
# -------------------------------------------------------------------------------------------------
async def _put(api: Api, number: int, **fields: Any) -> httpx2.Response:
    body = {"incident": {"type": "incident_reference", **fields}}
    return await api("PUT", f"/incidents/{number}", json=body)


async def _log_types(api: Api, number: int) -> list[str]:
    entries = (await api.get(f"/incidents/{number}/log_entries"))["log_entries"]
    return [e["type"] for e in entries]


async def test_acknowledge_records_actor(sandbox: Sandbox, world: World) -> None:
    world.now = NOW + timedelta(minutes=3)
    bob = Api(sandbox, from_email="bob@example.com")
    response = await _put(bob, 1, status="acknowledged")
    assert response.status_code == 200, response.text
    incident = response.json()["incident"]
    assert incident["status"] == "acknowledged"
    assert [(a["acknowledger"]["id"], a["at"]) for a in incident["acknowledgements"]] == [
        (BOB, "2026-03-10T14:03:00Z")]
    assert [a["assignee"]["id"] for a in incident["assignments"]] == [BOB]
    assert incident["last_status_change_by"]["id"] == BOB
    assert incident["last_status_change_at"] == incident["updated_at"] == "2026-03-10T14:03:00Z"
    assert [p["type"] for p in incident["pending_actions"]] == ["unacknowledge", "resolve"]
    newest = (await bob.get("/incidents/1/log_entries"))["log_entries"][0]
    assert (newest["type"], newest["agent"]["id"], newest["channel"]["type"]) == (
        "acknowledge_log_entry", BOB, "website")
    assert newest["acknowledgement_timeout"] == 1800

    again = await _put(bob, 1, status="acknowledged")
    assert again.status_code == 400
    assert (_error(again)["code"], _error(again)["message"]) == (1002, "Incident Already Acknowledged")
    await bob.client.aclose()


async def test_resolve_stores_resolution_on_the_log_entry(api: Api, world: World) -> None:
    response = await _put(api, 3, status="resolved", resolution="restarted the primary")
    incident = response.json()["incident"]
    assert (incident["status"], incident["resolved_at"], incident["assignments"]) == (
        "resolved", "2026-03-10T14:00:00Z", [])
    assert incident["pending_actions"] == [] and incident["alert_counts"]["triggered"] == 0
    newest = (await api.get("/incidents/3/log_entries"))["log_entries"][0]
    assert (newest["type"], newest["note"], newest["agent"]["id"]) == (
        "resolve_log_entry", "restarted the primary", ALICE)
    assert world.incidents["PINC003"].last_status_change_by == ALICE

    for status in ("resolved",):
        again = await _put(api, 3, status=status)
        assert (again.status_code, _error(again)["code"], _error(again)["message"]) == (
            400, 1001, "Incident Already Resolved")


async def test_reopen_resolved_incident(sandbox: Sandbox, api: Api) -> None:
    triggered = (await _put(api, 4, status="triggered")).json()["incident"]
    assert (triggered["status"], triggered["resolved_at"]) == ("triggered", None)
    assert [a["assignee"]["id"] for a in triggered["assignments"]] == [ALICE]  # level 1 of Platform EP
    assert (await _log_types(api, 4))[0] == "trigger_log_entry"

    bob = Api(sandbox, from_email="bob@example.com")
    acked = (await _put(bob, 7, status="acknowledged")).json()["incident"]
    assert acked["status"] == "acknowledged" and acked["resolved_at"] is None
    assert [a["assignee"]["id"] for a in acked["assignments"]] == [BOB]
    assert [a["acknowledger"]["id"] for a in acked["acknowledgements"]] == [BOB]
    assert (await _log_types(bob, 7))[:2] == ["acknowledge_log_entry", "trigger_log_entry"]
    await bob.client.aclose()


async def test_unacknowledge_and_no_op_trigger(api: Api) -> None:
    back = (await _put(api, 2, status="triggered")).json()["incident"]
    assert (back["status"], back["acknowledgements"]) == ("triggered", [])
    assert (await _log_types(api, 2))[0] == "unacknowledge_log_entry"
    again = await _put(api, 2, status="triggered")
    assert (again.status_code, _error(again)["code"]) == (400, 1003)


async def test_reassign_escalate_and_edit(api: Api, raw: Api) -> None:
    to_bob = [{"assignee": {"id": BOB, "type": "user_reference"}}]
    reassigned = (await _put(api, 1, assignments=to_bob)).json()
    assert [a["assignee"]["id"] for a in reassigned["incident"]["assignments"]] == [BOB]
    assert (await _log_types(api, 1))[0] == "assign_log_entry"

    escalated = (await _put(api, 10, escalation_level=2)).json()["incident"]
    assert [a["assignee"]["id"] for a in escalated["assignments"]] == [BOB]
    entry = (await api.get("/incidents/10/log_entries"))["log_entries"][0]
    assert entry["type"] == "escalate_log_entry" and [u["id"] for u in entry["assignees"]] == [BOB]
    # escalating an acknowledged incident hands it over: triggered again
    handed = (await _put(api, 2, escalation_level=2)).json()["incident"]
    assert (handed["status"], handed["acknowledgements"]) == ("triggered", [])

    too_far = await _put(api, 10, escalation_level=5)
    assert (too_far.status_code, _error(too_far)["code"]) == (400, 1006)
    resolved = await _put(api, 4, assignments=[{"assignee": {"id": BOB, "type": "user_reference"}}])
    assert (resolved.status_code, _error(resolved)["code"]) == (400, 1001)
    nobody = await _put(api, 1, assignments=[{"assignee": {"id": "PNOBODY", "type": "user_reference"}}])
    assert (nobody.status_code, _error(nobody)["code"]) == (400, 1007)

    edited = (await _put(api, 5, priority="P2", title="Card payments failing", urgency="high")).json()
    assert edited["incident"]["priority"]["id"] == "PPRIO02"
    assert (edited["incident"]["title"], edited["incident"]["urgency"]) == ("Card payments failing", "high")
    assert (await _log_types(api, 5))[0] == "urgency_change_log_entry"
    by_ref = (await _put(api, 5, priority={"id": "PPRIO03", "type": "priority_reference"})).json()
    assert by_ref["incident"]["priority"]["summary"] == "P3"
    unknown = await _put(api, 5, priority="P9")
    assert (unknown.status_code, _error(unknown)["code"]) == (400, 1020)
    moved = (await _put(api, 5, service={"id": DB, "type": "service_reference"})).json()["incident"]
    assert moved["service"]["id"] == DB
    bad_status = await raw("PUT", "/incidents/5", json={"incident": {"type": "incident", "status": "open"}})
    assert (bad_status.status_code, _error(bad_status)["code"]) == (400, 1003)
    missing = await api("PUT", "/incidents/PNOPE99", json={"incident": {"type": "incident_reference"}})
    assert missing.status_code == 404


# -------------------------------------------------------------------------------------------------
# PUT /incidents (bulk)
# -------------------------------------------------------------------------------------------------
async def test_bulk_update(api: Api, world: World) -> None:
    response = await api("PUT", "/incidents", json={"incidents": [
        _ref("PINC001", status="acknowledged"), _ref("PINC005", status="acknowledged")]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"incidents", "limit", "offset", "more", "total"}
    assert (body["limit"], body["offset"], body["more"], body["total"]) == (2, 0, False, None)
    assert [(i["id"], i["status"]) for i in body["incidents"]] == [
        ("PINC001", "acknowledged"), ("PINC005", "acknowledged")]
    assert world.incidents["PINC005"].acknowledgements[0].user_id == ALICE
    paged = await api("PUT", "/incidents", params={"limit": 1, "total": "true"}, json={"incidents": [
        _ref("PINC001", status="resolved"), _ref("PINC005", status="resolved")]})
    body = paged.json()
    assert [i["status"] for i in body["incidents"]] == ["resolved"]
    assert (body["more"], body["total"]) == (True, 2)
    assert world.incidents["PINC005"].status == "resolved"


async def test_bulk_update_is_all_or_nothing(api: Api, world: World) -> None:
    response = await api("PUT", "/incidents", json={"incidents": [
        _ref("PINC001", status="resolved"), _ref("PINC004", status="resolved")]})
    assert response.status_code == 400
    error = _error(response)
    assert (error["code"], error["message"]) == (1001, "Incident Already Resolved")
    assert error["errors"][0].startswith("incidents[1] (PINC004)")
    assert world.incidents["PINC001"].status == "triggered"  # nothing was applied
    unknown = await api("PUT", "/incidents", json={"incidents": [_ref("PNOPE99", status="resolved")]})
    assert unknown.status_code == 404


async def test_bulk_update_limit_is_250(api: Api, raw: Api) -> None:
    items = [_ref("PINC001", title="x")] * 251
    response = await api("PUT", "/incidents", json={"incidents": items})
    assert response.status_code == 413
    assert "250" in _error(response)["errors"][0]
    missing = await raw("PUT", "/incidents", json={"incident": {}})
    assert missing.status_code == 400


# -------------------------------------------------------------------------------------------------
# POST /incidents
# -------------------------------------------------------------------------------------------------
def _new(title: str | None = "Checkout errors", service: str | None = PAY, **fields: Any) -> dict[str, Any]:
    incident: dict[str, Any] = {"type": "incident", **fields}
    if title is not None:
        incident["title"] = title
    if service is not None:
        incident["service"] = {"id": service, "type": "service_reference"}
    return {"incident": incident}


async def test_create_incident(api: Api, world: World) -> None:
    response = await api("POST", "/incidents", json=_new(
        incident_key="pay-2", body={"type": "incident_body", "details": "500s from /checkout"}))
    assert response.status_code == 201, response.text
    created = response.json()["incident"]
    assert (created["incident_number"], created["status"], created["urgency"]) == (11, "triggered", "high")
    assert created["incident_key"] == "pay-2" and created["service"]["id"] == PAY
    assert [a["assignee"]["id"] for a in created["assignments"]] == [BOB]  # level 1 of Payments EP
    assert created["escalation_policy"]["id"] == "PEPPAY1"
    assert created["alert_counts"] == {"all": 1, "triggered": 1, "resolved": 0}
    assert created["last_status_change_by"]["id"] == ALICE
    assert world.next_incident_number == 12
    fetched = (await api.get("/incidents/11"))["incident"]
    assert fetched["body"]["details"] == "500s from /checkout"
    trigger = (await api.get("/incidents/11/log_entries"))["log_entries"][-1]
    assert (trigger["type"], trigger["agent"]["id"], trigger["channel"]["type"]) == (
        "trigger_log_entry", ALICE, "web_trigger")
    assert 11 in await api.numbers()  # the list index picks up new incidents

    second = (await api("POST", "/incidents", json=_new(urgency="low"))).json()["incident"]
    assert second["incident_number"] == 12 and second["urgency"] == "low"
    assert len(second["incident_key"]) == 32  # generated, like PagerDuty's


async def test_create_dedups_on_open_incident_key(api: Api) -> None:
    duplicate = await api("POST", "/incidents", json=_new(incident_key="pay-1"))
    assert duplicate.status_code == 400
    assert "Open incident with key 'pay-1'" in _error(duplicate)["errors"][0]
    # only open incidents count: pay-old is resolved
    assert (await api("POST", "/incidents", json=_new(incident_key="pay-old"))).status_code == 201
    # and only on the same service
    assert (await api("POST", "/incidents", json=_new(service=API, incident_key="pay-1"))).status_code == 201


async def test_create_assignment_and_policy(api: Api) -> None:
    mine = (await api("POST", "/incidents", json=_new(
        assignments=[{"assignee": {"id": ALICE, "type": "user_reference"}}]))).json()["incident"]
    assert mine["status"] == "acknowledged"  # self-assigned incidents start acknowledged
    assert [a["acknowledger"]["id"] for a in mine["acknowledgements"]] == [ALICE]
    other = (await api("POST", "/incidents", json=_new(
        escalation_policy={"id": "PEPPLAT", "type": "escalation_policy_reference"},
        priority={"id": "PPRIO02", "type": "priority_reference"}))).json()["incident"]
    assert other["escalation_policy"]["id"] == "PEPPLAT" and other["priority"]["id"] == "PPRIO02"
    assert [a["assignee"]["id"] for a in other["assignments"]] == [ALICE]


@pytest.mark.parametrize(("body", "errors"), [
    (_new(title=None), ["title is required"]),
    (_new(service=None), ["service is required"]),
    (_new(title=None, service=None), ["title is required", "service is required"]),
    ({"incident": {"title": "x", "service": {"id": PAY, "type": "service_reference"}}}, ["type is required"]),
])
async def test_create_requires_type_title_service(raw: Api, body: dict[str, Any], errors: list[str]) -> None:
    response = await raw("POST", "/incidents", json=body)
    assert response.status_code == 400
    assert (_error(response)["code"], _error(response)["errors"]) == (2001, errors)


async def test_create_validation(api: Api, raw: Api) -> None:
    both = await api("POST", "/incidents", json=_new(
        escalation_policy={"id": "PEPPLAT", "type": "escalation_policy_reference"},
        assignments=[{"assignee": {"id": BOB, "type": "user_reference"}}]))
    assert both.status_code == 400 and "cannot both" in _error(both)["errors"][0]
    unknown = await api("POST", "/incidents", json=_new(service="PNOPE99"))
    assert unknown.status_code == 400 and _error(unknown)["code"] == 5002
    urgency = await raw("POST", "/incidents", json=_new(urgency="medium"))
    assert urgency.status_code == 400
    no_root = await raw("POST", "/incidents", json={"title": "x"})
    assert no_root.status_code == 400 and _error(no_root)["code"] == 2003


# -------------------------------------------------------------------------------------------------
# Notes, status updates, snooze
# -------------------------------------------------------------------------------------------------
async def test_notes(sandbox: Sandbox, api: Api, raw: Api) -> None:
    before = (await api.get("/incidents/10/notes"))["notes"]
    assert [(n["id"], n["user"]["id"], n["content"]) for n in before] == [("PNOTE01", BOB, "looking")]
    assert set(before[0]) == {"id", "user", "channel", "content", "created_at", "updated_at"}

    bob = Api(sandbox, from_email="bob@example.com")
    response = await bob("POST", "/incidents/10/notes", json={"note": {"content": "found it"}})
    assert response.status_code == 201, response.text
    note = response.json()["note"]
    assert (note["user"]["id"], note["content"]) == (BOB, "found it")
    assert note["created_at"] == "2026-03-10T14:00:00Z"
    assert [n["content"] for n in (await api.get("/incidents/10/notes"))["notes"]] == ["looking", "found it"]
    entry = (await api.get("/incidents/10/log_entries"))["log_entries"][0]
    assert (entry["type"], entry["note"], entry["agent"]["id"]) == ("annotate_log_entry", "found it", BOB)
    await bob.client.aclose()

    empty = await api("POST", "/incidents/10/notes", json={"note": {"content": "  "}})
    assert empty.status_code == 400
    long = await api("POST", "/incidents/10/notes", json={"note": {"content": "x" * 25_001}})
    assert long.status_code == 400
    assert (await raw("POST", "/incidents/10/notes", json={"content": "x"})).status_code == 400
    assert (await api("GET", "/incidents/PNOPE99/notes")).status_code == 404


async def test_status_update(api: Api, world: World) -> None:
    response = await api("POST", "/incidents/1/status_updates", json={"message": "Mitigated, monitoring"})
    assert response.status_code == 200, response.text
    update = response.json()["status_update"]
    assert (update["message"], update["sender"]["id"], update["created_at"]) == (
        "Mitigated, monitoring", ALICE, "2026-03-10T14:00:00Z")
    assert "subject" not in update
    html = (await api("POST", "/incidents/1/status_updates", json={
        "message": "m", "subject": "Update", "html_message": "<p>m</p>"})).json()["status_update"]
    assert (html["subject"], html["html_message"]) == ("Update", "<p>m</p>")
    assert [u.message for u in world.incidents["PINC001"].status_updates] == ["Mitigated, monitoring", "m"]
    missing = await api("POST", "/incidents/1/status_updates", json={"message": ""})
    assert missing.status_code == 400


async def test_snooze(api: Api, raw: Api, world: World) -> None:
    triggered = await api("POST", "/incidents/1/snooze", json={"duration": 3600})
    assert triggered.status_code == 400
    assert (_error(triggered)["code"], _error(triggered)["message"]) == (1012, "Incident Is Not Acknowledged")
    resolved = await api("POST", "/incidents/4/snooze", json={"duration": 3600})
    assert _error(resolved)["code"] == 1001
    for bad in (0, 604_801, "60", 1.5, True):
        response = await raw("POST", "/incidents/2/snooze", json={"duration": bad})
        assert (response.status_code, _error(response)["code"]) == (400, 1013), bad

    response = await api("POST", "/incidents/2/snooze", json={"duration": 3600})
    assert response.status_code == 201, response.text
    incident = response.json()["incident"]
    assert incident["status"] == "acknowledged"
    assert incident["pending_actions"][0] == {"type": "unacknowledge", "at": "2026-03-10T15:00:00Z"}
    assert world.incidents["PINC002"].snoozed_until == NOW + timedelta(hours=1)
    entry = (await api.get("/incidents/2/log_entries"))["log_entries"][0]
    assert entry["type"] == "snooze_log_entry" and entry["summary"] == "Snoozed for 1h by Alice Manager"


# -------------------------------------------------------------------------------------------------
# Log entries, alerts, priorities
# -------------------------------------------------------------------------------------------------
async def test_incident_log_entries(api: Api, raw: Api) -> None:
    page = await api.get("/incidents/10/log_entries", total="true")
    assert [e["id"] for e in page["log_entries"]] == ["PLN0010", "PLY0010", "PLT0010"]  # newest first
    assert page["total"] == 3
    trigger = page["log_entries"][-1]
    assert trigger["agent"]["type"] == "service_reference" and trigger["channel"] == {"type": "api"}
    assert trigger["incident"]["id"] == "PINC010" and trigger["service"]["id"] == DB
    assert trigger["teams"][0]["id"] == "PTPLAT1" and trigger["created_at"] == "2026-03-10T13:50:00Z"
    assert trigger["html_url"] == "https://acme.pagerduty.com/incidents/PINC010/log_entries/PLT0010"
    notify = page["log_entries"][1]
    assert notify["type"] == "notify_log_entry" and notify["user"]["id"] == ALICE
    overview = await api.get("/incidents/10/log_entries", is_overview="true")
    assert [e["type"] for e in overview["log_entries"]] == ["trigger_log_entry"]
    paged = await api.get("/incidents/10/log_entries", limit=1, offset=1)
    assert [e["id"] for e in paged["log_entries"]] == ["PLY0010"] and paged["more"] is True
    since = await api.get("/incidents/10/log_entries", since="2026-03-10T13:51:00Z", time_zone="Asia/Tokyo")
    assert [e["created_at"] for e in since["log_entries"]] == ["2026-03-10T22:52:00+09:00",
                                                                "2026-03-10T22:51:00+09:00"]
    # raw: the spec models log entries' incident/service/teams as references only
    included = await raw.get("/incidents/10/log_entries", **{"include[]": ["incidents", "services", "teams"]})
    first = included["log_entries"][0]
    assert (first["incident"]["type"], first["service"]["type"], first["teams"][0]["type"]) == (
        "incident", "service", "team")


async def test_account_log_entries(api: Api) -> None:
    page = await api.get("/log_entries", total="true")
    times = [e["created_at"] for e in page["log_entries"]]
    assert times == sorted(times, reverse=True) and page["total"] == 17
    assert page["log_entries"][0]["id"] == "PLN0010"
    payments = await api.get("/log_entries", **{"team_ids[]": "PTPAY01"})
    assert {e["incident"]["id"] for e in payments["log_entries"]} == {"PINC005", "PINC006", "PINC009"}
    recent = await api.get("/log_entries", since="2026-03-10T13:00:00Z")
    assert {e["incident"]["id"] for e in recent["log_entries"]} == {"PINC001", "PINC010"}
    one = (await api.get("/log_entries/PLR0004"))["log_entry"]
    assert (one["type"], one["note"]) == ("resolve_log_entry", "fixed")
    assert (await api("GET", "/log_entries/PNOPE99")).status_code == 404


async def test_alerts(api: Api) -> None:
    page = await api.get("/incidents/10/alerts")
    alerts = page["alerts"]
    assert [a["status"] for a in alerts] == ["triggered", "triggered", "resolved"]
    assert alerts[0]["type"] == "alert" and alerts[0]["incident"]["id"] == "PINC010"
    assert alerts[0]["first_trigger_log_entry"]["id"] == "PLT0010"
    assert alerts[0]["self"] == f"https://api.pagerduty.com/incidents/PINC010/alerts/{alerts[0]['id']}"
    resolved = await api.get("/incidents/10/alerts", **{"statuses[]": "resolved"})
    assert [a["status"] for a in resolved["alerts"]] == ["resolved"]
    paged = await api.get("/incidents/10/alerts", limit=2, total="true")
    assert (len(paged["alerts"]), paged["more"], paged["total"]) == (2, True, 3)
    newest = await api.get("/incidents/10/alerts", sort_by="created_at:desc")
    assert [a["status"] for a in newest["alerts"]] == ["resolved", "triggered", "triggered"]


async def test_priorities(api: Api) -> None:
    page = await api.get("/priorities")
    assert [(p["name"], p["type"], p["summary"]) for p in page["priorities"]] == [
        ("P1", "priority", "P1"), ("P2", "priority", "P2"), ("P3", "priority", "P3")]
    assert page["priorities"][0]["self"] == "https://api.pagerduty.com/priorities/PPRIO01"
    assert (page["more"], page["total"]) == (False, None)
    assert [p["name"] for p in (await api.get("/priorities", limit=1, offset=1))["priorities"]] == ["P2"]


# -------------------------------------------------------------------------------------------------
# Write rules (enforced by the Sandbox; checked here on every incident write route) and team scope
# -------------------------------------------------------------------------------------------------
WRITES = [
    ("PUT", "/incidents", {"incidents": [_ref("PINC001", status="acknowledged")]}),
    ("PUT", "/incidents/1", {"incident": {"type": "incident_reference", "status": "acknowledged"}}),
    ("POST", "/incidents", _new()),
    ("POST", "/incidents/1/notes", {"note": {"content": "hi"}}),
    ("POST", "/incidents/1/status_updates", {"message": "hi"}),
    ("POST", "/incidents/2/snooze", {"duration": 60}),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
async def test_write_rules(sandbox: Sandbox, world: World, method: str, path: str, body: Any) -> None:
    revision = world.revision
    no_from = Api(sandbox, from_email=None, raw=True)
    response = await no_from(method, path, json=body)
    assert response.status_code == 400 and '"From" header' in _error(response)["errors"][0]
    for token, from_email in ((MANAGER, "olga@example.com"), (OBSERVER, "olga@example.com"),
                              (READ_ONLY, "alice@example.com")):
        client = Api(sandbox, token, from_email)
        denied = await client(method, path, json=body)
        assert denied.status_code == 403, (token, denied.text)
        await client.client.aclose()
    assert world.revision == revision and world.incidents["PINC001"].status == "triggered"
    await no_from.client.aclose()


async def test_restricted_user_sees_only_team_incidents(sandbox: Sandbox) -> None:
    rita = Api(sandbox, RESTRICTED, "rita@example.com")
    assert await rita.numbers(date_range="all") == [9, 6, 5]
    assert await rita.numbers(**{"service_ids[]": API}) == []
    assert (await rita("GET", "/incidents/1")).status_code == 404
    assert (await rita("GET", "/incidents/1/notes")).status_code == 404
    assert (await _put(rita, 1, status="acknowledged")).status_code == 404
    assert (await rita("POST", "/incidents", json=_new(service=API))).status_code == 400
    entries = (await rita.get("/log_entries"))["log_entries"]
    assert {e["incident"]["id"] for e in entries} == {"PINC005", "PINC006", "PINC009"}
    acked = (await _put(rita, 5, status="acknowledged")).json()["incident"]
    assert acked["acknowledgements"][0]["acknowledger"]["id"] == RITA
    await rita.client.aclose()


# -------------------------------------------------------------------------------------------------
# Performance: the large account has 10,000 open incidents plus history
# -------------------------------------------------------------------------------------------------
def _large_world() -> World:
    world = build_world()
    world.incidents.clear()
    world._incident_by_number.clear()
    services = list(world.services)
    for n in range(30_000):
        open_ = n % 3 == 0 or n >= 20_000
        created = NOW - (timedelta(minutes=n % 36_000) if open_ else timedelta(hours=n % 4300))
        incident = Incident(f"Q{n:06d}", n + 1, f"Incident {n}", "triggered" if open_ else "resolved",
                            "high" if n % 2 else "low", services[n % 3], "PEPPLAT", created, created,
                            f"k{n}", assigned_user_ids=[ALICE] if open_ else [],
                            resolved_at=None if open_ else created + timedelta(hours=1))
        incident.log_entries.append(LogEntry(f"L{n:06d}", "trigger_log_entry", created, incident.id))
        world.add_incident(incident)
    return world


def test_incident_pages_on_a_large_account() -> None:
    world = _large_world()
    assert sum(1 for i in world.incidents.values() if i.is_open) >= 10_000
    sandbox = Sandbox(world, ROUTES, rate_limit_per_minute=None)
    headers = {"authorization": f"Token token={MANAGER}", "accept": ACCEPT}
    queries = [
        {"limit": ["100"]},
        {"limit": ["100"], "statuses[]": ["triggered", "acknowledged"]},
        {"limit": ["100"], "offset": ["5000"], "urgencies[]": ["high"]},
        {"limit": ["100"], "statuses[]": ["triggered"], "total": ["true"]},
    ]
    for query in queries:
        response = sandbox.dispatch(SandboxRequest("GET", "/incidents", query, headers))
        assert response.status == 200 and len(response.body["incidents"]) == 100 and response.body["more"]
