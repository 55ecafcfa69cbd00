"""Retry policy (unit) and the client's retry/deadline behaviour (through httpx2.MockTransport)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import httpx2
import pytest

from bot.pagerduty import (
    InvalidInputError,
    PagerDutyClient,
    PagerDutyConnectionError,
    PagerDutyError,
    PagerDutyTimeout,
    RateLimitedError,
    RetryPolicy,
    ServerError,
)

TOKEN = "u+DUMMYTOKEN-abc123"
NOTES = "/incidents/PX1/notes"


class FakeClock:
    """Monotonic clock that only moves when the client sleeps (or a test advances it)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class MaxRng(random.Random):
    """Full jitter always drawing the ceiling, to make waits deterministic."""

    def uniform(self, a: float, b: float) -> float:
        return b


Handler = Callable[[httpx2.Request], httpx2.Response]


def make_client(handler: Handler, clock: FakeClock, **kwargs: Any) -> PagerDutyClient:
    kwargs.setdefault("rng", random.Random(7))
    return PagerDutyClient(
        TOKEN, transport=httpx2.MockTransport(handler), sleep=clock.sleep, clock=clock, **kwargs
    )


def scripted(*steps: httpx2.Response | Exception) -> tuple[Handler, list[httpx2.Request]]:
    """Handler answering with ``steps`` in order (the last one repeats); exceptions are raised."""
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        step = steps[min(len(seen), len(steps) - 1)]
        seen.append(request)
        if isinstance(step, Exception):
            raise step
        return step

    return handler, seen


def ok(body: Any = None, status: int = 200) -> httpx2.Response:
    return httpx2.Response(status, json=body if body is not None else {"ok": True})


# ---------------------------------------------------------------------------- policy unit tests


