"""``alex eval --from-feedback``: the answers people rated in Slack, as eval cases (:mod:`bot.evals.cases`).

Each rated answer (:mod:`bot.store.feedback`) becomes one case with its question as the prompt, the thread's
earlier messages, where it was asked, who asked and PagerDuty's time then (the case's ``now``), and under
``feedback:`` what alex did (the calls, the answer, the model) and the votes.

* Rated good (every vote a thumbs-up): the calls it made are the expectation, the same tools with the same
  arguments (extra reads are fine; ``limit`` and null-equivalent values are left out), and a proposal by the
  same write tool when it proposed one. Run as is, it is a regression case: "keep answering this way".
* Rated wrong by anyone: a *draft*. A thumbs-down says the answer was wrong, not what right is, so the
  expectation is for a person to write (evals.md: write expectations before running any model); its
  ``feedback.todo`` says so, and ``alex eval`` skips it until the line is deleted.
* Asked against a real PagerDuty account (the asker is no user of the sandbox datasets): a draft too. The
  eval runs against the sandbox, so the prompt and the expectation must be rewritten for its data (and the
  question redacted, evals.md's growth rule); the asker becomes the sandbox's Manager meanwhile.

Nothing is re-run or re-computed: the cases hold what was stored when the answer was posted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

import yaml

from bot.evals.cases import MANAGER_EMAIL, EvalCase, check_case
from bot.evals.scorer import HARMLESS_ARGS, OMITTED_EQUIVALENTS, standardize
from bot.store.feedback import FeedbackCall, TurnRecord
from bot.tools.base import Tool

EXPECTED_STATUSES = frozenset({"ok", "no_data", "proposal"})
"""Calls of a good answer that become expectations (an error was a step the model recovered from)."""
TODO_NEGATIVE = ("Rated wrong: write what alex should have done (category, expected_calls, expected_proposal, "
                 "answer checks) and why, then delete this line.")
TODO_REAL_ACCOUNT = ("Asked against a real PagerDuty account ({email} is no user of the sandbox datasets): "
                     "rewrite the prompt and the expectation for the demo dataset (redact names), then delete "
                     "this line.")
TODO_NO_ACCOUNT = "Asked by someone without a PagerDuty account: pick the sandbox asker, then delete this line."
TODO_ONLY_ERRORS = ("Rated good, but every call it made failed: write which call is right, then delete this "
                    "line.")
TODO_CUT = "An argument of {tool} was too long to keep in full: write the expected value, then delete this line."
HEADER = """\
# Eval cases from answers rated in Slack (alex eval --from-feedback, {at}): {total} case(s), {drafts} draft(s).
# A draft lists under feedback.todo what a person must do first; alex eval skips it until that list is gone.
# These hold what people asked and what alex answered: review and redact before committing them.
"""

DatasetOf = Callable[[str], str | None]
"""The sandbox dataset (``demo``/``large``) that has a user with this e-mail, or None."""


@cache
def sandbox_dataset(email: str) -> str | None:
    """``demo`` or ``large`` when that sandbox dataset has a user ``email`` (the demo one first: it is small)."""
    for name in ("demo", "large"):
        if _world(name).user_by_email(email) is not None:
            return name
    return None


@cache
def _world(name: str) -> Any:
    from bot.sandbox import build_world

    return build_world("large" if name == "large" else "demo")


def feedback_cases(records: Iterable[TurnRecord], tools: Mapping[str, Tool[Any]], *,
                   dataset_of: DatasetOf = sandbox_dataset) -> list[dict[str, Any]]:
    """One case (as it is written to YAML) per rated record; each one validates as an :class:`EvalCase`."""
    cases: list[dict[str, Any]] = []
    for record in records:
        if record.rating is not None:
            cases.append(feedback_case(record, tools, dataset_of=dataset_of))
    return cases


def feedback_case(record: TurnRecord, tools: Mapping[str, Tool[Any]], *,
                  dataset_of: DatasetOf = sandbox_dataset) -> dict[str, Any]:
    """The case for one rated record (see the module docstring)."""
    rating = record.rating or "positive"
    todo: list[str] = []
    if rating == "negative":
        todo.append(TODO_NEGATIVE)
    dataset = dataset_of(record.asker_email) if record.asker_email else None
    if record.asker_email is None:
        todo.append(TODO_NO_ACCOUNT)
    elif dataset is None:
        todo.append(TODO_REAL_ACCOUNT.format(email=record.asker_email))
    expected_calls: list[dict[str, Any]] = []
    proposal: str | None = None
    if rating == "positive":
        expected_calls, proposal, problems = _expectations(record.calls, tools)
        todo += problems
    case: dict[str, Any] = {
        "id": f"feedback-{datetime.fromtimestamp(record.created_at, UTC):%Y%m%d}-{record.turn_id}",
        "category": _category(record.calls, expected_calls, proposal),
        "prompt": record.question or "(empty)",
    }
    thread = [{"role": role, "content": text} for role, text in record.thread if text.strip()]
    if thread:
        case["thread"] = thread
    if dataset == "large":
        case["dataset"] = "large"
    case["now"] = record.now
    case["asker"] = record.asker_email if dataset is not None and record.asker_email else MANAGER_EMAIL
    if record.place != "dm":
        war_room = record.place == "war_room" and bool(record.incident)
        case["channel"] = {"kind": "war_room", "incident": record.incident} if war_room else {"kind": "channel"}
    if expected_calls:
        case["expected_calls"] = expected_calls
    if proposal is not None:
        case["expected_proposal"] = {"tool": proposal}
    case["tags"] = ["feedback", rating]
    case["why"] = _why(record, rating)
    case["feedback"] = _source(record, rating, todo)
    if not todo:  # a ready case must also pass the registry's checks, else it is a draft saying why
        problems = check_case(EvalCase.model_validate(case), tools)
        if problems:
            case["feedback"]["todo"] = [f"{p}: fix the expectation, then delete this line." for p in problems]
    EvalCase.model_validate(case)  # what is written always loads
    return case


def render_cases(cases: Sequence[dict[str, Any]], *, at: datetime) -> str:
    """The YAML file: a header saying what it holds, then the list of cases."""
    drafts = sum(1 for c in cases if c["feedback"]["todo"])
    body = yaml.safe_dump(list(cases), sort_keys=False, allow_unicode=True, width=110) if cases else "[]\n"
    return HEADER.format(at=at.isoformat(timespec="seconds"), total=len(cases), drafts=drafts) + body


def _expectations(calls: Sequence[FeedbackCall], tools: Mapping[str, Tool[Any]]
                  ) -> tuple[list[dict[str, Any]], str | None, list[str]]:
    """Expected calls (distinct), the proposing write tool, and what keeps the case a draft."""
    expected: list[dict[str, Any]] = []
    seen: set[str] = set()
    problems: list[str] = []
    proposal: str | None = None
    for call in calls:
        if call.status not in EXPECTED_STATUSES:
            continue
        try:
            raw = json.loads(call.arguments or "{}")
        except ValueError:
            problems.append(TODO_CUT.format(tool=call.name))
            continue
        arguments = {arg: [value] for arg, value in (raw.items() if isinstance(raw, dict) else ())
                     if not _left_out(call.name, arg, value)}
        key = json.dumps([call.name, arguments], sort_keys=True, default=str)
        if key in seen:
            continue
        seen.add(key)
        expected.append({"name": call.name, "arguments": arguments} if arguments else {"name": call.name})
        if call.status == "proposal" and proposal is None and call.name in tools and tools[call.name].kind == "write":
            proposal = call.name
    if calls and not expected and not problems:
        problems.append(TODO_ONLY_ERRORS)
    return expected, proposal, problems


def _left_out(tool: str, arg: str, value: Any) -> bool:
    """Arguments not worth expecting: null, ``limit``, and values that mean null for that tool."""
    if value is None or arg in HARMLESS_ARGS:
        return True
    return any(type(value) is type(v) and (standardize(value) == standardize(v) if isinstance(v, str) else value == v)
               for v in OMITTED_EQUIVALENTS.get((tool, arg), ()))


def _category(calls: Sequence[FeedbackCall], expected: Sequence[dict[str, Any]], proposal: str | None) -> str:
    if proposal is not None or any(c.status == "proposal" for c in calls):
        return "write"
    if not calls:
        return "irrelevance"
    return "simple" if len(expected) <= 1 else "lookup_chain"


def _why(record: TurnRecord, rating: str) -> str:
    votes = f"{len(record.votes)} vote(s), model {record.model or 'unknown'}"
    if rating == "negative":
        return (f"Rated wrong in Slack ({votes}). What alex did is under feedback (calls, answer); the "
                "expectation is still to be written.")
    return (f"Rated good in Slack ({votes}): the calls it made, with their arguments, are the expectation "
            "(extra reads are fine).")


def _source(record: TurnRecord, rating: str, todo: list[str]) -> dict[str, Any]:
    calls = []
    for call in record.calls:
        try:
            arguments: Any = json.loads(call.arguments or "{}")
        except ValueError:
            arguments = call.arguments
        calls.append({"name": call.name, "arguments": arguments if isinstance(arguments, dict) else call.arguments,
                      "status": call.status})
    source: dict[str, Any] = {
        "turn": record.turn_id, "rating": rating,
        "votes": [{"rating": v.rating, "by": v.by, "at": datetime.fromtimestamp(v.at, UTC).isoformat()}
                  for v in record.votes],
        "model": record.model, "asked_by": record.asked_by, "calls": calls, "answer": record.answer,
        "todo": todo,
    }
    if record.calls_left_out:
        source["todo"] = [*todo, f"{record.calls_left_out} more call(s) were not kept (too many or too long): "
                                 "check the expectation, then delete this line."]
    return source
