"""``who_is_on_call``: who is on call for a service, schedule, policy, team or person, level by level.

PagerDuty's ``/oncalls`` has no service or team filter, so a service goes through its escalation policy
(embedded in the service lookup: one request) and a team through its policies. Requests on the usual
question ("who is on call for payments-api"): the service lookup and one ``/oncalls`` call.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field

from bot.analysis.oncall import (
    OnCall,
    PolicyLevels,
    group_levels,
    merge_contiguous,
    merge_sources,
    my_oncall,
    parse_oncalls,
    uncovered,
)
from bot.analysis.windows import Window
from bot.pagerduty import Page
from bot.tools.base import Tool, ToolArgs, ToolContext, ToolResult
from bot.tools.common import FIT_CHARS, ONCALLS_AHEAD, asked_window, window_field
from bot.tools.errors import ToolError
from bot.tools.resolve import (
    LOOKUPS,
    Named,
    choice_note,
    clean_ref,
    looks_like_id,
    name_key,
    query_by_name,
    resolve_policy,
    resolve_schedule,
    resolve_service,
    resolve_team,
    resolve_user,
)
from bot.tools.results import WindowEcho, in_zone
from bot.tools.results.oncall import (
    Gap,
    Level,
    OnCallFor,
    OnCallPerson,
    OnSchedule,
    PersonOnCall,
    PoliciesOnCall,
    PolicyOnCall,
    ScheduleOnCall,
    Stint,
    Target,
    TargetKind,
    WhoIsOnCallResult,
)

MAX_ROWS = 500
MAX_POLICIES = 10
MAX_PER_LEVEL = 8
MAX_PERSON_ROWS = 20
_SHRINK = ((MAX_PER_LEVEL, MAX_POLICIES), (4, MAX_POLICIES), (2, MAX_POLICIES), (2, 5), (1, 5), (1, 3))
"""(people per level, policies) tried in turn until a long window over many policies fits the budget."""
_ME = {"me", "myself", "i", "i'm", "im"}

TargetType = Literal["service", "schedule", "escalation_policy", "team", "user", "me"]


class WhoIsOnCall(ToolArgs):
    """Who's on call (per level, until when) for a service/schedule/policy/team/person, at an instant or
    over a window; when am I next on call. Rules: get_escalation_policy."""

    target: str | None = Field(description="Name; null: me.")
    target_type: TargetType | None = Field(description="null: guess, services first.")
    window: str | None = window_field("now")

    @property
    def about_me(self) -> bool:
        """The asker's own on-call: the type ``me``, or a target of me, I, myself…"""
        target = (self.target or "").strip().lower()
        return self.target_type == "me" or (self.target_type in (None, "user") and target in _ME)


# --------------------------------------------------------------------------- lookups shared with escalation


async def policy_of_service(ctx: ToolContext, service: dict[str, Any]) -> dict[str, Any]:
    """The service's escalation policy object (fetched only if the service did not embed it)."""
    policy = service.get("escalation_policy")
    if not isinstance(policy, dict) or not policy.get("id"):
        raise ToolError(f"Service {service.get('name')!r} has no escalation policy.", kind="not_found")
    if "escalation_rules" in policy:
        return policy
    body = await ctx.client.get(f"/escalation_policies/{policy['id']}", deadline=ctx.deadline)
    found: dict[str, Any] = body["escalation_policy"]
    return found


# --------------------------------------------------------------------------- windows and /oncalls


def query_window(text: str | None, ctx: ToolContext) -> tuple[Window, datetime, datetime, bool]:
    """The asked window, and the since/until sent to PagerDuty (cut at 90 days ahead: ``cut``)."""
    window = asked_window(ctx, text, "Use a window such as now, tomorrow or next week.")
    limit = ctx.now + ONCALLS_AHEAD
    since, until = window.start, min(window.end, limit)
    if since > limit:
        raise ToolError("PagerDuty only knows on-call shifts up to 90 days ahead.", "Ask about a nearer window.")
    return window, since, until, until < window.end


def window_echo(window: Window, ctx: ToolContext, cut: bool = False) -> WindowEcho:
    """The shared window echo, noting PagerDuty's 90-day cut."""
    return WindowEcho.of(window, ctx.tz, note="cut at 90 days ahead (PagerDuty's limit)" if cut else None)


