"""The eval runner end to end: real loop, real tools, the demo sandbox, a scripted model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.agent.llm import ModelUnavailable
from bot.cli import main
from bot.evals.cases import EvalCase, ExpectedCall, load_cases, select
from bot.evals.runner import EvalAborted, run_case, run_eval
from bot.tools.registry import TOOLS_BY_NAME
from tests.fakes.scripted_llm import ScriptedModel, Step, call, calls, say

CASES_DIR = Path(__file__).parent / "cases"
CASES = {case.id: case for case in load_cases(CASES_DIR)}


def reference_arguments(case: EvalCase, expected: ExpectedCall) -> dict[str, Any]:
    """The plainest call that meets ``expected``: every field null unless a value is required."""
    fields = TOOLS_BY_NAME[expected.names[0]].args.model_fields
    arguments: dict[str, Any] = dict.fromkeys(fields)
    for arg, values in expected.argument_sets[0].items():
        if arg not in fields or any(v == "" for v in values if not isinstance(v, dict)):
            continue
        value = values[0]
        if isinstance(value, dict):
            if "contains" in value:
                value = value["contains"]
            elif "starts" in value:
                value = f"{value['starts']}/{case.now.isoformat()}"
            else:
                continue
        arguments[arg] = value
    return arguments


def reference_script(case: EvalCase) -> list[Step]:
    """A model that makes the expected calls in one step, then answers what the case checks for."""
    checks = case.answer
    reply = "Answer: " + ", ".join([*checks.must_mention, *checks.must_mention_any[:1]])
    reply += "?" if case.category == "ambiguity" else "."
    wanted = [call(e.names[0], reference_arguments(case, e)) for e in case.expected_calls]
    return [calls(*wanted), say(reply)] if wanted else [say(reply)]


async def test_every_case_passes_with_its_reference_calls_and_the_tool_data_backs_its_facts() -> None:
    models: dict[str, ScriptedModel] = {}

    def model_for(case: EvalCase, iteration: int) -> ScriptedModel:
        models[case.id] = ScriptedModel(reference_script(case))
        return models[case.id]

    report = await run_eval(list(CASES.values()), model_for, concurrency=8)
    failing = {r.case.id: [e.detail for e in r.runs[0].score.errors] for r in report.results if not r.passed_all}
    assert failing == {}
    overall = report.overall
    assert overall.pass_at_1 == 1.0 and overall.pass_hat_k == 1.0 and overall.executed_writes == 0
    assert report.gates_pass and overall.proposals == overall.wanted_proposals > 10
    for result in report.results:
        model = models[result.case.id]
        model.assert_complete()
        # Every reference call works against the sandbox: the names resolve, the windows parse.
        assert [c.name for c in result.runs[0].observation.calls if c.status == "error"] == [], result.case.id
        if result.case.expected_calls:
            # The facts the reply must mention are in what the tools returned.
            data = json.dumps(model.calls[-1].tool_results(), ensure_ascii=False).lower()
            for fact in result.case.answer.must_mention:
                assert fact.lower() in data, (result.case.id, fact)


@pytest.mark.parametrize(("case_id", "steps"), [
    ("seed-incidents-patterns", [call("list_incidents", {"statuses": ["triggered", "acknowledged"]})]),
    ("seed-oncall-platform", [call("who_is_on_call", {"target": "platform-engineering"})]),
    ("seed-services-status", [call("service_health", {})]),
    ("seed-next-week-schedule-gaps", [call("get_schedule", {"window": "next week"}),
                                      call("find_coverage_gaps", {"window": "next week"})]),
])
async def test_seed_prompts_pass_in_two_llm_calls_with_the_natural_call(case_id: str, steps: list[Any]) -> None:
    case = CASES[case_id]
    reply = "Answer: " + ", ".join(case.answer.must_mention)
    model = ScriptedModel([calls(*steps), say(reply)])
    record = await run_case(case, model)
    model.assert_complete()
    assert record.score.errors == [] and record.observation.llm_calls == 2
    assert record.observation.tokens == 240 and record.observation.pd_requests > 0


async def test_calling_the_wrong_tool_fails_with_wrong_func_name() -> None:
    case = CASES["seed-oncall-platform"]
    record = await run_case(case, ScriptedModel([calls(call("service_health", {})), say("Ben Carter.")]))
    assert record.score.error_types == ["wrong_func_name"]
    assert "who_is_on_call" in record.score.errors[0].detail


async def test_a_write_proposal_in_an_irrelevance_case_fails_write_precision() -> None:
    case = CASES["irrelevant-restart-pods"]
    model = ScriptedModel([calls(call("acknowledge_incidents", {"incidents": ["1245"]})), say("I can't restart.")])
    report = await run_eval([case], lambda c, i: model)
    run = report.results[0].runs[0]
    assert run.score.error_types == ["irrelevance", "unwanted_proposal"]
    assert run.proposals and run.proposals[0]["action"] == "acknowledge_incidents"
    assert run.observation.executed_writes == 0  # proposed, never executed
    overall = report.overall
    assert (overall.proposals, overall.wanted_proposals, overall.write_precision) == (1, 0, 0.0)
    assert not report.gates_pass


async def test_pass_hat_k_needs_every_run_to_pass() -> None:
    cases = [CASES["seed-oncall-platform"], CASES["irrelevant-thanks"]]

    def model_for(case: EvalCase, iteration: int) -> ScriptedModel:
        if case.category == "irrelevance":
            return ScriptedModel([say("You're welcome!")])
        wrong = iteration == 2  # the third run picks the wrong tool
        tool = call("service_health", {}) if wrong else call("who_is_on_call", {"target": "platform-engineering"})
        return ScriptedModel([calls(tool), say("Ben Carter is on call.")])

    report = await run_eval(cases, model_for, k=3, concurrency=3)
    oncall, thanks = report.results
    assert [r.iteration for r in oncall.runs] == [0, 1, 2]
    assert [r.score.passed for r in oncall.runs] == [True, True, False] and thanks.passes == 3
    overall = report.overall
    assert overall.runs == 6 and overall.pass_at_1 == pytest.approx(5 / 6) and overall.pass_hat_k == 0.5
    assert report.by_category()["irrelevance"].pass_hat_k == 1.0
    assert overall.error_types == {"wrong_func_name": 1}
    assert report.gates_pass and overall.write_precision is None


async def test_model_failures_are_scored_and_an_unavailable_model_stops_the_run() -> None:
    case = CASES["seed-oncall-platform"]
    record = await run_case(case, ScriptedModel([TimeoutError()]))
    assert record.score.error_types == ["missing_call", "model_failed"]
    assert record.observation.failure is not None and record.observation.failure.startswith("timeout")
    with pytest.raises(EvalAborted, match="no route"):
        await run_eval([case, CASES["irrelevant-thanks"]], lambda c, i: ScriptedModel([ModelUnavailable("no route")]))


async def test_thread_history_and_war_room_channel_reach_the_model() -> None:
    thanks = ScriptedModel([say("You're welcome!")])
    await run_case(CASES["irrelevant-thanks"], thanks)
    sent = thanks.calls[0].messages
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"] and sent[-1]["content"] == "thanks!"
    war_room = ScriptedModel([calls(call("acknowledge_incidents", {"incidents": ["1245"]})), say("Prepared.")])
    record = await run_case(CASES["write-war-room-ack-it"], war_room)
    assert "#1245" in war_room.calls[0].messages[0]["content"] and record.score.passed


async def test_the_asker_is_the_cases_person_in_their_zone() -> None:
    case = CASES["args-non-us-tomorrow"]
    model = ScriptedModel([calls(call("who_is_on_call", {"target": "payments-api", "window": "tomorrow"})),
                           say("Mei Chen, then Marcus Johnson.")])
    record = await run_case(case, model)
    assert "Priya Raman" in model.calls[0].messages[0]["content"] and "Asia/Kolkata" in model.calls[0].messages[0][
        "content"]
    assert record.score.passed
    # The same window spelled as New York's "tomorrow" is the wrong span for Priya.
    ny = ScriptedModel([calls(call("who_is_on_call", {"target": "payments-api",
                                                      "window": "2026-03-11T00:00-04:00/2026-03-12T00:00-04:00"})),
                        say("Mei Chen, then Marcus Johnson.")])
    assert (await run_case(case, ny)).score.error_types == ["value_error"]


# ------------------------------------------------------------------------------------------ cli
@pytest.fixture
def no_llm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the checkout
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("no_llm")
def test_cli_without_a_model_exits_non_zero_naming_the_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "--cases", str(CASES_DIR / "simple.yaml")]) == 2
    err = capsys.readouterr().err
    assert "OPENAI_API_KEY" in err and "OPENAI_BASE_URL" in err


@pytest.mark.usefixtures("no_llm")
def test_cli_reports_bad_case_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("- id: x\n  category: simple\n  prompt: hi\n  expected_calls:\n    - name: page_someone\n")
    assert main(["eval", "--cases", str(bad)]) == 2
    assert "no tool named 'page_someone'" in capsys.readouterr().err


class PoliteModel:
    """Answers every message without calling a tool (a model that never helps, for the CLI's output)."""

    model = "polite-test-model"

    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> Any:
        return say("I can't do that here, sorry. Which incident?")

    async def aclose(self) -> None:
        return None


@pytest.mark.usefixtures("no_llm")
def test_cli_prints_a_table_per_category_or_the_json_report(monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("bot.agent.llm.make_chat_model", lambda settings: PoliteModel())
    argv = ["eval", "--cases", str(CASES_DIR), "--only", "irrelevance", "--only", "seed-oncall-platform"]
    assert main([*argv, "--k", "2"]) == 0
    out = capsys.readouterr().out
    assert "model polite-test-model, k=2" in out and "pass^2" in out
    rows = {line.split()[0]: line for line in out.splitlines() if line.split()}
    assert "100%" in rows["irrelevance"] and "overall" in rows
    assert "seed-oncall-platform [simple] 0/2 passed: answer_missing, missing_call" in out

    assert main([*argv, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["k"] == 1 and report["gates_pass"] is True
    assert set(report["categories"]) == {"simple", "irrelevance"}
    assert report["overall"]["cases"] == len(select(list(CASES.values()), ["irrelevance"])) + 1
    seed = next(c for c in report["cases"] if c["id"] == "seed-oncall-platform")
    assert seed["runs"][0]["errors"][0]["error_type"] == "missing_call"
    assert {"tool_calls", "proposals", "reply", "llm_calls", "tokens", "latency_ms"} <= seed["runs"][0].keys()
