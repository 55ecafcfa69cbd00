"""Request helpers every incident route shares: the visible incident, ``include[]`` and set filters,
the service scope, the ``since``/``until`` window and lazy paging.

* ``{id}`` is an incident ID *or* its number everywhere.
* Team scope: a ``restricted_access`` token user sees (and may change) only incidents of their teams'
  services; others answer 404 as if they did not exist.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot.sandbox.app import Context
from bot.sandbox.http import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    ApiError,
    SandboxRequest,
    check_time,
    empty_time,
    invalid,
    not_found,
    paginate,
    parse_time,
)
from bot.sandbox.model import Incident

T = TypeVar("T")

STATUSES = ("triggered", "acknowledged", "resolved")
URGENCIES = ("high", "low")
_OFFSET_SUFFIX = re.compile(r"(?:Z|z|[+\- ]\d{2}(?::?\d{2})?)$")


def includes(req: SandboxRequest, allowed: frozenset[str]) -> frozenset[str]:
    """``include[]``, 400 on any value outside ``allowed``."""
    values = req.many("include")
    bad = [v for v in values if v not in allowed]
    if bad:
        raise invalid(f"include[] has invalid values: {', '.join(bad)}")
    return frozenset(values)


def visible_incident(ctx: Context, incident_id: str) -> Incident:
    """The incident by ID or number, 404 when unknown or outside the token user's team scope."""
    incident = ctx.world.find_incident(incident_id)
    if incident is not None:
        visible = ctx.world.visible_service_ids(ctx.token_user)
        if visible is None or incident.service_id in visible:
            return incident
    raise not_found(f"Incident {incident_id}")


def page(req: SandboxRequest, items: Iterable[T], render: Callable[[T], Any], key: str) -> dict[str, Any]:
    """:func:`paginate`, but stops pulling ``items`` (already in final order) once the page and one
    more item are known -- enough for ``more`` -- unless ``total=true`` asks for the full count."""
    if isinstance(items, Sequence):
        return paginate(req, items, render, key)
    end = None if req.flag("total") else page_end(req)
    materialized = list(items) if end is None else list(itertools.islice(items, end + 1))
    return paginate(req, materialized, render, key)


def page_end(req: SandboxRequest) -> int | None:
    """``offset + limit`` as :func:`paginate` will read them; None when they are malformed (then the
    whole list is handed to paginate, which rejects them with PagerDuty's error)."""
    try:
        limit = int(req.one("limit") or DEFAULT_LIMIT)
        offset = int(req.one("offset") or 0)
    except ValueError:
        return None
    if offset < 0 or limit < 1:
        return None
    return offset + min(limit, MAX_LIMIT)


def _add_months(value: datetime, months: int) -> datetime:
    """Calendar month arithmetic (the day is clamped: Mar 31 - 1 month = Feb 28/29)."""
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    days = [31, 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28, 31, 30, 31, 30,
            31, 31, 30, 31, 30, 31][month - 1]
    return value.replace(year=year, month=month, day=min(value.day, days))


def _bound(req: SandboxRequest, name: str, zone: ZoneInfo) -> datetime | None:
    """``since``/``until``; a value without an offset is read in ``zone`` (``time_zone``, else the
    account's zone, UTC here), as PagerDuty does on ``/incidents``."""
    raw = req.one(name)
    if raw is None:
        return None
    if not raw.strip():
        raise empty_time(name)
    value = parse_time(raw, name)
    text = raw.strip()
    clock = text.split("T", 1)[1] if "T" in text else ""
    if not _OFFSET_SUFFIX.search(clock):
        value = check_time(value.replace(tzinfo=zone), name)
    return value


def window(req: SandboxRequest, now: datetime, zone: ZoneInfo, *, default_months: int | None,
           max_months: int | None) -> tuple[datetime | None, datetime | None]:
    """The ``[since, until)`` search window; ``(None, None)`` means unbounded."""
    since, until = _bound(req, "since", zone), _bound(req, "until", zone)
    if default_months is not None:
        until = until or now
        since = since or _add_months(until, -default_months)
    if since is not None and until is not None:
        if since > until:
            raise ApiError(400, 2005, "Invalid Query Date Range", ["since must be before until"])
        if max_months is not None and until > _add_months(since, max_months):
            # Field report (grafana-pagerduty#19): ranges over 6 months answer 400 code 2001.
            raise invalid(f"The date range between since and until is over the maximum of {max_months} "
                          "months. Narrow it, or use date_range=all.")
    return since, until


def set_filter(req: SandboxRequest, name: str,
               allowed: Sequence[str] | None = None) -> frozenset[str] | None:
    """A ``name[]`` set filter (None when absent), 400 on any value outside ``allowed``."""
    values = req.many(name)
    if not values:
        return None
    if allowed is not None:
        bad = [v for v in values if v not in allowed]
        if bad:
            raise invalid(f"{name}[] has invalid values: {', '.join(bad)} (allowed: {', '.join(allowed)})")
    return frozenset(values)


def incident_service_scope(ctx: Context, req: SandboxRequest, *,
                           service_filter: bool = True) -> frozenset[str] | None:
    """Service IDs an incident may have, from team scope, ``service_ids[]`` (unless ``service_filter``
    is off: ``/log_entries`` has no such parameter) and ``team_ids[]``; None means every service."""
    world = ctx.world
    scope: set[str] | None = None
    visible = world.visible_service_ids(ctx.token_user)
    if visible is not None:
        scope = set(visible)
    service_ids = req.many("service_ids") if service_filter else []
    if service_ids:
        scope = set(service_ids) if scope is None else scope & set(service_ids)
    team_ids = set(req.many("team_ids"))
    if team_ids:
        of_teams = {s.id for s in world.services.values() if team_ids.intersection(s.team_ids)}
        scope = of_teams if scope is None else scope & of_teams
    return None if scope is None else frozenset(scope)
