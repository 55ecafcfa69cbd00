"""The app's Home tab: what is on the plate of the person who opens it, read from PagerDuty as them.

On ``app_home_opened`` with ``tab == "home"`` (the Messages tab is :mod:`bot.slack.home`'s), alex
publishes (``views.publish``) a Home view for that person alone, through their own PagerDuty client
(:meth:`~bot.slack.runtime.SlackRuntime.context`: their linked token, or the shared one within their
role and teams):

* their on-call now, and next (``who_is_on_call`` for me);
* their open incidents (``list_incidents`` mine, at most :data:`INCIDENTS_SHOWN`), each card with
  Acknowledge / Resolve;
* the coverage gaps over the :data:`GAPS_WINDOW` of their teams' schedules (``find_coverage_gaps``,
  at most :data:`~bot.tools.schedules.MAX_NAMED` layer-based schedules);
* a Refresh button.

Each section is the ordinary presenter's (:mod:`bot.present.home` frames them); a PagerDuty error shows
in its section, with what to do, and a section that takes too long says so. Someone with no PagerDuty
account gets a view saying so and how to fix it; nothing is read for them.

Opening the tab again within :data:`CACHE_TTL_S` of a publish reads and publishes nothing (Slack keeps
showing the view); Refresh and a card click read PagerDuty again (Refresh also looks the person up again,
and does nothing within :data:`REFRESH_MIN_S` of the last publish). Openings and Refreshes while a publish
for the same person is under way are dropped. The cache is this process's (bounded): another replica may
publish once more.

Acknowledge / Resolve in the tab act at once as the person who clicked, like the buttons of an incident
card (:func:`bot.slack.buttons.act_on_incident`: a double-click guard, their role checked, the write
audited, via ``home_tab``); the tab is then published again with what happened at the top.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Literal, TypeVar
from urllib.parse import quote

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.pagerduty import PagerDutyError
from bot.present.home import (
    HOME_ACK_ACTION,
    HOME_RESOLVE_ACTION,
    REFRESH_ACTION,
    fitted,
    home_buttons,
    home_view,
    note_blocks,
    part_blocks,
    problem_blocks,
    room,
    top_blocks,
    unmapped_blocks,
)
from bot.present.kit.blocks import Block
from bot.present.kit.escape import untrusted
from bot.present.results import result_blocks
from bot.slack.admission import Refused, admit
from bot.slack.buttons import STATE_DOWN, act_as_clicker
from bot.slack.render import render_notice, render_outcome
from bot.slack.runtime import SlackRuntime
from bot.store import StateUnavailable
from bot.tools.base import ToolArgs, ToolContext, ToolResult
from bot.tools.errors import ToolProblem
from bot.tools.proposals import audit_scope
from bot.tools.registry import TOOLS_BY_NAME
from bot.tools.resolve import name_key
from bot.tools.runner import explain_pagerduty_error, parse_arguments, run_parsed
from bot.tools.schedules import MAX_NAMED

log = logging.getLogger("bot.slack.home_tab")

T = TypeVar("T")

CACHE_TTL_S = 60.0
REFRESH_MIN_S = 5.0
MAX_CACHED = 10_000
INCIDENTS_SHOWN = 10
GAPS_WINDOW = "next 7 days"
"""Forward-looking, whatever the weekday (the calendar week would show gaps already past on a Friday)."""
MAX_TEAMS = 25
SECTION_GRACE_S = 2.0
"""How long past the per-request deadline a section may take before it is shown as "too slow"."""
HOME_ACTIONS: dict[str, Literal["acknowledge_incidents", "resolve_incidents"]] = {
    HOME_ACK_ACTION: "acknowledge_incidents", HOME_RESOLVE_ACTION: "resolve_incidents"}
VIA = "home_tab"
VIEW_REJECTED = frozenset({"invalid_arguments", "invalid_blocks", "invalid_blocks_format", "view_too_large",
                           "too_many_blocks"})

FAILED = "Something went wrong while reading PagerDuty for your Home tab. Press Refresh to try again."
REJECTED = "Slack could not show your Home tab just now ({error}). Press Refresh to try again, or ask alex in a DM."
TOO_SLOW = "PagerDuty did not answer in time."
NO_TEAMS = "You are on no PagerDuty team, so there are no team schedules to check."
NO_SCHEDULES = "Your teams have no layer-based schedules alex can see."
TEAMS = "Your teams: {teams}.{more}"


class HomeTab:
    """The Home tab of one app (see the module): publishes each person's view, caches briefly."""

    def __init__(self, rt: SlackRuntime, *, ttl_s: float = CACHE_TTL_S, max_cached: int = MAX_CACHED,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._rt = rt
        self._ttl_s = ttl_s
        self._max = max_cached
        self._clock = clock
        self._published: OrderedDict[str, float] = OrderedDict()
        """Slack user -> when their view goes stale (oldest first)."""
        self._publishing: set[str] = set()

    async def opened(self, client: AsyncWebClient, event: dict[str, Any]) -> None:
        """``app_home_opened``: the Home tab (nothing for the Messages tab), unless published just now."""
        user = str(event.get("user") or "")
        if event.get("tab") != "home" or not user:
            return
        if event.get("view") and self._fresh(user):
            return
        await self.publish(client, user)

    async def publish(self, client: AsyncWebClient, user: str, *, notice: Sequence[Block] = ()) -> None:
        """Read PagerDuty as ``user`` and publish their view (``notice`` on top: what a click did).

        Without a notice, nothing happens while a publish for ``user`` is under way (it reads the same)."""
        under_way = user in self._publishing
        if under_way and not notice:
            return
        self._publishing.add(user)
        try:
            try:
                blocks = await self._blocks(user, notice)
            except Exception:
                log.exception("building a Home tab failed")
                blocks = problem_blocks(FAILED, refresh=True)
            if await _publish(client, user, home_view(blocks)):
                self._remember(user)
        finally:
            if not under_way:
                self._publishing.discard(user)

    async def refresh(self, client: AsyncWebClient, user: str) -> None:
        """The Refresh button: who ``user`` is and their view read again (not within :data:`REFRESH_MIN_S` of
        the last publish: it would read the same, and a burst of clicks stays cheap)."""
        stale_at = self._published.get(user)
        if stale_at is not None and self._clock() < stale_at - self._ttl_s + REFRESH_MIN_S:
            return
        self._rt.identities.forget(user)  # they may have just been given a PagerDuty account
        await self.publish(client, user)

    async def clicked(self, client: AsyncWebClient, body: dict[str, Any]) -> None:
        """Acknowledge or Resolve in the tab: act as the clicker, then publish the tab with the outcome."""
        user = _clicker(body)
        action = (body.get("actions") or [{}])[0]
        tool = HOME_ACTIONS.get(str(action.get("action_id") or ""))
        incident = str(action.get("value") or "")
        if not user or tool is None or not incident:
            return
        try:
            notice = await self._act(user, tool, incident)
        except StateUnavailable as exc:
            log.warning("a Home tab click could not be served: the state store is unavailable (%s)",
                        type(exc).__name__)
            notice = render_notice(STATE_DOWN).blocks
        if notice:
            await self.publish(client, user, notice=notice)

    # -- reading --------------------------------------------------------------------------------

    async def _blocks(self, user: str, notice: Sequence[Block]) -> list[Block]:
        rt = self._rt
        identity = await admit(rt, user)
        if isinstance(identity, Refused):
            return [*top_blocks(None, rt.backend.now()), *fitted(notice, "notice"), *problem_blocks(identity.text)]
        asker = identity.asker
        top = [*top_blocks(asker.name, rt.backend.now().astimezone(asker.time_zone)), *fitted(notice, "notice")]
        if not identity.mapped:
            return [*top, *unmapped_blocks(identity.slack_email)]
        ctx = await rt.context(asker, with_deadline=True)
        parts = await asyncio.gather(self._oncall(ctx), self._incidents(ctx), self._gaps(ctx))
        return [*top, *(block for part in parts for block in part)]

    async def _oncall(self, ctx: ToolContext) -> list[Block]:
        name, args, result = await self._run(ctx, "who_is_on_call", {"target": None, "target_type": "me",
                                                                     "window": "now"})
        return part_blocks("oncall", _shown(name, args, result, "oncall"))

    async def _incidents(self, ctx: ToolContext) -> list[Block]:
        name, args, result = await self._run(ctx, "list_incidents", {"mine": True, "limit": INCIDENTS_SHOWN})
        return part_blocks("incidents", home_buttons(_shown(name, args, result, "incidents")))

    async def _gaps(self, ctx: ToolContext) -> list[Block]:
        found = await self._within(ctx, _team_schedules(ctx))
        if isinstance(found, ToolResult):
            return part_blocks("gaps", _shown("find_coverage_gaps", None, found, "gaps"))
        teams, schedules, more = found
        if not teams or not schedules:
            return part_blocks("gaps", note_blocks(NO_TEAMS if not teams else NO_SCHEDULES))
        name, args, result = await self._run(ctx, "find_coverage_gaps", {
            "schedules": schedule_refs(schedules), "escalation_policy": None, "window": GAPS_WINDOW})
        said = ", ".join(untrusted(t, 60) for t in teams[:5]) + (f" +{len(teams) - 5}" if len(teams) > 5 else "")
        extra = f" The first {len(schedules)} of their schedules are shown." if more else ""
        title = f":calendar: Your teams' coverage gaps, {GAPS_WINDOW}"
        return part_blocks("gaps", [*note_blocks(TEAMS.format(teams=said, more=extra)),
                                    *_shown(name, args, result, "gaps")], title=title)

    async def _run(self, ctx: ToolContext, name: str,
                   raw: dict[str, Any]) -> tuple[str, ToolArgs | None, ToolResult[Any]]:
        tool = TOOLS_BY_NAME[name]
        args = parse_arguments(tool, raw)
        result = await self._within(ctx, run_parsed(tool, args, ctx))
        return name, args, result

    async def _within(self, ctx: ToolContext, work: Awaitable[T]) -> T | ToolResult[Any]:
        """``work``'s result, or a "too slow" error result past the request's deadline (and its grace)."""
        remaining = ctx.remaining()
        try:
            return await asyncio.wait_for(work, None if remaining is None else max(0.0, remaining) + SECTION_GRACE_S)
        except TimeoutError:
            return ToolResult.failed(ToolProblem("timeout", TOO_SLOW, "Press Refresh to try again."))

    # -- acting ---------------------------------------------------------------------------------

    async def _act(self, user: str, tool: Literal["acknowledge_incidents", "resolve_incidents"],
                   incident: str) -> list[Block]:
        """What the click did, as the blocks to put on top of the tab ([]: a repeated click, nothing to add)."""
        acted = await act_as_clicker(self._rt, user, tool, incident)
        if acted.repeated:
            return []  # the first click publishes what it did
        if acted.outcome is None:
            return render_notice(acted.notice or "Nothing was changed.").blocks
        return render_outcome(acted.outcome, actor_slack_id=user).blocks

    # -- the cache ------------------------------------------------------------------------------

    def _fresh(self, user: str) -> bool:
        stale_at = self._published.get(user)
        return stale_at is not None and self._clock() < stale_at

    def _remember(self, user: str) -> None:
        self._published.pop(user, None)
        self._published[user] = self._clock() + self._ttl_s
        while len(self._published) > self._max:
            self._published.popitem(last=False)


def register(app: AsyncApp, rt: SlackRuntime) -> HomeTab:
    """The Home tab's buttons on ``app``; the returned tab's :meth:`HomeTab.opened` takes the event."""
    tab = HomeTab(rt)

    @app.action(REFRESH_ACTION)
    async def on_home_refresh(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with rt.working():
            await tab.refresh(client, _clicker(body))

    async def on_home_incident(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        user = _clicker(body)
        async with rt.working():
            with audit_scope(rt.audit, requested_by=user, confirmed_by=user, via=VIA):
                await tab.clicked(client, body)

    app.action(HOME_ACK_ACTION)(on_home_incident)
    app.action(HOME_RESOLVE_ACTION)(on_home_incident)
    return tab


def _clicker(body: dict[str, Any]) -> str:
    return str((body.get("user") or {}).get("id") or "")


def _shown(name: str, args: ToolArgs | None, result: ToolResult[Any], part: str) -> list[Block]:
    return result_blocks(name, args, result, room(part)) or []


async def _team_schedules(ctx: ToolContext) -> tuple[list[str], list[dict[str, Any]], bool] | ToolResult[Any]:
    """The asker's team names and their teams' layer-based schedules (at most :data:`MAX_NAMED`, and
    whether there are more), or the PagerDuty error as a result to show."""
    user_id = ctx.asker.user_id or ""
    try:
        body = await ctx.client.get(f"/users/{quote(user_id, safe='')}", deadline=ctx.deadline)
        refs = [t for t in (body.get("user") or {}).get("teams") or [] if isinstance(t, dict) and t.get("id")]
        teams = refs[:MAX_TEAMS]
        if not teams:
            return [], [], False
        page = await ctx.client.fetch("/schedules", "schedules", {"team_ids[]": [str(t["id"]) for t in teams]},
                                      max_items=MAX_NAMED, page_size=MAX_NAMED, deadline=ctx.deadline)
    except PagerDutyError as exc:
        return ToolResult.failed(explain_pagerduty_error(exc))
    names = [str(t.get("summary") or t.get("name") or t["id"]) for t in teams]
    schedules = [s for s in page.items if isinstance(s, dict) and s.get("id")]
    return names, schedules, page.more or len(refs) > MAX_TEAMS


def schedule_refs(schedules: list[dict[str, Any]]) -> list[str]:
    """How find_coverage_gaps is to find each schedule: by its name (one request) where no other of them has
    the same name, else by its ID."""
    names = [str(s.get("name") or "").strip() for s in schedules]
    keys = [name_key(n) for n in names]
    return [name if name and keys.count(key) == 1 else str(s["id"])
            for name, key, s in zip(names, keys, schedules, strict=True)]


async def _publish(client: AsyncWebClient, user: str, view: dict[str, Any]) -> bool:
    """Publish ``view`` for ``user``; where Slack rejects it, a short view saying so. True when published."""
    try:
        await client.views_publish(user_id=user, view=view)
        return True
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        if error not in VIEW_REJECTED:
            log.warning("Home tab not published: %s", error)
            return False
        log.error("Slack rejected a Home view (%s): publishing a short one instead", error)
    except Exception as exc:  # Slack unreachable: the next opening tries again
        log.warning("Home tab not published (%s)", type(exc).__name__)
        return False
    fallback = home_view(problem_blocks(REJECTED.format(error=error), refresh=True))
    try:
        await client.views_publish(user_id=user, view=fallback)
    except Exception as exc:
        log.warning("the short Home view was not published either (%s)", type(exc).__name__)
    return False