async def fetch_oncalls(ctx: ToolContext, params: dict[str, Any], since: datetime, until: datetime,
                        *, max_items: int = MAX_ROWS, earliest: bool = False) -> Page:
    query: dict[str, Any] = {**params, "since": since, "until": until}
    if earliest:
        query["earliest"] = True
    return await ctx.client.fetch("/oncalls", "oncalls", query, max_items=max_items, concurrent=True,
                                  deadline=ctx.deadline)


# --------------------------------------------------------------------------- result shapes


def on_call_person(entry: OnCall, ctx: ToolContext) -> OnCallPerson:
    """One person at a level; the same person through several targets of one level is listed once."""
    return OnCallPerson(name=entry.user_name, schedule=entry.schedule_name, also_via=list(entry.also_via),
                        start=in_zone(entry.start, ctx.tz), end=in_zone(entry.end, ctx.tz),
                        permanent=entry.permanent)


def _gaps(entries: Iterable[OnCall], since: datetime, until: datetime, ctx: ToolContext) -> list[Gap]:
    return [Gap(start=lo.astimezone(ctx.tz), end=hi.astimezone(ctx.tz))
            for lo, hi in uncovered(entries, since, until)[:MAX_PER_LEVEL]]


def _policies(grouped: list[PolicyLevels], urls: dict[str, str], ctx: ToolContext, since: datetime,
              until: datetime, *, per_level: int = MAX_PER_LEVEL, max_policies: int = MAX_POLICIES,
              ) -> tuple[list[PolicyOnCall], list[str]]:
    """Policies with their levels (and each level's coverage gaps in the window), and the
    "Policy level N" names nobody is on call for at all."""
    policies: list[PolicyOnCall] = []
    nobody: list[str] = []
    for policy in grouped[:max_policies]:
        levels: list[Level] = []
        for level in policy.levels:
            gaps: list[Gap] = []
            if not level.entries:
                nobody.append(f"{policy.policy_name} level {level.level}")
            else:
                gaps = _gaps(level.entries, since, until, ctx)[:per_level]
            levels.append(Level(level=level.level, on_call=[on_call_person(e, ctx) for e in level.entries[:per_level]],
                                more=max(len(level.entries) - per_level, 0), gaps=gaps))
        policies.append(PolicyOnCall(policy=policy.policy_name, url=urls.get(policy.policy_id) or None,
                                     levels=levels))
    return policies, nobody


def _policy_answer(target: Target, window: Window, cut: bool, ctx: ToolContext, page: Page,
                   policies: list[dict[str, Any]], since: datetime, until: datetime) -> PoliciesOnCall:
    counts = {str(p["id"]): len(p.get("escalation_rules") or []) for p in policies}
    names = {str(p["id"]): str(p.get("name") or p.get("summary") or "") for p in policies}
    rows = [replace(e, policy_name=e.policy_name or names.get(e.policy_id, "")) for e in parse_oncalls(page.items)]
    grouped = [g if g.policy_name else replace(g, policy_name=names.get(g.policy_id, ""))
               for g in group_levels(rows, counts)]
    urls = {str(p["id"]): str(p["html_url"]) for p in policies if p.get("html_url")}
    echo = window_echo(window, ctx, cut)

    def build(shrink: tuple[int, int]) -> PoliciesOnCall:
        per_level, max_policies = shrink
        shown, nobody = _policies(grouped, urls, ctx, since, until, per_level=per_level, max_policies=max_policies)
        return PoliciesOnCall(target=target, window=echo, policies=shown,
                              more_policies=max(len(grouped) - max_policies, 0), nobody_on_call=nobody[:MAX_POLICIES])

    value = build(_SHRINK[0])
    for shrink in _SHRINK[1:]:  # the richest answer that fits the budget, else the leanest
        if value.wire_size() <= FIT_CHARS:
            break
        value = build(shrink)
    return value


def _target(kind: TargetKind, obj: dict[str, Any], *, status: bool = False) -> Target:
    return Target(type=kind, name=obj.get("name") or obj.get("summary"),
                  status=(obj.get("status") or None) if status else None, url=obj.get("html_url") or None)


