"""The eval report: per-case runs, metrics per category and overall, a text table and JSON.

Metrics (shared/docs/evals.md section 2):
* pass@1: the mean pass rate over all runs, with a 95 % Wilson interval;
* pass^k: the share of cases that passed in all k runs (tau-bench's consistency measure);
* write precision: proposals the person asked for / all proposals (hard gate: 100 %);
* executed writes: write requests that reached PagerDuty (hard gate: 0);
* mean tool calls, LLM calls and tokens per run; latency p50/p95.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.evals.cases import CATEGORIES, EvalCase
from bot.evals.scorer import Observation, RunScore


@dataclass(slots=True)
class RunRecord:
    """One run of one case: what happened and how it scored."""

    iteration: int
    observation: Observation
    score: RunScore
    proposals: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        run = self.observation
        return {
            "iteration": self.iteration,
            "passed": self.score.passed,
            "errors": [e.as_dict() for e in self.score.errors],
            "tool_calls": [{"name": c.name, "arguments": c.arguments, "status": c.status} for c in run.calls],
            "proposals": self.proposals,
            "reply": run.reply,
            "llm_calls": run.llm_calls,
            "tokens": run.tokens,
            "latency_ms": round(run.latency_ms, 1),
            "pd_requests": run.pd_requests,
            "executed_writes": run.executed_writes,
            "failure": run.failure,
        }


@dataclass(slots=True)
class CaseResult:
    case: EvalCase
    runs: list[RunRecord] = field(default_factory=list)

    @property
    def passes(self) -> int:
        return sum(r.score.passed for r in self.runs)

    @property
    def passed_all(self) -> bool:
        return bool(self.runs) and self.passes == len(self.runs)


@dataclass(frozen=True, slots=True)
class Metrics:
    cases: int
    runs: int
    passes: int
    pass_at_1: float
    ci95: tuple[float, float]
    pass_hat_k: float
    proposals: int
    wanted_proposals: int
    executed_writes: int
    mean_tool_calls: float
    mean_llm_calls: float
    mean_tokens: float
    latency_p50_ms: float
    latency_p95_ms: float
    error_types: dict[str, int]
    """Runs with at least one error of that type."""

    @property
    def write_precision(self) -> float | None:
        return self.wanted_proposals / self.proposals if self.proposals else None

    def as_json(self) -> dict[str, Any]:
        return {
            "cases": self.cases, "runs": self.runs, "passes": self.passes,
            "pass_at_1": round(self.pass_at_1, 4), "pass_at_1_ci95": [round(x, 4) for x in self.ci95],
            "pass_hat_k": round(self.pass_hat_k, 4),
            "write_precision": None if self.write_precision is None else round(self.write_precision, 4),
            "proposals": self.proposals, "wanted_proposals": self.wanted_proposals,
            "executed_writes": self.executed_writes,
            "mean_tool_calls": round(self.mean_tool_calls, 2), "mean_llm_calls": round(self.mean_llm_calls, 2),
            "mean_tokens": round(self.mean_tokens, 1),
            "latency_ms": {"p50": round(self.latency_p50_ms, 1), "p95": round(self.latency_p95_ms, 1)},
            "error_types": dict(sorted(self.error_types.items())),
        }


def wilson(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval for a rate (95 % by default); (0, 1) when there is no data."""
    if n <= 0:
        return (0.0, 1.0)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) by linear interpolation; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def metrics(results: Iterable[CaseResult]) -> Metrics:
    results = list(results)
    runs = [run for result in results for run in result.runs]
    n = len(runs)
    passes = sum(r.score.passed for r in runs)
    errors: Counter[str] = Counter()
    for run in runs:
        errors.update(run.score.error_types)

    def mean(values: list[float]) -> float:
        return sum(values) / len(values) if values else 0.0

    latencies = [r.observation.latency_ms for r in runs]
    return Metrics(
        cases=len(results), runs=n, passes=passes,
        pass_at_1=passes / n if n else 0.0, ci95=wilson(passes, n),
        pass_hat_k=sum(r.passed_all for r in results) / len(results) if results else 0.0,
        proposals=sum(r.score.proposals for r in runs),
        wanted_proposals=sum(r.score.wanted_proposals for r in runs),
        executed_writes=sum(r.observation.executed_writes for r in runs),
        mean_tool_calls=mean([len(r.observation.calls) for r in runs]),
        mean_llm_calls=mean([r.observation.llm_calls for r in runs]),
        mean_tokens=mean([r.observation.tokens for r in runs]),
        latency_p50_ms=percentile(latencies, 0.5), latency_p95_ms=percentile(latencies, 0.95),
        error_types=dict(errors),
    )


