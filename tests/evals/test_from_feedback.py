"""``alex eval --from-feedback``: rated answers become eval cases that load, and the ready ones are scored.

A thumbs-up makes a ready regression case (the calls it made are the expectation); a thumbs-down, or a
question asked against a real PagerDuty account, makes a draft (``feedback.todo``) that ``alex eval``
skips until a person completes it. The CLI reads the configured state store and writes YAML.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.evals.cases import MANAGER_EMAIL, EvalCase, load_cases, parse_cases
from bot.evals.from_feedback import (
    TODO_CUT,
    TODO_NEGATIVE,
    TODO_NO_ACCOUNT,
    TODO_ONLY_ERRORS,
    TODO_REAL_ACCOUNT,
    feedback_case,
    feedback_cases,
    render_cases,
)
from bot.evals.runner import run_case
from bot.sandbox import DEFAULT_NOW
from bot.store.feedback import FeedbackCall, TurnRecord, Vote
from bot.store.sqlite import SQLiteState
from bot.tools.registry import TOOLS_BY_NAME
from tests.fakes.scripted_llm import ScriptedModel, call, calls, say

CASES_DIR = Path(__file__).parent / "cases"
CREATED = datetime(2026, 3, 10, 14, 5, tzinfo=UTC).timestamp()
ON_CALL = {"target": "platform-engineering", "target_type": None, "window": "now"}


def rated(rating: str = "positive", *, calls_made: tuple[FeedbackCall, ...] | None = None,
          **changes: Any) -> TurnRecord:
    record = TurnRecord(
        "0a1b2c3d4e5f6a7b", "who covers platform-engineering right now?", "Emma Clarke is on call.",
        calls_made if calls_made is not None else (
            FeedbackCall("who_is_on_call", '{"target": "platform-engi', "error"),
            FeedbackCall("who_is_on_call", json.dumps(ON_CALL), "ok"),
            FeedbackCall("who_is_on_call", json.dumps(ON_CALL), "ok")),
        "gpt-test", "U0SAM", MANAGER_EMAIL, DEFAULT_NOW.isoformat(), "C0GENERAL", "1773151200.000100",
        "channel", thread=(("user", "hi"), ("assistant", "Hi Sam!")), created_at=CREATED,
        votes=(Vote(rating, "U0AISHA", CREATED + 60),))  # type: ignore[arg-type]
    return replace(record, **changes)


def loaded(cases: list[dict[str, Any]]) -> list[EvalCase]:
    """What ``alex eval --cases`` reads back from the written file."""
    return parse_cases(render_cases(cases, at=datetime(2026, 3, 11, tzinfo=UTC)), "feedback.yaml")


# -- what a rating becomes -------------------------------------------------------------------------------

def test_a_good_answer_becomes_a_ready_case_expecting_its_calls() -> None:
    [case] = loaded(feedback_cases([rated()], TOOLS_BY_NAME))
    assert case.id == "feedback-20260310-0a1b2c3d4e5f6a7b" and not case.draft
    assert (case.category, case.prompt, case.asker, case.now) == (
        "simple", "who covers platform-engineering right now?", MANAGER_EMAIL, DEFAULT_NOW)
    assert case.channel is not None and case.channel.kind == "channel"
    assert [(m.role, m.content) for m in case.thread] == [("user", "hi"), ("assistant", "Hi Sam!")]
    [expected] = case.expected_calls
    assert expected.names == ("who_is_on_call",)
    assert expected.arguments == {"target": ["platform-engineering"]}, "null, and 'now' here, are left out"
    assert case.expected_proposal is None and case.tags == ["feedback", "positive"]
    assert case.feedback is not None and case.feedback.rating == "positive" and case.feedback.model == "gpt-test"
    assert [c.status for c in case.feedback.calls] == ["error", "ok", "ok"]
    assert [(v.by, v.rating) for v in case.feedback.votes] == [("U0AISHA", "positive")]


async def test_the_ready_case_is_scored_against_what_was_liked() -> None:
    [case] = loaded(feedback_cases([rated()], TOOLS_BY_NAME))
    same = await run_case(case, ScriptedModel([calls(call("who_is_on_call", ON_CALL)), say("Emma Clarke.")]))
    assert same.score.passed, same.score.errors
    other = await run_case(case, ScriptedModel([calls(call("list_incidents", {})), say("No idea.")]))
    assert not other.score.passed and "wrong_func_name" in other.score.error_types
    wrong = await run_case(case, ScriptedModel([calls(call("who_is_on_call", {"target": "payments"})), say("x")]))
    assert "value_error" in wrong.score.error_types


def test_a_thumbs_down_is_a_draft_with_what_alex_did_and_no_expectation() -> None:
    [case] = loaded(feedback_cases([rated("negative")], TOOLS_BY_NAME))
    assert case.draft and case.feedback is not None
    assert case.feedback.todo == [TODO_NEGATIVE]
    assert case.expected_calls == [] and case.expected_proposal is None, "what was rejected is not the target"
    assert case.feedback.answer == "Emma Clarke is on call." and len(case.feedback.calls) == 3
    assert case.tags == ["feedback", "negative"]


def test_one_thumbs_down_among_thumbs_up_makes_it_a_reported_mis_step() -> None:
    votes = (Vote("positive", "U0SAM", CREATED), Vote("negative", "U0BEN", CREATED + 1))
    [case] = loaded(feedback_cases([rated(votes=votes)], TOOLS_BY_NAME))
    assert case.draft and case.feedback is not None and case.feedback.rating == "negative"


def test_a_completed_draft_is_a_case() -> None:
    [draft] = feedback_cases([rated("negative")], TOOLS_BY_NAME)
    draft["feedback"]["todo"] = []
    with pytest.raises(ValueError, match="needs expected_calls"):
        EvalCase.model_validate(draft)
    draft["expected_calls"] = [{"name": "who_is_on_call", "arguments": {"target": ["platform-engineering"]}}]
    assert not EvalCase.model_validate(draft).draft


def test_a_real_accounts_question_is_a_draft_asked_by_the_sandbox_manager() -> None:
    record = rated(asker_email="jo@real-company.example")
    [case] = loaded(feedback_cases([record], TOOLS_BY_NAME))
    assert case.draft and case.asker == MANAGER_EMAIL
    assert case.feedback is not None and case.feedback.todo == [
        TODO_REAL_ACCOUNT.format(email="jo@real-company.example")]
    [nobody] = loaded(feedback_cases([rated(asker_email=None)], TOOLS_BY_NAME))
    assert nobody.feedback is not None and nobody.feedback.todo == [TODO_NO_ACCOUNT]


def test_a_proposal_becomes_a_write_case_expecting_it() -> None:
    ack = FeedbackCall("acknowledge_incidents", '{"incidents": ["1245"]}', "proposal")
    [case] = loaded(feedback_cases([rated(calls_made=(ack,), place="war_room", incident="1245")], TOOLS_BY_NAME))
    assert case.category == "write" and not case.draft
    assert case.expected_proposal is not None and case.expected_proposal.names == ("acknowledge_incidents",)
    assert case.expected_calls[0].arguments == {"incidents": [["1245"]]}
    assert case.channel is not None and (case.channel.kind, case.channel.incident) == ("war_room", "1245")


def test_an_answer_without_tools_becomes_an_irrelevance_case() -> None:
    [case] = loaded(feedback_cases([rated(calls_made=(), place="dm")], TOOLS_BY_NAME))
    assert case.category == "irrelevance" and not case.draft and case.channel is None


def test_what_cannot_be_expected_as_stored_keeps_it_a_draft() -> None:
    cut = FeedbackCall("add_incident_note", '{"incident": "1245", "note": "rolled back the…', "proposal")
    [case] = loaded(feedback_cases([rated(calls_made=(cut,))], TOOLS_BY_NAME))
    assert case.feedback is not None and case.feedback.todo == [TODO_CUT.format(tool="add_incident_note")]
    failed = FeedbackCall("get_incident", '{"incident": "9999"}', "error")
    [only_errors] = loaded(feedback_cases([rated(calls_made=(failed,))], TOOLS_BY_NAME))
    assert only_errors.feedback is not None and only_errors.feedback.todo == [TODO_ONLY_ERRORS]
    unknown = FeedbackCall("no_such_tool", "{}", "ok")
    case_dict = feedback_case(rated(calls_made=(unknown,)), TOOLS_BY_NAME)
    assert any("no tool named 'no_such_tool'" in line for line in case_dict["feedback"]["todo"])


def test_unrated_records_are_not_exported() -> None:
    assert feedback_cases([rated(votes=())], TOOLS_BY_NAME) == []
    assert loaded([]) == []


def test_the_committed_cases_hold_no_draft() -> None:
    assert [c.id for c in load_cases(CASES_DIR) if c.draft] == []


# -- the command ---------------------------------------------------------------------------------------------

def store_rated(path: Path, *records: TurnRecord) -> None:
    async def go() -> None:
        state = SQLiteState(path)
        try:
            for record in records:
                await state.feedback.put(record)
                for vote in record.votes:
                    await state.feedback.vote(record.turn_id, vote)
        finally:
            await state.aclose()

    asyncio.run(go())


def test_the_command_writes_the_stored_ratings_as_a_case_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "alex-state.sqlite3"
    store_rated(state, rated(), rated("negative", turn_id="ffff000011112222"), rated(votes=(), turn_id="abcd" * 4))
    monkeypatch.setenv("ALEX_STATE_PATH", str(state))
    monkeypatch.delenv("ALEX_STATE_URL", raising=False)
    out = tmp_path / "cases" / "feedback.yaml"
    assert main(["eval", "--from-feedback", "--out", str(out)]) == 0
    assert "wrote 2 case(s)" in capsys.readouterr().err
    cases = {c.id.rsplit("-", 1)[1]: c for c in load_cases(out)}
    assert set(cases) == {"0a1b2c3d4e5f6a7b", "ffff000011112222"}
    assert not cases["0a1b2c3d4e5f6a7b"].draft and cases["ffff000011112222"].draft
    assert out.read_text(encoding="utf-8").startswith("# Eval cases from answers rated in Slack")
    assert main(["eval", "--from-feedback"]) == 0
    assert "-0a1b2c3d4e5f6a7b\n" in capsys.readouterr().out, "the same cases on standard output"


def test_the_command_refuses_an_in_process_store(monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ALEX_STATE_PATH", ":memory:")
    monkeypatch.delenv("ALEX_STATE_URL", raising=False)
    assert main(["eval", "--from-feedback"]) == 2
    assert "nothing to export" in capsys.readouterr().err


def test_eval_skips_drafts_and_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "drafts.yaml"
    path.write_text(render_cases(feedback_cases([rated("negative")], TOOLS_BY_NAME), at=datetime.now(UTC)),
                    encoding="utf-8")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-used")
    assert main(["eval", "--cases", str(path)]) == 2
    err = capsys.readouterr().err
    assert "skipping 1 draft case(s)" in err and "no cases selected" in err


def test_limit_and_null_meaning_values_are_not_expected() -> None:
    listed = FeedbackCall("list_incidents", json.dumps({"statuses": ["triggered"], "limit": 5, "mine": False,
                                                        "since": None}), "ok")
    [case] = loaded(feedback_cases([rated(calls_made=(listed,))], TOOLS_BY_NAME))
    assert case.expected_calls[0].arguments == {"statuses": [["triggered"]]}
