"""On-call coverage, computed from who is on call when: gaps, coverage %, handoffs, escalation levels.

Pure: no I/O. Inputs are shift entries (``start``, ``end``, who) for a window ``[start, end)``, as
PagerDuty renders a *final* schedule (overrides already applied), or PagerDuty's own dicts converted by
:func:`shifts_from_v2` and :func:`shifts_from_v3`; escalation levels take ``/oncalls`` rows parsed by
:func:`bot.analysis.oncall.parse_oncalls`; the interval arithmetic is :mod:`bot.analysis.intervals`.
All datetimes are aware; results are in UTC and shown in the asker's zone by the caller.

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
from datetime import datetime
from functools import cached_property, lru_cache
from typing import Any

from bot.analysis.intervals import Interval, clip, complement, coverage_percent, union
from bot.analysis.oncall import OnCall, spans
from bot.analysis.windows import parse_instant

__all__ = [
    "Coverage",
    "Handoff",
    "LevelCoverage",
    "Shift",
    "coverage",
    "handoffs",
    "level_coverage",
    "merge_shifts",
    "shifts_from_v2",
    "shifts_from_v3",
    "uncovered_by_all",
]


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


@dataclass(frozen=True)
class Coverage:
    """A schedule over a window: merged shifts, gaps, coverage % and handoffs."""

    start: datetime
    end: datetime
    shifts: tuple[Shift, ...]
    gaps: tuple[Interval, ...]
    percent: float

    @property
    def fully_covered(self) -> bool:
        return not self.gaps

    @cached_property
    def handoffs(self) -> tuple[Handoff, ...]:
        """Worked out when first read: an overview of every schedule reads only gaps and percent."""
        return tuple(handoffs(self.shifts, self.start, self.end))


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


# --------------------------------------------------------------------------- schedules


def merge_shifts(shifts: Iterable[Shift], start: datetime, end: datetime) -> list[Shift]:
    """Shifts clipped to the window, consecutive or overlapping ones of the same person joined,
    in order of start (then name)."""
    shifts = list(shifts)
    if _already_merged(shifts, start, end):
        return shifts
    by_user: dict[str, list[Shift]] = {}
    for shift in shifts:
        by_user.setdefault(shift.user, []).append(shift)
    merged: list[Shift] = []
    for user, own in by_user.items():
        own.sort(key=lambda s: max(s.start, start))  # a run keeps the first id known in it
        # A shift of no length (end <= start) is in no run but may still lend a run its id.
        degenerate = any(s.end <= s.start for s in own)
        for run_start, run_end, members in _runs(own, start, end):
            first = members[0]
            if (len(members) == 1 and not degenerate and run_start is first.start and run_end is first.end
                    and (first.user_id or first.user_id is None)):
                merged.append(first)  # inside the window and joined to nothing: the shift as it is
                continue
            ids = (s.user_id for s in (own if degenerate else members)
                   if s.user_id and s.start < run_end and s.end > run_start)
            merged.append(Shift(run_start, run_end, user, next(ids, None)))
    merged.sort(key=lambda s: (s.start, s.end, s.user))
    return merged


def _already_merged(shifts: Sequence[Shift], start: datetime, end: datetime) -> bool:
    """Whether merging would return the shifts as they are (PagerDuty renders most final schedules
    so): inside the window, in order, none empty, no person's shifts overlapping or touching."""
    last_end: dict[str, datetime] = {}
    previous: tuple[datetime, datetime, str] | None = None
    for shift in shifts:
        key = (shift.start, shift.end, shift.user)
        if not start <= shift.start < shift.end <= end or shift.user_id == "":
            return False
        if previous is not None and key < previous:
            return False
        own_last = last_end.get(shift.user)
        if own_last is not None and shift.start <= own_last:
            return False
        last_end[shift.user], previous = shift.end, key
    return True


def _runs(own: Sequence[Shift], start: datetime,
          end: datetime) -> list[tuple[datetime, datetime, list[Shift]]]:
    """One person's shifts (in order of clipped start) as runs of overlapping or touching ones inside
    the window: ``(start, end, the shifts in it)``."""
    runs: list[tuple[datetime, datetime, list[Shift]]] = []
    for shift in own:
        low, high = max(shift.start, start), min(shift.end, end)
        if high <= low:
            continue
        if runs and low <= runs[-1][1]:
            run_start, run_end, members = runs[-1]
            members.append(shift)
            if high > run_end:
                runs[-1] = (run_start, high, members)
        else:
            runs.append((low, high, [shift]))
    return runs


