"""Coverage arithmetic, against boundaries worked out by hand (UTC instants, shown in local zones)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.analysis.coverage import (
    Handoff,
    Shift,
    coverage,
    level_coverage,
    merge_shifts,
    shifts_from_v2,
    shifts_from_v3,
    uncovered_by_all,
)
from bot.analysis.intervals import Interval, complement, union
from bot.analysis.oncall import OnCall, parse_oncalls
from bot.analysis.windows import local_iso

NEW_YORK = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def period(level: int, user: str, start: datetime | None, end: datetime | None,
           schedule: str | None = None) -> OnCall:
    """An /oncalls row as parsed (policy and ids left blank: the level arithmetic reads names only)."""
    return OnCall("", "", level, "", user, None, schedule, start, end)


def test_gap_crossing_local_midnight() -> None:
    # Friday 13 March 08:00Z -> Saturday 14 March 20:00Z (36 h); nobody from Fri 20:00 to Sat 08:00 London.
    start, end = utc("2026-03-13T08:00"), utc("2026-03-14T20:00")
    shifts = [Shift(utc("2026-03-13T08:00"), utc("2026-03-13T20:00"), "Emma Clarke"),
              Shift(utc("2026-03-14T08:00"), utc("2026-03-14T20:00"), "Aisha Khan")]
    result = coverage(shifts, start, end)
    assert result.gaps == (Interval(utc("2026-03-13T20:00"), utc("2026-03-14T08:00")),)
    gap = result.gaps[0]
    assert gap.hours == 12.0
    assert result.percent == 66.67  # 24 of 36 hours
    assert (local_iso(gap.start, LONDON), local_iso(gap.end, LONDON)) == ("2026-03-13T20:00Z", "2026-03-14T08:00Z")
    # In New York (already on daylight time) the same gap is 16:00 -> 04:00 the next day.
    assert (local_iso(gap.start, NEW_YORK), local_iso(gap.end, NEW_YORK)) == (
        "2026-03-13T16:00-04:00", "2026-03-14T04:00-04:00")
    assert result.handoffs == (
        Handoff(utc("2026-03-13T20:00"), ("Emma Clarke",), ()),
        Handoff(utc("2026-03-14T08:00"), (), ("Aisha Khan",)),
    )


def test_gap_across_the_new_york_dst_change() -> None:
    # Sat 7 Mar 12:00 EST (17:00Z) -> Sun 8 Mar 12:00 EDT (16:00Z): a 23-hour window.
    # Nobody from 00:00 EST (05:00Z) to 08:00 EDT (12:00Z): 8 wall-clock hours, 7 real ones.
    start, end = utc("2026-03-07T17:00"), utc("2026-03-08T16:00")
    shifts = [Shift(utc("2026-03-07T17:00"), utc("2026-03-08T05:00"), "Ben Carter"),
              Shift(utc("2026-03-08T12:00"), utc("2026-03-08T16:00"), "Sam Rivera")]
    result = coverage(shifts, start, end)
    (gap,) = result.gaps
    assert (local_iso(gap.start, NEW_YORK), local_iso(gap.end, NEW_YORK)) == (
        "2026-03-08T00:00-05:00", "2026-03-08T08:00-04:00")
    assert gap.hours == 7.0
    assert result.percent == 69.57  # 16 of 23 hours


def test_gap_closed_by_an_override_in_the_final_schedule() -> None:
    # Payments Secondary's shape: the rotation leaves 04:00Z-12:00Z open, an override fills it exactly.
    start, end = utc("2026-03-16T00:00"), utc("2026-03-17T00:00")
    rotation = [Shift(utc("2026-03-16T00:00"), utc("2026-03-16T04:00"), "Diego Alvarez"),
                Shift(utc("2026-03-16T12:00"), utc("2026-03-17T00:00"), "Mei Chen")]
    without = coverage(rotation, start, end)
    assert without.gaps == (Interval(utc("2026-03-16T04:00"), utc("2026-03-16T12:00")),)
    assert without.percent == 66.67
    override = Shift(utc("2026-03-16T04:00"), utc("2026-03-16T12:00"), "Hannah Schmidt")
    final = coverage([*rotation, override], start, end)
    assert final.gaps == () and final.fully_covered and final.percent == 100.0
    assert [h.after for h in final.handoffs] == [("Hannah Schmidt",), ("Mei Chen",)]


def test_overlapping_entries_are_unioned() -> None:
    start, end = utc("2026-03-10T00:00"), utc("2026-03-11T00:00")
    shifts = [Shift(utc("2026-03-10T00:00"), utc("2026-03-10T10:00"), "A"),
              Shift(utc("2026-03-10T05:00"), utc("2026-03-10T15:00"), "B"),
              Shift(utc("2026-03-10T20:00"), utc("2026-03-11T00:00"), "C")]
    result = coverage(shifts, start, end)
    assert result.gaps == (Interval(utc("2026-03-10T15:00"), utc("2026-03-10T20:00")),)
    assert result.percent == 79.17  # 19 of 24 hours
    assert result.handoffs == (
        Handoff(utc("2026-03-10T05:00"), ("A",), ("A", "B")),
        Handoff(utc("2026-03-10T10:00"), ("A", "B"), ("B",)),
        Handoff(utc("2026-03-10T15:00"), ("B",), ()),
        Handoff(utc("2026-03-10T20:00"), (), ("C",)),
    )


def test_full_coverage_merges_consecutive_shifts_of_the_same_person() -> None:
    start, end = utc("2026-03-10T00:00"), utc("2026-03-11T00:00")
    shifts = [Shift(utc("2026-03-09T20:00"), utc("2026-03-10T08:00"), "A"),  # starts before the window
              Shift(utc("2026-03-10T08:00"), utc("2026-03-10T16:00"), "A"),
              Shift(utc("2026-03-10T16:00"), utc("2026-03-11T02:00"), "B")]  # ends after it
    result = coverage(shifts, start, end)
    assert result.gaps == () and result.percent == 100.0
    assert result.shifts == (Shift(utc("2026-03-10T00:00"), utc("2026-03-10T16:00"), "A"),
                             Shift(utc("2026-03-10T16:00"), utc("2026-03-11T00:00"), "B"))
    assert result.handoffs == (Handoff(utc("2026-03-10T16:00"), ("A",), ("B",)),)


def test_gaps_at_both_edges_and_an_empty_schedule() -> None:
    start, end = utc("2026-03-10T00:00"), utc("2026-03-10T12:00")
    result = coverage([Shift(utc("2026-03-10T03:00"), utc("2026-03-10T09:00"), "A")], start, end)
    assert result.gaps == (Interval(start, utc("2026-03-10T03:00")), Interval(utc("2026-03-10T09:00"), end))
    assert result.percent == 50.0
    nobody = coverage([], start, end)
    assert nobody.gaps == (Interval(start, end),) and nobody.percent == 0.0


def test_interval_helpers() -> None:
    a = Interval(utc("2026-03-10T00:00"), utc("2026-03-10T02:00"))
    b = Interval(utc("2026-03-10T02:00"), utc("2026-03-10T03:00"))  # touches a
    c = Interval(utc("2026-03-10T05:00"), utc("2026-03-10T06:00"))
    assert union([c, b, a]) == [Interval(a.start, b.end), c]
    assert complement([a, c], utc("2026-03-10T01:00"), utc("2026-03-10T07:00")) == [
        Interval(utc("2026-03-10T02:00"), c.start), Interval(c.end, utc("2026-03-10T07:00"))]
    assert merge_shifts([Shift(a.start, a.end, "X")], b.start, b.end) == []


def test_v2_entries_are_read_with_their_offsets() -> None:
    entries = [{"start": "2026-03-10T10:00:00-04:00", "end": "2026-03-10T15:00:00-04:00",
                "user": {"id": "PU1", "type": "user_reference", "summary": "Ben Carter"}}]
    assert shifts_from_v2(entries) == [Shift(utc("2026-03-10T14:00"), utc("2026-03-10T19:00"), "Ben Carter", "PU1")]


def test_v3_assignments_with_an_explicit_empty_member() -> None:
    # Friday 19:00 -> Saturday 07:00 Pacific (Sat 02:00Z -> 14:00Z) is an explicit gap; a shadow overlaps Day.
    assignments = [
        {"start_time": "2026-03-13T07:00:00-07:00", "end_time": "2026-03-13T19:00:00-07:00",
         "member": {"type": "user_member", "user_id": "PU1"}},
        {"start_time": "2026-03-13T10:00:00-07:00", "end_time": "2026-03-13T16:00:00-07:00",
         "member": {"type": "user_member", "user_id": "PU2"}},
        {"start_time": "2026-03-13T19:00:00-07:00", "end_time": "2026-03-14T07:00:00-07:00",
         "member": {"type": "empty_member"}},
        {"start_time": "2026-03-14T07:00:00-07:00", "end_time": "2026-03-14T19:00:00-07:00",
         "member": {"type": "user_member", "user_id": "PU3"}},
    ]
    shifts, gaps = shifts_from_v3(assignments, {"PU1": "Lukas Fischer", "PU2": "Tom Becker"})
    assert [s.user for s in shifts] == ["Lukas Fischer", "Tom Becker", "PU3"]  # unknown ids stay ids
    assert gaps == [Interval(utc("2026-03-14T02:00"), utc("2026-03-14T14:00"))]
    start, end = utc("2026-03-13T14:00"), utc("2026-03-15T02:00")  # 36 h
    result = coverage(shifts, start, end, gaps)
    assert result.gaps == (Interval(utc("2026-03-14T02:00"), utc("2026-03-14T14:00")),)
    assert result.percent == 66.67
    assert (local_iso(result.gaps[0].start, NEW_YORK), local_iso(result.gaps[0].end, NEW_YORK)) == (
        "2026-03-13T22:00-04:00", "2026-03-14T10:00-04:00")


def test_explicit_gaps_count_even_if_no_shift_is_missing() -> None:
    start, end = utc("2026-03-10T00:00"), utc("2026-03-10T10:00")
    hole = Interval(utc("2026-03-10T04:00"), utc("2026-03-10T05:00"))
    result = coverage([Shift(start, utc("2026-03-10T04:00"), "A"), Shift(utc("2026-03-10T05:00"), end, "B")],
                      start, end, [hole, Interval(utc("2026-03-09T00:00"), utc("2026-03-09T01:00"))])
    assert result.gaps == (hole,) and result.percent == 90.0


def test_escalation_levels_schedule_gap_permanent_user_and_empty_level() -> None:
    start, end = utc("2026-03-13T00:00"), utc("2026-03-15T00:00")  # 48 h
    periods = [
        # Level 1: real (unclipped) on-call periods reaching outside the window, no gap inside it.
        period(1, "Sam Rivera", utc("2026-03-09T13:00"), utc("2026-03-14T10:00"), "Platform Primary"),
        period(1, "Ben Carter", utc("2026-03-14T10:00"), utc("2026-03-21T13:00"), "Platform Primary"),
        # Level 2: nobody Fri 20:00Z -> Sat 08:00Z.
        period(2, "Emma Clarke", utc("2026-03-09T09:00"), utc("2026-03-13T20:00"), "Platform Secondary"),
        period(2, "Aisha Khan", utc("2026-03-14T08:00"), utc("2026-03-16T09:00"), "Platform Secondary"),
        # Level 3: a user target, permanently on call.
        period(3, "Priya Raman", None, None),
        # A period entirely outside the window does not name anyone.
        period(2, "Ben Carter", utc("2026-03-01T00:00"), utc("2026-03-02T00:00")),
    ]
    levels = level_coverage(periods, range(1, 5), start, end)
    assert [lv.level for lv in levels] == [1, 2, 3, 4]
    one, two, three, four = levels
    assert one.covered_throughout and one.users == ("Sam Rivera", "Ben Carter") and one.percent == 100.0
    assert two.gaps == (Interval(utc("2026-03-13T20:00"), utc("2026-03-14T08:00")),)
    assert two.users == ("Emma Clarke", "Aisha Khan") and two.percent == 75.0  # 36 of 48 hours
    assert three.covered_throughout and three.permanent == ("Priya Raman",)
    assert four.gaps == (Interval(start, end),) and four.users == () and four.percent == 0.0
    assert uncovered_by_all(levels, start, end) == []
    assert uncovered_by_all([two, four], start, end) == [Interval(utc("2026-03-13T20:00"), utc("2026-03-14T08:00"))]


def test_oncalls_rows_with_null_bounds_are_permanent() -> None:
    rows = [
        {"escalation_level": 2, "user": {"id": "PU1", "summary": "Emma Clarke"},
         "schedule": {"id": "PS1", "summary": "Platform Secondary"},
         "start": "2026-03-09T09:00:00Z", "end": "2026-03-13T20:00:00Z"},
        {"escalation_level": 3, "user": {"id": "PU2", "summary": "Priya Raman"}, "schedule": None,
         "start": None, "end": None},
    ]
    assert parse_oncalls(rows) == [
        OnCall("", "", 2, "PU1", "Emma Clarke", "PS1", "Platform Secondary", utc("2026-03-09T09:00"),
               utc("2026-03-13T20:00")),
        OnCall("", "", 3, "PU2", "Priya Raman", None, None, None, None),
    ]


def test_merge_returns_clean_shifts_as_they_are_and_still_joins_touching_ones() -> None:
    start, end = utc("2026-03-10T00:00"), utc("2026-03-11T00:00")
    clean = [Shift(start, utc("2026-03-10T08:00"), "A", "PA"),
             Shift(utc("2026-03-10T08:00"), utc("2026-03-10T16:00"), "B", "PB"),
             Shift(utc("2026-03-10T16:00"), end, "A", "PA")]
    assert merge_shifts(clean, start, end) == clean
    joined = [Shift(start, utc("2026-03-10T16:00"), "A", "PA"), Shift(utc("2026-03-10T16:00"), end, "B", "PB")]
    # The same person twice in a row (touching), in order...
    touching = [Shift(start, utc("2026-03-10T08:00"), "A", "PA"),
                Shift(utc("2026-03-10T08:00"), utc("2026-03-10T16:00"), "A", "PA"), joined[1]]
    assert merge_shifts(touching, start, end) == joined
    # ...or out of order, and ids PagerDuty left blank.
    blank = [Shift(s.start, s.end, s.user, "") for s in (touching[1], touching[0], touching[2])]
    assert merge_shifts(blank, start, end) == [Shift(s.start, s.end, s.user, None) for s in joined]
    assert merge_shifts([Shift(start, end, "A", "")], start, end) == [Shift(start, end, "A", None)]


def test_gaps_percent_and_handoffs_match_a_minute_by_minute_count() -> None:
    rnd = random.Random(13)
    start = utc("2026-03-10T00:00")
    end = start + timedelta(hours=48)
    for _ in range(200):
        shifts = []
        for _ in range(rnd.randint(0, 8)):
            first = start + timedelta(hours=rnd.randint(-6, 50))
            shifts.append(Shift(first, first + timedelta(hours=rnd.choice([1, 6, 12, 24])), rnd.choice("ABC")))
        result = coverage(shifts, start, end)
        minutes = [start + timedelta(minutes=m) for m in range(48 * 60)]
        who = [tuple(sorted({s.user for s in shifts if s.start <= t < s.end})) for t in minutes]
        nobody = [t for t, names in zip(minutes, who, strict=True) if not names]
        assert result.percent == round(100 * (len(minutes) - len(nobody)) / len(minutes), 2)
        assert [t for gap in result.gaps for t in minutes if gap.start <= t < gap.end] == nobody
        changes = [Handoff(t, who[i - 1], who[i]) for i, t in enumerate(minutes) if i and who[i] != who[i - 1]]
        assert list(result.handoffs) == changes
