"""``alex sandbox``: serve the PagerDuty emulator over HTTP (or HTTPS with a throwaway certificate)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import shutil
import signal
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bot import logsafe
from bot.cli_types import aware_time
from bot.sandbox import DatasetName, build_sandbox, default_token
from bot.sandbox.app import RATE_LIMIT_PER_MINUTE
from bot.sandbox.http import EARLIEST, LATEST, iso

_EPILOG = """\
the clock:
  Without --now the account's time starts at the current hour; with --now it starts there. Either way it
  then runs with real time (ten minutes after the start, the account is ten minutes later), so incidents
  age and on-call shifts hand over as they would. --frozen keeps it at its start for the whole run: every
  answer is computed at that one instant, which repeated runs and recorded demos want.

rate limit:
  Like PagerDuty, 960 requests a minute per token (429 code 2020 past it, with ratelimit-* headers).
  --rate-limit N sets another number, --rate-limit off lifts it (load tests, benchmarks).

https:
  PagerDuty's official Python client refuses plain-http base URLs. --https serves over TLS with a pair
  made at start: a throwaway CA (its key is never written) and a server certificate for localhost,
  127.0.0.1, ::1 and --host. The CA's path is printed; trust it in the client, e.g.
    RestApiV2Client(token, base_url="https://127.0.0.1:8765",
                    verify=ssl.create_default_context(cafile=CA_PATH))
  The files go to --tls-dir (kept), or to a temporary folder removed when the sandbox stops.

self links:
  Every "self" link points at the base URL the request came to (scheme and Host), so a client following
  them stays on the sandbox. Behind a proxy or a port forward, --public-url sets that base instead.
"""


def add_sandbox_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "sandbox", help="serve the built-in PagerDuty sandbox over HTTP",
        description="Serve a PagerDuty REST API v2 emulator with a seeded account.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on (default: 8765)")
    parser.add_argument("--dataset", choices=["demo", "large"], default="demo",
                        help="the seeded account (default: demo)")
    parser.add_argument("--now", type=sandbox_now, default=None, metavar="TIME",
                        help="the account's time at start: ISO-8601 with an offset, e.g. 2026-03-10T14:00:00Z, "
                             f"between {EARLIEST.year} and {LATEST.year - 1}; default: the current hour. "
                             "The clock then runs (see --frozen)")
    parser.add_argument("--frozen", action="store_true",
                        help="keep the account's clock at its start (--now, or the current hour) instead of "
                             "letting it run")
    parser.add_argument("--rate-limit", type=rate_limit, default=RATE_LIMIT_PER_MINUTE, metavar="N|off",
                        help=f"requests a minute per token before 429 (default: {RATE_LIMIT_PER_MINUTE}, "
                             "PagerDuty's); off lifts the limit")
    parser.add_argument("--token", default=None, help="an extra API token acting as the Manager user")
    parser.add_argument("--seed", type=int, default=None, help="seed of the generated account")
    parser.add_argument("--scale", type=float, default=1.0, help="size factor of the large dataset")
    parser.add_argument("--https", action="store_true",
                        help="serve over TLS with a certificate made at start; prints the CA to trust")
    parser.add_argument("--tls-dir", type=Path, default=None, metavar="DIR",
                        help="with --https: where to write ca.pem, server.pem and server-key.pem "
                             "(default: a temporary folder removed on exit)")
    parser.add_argument("--public-url", type=public_url, default=None, metavar="URL",
                        help="the base of self links (default: the base URL each request came to)")
    parser.set_defaults(run=_run)


def sandbox_now(text: str) -> datetime:
    """``--now``: :func:`aware_time` within the sandbox's range (every time it reads lies in it)."""
    try:
        value = aware_time(text)
    except OverflowError:  # an offset that pushes year 1 or 9999 off the calendar
        value = None
    if value is None or not EARLIEST <= value < LATEST:
        raise argparse.ArgumentTypeError(
            f"{text!r} is outside the sandbox's range: choose a time between {iso(EARLIEST)} and "
            f"{LATEST.year - 1}-12-31T23:59:59Z")
    return value


def rate_limit(text: str) -> int | None:
    """``--rate-limit``: a positive number of requests a minute per token, or ``off`` (None)."""
    if text.strip().lower() == "off":
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive number of requests a minute, or off")
    return value


def public_url(text: str) -> str:
    """``--public-url``: an ``http(s)://host[:port][/prefix]`` base without query or fragment."""
    parts = urlsplit(text.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise argparse.ArgumentTypeError(f"{text!r}: give a base URL such as https://pd-sandbox.example:8443")
    return text.strip().rstrip("/")


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """What ``alex sandbox`` was asked for, apart from the account itself."""

    host: str
    port: int
    frozen: bool = False
    rate_limit: int | None = RATE_LIMIT_PER_MINUTE
    https: bool = False
    tls_dir: Path | None = None
    public_url: str | None = None


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logsafe.install()  # request paths and bodies are the caller's: escaped and capped in every record
    now = args.now or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    options = ServeOptions(host=args.host, port=args.port, frozen=args.frozen, rate_limit=args.rate_limit,
                           https=args.https, tls_dir=args.tls_dir, public_url=args.public_url)
    return asyncio.run(run_sandbox_server(options, dataset=args.dataset, now=now, token=args.token,
                                          seed=args.seed, scale=args.scale))


async def run_sandbox_server(options: ServeOptions, *, dataset: DatasetName, now: datetime,
                             token: str | None, seed: int | None, scale: float) -> int:
    sandbox = build_sandbox(dataset, now=now, seed=seed, scale=scale, token=token,
                            rate_limit_per_minute=options.rate_limit, clock_running=not options.frozen,
                            public_url=options.public_url)
    temporary: Path | None = None
    ssl_context = None
    ca_path: Path | None = None
    if options.https:
        from bot.sandbox.tls import write_tls_files

        folder = options.tls_dir
        if folder is None:
            folder = temporary = Path(tempfile.mkdtemp(prefix="alex-sandbox-tls-"))
        files = write_tls_files(folder, [options.host])
        ssl_context, ca_path = files.server_context(), files.ca_cert
    from bot.sandbox.server import serve  # aiohttp: only when serving, not for every `alex` command

    try:
        runner = await serve(sandbox, options.host, options.port, ssl_context=ssl_context)
        scheme = "https" if options.https else "http"
        url = f"{scheme}://{_url_host(options.host)}:{options.port}"
        clock = "frozen" if options.frozen else "running"
        limit = "off" if options.rate_limit is None else f"{options.rate_limit}/min"
        print(f"PagerDuty sandbox ({dataset}) at {url}  now={iso(now)} (clock {clock})  rate limit {limit}")
        print(f"  PAGERDUTY_API_URL={options.public_url or url}")
        print(f"  PAGERDUTY_USER_API_KEY={token or default_token(dataset)}   (acts as a Manager)")
        if ca_path is not None:
            print(f"  CA certificate: {ca_path}   (trust it in the client; made for this run)")
        print("  admin: /_sandbox/health  /_sandbox/faults  /_sandbox/requests  /_sandbox/events  "
              "/_sandbox/webhook_deliveries   (Ctrl-C stops)", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
    finally:
        if temporary is not None:
            shutil.rmtree(temporary, ignore_errors=True)
    return 0


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host
