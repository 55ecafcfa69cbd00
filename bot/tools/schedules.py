"""Schedules over a time window (who, from, to, handoffs, gaps, coverage) and coverage gaps across
schedules and escalation levels, in the asker's time zone.

Requests: a named layer-based schedule is found *and* rendered by one ``GET /schedules?query=…&include[]
=final_schedule`` (PagerDuty renders list items when ``since``/``until`` are given); a shift-based (v3)
schedule, which ``/schedules`` does not list, is found through the escalation policies that target it and
read from ``GET /v3/schedules/{id}?include[]=final_schedule`` (its members are ids only, so their names
cost one ``GET /users/{id}`` each, concurrently). The all-schedules overview pages ``GET /schedules``
concurrently (3 requests for 300 schedules). Escalation-level coverage is one ``GET /oncalls`` for the
policy. All arithmetic is :mod:`bot.analysis.coverage`'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from pydantic import Field

from bot.analysis import coverage as analysis
from bot.analysis.coverage import (
    Coverage,
    coverage,
    level_coverage,
    shifts_from_v2,
    shifts_from_v3,
    uncovered_by_all,
)
from bot.analysis.intervals import Interval
from bot.analysis.oncall import parse_oncalls
from bot.analysis.windows import Window
from bot.pagerduty import InvalidInputError, NotFoundError, Page, PagerDutyError
from bot.tools.base import Tool, ToolArgs, ToolContext, ToolResult
from bot.tools.common import ONCALLS_AHEAD, asked_window, fit, window_field
from bot.tools.errors import ToolError
from bot.tools.resolve import (
    clean_ref,
    looks_like_id,
    name_key,
    resolve_named,
    resolve_policy,
)
from bot.tools.results import WindowEcho
from bot.tools.results.schedules import (
    CoverageGap,
    CoverageGaps,
    GapsAnswer,
    Handoff,
    LevelCoverage,
    ScheduleAnswer,
    ScheduleCoverage,
    ScheduleDetail,
    ScheduleGaps,
    ScheduleOverview,
    Shift,
)

MAX_WINDOW = timedelta(days=35)
MAX_SHIFTS = 40
MAX_NAMED = 10
"""Schedules one find_coverage_gaps call may name."""
MAX_NAME_LOOKUPS = 15
"""v3 members named per schedule (one GET /users/{id} each); the rest are shown by id."""
OVERVIEW_V3 = 3
"""Shift-based schedules the overview also checks, on accounts whose schedules fit one page."""
MAX_OVERVIEW = 1_000
OVERVIEW_NOTE = "coverage and gaps per schedule, no shifts: name a schedule for its shifts"
CAPS = (MAX_SHIFTS, 20, 10, 5, 2)
"""List lengths tried, richest first, until a result fits (:func:`bot.tools.common.fit`)."""


class GetSchedule(ToolArgs):
    """A schedule over a window (an instant: the 24 h from it, at most 35 days): shifts, handoffs, gaps,
    coverage %. schedule null: an overview of all schedules (coverage and gaps each, no shifts). Who is on
    call now: who_is_on_call."""

    schedule: str | None = Field(description="Schedule name or ID; null: overview, no shifts.")
    window: str | None = window_field("next 7 days")


class FindCoverageGaps(ToolArgs):
    """Coverage gaps (nobody on call) with exact times, per schedule or per escalation policy level."""

    schedules: list[str] | None = Field(description="Schedule names; null = all, unless escalation_policy.")
    escalation_policy: str | None = Field(description="Policy name: levels nobody covers.")
    window: str | None = window_field("next 7 days")


# --------------------------------------------------------------------------- windows and shapes


def resolve_span(ctx: ToolContext, text: str | None, default: str) -> Window:
    """The window the user named (an instant means the 24 h from it), at most :data:`MAX_WINDOW`."""
    window = asked_window(ctx, text, "Ask for a shorter window, e.g. 'next 14 days'.", default=default,
                          longest=MAX_WINDOW)
    if window.is_instant:
        window = Window(window.start, window.start + timedelta(days=1), window.label)
    return window


def _gap(gap: Interval, tz: ZoneInfo) -> CoverageGap:
    return CoverageGap(start=gap.start.astimezone(tz), end=gap.end.astimezone(tz), hours=gap.hours)


def _shift(shift: analysis.Shift, tz: ZoneInfo) -> Shift:
    return Shift(who=shift.user, start=shift.start.astimezone(tz), end=shift.end.astimezone(tz))


def _handoff(handoff: analysis.Handoff, tz: ZoneInfo) -> Handoff:
    return Handoff(at=handoff.at.astimezone(tz), before=" + ".join(handoff.before) or "nobody",
                   after=" + ".join(handoff.after) or "nobody")


# --------------------------------------------------------------------------- loading schedules


@dataclass(frozen=True, slots=True)
class Loaded:
    """One schedule's final shifts in a window, whatever its kind."""

    id: str
    name: str
    kind: str
    time_zone: str | None
    url: str | None
    shifts: list[analysis.Shift]
    explicit_gaps: list[Interval]


