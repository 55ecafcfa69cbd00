"""Patterns in a set of incidents: where the noise is, what repeats, what flaps, what bursts, how fast.

Pure: typed facts in, a :class:`Patterns` out; no PagerDuty, no clock (``now`` is passed in). Every
list is ordered deterministically so the same incidents always give the same answer.

* **Counts** by status, urgency and service (top N, largest first, ties by name).
* **Repeated titles**: titles equal once normalized (lower-case; UUIDs, IP addresses, hex IDs and
  digits removed; whitespace collapsed), in two or more incidents.
* **Flapping**: the same alert (same ``incident_key`` on a service, else the same normalized title on
  a service) triggered at least 3 times within 48 hours, at least one of them already resolved (it
  came back after resolving: that is what makes it a flap rather than a pile of open duplicates).
* **Bursts**: at least 5 incidents on one service within 15 minutes.
* **Oldest open**, **ack ratio** (acknowledged / open) and **MTTA / MTTR** in minutes (median, mean).
  They are over different incidents, and the result says which: MTTA over the acknowledged ones
  (open or resolved: ``still_open``), MTTR over the resolved ones (``never_acknowledged``: resolved
  without anyone acknowledging, typically alerts that cleared by themselves).
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

FLAP_WINDOW = timedelta(hours=48)
FLAP_MIN = 3
BURST_WINDOW = timedelta(minutes=15)
BURST_MIN = 5
TOP = 5

_UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_IPV4 = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b")
_IPV6 = re.compile(r"\b(?:[0-9a-f]{1,4}:){2,7}[0-9a-f]{1,4}\b")
_HEX = re.compile(r"\b0x[0-9a-f]+\b|\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}\b")
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class IncidentFact:
    """What the analysis needs to know about one incident (times are timezone-aware)."""

    number: int
    title: str
    status: str
    """triggered, acknowledged or resolved"""
    urgency: str
    service_name: str
    created_at: datetime
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    incident_key: str | None = None
    alert_count: int = 1
    assignees: tuple[str, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.status != "resolved"


@dataclass(frozen=True, slots=True)
class RepeatedTitle:
    title: str
    """The newest incident's title, as written."""
    count: int
    services: tuple[str, ...]
    numbers: tuple[int, ...]
    """Newest first."""


@dataclass(frozen=True, slots=True)
class Flap:
    title: str
    service: str
    incident_key: str | None
    count: int
    """Most triggers within any 48 hours."""
    last_trigger: datetime
    open_now: bool


@dataclass(frozen=True, slots=True)
class Burst:
    service: str
    count: int
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class OldestOpen:
    number: int
    title: str
    service: str
    age_hours: float


@dataclass(frozen=True, slots=True)
class Durations:
    """Minutes, rounded to 0.1."""

    median: float
    mean: float
    count: int


@dataclass(frozen=True, slots=True)
class Patterns:
    incidents: int
    by_status: tuple[tuple[str, int], ...]
    by_urgency: tuple[tuple[str, int], ...]
    top_services: tuple[tuple[str, int], ...]
    repeated_titles: tuple[RepeatedTitle, ...]
    flapping: tuple[Flap, ...]
    bursts: tuple[Burst, ...]
    oldest_open: OldestOpen | None
    ack_ratio: float | None
    mtta: Durations | None
    mttr: Durations | None
    acknowledged_still_open: int = 0
    """Of the incidents MTTA is over, how many are still open."""
    resolved_never_acknowledged: int = 0
    """Of the incidents MTTR is over, how many were resolved without an acknowledgement."""


def normalize_title(title: str) -> str:
    """The title with its variable parts removed: ``"High CPU on db-7 (10.0.0.4)"`` -> ``"high cpu on db- ()"``."""
    text = title.lower()
    for pattern in (_UUID, _IPV4, _IPV6, _HEX, _DIGITS):
        text = pattern.sub("", text)
    return _SPACE.sub(" ", text).strip()


def compute_patterns(incidents: Sequence[IncidentFact], now: datetime, *,
                     history: Sequence[IncidentFact] = (), oldest: Sequence[IncidentFact] = (),
                     top: int = TOP) -> Patterns:
    """Patterns of ``incidents``; ``history`` (e.g. recently resolved ones) adds evidence for flapping
    and MTTA/MTTR only, ``oldest`` (open incidents older than a sample of the newest) for the oldest
    open one only. An incident in both (same number) counts once."""
    numbers = {f.number for f in incidents}
    evidence = [*incidents, *(f for f in history if f.number not in numbers)]
    open_ = [f for f in incidents if f.is_open]
    acked = sum(1 for f in open_ if f.status == "acknowledged")
    acknowledged = [f for f in evidence if f.acknowledged_at is not None]
    resolved = [f for f in evidence if f.resolved_at is not None]
    return Patterns(
        incidents=len(incidents),
        by_status=_ranked(Counter(f.status for f in incidents)),
        by_urgency=_ranked(Counter(f.urgency for f in incidents)),
        top_services=_ranked(Counter(f.service_name for f in incidents))[:top],
        repeated_titles=repeated_titles(incidents)[:top],
        flapping=flapping(evidence)[:top],
        bursts=bursts(incidents)[:top],
        oldest_open=oldest_open([*incidents, *oldest], now),
        ack_ratio=round(acked / len(open_), 2) if open_ else None,
        mtta=durations(f.acknowledged_at - f.created_at for f in acknowledged if f.acknowledged_at is not None),
        mttr=durations(f.resolved_at - f.created_at for f in resolved if f.resolved_at is not None),
        acknowledged_still_open=sum(1 for f in acknowledged if f.is_open),
        resolved_never_acknowledged=sum(1 for f in resolved if f.acknowledged_at is None),
    )


