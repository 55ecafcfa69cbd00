"""What ``service_health`` answers: PagerDuty's status of each service plus its open-incident counts."""

from __future__ import annotations

from bot.tools.results.base import Result


class HealthTotals(Result):
    """Counts over every service read (not only the ones listed): services by status, open incidents."""

    services: int
    critical: int
    warning: int
    active: int
    maintenance: int
    disabled: int
    triggered: int
    acknowledged: int
    high: int
    low: int
    open: int
    """Exact when PagerDuty counted them, even when the other counts come from a sample."""
    counted: int | None = None
    """The open incidents the counts come from, when they are a sample."""


class ServiceRow(Result):
    """One service: PagerDuty's own status (critical/warning/active/maintenance/disabled) and its open
    incidents by status and urgency."""

    name: str
    status: str
    triggered: int
    acknowledged: int
    high: int
    low: int
    url: str | None = None


class ServiceHealthReport(Result):
    """Services worst first (at most 20; ``more`` counts the rest), with the paused ones named when only
    services with open incidents are listed."""

    team: str | None = None
    """The team the services were scoped to (absent: every service)."""
    totals: HealthTotals
    counts_note: str | None = None
    """Why the counts are a sample (the statuses stay exact)."""
    services: list[ServiceRow]
    more: int = 0
    maintenance: list[str] = []
    """Services in maintenance, by name (at most 10, then ``+N more``)."""
    disabled: list[str] = []
    services_note: str | None = None
    """Said when not every service could be read."""
