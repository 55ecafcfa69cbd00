"""Offset pagination: ``more`` semantics, the 10,000 cap, concurrent fetch order."""

from __future__ import annotations

import asyncio
import logging
import random

import httpx2
import pytest

from bot.pagerduty import MAX_OFFSET_LIMIT, MalformedResponseError, NotFoundError, PagerDutyClient

TOKEN = "u+DUMMYTOKEN-abc123"


class FakeCollection:
    """A PagerDuty list endpoint over ``size`` items, enforcing PD's paging rules.

    Answers 400 code 2002 when offset+limit > 10,000 (and records it in ``violations``), clamps
    ``limit`` to ``server_max``, honours ``total=true`` and can add latency per request.
    """

    def __init__(self, size: int, *, key: str = "incidents", server_max: int = 100) -> None:
        self.size = size
        self.key = key
        self.server_max = server_max
        self.requests: list[dict[str, str]] = []
        self.violations: list[tuple[int, int]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.delay_for: dict[int, float] = {}
        self.fail_offset: int | None = None
        self.supports_total = True
        self.more_override: bool | None = None

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        params = dict(request.url.params)
        self.requests.append(params)
        offset, limit = int(params.get("offset", 0)), int(params.get("limit", 25))
        if offset + limit > MAX_OFFSET_LIMIT:
            self.violations.append((offset, limit))
            return httpx2.Response(
                400,
                json={
                    "error": {
                        "message": "Arguments Caused Error",
                        "code": 2002,
                        "errors": ["Offset+limit exceeds maximum allowed value of 10000."],
                    }
                },
            )
        if offset == self.fail_offset:
            return httpx2.Response(404, json={"error": {"message": "Not Found", "code": 2100}})
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay_for.get(offset, 0))
        finally:
            self.in_flight -= 1
        limit = min(limit, self.server_max)
        ids = list(range(offset, min(offset + limit, self.size)))
        more = offset + limit < self.size if self.more_override is None else self.more_override
        total = self.size if self.supports_total and params.get("total") == "true" else None
        body = {
            self.key: [{"id": f"P{i}"} for i in ids],
            "limit": limit,
            "offset": offset,
            "more": more,
            "total": total,
        }
        return httpx2.Response(200, json=body)


def client_for(collection: FakeCollection) -> PagerDutyClient:
    async def no_sleep(_: float) -> None:
        return None

    return PagerDutyClient(
        TOKEN, transport=httpx2.MockTransport(collection), sleep=no_sleep, rng=random.Random(0)
    )


def ids(items: list[dict[str, str]]) -> list[int]:
    return [int(item["id"][1:]) for item in items]


def offsets(collection: FakeCollection) -> list[tuple[int, int]]:
    return [(int(r["offset"]), int(r["limit"])) for r in collection.requests]


async def test_iter_pages_walks_all_pages() -> None:
    collection = FakeCollection(250)
    async with client_for(collection) as client:
        items = [
            item async for item in client.iter_pages("/incidents", "incidents", {"statuses[]": ["triggered"]})
        ]
    assert ids(items) == list(range(250))
    assert offsets(collection) == [(0, 100), (100, 100), (200, 100)]
    assert all(r["statuses[]"] == "triggered" for r in collection.requests)


async def test_iter_pages_advances_by_items_returned_when_server_clamps_limit() -> None:
    collection = FakeCollection(60, server_max=25)
    async with client_for(collection) as client:
        items = [item async for item in client.iter_pages("/incidents", "incidents")]
    assert ids(items) == list(range(60))
    assert [o for o, _ in offsets(collection)] == [0, 25, 50]


async def test_more_false_is_authoritative() -> None:
    collection = FakeCollection(500)
    collection.more_override = False
    async with client_for(collection) as client:
        page = await client.fetch("/incidents", "incidents", max_items=1000)
    assert len(page.items) == 100 and page.more is False
    assert len(collection.requests) == 1


async def test_fetch_all_reports_no_more() -> None:
    collection = FakeCollection(250)
    async with client_for(collection) as client:
        page = await client.fetch("/incidents", "incidents", max_items=1000)
    assert ids(page.items) == list(range(250))
    assert (page.more, page.total, page.truncated_by_cap) == (False, None, False)


async def test_fetch_max_items_shrinks_last_limit_and_reports_more() -> None:
    collection = FakeCollection(250)
    async with client_for(collection) as client:
        page = await client.fetch("/incidents", "incidents", max_items=150)
    assert ids(page.items) == list(range(150))
    assert page.more is True and page.truncated_by_cap is False
    assert offsets(collection) == [(0, 100), (100, 50)]


