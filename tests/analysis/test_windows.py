"""Named windows are computed on the asker's calendar, DST-correct; ISO input is honoured."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.analysis.windows import WindowError, local_iso, parse_instant, resolve_window

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
# Saturday 2026-03-07 20:00 in New York (01:00Z Sunday); the clocks spring forward on Sunday 03-08.
SAT_EVENING = datetime(2026, 3, 8, 1, 0, tzinfo=UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_now_is_an_instant() -> None:
    window = resolve_window(None, SAT_EVENING, NY)
    assert window.is_instant and window.start == SAT_EVENING


def test_today_and_tomorrow_follow_local_midnight_across_spring_forward() -> None:
    today = resolve_window("today", SAT_EVENING, NY)
    assert (today.start, today.end) == (utc("2026-03-07T05:00Z"), utc("2026-03-08T05:00Z"))
    tomorrow = resolve_window("Tomorrow", SAT_EVENING, NY)
    # Sunday 03-08 lasts 23 hours in New York: EST midnight (05:00Z) to EDT midnight (04:00Z).
    assert (tomorrow.start, tomorrow.end) == (utc("2026-03-08T05:00Z"), utc("2026-03-09T04:00Z"))


def test_weeks_start_monday_local() -> None:
    now = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)  # Tuesday
    this_week = resolve_window("this week", now, LONDON)
    next_week = resolve_window("next  week", now, LONDON)
    assert (this_week.start, this_week.end) == (utc("2026-03-09T00:00Z"), utc("2026-03-16T00:00Z"))
    assert (next_week.start, next_week.end) == (utc("2026-03-16T00:00Z"), utc("2026-03-23T00:00Z"))
    # The week of 2026-03-30 starts after London moved to BST: local midnight is 23:00Z the day before.
    later = resolve_window("next week", datetime(2026, 3, 25, 12, tzinfo=UTC), LONDON)
    assert later.start == utc("2026-03-29T23:00Z") and later.end == utc("2026-04-05T23:00Z")


def test_relative_windows() -> None:
    now = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
    assert resolve_window("next 3 days", now, NY).end == utc("2026-03-13T14:00Z")
    assert resolve_window("last 48 hours", now, NY).start == utc("2026-03-08T14:00Z")
    assert resolve_window("past 2 weeks", now, NY).start == utc("2026-02-24T14:00Z")


def test_iso_instants_and_ranges() -> None:
    now = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
    window = resolve_window("2026-03-11T09:00/2026-03-11T17:00", now, NY)
    assert (window.start, window.end) == (utc("2026-03-11T13:00Z"), utc("2026-03-11T21:00Z"))
    assert resolve_window("2026-03-11T09:00:00Z to 2026-03-12", now, NY).end == utc("2026-03-12T04:00Z")
    assert parse_instant("2026-03-11T09:00+01:00", NY) == utc("2026-03-11T08:00Z")


@pytest.mark.parametrize("text", ["whenever", "2026-03-12/2026-03-11", "next fortnight"])
def test_unreadable_windows_say_what_is_accepted(text: str) -> None:
    with pytest.raises(WindowError, match="next week|ends before"):
        resolve_window(text, datetime(2026, 3, 10, tzinfo=UTC), NY)


def test_local_iso_shows_the_offset_of_that_moment() -> None:
    assert local_iso(utc("2026-03-07T14:00Z"), NY) == "2026-03-07T09:00-05:00"
    assert local_iso(utc("2026-03-09T13:00Z"), NY) == "2026-03-09T09:00-04:00"
    assert local_iso(utc("2026-03-09T13:00Z"), ZoneInfo("UTC")) == "2026-03-09T13:00Z"
