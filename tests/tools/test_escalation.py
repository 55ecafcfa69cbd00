"""get_escalation_policy: levels, delays, loops, targets, on call now, masked notification rules."""

from __future__ import annotations

import json
import re
from typing import Any

from bot.analysis.windows import local_iso
from bot.sandbox import Sandbox
from bot.sandbox.model import World
from bot.tools.base import ToolResult
from bot.tools.escalation import TOOLS, mask, rule_json
from bot.tools.runner import run_tool
from bot.tools.schema import openai_tool
from tests.tools.conftest import ContextFactory

GET_POLICY = TOOLS[0]


async def call(sandbox: Sandbox, make_ctx: ContextFactory, args: dict[str, Any]) -> tuple[ToolResult, int]:
    ctx = make_ctx(sandbox)
    before = len(sandbox.requests)
    result = await run_tool(GET_POLICY, args, ctx)
    return result, len(sandbox.requests) - before


def override_now(world: World, schedule_name: str) -> tuple[str, Any]:
    schedule = next(s for s in world.schedules.values() if s.name == schedule_name)
    override = next(o for o in schedule.overrides if o.start <= world.now < o.end)
    return world.users[override.user_id].name, override.end


def test_schema_is_small() -> None:
    size = len(json.dumps(openai_tool(GET_POLICY.name, GET_POLICY.description, GET_POLICY.args),
                          separators=(",", ":")))
    assert size <= 720  # with the extra-vs-total loops wording (issue #11)


async def test_levels_delays_loops_targets_and_on_call_now(demo: Sandbox, make_ctx: ContextFactory) -> None:
    world = demo.world
    policy = next(p for p in world.escalation_policies.values() if p.name == "Platform Engineering")
    result, requests = await call(demo, make_ctx, {"policy": "Platform Engineering"})
    assert result.status == "ok" and requests == 2  # the policy + one /oncalls
    data = result.data
    assert data["repeats_after_last_level"] == policy.num_loops == 2
    assert [lv["escalates_after_min"] for lv in data["levels"]] == [
        r.escalation_delay_in_minutes for r in policy.rules] == [15, 15, 30]
    assert [lv["targets"] for lv in data["levels"]] == [
        ["schedule: Platform Primary"], ["schedule: Platform Secondary"], ["user: Priya Raman"]]
    who, until = override_now(world, "Platform Primary")
    assert data["levels"][0]["on_call_now"] == [{"name": who, "schedule": "Platform Primary",
                                                 "until": local_iso(until, make_ctx(demo).tz)}]
    assert data["levels"][2]["on_call_now"][0]["permanent"] is True
    assert set(data["services"]) == {"platform-engineering", "auth-service", "status-page"}
    assert data["teams"] == ["Platform"] and "notification_rules" not in data


async def test_extra_loops_and_total_passes_are_told_apart(demo: Sandbox, make_ctx: ContextFactory) -> None:
    """num_loops counts the repeats after the first pass: the description says so and the result gives both."""
    assert "repeats_after_last_level: extra passes (2 = 3 in all)" in GET_POLICY.description
    result, _ = await call(demo, make_ctx, {"policy": "Platform Engineering"})
    assert (result.data["repeats_after_last_level"], result.data["passes_in_all"]) == (2, 3)


async def test_a_services_policy(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result, requests = await call(demo, make_ctx, {"service": "payments-api"})
    assert requests == 2  # the service with its policy embedded + one /oncalls
    assert result.data["policy"] == "Payments" and result.data["service"] == "payments-api"
    assert result.data["levels"][1]["targets"] == ["schedule: Payments Secondary", "user: Diego Alvarez"]
    assert result.data["repeats_after_last_level"] == 1
    # Diego is a direct target of level 2 and on its schedule now: on call there once, not twice.
    assert result.data["levels"][1]["on_call_now"] == [
        {"name": "Diego Alvarez", "schedule": None, "also_via": ["Payments Secondary"], "until": None,
         "permanent": True}]


async def test_notification_rules_are_masked(demo: Sandbox, make_ctx: ContextFactory) -> None:
    world = demo.world
    result, requests = await call(demo, make_ctx, {"policy": "Platform Engineering", "notification_rules": True})
    on_call = {p["name"] for lv in result.data["levels"] for p in lv["on_call_now"]}
    assert requests == 2 + len(on_call)  # one notification-rules request per on-call person
    rules = result.data["notification_rules"]
    assert set(rules) == on_call
    for name, by_urgency in rules.items():
        user = next(u for u in world.users.values() if u.name == name)
        assert set(by_urgency) == {"high", "low"}
        assert len(by_urgency["high"]) + len(by_urgency["low"]) == len(user.notification_rules)
        assert by_urgency["high"][0].startswith("0 min: ")
        assert any("phone call" in r for r in by_urgency["high"])
    text = result.to_json()
    for user in world.users.values():
        for method in user.contact_methods:
            if method.type != "push_notification_contact_method":  # a push "address" is the device name
                assert method.address not in text
    assert not re.search(r"\d{4}", json.dumps(rules))  # no phone digits


def test_mask_and_rule_text() -> None:
    assert mask("Mobile +1 (646) 555-0142") == "Mobile ***"
    assert mask("Work jo@example.com") == "Work ***"
    rule = {"start_delay_in_minutes": 5, "urgency": "high",
            "contact_method": {"type": "sms_contact_method", "label": "Mobile", "address": "6465550142"}}
    assert rule_json(rule) == "5 min: SMS (Mobile)"


async def test_needs_a_policy_or_a_service(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result, requests = await call(demo, make_ctx, {"policy": None, "service": None})
    assert result.status == "error" and requests == 0
    typo, _ = await call(demo, make_ctx, {"policy": "Platfrm Engineering"})
    assert typo.status == "error" and "Platform Engineering" in (typo.error or "")
