"""What get_schedule and find_coverage_gaps answer: shifts, handoffs and coverage gaps, in the asker's zone.

``get_schedule`` answers a :class:`ScheduleAnswer`: one schedule's :class:`ScheduleDetail`, or (no name)
the :class:`ScheduleOverview` of all. ``find_coverage_gaps`` answers a :class:`GapsAnswer`: the
:class:`CoverageGaps` of named schedules and/or an escalation policy's levels, or the same overview.
"""

from __future__ import annotations

from pydantic import Field

from bot.tools.results.base import LocalTime, Result, WindowEcho


class CoverageGap(Result):
    """A stretch with nobody on call: sent as ``{"from", "to", "hours"}``."""

    start: LocalTime = Field(serialization_alias="from", validation_alias="from")
    end: LocalTime = Field(serialization_alias="to", validation_alias="to")
    hours: float


class Shift(Result):
    """Who is on call (after overrides) from when to when."""

    who: str
    start: LocalTime = Field(serialization_alias="from", validation_alias="from")
    end: LocalTime = Field(serialization_alias="to", validation_alias="to")


class Handoff(Result):
    """The moment on call changes hands: who had it (``from``), who gets it (``to``); "nobody" for a gap."""

    at: LocalTime
    before: str = Field(serialization_alias="from", validation_alias="from")
    after: str = Field(serialization_alias="to", validation_alias="to")


class ScheduleAnswer(Result):
    """What get_schedule answers: a :class:`ScheduleDetail` or a :class:`ScheduleOverview`."""


class GapsAnswer(Result):
    """What find_coverage_gaps answers: :class:`CoverageGaps` or a :class:`ScheduleOverview`."""


class ScheduleDetail(ScheduleAnswer):
    """One schedule over the window: coverage, gaps, who is on call now (when now is in it), shifts, handoffs.

    The lists are capped to fit the result budget; ``gap_count``, ``shifts_total`` and ``handoffs_total``
    count them all.
    """

    schedule: str
    schedule_time_zone: str | None
    url: str | None
    window: WindowEcho
    coverage_pct: float
    gap_count: int
    gaps: list[CoverageGap]
    kind: str | None = None
    """Said for a shift-based (v3) schedule: its shifts can overlap."""
    on_call_now: list[str] | None = None
    """Only when the window holds now: the names, or ``["nobody"]``."""
    shifts: list[Shift]
    shifts_total: int
    handoffs: list[Handoff]
    handoffs_total: int

    def shown_zone(self) -> str | None:
        return self.window.time_zone


class ScheduleCoverage(Result):
    """One schedule's line in the overview: its coverage and first gaps."""

    schedule: str
    coverage_pct: float
    gap_count: int
    gaps: list[CoverageGap]
    url: str | None


class ScheduleOverview(ScheduleAnswer, GapsAnswer):
    """Every schedule over the window: the ones with gaps (soonest gap first), then the fully covered."""

    overview: str | None = None
    """get_schedule's word that this is the overview (no shifts); find_coverage_gaps leaves it out."""
    window: WindowEcho
    schedules_checked: int
    schedules_with_gaps: int
    with_gaps: list[ScheduleCoverage]
    fully_covered: list[str]
    fully_covered_total: int
    note: str | None = None
    """Set when not every shift-based (v3) schedule could be checked."""

    def shown_zone(self) -> str | None:
        return self.window.time_zone


class ScheduleGaps(Result):
    """A named schedule's gaps (find_coverage_gaps), with the schedule's own zone."""

    schedule: str
    coverage_pct: float
    gap_count: int
    gaps: list[CoverageGap]
    schedule_time_zone: str | None
    url: str | None


class LevelCoverage(Result):
    """One escalation level over the window: its targets, who was on call, and when nobody was."""

    level: int
    targets: list[str]
    on_call: list[str]
    covered_throughout: bool
    coverage_pct: float
    always_on_call: list[str] = []
    """Direct user targets and permanent (always on call) people."""
    nobody_on_call: list[CoverageGap] = []


class CoverageGaps(GapsAnswer):
    """Named schedules' gaps and/or an escalation policy's levels nobody covers.

    ``schedules`` is there when schedules were named (``not_found`` lists the ones that were not found);
    the policy fields are there when a policy was asked about.
    """

    window: WindowEcho
    schedules: list[ScheduleGaps] | None = None
    not_found: list[str] = []
    escalation_policy: str | None = None
    url: str | None = None
    """The escalation policy's page."""
    levels_with_gaps: list[int] | None = None
    levels: list[LevelCoverage] | None = None
    nobody_at_any_level: list[CoverageGap] = []

    def shown_zone(self) -> str | None:
        return self.window.time_zone
