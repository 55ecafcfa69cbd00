"""``alex sandbox``: serve the PagerDuty emulator over HTTP."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from datetime import UTC, datetime
from typing import Any

from bot import logsafe
from bot.cli_types import aware_time
from bot.sandbox import DatasetName, build_sandbox, default_token
from bot.sandbox.http import iso
from bot.sandbox.server import serve


def add_sandbox_parser(commands: Any) -> None:
    parser = commands.add_parser("sandbox", help="serve the built-in PagerDuty sandbox over HTTP",
                                 description="Serve a PagerDuty REST API v2 emulator with a seeded account.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--dataset", choices=["demo", "large"], default="demo")
    parser.add_argument("--now", type=aware_time, default=None,
                        help="the account's current time (ISO-8601 with offset); default: the real time")
    parser.add_argument("--token", default=None, help="an extra API token acting as the Manager user")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--scale", type=float, default=1.0, help="size factor of the large dataset")
    parser.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logsafe.install()  # request paths and bodies are the caller's: escaped and capped in every record
    now = args.now or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    return asyncio.run(run_sandbox_server(host=args.host, port=args.port, dataset=args.dataset, now=now,
                                          token=args.token, seed=args.seed, scale=args.scale))


async def run_sandbox_server(*, host: str, port: int, dataset: DatasetName, now: datetime,
                             token: str | None, seed: int | None, scale: float) -> int:
    sandbox = build_sandbox(dataset, now=now, seed=seed, scale=scale, token=token, clock_running=True)
    runner = await serve(sandbox, host, port)
    print(f"PagerDuty sandbox ({dataset}) at http://{host}:{port}  now={iso(now)}")
    print(f"  PAGERDUTY_API_URL=http://{host}:{port}")
    print(f"  PAGERDUTY_USER_API_KEY={token or default_token(dataset)}   (acts as a Manager)")
    print("  admin: /_sandbox/health  /_sandbox/faults  /_sandbox/requests   (Ctrl-C stops)", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
    return 0