@dataclass(slots=True)
class EvalReport:
    """Every case's runs, plus the metrics per category and overall."""

    results: list[CaseResult]
    k: int
    model: str = "unknown"

    @property
    def overall(self) -> Metrics:
        return metrics(self.results)

    def by_category(self) -> dict[str, Metrics]:
        present = {r.case.category for r in self.results}
        return {c: metrics(r for r in self.results if r.case.category == c) for c in CATEGORIES if c in present}

    @property
    def gates_pass(self) -> bool:
        """The hard gates: every proposal was asked for, and nothing was written to PagerDuty."""
        overall = self.overall
        return overall.executed_writes == 0 and overall.wanted_proposals == overall.proposals

    def as_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "k": self.k,
            "gates_pass": self.gates_pass,
            "overall": self.overall.as_json(),
            "categories": {name: m.as_json() for name, m in self.by_category().items()},
            "cases": [{"id": r.case.id, "category": r.case.category, "prompt": r.case.prompt,
                       "passes": r.passes, "runs": [run.as_json() for run in r.runs]} for r in self.results],
        }

    def render(self) -> str:
        """A plain-text table per category and overall, then the failing cases and their error types."""
        header = (f"{'category':<20} {'cases':>5} {'pass@1':>7} {'95% CI':>13} {f'pass^{self.k}':>7} "
                  f"{'write prec':>10} {'tools':>5} {'llm':>4} {'tokens':>7} {'p50 ms':>7} {'p95 ms':>7}")
        lines = [f"alex eval: model {self.model}, k={self.k}", "", header, "-" * len(header)]
        rows = [*self.by_category().items(), ("overall", self.overall)]
        for name, m in rows:
            if name == "overall":
                lines.append("-" * len(header))
            precision = "n/a" if m.write_precision is None else f"{m.write_precision:.0%}"
            lines.append(f"{name:<20} {m.cases:>5} {m.pass_at_1:>7.0%} {_ci(m.ci95):>13} {m.pass_hat_k:>7.0%} "
                         f"{precision:>10} {m.mean_tool_calls:>5.1f} {m.mean_llm_calls:>4.1f} "
                         f"{m.mean_tokens:>7.0f} {m.latency_p50_ms:>7.0f} {m.latency_p95_ms:>7.0f}")
        overall = self.overall
        lines += ["", f"gates: write precision {'ok' if overall.wanted_proposals == overall.proposals else 'FAILED'}"
                      f" ({overall.wanted_proposals}/{overall.proposals} proposals asked for), executed writes "
                      f"{overall.executed_writes} ({'ok' if overall.executed_writes == 0 else 'FAILED'})"]
        if overall.error_types:
            causes = ", ".join(f"{k} {v}" for k, v in sorted(overall.error_types.items(), key=lambda kv: -kv[1]))
            lines.append(f"failures by cause (runs): {causes}")
        failing = [r for r in self.results if not r.passed_all]
        if failing:
            lines += ["", "failing cases:"]
            for result in failing:
                types = Counter(t for run in result.runs for t in run.score.error_types)
                first = next(run for run in result.runs if not run.score.passed).score.errors[0]
                lines.append(f"  {result.case.id} [{result.case.category}] {result.passes}/{len(result.runs)} "
                             f"passed: {', '.join(sorted(types))} - {first.detail}")
        return "\n".join(lines)


def _ci(interval: tuple[float, float]) -> str:
    return f"{interval[0]:.0%}-{interval[1]:.0%}"
