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
from bot.tools.results.services import HealthTotals, ServiceHealthReport, ServiceRow

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


def _row(row: health.ServiceHealth) -> ServiceRow:
    return ServiceRow(name=row.service.name, status=row.service.status, triggered=row.triggered,
                      acknowledged=row.acknowledged, high=row.high, low=row.low, url=row.service.url or None)


def _paused(services: list[dict[str, Any]], status: str) -> list[str]:
    """The services in ``status`` by name, at most :data:`MAX_NAMED` (then ``+N more``)."""
    names = sorted(str(x.get("name")) for x in services if x.get("status") == status)
    return names[:MAX_NAMED] + ([f"+{len(names) - MAX_NAMED} more"] if len(names) > MAX_NAMED else [])


async def service_health(args: ServiceHealth, ctx: ToolContext) -> ToolResult[ServiceHealthReport]:
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
    totals = HealthTotals.model_validate(dict(report.totals))
    sampled = _sampled(incidents_page)
    if sampled:  # the open count is exact when PagerDuty counted; the rest come from the sample
        totals = totals.but(open=incidents_page.total or totals.open, counted=len(incidents_page.items))
    shown = report.services[:DEFAULT_LIST]
    # Only services with open incidents are listed: the paused ones are worth naming.
    paused = services_page.items if only_active else []
    value = ServiceHealthReport(
        team=None if team is None else team.get("name"), totals=totals, counts_note=sampled,
        services=[_row(row) for row in shown], more=len(report.services) - len(shown),
        maintenance=_paused(paused, "maintenance"), disabled=_paused(paused, "disabled"),
        services_note=f"only the first {len(services_page.items)} services were read" if services_page.more else None)
    if not report.services and not only_active:
        return ToolResult.nothing("No services are visible to this PagerDuty user.", value)
    return ToolResult.ok(value, partial=bool(sampled) or services_page.more)


def _sampled(page: Page) -> str | None:
    if not page.more and (page.total is None or page.total <= len(page.items)):
        return None
    of = f"{page.total}" if page.total is not None else f"more than {len(page.items)}"
    return (f"counts from the {len(page.items)} newest of {of} open incidents; "
            "statuses are exact (PagerDuty computes them)")


TOOLS: list[Tool[Any]] = [Tool("service_health", ServiceHealth, service_health, "read", result=ServiceHealthReport)]
