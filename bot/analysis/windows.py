"""Time windows from what people say, in their zone: one grammar for every tool (:data:`WINDOW_GRAMMAR`).

Calendar words are computed on the asker's local calendar and converted to UTC, so "today" is a
23-hour day on a spring-forward Sunday and weeks start on Monday at local midnight. A weekday alone is
the coming one (today on that day), "next Friday" the first after today, "last Friday" the latest before
today. A day used as a start is its local midnight; as an end ("until Friday", "Mon to Fri") it is
included whole. A time alone ("3am") is the next time the clock shows it. The ISO-8601 timestamp parser
(:func:`parse_instant`, PagerDuty's fields too) and the two ways results write times, :func:`local_iso`
and :func:`shown_time` (the window echo's, :class:`bot.tools.results.WindowEcho`), live here as well.

Every window is bounded: at most :data:`MAX_SPAN` long (or the caller's shorter ``longest``) and within
:data:`MAX_REACH` of now, so "next 10000 weeks" or year 9999 is a :class:`WindowOutOfRange` naming the
limit, never an overflow or a request for centuries of shifts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

MAX_SPAN = timedelta(days=366)
"""The longest window alex reads: a year."""
MAX_REACH = timedelta(days=3653)
"""How far from now (either way) a window may start or end: ten years."""
MAX_TEXT_CHARS = 100
"""Longer texts are not windows (and are never echoed whole)."""
WINDOW_GRAMMAR = ("now, today, tonight, tomorrow, yesterday, this/next/last week, this/next/last weekend, "
                  "a weekday (Saturday, next/last Friday), next/last N hours|days|weeks, an instant "
                  "(tomorrow 3am, Friday 17:00, ISO), until/since an instant, 'A to B', ISO 'A/B'.")
"""The window grammar, word for word the description of every tool's ``window`` argument."""
ACCEPTED = WINDOW_GRAMMAR.removesuffix(".")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DAY_ABBREVIATIONS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


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
_FILLER = re.compile(r"^(?:for|on|in|during|over|at|the)\s+")
_WEEKDAY = re.compile(rf"^(?:(this|next|last|coming)\s+)?({'|'.join(WEEKDAYS)})$")
_CLOCK = re.compile(r"^(?:(noon|midday|midnight)|(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\.?|(\d{1,2}):(\d{2}))$")
_UNTIL = re.compile(r"^(?:until|till|til|up to)\s+(.+)$")
_SINCE = re.compile(r"^since\s+(.+)$")
_RANGE = re.compile(r"^(?:from\s+|between\s+)?(.+?)(?:\s*/\s*|\s*\.\.\s*|\s+to\s+|\s+until\s+|\s+and\s+|\s+-\s+)(.+)$")


def resolve_window(text: str | None, now: datetime, tz: ZoneInfo, *, default: str = "now",
                   longest: timedelta = MAX_SPAN) -> Window:
    """The window ``text`` names (:data:`WINDOW_GRAMMAR`), relative to ``now`` in ``tz``; ``None`` or
    blank means ``default``.

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


def _phrase(text: str) -> str:
    """Lower case, single spaces, without a trailing "?"/"." or leading fillers ("for the", "on")."""
    phrase = " ".join(text.strip().lower().split()).rstrip("?.!").strip()
    while (shorter := _FILLER.sub("", phrase, count=1)) != phrase:
        phrase = shorter
    return phrase


def _resolve(text: str | None, now: datetime, tz: ZoneInfo, default: str, longest: timedelta) -> Window:
    phrase = _phrase(text or default) or _phrase(default)
    label = " ".join((text or default).split()) or default
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())
    named: dict[str, Callable[[], Window]] = {
        "now": lambda: Window(now, now, "now"),
        "right now": lambda: Window(now, now, "now"),
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
        "weekend": lambda: _days(monday + timedelta(days=5), 2, tz, "this weekend"),
        "next weekend": lambda: _days(monday + timedelta(days=12), 2, tz, "next weekend"),
        "last weekend": lambda: _days(monday - timedelta(days=2), 2, tz, "last weekend"),
    }
    if phrase in named:
        return named[phrase]()
    day = _weekday(phrase, today)
    if day is not None:
        return _days(day, 1, tz, label)
    relative = _RELATIVE.match(phrase)
    if relative:
        return _relative(relative, phrase, now, longest)
    return _spans(text or default, phrase, label, now, tz)


def _relative(match: re.Match[str], phrase: str, now: datetime, longest: timedelta) -> Window:
    direction, digits, unit = match.group(1), match.group(2), match.group(3)[0]
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


def _spans(text: str, phrase: str, label: str, now: datetime, tz: ZoneInfo) -> Window:
    """"until X", "since X", "A to B" (and ISO "A/B"), or one instant."""
    try:
        until = _UNTIL.match(phrase)
        if until:
            end = _point(until.group(1), now, tz, end=True)
            if end is not None:
                if end <= now:
                    raise WindowError(f"{_shown(label)} is already past; use a time after now.")
                return Window(now, end, label)
        since = _SINCE.match(phrase)
        if since:
            start = _point(since.group(1), now, tz, end=False, past=True)
            if start is not None:
                if start > now:
                    raise WindowError(f"{_shown(label)} is in the future; 'since' needs a time before now.")
                return Window(start, now, label)
        moment = _point(phrase, now, tz, end=False, days=False)
        if moment is not None:
            return Window(moment, moment, label)
        span = _RANGE.match(phrase)
        if span:
            start = _point(span.group(1), now, tz, end=False)
            # A day named as the end counts from the start: "Friday to Monday" is the Monday after.
            end = None if start is None else _point(span.group(2), now, tz, end=True, after=start)
            if start is not None and end is not None:
                if end < start:
                    raise WindowError(f"the window ends before it starts: {_shown(text)}")
                return Window(start, end, label)
    except InstantOutOfRange as exc:
        raise _too_far(text.strip()) from exc
    raise WindowError(f"I can't read {_shown(text)} as a time window. Use {ACCEPTED}.")


def _weekday(phrase: str, today: date, *, past: bool = False) -> date | None:
    """"saturday" (the coming one, today included; with ``past`` the latest, today included), "next
    saturday" (after today), "last saturday" (before today)."""
    match = _WEEKDAY.match(phrase)
    if not match:
        return None
    ahead = (WEEKDAYS.index(match.group(2)) - today.weekday()) % 7
    if past and match.group(1) is None:
        return today - timedelta(days=(-ahead) % 7)
    if match.group(1) == "next" and ahead == 0:
        ahead = 7
    if match.group(1) == "last":
        return today - timedelta(days=(-ahead) % 7 or 7)
    return today + timedelta(days=ahead)