def _from_v2(schedule: dict[str, Any]) -> Loaded:
    final = schedule.get("final_schedule") or {}
    return Loaded(str(schedule.get("id")), str(schedule.get("name") or schedule.get("summary") or ""), "v2",
                  schedule.get("time_zone"), schedule.get("html_url"),
                  shifts_from_v2(final.get("rendered_schedule_entries") or []), [])


async def user_names(ctx: ToolContext, user_ids: Sequence[str], schedule_id: str | None = None,
                     window: Window | None = None) -> dict[str, str]:
    """Names of v3 members (ids only): one ``/oncalls`` for the schedule's window names everyone on call
    through a policy; the rest cost a ``GET /users/{id}`` each (concurrently, at most 15)."""
    names: dict[str, str] = {}
    if schedule_id and window and user_ids and window.end <= ctx.now + ONCALLS_AHEAD:
        try:
            page = await ctx.client.fetch("/oncalls", "oncalls", {
                "schedule_ids[]": [schedule_id], **_window_params(window)}, max_items=200, deadline=ctx.deadline)
        except (InvalidInputError, NotFoundError):
            page = Page()
        names.update((e.user_id, e.user_name) for e in parse_oncalls(page.items))
    missing = [u for u in user_ids if u not in names]

    async def one(user_id: str) -> tuple[str, str]:
        try:
            body = await ctx.client.get(f"/users/{quote(user_id, safe='')}", deadline=ctx.deadline)
        except NotFoundError:
            return user_id, user_id
        user = body.get("user") or {}
        return user_id, str(user.get("name") or user_id)

    pairs = await asyncio.gather(*(one(u) for u in missing[:MAX_NAME_LOOKUPS]))
    return names | dict(pairs)


async def _from_v3(ctx: ToolContext, schedule: dict[str, Any], window: Window, *, names: bool) -> Loaded:
    assignments = (schedule.get("final_schedule") or {}).get("computed_shift_assignments") or []
    user_ids = list(dict.fromkeys(
        str(a["member"]["user_id"]) for a in assignments
        if isinstance(a.get("member"), dict) and a["member"].get("user_id")))
    lookup = await user_names(ctx, user_ids, str(schedule.get("id")), window) if names else {}
    shifts, gaps = shifts_from_v3(assignments, lookup)
    return Loaded(str(schedule.get("id")), str(schedule.get("name") or ""), "v3", schedule.get("time_zone"),
                  schedule.get("html_url"), shifts, gaps)


def _window_params(window: Window) -> dict[str, Any]:
    return {"since": window.start, "until": window.end}


async def _get_v3(ctx: ToolContext, schedule_id: str, window: Window, *, names: bool) -> Loaded:
    body = await ctx.client.get(f"/v3/schedules/{quote(schedule_id, safe='')}",
                                {**_window_params(window), "include[]": ["final_schedule"]}, deadline=ctx.deadline)
    return await _from_v3(ctx, body["schedule"], window, names=names)


