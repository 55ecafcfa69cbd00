"""``service_health``: every service (or a team's) with PagerDuty's own status and open-incident counts.

Two listings, fetched concurrently and paged concurrently: the services (their ``status`` is computed by
PagerDuty: critical / warning / active / maintenance / disabled) and the open incidents, newest first,
up to :data:`MAX_INCIDENTS`. When there are more open incidents than that, the counts come from a
sample (``partial``) but the statuses stay exact. Never one request per service.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import Field

from bot.analysis import health
from bot.analysis.health import health_report, incident_from_api, service_from_api
from bot.pagerduty import Page
from bot.tools.base import DEFAULT_LIST, Tool, ToolArgs, ToolContext, ToolResult
from bot.tools.resolve import resolve_team

MAX_INCIDENTS = 500
"""Open incidents counted (the newest); beyond this the counts are a sample."""
MAX_SERVICES = 5_000
MAX_NAMED = 10
"""Services in maintenance / disabled named at most (the rest are counted)."""


class ServiceHealth(ToolArgs):
    """Health of all services or a team's: PagerDuty status (critical/warning/active/maintenance/disabled)
    and open incidents by status and urgency, worst first. For the incidents themselves use list_incidents."""

    team: str | None = Field(description="Team name; null: all services.")
    only_active: bool | None = Field(description="Only services with open incidents; null: true.")


def _service_json(row: health.ServiceHealth) -> dict[str, Any]:
    body: dict[str, Any] = {"name": row.service.name, "status": row.service.status,
                            "triggered": row.triggered, "acknowledged": row.acknowledged,
                            "high": row.high, "low": row.low}
    if row.service.url:
        body["url"] = row.service.url
    return body


async def service_health(args: ServiceHealth, ctx: ToolContext) -> ToolResult:
    only_active = True if args.only_active is None else args.only_active
    team: dict[str, Any] | None = None
    scope: dict[str, Any] = {}
    if args.team and args.team.strip():
        team = await resolve_team(ctx, args.team)
        scope = {"team_ids[]": [team["id"]]}
    services_page, incidents_page = await asyncio.gather(
        ctx.client.fetch("/services", "services", scope, max_items=MAX_SERVICES, concurrent=True,
                         deadline=ctx.deadline),
        ctx.client.fetch("/incidents", "incidents",
                         {**scope, "statuses[]": ["triggered", "acknowledged"], "date_range": "all",
                          "sort_by": "created_at:desc"},
                         max_items=MAX_INCIDENTS, concurrent=True, deadline=ctx.deadline))
    report = health_report([service_from_api(s) for s in services_page.items],
                           [incident_from_api(i) for i in incidents_page.items], only_active=only_active)
    data: dict[str, Any] = {}
    if team is not None:
        data["team"] = team.get("name")
    data["totals"] = dict(report.totals)
    sampled = _sampled(incidents_page)
    if sampled:
        data["totals"]["open"] = incidents_page.total or data["totals"]["open"]  # exact when PD counted
        data["totals"]["counted"] = len(incidents_page.items)
        data["counts_note"] = sampled
    shown = report.services[:DEFAULT_LIST]
    data["services"] = [_service_json(row) for row in shown]
    if len(report.services) > len(shown):
        data["more"] = len(report.services) - len(shown)
    if only_active:  # quiet services are left out, but paused ones are worth naming
        for status in ("maintenance", "disabled"):
            names = sorted(str(x.get("name")) for x in services_page.items if x.get("status") == status)
            if names:
                data[status] = names[:MAX_NAMED] + ([f"+{len(names) - MAX_NAMED} more"]
                                                    if len(names) > MAX_NAMED else [])
    if services_page.more:
        data["services_note"] = f"only the first {len(services_page.items)} services were read"
    if not report.services and not only_active:
        return ToolResult.nothing("No services are visible to this PagerDuty user.", data)
    return ToolResult.ok(data, partial=bool(sampled) or services_page.more)


def _sampled(page: Page) -> str | None:
    if not page.more and (page.total is None or page.total <= len(page.items)):
        return None
    of = f"{page.total}" if page.total is not None else f"more than {len(page.items)}"
    return (f"counts from the {len(page.items)} newest of {of} open incidents; "
            "statuses are exact (PagerDuty computes them)")


TOOLS: list[Tool[Any]] = [Tool("service_health", ServiceHealth, service_health, "read")]
