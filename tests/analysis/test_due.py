"""When scheduled posts are due: each zone's own local time, across DST changes (a skipped time once), up to
two hours late and not after; the settings checked, naming what is wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.analysis.due import describe, parse_kinds, parse_weekly_at, parse_zone, weekly_due
from bot.config import Settings

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
MONDAY_9 = parse_weekly_at("mon 09:00")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_a_weekly_post_is_due_at_its_local_time_and_up_to_two_hours_late() -> None:
    due = at("2026-03-23T09:00:00+01:00")
    assert weekly_due(due, MONDAY_9, BERLIN) == due
    assert weekly_due(due + timedelta(hours=1, minutes=59), MONDAY_9, BERLIN) == due
    assert weekly_due(due + timedelta(hours=2, minutes=1), MONDAY_9, BERLIN) is None
    assert weekly_due(due - timedelta(minutes=1), MONDAY_9, BERLIN) is None, "not before its time"
    assert weekly_due(at("2026-03-25T09:00:00+01:00"), MONDAY_9, BERLIN) is None, "a Wednesday"


def test_each_zone_keeps_its_own_monday_morning() -> None:
    berlin, new_york = at("2026-03-23T09:00:00+01:00"), at("2026-03-23T09:00:00-04:00")
    assert weekly_due(berlin, MONDAY_9, NEW_YORK) is None, "03:00 in New York"
    assert weekly_due(new_york, MONDAY_9, NEW_YORK) == new_york
    assert new_york - berlin == timedelta(hours=5)


def test_the_local_time_stays_across_a_dst_change() -> None:
    before, after = at("2026-03-23T08:00:00Z"), at("2026-03-30T07:00:00Z")  # CET, then CEST (29 March)
    assert weekly_due(before, MONDAY_9, BERLIN) == before
    assert weekly_due(after, MONDAY_9, BERLIN) == after
    assert weekly_due(after + timedelta(hours=1), MONDAY_9, BERLIN) == after, "a UTC clock would say 08:00"


def test_a_time_the_spring_jump_skips_is_posted_once_just_after_it() -> None:
    sunday = parse_weekly_at("sun 02:30")
    jumped = at("2026-03-29T01:30:00Z")  # 03:30 CEST: 02:30 does not exist that night
    assert weekly_due(jumped - timedelta(minutes=1), sunday, BERLIN) is None
    assert weekly_due(jumped, sunday, BERLIN) == jumped
    assert weekly_due(jumped + timedelta(hours=2, minutes=1), sunday, BERLIN) is None


def test_a_late_post_just_after_midnight_is_still_last_weeks() -> None:
    late_sunday = parse_weekly_at("sun 23:30")
    monday = at("2026-03-23T00:15:00+01:00")
    assert weekly_due(monday, late_sunday, BERLIN) == at("2026-03-22T23:30:00+01:00")


def test_the_settings_are_checked_and_name_what_is_wrong() -> None:
    assert parse_kinds("") == frozenset()
    assert parse_kinds(" Weekly-Oncall , gap-warnings ") == {"weekly-oncall", "gap-warnings"}
    with pytest.raises(ValueError, match="'weekly'"):
        parse_kinds("weekly,gap-warnings")
    with pytest.raises(ValueError, match="mon 09:00"):
        parse_weekly_at("funday 9")
    assert str(parse_weekly_at("Monday 9:05")) == "mon 09:05"
    for bad in ("Mars/Olympus", "../etc/passwd", "", "Europe/Berlin; rm"):
        with pytest.raises(ValueError, match="time zone"):
            parse_zone(bad)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert (settings.scheduled_posts, settings.scheduled_at, settings.scheduled_timezone,
            settings.shift_reminder_minutes) == ("", "mon 09:00", "UTC", 60)
    for name, value in (("ALEX_SCHEDULED_POSTS", "weekly-oncall,daily"), ("ALEX_SCHEDULED_AT", "mon"),
                        ("ALEX_SCHEDULED_TIMEZONE", "Nowhere/Land"), ("ALEX_SHIFT_REMINDER_MINUTES", "1")):
        with pytest.raises(ValidationError):
            Settings(_env_file=None, **{name: value})  # type: ignore[arg-type]


def test_the_posts_are_described_in_words() -> None:
    assert describe(frozenset(), MONDAY_9, 60) == ""
    assert describe(parse_kinds("gap-warnings,weekly-oncall"), MONDAY_9, 60) == \
        "weekly-oncall and gap-warnings every mon 09:00"
    assert describe(parse_kinds("shift-reminders,weekly-oncall"), MONDAY_9, 30) == \
        "weekly-oncall every mon 09:00; shift-reminders 30 min before each shift"
