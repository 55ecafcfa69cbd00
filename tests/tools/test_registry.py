"""The registry: every capability covered by few tools, a small schema, and writes that only propose."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.cli import main
from bot.sandbox import Sandbox
from bot.tools.registry import ALL_TOOLS, READ_TOOLS, TOOLS_BY_NAME, WRITE_TOOLS, openai_tools
from bot.tools.runner import run_tool
from tests.tools.conftest import ContextFactory

SCHEMA_BUDGET = 12_000

# Each capability of the mission, and the tool that answers it in one call.
CAPABILITIES = {
    "list incidents with patterns": "list_incidents",
    "one incident in detail": "get_incident",
    "who is on call (service, schedule, policy, team, me, next)": "who_is_on_call",
    "service health": "service_health",
    "escalation policy with on-call and notification rules": "get_escalation_policy",
    "schedule shifts in a window": "get_schedule",
    "coverage gaps": "find_coverage_gaps",
    "list overrides": "list_overrides",
    "users and teams lookup": "find_people",
    "acknowledge": "acknowledge_incidents",
    "resolve with a note": "resolve_incidents",
    "add a note": "add_incident_note",
    "create an incident": "create_incident",
    "status update": "post_status_update",
    "snooze": "snooze_incident",
    "reassign or escalate": "reassign_incident",
    "add responders": "add_responders",
    "change priority or urgency": "set_incident_priority",
    "create an override": "create_override",
    "delete an override": "delete_override",
}


def test_every_capability_has_its_tool_and_nothing_else_is_registered() -> None:
    assert sorted(TOOLS_BY_NAME) == sorted(CAPABILITIES.values())
    assert len(TOOLS_BY_NAME) == len(ALL_TOOLS)


def test_each_tool_is_in_exactly_one_list_matching_its_kind() -> None:
    assert {t.name for t in READ_TOOLS}.isdisjoint({t.name for t in WRITE_TOOLS})
    assert all(t.kind == "read" for t in READ_TOOLS) and all(t.kind == "write" for t in WRITE_TOOLS)


def test_whole_schema_fits_the_budget_and_is_strict() -> None:
    tools = openai_tools()
    size = len(json.dumps(tools, separators=(",", ":")))
    assert size <= SCHEMA_BUDGET, f"tool schemas are {size} characters"
    for entry in tools:
        function = entry["function"]
        params = function["parameters"]
        assert function["strict"] is True and params["additionalProperties"] is False
        assert params["required"] == list(params["properties"]), function["name"]
        assert function["description"] and all(p.get("description") for p in params["properties"].values())


def test_cli_prints_exactly_the_tool_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["tools", "--json"]) == 0
    printed = capsys.readouterr().out
    assert json.loads(printed) == openai_tools()
    assert len(printed.strip()) <= SCHEMA_BUDGET


def _write_examples(sandbox: Sandbox) -> dict[str, dict[str, Any]]:
    incident = next(i for i in sandbox.world.incidents.values() if i.status == "triggered")
    number = str(incident.number)
    return {
        "acknowledge_incidents": {"incidents": [number]},
        "resolve_incidents": {"incidents": [number], "resolution_note": "rolled back"},
        "add_incident_note": {"incident": number, "note": "looking"},
        "create_incident": {"service": "payments-api", "title": "Checkout errors", "urgency": "high"},
        "post_status_update": {"incident": number, "message": "Mitigated"},
        "snooze_incident": {"incident": number, "minutes": 30},
        "reassign_incident": {"incident": number, "to_user": "Priya Raman"},
        "add_responders": {"incident": number, "responders": ["Priya Raman"], "message": None},
        "set_incident_priority": {"incident": number, "priority": "P1", "urgency": None},
        "create_override": {"schedule": "Platform Primary", "user": "me", "window": "tomorrow"},
        "delete_override": {"schedule": "Platform Primary", "override_id": "PNOPE12"},
    }


async def test_write_tools_only_read_pagerduty(demo: Sandbox, make_ctx: ContextFactory) -> None:
    examples = _write_examples(demo)
    assert set(examples) == {t.name for t in WRITE_TOOLS}
    ctx = make_ctx(demo)
    for tool in WRITE_TOOLS:
        result = await run_tool(tool, examples[tool.name], ctx)
        assert result.status in ("proposal", "error"), (tool.name, result.to_model())
    assert {r.method for r in demo.requests} == {"GET"}


def test_the_tool_list_is_the_same_on_every_call_and_a_caller_cannot_change_it() -> None:
    first = openai_tools()
    first[0]["function"]["parameters"]["properties"].clear()
    first.append({"type": "function"})
    again = openai_tools()
    assert len(again) == len(ALL_TOOLS) and again[0]["function"]["parameters"]["properties"]
    assert [t["function"]["name"] for t in openai_tools(READ_TOOLS)] == [t.name for t in READ_TOOLS]
    assert again == openai_tools(list(ALL_TOOLS))