# --------------------------------------------------------------------------- the modes


async def _for_service(ctx: ToolContext, service: dict[str, Any], window: Window, since: datetime,
                       until: datetime, cut: bool) -> ToolResult[WhoIsOnCallResult]:
    ref = service.get("escalation_policy") or {}
    policy_id = ref.get("id") if isinstance(ref, dict) else None
    if not policy_id:
        raise ToolError(f"Service {service.get('name')!r} has no escalation policy.", kind="not_found")
    policy, page = await asyncio.gather(
        policy_of_service(ctx, service),
        fetch_oncalls(ctx, {"escalation_policy_ids[]": [policy_id]}, since, until))
    value = _policy_answer(_target("service", service, status=True), window, cut, ctx, page, [policy], since, until)
    return ToolResult.ok(value, partial=page.more)


async def _for_policy(ctx: ToolContext, policy: dict[str, Any], window: Window, since: datetime,
                      until: datetime, cut: bool) -> ToolResult[WhoIsOnCallResult]:
    page = await fetch_oncalls(ctx, {"escalation_policy_ids[]": [policy["id"]]}, since, until)
    value = _policy_answer(_target("escalation_policy", policy), window, cut, ctx, page, [policy], since, until)
    return ToolResult.ok(value, partial=page.more)


async def _for_team(ctx: ToolContext, team: dict[str, Any], window: Window, since: datetime,
                    until: datetime, cut: bool) -> ToolResult[WhoIsOnCallResult]:
    policies = await ctx.client.fetch("/escalation_policies", "escalation_policies", {"team_ids[]": [team["id"]]},
                                      max_items=100, deadline=ctx.deadline)
    if not policies.items:
        return ToolResult.nothing(f"Team {team.get('name')!r} has no escalation policies, so nobody is on call "
                                  "for it.", OnCallFor(target=_target("team", team)))
    page = await fetch_oncalls(ctx, {"escalation_policy_ids[]": [p["id"] for p in policies.items]}, since, until)
    value = _policy_answer(_target("team", team), window, cut, ctx, page, list(policies.items), since, until)
    return ToolResult.ok(value, partial=page.more or policies.more)


async def _for_everyone(ctx: ToolContext, window: Window, since: datetime, until: datetime,
                        cut: bool) -> ToolResult[WhoIsOnCallResult]:
    page = await fetch_oncalls(ctx, {}, since, until, max_items=300)
    value = _policy_answer(Target(type="account"), window, cut, ctx, page, [], since, until)
    # Added after fitting: the hint is never what gets the answer cut. (model_copy: Result.but cannot
    # re-read the window's ShownTime.)
    hint = "Name a service, team or schedule for a complete answer about it."
    return ToolResult.ok(value.model_copy(update={"hint": hint}), partial=page.more)


async def _for_schedule(ctx: ToolContext, schedule: dict[str, Any], window: Window, since: datetime,
                        until: datetime, cut: bool) -> ToolResult[WhoIsOnCallResult]:
    page = await fetch_oncalls(ctx, {"schedule_ids[]": [schedule["id"]]}, since, until)
    rows = parse_oncalls(page.items)
    used_by = sorted({f"{r.policy_name} level {r.level}" for r in rows})
    if not rows and schedule.get("type") == "schedule" and not schedule.get("escalation_policies"):
        rows = await _render_unused_schedule(ctx, schedule, since, until)
    people = merge_contiguous(replace(r, policy_id="", policy_name="", level=0) for r in rows)
    people.sort(key=lambda e: (e.start or since, e.user_name))
    value = ScheduleOnCall(
        target=_target("schedule", schedule), window=window_echo(window, ctx, cut),
        on_call=[OnSchedule(name=e.user_name, start=in_zone(e.start, ctx.tz), end=in_zone(e.end, ctx.tz),
                            permanent=e.permanent) for e in people[:MAX_PERSON_ROWS]],
        more=max(len(people) - MAX_PERSON_ROWS, 0), used_by=used_by[:MAX_POLICIES],
        note=None if used_by or page.items else "No escalation policy uses this schedule, so it pages nobody.",
        nobody_on_call=not people, gaps=_gaps(people, since, until, ctx) if people else [])
    return ToolResult.ok(value, partial=page.more)


