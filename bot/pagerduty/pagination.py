"""Classic (offset) pagination for PagerDuty list endpoints.

PagerDuty answers ``limit``/``offset`` requests with ``more`` (authoritative "another page
exists") and ``total`` (null unless ``total=true`` was sent). The offset advances by the number of
items actually returned. ``offset + limit`` must never exceed 10,000 — PagerDuty answers 400
(code 2002) otherwise — so the last ``limit`` is shrunk to fit and paging stops at the cap,
reported as ``Page(more=True, truncated_by_cap=True)``. Narrow the query (time window, filters) to
see past it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .errors import MalformedResponseError

__all__ = ["DEFAULT_CONCURRENCY", "MAX_OFFSET_LIMIT", "Page", "fetch", "iter_pages"]

logger = logging.getLogger("bot.pagerduty")

MAX_OFFSET_LIMIT = 10_000
DEFAULT_CONCURRENCY = 4


class Getter(Protocol):
    """Anything with the signature of :meth:`PagerDutyClient.get`."""

    def __call__(
        self, path: str, params: Mapping[str, Any] | None = None, *, deadline: float | None = None
    ) -> Awaitable[dict[str, Any]]: ...


@dataclass(frozen=True)
class Page:
    """Result of :func:`fetch`.

    ``more`` is True when PagerDuty had more items than returned (because of ``max_items`` or the
    10,000 cap); ``truncated_by_cap`` is True when the cap, not ``max_items``, stopped paging.
    ``total`` is PagerDuty's total count when it was requested/returned, else None.
    """

    items: list[Any] = field(default_factory=list)
    more: bool = False
    total: int | None = None
    truncated_by_cap: bool = False


def _check_args(params: Mapping[str, Any] | None, page_size: int) -> dict[str, Any]:
    if page_size < 1:
        raise ValueError("page_size must be >= 1")
    base = dict(params or {})
    for reserved in ("offset", "limit"):
        if reserved in base:
            raise ValueError(f"{reserved!r} is managed by the paginator; do not pass it in params")
    return base


def _items_of(body: Mapping[str, Any], key: str, path: str) -> list[Any]:
    items = body.get(key)
    if not isinstance(items, list):
        raise MalformedResponseError(f"response has no list {key!r}", status=200, method="GET", path=path)
    return items


def _total_of(body: Mapping[str, Any]) -> int | None:
    total = body.get("total")
    return total if isinstance(total, int) and not isinstance(total, bool) else None


async def iter_pages(
    get: Getter,
    path: str,
    key: str,
    params: Mapping[str, Any] | None = None,
    *,
    page_size: int = 100,
    deadline: float | None = None,
) -> AsyncIterator[Any]:
    """Yield every item of ``body[key]`` across pages, stopping (with a warning log) at the cap."""
    base = _check_args(params, page_size)
    offset = 0
    while True:
        limit = min(page_size, MAX_OFFSET_LIMIT - offset)
        if limit <= 0:
            logger.warning("PagerDuty GET %s: stopped at the %d-record paging cap", path, MAX_OFFSET_LIMIT)
            return
        body = await get(path, {**base, "offset": offset, "limit": limit}, deadline=deadline)
        items = _items_of(body, key, path)
        for item in items:
            yield item
        if not body.get("more") or not items:
            return
        offset += len(items)


async def fetch(
    get: Getter,
    path: str,
    key: str,
    params: Mapping[str, Any] | None = None,
    *,
    max_items: int = 1000,
    page_size: int = 100,
    deadline: float | None = None,
    concurrent: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
) -> Page:
    """Collect up to ``max_items`` items of ``body[key]``; see :class:`Page` for the result."""
    base = _check_args(params, page_size)
    if max_items < 1:
        raise ValueError("max_items must be >= 1")
    if concurrency < 1:
        raise ValueError("concurrency must be >= 1")
    if concurrent:
        base["total"] = True
    items: list[Any] = []
    total: int | None = None
    offset = 0
    more = False
    while len(items) < max_items:
        room = MAX_OFFSET_LIMIT - offset
        if room <= 0:
            return Page(items, more=True, total=total, truncated_by_cap=True)
        want = max_items - len(items)
        limit = min(page_size, want, room)
        body = await get(path, {**base, "offset": offset, "limit": limit}, deadline=deadline)
        if offset == 0:
            total = _total_of(body)
            base.pop("total", None)  # only the first page needs to count
        page_items = _items_of(body, key, path)
        items.extend(page_items[:want])
        more = bool(body.get("more")) or len(page_items) > want
        if not more or not page_items:
            break
        offset += len(page_items)
        if concurrent and total is not None:
            return await _fetch_rest_concurrently(
                get, path, key, base, items, offset, len(page_items), total, max_items, deadline, concurrency
            )
    return Page(items, more=more, total=total, truncated_by_cap=False)


async def _fetch_rest_concurrently(
    get: Getter,
    path: str,
    key: str,
    base: dict[str, Any],
    items: list[Any],
    offset: int,
    step: int,
    total: int,
    max_items: int,
    deadline: float | None,
    concurrency: int,
) -> Page:
    """After the first page: fetch the remaining pages in parallel (bounded), preserving order."""
    end = min(total, offset + (max_items - len(items)), MAX_OFFSET_LIMIT)
    starts = list(range(offset, end, step))
    semaphore = asyncio.Semaphore(concurrency)

    async def one(start: int) -> dict[str, Any]:
        async with semaphore:
            limit = min(step, end - start)
            return await get(path, {**base, "offset": start, "limit": limit}, deadline=deadline)

    tasks = [asyncio.ensure_future(one(start)) for start in starts]
    try:
        bodies = await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    last_more = False
    for body in bodies:
        items.extend(_items_of(body, key, path))
        last_more = bool(body.get("more"))
    del items[max_items:]
    truncated = min(total, max_items) > MAX_OFFSET_LIMIT
    return Page(items, more=end < total or last_more, total=total, truncated_by_cap=truncated)
