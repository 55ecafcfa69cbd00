"""The whole benchmark run: figures, naive/alex ratios, targets met or missed; markdown and JSON."""

from __future__ import annotations

import dataclasses
import resource
import statistics
import time
from dataclasses import dataclass
from typing import Any

from benchmarks import cold_start
from benchmarks import mcp as mcp_bench
from benchmarks import sandbox as sandbox_bench
from benchmarks import webhooks as webhook_bench
from benchmarks.agent import PromptFigures, manager, measure_prompts, registry_schema_chars
from benchmarks.slack import measure_slack
from bot.sandbox import DEFAULT_NOW, build_sandbox

SEED_LLM_CALLS = 2
SEED_PD_REQUESTS = 3
SEED_RESULT_CHARS = 8_000
SCHEMA_CHARS = 12_000
OVERHEAD_P95_MS = 25.0
CONCURRENT_FACTOR = 2.0
ACK_P99_MS = 100.0
COLD_START_MS = 800.0


@dataclass(frozen=True)
class Config:
    scale: float = 1.0
    pd_latency_ms: float = 80.0
    llm_latency_ms: float = 700.0
    concurrent: int = 200
    deliveries: int = 100
    sandbox_rounds: int = 50
    cold_start_runs: int = 5
    webhook_events: int = 1_000


def ratio(naive: float, alex: float) -> float | None:
    return round(naive / alex, 2) if alex else None


def _rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) > 1 else values[0]


async def run(config: Config) -> dict[str, Any]:
    started = time.perf_counter()
    sandbox_figures = await sandbox_bench.measure(config.scale, rounds=config.sandbox_rounds)
    cold = cold_start.measure(config.cold_start_runs)  # first: a subprocess, not sharing this run's cores
    world_sandbox = build_sandbox("large", now=DEFAULT_NOW, scale=config.scale, rate_limit_per_minute=None)
    world_sandbox.faults.base_latency = config.pd_latency_ms / 1000
    llm_s = config.llm_latency_ms / 1000
    rows, prompts = await measure_prompts(world_sandbox, llm_s)
    seed = next(p for p in prompts if p.key == "seed: on-call for a service")
    asker = manager(world_sandbox)
    slack = await measure_slack(world_sandbox, seed.text, seed.alex, llm_latency_s=llm_s,
                                concurrent=config.concurrent, deliveries=config.deliveries,
                                user_email=asker.email, user_tz=asker.time_zone.key)
    alex_schema, naive_schema = registry_schema_chars()
    mcp_figures = await mcp_bench.measure()
    hooks = await webhook_bench.measure(config.webhook_events)
    overhead_p95 = round(_p95([r.alex.cpu_ms for r in rows]), 1)
    naive_overhead_p95 = round(_p95([r.naive.cpu_ms for r in rows]), 1)
    concurrent_factor = round(slack.concurrent_ms / slack.one_mention_ms, 2)
    targets = []
    for r in (r for r in rows if r.seed):
        targets += [
            _target(f"{r.key}: LLM calls", f"= {SEED_LLM_CALLS}", r.alex.llm_calls, r.alex.llm_calls == SEED_LLM_CALLS),
            _target(f"{r.key}: PD requests", f"≤ {SEED_PD_REQUESTS}", r.alex.pd_requests,
                    r.alex.pd_requests <= SEED_PD_REQUESTS),
            _target(f"{r.key}: tool result chars", f"≤ {SEED_RESULT_CHARS}", r.alex.result_chars,
                    r.alex.result_chars <= SEED_RESULT_CHARS),
        ]
    targets += [
        _target("tool schema size (chars)", f"≤ {SCHEMA_CHARS}", alex_schema, alex_schema <= SCHEMA_CHARS),
        _target("alex CPU per message, p95 (ms)", f"≤ {OVERHEAD_P95_MS:g}", overhead_p95,
                overhead_p95 <= OVERHEAD_P95_MS),
        _target(f"{slack.concurrent} concurrent mentions / one", f"≤ {CONCURRENT_FACTOR}×", concurrent_factor,
                concurrent_factor <= CONCURRENT_FACTOR),
        _target(f"ack p99 over {slack.deliveries} deliveries (ms)", f"≤ {ACK_P99_MS:g}", slack.ack_p99_ms,
                slack.ack_p99_ms <= ACK_P99_MS),
        _target(f"`alex ask --sandbox \"{cold_start.QUESTION}\"` end to end, median (ms)", f"≤ {COLD_START_MS:g}",
                cold.median_ms, cold.median_ms <= COLD_START_MS and not cold.imports_openai),
        _target(f"webhook burst of {hooks.events:,}: cards right (of {hooks.incidents})", "all",
                hooks.cards_correct, hooks.all_correct),
        _target("webhook burst: delivery → card drawn, p99 (ms)", f"≤ {webhook_bench.TO_CARD_P99_MS:g}",
                hooks.to_card_p99_ms, hooks.to_card_p99_ms <= webhook_bench.TO_CARD_P99_MS),
    ]
    totals = {name: {"alex": round(sum(getattr(r.alex, name) for r in rows), 1),
                     "naive": round(sum(getattr(r.naive, name) for r in rows), 1)}
              for name in ("llm_calls", "tool_calls", "pd_requests", "schema_chars", "result_chars", "wall_ms",
                           "cpu_ms")}
    for pair in totals.values():
        pair["ratio"] = ratio(pair["naive"], pair["alex"])  # type: ignore[assignment]
    return {
        "config": dataclasses.asdict(config),
        "prompts": [_prompt_json(r) for r in rows],
        "totals": totals,
        "summary": {
            "schema_chars": {"alex": alex_schema, "naive": naive_schema, "ratio": ratio(naive_schema, alex_schema)},
            "cpu_p95_ms": {"alex": overhead_p95, "naive": naive_overhead_p95,
                           "ratio": ratio(naive_overhead_p95, overhead_p95)},
            "slack": {**dataclasses.asdict(slack), "concurrent_factor": concurrent_factor,
                      "concurrent_loop_busy": slack.concurrent_cpu.loop_busy},
            "cold_start": dataclasses.asdict(cold),
            "rss_mib": _rss_mib(),
            "seconds": round(time.perf_counter() - started, 1),
        },
        "targets": targets,
        "sandbox": dataclasses.asdict(sandbox_figures),
        "mcp": dataclasses.asdict(mcp_figures),
        "webhooks": dataclasses.asdict(hooks),
    }


