"""``find_people``: users (name, e-mail, role in plain words, time zone, teams) and teams (members with
their team roles), found by a name fragment or an e-mail address.

Requests: one users search and/or one teams search, plus the member list of at most
:data:`MAX_TEAMS_WITH_MEMBERS` matching teams (concurrently).
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from pydantic import Field

from bot.pagerduty import Page
from bot.tools.base import DEFAULT_LIST, Tool, ToolArgs, ToolContext, ToolResult
from bot.tools.resolve import clean_ref
from bot.tools.results.directory import Member, PeopleFound, Person, Team

MAX_TEAMS_WITH_MEMBERS = 3
MAX_MEMBERS = 25

ROLES = {
    "owner": "Account Owner",
    "admin": "Admin",
    "user": "Manager",
    "limited_user": "Responder",
    "observer": "Observer",
    "restricted_access": "Restricted Access",
    "read_only_user": "Stakeholder",
    "read_only_limited_user": "Limited Stakeholder",
}
"""PagerDuty's API role names -> the names its web UI shows."""
TEAM_ROLES = {"manager": "Manager", "responder": "Responder", "observer": "Observer"}


class FindPeople(ToolArgs):
    """Find PagerDuty users (e-mail, role, time zone, teams) or teams (members and their roles) by name
    fragment or e-mail. For who is on call use who_is_on_call."""

    query: str | None = Field(description="Name fragment or e-mail; null lists everyone.")
    kind: Literal["user", "team"] | None = Field(description="user or team; null: both.")


def role_name(role: Any) -> str | None:
    return ROLES.get(str(role), str(role).replace("_", " ")) if role else None


def _person(user: dict[str, Any]) -> Person:
    return Person(name=user.get("name") or user.get("summary"), email=user.get("email"),
                  role=role_name(user.get("role")), time_zone=user.get("time_zone"),
                  teams=[str(t.get("summary") or t.get("name")) for t in user.get("teams") or []])


def _count(page: Page) -> int:
    return page.total if page.total is not None else len(page.items) + (1 if page.more else 0)


async def _members(ctx: ToolContext, team: dict[str, Any]) -> Team:
    page = await ctx.client.fetch(f"/teams/{team['id']}/members", "members", {"total": True}, max_items=100,
                                  deadline=ctx.deadline)
    members = [Member(name=(m.get("user") or {}).get("summary"),
                      role=TEAM_ROLES.get(str(m.get("role")), m.get("role")))
               for m in page.items]
    order = {"Manager": 0, "Responder": 1, "Observer": 2}
    members.sort(key=lambda m: (order.get(str(m.role), 3), str(m.name).lower()))
    return Team(name=team.get("name"), count=_count(page), members=members[:MAX_MEMBERS],
                url=team.get("html_url") or None)


async def find_people(args: FindPeople, ctx: ToolContext) -> ToolResult[PeopleFound]:
    query = clean_ref(args.query, "name or e-mail") if args.query is not None and args.query.strip() else None
    params: dict[str, Any] = {"total": True, **({"query": query} if query else {})}
    want_users = args.kind in (None, "user")
    want_teams = args.kind == "team" or (args.kind is None and not (query and "@" in query))

    async def search(path: str, key: str, wanted: bool) -> Page | None:
        if not wanted:
            return None
        return await ctx.client.fetch(path, key, params, max_items=DEFAULT_LIST, page_size=DEFAULT_LIST,
                                      deadline=ctx.deadline)

    users, teams = await asyncio.gather(search("/users", "users", want_users),
                                        search("/teams", "teams", want_teams))
    people: list[Person] | None = None
    people_total: int | None = None
    if users is not None:
        found, people_total = list(users.items), _count(users)
        exact = [u for u in found if query and str(u.get("email", "")).lower() == query.lower()]
        if exact:  # an address names one person
            found, people_total = exact, len(exact)
        people = [_person(u) for u in found]
    found_teams: list[Team] | None = None
    note: str | None = None
    if teams is not None:
        listed = list(teams.items)
        detailed = await asyncio.gather(*(_members(ctx, t) for t in listed[:MAX_TEAMS_WITH_MEMBERS]))
        found_teams = [*detailed, *(Team(name=t.get("name")) for t in listed[MAX_TEAMS_WITH_MEMBERS:])]
        if len(listed) > MAX_TEAMS_WITH_MEMBERS:
            note = f"members shown for the first {MAX_TEAMS_WITH_MEMBERS}; name one team for its members"
    value = PeopleFound(query=query, users=people, users_total=people_total, teams=found_teams,
                        teams_total=None if teams is None else _count(teams), teams_note=note)
    if not value.users and not value.teams:
        what = {"user": "user", "team": "team"}.get(args.kind or "", "user or team")
        return ToolResult.nothing(f"No {what} matches {query!r}." if query else f"No {what}s are visible.", value)
    return ToolResult.ok(value)


TOOLS: list[Tool[Any]] = [Tool("find_people", FindPeople, find_people, "read", result=PeopleFound)]