def _ranked(counter: Counter[str]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


def _newest_first(facts: Iterable[IncidentFact]) -> list[IncidentFact]:
    return sorted(facts, key=lambda f: (f.created_at, f.number), reverse=True)


def repeated_titles(incidents: Sequence[IncidentFact]) -> tuple[RepeatedTitle, ...]:
    groups: dict[str, list[IncidentFact]] = defaultdict(list)
    for fact in incidents:
        groups[normalize_title(fact.title)].append(fact)
    found: list[tuple[str, RepeatedTitle]] = []
    for key, facts in groups.items():
        if len(facts) < 2:
            continue
        ordered = _newest_first(facts)
        services = tuple(sorted({f.service_name for f in facts}))
        found.append((key, RepeatedTitle(ordered[0].title, len(facts), services,
                                         tuple(f.number for f in ordered))))
    found.sort(key=lambda item: (-item[1].count, item[0]))
    return tuple(r for _, r in found)


def _alert_groups(facts: Sequence[IncidentFact]) -> list[list[IncidentFact]]:
    """Same alert: a shared incident_key on a service; incidents whose key nobody shares (or that
    have none) are grouped by normalized title on their service instead."""
    by_key: dict[tuple[str, str], list[IncidentFact]] = defaultdict(list)
    for fact in facts:
        if fact.incident_key:
            by_key[(fact.service_name, fact.incident_key)].append(fact)
    groups = [g for g in by_key.values() if len(g) >= 2]
    grouped = {id(f) for g in groups for f in g}
    by_title: dict[tuple[str, str], list[IncidentFact]] = defaultdict(list)
    for fact in facts:
        if id(fact) not in grouped:
            by_title[(fact.service_name, normalize_title(fact.title))].append(fact)
    return groups + [g for g in by_title.values() if len(g) >= 2]


def _most_within(times: Sequence[datetime], span: timedelta) -> tuple[int, int]:
    """(most items within any ``span``, index where that run starts) of ascending ``times``."""
    best, best_start, start = 0, 0, 0
    for end, at in enumerate(times):
        while at - times[start] > span:
            start += 1
        if end - start + 1 > best:
            best, best_start = end - start + 1, start
    return best, best_start


def flapping(facts: Sequence[IncidentFact], *, window: timedelta = FLAP_WINDOW,
             minimum: int = FLAP_MIN) -> tuple[Flap, ...]:
    found: list[Flap] = []
    for group in _alert_groups(facts):
        if not any(f.status == "resolved" for f in group):
            continue
        ordered = sorted(group, key=lambda f: (f.created_at, f.number))
        count, _ = _most_within([f.created_at for f in ordered], window)
        if count < minimum:
            continue
        last = ordered[-1]
        keys = {f.incident_key for f in group}
        found.append(Flap(last.title, last.service_name, keys.pop() if len(keys) == 1 else None, count,
                          last.created_at, any(f.is_open for f in group)))
    found.sort(key=lambda f: (-f.count, -f.last_trigger.timestamp(), f.service, f.title))
    return tuple(found)


def bursts(incidents: Sequence[IncidentFact], *, window: timedelta = BURST_WINDOW,
           minimum: int = BURST_MIN) -> tuple[Burst, ...]:
    """Runs of ``minimum``+ incidents on one service within ``window``, earliest first per service,
    non-overlapping; largest first, then newest."""
    by_service: dict[str, list[datetime]] = defaultdict(list)
    for fact in incidents:
        by_service[fact.service_name].append(fact.created_at)
    found: list[Burst] = []
    for service, times in by_service.items():
        times.sort()
        i = 0
        while i < len(times):
            j = i
            while j + 1 < len(times) and times[j + 1] - times[i] <= window:
                j += 1
            if j - i + 1 >= minimum:
                found.append(Burst(service, j - i + 1, times[i], times[j]))
                i = j + 1
            else:
                i += 1
    found.sort(key=lambda b: (-b.count, -b.start.timestamp(), b.service))
    return tuple(found)


def oldest_open(incidents: Sequence[IncidentFact], now: datetime) -> OldestOpen | None:
    open_ = [f for f in incidents if f.is_open]
    if not open_:
        return None
    oldest = min(open_, key=lambda f: (f.created_at, f.number))
    hours = (now - oldest.created_at).total_seconds() / 3600
    return OldestOpen(oldest.number, oldest.title, oldest.service_name, round(hours, 1))


def durations(spans: Iterable[timedelta]) -> Durations | None:
    minutes = [max(span.total_seconds(), 0.0) / 60 for span in spans]
    if not minutes:
        return None
    return Durations(round(statistics.median(minutes), 1), round(statistics.fmean(minutes), 1), len(minutes))
