"""What list_overrides answers: the overrides on one schedule in a window, in the asker's zone."""

from __future__ import annotations

from pydantic import Field

from bot.tools.results.base import LocalTime, Result, WindowEcho


class Override(Result):
    """One override: who covers, from when to when (its real start, even before the window), its ID."""

    who: str
    start: LocalTime = Field(serialization_alias="from", validation_alias="from")
    end: LocalTime = Field(serialization_alias="to", validation_alias="to")
    override_id: str | None
    in_progress: bool = False
    ended: bool = False
    replaces: str | None = None
    """Shift-based (v3) schedules: the rotation member it replaces."""
    rotation_id: str | None = None


class OverrideList(Result):
    """The schedule's overrides in the window, soonest first (capped to fit; ``total`` counts them all)."""

    schedule: str | None
    url: str | None
    window: WindowEcho
    overrides: list[Override]
    total: int
    kind: str | None = None
    """Said for a shift-based (v3) schedule: each override replaces one rotation's member."""

    def shown_zone(self) -> str | None:
        return self.window.time_zone