async def load_schedule(ctx: ToolContext, name: str, window: Window) -> Loaded:
    """A schedule by name or ID, rendered for the window (usually one request)."""
    wanted = clean_ref(name, "schedule")
    if looks_like_id(wanted):
        return await _by_id(ctx, wanted, window)
    params = {"query": wanted, "include[]": ["final_schedule"], **_window_params(window)}
    page = await ctx.client.fetch("/schedules", "schedules", params, max_items=100, deadline=ctx.deadline)
    items = list(page.items)
    exact = [s for s in items if name_key(s.get("name")) == name_key(wanted)]
    if len(exact) == 1 or len(items) == 1:
        return _from_v2((exact or items)[0])
    if items:
        listed = ", ".join(str(s.get("name")) for s in items[:8])
        raise ToolError(f"{len(items)} schedules match {wanted!r}: {listed}.", "Use the exact schedule name.",
                        kind="ambiguous")
    # Not a layer-based schedule: a shift-based one (only found via the policies that target it)...
    policies = await ctx.client.fetch("/escalation_policies", "escalation_policies", max_items=MAX_OVERVIEW,
                                      concurrent=True, deadline=ctx.deadline)
    v3 = v3_targets(policies.items)
    chosen = ([i for i, n in v3.items() if name_key(n) == name_key(wanted)]
              or [i for i, n in v3.items() if name_key(wanted) in name_key(n)])
    if len(chosen) == 1:
        return await _get_v3(ctx, chosen[0], window, names=True)
    # ...or one spelt differently ("platform-primary") or beyond the query's first page, or a typo (the
    # error names the closest schedules).
    found = await resolve_named(ctx, "schedule", "/schedules", "schedules", wanted)
    return await _by_id(ctx, str(found["id"]), window)


async def _by_id(ctx: ToolContext, schedule_id: str, window: Window) -> Loaded:
    try:
        result = await ctx.client.get_schedule(schedule_id, window.start, window.end, deadline=ctx.deadline)
    except NotFoundError as exc:
        raise ToolError(f"There is no schedule {schedule_id} visible to this PagerDuty user.",
                        "Use the schedule's name.", kind="not_found") from exc
    if result.kind == "v3":
        return await _from_v3(ctx, result.schedule, window, names=True)
    return _from_v2(result.schedule)


def v3_targets(policies: Sequence[dict[str, Any]]) -> dict[str, str]:
    """Shift-based (v3) schedules the policies target, id -> name (``/schedules`` does not list them)."""
    return {str(t["id"]): str(t.get("summary") or "") for p in policies for r in p.get("escalation_rules", [])
            for t in r.get("targets", []) if t.get("type") == "schedule_v3_reference"}


@dataclass(frozen=True, slots=True)
class AllSchedules:
    loaded: list[Loaded]
    partial: bool
    v3_checked: bool


async def load_all_schedules(ctx: ToolContext, window: Window) -> AllSchedules:
    """Every layer-based schedule rendered for the window; on a small account (one page of schedules)
    also the shift-based ones its escalation policies target (up to :data:`OVERVIEW_V3`)."""
    params = {"include[]": ["final_schedule"], **_window_params(window)}
    page = await ctx.client.fetch("/schedules", "schedules", params, max_items=MAX_OVERVIEW, concurrent=True,
                                  deadline=ctx.deadline)
    loaded = [_from_v2(s) for s in page.items]
    v3_checked = False
    if not page.more and len(page.items) <= 100:
        policies = await ctx.client.fetch("/escalation_policies", "escalation_policies", max_items=100,
                                          deadline=ctx.deadline)
        v3_ids = list(v3_targets(policies.items))
        extra = await asyncio.gather(*(_optional_v3(ctx, i, window) for i in v3_ids[:OVERVIEW_V3]))
        loaded += [x for x in extra if x is not None]
        v3_checked = not policies.more and len(v3_ids) <= OVERVIEW_V3 and None not in extra
    return AllSchedules(loaded, page.more, v3_checked)


async def _optional_v3(ctx: ToolContext, schedule_id: str, window: Window) -> Loaded | None:
    """A shift-based schedule for the overview, or None if PagerDuty would not show it (the overview
    then says not every v3 schedule was checked)."""
    try:
        return await _get_v3(ctx, schedule_id, window, names=False)
    except PagerDutyError:
        return None


