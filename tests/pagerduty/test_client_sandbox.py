"""The client against the sandbox: the behaviours PagerDuty users rely on, end to end in-process.

Requests and answers go through the OpenAPI contract check (tests/helpers.py) when the spec is present.
"""

from __future__ import annotations

import logging
import random
from dataclasses import replace
from datetime import timedelta

import pytest

from bot.pagerduty import (
    AuthenticationError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    PagerDutyClient,
    PagerDutyTimeout,
    RetryPolicy,
    ServerError,
)
from bot.sandbox.app import Sandbox
from bot.sandbox.model import Incident
from bot.sandbox.routes import ALL_ROUTES
from tests.helpers import sandbox_transport
from tests.sandbox.tiny_world import (
    MANAGER_TOKEN,
    NOW,
    OBSERVER_TOKEN,
    READONLY_TOKEN,
    REVOKED_TOKEN,
    tiny_world,
)


class FakeTime:
    """A monotonic clock that only moves when the client sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def sandbox() -> Sandbox:
    return Sandbox(tiny_world(), ALL_ROUTES)


def client_for(sandbox: Sandbox, token: str = MANAGER_TOKEN, fake: FakeTime | None = None,
               validate: bool = True, retry: RetryPolicy | None = None) -> PagerDutyClient:
    fake = fake or FakeTime()
    transport = sandbox_transport(sandbox) if validate else sandbox.transport()
    # A seeded jitter: retry counts under a deadline are then the same on every run.
    return PagerDutyClient(token, transport=transport, sleep=fake.sleep, clock=fake.clock,
                           retry=retry or RetryPolicy(), rng=random.Random(7))


async def test_pagination_stops_at_the_10000_cap_without_a_400(sandbox: Sandbox) -> None:
    world = sandbox.world
    template = world.incidents["PINC001"]
    for number in range(100, 10_160):
        world.add_incident(replace(template, id=f"PX{number:05d}", number=number, incident_key=f"k{number}",
                                   notes=[], log_entries=[], alerts=[], acknowledgements=[]))
    async with client_for(sandbox, validate=False) as pd:
        page = await pd.fetch("/incidents", "incidents", {"date_range": "all"}, max_items=20_000)
    assert len(page.items) == 10_000
    assert page.more and page.truncated_by_cap
    assert all(r.status == 200 for r in sandbox.requests)
    assert max(int(r.query["offset"][0]) + int(r.query["limit"][0]) for r in sandbox.requests) == 10_000


async def test_concurrent_fetch_keeps_order(sandbox: Sandbox) -> None:
    world = sandbox.world
    template = world.incidents["PINC001"]
    for number in range(100, 350):
        world.add_incident(replace(template, id=f"PY{number:05d}", number=number, incident_key=f"k{number}",
                                   created_at=NOW - timedelta(minutes=1000 - number)))
    async with client_for(sandbox, validate=False) as pd:
        page = await pd.fetch("/incidents", "incidents", {"sort_by": "incident_number"}, max_items=200,
                              page_size=50, concurrent=True)
    numbers = [i["incident_number"] for i in page.items]
    assert numbers == sorted(numbers) and len(numbers) == 200 and page.more
    assert page.total == 253


async def test_429_waits_ratelimit_reset_then_succeeds(sandbox: Sandbox) -> None:
    sandbox.faults.add(path="/incidents", status=429, headers={"ratelimit-reset": "2"}, times=2)
    fake = FakeTime()
    async with client_for(sandbox, fake=fake) as pd:
        body = await pd.get("/incidents")
    assert len(body["incidents"]) == 3
    assert fake.sleeps == [2.0, 2.0]


async def test_5xx_retries_stop_at_the_deadline(sandbox: Sandbox) -> None:
    sandbox.faults.add(path="/services", status=503)
    fake = FakeTime()
    async with client_for(sandbox, fake=fake, retry=RetryPolicy(max_attempts=10, base_delay=1,
                                                                max_delay=1)) as pd:
        with pytest.raises(ServerError) as caught:
            await pd.get("/services", deadline=fake.clock() + 2.5)
    assert caught.value.status == 503
    assert sum(fake.sleeps) <= 2.5
    assert 1 < len([r for r in sandbox.requests if r.path == "/services"]) < 10


async def test_timed_out_post_is_not_retried_and_may_have_applied(sandbox: Sandbox) -> None:
    sandbox.faults.add(path="/incidents/PINC001/notes", method="POST", timeout="after", times=1)
    async with client_for(sandbox) as pd:
        with pytest.raises(PagerDutyTimeout) as caught:
            await pd.post("/incidents/PINC001/notes", {"note": {"content": "once"}},
                          from_email="mia@example.com")
    assert caught.value.maybe_applied
    assert [n.content for n in sandbox.world.incidents["PINC001"].notes] == ["once"]
    posts = [r for r in sandbox.requests if r.method == "POST"]
    assert len(posts) == 1


async def test_typed_auth_errors_carry_pagerduty_messages(sandbox: Sandbox) -> None:
    async with client_for(sandbox, token="wrong-token") as pd:
        with pytest.raises(AuthenticationError) as bad:
            await pd.me()
    assert (bad.value.status, bad.value.code, bad.value.message) == (401, 2006, "Authentication failed")
    async with client_for(sandbox, token=REVOKED_TOKEN) as pd:
        with pytest.raises(AuthenticationError, match="revoked"):
            await pd.me()
    async with client_for(sandbox, token=READONLY_TOKEN) as pd:
        with pytest.raises(ForbiddenError) as denied:
            await pd.post("/incidents/PINC001/notes", {"note": {"content": "x"}}, from_email="mia@example.com")
    assert denied.value.code == 2010 and "read-only" in denied.value.errors[0]
    async with client_for(sandbox) as pd:
        with pytest.raises(NotFoundError) as missing:
            await pd.get("/services/PNOPE99")
    async with client_for(sandbox, validate=False) as pd:  # no From on purpose: the contract would refuse it
        with pytest.raises(InvalidInputError):
            await pd.put("/incidents/PINC001", {"incident": {"type": "incident_reference",
                                                             "status": "acknowledged"}})
    assert missing.value.code == 2100


async def test_observer_cannot_write_through_the_client(sandbox: Sandbox) -> None:
    async with client_for(sandbox, token=OBSERVER_TOKEN) as pd:
        assert (await pd.me())["role"] == "observer"
        with pytest.raises(ForbiddenError):
            await pd.put("/incidents/PINC001", {"incident": {"type": "incident_reference", "status": "resolved"}},
                         from_email="olga@example.com")


async def test_writes_act_as_the_from_user(sandbox: Sandbox) -> None:
    async with client_for(sandbox) as pd:
        await pd.put("/incidents/PINC001", {"incident": {"type": "incident_reference", "status": "acknowledged"}},
                     from_email="rob@example.com")
    incident: Incident = sandbox.world.incidents["PINC001"]
    assert [a.user_id for a in incident.acknowledgements] == ["PROB001"]
    assert sandbox.requests[-1].from_email == "rob@example.com"


async def test_token_never_in_logs_or_errors(sandbox: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    secret = "u+SECRET-DUMMY-TOKEN-42"
    caplog.set_level(logging.DEBUG)
    sandbox.faults.add(path="/teams", status=500)
    async with client_for(sandbox, token=secret) as pd:
        with pytest.raises(AuthenticationError) as caught:
            await pd.me()
        assert secret not in repr(pd)
    assert secret not in str(caught.value) and secret not in repr(caught.value)
    assert secret not in caplog.text
