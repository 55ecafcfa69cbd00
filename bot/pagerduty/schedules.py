"""Fetch a schedule of either kind: shift-based "v3" or layer-based "v2"."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from .errors import InvalidInputError, MalformedResponseError, NotFoundError
from .pagination import Getter
from .params import format_datetime

__all__ = ["ScheduleResult", "get_schedule"]

logger = logging.getLogger("bot.pagerduty")


@dataclass(frozen=True)
class ScheduleResult:
    """A schedule as PagerDuty returned it.

    ``kind == "v3"``: ``schedule["final_schedule"]["computed_shift_assignments"]`` (gaps are
    explicit ``empty_member`` entries). ``kind == "v2"``:
    ``schedule["final_schedule"]["rendered_schedule_entries"]`` (gaps are missing entries).
    """

    kind: Literal["v2", "v3"]
    schedule: dict[str, Any]

    @property
    def id(self) -> str | None:
        """The schedule id (same for both kinds)."""
        value = self.schedule.get("id")
        return value if isinstance(value, str) else None


def _schedule_of(body: dict[str, Any], path: str) -> dict[str, Any]:
    schedule = body.get("schedule")
    if not isinstance(schedule, dict):
        raise MalformedResponseError("response has no 'schedule' object", status=200, method="GET", path=path)
    return schedule


async def get_schedule(
    get: Getter,
    schedule_id: str,
    since: datetime,
    until: datetime,
    time_zone: str | None = None,
    *,
    deadline: float | None = None,
) -> ScheduleResult:
    """``GET /v3/schedules/{id}?include[]=final_schedule``; on 404/400 fall back to ``GET /schedules/{id}``.

    ``since``/``until`` must be timezone-aware (naive → ValueError) and ``since < until``.
    """
    if not schedule_id:
        raise ValueError("schedule_id is required")
    window: dict[str, Any] = {"since": format_datetime(since), "until": format_datetime(until)}
    if since >= until:
        raise ValueError("since must be before until")
    if time_zone:
        window["time_zone"] = time_zone
    segment = quote(schedule_id, safe="")
    v3_path = f"/v3/schedules/{segment}"
    try:
        body = await get(v3_path, {**window, "include[]": ["final_schedule"]}, deadline=deadline)
        return ScheduleResult("v3", _schedule_of(body, v3_path))
    except (NotFoundError, InvalidInputError) as exc:
        logger.debug("PagerDuty schedule %s: v3 answered %s, falling back to v2", segment, exc.status)
    v2_path = f"/schedules/{segment}"
    body = await get(v2_path, window, deadline=deadline)
    return ScheduleResult("v2", _schedule_of(body, v2_path))
