"""On-call coverage, computed from who is on call when: gaps, coverage %, handoffs, escalation levels.

Pure: no I/O. Inputs are shift entries (``start``, ``end``, who) for a window ``[start, end)``, as
PagerDuty renders a *final* schedule (overrides already applied), or PagerDuty's own dicts converted by
:func:`shifts_from_v2`, :func:`shifts_from_v3` and :func:`oncalls_from_api`. All datetimes are aware;
results are in UTC and shown in the asker's zone by the caller.

* A **gap** is a maximal interval of the window in which nobody is on call.
* **Coverage %** is the covered share of the window, rounded to 2 decimals (PagerDuty's
  ``rendered_coverage_percentage`` convention).
* A **handoff** is an instant inside the window where the set of people on call changes
  (to or from nobody included).
* An **escalation level** is covered when any of its targets is: a schedule target while someone is on
  call on it, a user target always (PagerDuty's "permanent" on-call with null start/end).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "Coverage",
    "Handoff",
    "Interval",
    "LevelCoverage",
    "OnCallPeriod",
    "Shift",
    "complement",
    "coverage",
    "coverage_percent",
    "handoffs",
    "level_coverage",
    "merge_shifts",
    "oncalls_from_api",
    "parse_time",
    "shifts_from_v2",
    "shifts_from_v3",
    "union",
    "uncovered_by_all",
]


@dataclass(frozen=True, slots=True)
class Interval:
    """``[start, end)``."""

    start: datetime
    end: datetime

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    @property
    def hours(self) -> float:
        return round(self.duration.total_seconds() / 3600, 2)


@dataclass(frozen=True, slots=True)
class Shift:
    """``user`` (a display name) on call for ``[start, end)``."""

    start: datetime
    end: datetime
    user: str
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class Handoff:
    """At ``at`` the people on call change from ``before`` to ``after`` (empty = nobody)."""

    at: datetime
    before: tuple[str, ...]
    after: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Coverage:
    """A schedule over a window: merged shifts, gaps, coverage % and handoffs."""

    start: datetime
    end: datetime
    shifts: tuple[Shift, ...]
    gaps: tuple[Interval, ...]
    percent: float
    handoffs: tuple[Handoff, ...]

    @property
    def fully_covered(self) -> bool:
        return not self.gaps


@dataclass(frozen=True, slots=True)
class OnCallPeriod:
    """One ``/oncalls`` row: ``user`` on call at escalation ``level``; None bounds mean "permanently"."""

    level: int
    user: str
    start: datetime | None
    end: datetime | None
    schedule: str | None = None


@dataclass(frozen=True, slots=True)
class LevelCoverage:
    """One escalation level over a window: who is on call, whether always, and when nobody is."""

    level: int
    users: tuple[str, ...]
    permanent: tuple[str, ...]
    covered: tuple[Interval, ...]
    gaps: tuple[Interval, ...]
    percent: float

    @property
    def covered_throughout(self) -> bool:
        return not self.gaps


# --------------------------------------------------------------------------- interval arithmetic


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping intervals covering the same instants (touching ones are joined)."""
    merged: list[Interval] = []
    for item in sorted((i for i in intervals if i.end > i.start), key=lambda i: (i.start, i.end)):
        if merged and item.start <= merged[-1].end:
            last = merged[-1]
            merged[-1] = Interval(last.start, max(last.end, item.end))
        else:
            merged.append(item)
    return merged


