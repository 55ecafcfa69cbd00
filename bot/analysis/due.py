"""When the scheduled posts (:mod:`bot.notify.scheduled`) are due: their settings read, and pure time maths
over aware datetimes.

* ``ALEX_SCHEDULED_POSTS``: which posts (:data:`KINDS`), comma-separated; empty: none (the default);
* ``ALEX_SCHEDULED_AT``: the weekday and local time of the weekly posts (``mon 09:00``);
* ``ALEX_SCHEDULED_TIMEZONE``: the zone of channels that chose none (``@alex post times in Europe/Berlin``).

A weekly post is due at that weekday and time *in the channel's zone*, and still goes out up to
:data:`LATE_S` later (alex was restarting, Slack was down); after that it waits for the next week. A local
time a DST change skips (``sun 02:30`` in Europe/Berlin on the last Sunday of March) is posted at 03:30
summer time; one that happens twice (autumn), the first time. Either way once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Kind = Literal["weekly-oncall", "gap-warnings", "shift-reminders"]
KINDS: tuple[Kind, ...] = get_args(Kind)
LATE_S = 2 * 3600.0
"""How late a weekly post may still go out."""
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_AT = re.compile(r"(?P<day>[a-z]{3})[a-z]*\s+(?P<h>\d{1,2}):(?P<m>\d{2})")
MAX_ZONE_CHARS = 64


def parse_kinds(text: str) -> frozenset[Kind]:
    """``weekly-oncall,gap-warnings``; raises ValueError naming an unknown word."""
    found: set[Kind] = set()
    for word in (w.strip().lower() for w in text.split(",")):
        if not word:
            continue
        if word not in KINDS:
            raise ValueError(f"unknown scheduled post {word[:40]!r}: use {', '.join(KINDS)} (comma-separated)")
        found.add(word)
    return frozenset(found)


@dataclass(frozen=True, slots=True)
class WeeklyAt:
    """The weekday (0 = Monday) and local time of the weekly posts."""

    weekday: int
    at: time

    def __str__(self) -> str:
        return f"{DAYS[self.weekday]} {self.at:%H:%M}"


def parse_weekly_at(text: str) -> WeeklyAt:
    """``mon 09:00`` (``monday 9:00`` too); raises ValueError saying the form."""
    found = _AT.fullmatch(" ".join(text.strip().lower().split()))
    if found is None or found["day"] not in DAYS or int(found["h"]) > 23 or int(found["m"]) > 59:
        raise ValueError("must be a weekday and a 24-hour time, e.g. mon 09:00")
    return WeeklyAt(DAYS.index(found["day"]), time(int(found["h"]), int(found["m"])))


def parse_zone(text: str) -> ZoneInfo:
    """An IANA zone name (``Europe/Berlin``, ``UTC``); raises ValueError for anything else."""
    name = text.strip()
    if not name or len(name) > MAX_ZONE_CHARS or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+\-/]*", name) \
            or ".." in name or name.startswith("/"):
        raise ValueError("must be an IANA time zone name, e.g. Europe/Berlin or America/New_York")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"{name!r} is not a time zone alex knows: use an IANA name such as "
                         "Europe/Berlin or America/New_York") from None


def weekly_due(now: datetime, when: WeeklyAt, zone: ZoneInfo, *, late_s: float = LATE_S) -> datetime | None:
    """The weekly post's due instant (UTC) when ``now`` is at it or at most ``late_s`` after it, else None."""
    local = now.astimezone(zone)
    day = local.date() - timedelta(days=(local.weekday() - when.weekday) % 7)
    for _ in range(2):  # this week's, or (just after midnight, with a late post) last week's
        due = _instant(datetime.combine(day, when.at), zone)
        if due <= now:
            return due if (now - due).total_seconds() <= late_s else None
        day -= timedelta(days=7)
    return None


def _instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time in ``zone``. A time a DST jump skips is read with the offset
    before the jump (``02:30`` becomes ``03:30`` summer time); a time that happens twice, the first time."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def describe(kinds: frozenset[Kind], when: WeeklyAt, reminder_minutes: int) -> str:
    """The posts in words: ``weekly-oncall and gap-warnings every mon 09:00; shift-reminders 60 min before
    each shift``; empty when none."""
    weekly = [kind for kind in KINDS if kind in kinds and kind != "shift-reminders"]
    parts = [f"{' and '.join(weekly)} every {when}"] if weekly else []
    if "shift-reminders" in kinds:
        parts.append(f"shift-reminders {reminder_minutes} min before each shift")
    return "; ".join(parts)


def period(due: datetime, zone: ZoneInfo) -> str:
    """What marks one weekly post as done: the local date it was due (``2026-03-09``)."""
    return due.astimezone(zone).date().isoformat()
