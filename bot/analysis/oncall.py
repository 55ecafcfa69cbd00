"""Who is on call, grouped the way people read it: per escalation policy, level by level, with "until when".

Input is what ``GET /oncalls`` returns (one row per policy, level, user and on-call period); rows with
no ``start``/``end`` (and no schedule) are *permanent* on-calls: a user targeted directly by a rule.
Everything here is pure: no I/O, no clock (``now`` is passed in).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.analysis.intervals import Interval, complement
from bot.analysis.windows import instant_or_none


@dataclass(frozen=True, slots=True)
class OnCall:
    """One on-call period of one person at one level of one escalation policy."""

    policy_id: str
    policy_name: str
    level: int
    user_id: str
    user_name: str
    schedule_id: str | None = None
    schedule_name: str | None = None
    """None: the user is a direct (permanent) target of the level."""
    start: datetime | None = None
    end: datetime | None = None
    """None: on call permanently (no end)."""
    also_via: tuple[str, ...] = ()
    """Other schedules (or "direct") that put the same person on call at this level over the same
    time, merged into this entry by :func:`merge_sources` so a person is listed once per level."""

    @property
    def permanent(self) -> bool:
        return self.end is None

    def covers(self, instant: datetime) -> bool:
        """On call at ``instant`` (permanent on-calls always are)."""
        return (self.start is None or self.start <= instant) and (self.end is None or instant < self.end)


@dataclass(frozen=True, slots=True)
class Level:
    level: int
    entries: tuple[OnCall, ...]
    """Sorted by start (permanent first), then name; empty means nobody is on call at this level."""


@dataclass(frozen=True, slots=True)
class PolicyLevels:
    policy_id: str
    policy_name: str
    levels: tuple[Level, ...]


@dataclass(frozen=True, slots=True)
class MyOnCall:
    """A person's on-call: what is running at ``now`` and the next period that starts later (one not
    already listed)."""

    current: tuple[OnCall, ...]
    upcoming: OnCall | None
    next_unknown: bool = False
    """No ``upcoming`` because the next period may be one that was not read (see :func:`my_oncall`)."""


def _ref(row: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = row.get(key)
    return value if isinstance(value, Mapping) else {}


def parse_oncalls(rows: Iterable[Mapping[str, Any]]) -> list[OnCall]:
    """``GET /oncalls`` rows -> :class:`OnCall` (names come from the references' ``summary``)."""
    parsed: list[OnCall] = []
    for row in rows:
        policy, user, schedule = _ref(row, "escalation_policy"), _ref(row, "user"), _ref(row, "schedule")
        if not user.get("id"):
            continue
        parsed.append(OnCall(
            policy_id=str(policy.get("id", "")),
            policy_name=str(policy.get("summary") or policy.get("name") or ""),
            level=int(row.get("escalation_level") or 1),
            user_id=str(user["id"]),
            user_name=str(user.get("summary") or user.get("name") or user["id"]),
            schedule_id=str(schedule["id"]) if schedule.get("id") else None,
            schedule_name=str(schedule.get("summary") or schedule.get("name") or "") if schedule else None,
            start=instant_or_none(row.get("start")),
            end=instant_or_none(row.get("end")),
        ))
    return parsed


def _order(entry: OnCall) -> tuple[float, str]:
    """Permanent (no start) first, then by start, then by name."""
    return (float("-inf") if entry.start is None else entry.start.timestamp(), entry.user_name.lower())


def merge_contiguous(entries: Iterable[OnCall]) -> list[OnCall]:
    """Drop duplicates and join periods of the same person, level and schedule that touch or overlap
    (an override followed by their regular turn reads as one stretch "until" the later end)."""
    ordered = sorted(set(entries), key=lambda e: (e.policy_id, e.level, e.user_id, e.schedule_id or "",
                                                   *_order(e)))
    merged: list[OnCall] = []
    for entry in ordered:
        last = merged[-1] if merged else None
        if (last is not None and (last.policy_id, last.level, last.user_id, last.schedule_id)
                == (entry.policy_id, entry.level, entry.user_id, entry.schedule_id)
                and last.end is not None and entry.start is not None and entry.start <= last.end):
            end = None if entry.end is None else max(last.end, entry.end)
            merged[-1] = replace(last, end=end)
        else:
            merged.append(entry)
    return merged


def _overlaps(a: OnCall, b: OnCall) -> bool:
    """The two periods share some time (an open bound reaches forever)."""
    return (a.end is None or b.start is None or b.start < a.end) and (
        b.end is None or a.start is None or a.start < b.end)


def merge_sources(entries: Iterable[OnCall]) -> list[OnCall]:
    """One entry per person, policy level and stretch of time: when the same person is on call at a
    level through several targets at once (a direct user target and a schedule, or two schedules),
    the overlapping entries become one, spanning them all, whose ``also_via`` names the others. A
    permanent (direct) entry absorbs every other entry of that person at that level."""
    groups: dict[tuple[str, int, str], list[OnCall]] = {}
    for entry in merge_contiguous(entries):
        groups.setdefault((entry.policy_id, entry.level, entry.user_id), []).append(entry)
    merged: list[OnCall] = []
    for group in groups.values():
        kept: list[OnCall] = []
        for entry in sorted(group, key=_order):
            last = kept[-1] if kept else None
            if last is None or not _overlaps(last, entry):
                kept.append(entry)
                continue
            first = last.schedule_name or "direct"
            via = [v for v in (*last.also_via, entry.schedule_name or "direct", *entry.also_via) if v != first]
            end = None if last.end is None or entry.end is None else max(last.end, entry.end)
            kept[-1] = replace(last, end=end, also_via=tuple(dict.fromkeys(via)))
        merged.extend(kept)
    return merged


def group_levels(rows: Iterable[OnCall], level_counts: Mapping[str, int] | None = None) -> list[PolicyLevels]:
    """Rows grouped by policy (first-seen order), then level ascending, entries by start then name.

    ``level_counts`` (policy id -> number of levels) adds the levels nobody is on call for, as empty
    levels; a policy listed there with no rows at all still appears (with every level empty).
    """
    given = list(rows)
    merged = merge_sources(given)
    names: dict[str, str] = {}
    for entry in given:
        names.setdefault(entry.policy_id, entry.policy_name)
    for policy_id in level_counts or {}:
        names.setdefault(policy_id, "")
    seen_order = list(names)
    grouped: list[PolicyLevels] = []
    for policy_id in seen_order:
        by_level: dict[int, list[OnCall]] = {}
        for entry in merged:
            if entry.policy_id == policy_id:
                by_level.setdefault(entry.level, []).append(entry)
        for level in range(1, (level_counts or {}).get(policy_id, 0) + 1):
            by_level.setdefault(level, [])
        levels = tuple(Level(n, tuple(sorted(by_level[n], key=_order))) for n in sorted(by_level))
        grouped.append(PolicyLevels(policy_id, names[policy_id], levels))
    return grouped


def my_oncall(rows: Iterable[OnCall], now: datetime, listed: Iterable[OnCall] = (),
              listed_until: datetime | None = None) -> MyOnCall:
    """The periods running at ``now`` (permanent first) and the next one: the earliest starting after
    ``now`` that is not one of ``listed`` (the periods of a window the answer already shows, a window
    ending at ``listed_until``), so "next" tells something new.

    ``rows`` are ``/oncalls?earliest=true`` rows: one period per person and policy level from ``now``.
    When that period is running or listed, the level's following period is unknown and may come
    before every other candidate; then there is no "next" rather than a wrong one.
    """
    entries = merge_sources(rows)
    shown = list(listed)
    current = tuple(sorted((e for e in entries if e.covers(now)), key=_order))
    later: list[OnCall] = []
    unknown_from: list[datetime] = []  # where a level's following (unread) period could start
    for entry in entries:
        is_listed = any((s.policy_id, s.level, s.user_id) == (entry.policy_id, entry.level, entry.user_id)
                        and _overlaps(s, entry) for s in shown)
        if is_listed or entry.covers(now):
            if entry.end is not None:
                after = max(entry.end, listed_until) if is_listed and listed_until else entry.end
                unknown_from.append(after)
        elif entry.start is not None and entry.start > now:
            later.append(entry)
    upcoming = min(later, key=lambda e: (e.start, e.level, e.policy_name)) if later else None
    if unknown_from and (upcoming is None or (upcoming.start is not None and upcoming.start > min(unknown_from))):
        return MyOnCall(current, None, next_unknown=True)
    return MyOnCall(current, upcoming)


def spans(entries: Iterable[OnCall], since: datetime, until: datetime) -> list[Interval]:
    """The entries as intervals, an open bound (permanent on-call) standing for the window's edge."""
    return [Interval(e.start or since, e.end or until) for e in entries]


def uncovered(entries: Iterable[OnCall], since: datetime, until: datetime) -> list[Interval]:
    """The parts of ``[since, until)`` nobody in ``entries`` covers (coverage gaps), in order.

    A permanent entry covers everything; an instant window (``since == until``) has no gaps to
    report here (an empty level already says nobody is on call then)."""
    return complement(spans(entries, since, until), since, until)
