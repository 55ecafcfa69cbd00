"""The ``alex`` command line: chat, ask, demo, sandbox, tools, eval, serve (and, as it lands, bench)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot.agent.cli import add_agent_parsers
from bot.doctor.command import add_doctor_parser
from bot.evals.command import add_eval_parser
from bot.sandbox.cli import add_sandbox_parser
from bot.slack.serve import add_serve_parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="alex", description="alex: a Slack chat-ops bot for PagerDuty")
    commands = parser.add_subparsers(dest="command", required=True)
    add_agent_parsers(commands)
    add_sandbox_parser(commands)
    add_eval_parser(commands)
    add_serve_parser(commands)
    add_doctor_parser(commands)
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


if __name__ == "__main__":
    sys.exit(main())
