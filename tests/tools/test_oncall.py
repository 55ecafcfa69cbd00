"""who_is_on_call on the demo account (expectations from the sandbox's world) and budgets on the large one."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.analysis.windows import local_iso, resolve_window, shown_time
from bot.sandbox import Sandbox
from bot.sandbox.model import EscalationPolicy, Schedule, World
from bot.sandbox.routes.oncalls import oncall_periods
from bot.tools.base import RESULT_BUDGET_CHARS, ToolResult
from bot.tools.oncall import TOOLS
from bot.tools.runner import run_tool
from tests.tools.conftest import ContextFactory, schema_chars

WHO = TOOLS[0]
NY = ZoneInfo("America/New_York")  # Sam Rivera's zone (the default asker)


async def call(sandbox: Sandbox, make_ctx: ContextFactory, args: dict[str, Any],
               email: str | None = None) -> tuple[ToolResult, int]:
    ctx = make_ctx(sandbox, email)
    before = len(sandbox.requests)
    result = await run_tool(WHO, args, ctx)
    return result, len(sandbox.requests) - before


def schedule(world: World, name: str) -> Schedule:
    return next(s for s in world.schedules.values() if s.name == name)


def policy(world: World, name: str) -> EscalationPolicy:
    return next(p for p in world.escalation_policies.values() if p.name == name)


def override_now(world: World, name: str) -> tuple[str, datetime]:
    """Who covers ``name`` through the override in progress, and until when."""
    override = next(o for o in schedule(world, name).overrides if o.start <= world.now < o.end)
    return world.users[override.user_id].name, override.end


def on_call(world: World, name: str, since: datetime, until: datetime) -> list[str]:
    return [world.users[e.user_id].name for e in oncall_periods(schedule(world, name), since, until)]


def levels(result: ToolResult, index: int = 0) -> dict[int, list[dict[str, Any]]]:
    return {level["level"]: level["on_call"] for level in result.data["policies"][index]["levels"]}


def test_schema_is_small() -> None:
    assert schema_chars(WHO) <= 680  # besides the shared window grammar


async def test_service_resolved_through_its_escalation_policy(demo: Sandbox, make_ctx: ContextFactory) -> None:
    world = demo.world
    result, requests = await call(demo, make_ctx, {"target": "platform-engineering", "target_type": "service",
                                                   "window": None})
    assert result.status == "ok" and not result.partial
    assert requests == 2  # the service (its policy embedded) + one /oncalls
    oncalls = [r for r in demo.requests if r.path == "/oncalls"][-1]
    assert oncalls.query["escalation_policy_ids[]"] == [policy(world, "Platform Engineering").id]

    data = result.data
    assert data["target"]["name"] == "platform-engineering" and data["window"]["time_zone"] == "America/New_York"
    assert data["policies"][0]["policy"] == "Platform Engineering"
    by_level = levels(result)
    assert sorted(by_level) == [1, 2, 3]
    who, until = override_now(world, "Platform Primary")  # the override in progress decides level 1
    assert [p["name"] for p in by_level[1]] == [who]
    assert by_level[1][0]["until"] == local_iso(until, NY) and by_level[1][0]["schedule"] == "Platform Primary"
    assert [p["name"] for p in by_level[2]] == on_call(world, "Platform Secondary", world.now, world.now)
    assert by_level[3] == [{"name": "Priya Raman", "schedule": None, "from": None, "until": None,
                            "permanent": True}]
    assert "nobody_on_call" not in data


async def test_target_type_is_guessed_service_first(demo: Sandbox, make_ctx: ContextFactory) -> None:
    guessed, requests = await call(demo, make_ctx, {"target": "platform-engineering"})
    assert requests == 2
    explicit, _ = await call(demo, make_ctx, {"target": "platform-engineering", "target_type": "service"})
    assert {k: v for k, v in guessed.data.items() if k != "resolved"} == explicit.data
    data, _ = await call(demo, make_ctx, {"target": "Data"})  # data-pipeline is only a partial match
    assert data.data["target"] == {"type": "escalation_policy", "name": "Data",
                                   "url": data.data["target"]["url"]}


@pytest.mark.parametrize("name", ["platform engineering", "Platform Engineering", "PLATFORM_ENGINEERING"])
async def test_a_name_that_is_a_service_and_its_policy_resolves_to_the_service_and_says_so(
        demo: Sandbox, make_ctx: ContextFactory, name: str) -> None:
    """"platform engineering" is the service platform-engineering and the policy Platform Engineering:
    code picks the service (no error, no second turn) and the result says which it took."""
    result, requests = await call(demo, make_ctx, {"target": name, "target_type": None})
    assert result.status == "ok" and requests == 3  # the name as written finds nothing; its longest word does
    assert result.data["target"]["type"] == "service" and result.data["target"]["name"] == "platform-engineering"
    assert result.data["resolved"] == ("service platform-engineering (also an escalation policy of that name); "
                                       "target_type picks another")
    explicit, _ = await call(demo, make_ctx, {"target": name, "target_type": "service"})
    assert explicit.status == "ok" and explicit.data["policies"] == result.data["policies"]
    assert "resolved" not in explicit.data  # asked for a service: nothing to explain


async def test_a_name_that_is_a_policy_and_a_team_says_which_it_took(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result, _ = await call(demo, make_ctx, {"target": "payments"})  # payments-api is only a partial match
    assert result.data["target"]["type"] == "escalation_policy"
    assert result.data["resolved"].startswith("escalation policy Payments (also a team of that name)")


async def test_by_schedule(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result, _ = await call(demo, make_ctx, {"target": "Platform Primary", "target_type": "schedule"})
    who, until = override_now(demo.world, "Platform Primary")
    assert result.status == "ok"
    assert result.data["on_call"] == [{"name": who, "from": result.data["on_call"][0]["from"],
                                       "until": local_iso(until, NY)}]
    assert result.data["used_by"] == ["Platform Engineering level 1"]


async def test_shift_based_schedule_by_name(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result, _ = await call(demo, make_ctx, {"target": "Search On-call"})
    world = demo.world
    assert result.status == "ok" and result.data["target"]["type"] == "schedule"
    assert sorted(p["name"] for p in result.data["on_call"]) == sorted(
        set(on_call(world, "Search On-call", world.now, world.now)))


async def test_by_escalation_policy(demo: Sandbox, make_ctx: ContextFactory) -> None:
    by_policy, requests = await call(demo, make_ctx, {"target": "Platform Engineering",
                                                      "target_type": "escalation_policy"})
    assert requests == 2
    by_service, _ = await call(demo, make_ctx, {"target": "platform-engineering", "target_type": "service"})
    assert by_policy.data["policies"] == by_service.data["policies"]


async def test_by_team_covers_all_its_policies(demo: Sandbox, make_ctx: ContextFactory) -> None:
    world = demo.world
    result, requests = await call(demo, make_ctx, {"target": "Checkout & Web", "target_type": "team"})
    assert requests == 3  # the team, its policies, one /oncalls for all of them
    names = {p["policy"] for p in result.data["policies"]}
    team = next(t for t in world.teams.values() if t.name == "Checkout & Web")
    assert names == {p.name for p in world.escalation_policies.values() if team.id in p.team_ids}
    search = next(p for p in result.data["policies"] if p["policy"] == "Search")
    assert [lv["level"] for lv in search["levels"]] == [1, 2, 3]
    assert search["levels"][2]["on_call"][0]["name"] == "Jonas Weber"


async def test_me_when_on_call_now(demo: Sandbox, make_ctx: ContextFactory) -> None:
    world = demo.world
    who, until = override_now(world, "Platform Primary")
    person = next(u for u in world.users.values() if u.name == who)
    email = person.email
    result, requests = await call(demo, make_ctx, {"target": None, "target_type": "me", "window": None}, email)
    assert requests == 1  # "now" and "next" come from one /oncalls?earliest=true call
    data = result.data
    assert data["person"] == who and data["on_call_now"] is True
    tz = ZoneInfo(person.time_zone)
    assert data["window"] == {"label": "now", "at": shown_time(world.now, tz), "time_zone": tz.key}
    first = data["on_call"][0]
    assert (first["policy"], first["level"], first["until"]) == ("Platform Engineering", 1, local_iso(until, tz))


async def test_me_next_on_call(demo: Sandbox, make_ctx: ContextFactory) -> None:
    world = demo.world
    sam = world.user_by_email("sam.rivera@acme-payments.example")
    assert sam is not None
    ahead = world.now + timedelta(days=90)
    starts = [e.start for s in world.schedules.values() for e in oncall_periods(s, world.now, ahead)
              if e.user_id == sam.id and e.start > world.now]
    result, _ = await call(demo, make_ctx, {"target": "me"})
    assert result.data["on_call_now"] is False and result.data["on_call"] == []
    nxt = result.data["next"]
    assert nxt["from"] == local_iso(min(starts), NY)
    assert (nxt["policy"], nxt["level"], nxt["schedule"]) == ("Platform Engineering", 1, "Platform Primary")


async def test_another_person_over_a_window(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result, requests = await call(demo, make_ctx, {"target": "Priya Raman", "target_type": "user",
                                                   "window": "next week"})
    assert requests == 3  # the user + the window + "next"
    assert result.data["person"] == "Priya Raman" and result.data["on_call_now"] is True
    assert {(s["policy"], s["level"], s.get("permanent")) for s in result.data["on_call"]} == {
        ("Platform Engineering", 3, True)}


async def test_one_person_is_listed_once_per_level(demo: Sandbox, make_ctx: ContextFactory) -> None:
    """Payments level 2 targets the Payments Secondary schedule and Diego Alvarez directly; Diego is on
    that schedule now too. He is on call there once, always (direct), and the result names both ways."""
    world = demo.world
    assert on_call(world, "Payments Secondary", world.now, world.now) == ["Diego Alvarez"]
    result, _ = await call(demo, make_ctx, {"target": "payments-api"})
    level_2 = levels(result)[2]
    assert level_2 == [{"name": "Diego Alvarez", "schedule": None, "also_via": ["Payments Secondary"],
                        "from": None, "until": None, "permanent": True}]
    week, _ = await call(demo, make_ctx, {"target": "Payments", "target_type": "escalation_policy",
                                          "window": "next week"})
    names = [p["name"] for p in levels(week)[2]]
    assert names.count("Diego Alvarez") == 1 and len(names) > 1  # his shifts there merge into "always"
    assert "gaps" not in week.data["policies"][0]["levels"][1]


async def test_next_is_a_shift_not_already_listed(demo: Sandbox, make_ctx: ContextFactory) -> None:
    """Sam's Platform Primary shift (Tue 15:00 to Mon 16 Mar 09:00) runs into next week: listed there,
    it is not "next" again; what follows it was not read, so there is no guess either."""
    week, _ = await call(demo, make_ctx, {"target": "me", "window": "next week"})
    listed = week.data["on_call"]
    assert [(s["policy"], s["level"], s["schedule"], s["from"]) for s in listed] == [
        ("Platform Engineering", 1, "Platform Primary", "2026-03-10T15:00-04:00")]
    assert week.data["next"] is None and "not read" in week.data["next_note"]
    # Not on call in the window asked: "next" is that shift, which the answer does not list.
    soon, _ = await call(demo, make_ctx, {"target": "me", "window": "next 2 hours"})
    assert soon.data["on_call"] == [] and soon.data["next"]["from"] == "2026-03-10T15:00-04:00"


async def test_window_tomorrow(demo: Sandbox, make_ctx: ContextFactory) -> None:
    world = demo.world
    result, _ = await call(demo, make_ctx, {"target": "platform-engineering", "window": "tomorrow"})
    tomorrow = resolve_window("tomorrow", world.now, NY)
    assert result.data["window"] == {"label": "tomorrow", "start": "Wed 2026-03-11 00:00",
                                     "end": "Thu 2026-03-12 00:00", "time_zone": "America/New_York"}
    by_level = levels(result)
    assert sorted({p["name"] for p in by_level[1]}) == sorted(
        set(on_call(world, "Platform Primary", tomorrow.start, tomorrow.end)))
    assert sorted({p["name"] for p in by_level[2]}) == sorted(
        set(on_call(world, "Platform Secondary", tomorrow.start, tomorrow.end)))
    assert by_level[3][0]["permanent"] is True


async def test_coverage_gap_in_the_window_is_reported(demo: Sandbox, make_ctx: ContextFactory) -> None:
    world = demo.world
    london = ZoneInfo("Europe/London")
    start = world.now + timedelta(days=3)  # docs/sandbox-dataset.md gap 1: first 20:00 London >= now + 3 days
    g1 = datetime.combine(start.astimezone(london).date(), time(20), tzinfo=london)
    if g1 < start:
        g1 += timedelta(days=1)
    result, _ = await call(demo, make_ctx, {"target": "Platform Secondary", "window": "next 4 days"})
    assert result.data["gaps"] == [{"from": local_iso(g1, NY), "until": local_iso(g1 + timedelta(hours=12), NY)}]
    by_service, _ = await call(demo, make_ctx, {"target": "platform-engineering", "window": "next 4 days"})
    assert by_service.data["policies"][0]["levels"][1]["gaps"] == result.data["gaps"]


async def test_unknown_name_suggests_the_closest(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result, _ = await call(demo, make_ctx, {"target": "platform-enginering"})
    assert result.status == "error" and "platform-engineering (service)" in (result.error or "")


async def test_bad_window_is_an_error_the_model_can_fix(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result, requests = await call(demo, make_ctx, {"target": "payments-api", "window": "someday maybe"})
    assert result.status == "error" and requests == 0 and result.hint


async def test_large_account_service_budget(large: Sandbox, make_ctx: ContextFactory) -> None:
    for args in ({"target": "payments-api", "target_type": "service"}, {"target": "payments-api"}):
        result, requests = await call(large, make_ctx, args)
        assert result.status == "ok"
        assert requests <= 3
        assert len(result.to_json()) <= RESULT_BUDGET_CHARS
        assert [lv["level"] for lv in result.data["policies"][0]["levels"]] == [1, 2, 3]


async def test_large_team_over_a_week_stays_within_budget(large: Sandbox, make_ctx: ContextFactory) -> None:
    team = next(iter(large.world.teams.values())).name
    result, _ = await call(large, make_ctx, {"target": team, "target_type": "team", "window": "next week"})
    assert result.status == "ok" and len(result.to_json()) <= RESULT_BUDGET_CHARS
