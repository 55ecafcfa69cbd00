"""What ``get_escalation_policy`` answers: a policy's levels (delay, targets, who is on call now), its
loops, teams and services, and optionally how the people on call get notified (masked)."""

from __future__ import annotations

from pydantic import Field

from bot.tools.results.base import LocalTime, Result

NotificationRules = dict[str, dict[str, list[str]]]
"""Person's name -> urgency -> rules in delay order (``"5 min: SMS (Mobile)"``; never an address)."""


class OnCallNow(Result):
    """One person on call at a level now, through which schedule (None: targeted directly), until when."""

    name: str
    schedule: str | None
    also_via: list[str] = []
    end: LocalTime | None = Field(serialization_alias="until")
    permanent: bool = False


class EscalationLevel(Result):
    """One rule of the policy: its targets, who they put on call now, and the delay before the next."""

    level: int
    escalates_after_min: int | None
    targets: list[str]
    """``"schedule: <name>"`` or ``"user: <name>"``."""
    on_call_now: list[OnCallNow]


class EscalationPolicy(Result):
    """An escalation policy; ``service`` is the service it was asked for by (``note`` says so when the
    name given was the service's)."""

    policy: str | None
    url: str | None
    service: str | None = None
    note: str | None = None
    repeats_after_last_level: int
    """Extra passes after the first (PagerDuty's ``num_loops``)."""
    passes_in_all: int
    teams: list[str]
    time_zone: str
    levels: list[EscalationLevel]
    services: list[str]
    more_services: int = 0
    nobody_on_call_at_levels: list[int] = []
    notification_rules: NotificationRules | None = None
    """Only when asked for (then possibly empty)."""
    notification_note: str | None = None

    def shown_zone(self) -> str | None:
        return self.time_zone
