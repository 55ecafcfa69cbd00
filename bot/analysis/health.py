"""Service health: PagerDuty's own service status plus open-incident counts, worst services first.

PagerDuty computes ``service.status`` itself (``critical``: a triggered incident, ``warning``: an
acknowledged one, ``active``: nothing open, plus ``maintenance`` and ``disabled``), so statuses are
exact even when the incident counts come from a sample of the open incidents. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SEVERITY = {"critical": 0, "warning": 1, "active": 2, "maintenance": 3, "disabled": 4}
"""Sort order of PagerDuty's service statuses, worst first (unknown statuses sort after these)."""
STATUSES = tuple(SEVERITY)


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    id: str
    name: str
    status: str
    url: str | None = None


@dataclass(frozen=True, slots=True)
class OpenIncident:
    service_id: str
    status: str
    """``triggered`` or ``acknowledged``."""
    urgency: str
    """``high`` or ``low``."""


@dataclass(frozen=True, slots=True)
class ServiceHealth:
    service: ServiceInfo
    triggered: int = 0
    acknowledged: int = 0
    high: int = 0
    low: int = 0

    @property
    def open(self) -> int:
        return self.triggered + self.acknowledged

    @property
    def has_active_incidents(self) -> bool:
        """Open incidents counted, or a status that says so (exact even when counts are sampled)."""
        return self.open > 0 or self.service.status in ("critical", "warning")


@dataclass(frozen=True, slots=True)
class HealthReport:
    services: tuple[ServiceHealth, ...]
    """Sorted worst first (filtered when asked); see :func:`health_report`."""
    totals: Mapping[str, int]
    """services, each status, and open/triggered/acknowledged/high/low incidents over all services."""


def service_from_api(service: Mapping[str, Any]) -> ServiceInfo:
    return ServiceInfo(str(service.get("id", "")), str(service.get("name") or service.get("summary") or ""),
                       str(service.get("status") or "active"),
                       service.get("html_url") if isinstance(service.get("html_url"), str) else None)


def incident_from_api(incident: Mapping[str, Any]) -> OpenIncident:
    service = incident.get("service")
    service_id = service.get("id") if isinstance(service, Mapping) else None
    return OpenIncident(str(service_id or ""), str(incident.get("status", "")), str(incident.get("urgency", "")))


def severity_key(health: ServiceHealth) -> tuple[int, int, int, str]:
    """Worst first: status (critical, warning, active, maintenance, disabled), then triggered,
    then acknowledged counts (descending), then name."""
    return (SEVERITY.get(health.service.status, len(SEVERITY)), -health.triggered, -health.acknowledged,
            health.service.name.lower())


def count_incidents(incidents: Iterable[OpenIncident]) -> dict[str, dict[str, int]]:
    """service id -> {triggered, acknowledged, high, low} for open incidents (resolved ones ignored)."""
    counts: dict[str, dict[str, int]] = {}
    for incident in incidents:
        if incident.status not in ("triggered", "acknowledged"):
            continue
        row = counts.setdefault(incident.service_id, {"triggered": 0, "acknowledged": 0, "high": 0, "low": 0})
        row[incident.status] += 1
        if incident.urgency in ("high", "low"):
            row[incident.urgency] += 1
    return counts


def health_report(services: Iterable[ServiceInfo], incidents: Iterable[OpenIncident], *,
                  only_active: bool = True) -> HealthReport:
    """Per-service counts and overall totals; ``only_active`` keeps services with open incidents
    (or a critical/warning status). Totals always cover every given service; incidents on services
    not given are ignored."""
    counts = count_incidents(incidents)
    zero = {"triggered": 0, "acknowledged": 0, "high": 0, "low": 0}
    rows = [ServiceHealth(service, **counts.get(service.id, zero)) for service in services]
    totals: dict[str, int] = {"services": len(rows)}
    for status in STATUSES:
        totals[status] = sum(1 for row in rows if row.service.status == status)
    for key in ("triggered", "acknowledged", "high", "low"):
        totals[key] = sum(getattr(row, key) for row in rows)
    totals["open"] = totals["triggered"] + totals["acknowledged"]
    rows.sort(key=severity_key)
    if only_active:
        rows = [row for row in rows if row.has_active_incidents]
    return HealthReport(tuple(rows), totals)
