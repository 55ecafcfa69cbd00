"""Tests for the schedule engine. Every expected instant is worked out by hand (see the comments)."""

from __future__ import annotations

import time as clock
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.sandbox.schedule_engine import (
    MAX_SPANS,
    Entry,
    Layer,
    OverrideSpan,
    RenderLimitError,
    Restriction,
    coverage_percentage,
    find_gaps,
    merge_adjacent,
    render_final,
    render_layer,
    render_overrides,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
UTC_ZONE = ZoneInfo("UTC")

HOUR = 3600
DAY = 86_400
WEEK = 7 * DAY


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def entry(start: str, end: str, user: str) -> Entry:
    return Entry(at(start), at(end), user)


def layer(
    users: tuple[str, ...],
    turn: int,
    virtual_start: str,
    *,
    start: str | None = None,
    end: str | None = None,
    restrictions: tuple[Restriction, ...] = (),
) -> Layer:
    return Layer(
        id="PLAYER1",
        start=at(start or virtual_start),
        end=at(end) if end else None,
        rotation_virtual_start=at(virtual_start),
        rotation_turn_length_seconds=turn,
        user_ids=users,
        restrictions=restrictions,
    )


def daily(hh: int, mm: int, seconds: int) -> Restriction:
    return Restriction("daily_restriction", time(hh, mm), seconds)


def weekly(iso_day: int, hh: int, mm: int, seconds: int) -> Restriction:
    return Restriction("weekly_restriction", time(hh, mm), seconds, iso_day)


# ----------------------------------------------------------------------------- 1. weekly rotation


def test_weekly_rotation_monday_0900_london_spans_two_handoffs() -> None:
    # Mon 2026-05-04 09:00 BST = 08:00Z. Shifts: k0 May 4 a, k1 May 11 b, k2 May 18 c,
    # k3 May 25 a, k4 Jun 1 b, k5 Jun 8 c (all at 08:00Z, London being on BST).
    rota = layer(("a", "b", "c"), WEEK, "2026-05-04T09:00+01:00")
    got = render_layer(rota, LONDON, at("2026-05-28T00:00Z"), at("2026-06-10T12:00Z"))
    assert got == [
        entry("2026-05-28T00:00Z", "2026-06-01T08:00Z", "a"),
        entry("2026-06-01T08:00Z", "2026-06-08T08:00Z", "b"),
        entry("2026-06-08T08:00Z", "2026-06-10T12:00Z", "c"),
    ]
    assert all(e.start.utcoffset() == timedelta(0) for e in got)


def test_virtual_start_twenty_years_back_keeps_local_handoff() -> None:
    # 2006-01-02 (Mon, GMT) -> 2026-06-01 (Mon, BST): 7305 + 150 = 7455 days = 1065 weeks.
    # 1065 % 3 == 0 -> "a" from Jun 1 09:00 BST = 08:00Z; shift 1064 (1064 % 3 == 2) is "c".
    rota = layer(("a", "b", "c"), WEEK, "2006-01-02T09:00Z")
    got = render_layer(rota, LONDON, at("2026-06-01T00:00Z"), at("2026-06-09T00:00Z"))
    assert got == [
        entry("2026-06-01T00:00Z", "2026-06-01T08:00Z", "c"),
        entry("2026-06-01T08:00Z", "2026-06-08T08:00Z", "a"),
        entry("2026-06-08T08:00Z", "2026-06-09T00:00Z", "b"),
    ]


def test_ninety_day_window_renders_fast() -> None:
    rota = layer(("a", "b", "c"), DAY, "1996-01-01T09:00Z", restrictions=(daily(9, 0, 8 * HOUR),))
    since, until = at("2026-01-01T00:00Z"), at("2026-04-01T00:00Z")
    best = float("inf")
    for _ in range(5):
        began = clock.perf_counter()
        got = render_layer(rota, LONDON, since, until)
        best = min(best, clock.perf_counter() - began)
    assert len(got) == 90
    assert best < 0.010


# ----------------------------------------------------------------------------- 2. daily restriction


def test_daily_restriction_business_hours_leaves_night_gaps() -> None:
    # New York in January is EST (UTC-5): 09:00-17:00 local = 14:00Z-22:00Z.
    # Daily handoff at 09:00 EST from Mon Jan 5: k0 Jan 5 d1, k1 Jan 6 d2, k2 Jan 7 d1.
    rota = layer(("d1", "d2"), DAY, "2026-01-05T09:00-05:00", restrictions=(daily(9, 0, 8 * HOUR),))
    since, until = at("2026-01-06T05:00Z"), at("2026-01-08T05:00Z")
    expected = [
        entry("2026-01-06T14:00Z", "2026-01-06T22:00Z", "d2"),
        entry("2026-01-07T14:00Z", "2026-01-07T22:00Z", "d1"),
    ]
    assert render_layer(rota, NEW_YORK, since, until) == expected
    final = render_final([rota], [], NEW_YORK, since, until)
    assert final == expected
    assert find_gaps(final, since, until) == [
        (at("2026-01-06T05:00Z"), at("2026-01-06T14:00Z")),
        (at("2026-01-06T22:00Z"), at("2026-01-07T14:00Z")),
        (at("2026-01-07T22:00Z"), at("2026-01-08T05:00Z")),
    ]
    assert coverage_percentage(final, since, until) == 33.33  # 16 h of 48 h


def test_lower_24x7_layer_covers_the_night() -> None:
    night = layer(("night",), WEEK, "2026-01-05T00:00Z")
    business = layer(("d1", "d2"), DAY, "2026-01-05T09:00-05:00", restrictions=(daily(9, 0, 8 * HOUR),))
    since, until = at("2026-01-06T05:00Z"), at("2026-01-08T05:00Z")
    final = render_final([night, business], [], NEW_YORK, since, until)
    assert final == [
        entry("2026-01-06T05:00Z", "2026-01-06T14:00Z", "night"),
        entry("2026-01-06T14:00Z", "2026-01-06T22:00Z", "d2"),
        entry("2026-01-06T22:00Z", "2026-01-07T14:00Z", "night"),
        entry("2026-01-07T14:00Z", "2026-01-07T22:00Z", "d1"),
        entry("2026-01-07T22:00Z", "2026-01-08T05:00Z", "night"),
    ]
    assert find_gaps(final, since, until) == []
    assert coverage_percentage(final, since, until) == 100.0


def test_restriction_only_masks_handoff_inside_window_still_happens() -> None:
    # Handoff at 12:00 EST (17:00Z): k0 [Jan 5 17Z, Jan 6 17Z) d1, k1 [Jan 6 17Z, Jan 7 17Z) d2.
    rota = layer(("d1", "d2"), DAY, "2026-01-05T12:00-05:00", restrictions=(daily(9, 0, 8 * HOUR),))
    got = render_layer(rota, NEW_YORK, at("2026-01-06T00:00Z"), at("2026-01-07T00:00Z"))
    assert got == [
        entry("2026-01-06T14:00Z", "2026-01-06T17:00Z", "d1"),
        entry("2026-01-06T17:00Z", "2026-01-06T22:00Z", "d2"),
    ]


def test_multiple_restrictions_are_a_union() -> None:
    # 09:00-12:00 and 11:00-14:00 (UTC) overlap -> one 09:00-14:00 entry.
    rota = layer(
        ("a",), WEEK, "2026-01-05T00:00Z", restrictions=(daily(9, 0, 3 * HOUR), daily(11, 0, 3 * HOUR))
    )
    got = render_layer(rota, UTC_ZONE, at("2026-01-05T00:00Z"), at("2026-01-06T00:00Z"))
    assert got == [entry("2026-01-05T09:00Z", "2026-01-05T14:00Z", "a")]


def test_daily_restriction_keeps_local_hours_across_spring_forward() -> None:
    # 09:00-17:00 New York: Mar 7 EST = 14Z-22Z; Mar 8 and 9 EDT = 13Z-21Z.
    rota = layer(("a",), WEEK, "2026-03-02T00:00Z", restrictions=(daily(9, 0, 8 * HOUR),))
    got = render_layer(rota, NEW_YORK, at("2026-03-07T12:00Z"), at("2026-03-10T00:00Z"))
    assert got == [
        entry("2026-03-07T14:00Z", "2026-03-07T22:00Z", "a"),
        entry("2026-03-08T13:00Z", "2026-03-08T21:00Z", "a"),
        entry("2026-03-09T13:00Z", "2026-03-09T21:00Z", "a"),
    ]


# ----------------------------------------------------------------------------- 3. weekly restriction


def test_weekly_restriction_work_week() -> None:
    # Mon 09:00 for 4 d 8 h = Mon 09:00 -> Fri 17:00; London in January is GMT (= UTC).
    # Weekly handoff Mon 00:00: w1 for [Jan 5, Jan 12), w2 for [Jan 12, Jan 19).
    work_week = weekly(1, 9, 0, 4 * DAY + 8 * HOUR)
    rota = layer(("w1", "w2"), WEEK, "2026-01-05T00:00Z", restrictions=(work_week,))
    since, until = at("2026-01-07T00:00Z"), at("2026-01-14T00:00Z")
    got = render_layer(rota, LONDON, since, until)
    assert got == [
        entry("2026-01-07T00:00Z", "2026-01-09T17:00Z", "w1"),
        entry("2026-01-12T09:00Z", "2026-01-14T00:00Z", "w2"),
    ]
    assert find_gaps(got, since, until) == [(at("2026-01-09T17:00Z"), at("2026-01-12T09:00Z"))]
    assert coverage_percentage(got, since, until) == 61.9  # (65 h + 39 h) / 168 h = 61.904...


def test_weekly_restriction_started_the_previous_week_is_seen() -> None:
    # Sun 22:00 for 4 h reaches into Monday 02:00.
    rota = layer(("a",), WEEK, "2026-01-05T00:00Z", restrictions=(weekly(7, 22, 0, 4 * HOUR),))
    got = render_layer(rota, LONDON, at("2026-01-12T00:00Z"), at("2026-01-12T12:00Z"))
    assert got == [entry("2026-01-12T00:00Z", "2026-01-12T02:00Z", "a")]


# ----------------------------------------------------------------------------- 4. crossing midnight


def test_restriction_crossing_midnight() -> None:
    # 22:00 for 10 h -> 08:00 next day (GMT = UTC). The Jan 5 window reaches into Jan 6.
    rota = layer(("n",), WEEK, "2026-01-05T00:00Z", restrictions=(daily(22, 0, 10 * HOUR),))
    got = render_layer(rota, LONDON, at("2026-01-06T00:00Z"), at("2026-01-08T00:00Z"))
    assert got == [
        entry("2026-01-06T00:00Z", "2026-01-06T08:00Z", "n"),
        entry("2026-01-06T22:00Z", "2026-01-07T08:00Z", "n"),
        entry("2026-01-07T22:00Z", "2026-01-08T00:00Z", "n"),
    ]


def test_restriction_crossing_midnight_into_spring_forward_ends_at_local_0800() -> None:
    # Sat Mar 28 22:00 GMT = 22:00Z; Sun Mar 29 08:00 BST = 07:00Z: only 9 real hours.
    rota = layer(("n",), WEEK, "2026-03-23T00:00Z", restrictions=(daily(22, 0, 10 * HOUR),))
    got = render_layer(rota, LONDON, at("2026-03-28T12:00Z"), at("2026-03-29T12:00Z"))
    assert got == [entry("2026-03-28T22:00Z", "2026-03-29T07:00Z", "n")]


# ----------------------------------------------------------------------------- 5. overrides


def test_override_splits_a_shift_in_three() -> None:
    rota = layer(("a",), WEEK, "2026-01-05T00:00Z")
    override = OverrideSpan(at("2026-01-05T10:00Z"), at("2026-01-05T14:00Z"), "o")
    since, until = at("2026-01-05T00:00Z"), at("2026-01-06T00:00Z")
    assert render_final([rota], [override], UTC_ZONE, since, until) == [
        entry("2026-01-05T00:00Z", "2026-01-05T10:00Z", "a"),
        entry("2026-01-05T10:00Z", "2026-01-05T14:00Z", "o"),
        entry("2026-01-05T14:00Z", "2026-01-06T00:00Z", "a"),
    ]
    assert render_overrides([override], since, until) == [
        entry("2026-01-05T10:00Z", "2026-01-05T14:00Z", "o")
    ]


def test_later_created_override_wins_regardless_of_list_order() -> None:
    rota = layer(("a",), WEEK, "2026-01-05T00:00Z")
    since, until = at("2026-01-05T00:00Z"), at("2026-01-06T00:00Z")
    older = OverrideSpan(at("2026-01-05T10:00Z"), at("2026-01-05T14:00Z"), "o1", created_order=1)
    newer = OverrideSpan(at("2026-01-05T12:00Z"), at("2026-01-05T16:00Z"), "o2", created_order=2)
    assert render_final([rota], [newer, older], UTC_ZONE, since, until) == [
        entry("2026-01-05T00:00Z", "2026-01-05T10:00Z", "a"),
        entry("2026-01-05T10:00Z", "2026-01-05T12:00Z", "o1"),
        entry("2026-01-05T12:00Z", "2026-01-05T16:00Z", "o2"),
        entry("2026-01-05T16:00Z", "2026-01-06T00:00Z", "a"),
    ]
    newer_first = OverrideSpan(at("2026-01-05T10:00Z"), at("2026-01-05T14:00Z"), "o1", created_order=2)
    older_second = OverrideSpan(at("2026-01-05T12:00Z"), at("2026-01-05T16:00Z"), "o2", created_order=1)
    assert render_overrides([newer_first, older_second], since, until) == [
        entry("2026-01-05T10:00Z", "2026-01-05T14:00Z", "o1"),
        entry("2026-01-05T14:00Z", "2026-01-05T16:00Z", "o2"),
    ]


def test_override_is_clipped_and_same_user_merges() -> None:
    rota = layer(("a",), WEEK, "2026-01-05T00:00Z")
    since, until = at("2026-01-05T00:00Z"), at("2026-01-06T00:00Z")
    early = OverrideSpan(at("2026-01-04T20:00Z"), at("2026-01-05T02:00Z"), "o")
    assert render_overrides([early], since, until) == [entry("2026-01-05T00:00Z", "2026-01-05T02:00Z", "o")]
    same_user = OverrideSpan(at("2026-01-05T10:00Z"), at("2026-01-05T14:00Z"), "a")
    assert render_final([rota], [same_user], UTC_ZONE, since, until) == [
        entry("2026-01-05T00:00Z", "2026-01-06T00:00Z", "a"),
    ]


def test_override_fills_a_gap() -> None:
    rota = layer(("a",), WEEK, "2026-01-05T00:00Z", end="2026-01-05T20:00Z")
    override = OverrideSpan(at("2026-01-05T22:00Z"), at("2026-01-06T02:00Z"), "o")
    since, until = at("2026-01-05T00:00Z"), at("2026-01-06T00:00Z")
    final = render_final([rota], [override], UTC_ZONE, since, until)
    assert final == [
        entry("2026-01-05T00:00Z", "2026-01-05T20:00Z", "a"),
        entry("2026-01-05T22:00Z", "2026-01-06T00:00Z", "o"),
    ]
    assert find_gaps(final, since, until) == [(at("2026-01-05T20:00Z"), at("2026-01-05T22:00Z"))]


# ----------------------------------------------------------------------------- 6. gaps and coverage


def test_layer_ending_mid_window_leaves_a_gap() -> None:
    rota = layer(("a",), WEEK, "2026-01-05T00:00Z", end="2026-01-05T20:00Z")
    since, until = at("2026-01-05T00:00Z"), at("2026-01-06T00:00Z")
    final = render_final([rota], [], UTC_ZONE, since, until)
    assert final == [entry("2026-01-05T00:00Z", "2026-01-05T20:00Z", "a")]
    assert find_gaps(final, since, until) == [(at("2026-01-05T20:00Z"), at("2026-01-06T00:00Z"))]
    assert coverage_percentage(final, since, until) == 83.33  # 20 h / 24 h


def test_layer_start_and_end_clip_shifts() -> None:
    # Daily from Jan 1 00:00Z: k4 (Jan 5) u0, k5 (Jan 6) u1; layer lives [Jan 5 06:00Z, Jan 6 18:00Z).
    rota = layer(("u0", "u1"), DAY, "2026-01-01T00:00Z", start="2026-01-05T06:00Z", end="2026-01-06T18:00Z")
    since, until = at("2026-01-05T00:00Z"), at("2026-01-07T00:00Z")
    got = render_layer(rota, UTC_ZONE, since, until)
    assert got == [
        entry("2026-01-05T06:00Z", "2026-01-06T00:00Z", "u0"),
        entry("2026-01-06T00:00Z", "2026-01-06T18:00Z", "u1"),
    ]
    assert find_gaps(got, since, until) == [
        (at("2026-01-05T00:00Z"), at("2026-01-05T06:00Z")),
        (at("2026-01-06T18:00Z"), at("2026-01-07T00:00Z")),
    ]
    assert coverage_percentage(got, since, until) == 75.0


def test_lower_layer_shows_through_after_higher_layer_ends() -> None:
    low = layer(("low",), WEEK, "2026-01-05T00:00Z")
    high = layer(("high",), WEEK, "2026-01-05T00:00Z", end="2026-01-05T20:00Z")
    final = render_final([low, high], [], UTC_ZONE, at("2026-01-05T00:00Z"), at("2026-01-06T00:00Z"))
    assert final == [
        entry("2026-01-05T00:00Z", "2026-01-05T20:00Z", "high"),
        entry("2026-01-05T20:00Z", "2026-01-06T00:00Z", "low"),
    ]


def test_coverage_rounds_half_up_and_handles_edges() -> None:
    since, until = at("2026-01-05T00:00Z"), at("2026-01-06T08:00Z")  # 32 h
    one_hour = [entry("2026-01-05T00:00Z", "2026-01-05T01:00Z", "a")]
    assert coverage_percentage(one_hour, since, until) == 3.13  # 3.125 rounds half-up
    assert coverage_percentage([], since, until) == 0.0
    assert coverage_percentage([], since, since) == 100.0
    assert find_gaps([], since, since) == []
    assert find_gaps([], since, until) == [(since, until)]


def test_merge_adjacent_joins_touching_same_user_only() -> None:
    got = merge_adjacent(
        [
            entry("2026-01-05T02:00Z", "2026-01-05T03:00Z", "a"),
            entry("2026-01-05T00:00Z", "2026-01-05T01:00Z", "a"),
            entry("2026-01-05T01:00Z", "2026-01-05T02:00Z", "a"),
            entry("2026-01-05T03:00Z", "2026-01-05T04:00Z", "b"),
            entry("2026-01-05T05:00Z", "2026-01-05T06:00Z", "b"),
        ]
    )
    assert got == [
        entry("2026-01-05T00:00Z", "2026-01-05T03:00Z", "a"),
        entry("2026-01-05T03:00Z", "2026-01-05T04:00Z", "b"),
        entry("2026-01-05T05:00Z", "2026-01-05T06:00Z", "b"),
    ]


# ----------------------------------------------------------------------------- 7. DST, day-multiple turns


def test_new_york_spring_forward_daily_0900_handoff() -> None:
    # 09:00 EST = 14:00Z until Mar 7; from Sun Mar 8 09:00 EDT = 13:00Z. Users from Mar 5: a b a b a.
    rota = layer(("a", "b"), DAY, "2026-03-05T09:00-05:00")
    got = render_layer(rota, NEW_YORK, at("2026-03-06T14:00Z"), at("2026-03-10T13:00Z"))
    assert got == [
        entry("2026-03-06T14:00Z", "2026-03-07T14:00Z", "b"),
        entry("2026-03-07T14:00Z", "2026-03-08T13:00Z", "a"),
        entry("2026-03-08T13:00Z", "2026-03-09T13:00Z", "b"),
        entry("2026-03-09T13:00Z", "2026-03-10T13:00Z", "a"),
    ]
    assert got[1].end - got[1].start == timedelta(hours=23)


def test_spring_forward_with_virtual_start_after_the_change() -> None:
    # Virtual start Mar 10 09:00 EDT: k=-4 Mar 6 (14Z) a, k=-3 Mar 7 (14Z) b,
    # k=-2 Mar 8 (13Z) a, k=-1 Mar 9 (13Z) b.
    rota = layer(("a", "b"), DAY, "2026-03-10T09:00-04:00", start="2026-03-01T00:00Z")
    got = render_layer(rota, NEW_YORK, at("2026-03-06T14:00Z"), at("2026-03-09T13:00Z"))
    assert got == [
        entry("2026-03-06T14:00Z", "2026-03-07T14:00Z", "a"),
        entry("2026-03-07T14:00Z", "2026-03-08T13:00Z", "b"),
        entry("2026-03-08T13:00Z", "2026-03-09T13:00Z", "a"),
    ]


def test_london_fall_back_daily_0900_handoff_gives_25_hour_shift() -> None:
    # Oct 24 09:00 BST = 08:00Z; Sun Oct 25 09:00 GMT = 09:00Z; Oct 26 09:00Z. From Oct 23: x y x y.
    rota = layer(("x", "y"), DAY, "2026-10-23T09:00+01:00")
    got = render_layer(rota, LONDON, at("2026-10-24T08:00Z"), at("2026-10-26T09:00Z"))
    assert got == [
        entry("2026-10-24T08:00Z", "2026-10-25T09:00Z", "y"),
        entry("2026-10-25T09:00Z", "2026-10-26T09:00Z", "x"),
    ]
    assert got[0].end - got[0].start == timedelta(hours=25)


def test_handoff_at_nonexistent_local_time_lands_after_the_gap() -> None:
    # 02:30 does not exist on Mar 8 in New York; fold=0 reads it with EST, i.e. 07:30Z (03:30 EDT).
    # Mar 7 02:30 EST = 07:30Z; Mar 9 02:30 EDT = 06:30Z.
    rota = layer(("p", "q"), DAY, "2026-03-07T02:30-05:00")
    got = render_layer(rota, NEW_YORK, at("2026-03-07T07:30Z"), at("2026-03-09T06:30Z"))
    assert got == [
        entry("2026-03-07T07:30Z", "2026-03-08T07:30Z", "p"),
        entry("2026-03-08T07:30Z", "2026-03-09T06:30Z", "q"),
    ]


def test_handoff_at_ambiguous_local_time_uses_first_occurrence() -> None:
    # 01:30 happens twice on Oct 25 in London; fold=0 picks the BST one, 00:30Z.
    # Oct 24 01:30 BST = 00:30Z; Oct 26 01:30 GMT = 01:30Z.
    rota = layer(("p", "q"), DAY, "2026-10-24T01:30+01:00")
    got = render_layer(rota, LONDON, at("2026-10-24T00:30Z"), at("2026-10-26T01:30Z"))
    assert got == [
        entry("2026-10-24T00:30Z", "2026-10-25T00:30Z", "p"),
        entry("2026-10-25T00:30Z", "2026-10-26T01:30Z", "q"),
    ]


# ----------------------------------------------------------------------------- 8. absolute turns


def test_twelve_hour_turn_stays_absolute_across_dst() -> None:
    # 12 h from Mar 7 09:00 EST (14:00Z): 14Z, Mar 8 02Z, Mar 8 14Z (= 10:00 EDT, not 09:00), Mar 9 02Z.
    rota = layer(("d", "n"), 12 * HOUR, "2026-03-07T09:00-05:00")
    got = render_layer(rota, NEW_YORK, at("2026-03-07T14:00Z"), at("2026-03-09T02:00Z"))
    assert got == [
        entry("2026-03-07T14:00Z", "2026-03-08T02:00Z", "d"),
        entry("2026-03-08T02:00Z", "2026-03-08T14:00Z", "n"),
        entry("2026-03-08T14:00Z", "2026-03-09T02:00Z", "d"),
    ]
    assert got[2].start.astimezone(NEW_YORK).hour == 10


# ----------------------------------------------------------------------------- 9. edges


def test_rotation_starting_in_the_future() -> None:
    rota = layer(("a", "b"), DAY, "2026-02-02T09:00Z")
    since, until = at("2026-01-30T00:00Z"), at("2026-02-04T00:00Z")
    got = render_layer(rota, UTC_ZONE, since, until)
    assert got == [
        entry("2026-02-02T09:00Z", "2026-02-03T09:00Z", "a"),
        entry("2026-02-03T09:00Z", "2026-02-04T00:00Z", "b"),
    ]
    assert find_gaps(got, since, until) == [(at("2026-01-30T00:00Z"), at("2026-02-02T09:00Z"))]


def test_since_before_virtual_start_uses_negative_turns() -> None:
    # k=-3 Jan 30 09Z a, k=-2 Jan 31 09Z b, k=-1 Feb 1 09Z c, k=0 Feb 2 09Z a.
    rota = layer(("a", "b", "c"), DAY, "2026-02-02T09:00Z", start="2026-01-01T00:00Z")
    got = render_layer(rota, UTC_ZONE, at("2026-01-31T00:00Z"), at("2026-02-02T12:00Z"))
    assert got == [
        entry("2026-01-31T00:00Z", "2026-01-31T09:00Z", "a"),
        entry("2026-01-31T09:00Z", "2026-02-01T09:00Z", "b"),
        entry("2026-02-01T09:00Z", "2026-02-02T09:00Z", "c"),
        entry("2026-02-02T09:00Z", "2026-02-02T12:00Z", "a"),
    ]


def test_nothing_to_render() -> None:
    since, until = at("2026-01-05T00:00Z"), at("2026-01-06T00:00Z")
    assert render_layer(layer((), DAY, "2026-01-01T00:00Z"), UTC_ZONE, since, until) == []
    ended = layer(("a",), DAY, "2026-01-01T00:00Z", end="2026-01-02T00:00Z")
    assert render_layer(ended, UTC_ZONE, since, until) == []
    assert render_layer(layer(("a",), DAY, "2026-01-01T00:00Z"), UTC_ZONE, until, since) == []
    assert render_final([], [], UTC_ZONE, since, until) == []


def test_single_user_consecutive_shifts_merge() -> None:
    got = render_layer(
        layer(("a",), DAY, "2026-01-01T00:00Z"), UTC_ZONE, at("2026-01-05T12:00Z"), at("2026-01-08T00:00Z")
    )
    assert got == [entry("2026-01-05T12:00Z", "2026-01-08T00:00Z", "a")]


def test_invalid_input_is_rejected() -> None:
    since, until = at("2026-01-05T00:00Z"), at("2026-01-06T00:00Z")
    with pytest.raises(ValueError, match="timezone-aware"):
        render_layer(layer(("a",), DAY, "2026-01-01T00:00Z"), UTC_ZONE, datetime(2026, 1, 5), until)  # noqa: DTZ001
    with pytest.raises(ValueError, match="positive"):
        render_layer(layer(("a",), 0, "2026-01-01T00:00Z"), UTC_ZONE, since, until)
    no_day = Restriction("weekly_restriction", time(9), HOUR)
    with pytest.raises(ValueError, match="start_day_of_week"):
        render_layer(layer(("a",), DAY, "2026-01-01T00:00Z", restrictions=(no_day,)), UTC_ZONE, since, until)


# --------------------------------------------------------------------------- bounded work (issue #10 item 13)


def test_a_year_of_hourly_handoffs_is_within_the_span_budget() -> None:
    rota = layer(("a", "b"), HOUR, "2026-01-01T00:00Z")
    got = render_layer(rota, UTC_ZONE, at("2026-01-01T00:00Z"), at("2027-01-01T00:00Z"))
    assert len(got) == 365 * 24 < MAX_SPANS


def test_a_render_needing_more_than_max_spans_shifts_is_refused() -> None:
    # One-minute turns over a year would be 525,600 shifts; the engine stops at MAX_SPANS and says why.
    rota = layer(("a", "b"), 60, "2026-01-01T00:00Z")
    with pytest.raises(RenderLimitError, match=r"more than 20,000 rotation shifts; narrow the window"):
        render_layer(rota, UTC_ZONE, at("2026-01-01T00:00Z"), at("2027-01-01T00:00Z"))
    with pytest.raises(RenderLimitError):
        render_final([rota], [], UTC_ZONE, at("2026-01-01T00:00Z"), at("2027-01-01T00:00Z"))


def test_restriction_windows_over_centuries_are_refused_not_walked() -> None:
    # Weekly turns are few, but a daily restriction opens a window on each of ~2.9 million days until 9999.
    rota = layer(("a", "b"), WEEK, "2026-01-05T09:00Z", restrictions=(daily(9, 0, 8 * HOUR),))
    started = clock.monotonic()
    with pytest.raises(RenderLimitError, match="restriction windows"):
        render_layer(rota, LONDON, at("2026-01-05T00:00Z"), at("9999-12-30T00:00Z"))
    assert clock.monotonic() - started < 5  # refused at the budget, not after walking the calendar


def test_a_window_at_the_end_of_the_calendar_is_a_render_limit_not_an_overflow() -> None:
    rota = layer(("a", "b"), DAY, "2026-01-01T09:00Z")
    with pytest.raises(RenderLimitError, match="past the dates the engine can render"):
        render_layer(rota, NEW_YORK, at("9999-12-20T00:00Z"), at("9999-12-31T23:00Z"))
