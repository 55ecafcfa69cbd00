"""What the sandbox does in front of every endpoint: auth, rate limits, routing, write rules, faults."""

from __future__ import annotations

from datetime import timedelta

import httpx2
import pytest

from bot.sandbox.app import Sandbox
from bot.sandbox.faults import Fault
from bot.sandbox.routes import ALL_ROUTES
from tests.helpers import BASE_URL, PD_ACCEPT, sandbox_client
from tests.sandbox.tiny_world import (
    MANAGER_TOKEN,
    NOW,
    OBSERVER_TOKEN,
    READONLY_TOKEN,
    REVOKED_TOKEN,
    tiny_world,
)


class FakeMonotonic:
    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(tiny_world(), ALL_ROUTES)


async def test_missing_or_malformed_authorization_is_401_with_pd_body(sandbox: Sandbox) -> None:
    async with sandbox_client(sandbox, None, validate=False) as client:
        response = await client.get("/users/me")
    assert response.status_code == 401
    assert response.json() == {"error": {"message": "Authentication failed", "code": 2006}}
    raw = httpx2.AsyncClient(transport=sandbox.transport(), base_url=BASE_URL,
                             headers={"Accept": PD_ACCEPT, "Authorization": f"Bearer {MANAGER_TOKEN}"})
    async with raw:
        assert (await raw.get("/users/me")).status_code == 401


async def test_unknown_and_revoked_tokens_are_401(sandbox: Sandbox) -> None:
    async with sandbox_client(sandbox, "no-such-token") as client:
        assert (await client.get("/services")).status_code == 401
    async with sandbox_client(sandbox, REVOKED_TOKEN) as client:
        response = await client.get("/services")
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


async def test_unknown_path_gets_pagerduty_404_shape(sandbox: Sandbox) -> None:
    async with sandbox_client(sandbox, MANAGER_TOKEN, validate=False) as client:
        response = await client.get("/no/such/thing")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == 2100


async def test_rate_limit_960_per_minute_per_token_with_headers() -> None:
    clock = FakeMonotonic()
    sandbox = Sandbox(tiny_world(), ALL_ROUTES, monotonic=clock)
    async with sandbox_client(sandbox, MANAGER_TOKEN) as client:
        first = await client.get("/users/me")
        assert first.headers["ratelimit-limit"] == "960"
        assert first.headers["ratelimit-remaining"] == "959"
        for _ in range(959):
            assert (await client.get("/priorities")).status_code == 200
        limited = await client.get("/users/me")
        assert limited.status_code == 429
        assert limited.json() == {"error": {"message": "Rate Limit Exceeded", "code": 2020}}
        assert 1 <= int(limited.headers["ratelimit-reset"]) <= 61
        clock.value += 61
        assert (await client.get("/users/me")).status_code == 200
    async with sandbox_client(sandbox, OBSERVER_TOKEN) as other:
        clock.value += 1
        assert (await other.get("/users/me")).status_code == 200


async def test_read_only_token_cannot_write(sandbox: Sandbox) -> None:
    async with sandbox_client(sandbox, READONLY_TOKEN, from_email="mia@example.com") as client:
        assert (await client.get("/incidents")).status_code == 200
        response = await client.post("/incidents/PINC001/notes", json={"note": {"content": "hi"}})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == 2010


async def test_writes_need_a_valid_from_header(sandbox: Sandbox) -> None:
    async with sandbox_client(sandbox, MANAGER_TOKEN, validate=False) as client:
        missing = await client.put("/incidents/PINC001",
                                   json={"incident": {"type": "incident_reference", "status": "acknowledged"}})
    assert missing.status_code == 400
    assert '"From" header' in missing.json()["error"]["errors"][0]
    async with sandbox_client(sandbox, MANAGER_TOKEN, from_email="nobody@example.com") as client:
        unknown = await client.post("/incidents/PINC001/notes", json={"note": {"content": "x"}})
    assert unknown.status_code == 400


async def test_observer_role_cannot_write_even_with_a_manager_token(sandbox: Sandbox) -> None:
    async with sandbox_client(sandbox, MANAGER_TOKEN, from_email="olga@example.com") as client:
        response = await client.post("/incidents/PINC001/notes", json={"note": {"content": "x"}})
    assert response.status_code == 403
    assert "observer" in response.json()["error"]["errors"][0]
    async with sandbox_client(sandbox, OBSERVER_TOKEN, from_email="mia@example.com") as client:
        assert (await client.post("/incidents/PINC001/notes",
                                  json={"note": {"content": "x"}})).status_code == 403


async def test_faults_status_latency_times_and_timeout(sandbox: Sandbox) -> None:
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    sandbox.faults.add(path="/services", status=503, times=1)
    sandbox.faults.add(path="/teams*", latency=0.08)
    sandbox.faults.add(path="/incidents/*/notes", method="POST", timeout="after", times=1)
    client = httpx2.AsyncClient(transport=sandbox.transport(sleep=fake_sleep), base_url=BASE_URL,
                                headers={"Accept": PD_ACCEPT, "Authorization": f"Token token={MANAGER_TOKEN}",
                                         "From": "mia@example.com"})
    async with client:
        assert (await client.get("/services")).status_code == 503
        assert (await client.get("/services")).status_code == 200
        assert (await client.get("/teams")).status_code == 200
        with pytest.raises(httpx2.ReadTimeout):
            await client.post("/incidents/PINC001/notes", json={"note": {"content": "applied"}})
        notes = (await client.get("/incidents/PINC001/notes")).json()["notes"]
    assert slept == [0.08]
    assert [n["content"] for n in notes] == ["applied"]


async def test_malformed_json_fault(sandbox: Sandbox) -> None:
    sandbox.faults.add(Fault(path="/incidents", malformed=True))
    client = httpx2.AsyncClient(transport=sandbox.transport(), base_url=BASE_URL,
                                headers={"Authorization": f"Token token={MANAGER_TOKEN}"})
    async with client:
        response = await client.get("/incidents")
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()


async def test_requests_are_recorded_with_from(sandbox: Sandbox) -> None:
    async with sandbox_client(sandbox, MANAGER_TOKEN, from_email="mia@example.com") as client:
        await client.post("/incidents/PINC001/notes", json={"note": {"content": "x"}})
    last = sandbox.requests[-1]
    assert (last.method, last.path, last.from_email, last.status) == (
        "POST", "/incidents/PINC001/notes", "mia@example.com", 201)
    assert last.route == "/incidents/{id}/notes"


def test_advance_moves_now(sandbox: Sandbox) -> None:
    sandbox.advance(timedelta(hours=2))
    assert sandbox.now == NOW + timedelta(hours=2)