async def _render_unused_schedule(ctx: ToolContext, schedule: dict[str, Any], since: datetime,
                                  until: datetime) -> list[OnCall]:
    """``/oncalls`` only covers schedules some policy targets; render any other one directly."""
    end = until if until > since else since + timedelta(minutes=1)
    body = await ctx.client.get(f"/schedules/{schedule['id']}", {"since": since, "until": end, "overflow": True},
                                deadline=ctx.deadline)
    final = body.get("schedule", {}).get("final_schedule") or {}
    rows = [{"user": e.get("user"), "start": e.get("start"), "end": e.get("end"),
             "schedule": {"id": schedule["id"], "summary": schedule.get("name")}}
            for e in final.get("rendered_schedule_entries") or []]
    return [e for e in parse_oncalls(rows) if e.start is not None and e.end is not None
            and e.start <= end and e.end > since]


async def _for_user(ctx: ToolContext, who: str, window: Window, since: datetime, until: datetime,
                    cut: bool) -> ToolResult[WhoIsOnCallResult]:
    user = await resolve_user(ctx, who)
    ahead = ctx.now + ONCALLS_AHEAD
    filters = {"user_ids[]": [user["id"]]}
    at_now = window.is_instant and window.start == ctx.now
    if at_now:
        upcoming_page = await fetch_oncalls(ctx, filters, ctx.now, ahead, max_items=200, earliest=True)
        window_page = upcoming_page
    else:
        upcoming_page, window_page = await asyncio.gather(
            fetch_oncalls(ctx, filters, ctx.now, ahead, max_items=200, earliest=True),
            fetch_oncalls(ctx, filters, since, until, max_items=200))
    if at_now:
        mine = my_oncall(parse_oncalls(upcoming_page.items), ctx.now)
        stints = list(mine.current)
    else:
        stints = merge_sources(parse_oncalls(window_page.items))
        stints.sort(key=lambda e: (e.start or since, e.level, e.policy_name))
        mine = my_oncall(parse_oncalls(upcoming_page.items), ctx.now, listed=stints, listed_until=until)

    def stint(entry: OnCall) -> Stint:
        return Stint(policy=entry.policy_name, level=entry.level, schedule=entry.schedule_name,
                     also_via=list(entry.also_via), start=in_zone(entry.start, ctx.tz), end=in_zone(entry.end, ctx.tz),
                     permanent=entry.permanent)

    value = PersonOnCall(
        person=user.get("name") or user.get("summary"), window=window_echo(window, ctx, cut),
        on_call_now=bool(mine.current), on_call=[stint(e) for e in stints[:MAX_PERSON_ROWS]],
        next=stint(mine.upcoming) if mine.upcoming else None,
        next_note=("the period after those running or listed was not read: ask about a later window"
                   if mine.next_unknown else None),
        more=max(len(stints) - MAX_PERSON_ROWS, 0),
        note=("Not on call on any escalation policy in the next 90 days."
              if not stints and mine.upcoming is None and not mine.current else None))
    return ToolResult.ok(value, partial=upcoming_page.more or window_page.more)


# --------------------------------------------------------------------------- guessing the target


_GUESSES = ("service", "escalation_policy", "schedule", "team")


async def _guess(ctx: ToolContext, name: str) -> tuple[Named, str | None]:
    """Service, then escalation policy, schedule and team: the first with that name (ignoring case, spaces
    and punctuation) wins, with a note when a linked object has the same name; else a single partial
    match over all of them; else an error with the closest names of the account."""
    wanted = clean_ref(name, "service, schedule, escalation policy or team")
    if looks_like_id(wanted):
        for kind, resolver in (("service", resolve_service), ("escalation_policy", resolve_policy),
                               ("schedule", resolve_schedule)):
            try:
                return Named(kind, await resolver(ctx, wanted)), None
            except ToolError:
                continue
    partial: list[Named] = []
    for kind in _GUESSES:
        path, key, params = LOOKUPS[kind]
        items = await query_by_name(ctx, path, key, wanted, params)
        exact = [i for i in items if name_key(i.get("name")) == name_key(wanted)]
        if exact:
            chosen = Named(kind, exact[0])
            return chosen, choice_note(chosen, wanted)
        partial.extend(Named(kind, item) for item in items)
    if len(partial) == 1:
        return partial[0], None
    if partial:
        listed = ", ".join(f"{n.name} ({n.kind.replace('_', ' ')})" for n in partial[:8])
        raise ToolError(f"{len(partial)} things match {wanted!r}: {listed}.",
                        "Use the exact name, and target_type if it is ambiguous.", kind="ambiguous")
    return Named(*await _closest(ctx, wanted)), None


