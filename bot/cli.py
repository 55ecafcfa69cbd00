"""The ``alex`` command line: chat, ask, demo, sandbox, tools, eval, serve, doctor, bench."""

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
    bench = commands.add_parser("bench", help="benchmark alex against a naive LLM wiring (run in the repository)")
    bench.add_argument("--scale", help="size of the large dataset (1.0 = full)")
    bench.add_argument("--json", help="where to write the JSON results (default bench-results.json)")
    bench.add_argument("--pd-latency-ms", help="injected per PagerDuty request (default 80)")
    bench.add_argument("--llm-latency-ms", help="injected per model call (default 700)")
    bench.add_argument("--concurrent", help="mentions sent at once through Slack (default 50)")
    bench.add_argument("--deliveries", help="events in the ack-latency burst (default 100)")
    bench.set_defaults(run=_run_bench)
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


def _run_bench(args: argparse.Namespace) -> int:
    """``alex bench [--scale N] [--json FILE] ...``: the repository's ``benchmarks`` package (not installed)."""
    import importlib
    from pathlib import Path

    if (Path.cwd() / "benchmarks" / "__main__.py").is_file() and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module("benchmarks.__main__")
    except ImportError as exc:
        print(f"alex bench runs from a clone of the alex repository (the benchmarks/ folder and tests/fakes): {exc}. "
              "Run it from the repository root, or use `make bench`.", file=sys.stderr)
        return 2
    options = ("scale", "json", "pd_latency_ms", "llm_latency_ms", "concurrent", "deliveries")
    argv = [part for name in options if getattr(args, name) is not None
            for part in ("--" + name.replace("_", "-"), str(getattr(args, name)))]
    result: int = module.main(argv)
    return result


if __name__ == "__main__":
    sys.exit(main())
