"""``alex doctor [--json] [--manifest PATH] [--timeout S]``: run every check, print them, exit 1 on a problem."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.doctor.report import MANIFEST_PATH, Area, Check, as_json, failed, redact, render_text

if TYPE_CHECKING:
    import httpx2

    from bot.config import Settings


def add_doctor_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "doctor", help="check the Slack, PagerDuty and LLM configuration and connectivity",
        description="Check Slack (auth.test, scopes vs manifest.yml, Socket Mode / HTTP), PagerDuty (user token, "
                    "role, region, services), the LLM endpoint and the state store (SQLite file or Redis); print "
                    "each problem with its fix. "
                    "Exit status 1 when something is wrong.")
    parser.add_argument("--json", action="store_true", help="print the checks as one JSON object")
    parser.add_argument("--manifest", type=Path, default=MANIFEST_PATH,
                        help=f"the Slack app manifest to compare scopes with (default: {MANIFEST_PATH})")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per service (default 10)")
    parser.set_defaults(run=run_doctor_command)


def run_doctor_command(args: argparse.Namespace) -> int:
    from bot.config import Settings

    checks = asyncio.run(run_doctor(Settings(), manifest_path=args.manifest, timeout_s=args.timeout))
    out = json.dumps(as_json(checks), indent=2, ensure_ascii=False) if args.json else render_text(checks)
    sys.stdout.write(out + "\n")
    return 1 if failed(checks) else 0


async def run_doctor(
    settings: Settings,
    *,
    manifest_path: Path = MANIFEST_PATH,
    pagerduty_transport: httpx2.AsyncBaseTransport | None = None,
    llm_transport: httpx2.AsyncBaseTransport | None = None,
    timeout_s: float = 10.0,
) -> list[Check]:
    """Every check, Slack then PagerDuty then LLM then the state store then webhooks (run concurrently)."""
    from bot.doctor.llm import check_llm
    from bot.doctor.pagerduty import check_pagerduty
    from bot.doctor.slack import check_slack, slack_secrets
    from bot.doctor.state import check_state
    from bot.doctor.webhooks import check_webhooks

    secrets = [*slack_secrets(settings), *(s.get_secret_value() if s else None for s in (
        settings.pagerduty_user_api_key, settings.openai_api_key, settings.state_url))]
    groups = await asyncio.gather(
        _guard("Slack", check_slack(settings, manifest_path=manifest_path, timeout_s=timeout_s), secrets),
        _guard("PagerDuty", check_pagerduty(settings, transport=pagerduty_transport, timeout_s=timeout_s), secrets),
        _guard("LLM", check_llm(settings, transport=llm_transport, timeout_s=timeout_s), secrets),
        _guard("State", check_state(settings), secrets),
        _guard("Webhooks", check_webhooks(settings, transport=pagerduty_transport, timeout_s=timeout_s), secrets),
    )
    return [check for group in groups for check in group]


async def _guard(area: Area, checks: Awaitable[list[Check]], secrets: list[str | None]) -> list[Check]:
    """A check that crashed is one failed line (secrets redacted), not a traceback hiding the other areas."""
    try:
        return await checks
    except Exception as exc:  # doctor must report, whatever went wrong
        reason = redact(str(exc), secrets)
        return [Check(area, "error", "fail", f"the {area} check crashed: {type(exc).__name__}: {reason}",
                      "please report this with the output of `alex doctor`")]
