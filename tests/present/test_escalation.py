"""get_escalation_policy: the typed result (wire JSON as the model reads it) and its presenter's blocks
and text."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.present.escalation import policy_blocks, policy_text
from bot.present.kit.limits import Room
from bot.present.registry import presenter_for
from bot.present.results import result_text
from bot.sandbox import Sandbox
from bot.tools.base import ToolResult
from bot.tools.escalation import GetEscalationPolicy
from bot.tools.registry import TOOLS_BY_NAME
from bot.tools.results.escalation import EscalationLevel, EscalationPolicy, OnCallNow
from bot.tools.runner import parse_arguments, run_parsed
from tests.tools.conftest import ContextFactory, demo, make_ctx

FIXTURES = (demo, make_ctx)
NY = ZoneInfo("America/New_York")
URL = "https://acme.pagerduty.com/escalation_policies/P1"
UNTIL = datetime(2026, 3, 10, 15, 0, tzinfo=NY)


def args(**values: Any) -> GetEscalationPolicy:
    return GetEscalationPolicy(**{"policy": "Platform Engineering", "service": None, "notification_rules": None,
                                  **values})


def texts(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def policy(**changes: Any) -> EscalationPolicy:
    levels = [
        EscalationLevel(level=1, escalates_after_min=15, targets=["schedule: Platform Primary"],
                        on_call_now=[OnCallNow(name="Ben Carter", schedule="Platform Primary", end=UNTIL)]),
        EscalationLevel(level=2, escalates_after_min=30, targets=["user: Priya Raman"],
                        on_call_now=[OnCallNow(name="Priya Raman", schedule=None, end=None, permanent=True)]),
        EscalationLevel(level=3, escalates_after_min=None, targets=[], on_call_now=[]),
    ]
    value = EscalationPolicy(policy="Platform Engineering", url=URL, repeats_after_last_level=2, passes_in_all=3,
                             teams=["Platform"], time_zone=NY.key, levels=levels, services=["auth-service"],
                             nobody_on_call_at_levels=[3])
    return value.model_copy(update=changes)


async def test_the_tool_answers_with_its_model_and_sends_its_wire(demo: Sandbox, make_ctx: ContextFactory) -> None:
    tool = TOOLS_BY_NAME["get_escalation_policy"]
    assert tool.result is EscalationPolicy and presenter_for("get_escalation_policy") is not None
    result = await run_parsed(tool, parse_arguments(tool, {"service": "payments-api"}), make_ctx(demo))
    value = result.value
    assert isinstance(value, EscalationPolicy) and result.data == value.wire()
    assert list(result.data) == ["policy", "url", "service", "repeats_after_last_level", "passes_in_all", "teams",
                                 "time_zone", "levels", "services"]
    assert value.shown_zone() == "America/New_York"
    assert all(p.end is None or p.end.tzinfo == NY for level in value.levels for p in level.on_call_now)
    asked = await run_parsed(tool, parse_arguments(tool, {"policy": "payments-api", "notification_rules": True}),
                             make_ctx(demo))
    assert asked.value is not None and asked.value.note and asked.value.notification_rules
    assert list(asked.data)[-2:] == ["notification_rules", "notification_note"]


def test_optional_fields_left_out() -> None:
    now = OnCallNow(name="Ben Carter", schedule=None, end=None)
    assert now.wire() == {"name": "Ben Carter", "schedule": None, "until": None}
    wire = policy(nobody_on_call_at_levels=[]).wire()
    assert "service" not in wire and "notification_rules" not in wire and "more_services" not in wire
    assert policy(notification_rules={}).wire()["notification_rules"] == {}  # asked for, nobody on call


def test_text() -> None:
    value = policy(service="platform-engineering", more_services=4)
    assert policy_text(ToolResult.ok(value), args()) == [
        "Escalation policy Platform Engineering (team Platform), the policy of the service platform-engineering:",
        "• Level 1: schedule: Platform Primary; on call now: Ben Carter until Tue 10 Mar 15:00; escalates after "
        "15 min",
        "• Level 2: user: Priya Raman; on call now: Priya Raman, always on call; escalates after 30 min",
        "• Level 3: nobody; on call now: nobody; escalates after None min",
        "After the last level it starts again (2 times).",
        "Nobody is on call now at level 3.",
        "Services: auth-service and 4 more.",
        URL]
    assert result_text("get_escalation_policy", args(), ToolResult.ok(value)).endswith(
        "\nTimes are in America/New_York.")


def test_blocks_head_levels_rules_and_warnings() -> None:
    rules = {"Ben <Carter>": {"high": ["0 min: push", "5 min: SMS (Mobile)"], "low": []}}
    value = policy(service="<!here>", notification_rules=rules, notification_note="Addresses are not shown.")
    blocks = policy_blocks(ToolResult.ok(value), args(notification_rules=True), Room())
    head = blocks[0]["text"]["text"]
    assert head.startswith(f":rotating_light: *Escalation policy <{URL}|Platform Engineering>* · used by &lt;!here&gt;")
    assert head.endswith(" · team Platform · repeats 2 times after the last level\n"
                         "*Level 1* → schedule: Platform Primary\n    on call now: Ben Carter until <!date^1773169200^"
                         "{date_short_pretty} {time}|Tue 10 Mar 15:00 -04:00> · escalates after 15 min\n"
                         "*Level 2* → user: Priya Raman\n    on call now: Priya Raman, always on call · escalates "
                         "after 30 min\n*Level 3* → nobody\n    on call now: nobody")
    text = texts(blocks)
    assert "*How they are notified*\\n• *Ben &lt;Carter&gt;*: high: 0 min: push; 5 min: SMS (Mobile) · low: " in text
    assert "Addresses are not shown." in text
    assert ":warning: Nobody is on call now at level 3" in text and "Services: auth-service" in text


def test_nothing_found_is_a_note() -> None:
    empty: ToolResult[EscalationPolicy] = ToolResult.nothing("No such policy.")
    assert policy_text(empty, args()) == ["No such policy."]
    assert "No such policy." in texts(policy_blocks(empty, args(), Room()))
