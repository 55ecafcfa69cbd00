"""Presenters of the directory tools' results (Block Kit and plain text).

People are one line each (name, role, e-mail, time zone, teams); teams are one line each with their
member count and members (managers first), then the teams found without their members.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.present.base import AnyPresenter, Presenter, nothing_blocks
from bot.present.kit.blocks import Block
from bot.present.kit.escape import link, pagerduty_base, untrusted
from bot.present.kit.limits import TAIL_CHARS, Room, note, pack
from bot.present.words import bullets, clean, more, plural
from bot.tools.base import ToolResult
from bot.tools.directory import FindPeople
from bot.tools.results.directory import PeopleFound, Person, Team

Say = Callable[[object, int], str]
"""How PagerDuty text is written: escaped for mrkdwn (``untrusted``) or as one clipped line (``clean``)."""


def _person_line(person: Person, say: Say, strong: Callable[[str], str]) -> str:
    parts = [strong(say(person.name, 60))]
    parts += [say(value, 80) for value in (person.role, person.email, person.time_zone) if value]
    teams = [say(team, 40) for team in person.teams[:5]]
    if teams:
        parts.append("teams " + ", ".join(teams))
    return " · ".join(parts)


def _team_line(team: Team, say: Say, title: str) -> str:
    """``Platform (6 members): Priya Raman (Manager), … and 2 more``; ``title`` is the team's name as shown."""
    members = [f"{say(m.name, 60)} ({say(m.role, 20)})" for m in team.members or []]
    head = title
    if team.count is not None:
        head += f" ({plural(team.count, 'member')})"
    hidden = team.count - len(members) if team.count is not None else 0
    return head + (": " + ", ".join(members) if members else "") + (f" and {hidden} more" if members and hidden > 0
                                                                     else "")


def _others(teams: list[Team], say: Say) -> list[str]:
    """The teams found without their members, as one ``Also: …`` line."""
    names = [say(t.name, 60) for t in teams if not t.detailed]
    return ["Also: " + ", ".join(names)] if names else []


# --------------------------------------------------------------------------- Block Kit


def people_blocks(result: ToolResult[PeopleFound], args: FindPeople, room: Room) -> list[Block]:
    found = result.value
    if result.status == "no_data" or found is None:
        return nothing_blocks(result, room)
    out: list[Block] = []
    users, teams = found.users or [], found.teams or []
    base = pagerduty_base(*(t.url for t in teams))
    if users:
        total = found.users_total or len(users)
        out += pack(room, f":busts_in_silhouette: *{plural(total, 'person', 'people')}*",
                    ["• " + _person_line(u, untrusted, lambda name: f"*{name}*") for u in users], total=total,
                    url=f"{base}/users" if base else None, keep_chars=TAIL_CHARS)
    if teams:
        total = found.teams_total or len(teams)
        lines = ["• " + _team_line(t, untrusted, f"*{link(t.url, t.name, 80)}*") for t in teams if t.detailed]
        lines += ["• " + line for line in _others(teams, untrusted)]
        out += pack(room, f":busts_in_silhouette: *{plural(total, 'team')}*", lines,
                    total=len(lines) + max(total - len(teams), 0), url=f"{base}/teams" if base else None,
                    what="more teams", keep_chars=TAIL_CHARS)
    if found.teams_note:
        out += note(room, f"_{untrusted(found.teams_note, 200)}_")
    return out


# --------------------------------------------------------------------------- plain text


def people_text(result: ToolResult[PeopleFound], args: FindPeople) -> list[str]:
    """``2 people:`` and a line each, then ``3 teams:`` and a line each (``…and N more.`` for the rest)."""
    found = result.value
    if result.status == "no_data" or found is None:
        return [result.error or "Nothing found."]
    lines: list[str] = []
    users, teams = found.users or [], found.teams or []
    if users:
        total = found.users_total or len(users)
        lines.append(f"{plural(total, 'person', 'people')}:")
        lines += bullets(_person_line(u, clean, str) for u in users)
        lines += more(total - len(users))
    if teams:
        total = found.teams_total or len(teams)
        lines.append(f"{plural(total, 'team')}:")
        lines += bullets(_team_line(t, clean, clean(t.name, 80)) for t in teams if t.detailed)
        lines += bullets(_others(teams, clean))
        lines += more(total - len(teams))
    if found.teams_note:
        lines.append(f"{found.teams_note[:1].upper()}{found.teams_note[1:]}.")
    return lines


PRESENTERS: tuple[AnyPresenter, ...] = (
    Presenter(result=PeopleFound, args=FindPeople, blocks=people_blocks, text=people_text),
)
