"""What ``who_is_on_call`` answers, by what was asked about: the policies of a service, policy, team or
the whole account level by level (:class:`PoliciesOnCall`), one schedule (:class:`ScheduleOnCall`) or
one person (:class:`PersonOnCall`). :class:`WhoIsOnCallResult` is their common base, the type the tool
declares.

The pieces (:class:`OnCallPerson`, :class:`Gap`, :class:`Level`, :class:`PolicyOnCall`,
:class:`Target`) are shared with the other on-call results. A period's ``from``/``until`` are null for
someone on call permanently (a user a level targets directly).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bot.tools.results.base import LocalTime, Result, WindowEcho

TargetKind = Literal["service", "schedule", "escalation_policy", "team", "account"]


class Gap(Result):
    """A stretch of the window nobody is on call for."""

    start: LocalTime = Field(serialization_alias="from")
    end: LocalTime = Field(serialization_alias="until")


class OnCallPerson(Result):
    """One person on call at a level, through which schedule (None: targeted directly), from when until
    when."""

    name: str
    schedule: str | None
    also_via: list[str] = []
    """Other schedules (or "direct") that put the same person on call at this level at the same time."""
    start: LocalTime | None = Field(serialization_alias="from")
    end: LocalTime | None = Field(serialization_alias="until")
    permanent: bool = False


class Level(Result):
    """One level of an escalation policy: who is on call (``more`` not listed) and its coverage gaps."""

    level: int
    on_call: list[OnCallPerson]
    more: int = 0
    gaps: list[Gap] = []


class PolicyOnCall(Result):
    """One escalation policy, level by level."""

    policy: str
    url: str | None = None
    levels: list[Level]


class Target(Result):
    """What was asked about (``account``: nothing named, every policy)."""

    type: TargetKind
    name: str | None = None
    status: str | None = None
    """A service's PagerDuty status."""
    url: str | None = None


class OnSchedule(Result):
    """One person on call through the schedule asked about, from when until when."""

    name: str
    start: LocalTime | None = Field(serialization_alias="from")
    end: LocalTime | None = Field(serialization_alias="until")
    permanent: bool = False


class Stint(Result):
    """One period a person is on call: at which level of which policy, through which schedule."""

    policy: str
    level: int
    schedule: str | None
    also_via: list[str] = []
    start: LocalTime | None = Field(serialization_alias="from")
    end: LocalTime | None = Field(serialization_alias="until")
    permanent: bool = False


class WhoIsOnCallResult(Result):
    """Who is on call: the base of the answers for a target (:class:`OnCallFor` and its kinds) and for a
    person (:class:`PersonOnCall`)."""


class OnCallFor(WhoIsOnCallResult):
    """The target the answer is about; alone, the (empty) answer for a team without escalation policies."""

    resolved: str | None = None
    """Which object a guessed name was taken for, when another one has that name too."""
    target: Target


class PoliciesOnCall(OnCallFor):
    """Who is on call for a service, policy, team or the account, policy by policy and level by level."""

    window: WindowEcho
    policies: list[PolicyOnCall]
    more_policies: int = 0
    nobody_on_call: list[str] = []
    """``"<policy> level <n>"`` for every level nobody is on call at in the window."""
    hint: str | None = None

    def shown_zone(self) -> str | None:
        return self.window.time_zone


class ScheduleOnCall(OnCallFor):
    """Who is on call through one schedule, and the escalation policy levels it pages through."""

    window: WindowEcho
    on_call: list[OnSchedule]
    more: int = 0
    used_by: list[str] = []
    """``"<policy> level <n>"`` for the levels that page through this schedule."""
    note: str | None = None
    nobody_on_call: bool = False
    gaps: list[Gap] = []

    def shown_zone(self) -> str | None:
        return self.window.time_zone


class PersonOnCall(WhoIsOnCallResult):
    """When one person is on call in the window, and their next period after it."""

    person: str | None
    window: WindowEcho
    on_call_now: bool
    on_call: list[Stint]
    next: Stint | None
    next_note: str | None = None
    more: int = 0
    note: str | None = None

    def shown_zone(self) -> str | None:
        return self.window.time_zone
