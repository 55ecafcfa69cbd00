"""Issue #12 items 1-6: the sandbox behaves like PagerDuty where real clients look, over real HTTP.

Items 1-3 and 6 talk to the sandbox's aiohttp server on a loopback port (demo account, clock frozen at
``DEFAULT_NOW``, so "who is on call now" cannot move under a test); the command-line items (the public
URL of 3, and 5) run the real ``alex sandbox`` command in its own process. The official ``pagerduty``
client's recipe (item 4) is in ``test_official_client.py``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx2
import pytest
from aiohttp import web

from bot.sandbox import DEFAULT_NOW, build_sandbox, default_token
from bot.sandbox.server import serve
from tests.sandbox.served import alex_sandbox, refused

MANAGER_EMAIL = "sam.rivera@acme-payments.example"
NOW = "2026-03-10T14:00:00Z"
assert NOW == DEFAULT_NOW.isoformat().replace("+00:00", "Z")
HEADERS = {"Authorization": f"Token token={default_token('demo')}",
           "Accept": "application/vnd.pagerduty+json;version=2", "From": MANAGER_EMAIL}


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    """A client of the demo sandbox served on a free loopback port."""
    runner: web.AppRunner = await serve(build_sandbox("demo", now=DEFAULT_NOW), "127.0.0.1", 0)
    host, port = runner.addresses[0][:2]
    try:
        async with httpx2.AsyncClient(base_url=f"http://{host}:{port}", headers=HEADERS, timeout=10) as client:
            yield client
    finally:
        await runner.cleanup()


async def _ok(response: httpx2.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


async def _by_name(http: httpx2.AsyncClient, path: str, key: str, name: str) -> dict[str, Any]:
    items = (await _ok(await http.get(path, params={"limit": 100})))[key]
    found: dict[str, Any] = next(item for item in items if item.get("name", item.get("summary")) == name)
    return found


async def _on_call_now(http: httpx2.AsyncClient, policy_id: str, level: int) -> list[str]:
    """Names on call right now at ``level`` of the policy, as ``GET /oncalls`` answers."""
    oncalls = (await _ok(await http.get("/oncalls", params={
        "escalation_policy_ids[]": policy_id, "since": NOW, "until": NOW, "limit": 100})))["oncalls"]
    return list(dict.fromkeys(o["user"]["summary"] for o in oncalls if o["escalation_level"] == level))


def _assignees(incident: dict[str, Any]) -> list[str]:
    return [a["assignee"]["summary"] for a in incident["assignments"]]


async def _create(http: httpx2.AsyncClient, service_id: str, title: str) -> dict[str, Any]:
    body = {"incident": {"type": "incident", "title": title,
                         "service": {"id": service_id, "type": "service_reference"}}}
    created: dict[str, Any] = (await _ok(await http.post("/incidents", json=body), 201))["incident"]
    return created


# ------------------------------------------------------------------------------------------------- 1


async def test_12_1_a_created_incident_is_assigned_to_whoever_is_on_call_on_the_first_levels_schedule(
        http: httpx2.AsyncClient) -> None:
    platform = await _by_name(http, "/services", "services", "platform-engineering")
    policy = platform["escalation_policy"]["id"]
    incident = await _create(http, platform["id"], "Disk full on db-3")
    # Level 1 of Platform Engineering targets the Platform Primary schedule only.
    assert _assignees(incident) == ["Ben Carter"] == await _on_call_now(http, policy, 1)
    again = (await _ok(await http.get(f"/incidents/{incident['id']}")))["incident"]
    assert _assignees(again) == ["Ben Carter"]
    listed = (await _ok(await http.get("/incidents", params={"user_ids[]": again["assignments"][0]["assignee"]["id"],
                                                            "statuses[]": "triggered", "limit": 100})))
    assert incident["id"] in {i["id"] for i in listed["incidents"]}

    # A shift-based (v3) schedule on level 1 (Search On-call): its current shift's user.
    search = await _by_name(http, "/services", "services", "search")
    v3_incident = await _create(http, search["id"], "Index lag")
    assert _assignees(v3_incident) == ["Lukas Fischer"] == await _on_call_now(
        http, search["escalation_policy"]["id"], 1)


async def test_12_1_escalating_to_a_schedule_level_assigns_its_on_call_user_single_and_bulk(
        http: httpx2.AsyncClient) -> None:
    platform = await _by_name(http, "/services", "services", "platform-engineering")
    incident = await _create(http, platform["id"], "Latency on the edge")
    escalated = (await _ok(await http.put(f"/incidents/{incident['id']}", json={
        "incident": {"type": "incident_reference", "escalation_level": 2}})))["incident"]
    assert _assignees(escalated) == ["Emma Clarke"] == await _on_call_now(
        http, platform["escalation_policy"]["id"], 2)
    # A level whose target is a user directly still assigns that user.
    top = (await _ok(await http.put(f"/incidents/{incident['id']}", json={
        "incident": {"type": "incident_reference", "escalation_level": 3}})))["incident"]
    assert _assignees(top) == ["Priya Raman"]

    search = await _by_name(http, "/services", "services", "search")
    first = await _create(http, search["id"], "Index lag")  # level 1: the shift-based Search On-call
    assert _assignees(first) == await _on_call_now(http, search["escalation_policy"]["id"], 1) == ["Lukas Fischer"]
    bulk = (await _ok(await http.put("/incidents", json={"incidents": [
        {"id": first["id"], "type": "incident_reference", "escalation_level": 2},
        {"id": incident["id"], "type": "incident_reference", "escalation_level": 1},
    ]})))["incidents"]
    # Search level 2 targets the Checkout Primary schedule; Platform level 1 the Platform Primary one.
    assert [_assignees(i) for i in bulk] == [["Tom Becker"], ["Ben Carter"]]
    assert await _on_call_now(http, search["escalation_policy"]["id"], 2) == ["Tom Becker"]


# ------------------------------------------------------------------------------------------------- 2


async def test_12_2_the_v3_schedule_list_is_served_as_pagerduty_serves_it(http: httpx2.AsyncClient) -> None:
    page = await _ok(await http.get("/v3/schedules"))
    assert set(page) == {"schedules", "limit", "offset", "more"}  # no total on this list (PagerDuty's docs)
    assert (page["limit"], page["offset"], page["more"]) == (100, 0, False)
    assert [s["summary"] for s in page["schedules"]] == ["Search On-call"]  # the shift-based ones only
    schedule = page["schedules"][0]
    assert schedule["type"] == "schedule_v3_reference"
    assert schedule["html_url"] == f"https://acme.pagerduty.com/schedules/{schedule['id']}"
    full = (await _ok(await http.get(f"/v3/schedules/{schedule['id']}")))["schedule"]
    assert full["name"] == "Search On-call"

    assert (await _ok(await http.get("/v3/schedules", params={"query": "on-CALL"})))["schedules"] == [schedule]
    assert (await _ok(await http.get("/v3/schedules", params={"query": "Platform"})))["schedules"] == []
    paged = await _ok(await http.get("/v3/schedules", params={"limit": 5000, "offset": 1}))
    assert (paged["schedules"], paged["limit"], paged["more"]) == ([], 1000, False)  # 1,000 at most
    bad = await http.get("/v3/schedules", params={"limit": 0})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == 2001 and list(bad.json()["error"]["errors"]) == ["limit"]
    # The v2 list still lists the layer-based schedules only.
    v2 = {s["name"] for s in (await _ok(await http.get("/schedules", params={"limit": 100})))["schedules"]}
    assert "Search On-call" not in v2 and "Platform Primary" in v2


# ------------------------------------------------------------------------------------------------- 3


def _self_links(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "self" and isinstance(inner, str):
                yield inner
            else:
                yield from _self_links(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _self_links(inner)


async def test_12_3_self_links_point_at_the_base_the_request_came_to(http: httpx2.AsyncClient) -> None:
    base = str(http.base_url).rstrip("/")
    v3 = (await _ok(await http.get("/v3/schedules")))["schedules"][0]["id"]
    answers = [
        await _ok(await http.get("/incidents", params={"include[]": ["assignees", "services"], "limit": 5,
                                                       "statuses[]": "triggered"})),
        await _ok(await http.get("/oncalls", params={"include[]": ["schedules", "users"], "limit": 5})),
        await _ok(await http.get("/users/me", params={"include[]": ["contact_methods", "notification_rules"]})),
        await _ok(await http.get(f"/v3/schedules/{v3}")),
        await _ok(await http.get("/log_entries", params={"limit": 5})),
    ]
    links = [link for answer in answers for link in _self_links(answer)]
    assert len(links) > 50
    assert [link for link in links if not link.startswith(base + "/")] == []

    # A client that follows the links stays on the sandbox and gets the very objects.
    incident = answers[0]["incidents"][0]
    for link in (incident["self"], incident["service"]["self"], incident["assignments"][0]["assignee"]["self"]):
        assert (await http.get(link)).status_code == 200, link
    followed = await _ok(await http.get(incident["self"]))
    assert followed["incident"]["id"] == incident["id"]

    # The base is the one the request named: another Host gets links under that host.
    other = await _ok(await http.get("/users/me", headers={"Host": "pd.internal:9000"}))
    assert other["user"]["self"].startswith("http://pd.internal:9000/users/")
    # A Host unfit for a link is not echoed into one.
    odd = await _ok(await http.get("/users/me", headers={"Host": "evil.example/<script>"}))
    assert odd["user"]["self"].startswith(base + "/users/")


def test_12_3_public_url_sets_the_base_of_self_links_for_every_request() -> None:
    with alex_sandbox("--now", NOW, "--public-url", "https://pd-sandbox.example:8443/") as served:
        assert "PAGERDUTY_API_URL=https://pd-sandbox.example:8443" in "".join(served.banner)
        with httpx2.Client(base_url=served.url, headers=HEADERS, timeout=10) as client:
            me = client.get("/users/me").json()["user"]
    assert me["self"] == f"https://pd-sandbox.example:8443/users/{me['id']}"


# ------------------------------------------------------------------------------------------------- 5


def test_12_5_rate_limit_can_be_set_or_lifted() -> None:
    with alex_sandbox("--now", NOW, "--rate-limit", "3") as served, \
            httpx2.Client(base_url=served.url, headers=HEADERS, timeout=10) as client:
        assert "rate limit 3/min" in served.banner[0]
        statuses = [client.get("/priorities").status_code for _ in range(4)]
        limited = client.get("/priorities")
        assert statuses == [200, 200, 200, 429]
        assert limited.headers["ratelimit-limit"] == "3" and limited.json()["error"]["code"] == 2020

    with alex_sandbox("--now", NOW, "--rate-limit", "off") as served, \
            httpx2.Client(base_url=served.url, headers=HEADERS, timeout=10) as client:
        assert "rate limit off" in served.banner[0]
        answers = [client.get("/priorities") for _ in range(1000)]  # past PagerDuty's 960 a minute
        assert {a.status_code for a in answers} == {200}
        assert "ratelimit-limit" not in answers[-1].headers


def _created_at(client: httpx2.Client) -> str:
    service = next(s for s in client.get("/services", params={"limit": 100}).json()["services"]
                   if s["name"] == "platform-engineering")
    created = client.post("/incidents", json={"incident": {
        "type": "incident", "title": "clock check", "service": {"id": service["id"], "type": "service_reference"}}})
    assert created.status_code == 201, created.text
    stamp: str = created.json()["incident"]["created_at"]
    return stamp


def test_12_5_now_starts_the_clock_and_frozen_keeps_it_there() -> None:
    with alex_sandbox("--now", NOW, "--frozen") as served, \
            httpx2.Client(base_url=served.url, headers=HEADERS, timeout=10) as client:
        assert "clock frozen" in served.banner[0]
        time.sleep(1.2)  # more than a second: the API's timestamps have seconds precision
        assert client.get("/_sandbox/health").json()["now"] == NOW
        assert _created_at(client) == NOW

    with alex_sandbox("--now", NOW) as served, \
            httpx2.Client(base_url=served.url, headers=HEADERS, timeout=10) as client:
        assert "clock running" in served.banner[0]
        time.sleep(1.2)
        later = client.get("/_sandbox/health").json()["now"]
        assert later > NOW and later.startswith("2026-03-10T14:0")
        assert _created_at(client) >= later


@pytest.mark.parametrize(("args", "says"), [
    pytest.param(["--now", "2150-01-01T00:00:00Z"], "between 1970-01-01T00:00:00Z and 2099-12-31T23:59:59Z",
                 id="now-after-2099"),
    pytest.param(["--now", "1969-12-31T23:00:00Z"], "outside the sandbox's range", id="now-before-1970"),
    pytest.param(["--now", "0001-01-01T00:00:00+05:00"], "outside the sandbox's range", id="now-off-the-calendar"),
    pytest.param(["--rate-limit", "0"], "a positive number of requests a minute, or off", id="rate-limit-0"),
    pytest.param(["--rate-limit", "fast"], "a positive number of requests a minute, or off", id="rate-limit-word"),
])
def test_12_5_out_of_range_options_are_refused_with_a_clear_message(args: list[str], says: str) -> None:
    code, stderr = refused(*args)
    assert code == 2, stderr
    assert says in stderr and "Traceback" not in stderr


def test_12_5_help_says_what_the_clock_and_rate_limit_options_do() -> None:
    shown = subprocess.run([sys.executable, "-m", "bot.cli", "sandbox", "--help"], capture_output=True,
                           text=True, timeout=60, check=True).stdout
    flat = " ".join(shown.split())
    for words in ("--frozen", "--rate-limit N|off", "off lifts the limit", "then runs with real time",
                  "keeps it at its start for the whole run", "between 1970 and 2099", "--https", "--public-url"):
        assert words in flat, words


# ------------------------------------------------------------------------------------------------- 6


async def test_12_6_a_path_with_a_newline_gets_pagerdutys_json_404(http: httpx2.AsyncClient) -> None:
    for path in ("/incidents%0A", "/incidents%0Afoo", "/users/me%0A"):
        response = await http.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"]["code"] == 2100
    too_big = await http.post("/incidents", content=b"x" * (3 * 1024 * 1024),
                              headers={"Content-Type": "application/json"})
    assert too_big.status_code == 413 and too_big.json()["error"]["message"] == "Request Entity Too Large"


async def test_12_6_method_not_allowed_says_which_methods_are(http: httpx2.AsyncClient) -> None:
    response = await http.delete("/incidents")
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "PUT", "POST"}
    assert response.json()["error"]["code"] == 2100
    assert (await http.post("/users/me")).headers["allow"] == "GET"


async def test_12_6_a_rejected_override_echoes_what_was_sent(http: httpx2.AsyncClient) -> None:
    schedule = await _by_name(http, "/schedules", "schedules", "Platform Primary")
    sent = [
        {"end": "tomorrow-ish", "user": {"id": "PNOBODY", "type": "user_reference"}},
        {"start": "2026-03-12T10:00:00+01:00", "end": "2026-03-12T08:00:00Z", "time_zone": "Europe/Berlin"},
    ]
    results = await _ok(await http.post(f"/schedules/{schedule['id']}/overrides", json={"overrides": sent}), 201)
    assert [r["status"] for r in results] == [400, 400]
    assert results[0]["override"] == {"end": "tomorrow-ish", "user": {"id": "PNOBODY", "type": "user_reference"}}
    assert results[1]["override"] == {"start": "2026-03-12T09:00:00Z", "end": "2026-03-12T08:00:00Z",
                                      "time_zone": "Europe/Berlin"}
    assert "start is required" in results[0]["errors"] and "User PNOBODY not found" in results[0]["errors"]
    assert "Override must end after its start" in results[1]["errors"]


@pytest.mark.parametrize(("path", "query", "says"), [
    pytest.param("/incidents", {"limit": "0"}, "limit must be a positive integer", id="incidents-limit-0"),
    pytest.param("/users", {"limit": "-5"}, "limit must be a positive integer", id="users-limit-negative"),
    pytest.param("/log_entries", {"limit": "0"}, "limit must be a positive integer", id="log-entries-limit-0"),
    pytest.param("/oncalls", {"until": ""}, "until is empty", id="oncalls-empty-until"),
    pytest.param("/incidents", {"until": ""}, "until is empty", id="incidents-empty-until"),
    pytest.param("/incidents", {"since": " "}, "since is empty", id="incidents-blank-since"),
    pytest.param("/schedules", {"until": ""}, "until is empty", id="schedules-empty-until"),
])
async def test_12_6_limit_0_and_an_empty_until_are_400(http: httpx2.AsyncClient, path: str,
                                                       query: dict[str, str], says: str) -> None:
    response = await http.get(path, params=query)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["message"] == "Invalid Input Provided" and error["code"] in (2001, 2004, 2005)
    assert any(says in e for e in error["errors"]), error
    assert (await http.get(path, params={"limit": "1"})).status_code == 200  # what the client meant works
