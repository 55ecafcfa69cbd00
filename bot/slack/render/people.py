"""People and teams (``find_people``)."""

from __future__ import annotations

from typing import Any

from bot.present.kit.blocks import Block
from bot.present.kit.escape import link, pagerduty_base, untrusted
from bot.present.kit.limits import TAIL_CHARS, Room, note, pack

Data = dict[str, Any]


def _user_line(user: Data) -> str:
    parts = [f"*{untrusted(user.get('name'), 60)}*"]
    for key in ("role", "email", "time_zone"):
        if user.get(key):
            parts.append(untrusted(user[key], 80))
    teams = [untrusted(t, 40) for t in (user.get("teams") or [])[:5]]
    if teams:
        parts.append("teams " + ", ".join(teams))
    return "• " + " · ".join(parts)


def _team_line(team: Data) -> str:
    members = [f"{untrusted(m.get('name'), 60)} ({untrusted(m.get('role'), 20)})"
               for m in team.get("members") or [] if isinstance(m, dict)]
    count = team.get("count")
    head = f"• *{link(team.get('url'), team.get('name'), 80)}*"
    if isinstance(count, int):
        head += f" ({count} member{'' if count == 1 else 's'})"
    more = count - len(members) if isinstance(count, int) else 0
    return head + (": " + ", ".join(members) if members else "") + (f" and {more} more" if members and more > 0 else "")


def render_people(data: Data, room: Room, args: Data) -> list[Block]:
    out: list[Block] = []
    users = [u for u in data.get("users") or [] if isinstance(u, dict)]
    teams = [t for t in data.get("teams") or [] if isinstance(t, dict)]
    base = pagerduty_base(*(t.get("url") for t in teams))
    if users:
        total = int(data.get("users_total") or len(users))
        out += pack(room, f":busts_in_silhouette: *{total} {'person' if total == 1 else 'people'}*",
                    [_user_line(u) for u in users], total=total, url=f"{base}/users" if base else None,
                    keep_chars=TAIL_CHARS)
    if teams:
        total = int(data.get("teams_total") or len(teams))
        detailed = [t for t in teams if "members" in t or "count" in t]
        others = [untrusted(t.get("name"), 60) for t in teams if t not in detailed]
        lines = [_team_line(t) for t in detailed]
        if others:
            lines.append("• Also: " + ", ".join(others))
        out += pack(room, f":busts_in_silhouette: *{total} team{'' if total == 1 else 's'}*", lines,
                    total=len(lines) + max(total - len(teams), 0), url=f"{base}/teams" if base else None,
                    what="more teams", keep_chars=TAIL_CHARS)
    if data.get("teams_note"):
        out += note(room, f"_{untrusted(data['teams_note'], 200)}_")
    return out
