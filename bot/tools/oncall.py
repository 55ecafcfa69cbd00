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
from bot.analysis.windows import Window, local_iso, local_iso_or_none, window_echo
from bot.pagerduty import Page
from bot.tools.base import Tool, ToolArgs, ToolContext, ToolResult
from bot.tools.common import ONCALLS_AHEAD, asked_window, fit, window_field
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


# --------------------------------------------------------------------------- lookups shared with escalation


async def policy_of_service(ctx: ToolContext, service: dict[str, Any]) -> dict[str, Any]:
    """The service's escalation policy object (fetched only if the service did not embed it)."""
    policy = service.get("escalation_policy")
    if not isinstance(policy, dict) or not policy.get("id"):
        raise ToolError(f"Service {service.get('name')!r} has no escalation policy.")
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


def window_json(window: Window, ctx: ToolContext, cut: bool = False) -> dict[str, Any]:
    """The shared window echo (:func:`~bot.analysis.windows.window_echo`), noting PagerDuty's 90-day cut."""
    body: dict[str, Any] = window_echo(window, ctx.tz)
    if cut:
        body["note"] = "cut at 90 days ahead (PagerDuty's limit)"
    return body


async def fetch_oncalls(ctx: ToolContext, params: dict[str, Any], since: datetime, until: datetime,
                        *, max_items: int = MAX_ROWS, earliest: bool = False) -> Page:
    query: dict[str, Any] = {**params, "since": since, "until": until}
    if earliest:
        query["earliest"] = True
    return await ctx.client.fetch("/oncalls", "oncalls", query, max_items=max_items, concurrent=True,
                                  deadline=ctx.deadline)


# --------------------------------------------------------------------------- result shapes


