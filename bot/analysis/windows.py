"""Time windows from what people say ("next week", "tomorrow", "next 3 days", ISO-8601), in their zone.

Calendar words are computed on the asker's local calendar and converted to UTC, so "today" is a
23-hour day on a spring-forward Sunday and weeks start on Monday at local midnight. The ISO-8601
timestamp parser (:func:`parse_instant`, PagerDuty's fields too) and :func:`local_iso` (every time shown)
live here as well.

Every window is bounded: at most :data:`MAX_SPAN` long (or the caller's shorter ``longest``) and within
:data:`MAX_REACH` of now, so "next 10000 weeks" or year 9999 is a :class:`WindowOutOfRange` naming the
limit, never an overflow or a request for centuries of shifts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

MAX_SPAN = timedelta(days=366)
"""The longest window alex reads: a year."""
MAX_REACH = timedelta(days=3653)
"""How far from now (either way) a window may start or end: ten years."""
MAX_TEXT_CHARS = 100
"""Longer texts are not windows (and are never echoed whole)."""
ACCEPTED = ("now, today, tonight, tomorrow, yesterday, this week, next week, last week, this weekend, "
            "next weekend, next/last N hours|days|weeks, an ISO-8601 time, or 'START/END' in ISO-8601")


class WindowError(ValueError):
    """The text is not a window we understand; the message lists what is accepted."""


class WindowOutOfRange(WindowError):
    """The text is a window, but longer than allowed or too far from now; the message names the limit."""


class InstantOutOfRange(ValueError):
    """An ISO-8601 time that cannot be expressed in UTC (year 1 or 9999 at the edge of the calendar)."""


@dataclass(frozen=True, slots=True)
class Window:
    """``[start, end)`` in UTC; ``start == end`` means one instant."""

    start: datetime
    end: datetime
    label: str

    @property
    def is_instant(self) -> bool:
        return self.start == self.end


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _days(first: date, count: int, tz: ZoneInfo, label: str) -> Window:
    return Window(local_midnight(first, tz), local_midnight(first + timedelta(days=count), tz), label)


_RELATIVE = re.compile(r"^(next|last|past|coming)\s+(\d+)\s*(h|hours?|d|days?|w|weeks?)$")
_UNIT_NAME = {"h": "hours", "d": "days", "w": "weeks"}
_UNIT = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def resolve_window(text: str | None, now: datetime, tz: ZoneInfo, *, default: str = "now",
                   longest: timedelta = MAX_SPAN) -> Window:
    """The window ``text`` names, relative to ``now`` in ``tz``; ``None`` or blank means ``default``.

    Longer than ``longest`` (at most :data:`MAX_SPAN`) or reaching past :data:`MAX_REACH` from now is
    a :class:`WindowOutOfRange`; unreadable text a :class:`WindowError`."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    longest = min(longest, MAX_SPAN)
    if text is not None and len(text) > MAX_TEXT_CHARS:
        raise WindowError(f"A window is a short phrase (at most {MAX_TEXT_CHARS} characters), not "
                          f"{_shown(text)}. Use {ACCEPTED}.")
    window = _resolve(text, now, tz, default, longest)
    _check_bounds(window, now, longest)
    return window


