"""The ``alex`` command line: chat, ask, demo, sandbox, tools, eval, serve, doctor, webhooks, mcp, bench."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from bot.doctor.command import add_doctor_parser
from bot.evals.command import add_eval_parser
from bot.mcp.command import add_mcp_parser
from bot.notify.webhooks_cli import add_webhooks_parser
from bot.sandbox.cli import add_sandbox_parser
from bot.slack.serve import add_serve_parser
from bot.terminal.cli import add_agent_parsers


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.run(args)
    return result


def build_parser() -> argparse.ArgumentParser:
    """``alex`` and its subcommands; every subcommand and option has a help text."""
    parser = argparse.ArgumentParser(
        prog="alex", description="alex: a Slack chat-ops bot for PagerDuty",
        epilog="`alex COMMAND --help` describes a command. New here? `alex demo` chats with the built-in "
               "sandbox (no keys, no network); `alex ask \"incidents\" --sandbox` asks one question.")
    parser.add_argument("--version", action="version", version=f"alex {_version()}",
                        help="print the installed version and exit")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     help="one of these (each takes --help):")
    add_agent_parsers(commands)
    add_sandbox_parser(commands)
    add_eval_parser(commands)
    add_serve_parser(commands)
    add_doctor_parser(commands)
    add_webhooks_parser(commands)
    add_mcp_parser(commands)
    tools = commands.add_parser("tools", help="list the tools the LLM can call",
                                description="The tools the model may call, one a line: name, kind (read or "
                                            "write: writes only propose) and description.")
    tools.add_argument("--json", action="store_true", help="print exactly the OpenAI `tools` list sent to the LLM")
    tools.set_defaults(run=_run_tools)
    bench = commands.add_parser(
        "bench", help="benchmark alex against a naive LLM wiring (run in the repository)",
        description="Performance figures (the same as make bench): alex against a naive LLM wiring over the "
                    "sandbox with injected latencies, and Slack's ack latency under load. Runs from a clone "
                    "of the repository (it needs benchmarks/ and tests/fakes/).")
    bench.add_argument("--scale", metavar="N", help="size of the large dataset (1.0 = full)")
    bench.add_argument("--json", metavar="FILE", help="where to write the JSON results (default bench-results.json)")
    bench.add_argument("--pd-latency-ms", metavar="MS", help="injected per PagerDuty request (default 80)")
    bench.add_argument("--llm-latency-ms", metavar="MS", help="injected per model call (default 700)")
    bench.add_argument("--concurrent", metavar="N", help="mentions sent at once through Slack (default 200)")
    bench.add_argument("--deliveries", metavar="N", help="events in the ack-latency burst (default 100)")
    bench.set_defaults(run=_run_bench)
    return parser


def _version() -> str:
    """The installed package's version (``pip install -e .`` included); "unknown" when not installed."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("alex")
    except PackageNotFoundError:
        return "unknown (not installed: pip install -e .)"


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
