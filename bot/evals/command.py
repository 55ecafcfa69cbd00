"""``alex eval [--cases FILE|DIR] [--k N] [--json]``: run the eval cases against the configured model.

Only the parser is built at import time: the eval machinery (the loop, the model adapter) is imported when
the command runs, so other ``alex`` commands do not pay for it at start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.evals.cases import EvalCase
    from bot.evals.report import EvalReport, RunRecord

DEFAULT_CASES = Path(__file__).resolve().parents[2] / "tests" / "evals" / "cases"
NO_MODEL = ("alex eval needs an LLM: set OPENAI_API_KEY (api.openai.com), or OPENAI_BASE_URL for an "
            "OpenAI-compatible server (Azure, Ollama, vLLM); ALEX_MODEL picks the model.\n")


def add_eval_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "eval", help="run the eval cases against the configured LLM (tool choice, arguments, proposals)",
        description="Run each case through the real loop over the PagerDuty sandbox and score it BFCL-style. "
                    "Exit status: 0 ok, 1 a hard gate failed (an unasked proposal or an executed write), "
                    "2 no model or bad case files.")
    parser.add_argument("--cases", type=Path, default=DEFAULT_CASES,
                        help=f"a YAML case file or a directory of them (default: {DEFAULT_CASES})")
    parser.add_argument("--k", type=int, default=1, help="runs per case; pass^k needs all k to pass (default 1)")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    parser.add_argument("--only", action="append", metavar="ID|CATEGORY",
                        help="run only these cases or categories (repeatable)")
    parser.add_argument("--concurrency", type=int, default=4, help="runs in flight at once (default 4)")
    parser.set_defaults(run=run_eval_command)


def run_eval_command(args: argparse.Namespace) -> int:
    from bot.agent.llm import make_chat_model
    from bot.agent.loop import Limits
    from bot.config import Settings
    from bot.evals.cases import CaseFileError, load_cases, select
    from bot.evals.runner import EvalAborted, run_eval

    if args.k < 1 or args.concurrency < 1:
        sys.stderr.write("--k and --concurrency must be at least 1\n")
        return 2
    try:
        cases = select(load_cases(args.cases), args.only)
    except CaseFileError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    problems = case_problems(cases)
    if problems or not cases:
        sys.stderr.write("\n".join(problems or ["no cases selected"]) + "\n")
        return 2
    settings = Settings()
    model = make_chat_model(settings)
    if model is None:
        sys.stderr.write(NO_MODEL)
        return 2
    name = str(getattr(model, "model", type(model).__name__))

    def progress(case: EvalCase, run: RunRecord) -> None:
        if not args.json:
            mark = "pass" if run.score.passed else "FAIL " + ",".join(run.score.error_types)
            sys.stderr.write(f"  {case.id} #{run.iteration + 1}: {mark}\n")

    async def go() -> EvalReport:
        try:
            return await run_eval(cases, lambda case, i: model, k=args.k, limits=Limits.from_settings(settings),
                                  concurrency=args.concurrency, model_name=name, on_run=progress)
        finally:
            await model.aclose()

    try:
        report = asyncio.run(go())
    except EvalAborted as exc:
        sys.stderr.write(f"alex eval stopped: the model is unavailable ({exc})\n")
        return 2
    sys.stdout.write((json.dumps(report.as_json(), indent=2, default=str) if args.json else report.render()) + "\n")
    return 0 if report.gates_pass else 1


def case_problems(cases: list[EvalCase]) -> list[str]:
    from bot.evals.cases import check_case
    from bot.tools.registry import TOOLS_BY_NAME

    return [problem for case in cases for problem in check_case(case, TOOLS_BY_NAME)]