def _resolve(text: str | None, now: datetime, tz: ZoneInfo, default: str, longest: timedelta) -> Window:
    phrase = " ".join((text or default).strip().lower().split()) or default
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    named = {
        "now": lambda: Window(now, now, "now"),
        "today": lambda: _days(today, 1, tz, "today"),
        "tonight": lambda: Window(datetime.combine(today, time(18), tzinfo=tz).astimezone(UTC),
                                  datetime.combine(today + timedelta(days=1), time(9), tzinfo=tz).astimezone(UTC),
                                  "tonight"),
        "tomorrow": lambda: _days(today + timedelta(days=1), 1, tz, "tomorrow"),
        "yesterday": lambda: _days(today - timedelta(days=1), 1, tz, "yesterday"),
        "this week": lambda: _days(monday, 7, tz, "this week"),
        "next week": lambda: _days(monday + timedelta(days=7), 7, tz, "next week"),
        "last week": lambda: _days(monday - timedelta(days=7), 7, tz, "last week"),
        "this weekend": lambda: _days(monday + timedelta(days=5), 2, tz, "this weekend"),
        "next weekend": lambda: _days(monday + timedelta(days=12), 2, tz, "next weekend"),
    }
    if phrase in named:
        return named[phrase]()
    relative = _RELATIVE.match(phrase)
    if relative:
        direction, digits, unit = relative.group(1), relative.group(2), relative.group(3)[0]
        # Checked before multiplying: "next 99999999 weeks" would overflow the calendar.
        most = longest // _UNIT[unit]
        if len(digits) > 9 or int(digits) > most:
            in_units = "" if _length(longest) == f"{most} {_UNIT_NAME[unit]}" else f" ({most} {_UNIT_NAME[unit]})"
            raise WindowOutOfRange(f"{_shown(phrase)} is longer than the longest window here, "
                                   f"{_length(longest)}{in_units}. Ask for a shorter window.")
        span = _UNIT[unit] * int(digits)
        if direction in ("next", "coming"):
            return Window(now, now + span, phrase)
        return Window(now - span, now, phrase)
    return _iso_window(text or "", tz)


def _iso_window(text: str, tz: ZoneInfo) -> Window:
    parts = re.split(r"\s*/\s*|\s+to\s+|\s*\.\.\s*", text.strip())
    try:
        if len(parts) == 1:
            instant = parse_instant(parts[0], tz)
            return Window(instant, instant, text.strip())
        if len(parts) == 2:
            start, end = parse_instant(parts[0], tz), parse_instant(parts[1], tz)
            if end < start:
                raise WindowError(f"the window ends before it starts: {_shown(text)}")
            return Window(start, end, text.strip())
    except InstantOutOfRange as exc:
        raise _too_far(text.strip()) from exc
    except ValueError as exc:
        if isinstance(exc, WindowError):
            raise
    raise WindowError(f"I can't read {_shown(text)} as a time window. Use {ACCEPTED}.")


def _check_bounds(window: Window, now: datetime, longest: timedelta) -> None:
    for instant in (window.start, window.end):
        if abs(instant - now) > MAX_REACH:
            raise _too_far(window.label)
    if window.end - window.start > longest:
        raise WindowOutOfRange(f"{_shown(window.label)} is longer than the longest window here, "
                               f"{_length(longest)}. Ask for a shorter window.")


def _too_far(text: str) -> WindowOutOfRange:
    years = MAX_REACH.days // 365
    return WindowOutOfRange(f"{_shown(text)} is more than {years} years from now: windows stay within "
                            f"{years} years of today.")


def _length(span: timedelta) -> str:
    return f"{span.days} days" if span >= timedelta(days=1) else f"{span // timedelta(hours=1)} hours"


def _shown(text: str) -> str:
    """``text`` quoted for a message, cut so an error never echoes a long input."""
    return repr(text if len(text) <= 60 else text[:59] + "…")


def parse_instant(text: str, tz: tzinfo = UTC) -> datetime:
    """An ISO-8601 time (``Z`` or an offset, as PagerDuty sends them) in UTC; without an offset it is
    read in ``tz`` (a date alone is local midnight). Raises ValueError when unreadable, and
    :class:`InstantOutOfRange` (a ValueError) when it cannot be expressed in UTC."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:
        raise InstantOutOfRange(f"{text.strip()[:40]!r} is outside the calendar alex can read") from exc


def instant_or_none(value: object) -> datetime | None:
    """A PagerDuty timestamp field in UTC, or None when it is missing, blank or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        return parse_instant(value)
    except ValueError:
        return None


def local_iso(value: datetime, tz: ZoneInfo) -> str:
    """Minutes precision in the asker's zone, with its offset: ``2026-03-10T09:00-04:00``."""
    local = value.astimezone(tz)
    offset = local.strftime("%z")
    return local.strftime("%Y-%m-%dT%H:%M") + (f"{offset[:3]}:{offset[3:]}" if offset != "+0000" else "Z")


def local_iso_or_none(value: datetime | None, tz: ZoneInfo) -> str | None:
    return None if value is None else local_iso(value, tz)
