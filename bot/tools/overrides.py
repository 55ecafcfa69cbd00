"""Overrides on a schedule in a window (read only; creating and deleting them are write tools).

One ``GET /schedules/{id}/overrides?since&until&overflow=true`` after the name is resolved, so an
override already in progress shows its real start. A shift-based (v3) schedule's overrides come from
``GET /v3/schedules/{id}/overrides`` (per rotation, members by id: named with ``GET /users/{id}``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from pydantic import Field

from bot.analysis.windows import Window, parse_instant
from bot.pagerduty import InvalidInputError, NotFoundError
from bot.tools.base import MAX_LIST, Tool, ToolArgs, ToolContext, ToolResult
from bot.tools.common import fit, window_field
from bot.tools.errors import ToolError
from bot.tools.resolve import clean_ref, looks_like_id, resolve_schedule
from bot.tools.results import WindowEcho
from bot.tools.results.overrides import Override, OverrideList
from bot.tools.schedules import CAPS, resolve_span, user_names


class ListOverrides(ToolArgs):
    """Overrides on a schedule in a window: who covers, from, to, override id. To add or remove one use
    create_override / delete_override."""

    schedule: str = Field(description="Schedule name or ID.")
    window: str | None = window_field("next 14 days")


Row = tuple[datetime, Override]


def _row(ctx: ToolContext, override_id: Any, start_text: Any, end_text: Any, who: str, *,
         replaces: str | None = None, rotation_id: str | None = None) -> Row:
    start, end = parse_instant(str(start_text)), parse_instant(str(end_text))
    in_progress = start <= ctx.now < end
    row = Override(who=who, start=start.astimezone(ctx.tz), end=end.astimezone(ctx.tz),
                   override_id=None if override_id is None else str(override_id), in_progress=in_progress,
                   ended=not in_progress and end <= ctx.now, replaces=replaces, rotation_id=rotation_id)
    return start, row


async def _v2_overrides(ctx: ToolContext, schedule_id: str, window: Window) -> list[Row]:
    body = await ctx.client.get(f"/schedules/{quote(schedule_id, safe='')}/overrides",
                                {"since": window.start, "until": window.end, "overflow": True},
                                deadline=ctx.deadline)
    rows: list[Row] = []
    for item in body.get("overrides") or []:
        user = item.get("user") or {}
        rows.append(_row(ctx, item.get("id"), item["start"], item["end"],
                         str(user.get("summary") or user.get("name") or user.get("id"))))
    return rows


async def _v3_overrides(ctx: ToolContext, schedule_id: str, window: Window) -> list[Row]:
    try:
        page = await ctx.client.fetch(f"/v3/schedules/{quote(schedule_id, safe='')}/overrides", "overrides",
                                      {"since": window.start, "until": window.end, "overflow": True},
                                      max_items=MAX_LIST, deadline=ctx.deadline)
    except (NotFoundError, InvalidInputError) as exc:
        raise ToolError("PagerDuty did not list the overrides of this shift-based (v3) schedule "
                        f"({exc.message}).", "Use get_schedule to see who is on call on it instead.",
                        kind="pagerduty") from exc

    def member(item: dict[str, Any], key: str) -> str | None:
        value = item.get(key)
        return str(value["user_id"]) if isinstance(value, dict) and value.get("user_id") else None

    ids = list(dict.fromkeys(u for item in page.items for k in ("overriding_member", "overridden_member")
                             if (u := member(item, k))))
    names = await user_names(ctx, ids)
    rows: list[Row] = []
    for item in page.items:
        covering, covered = member(item, "overriding_member"), member(item, "overridden_member")
        rows.append(_row(ctx, item.get("id"), item["start_time"], item["end_time"],
                         names.get(covering, covering) if covering else "nobody",
                         replaces=names.get(covered, covered) if covered else None,
                         rotation_id=str(item["rotation_id"]) if item.get("rotation_id") else None))
    return rows


async def _schedule(ctx: ToolContext, name: str) -> dict[str, Any]:
    """The schedule by name or ID; PagerDuty answers a v2 read of a shift-based schedule's ID with 400."""
    wanted = clean_ref(name, "schedule")
    try:
        return await resolve_schedule(ctx, wanted)
    except InvalidInputError:
        if not looks_like_id(wanted):
            raise
    body = await ctx.client.get(f"/v3/schedules/{quote(wanted, safe='')}", deadline=ctx.deadline)
    found: dict[str, Any] = body["schedule"]
    return {**found, "type": "schedule_v3"}


async def list_overrides(args: ListOverrides, ctx: ToolContext) -> ToolResult[OverrideList]:
    window = resolve_span(ctx, args.window, "next 14 days")
    schedule = await _schedule(ctx, args.schedule)
    schedule_id = str(schedule["id"])
    kind = "v3" if schedule.get("type") == "schedule_v3" else "v2"
    rows = await (_v3_overrides if kind == "v3" else _v2_overrides)(ctx, schedule_id, window)
    rows.sort(key=lambda r: r[0])
    shown = [row for _, row in rows]
    name = schedule.get("name") or schedule.get("summary")
    echo = WindowEcho.of(window, ctx.tz)

    def build(cap: int) -> OverrideList:
        return OverrideList(schedule=name, url=schedule.get("html_url"), window=echo, overrides=shown[:cap],
                            total=len(shown),
                            kind="shift-based: each override replaces one rotation's member" if kind == "v3" else None)

    found = fit(build, CAPS)
    if not rows:
        return ToolResult.nothing(f"No overrides on {name} in {window.label}.", found)
    return ToolResult.ok(found)


TOOLS: list[Tool[Any]] = [Tool("list_overrides", ListOverrides, list_overrides, "read", result=OverrideList)]
