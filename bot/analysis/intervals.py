"""Half-open time intervals ``[start, end)``: union, clip, complement (the gaps) and coverage percent.

Pure arithmetic shared by schedule coverage (:mod:`bot.analysis.coverage`) and on-call gaps
(:mod:`bot.analysis.oncall`). Datetimes are aware; empty intervals (``end <= start``) are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import NamedTuple


class Interval(NamedTuple):
    """``[start, end)``; a plain ``(start, end)`` pair compares equal to it."""

    start: datetime
    end: datetime

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    @property
    def hours(self) -> float:
        return round(self.duration.total_seconds() / 3600, 2)


def union(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping intervals covering the same instants (touching ones are joined)."""
    # Intervals are (start, end) tuples: their natural order is the (start, end) order.
    merged: list[Interval] = []
    for item in sorted(i for i in intervals if i.end > i.start):
        if merged and item.start <= merged[-1].end:
            last = merged[-1]
            if item.end > last.end:
                merged[-1] = Interval(last.start, item.end)
        else:
            merged.append(item)
    return merged


def clip(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    """The parts of the intervals inside ``[start, end)``; an interval already inside is kept as it is."""
    clipped: list[Interval] = []
    for item in intervals:
        low, high = max(item.start, start), min(item.end, end)
        if high > low:
            inside = low is item.start and high is item.end
            clipped.append(item if inside and isinstance(item, Interval) else Interval(low, high))
    return clipped


def complement(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    """The maximal parts of ``[start, end)`` that no interval covers (none when ``end <= start``)."""
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
