"""Names people use resolve to PagerDuty objects by code, with suggestions when they don't."""

from __future__ import annotations

from typing import Any

import pytest

from bot.sandbox import Sandbox
from bot.tools.errors import ToolError
from bot.tools.registry import TOOLS_BY_NAME
from bot.tools.resolve import (
    clean_ref,
    get_incident,
    resolve_policy,
    resolve_schedule,
    resolve_service,
    resolve_user,
)
from bot.tools.runner import run_tool
from tests.tools.conftest import ContextFactory


@pytest.mark.parametrize("value", ["", "  ", "null", "None", "<id>", "\u200b", '"undefined"', "#"])
def test_placeholders_are_rejected(value: str) -> None:
    with pytest.raises(ToolError):
        clean_ref(value, "incident number")


def test_clean_ref_strips_decoration() -> None:
    assert clean_ref(" '#4521'\u200b ", "incident number") == "4521"


async def test_exact_case_insensitive_and_single_partial(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    assert (await resolve_service(ctx, "Platform-Engineering"))["name"] == "platform-engineering"
    assert (await resolve_service(ctx, "billing"))["name"] == "billing-worker"
    assert (await resolve_policy(ctx, "payments"))["name"] == "Payments"


async def test_typo_gets_closest_names(demo: Sandbox, make_ctx: ContextFactory) -> None:
    with pytest.raises(ToolError, match="Closest: checkout-web"):
        await resolve_service(make_ctx(demo), "chekout-web")


async def test_ambiguous_partial_lists_candidates(demo: Sandbox, make_ctx: ContextFactory) -> None:
    with pytest.raises(ToolError, match="match 'primary'"):
        await resolve_schedule(make_ctx(demo), "primary")


async def test_v3_schedule_found_by_name_through_policies(demo: Sandbox, make_ctx: ContextFactory) -> None:
    found = await resolve_schedule(make_ctx(demo), "search on-call")
    assert found["type"] == "schedule_v3" and found["name"] == "Search On-call"


async def test_users_by_me_email_and_name(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    assert (await resolve_user(ctx, "me"))["id"] == ctx.asker.user_id
    assert (await resolve_user(ctx, "PRIYA.RAMAN@acme-payments.example"))["name"] == "Priya Raman"
    assert (await resolve_user(ctx, "Olivia"))["name"] == "Olivia Observer"
    with pytest.raises(ToolError, match="No PagerDuty user has the e-mail"):
        await resolve_user(ctx, "ghost@acme-payments.example")


async def test_incident_by_number_and_missing_one(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    incident = next(i for i in demo.world.incidents.values() if i.is_open)
    assert (await get_incident(ctx, f"#{incident.number}"))["id"] == incident.id
    before = len(demo.requests)
    with pytest.raises(ToolError, match="no incident 999999"):
        await get_incident(ctx, "999999")
    with pytest.raises(ToolError):
        await get_incident(ctx, "null")
    assert len(demo.requests) == before + 1  # the placeholder never reached PagerDuty


@pytest.mark.parametrize(("tool", "args", "key", "expected"), [
    ("list_incidents", {"service": "Payments API"}, "total", 12),
    ("list_incidents", {"team": "checkout and web"}, "total", 9),
    ("get_schedule", {"schedule": "platform-primary"}, "schedule", "Platform Primary"),
    ("find_coverage_gaps", {"escalation_policy": "platform-engineering"}, "escalation_policy", "Platform Engineering"),
    ("get_escalation_policy", {"service": "Platform Engineering"}, "service", "platform-engineering"),
])
async def test_names_match_ignoring_case_spaces_and_punctuation(demo: Sandbox, make_ctx: ContextFactory, tool: str,
                                                                args: dict[str, Any], key: str,
                                                                expected: object) -> None:
    """"Payments API" is payments-api and "checkout and web" is Checkout & Web: no error, no retry turn."""
    result = await run_tool(TOOLS_BY_NAME[tool], args, make_ctx(demo))
    assert result.status == "ok", result.to_model()
    assert result.data[key] == expected
