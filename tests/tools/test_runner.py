"""run_tool turns every failure into a result the model can act on, and keeps results small."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bot.sandbox import Sandbox
from bot.tools.base import Tool, ToolArgs, ToolContext, ToolResult
from bot.tools.resolve import resolve_service
from bot.tools.results import Result
from bot.tools.runner import run_tool
from bot.tools.schema import openai_tool, strict_parameters
from tests.tools.conftest import ContextFactory


class Echo(ToolArgs):
    """Echo a service back. Use for tests only."""

    service: str = Field(description="Service name.")
    size: int | None = Field(description="Characters of padding; null for none.")
    mode: Literal["short", "long"] | None = Field(description="How much to say.")


class Echoed(Result):
    service: str
    pad: str


async def echo(args: Echo, ctx: ToolContext) -> ToolResult[Echoed]:
    found = await resolve_service(ctx, args.service)
    return ToolResult.ok(Echoed(service=found["name"], pad="x" * (args.size or 0)))


ECHO = Tool("echo", Echo, echo, "read")


def test_strict_schema_lists_every_field_as_required_and_folds_nullables() -> None:
    schema = strict_parameters(Echo)
    assert schema["required"] == ["service", "size", "mode"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["size"] == {"description": "Characters of padding; null for none.",
                                            "type": ["integer", "null"]}
    assert schema["properties"]["mode"]["enum"] == ["short", "long", None]
    entry = openai_tool(ECHO.name, ECHO.description, Echo)
    assert entry["function"]["strict"] is True
    assert entry["function"]["description"] == "Echo a service back. Use for tests only."
    assert "title" not in str(entry)


async def test_bad_json_unknown_fields_and_types_come_back_as_errors(demo: Sandbox,
                                                                    make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    not_json = await run_tool(ECHO, "{service: payments", ctx)
    assert not_json.status == "error" and "not valid JSON" in (not_json.error or "")
    extra = await run_tool(ECHO, {"service": "payments-api", "colour": "red"}, ctx)
    assert extra.status == "error" and "colour" in (extra.error or "")
    wrong_type = await run_tool(ECHO, '{"service": "payments-api", "size": "big"}', ctx)
    assert wrong_type.status == "error" and "size" in (wrong_type.error or "")


async def test_missing_optional_fields_mean_not_given(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result = await run_tool(ECHO, {"service": "payments-api"}, make_ctx(demo))
    assert result.status == "ok" and result.data == {"service": "payments-api", "pad": ""}


async def test_pagerduty_errors_carry_troubleshooting_hints(demo: Sandbox, make_ctx: ContextFactory) -> None:
    demo.faults.add(path="/services", status=403, times=10)
    result = await run_tool(ECHO, {"service": "payments-api"}, make_ctx(demo, validate=False))
    assert result.status == "error" and "permission" in (result.error or "")
    assert "Responder or Manager" in (result.hint or "")


async def test_oversized_results_ask_to_narrow(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result = await run_tool(ECHO, {"service": "payments-api", "size": 9000}, make_ctx(demo))
    assert result.status == "error" and "Narrow" in (result.hint or "")


async def test_run_parsed_runs_arguments_already_parsed_with_the_same_safety(demo: Sandbox,
                                                                            make_ctx: ContextFactory) -> None:
    from bot.tools.runner import parse_arguments, run_parsed

    ctx = make_ctx(demo)
    args = parse_arguments(ECHO, '{"service": "payments-api"}')
    assert (await run_parsed(ECHO, args, ctx)).data == {"service": "payments-api", "pad": ""}
    too_big = await run_parsed(ECHO, parse_arguments(ECHO, {"service": "payments-api", "size": 9000}), ctx)
    assert too_big.status == "error" and "Narrow" in (too_big.hint or "")
    unknown = await run_parsed(ECHO, parse_arguments(ECHO, {"service": "no-such-service"}), ctx)
    assert unknown.status == "error"