def _target(name: str, goal: str, measured: float, met: bool) -> dict[str, Any]:
    return {"target": name, "goal": goal, "measured": measured, "met": met}


def _prompt_json(r: PromptFigures) -> dict[str, Any]:
    alex, naive = dataclasses.asdict(r.alex), dataclasses.asdict(r.naive)
    ratios = {k: ratio(naive[k], alex[k]) for k in alex if k != "ok"}
    return {"key": r.key, "text": r.text, "seed": r.seed, "alex": alex, "naive": naive, "ratio": ratios}


def _x(value: float | None) -> str:
    return "—" if value is None else f"{value:g}×"


def _n(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:g}"


def _cpu_rows(slack: dict[str, Any]) -> list[str]:
    """Where the CPU of the one-mention and the concurrent runs went (alex, the sandbox, the model, fake Slack)."""
    rows = []
    for label, cpu in ((f"{slack['concurrent']} concurrent mentions", slack["concurrent_cpu"]),
                       ("one mention", slack["one_cpu"])):
        busy = (cpu["alex_ms"] + cpu["sandbox_ms"] + cpu["model_ms"]) / cpu["wall_ms"] if cpu["wall_ms"] else 0.0
        rows.append(f"| CPU of {label}: alex / in-process sandbox / scripted model / fake Slack (ms) | "
                    f"{cpu['alex_ms']:,.0f} / {cpu['sandbox_ms']:,.0f} / {cpu['model_ms']:,.0f} / "
                    f"{cpu['fake_slack_ms']:,.0f} (event loop busy {busy:.0%} of {cpu['wall_ms']:,.0f} ms) | n/a | |")
    return rows


