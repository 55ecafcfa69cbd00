"""Named windows are computed on the asker's calendar, DST-correct; ISO input is honoured; the whole
grammar the tools document (:data:`WINDOW_GRAMMAR`) resolves, and results echo windows in one shape."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.analysis.windows import (
    WINDOW_GRAMMAR,
    Window,
    WindowError,
    WindowOutOfRange,
    local_iso,
    parse_instant,
    resolve_window,
)
from bot.tools.results import WindowEcho

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
    with pytest.raises(WindowError, match="this/next/last week|ends before"):
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


# --------------------------------------------------------------------------- the documented grammar (issue #11)

# Tuesday 2026-03-10 10:00 in New York (EDT since Sunday), 14:00 in London (still GMT).
TUE = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)


def shown(text: str, tz: ZoneInfo = NY) -> dict[str, str]:
    return WindowEcho.of(resolve_window(text, TUE, tz), tz).wire()


def ny(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NY).astimezone(UTC)


@pytest.mark.parametrize(("text", "start", "end"), [
    ("this weekend", "Sat 2026-03-14 00:00", "Mon 2026-03-16 00:00"),
    ("over the weekend", "Sat 2026-03-14 00:00", "Mon 2026-03-16 00:00"),
    ("next weekend", "Sat 2026-03-21 00:00", "Mon 2026-03-23 00:00"),
    ("last weekend", "Sat 2026-03-07 00:00", "Mon 2026-03-09 00:00"),  # 47 hours: DST began on the Sunday
    ("Saturday", "Sat 2026-03-14 00:00", "Sun 2026-03-15 00:00"),
    ("on Saturday", "Sat 2026-03-14 00:00", "Sun 2026-03-15 00:00"),
    ("tuesday", "Tue 2026-03-10 00:00", "Wed 2026-03-11 00:00"),  # today is that day
    ("next Tuesday", "Tue 2026-03-17 00:00", "Wed 2026-03-18 00:00"),  # the first after today
    ("last Friday", "Fri 2026-03-06 00:00", "Sat 2026-03-07 00:00"),
    ("until Friday 17:00", "Tue 2026-03-10 10:00", "Fri 2026-03-13 17:00"),
    ("until Friday", "Tue 2026-03-10 10:00", "Sat 2026-03-14 00:00"),  # a day as an end is included whole
    ("since yesterday", "Mon 2026-03-09 00:00", "Tue 2026-03-10 10:00"),
    ("since Monday 9am", "Mon 2026-03-09 09:00", "Tue 2026-03-10 10:00"),  # after "since", the latest Monday
    ("since Tuesday", "Tue 2026-03-10 00:00", "Tue 2026-03-10 10:00"),
    ("Monday to Friday", "Mon 2026-03-16 00:00", "Sat 2026-03-21 00:00"),
    ("Friday to Monday", "Fri 2026-03-13 00:00", "Tue 2026-03-17 00:00"),  # the end counts from the start
    ("Friday 17:00 to Monday 9am", "Fri 2026-03-13 17:00", "Mon 2026-03-16 09:00"),
    ("from friday to sunday", "Fri 2026-03-13 00:00", "Mon 2026-03-16 00:00"),
    ("between today and Thursday", "Tue 2026-03-10 00:00", "Fri 2026-03-13 00:00"),
    ("2026-03-11T09:00/2026-03-11T17:00", "Wed 2026-03-11 09:00", "Wed 2026-03-11 17:00"),
    ("in the next 3 days", "Tue 2026-03-10 10:00", "Fri 2026-03-13 10:00"),
])
def test_spans_of_the_grammar(text: str, start: str, end: str) -> None:
    echo = shown(text)
    assert (echo["start"], echo["end"], echo["time_zone"]) == (start, end, "America/New_York")


@pytest.mark.parametrize(("text", "at"), [
    ("tomorrow 3am", "Wed 2026-03-11 03:00"),
    ("tomorrow at 3 am", "Wed 2026-03-11 03:00"),
    ("3am tomorrow", "Wed 2026-03-11 03:00"),
    ("3am", "Wed 2026-03-11 03:00"),  # a time alone is the next one: 03:00 today has passed
    ("3:30pm", "Tue 2026-03-10 15:30"),
    ("noon", "Tue 2026-03-10 12:00"),
    ("midnight", "Wed 2026-03-11 00:00"),
    ("Friday 17:00", "Fri 2026-03-13 17:00"),
    ("9am on Friday", "Fri 2026-03-13 09:00"),
    ("next Monday 9am", "Mon 2026-03-16 09:00"),
    ("tonight 11pm", "Tue 2026-03-10 23:00"),
    ("tonight at 2am", "Wed 2026-03-11 02:00"),  # after midnight is still tonight
    ("2026-03-14 9am", "Sat 2026-03-14 09:00"),
    ("2026-03-14T09:00", "Sat 2026-03-14 09:00"),
    ("2026-03-14T13:00Z", "Sat 2026-03-14 09:00"),
    ("now", "Tue 2026-03-10 10:00"),
])
def test_instants_of_the_grammar(text: str, at: str) -> None:
    window = resolve_window(text, TUE, NY)
    assert window.is_instant
    assert WindowEcho.of(window, NY).wire() == {"label": " ".join(text.split()) if text != "now" else "now", "at": at,
                                       "time_zone": "America/New_York"}


def test_instants_are_computed_in_the_askers_zone_across_dst() -> None:
    # Saturday 20:00 in New York; "tomorrow 3am" is Sunday 03:00 EDT (the clocks skip 02:00-03:00).
    assert resolve_window("tomorrow 3am", SAT_EVENING, NY).start == utc("2026-03-08T07:00Z")
    assert resolve_window("tomorrow 3am", SAT_EVENING, LONDON).start == utc("2026-03-09T03:00Z")
    assert resolve_window("Saturday 9am", TUE, LONDON).start == utc("2026-03-14T09:00Z")
    assert resolve_window("Saturday 9am", TUE, NY).start == ny("2026-03-14T09:00")


@pytest.mark.parametrize(("text", "says"), [
    ("until yesterday", "already past"),
    ("since tomorrow", "in the future"),
    ("Friday 17:00 to Friday 9am", "ends before it starts"),
    ("13pm", "can't read"),
    ("24:00", "can't read"),
    ("fortnight", "can't read"),
    ("3", "can't read"),  # a bare number is not a time
])
def test_what_the_grammar_refuses(text: str, says: str) -> None:
    with pytest.raises(WindowError, match=says):
        resolve_window(text, TUE, NY)


def test_the_bounds_hold_for_the_new_phrases() -> None:
    with pytest.raises(WindowOutOfRange, match="more than 10 years"):
        resolve_window("until 2040-01-01", TUE, NY)
    with pytest.raises(WindowOutOfRange, match="longest window here, 35 days"):
        resolve_window("since 2026-01-01", TUE, NY, longest=timedelta(days=35))


def test_every_example_the_grammar_names_resolves() -> None:
    examples = ["now", "today", "tonight", "tomorrow", "yesterday", "this week", "next week", "last week",
                "this weekend", "next weekend", "last weekend", "Saturday", "next Friday", "last Friday",
                "next 3 hours", "last 2 days", "next 1 weeks", "tomorrow 3am", "Friday 17:00",
                "2026-03-11T09:00", "until Friday 17:00", "since Monday", "today to Friday",
                "2026-03-11/2026-03-12"]
    for text in examples:
        resolve_window(text, TUE, NY)
    for word in ("weekend", "Saturday", "Friday", "tomorrow 3am", "Friday 17:00", "until", "since", "A to B"):
        assert word in WINDOW_GRAMMAR


def test_the_echo_is_one_shape_and_holds_aware_times() -> None:
    weekend = WindowEcho.of(resolve_window("this weekend", TUE, LONDON), LONDON)
    assert weekend.wire() == {"label": "this weekend", "start": "Sat 2026-03-14 00:00", "end": "Mon 2026-03-16 00:00",
                              "time_zone": "Europe/London"}
    assert (weekend.start, weekend.end) == (utc("2026-03-14T00:00Z"), utc("2026-03-16T00:00Z"))
    later = WindowEcho.of(Window(utc("2026-03-29T00:00Z"), utc("2026-03-30T00:00Z"), "x"), LONDON)  # BST starts
    assert later.end is not None and local_iso(later.end, LONDON) == "2026-03-30T01:00+01:00"
