"""What ``find_people`` answers: users with their role in plain words, teams with their members."""

from __future__ import annotations

from bot.tools.results.base import Result


class Person(Result):
    """A PagerDuty user: the role as PagerDuty's web UI names it (``Manager``, ``Responder``…)."""

    name: str | None
    email: str | None
    role: str | None
    time_zone: str | None
    teams: list[str]


class Member(Result):
    """A team member and their team role (``Manager``, ``Responder``, ``Observer``)."""

    name: str | None
    role: str | None


class Team(Result):
    """A team; the first few found carry their member count and members (managers first), the rest only
    their name."""

    name: str | None
    count: int | None = None
    members: list[Member] | None = None
    url: str | None = None

    @property
    def detailed(self) -> bool:
        """Whether its members were read (only the first few teams found have them)."""
        return self.members is not None or self.count is not None


class PeopleFound(Result):
    """Users and/or teams matching ``query`` (``users``/``teams`` absent when that kind was not searched)."""

    query: str | None
    users: list[Person] | None = None
    users_total: int | None = None
    teams: list[Team] | None = None
    teams_total: int | None = None
    teams_note: str | None = None
