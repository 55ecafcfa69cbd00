"""The sandbox's bounds, in process: each limit is accepted up to its edge and refused just past it with
PagerDuty's error body, and the schedule engine's span budget reaches every route as a 400."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from bot.sandbox import DEFAULT_NOW, Sandbox, build_sandbox
from bot.sandbox.app import to_sandbox_request
from bot.sandbox.datasets.demo import DEMO_TOKEN
from bot.sandbox.faults import MAX_RULES, Fault
from bot.sandbox.http import SandboxResponse, iso
from bot.sandbox.routes.incident_actions import MAX_INCIDENTS, STATUS_UPDATES_PER_INCIDENT
from bot.sandbox.routes.schedules import MAX_OVERRIDES_PER_SCHEDULE
from bot.sandbox.schedule_engine import Layer

MANAGER_EMAIL = "sam.rivera@acme-payments.example"


@pytest.fixture
def sandbox() -> Sandbox:
    return build_sandbox("demo", now=DEFAULT_NOW, rate_limit_per_minute=None)


def call(sandbox: Sandbox, method: str, path: str, query: dict[str, str] | None = None,
         body: bytes = b"") -> SandboxResponse:
    headers = [("authorization", f"Token token={DEMO_TOKEN}"), ("from", MANAGER_EMAIL)]
    return sandbox.dispatch(to_sandbox_request(method, path, list((query or {}).items()), headers, body))


def errors(response: SandboxResponse, message: str = "Invalid Input Provided") -> str:
    error: dict[str, Any] = response.body["error"]
    assert error["message"] == message
    return " ".join(error.get("errors", []))


def schedule_id(sandbox: Sandbox, name: str) -> str:
    return next(s.id for s in sandbox.world.schedules.values() if s.name == name)


def test_schedule_windows_are_accepted_up_to_their_bound(sandbox: Sandbox) -> None:
    primary, now = schedule_id(sandbox, "Platform Primary"), DEFAULT_NOW
    year = {"since": iso(now), "until": iso(now + timedelta(days=366))}
    longer = {"since": iso(now), "until": iso(now + timedelta(days=367))}
    assert call(sandbox, "GET", f"/schedules/{primary}", year).status == 200
    refused = call(sandbox, "GET", f"/schedules/{primary}", longer)
    assert refused.status == 400 and "maximum of 366 days for one schedule" in errors(refused)
    quarter = {"since": iso(now), "until": iso(now + timedelta(days=93)), "include[]": "final_schedule"}
    assert call(sandbox, "GET", "/schedules", quarter).status == 200
    refused = call(sandbox, "GET", "/schedules", {**quarter, "until": iso(now + timedelta(days=94))})
    assert refused.status == 400 and "maximum of 93 days" in errors(refused)
    oncalls = call(sandbox, "GET", "/oncalls", {"since": iso(now - timedelta(days=276)),
                                                "until": iso(now + timedelta(days=90))})
    assert oncalls.status == 200
    refused = call(sandbox, "GET", "/oncalls", {"since": iso(now - timedelta(days=277)),
                                                "until": iso(now + timedelta(days=90))})
    assert refused.status == 400 and "maximum of 366 days for GET /oncalls" in errors(refused)


def test_the_engines_span_budget_reaches_routes_as_a_400(sandbox: Sandbox) -> None:
    # A layer handing off every minute: a year of it is 525,600 shifts, past the engine's budget.
    primary = sandbox.world.schedules[schedule_id(sandbox, "Platform Primary")]
    old = primary.layers[0]
    primary.layers[0] = Layer(old.id, old.start, old.end, old.rotation_virtual_start, 60, old.user_ids)
    window = {"since": iso(DEFAULT_NOW), "until": iso(DEFAULT_NOW + timedelta(days=300))}
    response = call(sandbox, "GET", f"/schedules/{primary.id}", window)
    assert response.status == 400 and "more than 20,000 rotation shifts" in errors(response)
    assert call(sandbox, "GET", f"/schedules/{primary.id}/users", window).status == 400


def test_overrides_per_request_and_per_schedule_are_bounded(sandbox: Sandbox) -> None:
    primary = sandbox.world.schedules[schedule_id(sandbox, "Platform Primary")]
    user = next(u.id for u in sandbox.world.users.values() if u.email == MANAGER_EMAIL)
    item = (f'{{"start": "{iso(DEFAULT_NOW + timedelta(days=1))}", '
            f'"end": "{iso(DEFAULT_NOW + timedelta(days=1, hours=1))}", '
            f'"user": {{"id": "{user}", "type": "user_reference"}}}}')
    while len(primary.overrides) < MAX_OVERRIDES_PER_SCHEDULE:
        batch = min(100, MAX_OVERRIDES_PER_SCHEDULE - len(primary.overrides))
        created = call(sandbox, "POST", f"/schedules/{primary.id}/overrides",
                       body=f'{{"overrides": [{", ".join([item] * batch)}]}}'.encode())
        assert created.status == 201 and {r["status"] for r in created.body} == {201}
    full = call(sandbox, "POST", f"/schedules/{primary.id}/overrides", body=f'{{"overrides": [{item}]}}'.encode())
    assert full.body[0]["status"] == 400 and "at most 1000 overrides" in full.body[0]["errors"][0]
    assert len(primary.overrides) == MAX_OVERRIDES_PER_SCHEDULE


def test_status_updates_and_incidents_are_counted(sandbox: Sandbox) -> None:
    incident = next(i for i in sandbox.world.incidents.values() if i.is_open)
    posted = call(sandbox, "POST", f"/incidents/{incident.id}/status_updates", body=b'{"message": "looking"}')
    assert posted.status in (200, 201)
    incident.status_updates.extend([incident.status_updates[-1]] * (STATUS_UPDATES_PER_INCIDENT
                                                                      - len(incident.status_updates)))
    refused = call(sandbox, "POST", f"/incidents/{incident.id}/status_updates", body=b'{"message": "one more"}')
    assert refused.status == 400 and "at most 2000 status updates" in errors(refused)

    service = next(s.id for s in sandbox.world.services.values() if s.name == "platform-engineering")
    body = f'{{"incident": {{"type": "incident", "title": "t", "service": {{"id": "{service}", ' \
           f'"type": "service_reference"}}}}}}'.encode()
    assert call(sandbox, "POST", "/incidents", body=body).status == 201
    filler = next(iter(sandbox.world.incidents.values()))
    for n in range(MAX_INCIDENTS - len(sandbox.world.incidents)):
        sandbox.world.incidents[f"FILL{n}"] = filler
    refused = call(sandbox, "POST", "/incidents", body=body)
    assert refused.status == 400
    assert "at most 50,000 incidents" in errors(refused, "Incident could not be created")


def test_fault_rules_are_bounded(sandbox: Sandbox) -> None:
    for _ in range(MAX_RULES):
        sandbox.faults.add(Fault(path="/nowhere", status=500))
    with pytest.raises(ValueError, match="at most 1000 fault rules"):
        sandbox.faults.add(Fault(path="/nowhere", status=500))
