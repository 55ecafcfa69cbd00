"""What ``tools/list`` shows: the registry's own descriptions and arguments, output schemas that match
``Result.wire()`` (checked with jsonschema on real results), and a schema far smaller than PagerDuty's."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from bot.mcp.catalog import CONFIRM, input_schema, listed, output_schema
from bot.mcp.replies import WriteAnswer, WriteTarget
from bot.terminal.session import sandbox_session
from bot.tools.registry import ALL_TOOLS, READ_TOOLS, TOOLS_BY_NAME
from bot.tools.results.base import Result
from bot.tools.results.oncall import WhoIsOnCallResult
from bot.tools.runner import run_tool
from bot.tools.schema import strict_parameters
from tests.mcp.test_server import READS

PAGERDUTY_MCP_SCHEMA_CHARS = 140_562


def test_the_tools_are_the_registrys_with_optional_arguments_left_optional() -> None:
    tools = listed(ALL_TOOLS, confirm_tool=True)
    assert [t.name for t in tools] == [t.name for t in ALL_TOOLS] + ["confirm_proposal"]
    for tool, ours in zip(tools, (*ALL_TOOLS, CONFIRM), strict=True):
        assert tool.description == ours.description
        strict = strict_parameters(ours.args)
        assert tool.input_schema["properties"] == strict["properties"]  # the same arguments, word for word
        nullable = {name for name, prop in strict["properties"].items() if "null" in json.dumps(prop.get("type"))}
        assert set(tool.input_schema["required"]) == set(strict["required"]) - nullable
    assert input_schema(TOOLS_BY_NAME["get_incident"].args)["required"] == ["incident"]
    assert input_schema(TOOLS_BY_NAME["list_incidents"].args)["required"] == []


def test_a_result_family_is_the_any_of_its_members_and_docs_and_nulls_are_left_out() -> None:
    schema = output_schema(WhoIsOnCallResult)
    assert schema["type"] == "object" and len(schema["anyOf"]) >= 3
    text = json.dumps(schema)
    assert '"title"' not in text.replace('"title": {', "") and '"description"' not in text
    plain = output_schema(WriteAnswer)
    assert plain["properties"]["proposal_id"] == {"type": "string"}  # left out of wire() when None
    assert "WriteTarget" in plain["$defs"] and plain["required"] == ["state", "action", "summary"]
    assert WriteTarget.model_fields["pd_status"].default is None


def _valid(schema: dict[str, Any], value: dict[str, Any]) -> list[str]:
    Draft202012Validator.check_schema(schema)
    return [error.message for error in Draft202012Validator(schema).iter_errors(value)]


async def test_real_results_validate_against_their_tools_output_schema() -> None:
    session = sandbox_session("demo")
    try:
        seen: set[type[Result]] = set()
        schemas = {tool.name: output_schema(tool.result) for tool in READ_TOOLS if tool.result is not None}
        for name, arguments in READS:
            result = await run_tool(TOOLS_BY_NAME[name], arguments, session.context())
            assert result.value is not None, (name, result.error)
            seen.add(type(result.value))
            assert _valid(schemas[name], result.value.wire()) == [], name
    finally:
        await session.aclose()
    assert len(seen) >= 12  # the families' members too, not only one kind of each


@pytest.mark.parametrize("value", [
    WriteAnswer(state="proposed", action="a", summary="s", changes=["c"], proposal_id="p", expires_in_s=600),
    WriteAnswer(state="done", action="a", summary="s", result="r",
                outcome=[WriteTarget(status="done", target="#1", detail="d", pd_status=200)]),
])
def test_write_answers_validate_against_the_write_tools_output_schema(value: WriteAnswer) -> None:
    assert _valid(output_schema(WriteAnswer), value.wire()) == []


def test_the_schema_is_a_third_of_pagerduty_mcps_at_most() -> None:
    def chars(tools: Any) -> int:
        return len(json.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools],
                              separators=(",", ":")))

    with_writes, read_only = chars(listed(ALL_TOOLS, confirm_tool=True)), chars(listed(READ_TOOLS, confirm_tool=False))
    assert read_only < with_writes <= PAGERDUTY_MCP_SCHEMA_CHARS / 3
    assert read_only <= 30_000
