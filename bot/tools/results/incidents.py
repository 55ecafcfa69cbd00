"""What ``list_incidents`` and ``get_incident`` answer: :class:`IncidentList` and :class:`IncidentDetail`.

Both are built from :class:`IncidentRef`, the incident as people and buttons know it: its number and
title, its PagerDuty link and its ID. The ID is for code only (the Ack/Resolve buttons, writes): it is
not sent to the model, which finds incidents by number and reads the link.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, PlainSerializer

from bot.tools.results.base import LocalTime, Result, WindowEcho

Status = Literal["triggered", "acknowledged", "resolved"]
OPEN: frozenset[str] = frozenset({"triggered", "acknowledged"})
HISTORY_CAP = 100
"""Resolved incidents of the last 48 h read at most for flapping/MTTA/MTTR (``the newest 100``)."""


class IncidentRef(Result):
    """One incident as people know it (``#1148 Nightly export…``, linked) and as PagerDuty does (ID)."""

    number: int
    title: str
    id: str = Field(exclude=True)
    """The PagerDuty incident ID (``P8KO0K4``): what buttons and writes act on. Not sent to the model."""
    url: str | None

    @property
    def label(self) -> str:
        """``#1148``."""
        return f"#{self.number}"


# ----------------------------------------------------------------------------- list_incidents


class IncidentRow(IncidentRef):
    """One incident of a list; ``age`` while it is open, ``resolved`` once it is not."""

    status: Status
    urgency: str
    service: str | None
    created: LocalTime | None = None
    age: str | None = None
    """``3h 20m``, for open incidents."""
    resolved: LocalTime | None = None
    assignees: tuple[str, ...] = ()
    priority: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


class StatusRead(Result):
    """How many of one status's matching incidents were read (the newest ``read`` of ``total``)."""

    status: Status
    read: int
    total: int

    @property
    def complete(self) -> bool:
        return self.read >= self.total


class Sample(Result):
    """Which incidents the patterns are over; sent as one sentence (:meth:`label`)."""

    statuses: tuple[StatusRead, ...]
    history: int = 0
    """Resolved incidents of the last 48 h read as well (flapping, MTTA, MTTR)."""
    history_capped: bool = False
    """More resolved incidents than were read (the newest :data:`HISTORY_CAP`)."""

    @property
    def complete(self) -> bool:
        """Every matching incident was read (no sample)."""
        return all(s.complete for s in self.statuses)

    @property
    def read_words(self) -> str:
        """``all 40``, else (always starting with "the ") ``the 100 newest of 6,140 triggered and …``."""
        if self.complete:
            return f"all {sum(s.total for s in self.statuses):,}"
        parts = [f"the {s.total:,} {s.status}" if s.complete else f"the {s.read} newest of {s.total:,} {s.status}"
                 for s in self.statuses if s.total]
        return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]

    @property
    def label(self) -> str:
        """:attr:`read_words` and the resolved incidents added for flapping/MTTA/MTTR."""
        if not self.history:
            return self.read_words
        extra = f"the newest {HISTORY_CAP}" if self.history_capped else str(self.history)
        return f"{self.read_words} (+{extra} resolved in the last 48h for flapping/MTTA/MTTR)"


def _sample_label(sample: Sample) -> str:
    return sample.label


class RepeatedTitle(Result):
    title: str
    count: int
    services: tuple[str, ...]


class Flap(Result):
    """The same alert triggered ``count`` times within 48 hours, and resolved in between."""

    title: str
    service: str
    count: int
    last: LocalTime
    open_now: bool | None = None
    """None when no open incident was read (only resolved ones were asked)."""


class Burst(Result):
    service: str
    count: int
    start: LocalTime
    minutes: int


class OldestOpen(Result):
    number: int
    title: str
    service: str
    age_hours: float


class AckTimes(Result):
    """Minutes to acknowledge, over the acknowledged incidents (``still_open`` of them open)."""

    median: float
    mean: float
    count: int = Field(serialization_alias="n")
    still_open: int


class ResolveTimes(Result):
    """Minutes to resolve, over the resolved incidents (``never_acknowledged`` of them)."""

    median: float
    mean: float
    count: int = Field(serialization_alias="n")
    never_acknowledged: int


class IncidentPatterns(Result):
    """Noise, repeats, flaps, bursts, the oldest open incident and how fast people answer."""

    sample: Annotated[Sample, PlainSerializer(_sample_label, return_type=str, when_used="json")]
    by_urgency: dict[str, int]
    """Of the sample (the exact counts by status are the list's ``by_status``)."""
    top_services: dict[str, int]
    repeated_titles: tuple[RepeatedTitle, ...]
    flapping: tuple[Flap, ...]
    bursts: tuple[Burst, ...]
    oldest_open: OldestOpen | None = None
    """Over every open incident that matches, sampled or not."""
    ack_ratio: float | None = None
    mtta: AckTimes | None = Field(default=None, serialization_alias="mtta_min")
    mttr: ResolveTimes | None = Field(default=None, serialization_alias="mttr_min")

    @property
    def sampled(self) -> bool:
        return not self.sample.complete


class IncidentList(Result):
    """The incidents that match (the newest ``shown`` of ``total``), the exact count per status, patterns."""

    window: WindowEcho
    total: int
    by_status: dict[Status, int]
    note: str | None = None
    shown: int
    more: bool
    incidents: tuple[IncidentRow, ...]
    patterns: IncidentPatterns | None = None
    """None when nothing matches."""
    trimmed: str | None = None
    """Why fewer rows than asked are shown (the cap, or the size of one answer)."""

    def shown_zone(self) -> str | None:
        return self.window.time_zone


# ----------------------------------------------------------------------------- get_incident


class AlertCounts(Result):
    total: int = Field(serialization_alias="all")
    triggered: int


class IncidentFacts(IncidentRef):
    """One incident in detail (its own ``status``; nested so it cannot clash with the result's)."""

    status: Status
    urgency: str
    priority: str | None
    service: str | None
    escalation_policy: str | None
    assignees: tuple[str, ...]
    acknowledgers: tuple[str, ...]
    created: LocalTime | None
    acknowledged: LocalTime | None
    resolved: LocalTime | None
    age: str | None = None
    alerts: AlertCounts
    details: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN


class IncidentNote(Result):
    at: LocalTime | None
    by: str | None
    text: str


class TimelineEvent(Result):
    """One key event: what happened, by whom (a person, an integration, PagerDuty itself), to whom."""

    at: LocalTime | None
    what: str
    by: str | None = None
    to: tuple[str, ...] = ()
    note: str | None = None
    """The resolution note, on a resolve event."""


class IncidentDetail(Result):
    """One incident, its newest notes and its key events (oldest first)."""

    time_zone: str
    incident: IncidentFacts
    notes_total: int
    notes: tuple[IncidentNote, ...]
    timeline: tuple[TimelineEvent, ...]
    timeline_note: str | None = None
    """Said when PagerDuty has older key events than were read."""

    def shown_zone(self) -> str | None:
        return self.time_zone
