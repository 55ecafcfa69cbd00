"""Named windows are computed on the asker's calendar, DST-correct; ISO input is honoured."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.analysis.windows import WindowError, WindowOutOfRange, local_iso, parse_instant, resolve_window

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


# --------------------------------------------------------------------------- bounds (issue #10 item 13)

NOW = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "limit"), [
    ("next 10000 weeks", "366 days (52 weeks)"),
    ("next 99999 days", "366 days"),
    ("next 99999999 weeks", "366 days (52 weeks)"),  # would overflow the calendar if multiplied out
    ("last 9999999999999999999999 hours", "366 days (8784 hours)"),
    ("2026-01-01/2027-06-01", "366 days"),
])
def test_windows_longer_than_a_year_name_the_limit(text: str, limit: str) -> None:
    with pytest.raises(WindowOutOfRange, match=re.escape(f"longer than the longest window here, {limit}")):
        resolve_window(text, NOW, NY)


@pytest.mark.parametrize("text", ["9999-12-31", "9999-12-31T23:59:59", "0001-01-01", "0001-01-01T00:00+05:00",
                                  "0001-01-01/9999-12-31", "1000-01-01/1000-01-02", "2040-01-01"])
def test_instants_centuries_away_are_out_of_range_not_overflows(text: str) -> None:
    with pytest.raises(WindowOutOfRange, match="more than 10 years from now"):
        resolve_window(text, NOW, NY)


def test_a_caller_can_ask_for_a_shorter_limit_and_it_is_the_one_named() -> None:
    with pytest.raises(WindowOutOfRange, match="longest window here, 35 days"):
        resolve_window("next 60 days", NOW, NY, longest=timedelta(days=35))
    assert resolve_window("next 35 days", NOW, NY, longest=timedelta(days=35)).end == utc("2026-04-14T14:00Z")


def test_the_longest_windows_still_resolve() -> None:
    assert resolve_window("next 52 weeks", NOW, NY).end == utc("2027-03-09T14:00Z")
    assert resolve_window("last 366 days", NOW, NY).start == utc("2025-03-09T14:00Z")
    assert resolve_window("next 0 days", NOW, NY).is_instant


@pytest.mark.parametrize("text", ["next -3 days", "last -1 weeks", "next 1e9 days"])
def test_negative_or_odd_counts_are_unreadable_not_windows(text: str) -> None:
    with pytest.raises(WindowError, match="can't read") as caught:
        resolve_window(text, NOW, NY)
    assert not isinstance(caught.value, WindowOutOfRange)


def test_a_huge_text_is_refused_without_being_echoed() -> None:
    with pytest.raises(WindowError, match="at most 100 characters") as caught:
        resolve_window("next week " * 10_000, NOW, NY)
    assert len(str(caught.value)) < 400


def test_parse_instant_refuses_times_outside_the_calendar_with_a_value_error() -> None:
    with pytest.raises(ValueError, match="outside the calendar"):
        parse_instant("9999-12-31T23:00", NY)
    with pytest.raises(ValueError, match="outside the calendar"):
        parse_instant("0001-01-01T00:00+05:00")
