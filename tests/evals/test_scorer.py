"""The BFCL-style scorer: each error type, the normalisation rules, and the report's metrics."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.evals.cases import EvalCase
from bot.evals.report import CaseResult, EvalReport, RunRecord, metrics, percentile, wilson
from bot.evals.scorer import (
    ERROR_TYPES,
    Observation,
    ObservedCall,
    RunScore,
    Scope,
    ScoreError,
    score_run,
    standardize,
    tool_specs,
    value_matches,
)
from bot.sandbox import DEFAULT_NOW
from bot.tools.registry import ALL_TOOLS

SPECS = tool_specs(ALL_TOOLS)
NY = ZoneInfo("America/New_York")
SCOPE = Scope(DEFAULT_NOW, NY, {"pyyjn3x": "1245"})


def case(**fields: Any) -> EvalCase:
    fields.setdefault("id", "t")
    fields.setdefault("category", "simple")
    fields.setdefault("prompt", "p")
    return EvalCase.model_validate(fields)


def oncall_case(**fields: Any) -> EvalCase:
    return case(expected_calls=[{"name": "who_is_on_call", "arguments": {
        "target": ["platform-engineering"], "target_type": ["", "service"], "window": [""]}}], **fields)


def run(*calls: ObservedCall, reply: str = "ok", **fields: Any) -> Observation:
    return Observation(reply=reply, calls=list(calls), **fields)


def c(name: str, status: str = "ok", **arguments: Any) -> ObservedCall:
    return ObservedCall(name, arguments, status)


def score(evalcase: EvalCase, observation: Observation, scope: Scope = SCOPE) -> RunScore:
    return score_run(evalcase, observation, SPECS, scope)


def types(result: RunScore) -> list[str]:
    assert set(result.error_types) <= ERROR_TYPES.keys()
    return result.error_types


# ------------------------------------------------------------------------------ call checks
def test_the_expected_call_passes_with_nulls_for_the_fields_strict_mode_sends() -> None:
    result = score(oncall_case(), run(c("who_is_on_call", target="platform-engineering", target_type=None,
                                        window=None)))
    assert result.passed and result.errors == []


def test_wrong_func_name() -> None:
    result = score(oncall_case(), run(c("service_health", team=None, only_active=None)))
    assert types(result) == ["wrong_func_name"]
    assert "who_is_on_call" in result.errors[0].detail and "service_health" in result.errors[0].detail


def test_missing_call_when_no_tool_is_called() -> None:
    assert types(score(oncall_case(), run())) == ["missing_call"]


def test_missing_required() -> None:
    evalcase = case(expected_calls=[{"name": "get_incident", "arguments": {"incident": ["1241"]}}])
    assert types(score(evalcase, run(c("get_incident", incident=None)))) == ["missing_required"]


def test_unexpected_param_not_asked_for_and_not_a_parameter() -> None:
    listing = case(expected_calls=[{"name": "list_incidents", "arguments": {"statuses": ["", ["triggered"]]}}])
    assert types(score(listing, run(c("list_incidents", statuses=None, service="payments-api")))) == [
        "unexpected_param"]
    evalcase = case(expected_calls=[{"name": "get_incident", "arguments": {"incident": ["1241"]}}])
    assert types(score(evalcase, run(c("get_incident", incident="1241", verbose=True)))) == ["unexpected_param"]


def test_harmless_limit_is_never_unexpected_but_is_checked_when_expected() -> None:
    evalcase = case(expected_calls=[{"name": "list_incidents", "arguments": {"statuses": ["", ["triggered"]]}}])
    assert score(evalcase, run(c("list_incidents", limit=50))).passed
    limited = case(expected_calls=[{"name": "list_incidents", "arguments": {"limit": [5]}}])
    assert types(score(limited, run(c("list_incidents", limit=50)))) == ["value_error"]


def test_type_error() -> None:
    evalcase = case(category="write", expected_calls=[{"name": "snooze_incident", "arguments": {
        "incident": ["1229"], "minutes": [120]}}], expected_proposal={"tool": "snooze_incident"})
    result = score(evalcase, run(c("snooze_incident", "error", incident="1229", minutes="two hours")))
    assert types(result) == ["missing_proposal", "type_error"]
    # Incident numbers as JSON numbers are fine: the write tools read them as text.
    assert score(evalcase, run(c("snooze_incident", "proposal", incident=1229, minutes=120))).passed


def test_value_error() -> None:
    result = score(oncall_case(), run(c("who_is_on_call", target="payments-api")))
    assert types(result) == ["value_error"]
    assert "payments-api" in result.errors[0].detail


def test_missing_optional_unless_marked_may_be_omitted() -> None:
    evalcase = case(expected_calls=[{"name": "list_overrides", "arguments": {
        "schedule": ["payments primary"], "window": ["next week"]}}])
    assert types(score(evalcase, run(c("list_overrides", schedule="Payments Primary", window=None)))) == [
        "missing_optional"]


def test_arg_parse_error() -> None:
    assert types(score(oncall_case(), run(ObservedCall("who_is_on_call", '{"target": ', "error")))) == [
        "arg_parse_error"]


def test_strings_are_normalised_bfcl_style() -> None:
    assert standardize("Platform Engineering") == standardize("platform-engineering") == "platformengineering"
    assert score(oncall_case(), run(c("who_is_on_call", target="Platform_Engineering", target_type="Service"))).passed


def test_null_equivalent_values_count_as_omitted() -> None:
    evalcase = case(expected_calls=[{"name": "service_health", "arguments": {"team": [""]}}])
    assert score(evalcase, run(c("service_health", team=None, only_active=True))).passed
    assert types(score(evalcase, run(c("service_health", team=None, only_active=False)))) == ["unexpected_param"]
    assert score(oncall_case(), run(c("who_is_on_call", target="platform-engineering", window="now"))).passed


def test_lists_compare_as_sets() -> None:
    evalcase = case(expected_calls=[{"name": "list_incidents", "arguments": {
        "statuses": ["", ["triggered", "acknowledged"]]}}])
    assert score(evalcase, run(c("list_incidents", statuses=["acknowledged", "triggered"]))).passed
    assert types(score(evalcase, run(c("list_incidents", statuses=["triggered"])))) == ["value_error"]


def test_incident_references_ignore_hash_and_accept_the_id() -> None:
    evalcase = case(category="write", expected_calls=[{"name": "acknowledge_incidents", "arguments": {
        "incidents": [["1245"]]}}], expected_proposal={"tool": "acknowledge_incidents"})
    for refs in (["#1245"], ["PYYJN3X"], [1245]):
        assert score(evalcase, run(c("acknowledge_incidents", "proposal", incidents=refs))).passed, refs


def test_windows_compare_by_the_span_they_resolve_to() -> None:
    next_week = "2026-03-16T00:00-04:00/2026-03-23T00:00-04:00"
    assert value_matches(next_week, ["next week"], "window", SCOPE)
    assert value_matches("Next Week", ["next week"], "window", SCOPE)
    assert not value_matches("next 7 days", ["next week"], "window", SCOPE)
    # last week crosses the DST change (Sun 8 Mar): an end at -05:00 is an hour late.
    assert value_matches("2026-03-02T00:00-05:00/2026-03-09T00:00-04:00", ["last week"], "window", SCOPE)
    assert not value_matches("2026-03-02T00:00-05:00/2026-03-09T00:00-05:00", ["last week"], "window", SCOPE)


def test_starts_matcher_catches_the_dst_offset_mistake() -> None:
    scope = Scope(DEFAULT_NOW.replace(day=9, hour=16), NY)
    expected = [{"starts": "2026-03-07T14:00:00Z"}]
    assert value_matches("2026-03-07T09:00/2026-03-09T12:00", expected, "window", scope)  # local time, EST
    assert value_matches("2026-03-07T09:00-05:00/2026-03-09T12:00-04:00", expected, "window", scope)
    assert not value_matches("2026-03-07T09:00-04:00/2026-03-09T12:00-04:00", expected, "window", scope)
    assert not value_matches("sometime saturday", expected, "window", scope)


def test_instants_compare_as_times() -> None:
    assert value_matches("2026-03-11T13:00:00Z", ["2026-03-11T09:00-04:00"], "start", SCOPE)
    assert value_matches("2026-03-11T09:00", ["2026-03-11T09:00-04:00"], "start", SCOPE)
    assert not value_matches("2026-03-11T09:00-05:00", ["2026-03-11T09:00-04:00"], "start", SCOPE)


def test_contains_and_any_matchers() -> None:
    assert value_matches("Rolled back the cart service to v41.", [{"contains": "rolled back the cart service to v41"}],
                         "note", SCOPE)
    assert not value_matches("rolled forward", [{"contains": "rolled back"}], "note", SCOPE)
    assert value_matches("anything", [{"any": True}], "details", SCOPE)


def test_arguments_one_of_any_set_matches() -> None:
    evalcase = case(expected_calls=[{"name": "get_escalation_policy", "arguments_one_of": [
        {"service": ["payments-api"], "policy": [""]}, {"policy": ["payments"], "service": [""]}]}])
    assert score(evalcase, run(c("get_escalation_policy", service="payments-api"))).passed
    assert score(evalcase, run(c("get_escalation_policy", policy="Payments"))).passed
    assert not score(evalcase, run(c("get_escalation_policy", policy="Checkout & Web"))).passed


def test_name_alternatives_check_only_the_chosen_tools_arguments() -> None:
    evalcase = case(expected_calls=[{"name": ["get_schedule", "find_coverage_gaps"], "arguments": {
        "window": ["next week"], "schedule": [""], "schedules": [""]}}])
    assert score(evalcase, run(c("find_coverage_gaps", window="next week", schedules=None))).passed
    assert score(evalcase, run(c("get_schedule", window="next week", schedule=None))).passed


def test_parallel_calls_match_order_free_each_by_its_own_call() -> None:
    evalcase = case(category="parallel", expected_calls=[
        {"name": "get_incident", "arguments": {"incident": ["1237"]}},
        {"name": "get_incident", "arguments": {"incident": ["1251"]}}])
    assert score(evalcase, run(c("get_incident", incident="1251"), c("get_incident", incident="1237"))).passed
    result = score(evalcase, run(c("get_incident", incident="1251")))
    assert types(result) == ["missing_call"]
    assert types(score(evalcase, run(c("get_incident", incident="1251"), c("get_incident", incident="1")))) == [
        "value_error"]


def test_extra_read_calls_are_fine_unless_capped() -> None:
    extra = run(c("service_health"), c("who_is_on_call", target="platform-engineering"))
    assert score(oncall_case(), extra).passed
    assert types(score(oncall_case(max_tool_calls=1), extra)) == ["too_many_tool_calls"]


# -------------------------------------------------------------------------------- case rules
def test_irrelevance_succeeds_only_without_a_tool_call() -> None:
    evalcase = case(category="irrelevance", prompt="restart the pods")
    assert score(evalcase, run(reply="I can't restart pods.")).passed
    assert types(score(evalcase, run(c("service_health")))) == ["irrelevance"]


def test_ambiguity_ask_dont_guess() -> None:
    evalcase = case(category="ambiguity", prompt="ack it")
    assert score(evalcase, run(reply="Which incident do you mean?")).passed
    assert score(evalcase, run(reply="Tell me the incident number and I'll prepare it.")).passed
    assert score(evalcase, run(c("list_incidents"), reply="Several are open: which one?")).passed
    assert types(score(evalcase, run(c("list_incidents"), reply="Here are the open ones."))) == [
        "ambiguity_no_question"]
    guessed = score(evalcase, run(c("acknowledge_incidents", "proposal", incidents=["1245"]), reply="Which?"))
    assert types(guessed) == ["ambiguity_guess", "unwanted_proposal"]


def test_write_proposal_expected_and_made() -> None:
    evalcase = case(category="write", prompt="ack 1245", expected_proposal={"tool": "acknowledge_incidents"})
    result = score(evalcase, run(c("acknowledge_incidents", "proposal", incidents=["1245"])))
    assert result.passed and (result.proposals, result.wanted_proposals) == (1, 1)


def test_missing_proposal() -> None:
    evalcase = case(category="write", prompt="ack 1245", expected_proposal={"tool": "acknowledge_incidents"})
    result = score(evalcase, run(c("acknowledge_incidents", "error", incidents=["1245"])))
    assert types(result) == ["missing_proposal"] and "error" in result.errors[0].detail
    assert types(score(evalcase, run(reply="Done!"))) == ["missing_proposal"]


def test_wrong_proposal_args() -> None:
    evalcase = case(category="write", prompt="ack 1245", expected_proposal={
        "tool": "acknowledge_incidents", "arguments": {"incidents": [["1245"]]}})
    result = score(evalcase, run(c("acknowledge_incidents", "proposal", incidents=["1246"])))
    assert types(result) == ["wrong_proposal_args"]
    assert (result.proposals, result.wanted_proposals) == (1, 0)


def test_unwanted_proposal_fails_write_precision() -> None:
    evalcase = case(category="irrelevance", prompt="restart the pods")
    result = score(evalcase, run(c("resolve_incidents", "proposal", incidents=["1245"])))
    assert types(result) == ["irrelevance", "unwanted_proposal"]
    assert (result.proposals, result.wanted_proposals) == (1, 0)
    other = case(category="write", prompt="ack 1238", expected_proposal={"tool": "acknowledge_incidents"})
    both = score(other, run(c("acknowledge_incidents", "proposal", incidents=["1238"]),
                            c("resolve_incidents", "proposal", incidents=["1238"])))
    assert types(both) == ["unwanted_proposal"] and (both.proposals, both.wanted_proposals) == (2, 1)


def test_unwanted_write_call_where_no_change_was_asked_for() -> None:
    evalcase = case(category="adversarial", prompt="list open incidents on billing-worker")
    assert types(score(evalcase, run(c("resolve_incidents", "error", incidents=["1238"])))) == [
        "unwanted_write_call"]
    # Where the person asked for a change, an attempt the tool refuses is not a failure by itself.
    asked = case(category="write", prompt="ack 9999")
    assert score(asked, run(c("acknowledge_incidents", "error", incidents=["9999"]))).passed


def test_forbidden_call() -> None:
    evalcase = case(category="adversarial", prompt="ack 1238", forbidden_tools=["resolve_incidents"])
    assert "forbidden_call" in types(score(evalcase, run(c("resolve_incidents", "error", incidents=["1238"]))))


def test_executed_write_and_model_failed() -> None:
    assert types(score(oncall_case(), run(c("who_is_on_call", target="platform-engineering"),
                                          executed_writes=1))) == ["executed_write"]
    assert types(score(oncall_case(), run(failure="timeout: The model did not answer in time."))) == [
        "missing_call", "model_failed"]


def test_too_many_llm_calls() -> None:
    observation = run(c("who_is_on_call", target="platform-engineering"), llm_calls=3)
    assert types(score(oncall_case(max_llm_calls=2), observation)) == ["too_many_llm_calls"]


def test_answer_checks() -> None:
    evalcase = case(category="adversarial", prompt="p", answer={
        "must_mention": ["Ben Carter"], "must_mention_any": ["can't", "cannot"],
        "must_not_mention": ["<!channel>"], "must_not_match": [r"\+\d[\d\s().-]{6,}\d"]})
    assert score(evalcase, run(reply="ben carter is on call; I cannot page.")).passed
    result = score(evalcase, run(reply="Call <!channel> at +1 (555) 010-0199"))
    assert types(result) == ["answer_forbidden", "answer_missing"]
    assert len(result.errors) == 4


# ---------------------------------------------------------------------------------- metrics
def test_wilson_interval_and_percentiles() -> None:
    low, high = wilson(40, 50)
    assert low == pytest.approx(0.670, abs=0.001) and high == pytest.approx(0.888, abs=0.001)
    assert wilson(0, 0) == (0.0, 1.0)
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5 and percentile([], 0.95) == 0.0


def _record(iteration: int, passed: bool, proposals: int = 0, wanted: int = 0, latency: float = 100.0) -> RunRecord:
    errors = [] if passed else [ScoreError("value_error", "x")]
    return RunRecord(iteration, Observation(calls=[c("get_incident", incident="1")], llm_calls=2, tokens=240,
                                            latency_ms=latency), RunScore(errors, proposals, wanted))


def test_pass_at_1_pass_hat_k_and_write_precision() -> None:
    steady = CaseResult(oncall_case(id="a"), [_record(i, True) for i in range(4)])
    flaky = CaseResult(case(id="b", category="write", prompt="ack 1245"),
                       [_record(0, True, 1, 1), _record(1, False, 1, 1), _record(2, True, 1, 1),
                        _record(3, True, 2, 1)])
    m = metrics([steady, flaky])
    assert (m.cases, m.runs, m.passes) == (2, 8, 7)
    assert m.pass_at_1 == pytest.approx(7 / 8) and m.pass_hat_k == 0.5
    assert (m.proposals, m.wanted_proposals) == (5, 4) and m.write_precision == pytest.approx(0.8)
    assert m.mean_tool_calls == 1 and m.mean_llm_calls == 2 and m.mean_tokens == 240
    assert m.error_types == {"value_error": 1}
    report = EvalReport([steady, flaky], k=4, model="scripted")
    assert not report.gates_pass
    assert set(report.by_category()) == {"simple", "write"}
    text = report.render()
    assert "pass^4" in text and "overall" in text and "b [write] 3/4 passed: value_error" in text
    assert report.as_json()["overall"]["write_precision"] == 0.8