def handoffs(shifts: Sequence[Shift], start: datetime, end: datetime) -> list[Handoff]:
    """Every instant strictly inside the window at which the set of people on call changes."""
    # A sweep over the shifts' starts and ends (clipped to the window), counting who is on call.
    starts: dict[datetime, list[str]] = {}
    ends: dict[datetime, list[str]] = {}
    for shift in shifts:
        low, high = max(shift.start, start), min(shift.end, end)
        if high > low:
            starts.setdefault(low, []).append(shift.user)
            ends.setdefault(high, []).append(shift.user)
    on_call: dict[str, int] = {}
    found: list[Handoff] = []
    for at in sorted(starts.keys() | ends.keys()):
        before = tuple(sorted(on_call))
        for user in ends.get(at, ()):
            on_call[user] -= 1
            if not on_call[user]:
                del on_call[user]
        for user in starts.get(at, ()):
            on_call[user] = on_call.get(user, 0) + 1
        after = tuple(sorted(on_call))
        if start < at < end and before != after:
            found.append(Handoff(at, before, after))
    return found


def coverage(shifts: Iterable[Shift], start: datetime, end: datetime,
             explicit_gaps: Iterable[Interval] = ()) -> Coverage:
    """A schedule's coverage of ``[start, end)`` from its final-schedule shifts.

    ``explicit_gaps`` (v3 ``empty_member`` assignments) always count as uncovered, on top of the time
    no shift covers.
    """
    merged = merge_shifts(shifts, start, end)
    # The merged shifts are inside the window and sorted by start: their union is one pass.
    covered: list[Interval] = []
    for shift in merged:
        if covered and shift.start <= covered[-1].end:
            if shift.end > covered[-1].end:
                covered[-1] = Interval(covered[-1].start, shift.end)
        else:
            covered.append(Interval(shift.start, shift.end))
    holes = complement(covered, start, end)
    explicit = clip(explicit_gaps, start, end)
    if explicit:
        holes = union([*holes, *explicit])
        covered = complement(holes, start, end)
    percent = coverage_percent(covered, start, end)
    return Coverage(start, end, tuple(merged), tuple(holes), percent)


# --------------------------------------------------------------------------- escalation levels


def level_coverage(periods: Iterable[OnCall], levels: Iterable[int], start: datetime,
                   end: datetime) -> list[LevelCoverage]:
    """Per escalation level (every level in ``levels``, even one nobody is on call for): who is on
    call in ``[start, end)``, the covered time, and the gaps when nobody is."""
    by_level: dict[int, list[OnCall]] = {level: [] for level in levels}
    for period in periods:
        by_level.setdefault(period.level, []).append(period)
    result: list[LevelCoverage] = []
    for level in sorted(by_level):
        rows = by_level[level]
        permanent = tuple(dict.fromkeys(r.user_name for r in rows if r.start is None and r.end is None))
        covered = union(clip(spans(rows, start, end), start, end))
        users = tuple(dict.fromkeys(
            r.user_name for r in sorted(rows, key=lambda r: r.start or start)
            if (r.start or start) < end and (r.end or end) > start))
        result.append(LevelCoverage(level, users, permanent, tuple(covered), tuple(complement(covered, start, end)),
                                    coverage_percent(covered, start, end)))
    return result


def uncovered_by_all(levels: Sequence[LevelCoverage], start: datetime, end: datetime) -> list[Interval]:
    """When no level at all has anyone on call (an incident would page nobody)."""
    return complement([i for level in levels for i in level.covered], start, end)


# --------------------------------------------------------------------------- PagerDuty shapes


def _name(ref: Any) -> str:
    if isinstance(ref, Mapping):
        return str(ref.get("summary") or ref.get("name") or ref.get("email") or ref.get("id") or "unknown")
    return "unknown"


@lru_cache(maxsize=4_096)
def _instant(text: str) -> datetime:
    """:func:`parse_instant`, remembered: a schedule's shifts share their boundaries (one's end is the
    next one's start) and an account's schedules share handoff times and the window's edges."""
    return parse_instant(text)


def shifts_from_v2(entries: Iterable[Mapping[str, Any]]) -> list[Shift]:
    """``final_schedule.rendered_schedule_entries`` (``{start, end, user}``) as shifts."""
    shifts: list[Shift] = []
    for entry in entries:
        user = entry.get("user")
        user_id = user.get("id") if isinstance(user, Mapping) else None
        shifts.append(Shift(_instant(str(entry["start"])), _instant(str(entry["end"])), _name(user),
                            str(user_id) if user_id else None))
    return shifts


def shifts_from_v3(assignments: Iterable[Mapping[str, Any]],
                   names: Mapping[str, str]) -> tuple[list[Shift], list[Interval]]:
    """``final_schedule.computed_shift_assignments`` as shifts (``user_member``, named through
    ``names``: user id -> name, the id when unknown) and explicit gaps (``empty_member``)."""
    shifts: list[Shift] = []
    gaps: list[Interval] = []
    for item in assignments:
        start, end = _instant(str(item["start_time"])), _instant(str(item["end_time"]))
        member = item.get("member")
        member = member if isinstance(member, Mapping) else {}
        user_id = member.get("user_id")
        if member.get("type") == "empty_member" or not user_id:
            gaps.append(Interval(start, end))
        else:
            shifts.append(Shift(start, end, names.get(str(user_id), str(user_id)), str(user_id)))
    return shifts, gaps