def _cold_start_row(cold: dict[str, Any]) -> str:
    openai = " (imported openai)" if cold["imports_openai"] else ""
    return (f"| `alex ask --sandbox \"{cold_start.QUESTION}\"` end to end, median / best of {cold['runs']} (ms) | "
            f"{cold['median_ms']:,.0f} / {cold['best_ms']:,.0f}{openai} | n/a | |")


def table(report: dict[str, Any]) -> str:
    config = report["config"]
    lines = [f"alex vs naive (large dataset, scale {config['scale']}; "
             f"PagerDuty {config['pd_latency_ms']:g} ms/request, LLM {config['llm_latency_ms']:g} ms/call; "
             "ratio = naive/alex)", "",
             "| prompt | LLM calls alex | naive | × | PD requests alex | naive | × | result chars alex | naive | × "
             "| wall ms alex | naive | × | alex CPU ms |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    keys = ("llm_calls", "pd_requests", "result_chars", "wall_ms")
    for p in report["prompts"]:
        cells = [f"{_n(p['alex'][k])} | {_n(p['naive'][k])} | {_x(p['ratio'][k])}" for k in keys]
        flag = "" if p["alex"]["ok"] else " (tool error)"
        lines.append(f"| {p['key']}{flag} | " + " | ".join(cells) + f" | {p['alex']['cpu_ms']:g} |")
    t = report["totals"]
    cells = [f"{_n(t[k]['alex'])} | {_n(t[k]['naive'])} | {_x(t[k]['ratio'])}" for k in keys]
    lines.append("| **all prompts** | " + " | ".join(cells) + f" | {t['cpu_ms']['alex']:g} |")
    s = report["summary"]
    slack = s["slack"]
    lines += ["", "| measure | alex | naive | × |", "|---|---:|---:|---:|",
              f"| tool schema size of the registry (chars) | {s['schema_chars']['alex']:,} | "
              f"{s['schema_chars']['naive']:,} | {_x(s['schema_chars']['ratio'])} |",
              f"| schema chars sent, all prompts | {t['schema_chars']['alex']:,.0f} | "
              f"{t['schema_chars']['naive']:,.0f} | {_x(t['schema_chars']['ratio'])} |",
              f"| own CPU per message, p95 (ms) | {s['cpu_p95_ms']['alex']:g} | {s['cpu_p95_ms']['naive']:g} | "
              f"{_x(s['cpu_p95_ms']['ratio'])} |",
              f"| one mention through Slack (ms) | {slack['one_mention_ms']:,.0f} | n/a | |",
              f"| {slack['concurrent']} concurrent mentions (ms) | {slack['concurrent_ms']:,.0f} "
              f"({slack['concurrent_factor']:g}× one) | n/a | |",
              *_cpu_rows(slack),
              f"| ack latency p50 / p99 / max, burst of {slack['deliveries']} (ms) | {slack['ack_p50_ms']:g} / "
              f"{slack['ack_p99_ms']:g} / {slack['ack_max_ms']:g} | n/a | |",
              _cold_start_row(s["cold_start"]),
              f"| peak RSS (MiB, whole run) | {s['rss_mib']:g} | | |",
              "", "| target | goal | measured | |", "|---|---|---:|---|"]
    lines += [f"| {x['target']} | {x['goal']} | {x['measured']:g} | {'met' if x['met'] else '**missed**'} |"
              for x in report["targets"]]
    lines += ["", mcp_bench.table(mcp_bench.McpFigures(**report["mcp"]))]
    lines += ["", webhook_bench.table(webhook_bench.WebhookFigures(**report["webhooks"]))]
    lines += ["", sandbox_bench.table(sandbox_bench.SandboxFigures(**report["sandbox"])), "",
              f"Benchmark run took {s['seconds']:g} s."]
    return "\n".join(lines)
