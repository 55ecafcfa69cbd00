"""On-call rows grouped per policy and level, "until when", "me now / next", and coverage gaps."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.analysis.oncall import (
    OnCall,
    group_levels,
    merge_contiguous,
    merge_sources,
    my_oncall,
    parse_oncalls,
    uncovered,
)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def row(level: int, user: str, start: str | None, end: str | None, schedule: str | None = "Primary",
        policy: str = "EP1") -> dict[str, Any]:
    return {
        "escalation_policy": {"id": policy, "type": "escalation_policy_reference", "summary": f"Policy {policy}"},
        "escalation_level": level,
        "schedule": {"id": f"S-{schedule}", "type": "schedule_reference", "summary": schedule} if schedule else None,
        "user": {"id": f"U-{user}", "type": "user_reference", "summary": user},
        "start": start,
        "end": end,
    }


def entry(level: int, user: str, start: str | None, end: str | None, schedule: str | None = "Primary",
          policy: str = "EP1") -> OnCall:
    return OnCall(policy, f"Policy {policy}", level, f"U-{user}", user, f"S-{schedule}" if schedule else None,
                  schedule, utc(start) if start else None, utc(end) if end else None)


def test_parse_reads_names_from_reference_summaries_and_permanent_rows() -> None:
    rows = parse_oncalls([row(1, "Ben", "2026-03-10T11:00:00Z", "2026-03-10T19:00:00Z"),
                          row(3, "Priya", None, None, schedule=None), {"user": None}])
    assert rows[0] == entry(1, "Ben", "2026-03-10T11:00Z", "2026-03-10T19:00Z")
    assert rows[1].permanent and rows[1].schedule_name is None and rows[1].start is None
    assert len(rows) == 2  # a row without a user is skipped


def test_levels_sorted_then_by_start_with_permanent_first_and_empty_levels_added() -> None:
    rows = [entry(2, "Emma", "2026-03-10T09:00Z", "2026-03-11T09:00Z"),
            entry(1, "Zed", "2026-03-11T09:00Z", "2026-03-12T09:00Z"),
            entry(1, "Ann", "2026-03-10T09:00Z", "2026-03-11T09:00Z"),
            entry(1, "Dir", None, None, schedule=None),
            entry(1, "Ann", "2026-03-10T09:00Z", "2026-03-11T09:00Z")]  # duplicate row
    grouped = group_levels(rows, {"EP1": 3, "EP2": 2})
    assert [g.policy_id for g in grouped] == ["EP1", "EP2"]
    levels = grouped[0].levels
    assert [lv.level for lv in levels] == [1, 2, 3]
    assert [e.user_name for e in levels[0].entries] == ["Dir", "Ann", "Zed"]
    assert levels[2].entries == ()  # nobody at level 3
    assert [lv.level for lv in grouped[1].levels] == [1, 2] and not grouped[1].levels[0].entries


def test_merge_joins_touching_periods_of_the_same_person_and_schedule_only() -> None:
    override = entry(1, "Ben", "2026-03-10T11:00Z", "2026-03-10T19:00Z")
    own_turn = entry(1, "Ben", "2026-03-10T19:00Z", "2026-03-16T13:00Z")
    other_schedule = entry(1, "Ben", "2026-03-16T13:00Z", "2026-03-17T13:00Z", schedule="Backup")
    merged = merge_contiguous([own_turn, override, other_schedule])
    assert len(merged) == 2
    joined = next(e for e in merged if e.schedule_name == "Primary")
    assert (joined.start, joined.end) == (utc("2026-03-10T11:00Z"), utc("2026-03-16T13:00Z"))


def test_one_person_through_several_targets_of_a_level_is_one_entry() -> None:
    direct = entry(2, "Diego", None, None, schedule=None)
    shift = entry(2, "Diego", "2026-03-10T13:00Z", "2026-03-10T21:00Z", schedule="Secondary")
    other = entry(2, "Emma", "2026-03-10T13:00Z", "2026-03-10T21:00Z", schedule="Secondary")
    merged = merge_sources([shift, direct, other])
    assert sorted((e.user_name, e.permanent, e.also_via) for e in merged) == [
        ("Diego", True, ("Secondary",)), ("Emma", False, ())]
    # Two schedules at once: one stretch over both; one after the other: two shifts.
    primary = entry(1, "Ben", "2026-03-10T11:00Z", "2026-03-10T19:00Z")
    backup = entry(1, "Ben", "2026-03-10T15:00Z", "2026-03-11T01:00Z", schedule="Backup")
    later = entry(1, "Ben", "2026-03-11T01:00Z", "2026-03-11T09:00Z", schedule="Third")
    [joined, apart] = sorted(merge_sources([backup, later, primary]), key=lambda e: e.start or utc("1970-01-01T00:00Z"))
    assert (joined.schedule_name, joined.also_via, joined.end) == ("Primary", ("Backup",), utc("2026-03-11T01:00Z"))
    assert (apart.schedule_name, apart.also_via) == ("Third", ())
    assert [e.user_name for e in group_levels([shift, direct])[0].levels[0].entries] == ["Diego"]


def test_next_is_never_a_period_already_listed_nor_a_guess() -> None:
    """Rows are /oncalls?earliest=true: one period per policy level. Past a listed (or running) period
    of a level, that level's following one is unread: a candidate after it may not be the next."""
    now = utc("2026-03-10T14:00Z")
    soon = entry(1, "Sam", "2026-03-10T19:00Z", "2026-03-16T13:00Z")
    between = entry(2, "Sam", "2026-03-12T09:00Z", "2026-03-13T09:00Z", policy="EP2")
    later = entry(2, "Sam", "2026-03-23T09:00Z", "2026-03-30T09:00Z", policy="EP3")
    assert my_oncall([soon, later], now).upcoming == soon
    assert my_oncall([soon, between, later], now, listed=[soon]).upcoming == between  # surely before the unread
    unsure = my_oncall([soon, later], now, listed=[soon], listed_until=utc("2026-03-23T04:00Z"))
    assert unsure.upcoming is None and unsure.next_unknown  # EP1's next could start from 16 Mar
    running = my_oncall([soon, later], utc("2026-03-11T14:00Z"))
    assert running.current == (soon,) and running.upcoming is None and running.next_unknown
    assert my_oncall([later], now).next_unknown is False