async def test_fetch_exactly_everything_is_not_more() -> None:
    collection = FakeCollection(200)
    async with client_for(collection) as client:
        page = await client.fetch("/incidents", "incidents", max_items=200)
    assert len(page.items) == 200 and page.more is False


@pytest.mark.parametrize("page_size", [100, 70])
async def test_fetch_stops_at_the_10000_cap_without_a_400(page_size: int) -> None:
    collection = FakeCollection(12_000)
    async with client_for(collection) as client:
        page = await client.fetch("/log_entries", "incidents", max_items=20_000, page_size=page_size)
    assert collection.violations == []
    assert ids(page.items) == list(range(MAX_OFFSET_LIMIT))
    assert page.more is True and page.truncated_by_cap is True
    last_offset, last_limit = offsets(collection)[-1]
    assert last_offset + last_limit == MAX_OFFSET_LIMIT
    if page_size == 70:
        assert (last_offset, last_limit) == (9940, 60)  # the last limit shrank to fit


async def test_iter_pages_stops_at_the_cap_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    collection = FakeCollection(10_050)
    caplog.set_level(logging.WARNING, logger="bot.pagerduty")
    async with client_for(collection) as client:
        count = 0
        async for _ in client.iter_pages("/incidents", "incidents"):
            count += 1
    assert count == MAX_OFFSET_LIMIT
    assert collection.violations == []
    assert "10000-record paging cap" in caplog.text


async def test_concurrent_fetch_preserves_order_and_bounds_concurrency() -> None:
    collection = FakeCollection(950)
    # later pages answer faster, so completion order is the reverse of request order
    collection.delay_for = {offset: 0.001 * (10 - offset // 100) for offset in range(0, 1000, 100)}
    async with client_for(collection) as client:
        page = await client.fetch("/incidents", "incidents", max_items=1000, concurrent=True)
    assert ids(page.items) == list(range(950))
    assert (page.more, page.total, page.truncated_by_cap) == (False, 950, False)
    assert len(collection.requests) == 10
    assert collection.requests[0]["total"] == "true"
    assert all("total" not in r for r in collection.requests[1:])
    assert sorted(offsets(collection)) == [(o, 100 if o < 900 else 50) for o in range(0, 1000, 100)]
    assert 1 < collection.max_in_flight <= 4


async def test_concurrent_fetch_respects_max_items() -> None:
    collection = FakeCollection(950)
    async with client_for(collection) as client:
        page = await client.fetch("/incidents", "incidents", max_items=430, concurrent=True)
    assert ids(page.items) == list(range(430))
    assert page.more is True and page.total == 950 and page.truncated_by_cap is False
    assert sorted(offsets(collection)) == [(0, 100), (100, 100), (200, 100), (300, 100), (400, 30)]


async def test_concurrent_fetch_stops_at_the_cap() -> None:
    collection = FakeCollection(12_000)
    async with client_for(collection) as client:
        page = await client.fetch("/incidents", "incidents", max_items=50_000, concurrent=True)
    assert collection.violations == []
    assert ids(page.items) == list(range(MAX_OFFSET_LIMIT))
    assert (page.more, page.total, page.truncated_by_cap) == (True, 12_000, True)
    assert len(collection.requests) == 100


async def test_concurrent_fetch_without_total_falls_back_to_sequential() -> None:
    collection = FakeCollection(250, key="schedules")
    collection.supports_total = False
    async with client_for(collection) as client:
        page = await client.fetch("/v3/schedules", "schedules", concurrent=True)
    assert ids(page.items) == list(range(250))
    assert page.total is None and page.more is False
    assert offsets(collection) == [(0, 100), (100, 100), (200, 100)]


async def test_concurrent_fetch_failure_propagates_typed_error() -> None:
    collection = FakeCollection(950)
    collection.fail_offset = 300
    async with client_for(collection) as client:
        with pytest.raises(NotFoundError):
            await client.fetch("/incidents", "incidents", concurrent=True)


async def test_missing_key_is_malformed() -> None:
    collection = FakeCollection(10)
    async with client_for(collection) as client:
        with pytest.raises(MalformedResponseError):
            await client.fetch("/incidents", "services")


@pytest.mark.parametrize("params", [{"offset": 5}, {"limit": 5}])
async def test_paginator_owns_offset_and_limit(params: dict[str, int]) -> None:
    async with client_for(FakeCollection(10)) as client:
        with pytest.raises(ValueError):
            await client.fetch("/incidents", "incidents", params)
