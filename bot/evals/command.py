"""``alex eval [--cases FILE|DIR] [--k N] [--json]``: run the eval cases against the configured model.

``alex eval --from-feedback [--out FILE]`` instead writes the answers people rated in Slack (kept in the
state store, :mod:`bot.store.feedback`) as cases (:mod:`bot.evals.from_feedback`); run them with
``alex eval --cases FILE``. Draft cases (``feedback.todo``: an expectation still to write) are skipped.

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
    parser.add_argument("--from-feedback", action="store_true",
                        help="run nothing: write the answers rated in Slack (the state store at ALEX_STATE_PATH "
                             "or ALEX_STATE_URL) as eval cases; thumbs-down ones are drafts to complete")
    parser.add_argument("--out", type=Path, metavar="FILE",
                        help="with --from-feedback: the YAML file to write (default: standard output)")
    parser.set_defaults(run=run_eval_command)


def run_eval_command(args: argparse.Namespace) -> int:
    from bot.agent.llm import make_chat_model
    from bot.agent.loop import Limits
    from bot.config import Settings
    from bot.evals.cases import CaseFileError, load_cases, select
    from bot.evals.runner import EvalAborted, run_eval

    if getattr(args, "from_feedback", False):
        return export_feedback(args.out)
    if getattr(args, "out", None) is not None:
        sys.stderr.write("--out goes with --from-feedback\n")
        return 2
    if args.k < 1 or args.concurrency < 1:
        sys.stderr.write("--k and --concurrency must be at least 1\n")
        return 2
    try:
        cases = select(load_cases(args.cases), args.only)
    except CaseFileError as exc:
        sys.stderr.write(f"{exc}\n")
        return 2
    drafts = [c.id for c in cases if c.draft]
    if drafts:
        sys.stderr.write(f"skipping {len(drafts)} draft case(s) from feedback (feedback.todo says what is missing): "
                         f"{', '.join(drafts[:10])}{' …' if len(drafts) > 10 else ''}\n")
        cases = [c for c in cases if not c.draft]
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


def export_feedback(out: Path | None) -> int:
    """``--from-feedback``: the rated answers in the configured state store, as a YAML file of cases."""
    from datetime import UTC, datetime

    from bot.config import Settings
    from bot.evals.from_feedback import feedback_cases, render_cases
    from bot.store import StateUnavailable, open_state
    from bot.tools.registry import TOOLS_BY_NAME

    settings = Settings()
    if settings.state_url is None and settings.state_path == ":memory:":
        sys.stderr.write("ALEX_STATE_PATH=:memory: keeps feedback inside the serving process: there is nothing "
                         "to export. Point ALEX_STATE_PATH (or ALEX_STATE_URL) at the store alex serve uses.\n")
        return 2

    async def read() -> list[Any]:
        state = open_state(settings)
        try:
            return await state.feedback.rated()
        finally:
            await state.aclose()

    try:
        records = asyncio.run(read())
    except StateUnavailable as exc:
        sys.stderr.write(f"alex eval --from-feedback: the state store is unavailable ({exc})\n")
        return 2
    cases = feedback_cases(records, TOOLS_BY_NAME)
    text = render_cases(cases, at=datetime.now(UTC))
    if out is None:
        sys.stdout.write(text)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    drafts = sum(1 for c in cases if c["feedback"]["todo"])
    where = f" to {out}" if out is not None else ""
    sys.stderr.write(f"wrote {len(cases)} case(s){where}: {len(cases) - drafts} ready, {drafts} draft(s)"
                     + ("; no answer has been rated yet" if not cases else "") + "\n")
    return 0


def case_problems(cases: list[EvalCase]) -> list[str]:
    from bot.evals.cases import check_case
    from bot.tools.registry import TOOLS_BY_NAME

    return [problem for case in cases for problem in check_case(case, TOOLS_BY_NAME)]
