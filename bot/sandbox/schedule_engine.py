"""Pure rendering engine for PagerDuty layered ("v2") on-call schedules.

PagerDuty semantics implemented here:

* **Rotation.** A layer hands off every ``rotation_turn_length_seconds``, counted from
  ``rotation_virtual_start``: shift ``k`` covers ``[virtual_start + k*turn, virtual_start + (k+1)*turn)``
  and belongs to ``user_ids[k % len(user_ids)]``. ``k`` may be negative, so a virtual start in the
  future still defines who is on call before it. Shifts are clipped to ``[layer.start, layer.end)``.
* **DST.** When the turn is a whole number of days, handoffs keep the same *local* wall-clock time in the
  schedule's time zone (09:00 stays 09:00 across a change, so the shift spanning a spring-forward is 23 h
  and one spanning a fall-back is 25 h). Other turn lengths are absolute durations. Local times that do
  not exist or are ambiguous are resolved with ``fold=0`` (nonexistent times land after the gap, ambiguous
  times take the first occurrence).
* **Restrictions** are evaluated in the schedule's zone. A daily restriction opens a window at
  ``start_time_of_day`` on every local day; a weekly one opens it once a week on ``start_day_of_week``.
  Windows last ``duration_seconds`` of local wall-clock time and may cross midnight. Several restrictions
  on a layer act as the union of their windows. They only *mask* the rotation: handoffs keep happening on
  schedule even when nobody is shown.
* **Final schedule.** Layers are stacked lowest priority first; a higher layer wins wherever it has someone
  on call, lower layers show through its holes, and overrides sit on top of everything (the later-created
  override wins where overrides overlap). Touching entries of the same user are merged into one entry,
  as PagerDuty renders one entry for a continuous shift.

**Bounded work.** One :func:`render_layer` generates at most :data:`MAX_SPANS` rotation shifts and
restriction windows, and raises :class:`RenderLimitError` past it (also for windows at the far ends of
``datetime``), so no caller can make a render grow with the window it asks for.

Every function is pure; every returned datetime is aware and in UTC.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal, TypeVar
from zoneinfo import ZoneInfo

__all__ = [
    "Entry",
    "MAX_SPANS",
    "Layer",
    "OverrideSpan",
    "RenderLimitError",
    "Restriction",
    "coverage_percentage",
    "find_gaps",
    "merge_adjacent",
    "render_final",
    "render_layer",
    "render_overrides",
]

DAY_SECONDS = 86_400
WEEK_SECONDS = 7 * DAY_SECONDS
_DAY = timedelta(days=1)
_WEEK = timedelta(weeks=1)

MAX_SPANS = 20_000
"""Most rotation shifts, and separately most restriction windows, one layer render may generate: a year
of hourly handoffs (8,760) fits, an unbounded window does not."""

Interval = tuple[datetime, datetime]
T = TypeVar("T")


class RenderLimitError(ValueError):
    """A render would generate more than :data:`MAX_SPANS` spans, or reach past the dates ``datetime``
    can hold: the window must be narrowed. The message says so (routes answer it as a 400)."""


@dataclass(frozen=True, slots=True)
class Restriction:
    """A recurring window (in the schedule's zone) outside which a layer shows nobody."""

    type: Literal["daily_restriction", "weekly_restriction"]
    start_time_of_day: time
    duration_seconds: int
    start_day_of_week: int | None = None


@dataclass(frozen=True, slots=True)
class Layer:
    """One schedule layer: a rotation of users, optionally masked by restrictions."""

    id: str
    start: datetime
    end: datetime | None
    rotation_virtual_start: datetime
    rotation_turn_length_seconds: int
    user_ids: tuple[str, ...]
    restrictions: tuple[Restriction, ...] = ()


@dataclass(frozen=True, slots=True)
class Entry:
    """A rendered on-call entry; ``start``/``end`` are aware UTC datetimes."""

    start: datetime
    end: datetime
    user_id: str


@dataclass(frozen=True, slots=True)
class OverrideSpan:
    """An override; a higher ``created_order`` (created later) wins where overrides overlap."""

    start: datetime
    end: datetime
    user_id: str
    created_order: int = 0


# --------------------------------------------------------------------------- helpers


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    return value.astimezone(UTC)


def _wall(value: datetime, tz: ZoneInfo) -> datetime:
    """Naive local wall-clock time of an aware instant in ``tz``."""
    return value.astimezone(tz).replace(tzinfo=None)


def _from_wall(naive: datetime, tz: ZoneInfo) -> datetime:
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _union(intervals: Iterable[Interval]) -> list[Interval]:
    """Sorted, non-overlapping union; touching intervals are joined, empty ones dropped."""
    merged: list[Interval] = []
    for start, end in sorted(i for i in intervals if i[0] < i[1]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _limited(items: Iterable[T], layer: Layer, what: str) -> Iterator[T]:
    """``items`` unchanged, but a :class:`RenderLimitError` once more than :data:`MAX_SPANS` are pulled."""
    for count, item in enumerate(items, start=1):
        if count > MAX_SPANS:
            raise RenderLimitError(f"layer {layer.id}: the window needs more than {MAX_SPANS:,} {what}; "
                                   "narrow the window")
        yield item


def _clip(start: datetime, end: datetime, lo: datetime, hi: datetime) -> Interval | None:
    s, e = max(start, lo), min(end, hi)
    return (s, e) if s < e else None


# --------------------------------------------------------------------------- rotation


def _shift_boundary(layer: Layer, tz: ZoneInfo, k: int) -> datetime:
    """UTC instant at which shift ``k`` starts."""
    turn = layer.rotation_turn_length_seconds
    if turn % DAY_SECONDS == 0:
        origin = _wall(layer.rotation_virtual_start, tz)
        return _from_wall(origin + timedelta(days=k * (turn // DAY_SECONDS)), tz)
    return _utc(layer.rotation_virtual_start, "rotation_virtual_start") + timedelta(seconds=k * turn)


def _first_shift_index(layer: Layer, tz: ZoneInfo, at: datetime) -> int:
    """Index of the shift containing ``at``, found arithmetically (never by walking from the origin)."""
    turn = timedelta(seconds=layer.rotation_turn_length_seconds)
    if layer.rotation_turn_length_seconds % DAY_SECONDS == 0:
        # Wall-clock arithmetic is exact except for a DST offset, which the nudges below absorb.
        k = (_wall(at, tz) - _wall(layer.rotation_virtual_start, tz)) // turn
    else:
        k = (at - layer.rotation_virtual_start) // turn
    while _shift_boundary(layer, tz, k) > at:
        k -= 1
    while _shift_boundary(layer, tz, k + 1) <= at:
        k += 1
    return k


def _rotation_shifts(layer: Layer, tz: ZoneInfo, lo: datetime, hi: datetime) -> Iterator[Entry]:
    """Rotation shifts clipped to ``[lo, hi)``, ignoring restrictions."""
    k = _first_shift_index(layer, tz, lo)
    start = _shift_boundary(layer, tz, k)
    while start < hi:
        end = _shift_boundary(layer, tz, k + 1)
        clipped = _clip(start, end, lo, hi)
        if clipped is not None:
            yield Entry(clipped[0], clipped[1], layer.user_ids[k % len(layer.user_ids)])
        k, start = k + 1, end


# --------------------------------------------------------------------------- restrictions


def _local_window(day: date, restriction: Restriction, tz: ZoneInfo) -> Interval:
    opens = datetime.combine(day, restriction.start_time_of_day.replace(tzinfo=None))
    closes = opens + timedelta(seconds=restriction.duration_seconds)
    return _from_wall(opens, tz), _from_wall(closes, tz)


def _window_days(restriction: Restriction, first: date, last: date) -> Iterator[date]:
    """Local dates on which ``restriction`` opens a window that may overlap ``[first, last]``."""
    if restriction.type == "daily_restriction":
        day = first - timedelta(days=_ceil_div(restriction.duration_seconds, DAY_SECONDS))
        step = _DAY
    else:
        weekday = restriction.start_day_of_week
        if weekday is None or not 1 <= weekday <= 7:
            raise ValueError(f"weekly restriction needs start_day_of_week in 1..7, got {weekday!r}")
        week_start = first - timedelta(days=first.isoweekday() - 1)
        back = _ceil_div(restriction.duration_seconds, WEEK_SECONDS)
        day = week_start + timedelta(days=weekday - 1) - timedelta(weeks=back)
        step = _WEEK
    while day <= last:
        yield day
        day += step


def _restriction_windows(layer: Layer, tz: ZoneInfo, lo: datetime, hi: datetime) -> list[Interval]:
    """Union of all restriction windows, clipped to ``[lo, hi)``."""
    first, last = _wall(lo, tz).date(), _wall(hi, tz).date()
    windows: list[Interval] = []
    for restriction in layer.restrictions:
        if restriction.duration_seconds <= 0:
            continue
        for day in _limited(_window_days(restriction, first, last), layer, "restriction windows"):
            clipped = _clip(*_local_window(day, restriction, tz), lo, hi)
            if clipped is not None:
                windows.append(clipped)
    return _union(windows)


def _mask(shifts: Iterable[Entry], windows: Sequence[Interval]) -> list[Entry]:
    """Intersect sorted, non-overlapping shifts with sorted, non-overlapping windows."""
    masked: list[Entry] = []
    i = 0
    for shift in shifts:
        while i < len(windows) and windows[i][1] <= shift.start:
            i += 1
        j = i
        while j < len(windows) and windows[j][0] < shift.end:
            clipped = _clip(shift.start, shift.end, *windows[j])
            if clipped is not None:
                masked.append(Entry(clipped[0], clipped[1], shift.user_id))
            j += 1
    return masked


# --------------------------------------------------------------------------- public API


def render_layer(layer: Layer, tz: ZoneInfo, since: datetime, until: datetime) -> list[Entry]:
    """Entries of one layer within ``[since, until)``, restrictions applied, same-user runs merged."""
    if layer.rotation_turn_length_seconds <= 0:
        raise ValueError(f"layer {layer.id}: rotation_turn_length_seconds must be positive")
    try:
        lo = max(_utc(since, "since"), _utc(layer.start, "layer.start"))
        hi = _utc(until, "until")
        if layer.end is not None:
            hi = min(hi, _utc(layer.end, "layer.end"))
        _utc(layer.rotation_virtual_start, "rotation_virtual_start")
        if not layer.user_ids or lo >= hi:
            return []
        shifts = _limited(_rotation_shifts(layer, tz, lo, hi), layer, "rotation shifts")
        if layer.restrictions:
            return merge_adjacent(_mask(shifts, _restriction_windows(layer, tz, lo, hi)))
        return merge_adjacent(shifts)
    except OverflowError as exc:
        raise RenderLimitError(f"layer {layer.id}: the window reaches past the dates the engine can render; "
                               "narrow the window") from exc


def _stack(tiers: Sequence[Sequence[Entry]]) -> list[Entry]:
    """Flatten tiers (lowest priority first): each instant goes to the highest tier covering it."""
    items = sorted((e.start, rank, e) for rank, tier in enumerate(tiers) for e in tier if e.start < e.end)
    cuts = sorted({t for _, _, e in items for t in (e.start, e.end)})
    heap: list[tuple[int, datetime, str]] = []
    result: list[Entry] = []
    i = 0
    for cut, next_cut in zip(cuts, cuts[1:], strict=False):
        while i < len(items) and items[i][0] <= cut:
            _, rank, entry = items[i]
            heapq.heappush(heap, (-rank, entry.end, entry.user_id))
            i += 1
        while heap and heap[0][1] <= cut:
            heapq.heappop(heap)
        if heap:
            result.append(Entry(cut, next_cut, heap[0][2]))
    return merge_adjacent(result)


def _override_tiers(overrides: Sequence[OverrideSpan], since: datetime, until: datetime) -> list[list[Entry]]:
    """One tier per override, in creation order (list position breaks ties), clipped to the window."""
    lo, hi = _utc(since, "since"), _utc(until, "until")
    ordered = sorted(enumerate(overrides), key=lambda pair: (pair[1].created_order, pair[0]))
    tiers: list[list[Entry]] = []
    for _, override in ordered:
        clipped = _clip(_utc(override.start, "override.start"), _utc(override.end, "override.end"), lo, hi)
        tiers.append([Entry(clipped[0], clipped[1], override.user_id)] if clipped else [])
    return tiers


def render_overrides(overrides: Sequence[OverrideSpan], since: datetime, until: datetime) -> list[Entry]:
    """The ``overrides_subschedule``: effective overrides in ``[since, until)``, later-created winning."""
    return _stack(_override_tiers(overrides, since, until))


def render_final(
    layers: Sequence[Layer],
    overrides: Sequence[OverrideSpan],
    tz: ZoneInfo,
    since: datetime,
    until: datetime,
) -> list[Entry]:
    """The ``final_schedule``: layers (lowest priority first) stacked, overrides on top."""
    tiers: list[Sequence[Entry]] = [render_layer(layer, tz, since, until) for layer in layers]
    tiers.extend(_override_tiers(overrides, since, until))
    return _stack(tiers)


def merge_adjacent(entries: Iterable[Entry]) -> list[Entry]:
    """Sort entries and join each one into its predecessor when same user and touching (or overlapping)."""
    merged: list[Entry] = []
    for entry in sorted(entries, key=lambda e: (e.start, e.end, e.user_id)):
        last = merged[-1] if merged else None
        if last is not None and last.user_id == entry.user_id and entry.start <= last.end:
            merged[-1] = Entry(last.start, max(last.end, entry.end), last.user_id)
        else:
            merged.append(entry)
    return merged


def _covered(entries: Sequence[Entry], since: datetime, until: datetime) -> list[Interval]:
    lo, hi = _utc(since, "since"), _utc(until, "until")
    clipped = (_clip(_utc(e.start, "start"), _utc(e.end, "end"), lo, hi) for e in entries)
    return _union(c for c in clipped if c is not None)


def find_gaps(entries: Sequence[Entry], since: datetime, until: datetime) -> list[Interval]:
    """Maximal intervals of ``[since, until)`` that no entry covers."""
    gaps: list[Interval] = []
    cursor, hi = _utc(since, "since"), _utc(until, "until")
    for start, end in _covered(entries, since, until):
        if start > cursor:
            gaps.append((cursor, start))
        cursor = end
    if cursor < hi:
        gaps.append((cursor, hi))
    return gaps


def coverage_percentage(entries: Sequence[Entry], since: datetime, until: datetime) -> float:
    """Share of ``[since, until)`` covered by entries, 0..100 rounded half-up to 2 decimals.

    An empty window has nothing left uncovered, so it reports 100.0.
    """
    total = _utc(until, "until") - _utc(since, "since")
    if total <= timedelta(0):
        return 100.0
    covered = sum((end - start for start, end in _covered(entries, since, until)), timedelta(0))
    ratio = Decimal(covered // timedelta(microseconds=1)) * 100 / Decimal(total // timedelta(microseconds=1))
    return float(ratio.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))
