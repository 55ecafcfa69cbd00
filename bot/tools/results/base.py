"""The base of every result model, its two time types and the window echo every windowed result has.

What the model reads is :meth:`Result.wire`: required fields always, optional ones only when they
differ from their default (so an empty note or a zero "more" costs nothing), under their JSON names
(``from``, ``until``, ``to``…). Times are aware datetimes; ``LocalTime`` is sent as
``2026-03-10T09:00-04:00`` and ``ShownTime`` as ``Sat 2026-03-14 00:00`` (the zone is said once, in
the window echo's ``time_zone``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Self
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainSerializer

from bot.analysis.windows import Window, local_iso, shown_time


def _aware_minute(value: datetime) -> datetime:
    """Aware, to the minute: what the model reads is what every presenter (and a Slack date token) shows."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("times in results must be timezone-aware")
    return value.replace(second=0, microsecond=0)


def _iso_minutes(value: datetime) -> str:
    return local_iso(value, value.tzinfo)  # type: ignore[arg-type]


def _shown(value: datetime) -> str:
    return shown_time(value, value.tzinfo)  # type: ignore[arg-type]


LocalTime = Annotated[datetime, AfterValidator(_aware_minute), PlainSerializer(_iso_minutes, return_type=str)]
"""An instant in the asker's zone, sent with minutes and its offset."""
ShownTime = Annotated[datetime, AfterValidator(_aware_minute), PlainSerializer(_shown, return_type=str)]
"""An instant in the asker's zone, sent as the weekday and wall-clock time."""


def in_zone(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    """``value`` in the asker's zone (None stays None): what every result time holds."""
    return None if value is None else value.astimezone(tz)


class Result(BaseModel):
    """Base of every result model: frozen, strict about its fields, sent as compact JSON."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    def wire(self) -> dict[str, Any]:
        """The JSON object the model reads (the LLM edge): defaults left out, JSON names."""
        return self.model_dump(mode="json", by_alias=True, exclude_defaults=True)

    def wire_size(self) -> int:
        """Characters of :meth:`wire` as compact JSON, the way results are sent."""
        return len(json.dumps(self.wire(), separators=(",", ":"), ensure_ascii=False))

    def shown_zone(self) -> str | None:
        """The time zone the result's times are in, when it has times (said once in text replies)."""
        return None

    def but(self, **changes: Any) -> Self:
        """A copy with ``changes`` (fields by their Python names), validated like a new result."""
        return type(self).model_validate(dict(self) | changes)


class WindowEcho(Result):
    """Which window a result answers: the words asked and what they resolved to, in the asker's zone."""

    label: str
    at: ShownTime | None = None
    start: ShownTime | None = None
    end: ShownTime | None = None
    time_zone: str
    note: str | None = None

    @classmethod
    def of(cls, window: Window, tz: ZoneInfo, *, note: str | None = None) -> WindowEcho:
        if window.is_instant:
            return cls(label=window.label, at=window.start.astimezone(tz), time_zone=tz.key, note=note)
        return cls(label=window.label, start=window.start.astimezone(tz), end=window.end.astimezone(tz),
                   time_zone=tz.key, note=note)

    @property
    def is_instant(self) -> bool:
        return self.at is not None

    def shown_zone(self) -> str | None:
        return self.time_zone