def _day(phrase: str, today: date, *, past: bool = False, after: date | None = None) -> date | None:
    """A day word: today, tomorrow, yesterday, a weekday (counted from ``after`` when given), or an
    ISO date."""
    offsets = {"today": 0, "tomorrow": 1, "yesterday": -1}
    if phrase in offsets:
        return today + timedelta(days=offsets[phrase])
    found = _weekday(phrase, after or today, past=past)
    if found is not None:
        return found
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", phrase):
        try:
            return date.fromisoformat(phrase)
        except ValueError:
            return None
    return None


def _clock(phrase: str) -> time | None:
    """"3am", "3:30 pm", "17:00", "noon", "midnight"; a bare number is not a time."""
    match = _CLOCK.match(phrase.removeprefix("at ").strip())
    if not match:
        return None
    word, hour12, minute12, half, hour24, minute24 = match.groups()
    if word:
        return time(0) if word == "midnight" else time(12)
    if half:
        hour, minute = int(hour12), int(minute12 or 0)
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "p" else 0)
    else:
        hour, minute = int(hour24), int(minute24)
    return time(hour, minute) if hour < 24 and minute < 60 else None


def _point(phrase: str, now: datetime, tz: ZoneInfo, *, end: bool, days: bool = True, past: bool = False,
           after: datetime | None = None) -> datetime | None:
    """One moment: now, an ISO time, a day with a time ("tomorrow 3am", "3am Friday"), a time alone (the
    next one), or (with ``days``) a day alone: its midnight, or the midnight after it as an ``end``.
    A weekday is the coming one, the latest with ``past``, the first on or after ``after``'s day."""
    phrase = _phrase(phrase)
    anchor = after.astimezone(tz).date() if after is not None else None
    if phrase == "now":
        return now
    if re.match(r"^\d{4}-\d{2}-\d{2}(?:[t ]\d|$)", phrase):
        try:
            return parse_instant(phrase.upper(), tz)
        except InstantOutOfRange:
            raise
        except ValueError:
            pass
    today = now.astimezone(tz).date()
    alone = _clock(phrase)
    if alone is not None:
        moment = _at(today, alone, tz)
        return moment if moment >= now else _at(today + timedelta(days=1), alone, tz)
    words = phrase.split()
    for cut in range(1, len(words)):
        left, right = " ".join(words[:cut]), " ".join(words[cut:])
        for day_text, clock_text in ((left, right), (_connector(right), left)):
            clock = _clock(clock_text)
            if clock is None:
                continue
            if day_text == "tonight":
                return _at(today + timedelta(days=1 if clock < time(12) else 0), clock, tz)
            day = _day(day_text, today, past=past, after=anchor)
            if day is not None:
                return _at(day, clock, tz)
    if days:
        day = _day(phrase, today, past=past, after=anchor)
        if day is not None:
            return local_midnight(day + timedelta(days=1) if end else day, tz)
    return None


def _connector(text: str) -> str:
    return text.removeprefix("on ").removeprefix("at ")


def _at(day: date, clock: time, tz: ZoneInfo) -> datetime:
    try:
        return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)
    except OverflowError as exc:
        raise InstantOutOfRange(f"{day} is outside the calendar alex can read") from exc


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


def shown_time(value: datetime, tz: ZoneInfo) -> str:
    """``Sat 2026-03-14 00:00``: the weekday and wall-clock time in ``tz`` (the echo's zone says which)."""
    local = value.astimezone(tz)
    return f"{DAY_ABBREVIATIONS[local.weekday()]} {local:%Y-%m-%d %H:%M}"