def test_my_oncall_now_and_next() -> None:
    now = utc("2026-03-10T14:00Z")
    rows = [entry(1, "Sam", "2026-03-10T19:00Z", "2026-03-16T13:00Z"),
            entry(2, "Sam", "2026-03-12T09:00Z", "2026-03-13T09:00Z", policy="EP2"),
            entry(1, "Sam", "2026-03-09T13:00Z", "2026-03-10T20:00Z", policy="EP3")]
    mine = my_oncall(rows, now)  # EP1 at 19:00 surely comes before EP3's following period (from 20:00)
    assert [e.policy_id for e in mine.current] == ["EP3"]
    assert mine.upcoming is not None and mine.upcoming.start == utc("2026-03-10T19:00Z")
    nothing = my_oncall([], now)
    assert nothing.current == () and nothing.upcoming is None


def test_uncovered_finds_gaps_inside_the_window() -> None:
    since, until = utc("2026-03-13T00:00Z"), utc("2026-03-15T00:00Z")
    rows = [entry(2, "Emma", "2026-03-09T09:00Z", "2026-03-13T20:00Z"),
            entry(2, "Aisha", "2026-03-14T08:00Z", "2026-03-14T20:00Z")]
    assert uncovered(rows, since, until) == [(utc("2026-03-13T20:00Z"), utc("2026-03-14T08:00Z")),
                                             (utc("2026-03-14T20:00Z"), until)]
    assert uncovered([entry(3, "Priya", None, None, schedule=None)], since, until) == []
    assert uncovered([], since, until) == [(since, until)]
    assert uncovered(rows, since, since) == []  # an instant: an empty level says it