def person_json(entry: OnCall, ctx: ToolContext, *, schedule: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {"name": entry.user_name}
    if schedule:
        body["schedule"] = entry.schedule_name
        if entry.also_via:  # the same person through several targets of one level: listed once
            body["also_via"] = list(entry.also_via)
    body["from"] = local_iso_or_none(entry.start, ctx.tz)
    body["until"] = local_iso_or_none(entry.end, ctx.tz)
    if entry.permanent:
        body["permanent"] = True
    return body


def gaps_json(entries: Iterable[OnCall], since: datetime, until: datetime, ctx: ToolContext) -> list[dict[str, str]]:
    return [{"from": local_iso(lo, ctx.tz), "until": local_iso(hi, ctx.tz)}
            for lo, hi in uncovered(entries, since, until)[:MAX_PER_LEVEL]]


def levels_json(grouped: list[PolicyLevels], urls: dict[str, str], ctx: ToolContext, since: datetime,
                until: datetime, *, per_level: int = MAX_PER_LEVEL, max_policies: int = MAX_POLICIES,
                ) -> tuple[list[dict[str, Any]], list[str]]:
    """Policies with their levels (and each level's coverage gaps in the window), and the
    "Policy level N" names nobody is on call for at all."""
    policies: list[dict[str, Any]] = []
    nobody: list[str] = []
    for policy in grouped[:max_policies]:
        levels: list[dict[str, Any]] = []
        for level in policy.levels:
            row: dict[str, Any] = {"level": level.level,
                                   "on_call": [person_json(e, ctx) for e in level.entries[:per_level]]}
            if len(level.entries) > per_level:
                row["more"] = len(level.entries) - per_level
            if not level.entries:
                nobody.append(f"{policy.policy_name} level {level.level}")
            elif gaps := gaps_json(level.entries, since, until, ctx)[:per_level]:
                row["gaps"] = gaps
            levels.append(row)
        body: dict[str, Any] = {"policy": policy.policy_name}
        if urls.get(policy.policy_id):
            body["url"] = urls[policy.policy_id]
        body["levels"] = levels
        policies.append(body)
    return policies, nobody


def _policy_result(target: dict[str, Any], window: Window, cut: bool, ctx: ToolContext, page: Page,
                   policies: list[dict[str, Any]], since: datetime, until: datetime) -> ToolResult:
    counts = {str(p["id"]): len(p.get("escalation_rules") or []) for p in policies}
    names = {str(p["id"]): str(p.get("name") or p.get("summary") or "") for p in policies}
    rows = [replace(e, policy_name=e.policy_name or names.get(e.policy_id, "")) for e in parse_oncalls(page.items)]
    grouped = [g if g.policy_name else replace(g, policy_name=names.get(g.policy_id, ""))
               for g in group_levels(rows, counts)]
    urls = {str(p["id"]): str(p["html_url"]) for p in policies if p.get("html_url")}

    def build(shrink: tuple[int, int]) -> dict[str, Any]:
        per_level, max_policies = shrink
        shown, nobody = levels_json(grouped, urls, ctx, since, until, per_level=per_level,
                                    max_policies=max_policies)
        data: dict[str, Any] = {"target": target, "window": window_json(window, ctx, cut), "policies": shown}
        if len(grouped) > max_policies:
            data["more_policies"] = len(grouped) - max_policies
        if nobody:
            data["nobody_on_call"] = nobody[:MAX_POLICIES]
        return data

    return ToolResult.ok(fit(build, _SHRINK), partial=page.more)


def _target(kind: str, obj: dict[str, Any], *extra: str) -> dict[str, Any]:
    body: dict[str, Any] = {"type": kind, "name": obj.get("name") or obj.get("summary")}
    for key in extra:
        if obj.get(key):
            body[key] = obj[key]
    if obj.get("html_url"):
        body["url"] = obj["html_url"]
    return body


# --------------------------------------------------------------------------- the modes


async def _for_service(ctx: ToolContext, service: dict[str, Any], window: Window, since: datetime,
                       until: datetime, cut: bool) -> ToolResult:
    ref = service.get("escalation_policy") or {}
    policy_id = ref.get("id") if isinstance(ref, dict) else None
    if not policy_id:
        raise ToolError(f"Service {service.get('name')!r} has no escalation policy.")
    policy, page = await asyncio.gather(
        policy_of_service(ctx, service),
        fetch_oncalls(ctx, {"escalation_policy_ids[]": [policy_id]}, since, until))
    return _policy_result(_target("service", service, "status"), window, cut, ctx, page, [policy], since, until)


async def _for_policy(ctx: ToolContext, policy: dict[str, Any], window: Window, since: datetime,
                      until: datetime, cut: bool) -> ToolResult:
    page = await fetch_oncalls(ctx, {"escalation_policy_ids[]": [policy["id"]]}, since, until)
    return _policy_result(_target("escalation_policy", policy), window, cut, ctx, page, [policy], since, until)


async def _for_team(ctx: ToolContext, team: dict[str, Any], window: Window, since: datetime,
                    until: datetime, cut: bool) -> ToolResult:
    policies = await ctx.client.fetch("/escalation_policies", "escalation_policies", {"team_ids[]": [team["id"]]},
                                      max_items=100, deadline=ctx.deadline)
    if not policies.items:
        return ToolResult.nothing(f"Team {team.get('name')!r} has no escalation policies, so nobody is on call "
                                  "for it.", {"target": _target("team", team)})
    page = await fetch_oncalls(ctx, {"escalation_policy_ids[]": [p["id"] for p in policies.items]}, since, until)
    result = _policy_result(_target("team", team), window, cut, ctx, page, list(policies.items), since, until)
    result.partial = result.partial or policies.more
    return result


async def _for_everyone(ctx: ToolContext, window: Window, since: datetime, until: datetime,
                        cut: bool) -> ToolResult:
    page = await fetch_oncalls(ctx, {}, since, until, max_items=300)
    result = _policy_result({"type": "account"}, window, cut, ctx, page, [], since, until)
    result.data["hint"] = "Name a service, team or schedule for a complete answer about it."
    return result


async def _for_schedule(ctx: ToolContext, schedule: dict[str, Any], window: Window, since: datetime,
                        until: datetime, cut: bool) -> ToolResult:
    page = await fetch_oncalls(ctx, {"schedule_ids[]": [schedule["id"]]}, since, until)
    rows = parse_oncalls(page.items)
    used_by = sorted({f"{r.policy_name} level {r.level}" for r in rows})
    if not rows and schedule.get("type") == "schedule" and not schedule.get("escalation_policies"):
        rows = await _render_unused_schedule(ctx, schedule, since, until)
    people = merge_contiguous(replace(r, policy_id="", policy_name="", level=0) for r in rows)
    people.sort(key=lambda e: (e.start or since, e.user_name))
    data: dict[str, Any] = {"target": _target("schedule", schedule), "window": window_json(window, ctx, cut),
                            "on_call": [person_json(e, ctx, schedule=False) for e in people[:MAX_PERSON_ROWS]]}
    if len(people) > MAX_PERSON_ROWS:
        data["more"] = len(people) - MAX_PERSON_ROWS
    if used_by:
        data["used_by"] = used_by[:MAX_POLICIES]
    elif not page.items:
        data["note"] = "No escalation policy uses this schedule, so it pages nobody."
    if not people:
        data["nobody_on_call"] = True
    elif gaps := gaps_json(people, since, until, ctx):
        data["gaps"] = gaps
    return ToolResult.ok(data, partial=page.more)


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
                    cut: bool) -> ToolResult:
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

    def stint(entry: OnCall) -> dict[str, Any]:
        body = {"policy": entry.policy_name, "level": entry.level, **person_json(entry, ctx)}
        del body["name"]
        return body

    data: dict[str, Any] = {"person": user.get("name") or user.get("summary"),
                            "window": window_json(window, ctx, cut),
                            "on_call_now": bool(mine.current),
                            "on_call": [stint(e) for e in stints[:MAX_PERSON_ROWS]],
                            "next": stint(mine.upcoming) if mine.upcoming else None}
    if mine.next_unknown:
        data["next_note"] = "the period after those running or listed was not read: ask about a later window"
    if len(stints) > MAX_PERSON_ROWS:
        data["more"] = len(stints) - MAX_PERSON_ROWS
    if not stints and mine.upcoming is None and not mine.current:
        data["note"] = "Not on call on any escalation policy in the next 90 days."
    return ToolResult.ok(data, partial=upcoming_page.more or window_page.more)


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
                        "Use the exact name, and target_type if it is ambiguous.")
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
                        "Use one of those names if it is what the user meant, or ask them.")
    raise ToolError(f"No service, escalation policy, schedule or team named {wanted!r} is visible to this user.",
                    "Check the name; team-scoped users only see their teams' objects.")


# --------------------------------------------------------------------------- the tool


async def who_is_on_call(args: WhoIsOnCall, ctx: ToolContext) -> ToolResult:
    window, since, until, cut = query_window(args.window, ctx)
    kind: str | None = args.target_type
    target = (args.target or "").strip()
    if kind == "me" or (kind in (None, "user") and target.lower() in _ME):
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
    if note:
        result.data = {"resolved": f"{note}; target_type picks another", **result.data}
    return result


TOOLS: list[Tool[Any]] = [Tool("who_is_on_call", WhoIsOnCall, who_is_on_call, "read")]