def test_backoff_full_jitter_bounds() -> None:
    policy = RetryPolicy()
    rng = random.Random(1)
    for retry_number, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (9, 8.0)]:
        draws = [policy.backoff(retry_number, rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in draws)
        assert max(draws) > ceiling / 2  # really jittered over the range, not constant


@pytest.mark.parametrize("kwargs", [{"max_attempts": 0}, {"base_delay": -1}, {"max_delay": -0.1}])
def test_policy_validation(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def _e(cls: type[PagerDutyError], **kw: Any) -> PagerDutyError:
    return cls("x", **kw)


@pytest.mark.parametrize(
    ("method", "error", "retry"),
    [
        ("GET", _e(RateLimitedError, status=429), True),
        ("POST", _e(RateLimitedError, status=429), True),
        ("GET", _e(ServerError, status=500), True),
        ("PUT", _e(ServerError, status=502, maybe_applied=True), True),
        ("DELETE", _e(ServerError, status=503, maybe_applied=True), True),
        ("POST", _e(ServerError, status=500, maybe_applied=True), False),
        ("GET", _e(PagerDutyTimeout), True),
        ("PUT", _e(PagerDutyTimeout, maybe_applied=True), True),
        ("POST", _e(PagerDutyTimeout, maybe_applied=True), False),
        ("POST", _e(PagerDutyTimeout, status=408, maybe_applied=True), False),
        ("POST", _e(PagerDutyConnectionError), True),  # never sent
        ("POST", _e(PagerDutyConnectionError, maybe_applied=True), False),  # dropped mid-request
        ("GET", _e(InvalidInputError, status=400), False),
        ("PUT", _e(InvalidInputError, status=400), False),
    ],
)
def test_should_retry_matrix(method: str, error: PagerDutyError, retry: bool) -> None:
    assert RetryPolicy().should_retry(method, error) is retry


def test_wait_prefers_ratelimit_reset_and_refuses_huge_waits() -> None:
    policy = RetryPolicy(max_rate_limit_wait=30)
    rng = random.Random(0)
    assert policy.wait_before_retry(1, RateLimitedError("x", retry_after=2.0), rng) == 2.0
    assert policy.wait_before_retry(1, RateLimitedError("x", retry_after=31.0), rng) is None
    assert 0 <= (policy.wait_before_retry(3, RateLimitedError("x"), rng) or 0) <= 2.0


# ---------------------------------------------------------------------------- client behaviour


async def test_429_honours_ratelimit_reset_seconds() -> None:
    clock = FakeClock()
    limited = httpx2.Response(
        429,
        headers={"ratelimit-limit": "960", "ratelimit-remaining": "0", "ratelimit-reset": "2"},
        json={"error": {"message": "Rate Limit Exceeded", "code": 2020}},
    )
    handler, seen = scripted(limited, ok({"users": []}))
    async with make_client(handler, clock) as client:
        assert await client.get("/users") == {"users": []}
    assert clock.sleeps == [2.0]
    assert len(seen) == 2


async def test_429_without_headers_uses_jittered_backoff_and_is_bounded() -> None:
    clock = FakeClock()
    handler, seen = scripted(httpx2.Response(429))
    async with make_client(handler, clock, retry=RetryPolicy(max_attempts=4, base_delay=0.5)) as client:
        with pytest.raises(RateLimitedError) as info:
            await client.get("/incidents")
    assert len(seen) == 4
    assert info.value.retry_after is None
    assert len(clock.sleeps) == 3
    for retry_number, wait in enumerate(clock.sleeps, start=1):
        assert 0.0 <= wait <= 0.5 * 2 ** (retry_number - 1)
    assert len(set(clock.sleeps)) == 3  # jittered, not a fixed ladder


async def test_429_with_reset_beyond_deadline_raises_immediately() -> None:
    clock = FakeClock()
    handler, seen = scripted(httpx2.Response(429, headers={"ratelimit-reset": "30"}))
    async with make_client(handler, clock) as client:
        with pytest.raises(RateLimitedError) as info:
            await client.get("/oncalls", deadline=clock.now + 5)
    assert info.value.retry_after == 30.0
    assert len(seen) == 1 and clock.sleeps == []


async def test_5xx_retries_bounded_by_max_attempts() -> None:
    clock = FakeClock()
    handler, seen = scripted(httpx2.Response(503))
    async with make_client(handler, clock, retry=RetryPolicy(max_attempts=3)) as client:
        with pytest.raises(ServerError) as info:
            await client.get("/services")
    assert len(seen) == 3 and len(clock.sleeps) == 2
    assert info.value.maybe_applied is False


async def test_5xx_then_success() -> None:
    clock = FakeClock()
    handler, seen = scripted(httpx2.Response(500), httpx2.Response(502), ok({"services": []}))
    async with make_client(handler, clock) as client:
        assert await client.get("/services") == {"services": []}
    assert len(seen) == 3


async def test_5xx_retries_bounded_by_deadline() -> None:
    clock = FakeClock()
    handler, seen = scripted(httpx2.Response(500))
    policy = RetryPolicy(max_attempts=10, base_delay=1.0, max_delay=1.0)
    deadline = clock.now + 2.5
    async with make_client(handler, clock, retry=policy, rng=MaxRng()) as client:
        with pytest.raises(ServerError):
            await client.get("/services", deadline=deadline)
    assert clock.sleeps == [1.0, 1.0]  # a third 1 s wait would end past the deadline
    assert len(seen) == 3
    assert clock.now <= deadline


async def test_deadline_shortens_per_request_timeout() -> None:
    clock = FakeClock()
    timeouts: list[dict[str, float]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        timeouts.append(request.extensions["timeout"])
        return ok()

    async with make_client(handler, clock) as client:
        await client.get("/users/me", deadline=clock.now + 2.0)
        await client.get("/users/me")
    assert timeouts[0] == {"connect": 2.0, "read": 2.0, "write": 2.0, "pool": 2.0}
    assert timeouts[1] == {"connect": 3.0, "read": 10.0, "write": 10.0, "pool": 10.0}


async def test_deadline_already_passed_sends_nothing() -> None:
    clock = FakeClock()
    handler, seen = scripted(ok())
    async with make_client(handler, clock) as client:
        with pytest.raises(PagerDutyTimeout) as info:
            await client.get("/users/me", deadline=clock.now - 1)
    assert seen == []
    assert info.value.maybe_applied is False


async def test_timeout_on_get_is_retried() -> None:
    clock = FakeClock()
    handler, seen = scripted(httpx2.ReadTimeout("timed out"), ok({"incident": {"id": "PX1"}}))
    async with make_client(handler, clock) as client:
        body = await client.get("/incidents/PX1")
    assert body == {"incident": {"id": "PX1"}}
    assert len(seen) == 2 and len(clock.sleeps) == 1


async def test_timeout_on_get_exhausted_is_typed() -> None:
    clock = FakeClock()
    handler, seen = scripted(httpx2.ReadTimeout("timed out"))
    async with make_client(handler, clock, retry=RetryPolicy(max_attempts=2)) as client:
        with pytest.raises(PagerDutyTimeout) as info:
            await client.get("/incidents")
    assert len(seen) == 2
    assert info.value.maybe_applied is False
    assert isinstance(info.value.__cause__, httpx2.ReadTimeout)


async def test_timeout_on_post_note_is_not_retried() -> None:
    clock = FakeClock()
    handler, seen = scripted(httpx2.ReadTimeout("timed out"), ok({"note": {}}, 201))
    async with make_client(handler, clock) as client:
        with pytest.raises(PagerDutyTimeout) as info:
            await client.post(NOTES, {"note": {"content": "hi"}}, from_email="ana@example.com")
    assert len(seen) == 1
    assert clock.sleeps == []
    assert info.value.maybe_applied is True
    assert "re-read state" in str(info.value)
    assert (info.value.method, info.value.path) == ("POST", NOTES)


@pytest.mark.parametrize(
    "failure",
    [httpx2.Response(500), httpx2.Response(504), httpx2.Response(408), httpx2.RemoteProtocolError("gone")],
)
async def test_ambiguous_failures_on_post_are_not_retried(failure: httpx2.Response | Exception) -> None:
    clock = FakeClock()
    handler, seen = scripted(failure, ok({"incident": {}}, 201))
    async with make_client(handler, clock) as client:
        with pytest.raises(PagerDutyError) as info:
            await client.post("/incidents", {"incident": {}}, from_email="ana@example.com")
    assert len(seen) == 1
    assert info.value.maybe_applied is True


async def test_429_on_post_is_retried() -> None:
    clock = FakeClock()
    handler, seen = scripted(
        httpx2.Response(429, headers={"ratelimit-reset": "1"}), ok({"note": {"id": "N1"}}, 201)
    )
    async with make_client(handler, clock) as client:
        body = await client.post(NOTES, {"note": {"content": "hi"}}, from_email="ana@example.com")
    assert body == {"note": {"id": "N1"}}
    assert len(seen) == 2 and clock.sleeps == [1.0]


@pytest.mark.parametrize("never_sent", [httpx2.ConnectError("refused"), httpx2.ConnectTimeout("slow")])
async def test_connect_failure_on_post_is_retried(never_sent: Exception) -> None:
    clock = FakeClock()
    handler, seen = scripted(never_sent, ok({"note": {"id": "N1"}}, 201))
    async with make_client(handler, clock) as client:
        await client.post(NOTES, {"note": {"content": "hi"}}, from_email="ana@example.com")
    assert len(seen) == 2


async def test_connect_failure_exhausted_is_connection_error() -> None:
    clock = FakeClock()
    handler, seen = scripted(httpx2.ConnectError("refused"))
    async with make_client(handler, clock, retry=RetryPolicy(max_attempts=2)) as client:
        with pytest.raises(PagerDutyConnectionError) as info:
            await client.post(NOTES, {"note": {}}, from_email="ana@example.com")
    assert len(seen) == 2 and info.value.maybe_applied is False


@pytest.mark.parametrize("failure", [httpx2.Response(503), httpx2.WriteTimeout("slow")])
async def test_put_is_idempotent_and_retried(failure: httpx2.Response | Exception) -> None:
    clock = FakeClock()
    handler, seen = scripted(failure, ok({"incident": {"status": "acknowledged"}}))
    async with make_client(handler, clock) as client:
        body = await client.put(
            "/incidents/PX1",
            {"incident": {"type": "incident_reference", "status": "acknowledged"}},
            from_email="ana@example.com",
        )
    assert body["incident"]["status"] == "acknowledged"
    assert len(seen) == 2


async def test_put_exhausted_reports_maybe_applied() -> None:
    clock = FakeClock()
    handler, seen = scripted(httpx2.Response(500))
    async with make_client(handler, clock, retry=RetryPolicy(max_attempts=2)) as client:
        with pytest.raises(ServerError) as info:
            await client.put("/incidents/PX1", {"incident": {}}, from_email="ana@example.com")
    assert len(seen) == 2 and info.value.maybe_applied is True


async def test_delete_retried_on_5xx() -> None:
    clock = FakeClock()
    handler, seen = scripted(httpx2.Response(502), httpx2.Response(204))
    async with make_client(handler, clock) as client:
        assert await client.delete("/schedules/S1/overrides/O1") is None
    assert len(seen) == 2


async def test_client_errors_are_not_retried() -> None:
    clock = FakeClock()
    handler, seen = scripted(httpx2.Response(400, json={"error": {"message": "Invalid Input", "code": 2001}}))
    async with make_client(handler, clock) as client:
        with pytest.raises(InvalidInputError):
            await client.get("/incidents")
    assert len(seen) == 1 and clock.sleeps == []