# --------------------------------------------------------------------------- results


def _cover(loaded: Loaded, window: Window) -> Coverage:
    return coverage(loaded.shifts, window.start, window.end, loaded.explicit_gaps)


def schedule_detail(ctx: ToolContext, loaded: Loaded, window: Window) -> Callable[[int], ScheduleDetail]:
    cov, tz = _cover(loaded, window), ctx.tz
    echo = WindowEcho.of(window, tz)
    on_call_now = None
    if window.start <= ctx.now < window.end:
        on_call_now = [s.user for s in cov.shifts if s.start <= ctx.now < s.end] or ["nobody"]

    def build(cap: int) -> ScheduleDetail:
        return ScheduleDetail(
            schedule=loaded.name, schedule_time_zone=loaded.time_zone, url=loaded.url, window=echo,
            coverage_pct=cov.percent, gap_count=len(cov.gaps), gaps=[_gap(g, tz) for g in cov.gaps[:cap]],
            kind="shift-based: shifts can overlap" if loaded.kind == "v3" else None, on_call_now=on_call_now,
            shifts=[_shift(s, tz) for s in cov.shifts[:cap]], shifts_total=len(cov.shifts),
            handoffs=[_handoff(h, tz) for h in cov.handoffs[:max(1, cap // 2)]],
            handoffs_total=len(cov.handoffs))

    return build


def overview(ctx: ToolContext, every: AllSchedules, window: Window, *,
             said: str | None = None) -> Callable[[int], ScheduleOverview]:
    """The overview of every schedule; ``said`` is get_schedule's word that it is one (no shifts)."""
    tz = ctx.tz
    echo = WindowEcho.of(window, tz)
    rows = [(loaded, _cover(loaded, window)) for loaded in every.loaded]
    gappy = sorted((r for r in rows if r[1].gaps), key=lambda r: (r[1].gaps[0].start, r[0].name))
    covered = sorted(loaded.name for loaded, cov in rows if not cov.gaps)
    note = None if every.v3_checked else "Shift-based (v3) schedules are not all listed here; name one to check it."

    def build(cap: int) -> ScheduleOverview:
        return ScheduleOverview(
            overview=said, window=echo, schedules_checked=len(rows), schedules_with_gaps=len(gappy),
            with_gaps=[ScheduleCoverage(schedule=loaded.name, coverage_pct=cov.percent, gap_count=len(cov.gaps),
                                        gaps=[_gap(g, tz) for g in cov.gaps[:3]], url=loaded.url)
                       for loaded, cov in gappy[:cap]],
            fully_covered=covered[:cap], fully_covered_total=len(covered), note=note)

    return build


@dataclass(frozen=True, slots=True)
class PolicyCoverage:
    """An escalation policy's levels over the window, before they are capped into :class:`CoverageGaps`."""

    name: str | None
    url: str | None
    levels: list[tuple[analysis.LevelCoverage, list[str]]]
    """Each level with its targets' names."""
    nobody: list[Interval]


def _policy_coverage(policy: dict[str, Any], rows: list[dict[str, Any]], window: Window) -> PolicyCoverage:
    rules = policy.get("escalation_rules") or []
    levels = level_coverage(parse_oncalls(rows), range(1, len(rules) + 1), window.start, window.end)
    targets = []
    for level in levels:
        rule = rules[level.level - 1] if 0 < level.level <= len(rules) else {}
        targets.append([str(t.get("summary") or t.get("id")) for t in rule.get("targets", [])])
    return PolicyCoverage(policy.get("name") or policy.get("summary"), policy.get("html_url"),
                          list(zip(levels, targets, strict=True)),
                          uncovered_by_all(levels, window.start, window.end))


def _level(level: analysis.LevelCoverage, targets: list[str], tz: ZoneInfo, cap: int) -> LevelCoverage:
    return LevelCoverage(level=level.level, targets=targets, on_call=list(level.users[:8]),
                         covered_throughout=level.covered_throughout, coverage_pct=level.percent,
                         always_on_call=list(level.permanent), nobody_on_call=[_gap(g, tz) for g in level.gaps[:cap]])


# --------------------------------------------------------------------------- handlers


async def get_schedule(args: GetSchedule, ctx: ToolContext) -> ToolResult[ScheduleAnswer]:
    window = resolve_span(ctx, args.window, "next 7 days")
    if args.schedule is None or not args.schedule.strip() or args.schedule.strip().lower() in ("all", "*"):
        every = await load_all_schedules(ctx, window)
        if not every.loaded:
            return ToolResult.nothing("No schedules are visible to this PagerDuty user.")
        return ToolResult.ok(fit(overview(ctx, every, window, said=OVERVIEW_NOTE), CAPS), partial=every.partial)
    loaded = await load_schedule(ctx, args.schedule, window)
    return ToolResult.ok(fit(schedule_detail(ctx, loaded, window), CAPS))


async def _named(ctx: ToolContext, names: list[str], window: Window) -> list[Loaded | ToolError]:
    async def one(name: str) -> Loaded | ToolError:
        try:
            return await load_schedule(ctx, name, window)
        except ToolError as err:
            return err

    return list(await asyncio.gather(*(one(n) for n in names)))


async def find_coverage_gaps(args: FindCoverageGaps, ctx: ToolContext) -> ToolResult[GapsAnswer]:
    window = resolve_span(ctx, args.window, "next 7 days")
    names = list(dict.fromkeys(n.strip() for n in (args.schedules or []) if n and n.strip()))
    if len(names) > MAX_NAMED:
        raise ToolError(f"Name at most {MAX_NAMED} schedules at once.", "Pass null to check all schedules.")
    policy_name = args.escalation_policy.strip() if args.escalation_policy else ""
    if not names and not policy_name:
        every = await load_all_schedules(ctx, window)
        if not every.loaded:
            return ToolResult.nothing("No schedules are visible to this PagerDuty user.")
        return ToolResult.ok(fit(overview(ctx, every, window), CAPS), partial=every.partial)

    policy: PolicyCoverage | None = None
    partial = False
    if policy_name:
        found_policy = await resolve_policy(ctx, policy_name)
        page = await ctx.client.fetch("/oncalls", "oncalls", {
            "escalation_policy_ids[]": [found_policy["id"]], **_window_params(window)},
            max_items=MAX_OVERVIEW, deadline=ctx.deadline)
        policy, partial = _policy_coverage(found_policy, page.items, window), page.more
    found = await _named(ctx, names, window) if names else []
    if found and all(isinstance(f, ToolError) for f in found) and policy is None:
        first = found[0]
        assert isinstance(first, ToolError)
        raise first
    covers = [(f, _cover(f, window)) for f in found if isinstance(f, Loaded)]
    problems = [f.message for f in found if isinstance(f, ToolError)]
    tz = ctx.tz
    echo = WindowEcho.of(window, tz)

    def build(cap: int) -> CoverageGaps:
        schedules = None
        if covers or problems:
            schedules = [ScheduleGaps(schedule=loaded.name, coverage_pct=cov.percent, gap_count=len(cov.gaps),
                                      gaps=[_gap(g, tz) for g in cov.gaps[:cap]],
                                      schedule_time_zone=loaded.time_zone, url=loaded.url)
                         for loaded, cov in covers]
        if policy is None:
            return CoverageGaps(window=echo, schedules=schedules, not_found=problems)
        return CoverageGaps(
            window=echo, schedules=schedules, not_found=problems, escalation_policy=policy.name, url=policy.url,
            levels_with_gaps=[level.level for level, _ in policy.levels if level.gaps],
            levels=[_level(level, targets, tz, cap) for level, targets in policy.levels],
            nobody_at_any_level=[_gap(g, tz) for g in policy.nobody[:cap]])

    return ToolResult.ok(fit(build, CAPS), partial=partial)


TOOLS: list[Tool[Any]] = [
    Tool("get_schedule", GetSchedule, get_schedule, "read", result=ScheduleAnswer),
    Tool("find_coverage_gaps", FindCoverageGaps, find_coverage_gaps, "read", result=GapsAnswer),
]
