"""service_health: PagerDuty's statuses plus open-incident counts, in two listings whatever the size."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.sandbox import Sandbox
from bot.sandbox.model import World
from bot.tools.base import RESULT_BUDGET_CHARS, ToolContext, ToolResult
from bot.tools.results.services import ServiceHealthReport
from bot.tools.runner import run_tool
from bot.tools.schema import openai_tool
from bot.tools.services import TOOLS
from tests.tools.conftest import ContextFactory

HEALTH = TOOLS[0]


async def call(sandbox: Sandbox, ctx: ToolContext, args: dict[str, Any]) -> tuple[ToolResult[ServiceHealthReport], int]:
    before = len(sandbox.requests)
    result = await run_tool(HEALTH, args, ctx)
    return result, len(sandbox.requests) - before


def expected_counts(world: World, service_name: str) -> dict[str, int]:
    service = next(s for s in world.services.values() if s.name == service_name)
    mine = [i for i in world.open_incidents() if i.service_id == service.id]
    return {"triggered": sum(i.status == "triggered" for i in mine),
            "acknowledged": sum(i.status == "acknowledged" for i in mine),
            "high": sum(i.urgency == "high" for i in mine), "low": sum(i.urgency == "low" for i in mine)}


def row(result: ToolResult[ServiceHealthReport], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(s for s in result.data["services"] if s["name"] == name)
    return found


@pytest.fixture
def restricted_ctx(demo: Sandbox, make_ctx: ContextFactory) -> ToolContext:
    """Riley Walsh (Restricted Access, Mobile), calling PagerDuty with Riley's own token."""
    riley = next(u for u in demo.world.users.values() if u.role == "restricted_access")
    return make_ctx(demo, riley.email)


def test_schema_is_small() -> None:
    size = len(json.dumps(openai_tool(HEALTH.name, HEALTH.description, HEALTH.args), separators=(",", ":")))
    assert size <= 650


async def test_two_requests_and_counts_from_the_account(demo: Sandbox, make_ctx: ContextFactory) -> None:
    world = demo.world
    result, requests = await call(demo, make_ctx(demo), {"team": None, "only_active": None})
    assert result.status == "ok" and not result.partial
    assert requests == 2  # one services listing + one open-incidents listing
    payments = row(result, "payments-api")
    assert payments["status"] == "critical"
    assert {k: payments[k] for k in ("triggered", "acknowledged", "high", "low")} == expected_counts(
        world, "payments-api")
    assert result.data["services"][0]["name"] == "payments-api"  # the most triggered critical service
    assert payments["url"].startswith("https://")
    totals = result.data["totals"]
    assert totals["services"] == len(world.services)
    assert totals["open"] == len(world.open_incidents())
    assert totals["triggered"] == sum(i.status == "triggered" for i in world.open_incidents())


async def test_only_active_by_default_and_paused_services_named(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result, _ = await call(demo, make_ctx(demo), {})
    names = {s["name"] for s in result.data["services"]}
    assert "status-page" not in names and "legacy-reports" not in names
    assert result.data["maintenance"] == ["status-page"] and result.data["disabled"] == ["legacy-reports"]
    assert all(s["triggered"] + s["acknowledged"] > 0 or s["status"] in ("critical", "warning")
               for s in result.data["services"])


async def test_all_services_show_maintenance_and_disabled(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result, _ = await call(demo, make_ctx(demo), {"only_active": False})
    assert row(result, "status-page")["status"] == "maintenance"
    assert row(result, "legacy-reports")["status"] == "disabled"
    statuses = [s["status"] for s in result.data["services"]]
    order = ["critical", "warning", "active", "maintenance", "disabled"]
    assert statuses == sorted(statuses, key=order.index)
    assert result.data["totals"]["maintenance"] == 1 and result.data["totals"]["disabled"] == 1


async def test_team_filter(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result, requests = await call(demo, make_ctx(demo), {"team": "Payments", "only_active": False})
    assert requests == 3  # the team, then both listings filtered by it
    assert result.data["team"] == "Payments"
    assert {s["name"] for s in result.data["services"]} == {"payments-api", "billing-worker"}
    assert row(result, "billing-worker")["triggered"] == expected_counts(demo.world, "billing-worker")["triggered"]


async def test_restricted_user_sees_only_their_team_services(demo: Sandbox, restricted_ctx: ToolContext) -> None:
    result, _ = await call(demo, restricted_ctx, {"only_active": False})
    assert result.status == "ok"
    assert [s["name"] for s in result.data["services"]] == ["mobile-push"]
    assert result.data["totals"]["services"] == 1
    mobile = row(result, "mobile-push")
    assert {k: mobile[k] for k in ("triggered", "acknowledged", "high", "low")} == expected_counts(
        demo.world, "mobile-push")


async def test_large_account_sampled_counts_exact_statuses(large: Sandbox, make_ctx: ContextFactory) -> None:
    world = large.world
    result, requests = await call(large, make_ctx(large), {})
    assert result.status == "ok" and result.partial
    # services: 500 -> 5 pages; open incidents: the 500 newest -> 5 pages; nothing per service
    assert requests == 10
    assert len(result.to_json()) <= RESULT_BUDGET_CHARS
    assert "500 newest of 10000" in result.data["counts_note"]
    assert result.data["totals"]["open"] == len(world.open_incidents())
    assert len(result.data["services"]) == 20 and result.data["more"] > 0
    by_name = {s.name: world.service_status(s) for s in world.services.values()}
    assert all(s["status"] == by_name[s["name"]] for s in result.data["services"])
    assert sum(1 for s in world.services.values() if world.service_status(s) == "critical") == result.data[
        "totals"]["critical"]
