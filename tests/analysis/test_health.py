"""Service health: counts per service, totals, worst first, "only active" filtering."""

from __future__ import annotations

from bot.analysis.health import (
    OpenIncident,
    ServiceInfo,
    count_incidents,
    health_report,
    incident_from_api,
    service_from_api,
)

SERVICES = [
    ServiceInfo("S1", "api", "warning"),
    ServiceInfo("S2", "db", "critical"),
    ServiceInfo("S3", "web", "critical"),
    ServiceInfo("S4", "docs", "active"),
    ServiceInfo("S5", "status", "maintenance"),
    ServiceInfo("S6", "legacy", "disabled"),
    ServiceInfo("S7", "queue", "critical"),  # critical, but its incidents are outside the sample
]
INCIDENTS = [
    OpenIncident("S1", "acknowledged", "high"),
    OpenIncident("S2", "triggered", "high"),
    OpenIncident("S3", "triggered", "low"),
    OpenIncident("S3", "triggered", "high"),
    OpenIncident("S3", "acknowledged", "low"),
    OpenIncident("S9", "triggered", "high"),  # a service not listed: ignored
    OpenIncident("S2", "resolved", "high"),  # not open: ignored
]


def test_counts_by_status_and_urgency() -> None:
    counts = count_incidents(INCIDENTS)
    assert counts["S3"] == {"triggered": 2, "acknowledged": 1, "high": 1, "low": 2}
    assert counts["S2"] == {"triggered": 1, "acknowledged": 0, "high": 1, "low": 0}


def test_worst_first_critical_by_triggered_count_then_warning_then_quiet() -> None:
    report = health_report(SERVICES, INCIDENTS, only_active=False)
    assert [h.service.name for h in report.services] == ["web", "db", "queue", "api", "docs", "status", "legacy"]
    web = report.services[0]
    assert (web.triggered, web.acknowledged, web.high, web.low, web.open) == (2, 1, 1, 2, 3)


def test_totals_cover_every_service_and_only_listed_services_incidents() -> None:
    totals = health_report(SERVICES, INCIDENTS).totals
    assert totals["services"] == 7
    assert (totals["critical"], totals["warning"], totals["active"]) == (3, 1, 1)
    assert (totals["maintenance"], totals["disabled"]) == (1, 1)
    assert (totals["triggered"], totals["acknowledged"], totals["open"]) == (3, 2, 5)
    assert (totals["high"], totals["low"]) == (3, 2)


def test_only_active_keeps_services_with_incidents_or_a_critical_or_warning_status() -> None:
    report = health_report(SERVICES, INCIDENTS, only_active=True)
    assert [h.service.name for h in report.services] == ["web", "db", "queue", "api"]


def test_from_api_shapes() -> None:
    service = service_from_api({"id": "S1", "name": "api", "status": "critical", "html_url": "https://x/S1"})
    assert service == ServiceInfo("S1", "api", "critical", "https://x/S1")
    incident = incident_from_api({"service": {"id": "S1"}, "status": "triggered", "urgency": "low"})
    assert incident == OpenIncident("S1", "triggered", "low")