async def _closest(ctx: ToolContext, wanted: str) -> tuple[str, dict[str, Any]]:
    """Nothing matched by query: shift-based (v3) schedules are only known through policies, and the
    policies list also names every service, schedule and team people could have meant."""
    policies = await ctx.client.fetch("/escalation_policies", "escalation_policies", max_items=1000,
                                      deadline=ctx.deadline)
    names: dict[str, str] = {}
    for policy in policies.items:
        names.setdefault(str(policy.get("name")), "escalation policy")
        for ref in policy.get("services") or []:
            names.setdefault(str(ref.get("summary")), "service")
        for ref in policy.get("teams") or []:
            names.setdefault(str(ref.get("summary")), "team")
        for rule in policy.get("escalation_rules") or []:
            for target in rule.get("targets") or []:
                if target.get("type") == "schedule_v3_reference" and str(
                        target.get("summary", "")).lower() == wanted.lower():
                    return "schedule", {"id": target["id"], "name": target.get("summary"), "type": "schedule_v3"}
                if "schedule" in str(target.get("type")):
                    names.setdefault(str(target.get("summary")), "schedule")
    lowered = {n.lower(): n for n in names}
    close = difflib.get_close_matches(wanted.lower(), list(lowered), n=4, cutoff=0.5)
    if close:
        listed = ", ".join(f"{lowered[c]} ({names[lowered[c]]})" for c in close)
        raise ToolError(f"Nothing named {wanted!r}. Closest: {listed}.",
                        "Use one of those names if it is what the user meant, or ask them.", kind="not_found")
    raise ToolError(f"No service, escalation policy, schedule or team named {wanted!r} is visible to this user.",
                    "Check the name; team-scoped users only see their teams' objects.", kind="not_found")


# --------------------------------------------------------------------------- the tool


async def who_is_on_call(args: WhoIsOnCall, ctx: ToolContext) -> ToolResult[WhoIsOnCallResult]:
    window, since, until, cut = query_window(args.window, ctx)
    kind: str | None = args.target_type
    target = (args.target or "").strip()
    if args.about_me:
        return await _for_user(ctx, "me", window, since, until, cut)
    if not target:
        if kind is None:
            return await _for_everyone(ctx, window, since, until, cut)
        if kind == "user":
            return await _for_user(ctx, "me", window, since, until, cut)
        raise ToolError(f"Which {kind.replace('_', ' ')}? target is empty.", "Ask the user for its name.")
    if kind == "user":
        return await _for_user(ctx, target, window, since, until, cut)
    obj: dict[str, Any]
    note: str | None = None
    if kind is None:
        guessed, note = await _guess(ctx, target)
        kind, obj = guessed.kind, guessed.obj
    elif kind == "service":
        obj = await resolve_service(ctx, target, with_policy=True)
    elif kind == "escalation_policy":
        obj = await resolve_policy(ctx, target)
    elif kind == "schedule":
        obj = await resolve_schedule(ctx, target)
    else:
        obj = await resolve_team(ctx, target)
    if kind == "service":
        result = await _for_service(ctx, obj, window, since, until, cut)
    elif kind == "escalation_policy":
        result = await _for_policy(ctx, obj, window, since, until, cut)
    elif kind == "schedule":
        result = await _for_schedule(ctx, obj, window, since, until, cut)
    else:
        result = await _for_team(ctx, obj, window, since, until, cut)
    if note and isinstance(result.value, OnCallFor):
        result.value = result.value.model_copy(update={"resolved": f"{note}; target_type picks another"})
    return result


TOOLS: list[Tool[Any]] = [Tool("who_is_on_call", WhoIsOnCall, who_is_on_call, "read", result=WhoIsOnCallResult)]
