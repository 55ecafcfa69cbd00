"""The ``alex`` command line: ``alex sandbox`` (and, as they land, chat, ask, serve, tools, bench)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from bot.sandbox.cli import add_sandbox_parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="alex", description="alex: a Slack chat-ops bot for PagerDuty")
    commands = parser.add_subparsers(dest="command", required=True)
    add_sandbox_parser(commands)
    demo = commands.add_parser("demo", help="try alex against the built-in PagerDuty sandbox (no keys needed)")
    demo.set_defaults(run=_run_demo)
    tools = commands.add_parser("tools", help="list the tools the LLM can call")
    tools.add_argument("--json", action="store_true", help="print exactly the OpenAI `tools` list sent to the LLM")
    tools.set_defaults(run=_run_tools)
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result


def _run_tools(args: argparse.Namespace) -> int:
    import json

    from bot.tools.registry import ALL_TOOLS, openai_tools

    if args.json:
        print(json.dumps(openai_tools(), separators=(",", ":")))
        return 0
    for tool in ALL_TOOLS:
        print(f"{tool.name:<24} {tool.kind:<5} {tool.description}")
    return 0


def _run_demo(args: argparse.Namespace) -> int:
    from bot.sandbox.cli import run_sandbox_server

    print("alex demo: serving the PagerDuty sandbox (demo dataset). Try, in another terminal:")
    print('  curl -s -H "Authorization: Token token=$TOKEN" '
          '-H "Accept: application/vnd.pagerduty+json;version=2" "$URL/incidents?statuses[]=triggered"')
    return asyncio.run(run_sandbox_server(host="127.0.0.1", port=8765, dataset="demo",
                                          now=datetime.now(UTC).replace(minute=0, second=0, microsecond=0),
                                          token=None, seed=None, scale=1.0))


if __name__ == "__main__":
    sys.exit(main())
