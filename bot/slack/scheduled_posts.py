"""The scheduled posts, read from PagerDuty and posted in Slack (:mod:`bot.notify.scheduled` decides when).

* **Weekly on-call** (``weekly-oncall``), per channel: ``who_is_on_call`` for each routed service or team
  (the first :data:`MAX_TARGETS`; the rest named) over "this week" in the channel's zone.
* **Coverage-gap warning** (``gap-warnings``), per channel, only when there are gaps: ``find_coverage_gaps``
  over the next 7 days for each routed service (its escalation policy's levels), team (its schedules) and,
  for a ``*`` or ``everything`` route, every schedule of the account.
* **Shift reminder** (``shift-reminders``): a DM to the person (found in Slack by their PagerDuty e-mail,
  ``users.lookupByEmail``; someone not in Slack is skipped, logged by PagerDuty ID) with the shift, who hands
  over, and the open incidents of the services and teams it covers.

Every read goes through the ordinary tools with the deployment's token, and every answer is drawn by the
ordinary presenters (:mod:`bot.present.scheduled` frames them). A post Slack fails raises, so the
scheduler tries it again next tick, unless Slack refused it for good (:data:`REFUSED_FOR_GOOD`: logged,
not retried); a PagerDuty error in one part is shown in that part (every part
failing raises too).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.notify.routes import Route
from bot.notify.scheduled import Weekly
from bot.notify.shifts import ShiftStart
from bot.pagerduty.errors import PagerDutyError
from bot.present.kit.blocks import Block
from bot.present.results import result_blocks
from bot.present.scheduled import (
    GAPS_TITLE,
    WEEKLY_TITLE,
    ShiftShown,
    part_room,
    reminder_blocks,
    reminder_text,
    weekly_blocks,
    weekly_text,
)
from bot.slack.home_tab import schedule_refs
from bot.tools.base import ToolContext, ToolResult
from bot.tools.errors import ToolError
from bot.tools.registry import TOOLS_BY_NAME
from bot.tools.resolve import resolve_service, resolve_team
from bot.tools.results.schedules import CoverageGaps, ScheduleOverview
from bot.tools.runner import explain_pagerduty_error, parse_arguments, run_parsed
from bot.tools.schedules import MAX_NAMED

log = logging.getLogger("bot.slack.scheduled_posts")

MAX_TARGETS = 5
"""Routed services/teams shown in one weekly post."""
REMINDER_TARGETS = 2
REMINDER_INCIDENTS = 5
WEEK = "this week"
REFUSED_FOR_GOOD = frozenset({"not_in_channel", "channel_not_found", "is_archived", "cannot_dm_bot",
                              "user_not_found", "user_disabled", "account_inactive", "restricted_action"})
"""Slack errors a retry next minute would get again (alex must be invited, the channel is gone...)."""
GAPS_WINDOW = "next 7 days"


class NothingPosted(Exception):
    """Every part of a post failed to read: the scheduler tries again next tick."""


class SlackPosts:
    """:class:`bot.notify.scheduled.Posts` in Slack."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def weekly(self, kind: Weekly, channel: str, routes: Sequence[Route], every: str,
                     ctx: ToolContext) -> bool:
        shown, left_out = _targets(routes, with_account=kind == "gap-warnings")
        if not shown:
            return False
        read = self._oncall if kind == "weekly-oncall" else self._gaps
        results = await asyncio.gather(*(read(route, ctx) for route in shown))
        if all(result.status == "error" for _, _, result in results):
            raise NothingPosted(kind)
        if kind == "gap-warnings" and not any(_has_gaps(result) for _, _, result in results):
            return False
        room = len(results)
        parts = [result_blocks(name, args, result, part_room(room)) or [] for name, args, result in results]
        title = WEEKLY_TITLE if kind == "weekly-oncall" else GAPS_TITLE
        blocks = weekly_blocks(title, every, str(ctx.tz), parts, [r.describe() for r in left_out])
        return await self._post(channel, weekly_text(title, [r.describe() for r in shown]), blocks)

    async def remind(self, shift: ShiftStart, ctx: ToolContext) -> bool:
        slack_user = await self._slack_user(shift)
        if slack_user is None:
            return False
        incidents: list[Block] = []
        for route in shift.targets[:REMINDER_TARGETS]:
            raw = {"statuses": None, "service": route.target if route.kind == "service" else None,
                   "team": route.target if route.kind == "team" else None, "urgency": None, "window": None,
                   "mine": None, "limit": REMINDER_INCIDENTS}
            name, args, result = await _run(ctx, "list_incidents", raw)
            incidents += result_blocks(name, args, result, part_room(REMINDER_TARGETS, reserved_blocks=6)) or []
        shown = ShiftShown(shift.start, shift.end, shift.schedule, shift.policy, shift.level, shift.hands_over,
                           tuple(r.describe() for r in shift.targets))
        return await self._post(slack_user, reminder_text(shown, ctx.tz), reminder_blocks(shown, ctx.tz, incidents))

    async def _oncall(self, route: Route, ctx: ToolContext) -> tuple[str, Any, ToolResult[Any]]:
        return await _run(ctx, "who_is_on_call", {"target": route.target, "target_type": route.kind,
                                                  "window": WEEK})

    async def _gaps(self, route: Route, ctx: ToolContext) -> tuple[str, Any, ToolResult[Any]]:
        raw: dict[str, Any] = {"schedules": None, "escalation_policy": None, "window": GAPS_WINDOW}
        try:
            if route.kind == "service":
                policy = (await resolve_service(ctx, route.target)).get("escalation_policy") or {}
                if not isinstance(policy, dict) or not policy.get("id"):
                    raise ToolError(f"Service {route.target!r} has no escalation policy.", kind="not_found")
                raw["escalation_policy"] = str(policy["id"])
            elif route.kind == "team":
                team = await resolve_team(ctx, route.target)
                page = await ctx.client.fetch("/schedules", "schedules", {"team_ids[]": [team["id"]]},
                                              max_items=MAX_NAMED, page_size=MAX_NAMED, deadline=ctx.deadline)
                schedules = [s for s in page.items if isinstance(s, dict) and s.get("id")]
                if not schedules:
                    return "find_coverage_gaps", None, ToolResult.nothing(
                        f"Team {route.target} has no layer-based schedules alex can see.")
                raw["schedules"] = schedule_refs(schedules)
        except ToolError as exc:
            return "find_coverage_gaps", None, ToolResult.failed(exc.problem)
        except PagerDutyError as exc:
            return "find_coverage_gaps", None, ToolResult.failed(explain_pagerduty_error(exc))
        return await _run(ctx, "find_coverage_gaps", raw)

    async def _slack_user(self, shift: ShiftStart) -> str | None:
        if not shift.email:
            log.info("shift reminder skipped: PagerDuty user %s has no e-mail address", shift.user_id)
            return None
        try:
            found = await self._client.users_lookupByEmail(email=shift.email)
        except SlackApiError as exc:
            if exc.response.get("error") == "users_not_found":
                log.info("shift reminder skipped: PagerDuty user %s is not in this Slack", shift.user_id)
                return None
            raise
        user = found.get("user") or {}
        if not isinstance(user, dict) or not user.get("id") or user.get("deleted") or user.get("is_bot"):
            return None
        return str(user["id"])

    async def _post(self, channel: str, text: str, blocks: list[Block]) -> bool:
        """Post; False when Slack refuses for good (alex is not in the channel...): not tried again."""
        try:
            await self._client.chat_postMessage(channel=channel, text=text, blocks=blocks, unfurl_links=False,
                                                unfurl_media=False)
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            if error not in REFUSED_FOR_GOOD:
                raise
            log.warning("a scheduled post to %s was refused by Slack (%s): not tried again this time", channel,
                        error)
            return False
        return True


