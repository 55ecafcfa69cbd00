"""What each try of a request got back (``attempts=``), the deadline that holds whatever the transport,
and one WARNING line per failed request with nothing in it that could be a secret or personal data."""

from __future__ import annotations

import asyncio
import logging
import random
import time

import httpx2
import pytest

from bot.pagerduty import PagerDutyClient, PagerDutyTimeout, RetryPolicy
from bot.pagerduty.attempts import Attempt, earlier_may_have_applied

TOKEN = "u+DUMMYTOKEN-attempts-123"


async def _no_sleep(_: float) -> None:
    return None


def client_for(*answers: httpx2.Response | Exception, **kwargs: object) -> PagerDutyClient:
    steps = list(answers)

    def handler(request: httpx2.Request) -> httpx2.Response:
        step = steps.pop(0) if len(steps) > 1 else steps[0]
        if isinstance(step, Exception):
            raise step
        return step

    return PagerDutyClient(TOKEN, transport=httpx2.MockTransport(handler), sleep=_no_sleep,
                           rng=random.Random(0), **kwargs)  # type: ignore[arg-type]


async def test_a_retried_put_reports_each_try() -> None:
    already = httpx2.Response(400, json={"error": {"message": "Incident Already Resolved", "code": 1001}})
    attempts: list[Attempt] = []
    async with client_for(httpx2.ReadTimeout("slow"), already) as pd:
        with pytest.raises(Exception) as info:
            await pd.put("/incidents/PX1", {"incident": {}}, from_email="a@b.io", attempts=attempts)
    assert getattr(info.value, "code", None) == 1001
    assert [a.label for a in attempts] == ["no response", "400"]
    assert attempts[0].may_have_applied and attempts[1].code == 1001
    assert earlier_may_have_applied(attempts)


async def test_a_never_sent_try_cannot_have_applied() -> None:
    attempts: list[Attempt] = []
    async with client_for(httpx2.ConnectError("refused"), httpx2.Response(200, json={})) as pd:
        await pd.put("/incidents/PX1", {"incident": {}}, from_email="a@b.io", attempts=attempts)
    assert [a.label for a in attempts] == ["not sent", "2xx"] and not earlier_may_have_applied(attempts)


async def test_the_deadline_holds_even_when_the_transport_ignores_timeouts() -> None:
    async def slow(request: httpx2.Request) -> httpx2.Response:
        await asyncio.sleep(30)
        return httpx2.Response(200, json={})

    pd = PagerDutyClient(TOKEN, transport=httpx2.MockTransport(slow), retry=RetryPolicy(max_attempts=1))
    started = time.monotonic()
    async with pd:
        with pytest.raises(PagerDutyTimeout) as info:
            await pd.put("/incidents/PX1", {"incident": {}}, from_email="a@b.io", deadline=time.monotonic() + 0.5)
    assert time.monotonic() - started < 10, "stopped at the deadline, not after the transport's 30 s"
    assert info.value.maybe_applied, "a write cut off mid-way may have been applied"


async def test_each_failed_request_logs_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, "bot.pagerduty")
    failing = httpx2.Response(503, json={"error": {"message": "down", "code": 2000}})
    async with client_for(failing, failing, httpx2.Response(200, json={"users": []}),
                          retry=RetryPolicy(max_attempts=3)) as pd:
        await pd.get("/users", {"query": "jane.doe@example.com"})
        await pd.get("/schedules/Jane%27s%20Rota")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [w for w in warnings if w.startswith("PagerDuty GET /users -> 503 (attempt ")]
    assert len(warnings) == 2 and "attempt 1/3, code 2000" in warnings[0] and "attempt 2/3" in warnings[1]
    assert "jane.doe" not in caplog.text and TOKEN not in caplog.text
    assert "/schedules/{…}" in caplog.text and "Jane" not in caplog.text, "a typed name in a path is not logged"
