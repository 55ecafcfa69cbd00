"""``make bench`` at a tiny scale (seconds): the report is complete and alex beats the naive baseline."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.__main__ import main
from benchmarks.report import Config, run, table

SEEDS = {"seed: open incidents + patterns", "seed: on-call for a service", "seed: services with active incidents",
         "seed: next week's gaps"}
OTHERS = {"one incident", "policy + notification rules", "schedule shifts", "overrides", "people", "write proposal",
          "team on-call", "when am I next on call", "incidents of one service", "DST window"}
TINY = Config(scale=0.02, pd_latency_ms=1.0, llm_latency_ms=0.0, concurrent=5, deliveries=10, sandbox_rounds=3,
              cold_start_runs=1)


@pytest.mark.slow
async def test_the_report_has_every_row_and_the_seed_prompts_take_two_model_calls() -> None:
    report: dict[str, Any] = await run(TINY)
    prompts = {p["key"]: p for p in report["prompts"]}
    assert set(prompts) == SEEDS | OTHERS
    for key in SEEDS:
        assert prompts[key]["alex"]["llm_calls"] == 2, key
    for p in prompts.values():
        assert p["alex"]["ok"], p["key"]  # every scripted call resolved against the dataset
        assert p["alex"]["llm_calls"] == 2 and p["alex"]["tool_calls"] == 1, p["key"]
    # The naive baseline's N+1 lookups: one request per service, alex a bounded few.
    health = prompts["seed: services with active incidents"]
    assert health["naive"]["pd_requests"] > health["alex"]["pd_requests"]
    assert health["naive"]["result_chars"] > health["alex"]["result_chars"]

    text = table(report)
    for row in [*SEEDS, *OTHERS, "all prompts", "tool schema size of the registry", "concurrent mentions",
                "ack latency p50 / p99", "peak RSS", "alex CPU per message, p95", "Sandbox (scale 0.02)",
                "100-item incidents page, median", "end to end, median", "CPU of one mention",
                "CPU of 5 concurrent mentions: alex / in-process sandbox"]:
        assert row in text, row
    assert "missed" in text or "met" in text
    summary = report["summary"]
    assert summary["slack"]["concurrent"] == 5 and summary["slack"]["deliveries"] == 10
    assert summary["slack"]["concurrent_cpu"]["alex_ms"] > 0 and summary["slack"]["concurrent_cpu"]["sandbox_ms"] > 0
    assert summary["cold_start"]["runs"] == 1 and summary["cold_start"]["imports_openai"] is False


@pytest.mark.slow
def test_the_command_prints_the_table_and_writes_the_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench.json"
    assert main(["--scale", "0.02", "--pd-latency-ms", "0", "--llm-latency-ms", "0", "--concurrent", "3",
                 "--deliveries", "5", "--cold-start-runs", "1", "--json", str(out)]) == 0
    assert "| prompt |" in capsys.readouterr().out
    written = json.loads(out.read_text())
    assert {"config", "prompts", "totals", "summary", "targets", "sandbox"} <= set(written)