def _targets(routes: Sequence[Route], *, with_account: bool) -> tuple[list[Route], list[Route]]:
    """The routed services and teams (one each), and with ``with_account`` one ``*``/``everything`` route
    for the whole account; the first :data:`MAX_TARGETS` shown, the rest left out."""
    unique: dict[str, Route] = {}
    for route in routes:
        if route.kind in ("service", "team"):
            unique.setdefault(route.key, route)
        elif with_account:
            unique.setdefault("account", route)
    chosen = list(unique.values())
    return chosen[:MAX_TARGETS], chosen[MAX_TARGETS:]


async def _run(ctx: ToolContext, name: str, raw: dict[str, Any]) -> tuple[str, Any, ToolResult[Any]]:
    tool = TOOLS_BY_NAME[name]
    args = parse_arguments(tool, raw)
    return name, args, await run_parsed(tool, args, ctx)


def _has_gaps(result: ToolResult[Any]) -> bool:
    value = result.value
    if result.status != "ok" or value is None:
        return False
    if isinstance(value, ScheduleOverview):
        return value.schedules_with_gaps > 0
    if isinstance(value, CoverageGaps):
        return bool(value.levels_with_gaps or value.nobody_at_any_level
                    or any(s.gap_count for s in value.schedules or []))
    return False