def clip(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    clipped = (Interval(max(i.start, start), min(i.end, end)) for i in intervals)
    return [i for i in clipped if i.end > i.start]


def complement(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    """The maximal parts of ``[start, end)`` that no interval covers."""
    holes: list[Interval] = []
    cursor = start
    for item in union(clip(intervals, start, end)):
        if item.start > cursor:
            holes.append(Interval(cursor, item.start))
        cursor = max(cursor, item.end)
    if cursor < end:
        holes.append(Interval(cursor, end))
    return holes


def coverage_percent(covered: Iterable[Interval], start: datetime, end: datetime) -> float:
    """Covered share of ``[start, end)`` in percent, 2 decimals; an empty window counts as covered."""
    total = (end - start).total_seconds()
    if total <= 0:
        return 100.0
    seconds = sum(i.duration.total_seconds() for i in union(clip(covered, start, end)))
    return round(100 * seconds / total, 2)


# --------------------------------------------------------------------------- schedules


def merge_shifts(shifts: Iterable[Shift], start: datetime, end: datetime) -> list[Shift]:
    """Shifts clipped to the window, consecutive or overlapping ones of the same person joined,
    in order of start (then name)."""
    by_user: dict[str, list[Shift]] = {}
    for shift in shifts:
        lo, hi = max(shift.start, start), min(shift.end, end)
        if hi > lo:
            by_user.setdefault(shift.user, []).append(Shift(lo, hi, shift.user, shift.user_id))
    merged: list[Shift] = []
    for items in by_user.values():
        items.sort(key=lambda s: s.start)
        current = items[0]
        for shift in items[1:]:
            if shift.start <= current.end:
                current = Shift(current.start, max(current.end, shift.end), current.user,
                                current.user_id or shift.user_id)
            else:
                merged.append(current)
                current = shift
        merged.append(current)
    merged.sort(key=lambda s: (s.start, s.end, s.user))
    return merged


def handoffs(shifts: Sequence[Shift], start: datetime, end: datetime) -> list[Handoff]:
    """Every instant strictly inside the window at which the set of people on call changes."""
    inside = [Shift(max(s.start, start), min(s.end, end), s.user) for s in shifts]
    inside = [s for s in inside if s.end > s.start]
    moments = sorted({t for s in inside for t in (s.start, s.end) if start < t < end})
    found: list[Handoff] = []
    for at in moments:
        before = tuple(sorted({s.user for s in inside if s.start < at <= s.end}))
        after = tuple(sorted({s.user for s in inside if s.start <= at < s.end}))
        if before != after:
            found.append(Handoff(at, before, after))
    return found


def coverage(shifts: Iterable[Shift], start: datetime, end: datetime,
             explicit_gaps: Iterable[Interval] = ()) -> Coverage:
    """A schedule's coverage of ``[start, end)`` from its final-schedule shifts.

    ``explicit_gaps`` (v3 ``empty_member`` assignments) always count as uncovered, on top of the time
    no shift covers.
    """
    merged = merge_shifts(shifts, start, end)
    covered = [Interval(s.start, s.end) for s in merged]
    holes = union([*complement(covered, start, end), *clip(explicit_gaps, start, end)])
    gap_seconds = sum(h.duration.total_seconds() for h in holes)
    total = (end - start).total_seconds()
    percent = 100.0 if total <= 0 else round(100 * (total - gap_seconds) / total, 2)
    return Coverage(start, end, tuple(merged), tuple(holes), percent, tuple(handoffs(merged, start, end)))


# --------------------------------------------------------------------------- escalation levels


def level_coverage(periods: Iterable[OnCallPeriod], levels: Iterable[int], start: datetime,
                   end: datetime) -> list[LevelCoverage]:
    """Per escalation level (every level in ``levels``, even one nobody is on call for): who is on
    call in ``[start, end)``, the covered time, and the gaps when nobody is."""
    by_level: dict[int, list[OnCallPeriod]] = {level: [] for level in levels}
    for period in periods:
        by_level.setdefault(period.level, []).append(period)
    result: list[LevelCoverage] = []
    for level in sorted(by_level):
        rows = by_level[level]
        permanent = tuple(dict.fromkeys(r.user for r in rows if r.start is None and r.end is None))
        spans = [Interval(r.start or start, r.end or end) for r in rows]
        covered = union(clip(spans, start, end))
        users = tuple(dict.fromkeys(
            r.user for r in sorted(rows, key=lambda r: r.start or start)
            if (r.start or start) < end and (r.end or end) > start))
        holes = complement(covered, start, end)
        result.append(LevelCoverage(level, users, permanent, tuple(covered), tuple(holes),
                                    coverage_percent(covered, start, end)))
    return result


def uncovered_by_all(levels: Sequence[LevelCoverage], start: datetime, end: datetime) -> list[Interval]:
    """When no level at all has anyone on call (an incident would page nobody)."""
    return complement([i for level in levels for i in level.covered], start, end)


# --------------------------------------------------------------------------- PagerDuty shapes


def parse_time(text: str) -> datetime:
    """A PagerDuty ISO-8601 timestamp (``Z`` or an offset) as an aware UTC datetime."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _name(ref: Any) -> str:
    if isinstance(ref, Mapping):
        return str(ref.get("summary") or ref.get("name") or ref.get("email") or ref.get("id") or "unknown")
    return "unknown"


def shifts_from_v2(entries: Iterable[Mapping[str, Any]]) -> list[Shift]:
    """``final_schedule.rendered_schedule_entries`` (``{start, end, user}``) as shifts."""
    shifts: list[Shift] = []
    for entry in entries:
        user = entry.get("user")
        user_id = user.get("id") if isinstance(user, Mapping) else None
        shifts.append(Shift(parse_time(str(entry["start"])), parse_time(str(entry["end"])), _name(user),
                            str(user_id) if user_id else None))
    return shifts


def shifts_from_v3(assignments: Iterable[Mapping[str, Any]],
                   names: Mapping[str, str]) -> tuple[list[Shift], list[Interval]]:
    """``final_schedule.computed_shift_assignments`` as shifts (``user_member``, named through
    ``names``: user id -> name, the id when unknown) and explicit gaps (``empty_member``)."""
    shifts: list[Shift] = []
    gaps: list[Interval] = []
    for item in assignments:
        start, end = parse_time(str(item["start_time"])), parse_time(str(item["end_time"]))
        member = item.get("member")
        member = member if isinstance(member, Mapping) else {}
        user_id = member.get("user_id")
        if member.get("type") == "empty_member" or not user_id:
            gaps.append(Interval(start, end))
        else:
            shifts.append(Shift(start, end, names.get(str(user_id), str(user_id)), str(user_id)))
    return shifts, gaps


def oncalls_from_api(rows: Iterable[Mapping[str, Any]]) -> list[OnCallPeriod]:
    """``/oncalls`` rows; ``start``/``end`` null (a user target on the rule) stay None: permanent."""
    periods: list[OnCallPeriod] = []
    for row in rows:
        start, end = row.get("start"), row.get("end")
        schedule = row.get("schedule")
        periods.append(OnCallPeriod(
            int(row.get("escalation_level") or 0), _name(row.get("user")),
            parse_time(start) if isinstance(start, str) and start else None,
            parse_time(end) if isinstance(end, str) and end else None,
            _name(schedule) if isinstance(schedule, Mapping) else None))
    return periods
