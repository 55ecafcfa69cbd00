"""``make bench``: alex vs a naive LLM-to-PagerDuty wiring, as a markdown table on stdout and JSON in a file."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
from collections.abc import Sequence
from pathlib import Path

from benchmarks.report import Config, run, table


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--scale", type=float, default=1.0, help="size of the large dataset (1.0 = full)")
    parser.add_argument("--json", type=Path, default=Path("bench-results.json"))
    parser.add_argument("--pd-latency-ms", type=float, default=80.0, help="injected per PagerDuty request")
    parser.add_argument("--llm-latency-ms", type=float, default=700.0, help="injected per model call")
    parser.add_argument("--concurrent", type=int, default=200, help="mentions sent at once through Slack")
    parser.add_argument("--deliveries", type=int, default=100, help="events in the ack-latency burst")
    parser.add_argument("--cold-start-runs", type=int, default=5, help="timed `alex ask --sandbox` subprocesses")
    parser.add_argument("--webhook-events", type=int, default=1_000, help="PagerDuty deliveries in the webhook burst")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    config = Config(scale=args.scale, pd_latency_ms=args.pd_latency_ms, llm_latency_ms=args.llm_latency_ms,
                    concurrent=args.concurrent, deliveries=args.deliveries, cold_start_runs=args.cold_start_runs,
                    webhook_events=args.webhook_events)
    report = asyncio.run(run(config))
    print(table(report))
    args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"\nJSON written to {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
