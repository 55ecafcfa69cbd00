"""Sandbox performance: build time of the large dataset, in-process page latency, memory."""

from __future__ import annotations

import asyncio
import resource
import statistics
import time
from dataclasses import dataclass

import httpx2

from bot.sandbox import DEFAULT_NOW, build_sandbox, default_token

PD_ACCEPT = "application/vnd.pagerduty+json;version=2"


@dataclass(frozen=True)
class SandboxFigures:
    scale: float
    build_seconds: float
    incidents: int
    page_median_ms: float
    page_p95_ms: float
    oncall_median_ms: float
    rss_mib: float


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _time_requests(client: httpx2.AsyncClient, path: str, params: dict[str, object],
                         rounds: int) -> list[float]:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        response = await client.get(path, params=params)  # type: ignore[arg-type]
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return timings


async def measure(scale: float = 1.0, rounds: int = 50) -> SandboxFigures:
    started = time.perf_counter()
    sandbox = build_sandbox("large", now=DEFAULT_NOW, scale=scale, rate_limit_per_minute=None)
    build_seconds = time.perf_counter() - started
    headers = {"Accept": PD_ACCEPT, "Authorization": f"Token token={default_token('large')}"}
    policy_id = next(iter(sandbox.world.escalation_policies))
    async with httpx2.AsyncClient(transport=sandbox.transport(), base_url="https://api.pagerduty.com",
                                  headers=headers) as client:
        page = await _time_requests(client, "/incidents", {
            "statuses[]": ["triggered", "acknowledged"], "limit": 100, "offset": 200}, rounds)
        oncall = await _time_requests(client, "/oncalls", {"escalation_policy_ids[]": [policy_id]}, rounds)
    return SandboxFigures(
        scale=scale,
        build_seconds=round(build_seconds, 2),
        incidents=len(sandbox.world.incidents),
        page_median_ms=round(statistics.median(page), 2),
        page_p95_ms=round(statistics.quantiles(page, n=20)[-1], 2),
        oncall_median_ms=round(statistics.median(oncall), 2),
        rss_mib=round(_rss_mib(), 1),
    )


def table(figures: SandboxFigures) -> str:
    rows = [
        ("build `large` dataset", f"{figures.build_seconds} s", "< 15 s"),
        ("incidents in the account", str(figures.incidents), ""),
        ("100-item incidents page, median", f"{figures.page_median_ms} ms", "< 10 ms"),
        ("100-item incidents page, p95", f"{figures.page_p95_ms} ms", ""),
        ("on-call for one escalation policy, median", f"{figures.oncall_median_ms} ms", ""),
        ("peak RSS", f"{figures.rss_mib} MiB", ""),
    ]
    lines = [f"Sandbox (scale {figures.scale})", "", "| measure | value | target |", "|---|---|---|"]
    lines += [f"| {name} | {value} | {target} |" for name, value, target in rows]
    return "\n".join(lines)


def run(scale: float = 1.0) -> SandboxFigures:
    return asyncio.run(measure(scale))
