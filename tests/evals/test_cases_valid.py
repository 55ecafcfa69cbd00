"""The eval cases: every YAML case follows the schema, names real tools and arguments, and covers the set."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from functools import cache
from pathlib import Path

import pytest

from bot.agent.prompt import suggested_prompts
from bot.evals.cases import (
    CATEGORIES,
    CaseFileError,
    EvalCase,
    check_case,
    incident_refs,
    load_cases,
    parse_cases,
    select,
)
from bot.evals.command import DEFAULT_CASES
from bot.sandbox import World, build_world
from bot.tools.registry import TOOLS_BY_NAME

CASES_DIR = Path(__file__).parent / "cases"
CASES = load_cases(CASES_DIR)
SEEDS = {
    "list all triggered and acknowledged incidents and identify patterns": {"list_incidents"},
    "who is currently on-call for the platform-engineering service?": {"who_is_on_call"},
    "list all services with active incidents and their current status": {"service_health"},
    "show next week's on-call schedule and identify any coverage gaps": {"get_schedule", "find_coverage_gaps"},
}


@cache
def world(dataset: str, now: datetime) -> World:
    return build_world("demo" if dataset == "demo" else "large", now=now)


def test_the_default_cases_dir_is_this_one() -> None:
    assert DEFAULT_CASES.resolve() == CASES_DIR.resolve()


def test_enough_dev_cases_in_every_category() -> None:
    dev = [c for c in CASES if c.split == "dev"]
    assert len(dev) >= 40
    counts = Counter(c.category for c in dev)
    assert set(counts) == set(CATEGORIES)
    assert min(counts.values()) >= 4, counts


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_case_names_real_tools_arguments_and_values(case: EvalCase) -> None:
    assert check_case(case, TOOLS_BY_NAME) == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_case_asker_and_incidents_exist_in_its_dataset(case: EvalCase) -> None:
    account = world(case.dataset, case.now)
    assert account.user_by_email(case.asker) is not None, case.asker
    numbers = {str(i.number) for i in account.incidents.values()}
    assert incident_refs(case) <= numbers


def test_every_tool_is_exercised() -> None:
    used = {name for case in CASES for call in case.expected_calls for name in call.names}
    used |= {name for case in CASES if case.expected_proposal for name in case.expected_proposal.names}
    assert used == set(TOOLS_BY_NAME)


def test_the_seed_prompts_are_cases_with_their_natural_tools() -> None:
    assert set(SEEDS) == set(suggested_prompts()[:4])
    by_prompt = {case.prompt: case for case in CASES}
    for prompt, tools in SEEDS.items():
        case = by_prompt[prompt]
        assert {name for call in case.expected_calls for name in call.names} == tools
        assert case.expected_proposal is None


def test_the_required_situations_are_covered() -> None:
    by_prompt = {case.prompt: case for case in CASES}
    assert by_prompt["restart the pods"].category == "irrelevance"
    ack_it = {case.channel.kind if case.channel else "dm": case for case in CASES if case.prompt == "ack it"}
    assert ack_it["dm"].category == "ambiguity" and not ack_it["dm"].thread
    assert ack_it["war_room"].category == "write"  # the same words in #1245's war room are clear
    ack_1004 = by_prompt["ack 1004"]
    assert ack_1004.category == "write" and ack_1004.expected_proposal is not None
    assert ack_1004.expected_proposal.names == ("acknowledge_incidents",)
    injected = by_prompt["list the open incidents on billing-worker"]
    assert injected.category == "adversarial" and injected.expected_proposal is None
    assert sum("dst" in case.tags for case in CASES) >= 3
    assert any(case.asker != CASES[0].asker and "non-us" in case.tags for case in CASES)


def test_irrelevance_and_ambiguity_cases_expect_no_proposal() -> None:
    for case in CASES:
        if case.category in ("irrelevance", "ambiguity"):
            assert case.expected_proposal is None and not case.expected_calls, case.id


def test_select_by_id_or_category() -> None:
    assert [c.id for c in select(CASES, ["seed-oncall-platform"])] == ["seed-oncall-platform"]
    assert {c.category for c in select(CASES, ["irrelevance"])} == {"irrelevance"}
    assert select(CASES, None) == CASES


# --------------------------------------------------------------------------- schema errors
BASE = "- id: x\n  category: simple\n  prompt: hi\n"
CALL = "  expected_calls:\n    - name: get_incident\n      arguments: {incident: ['1241']}\n"


@pytest.mark.parametrize(("text", "message"), [
    ("id: x\n", "expected a list of cases"),
    ("- [unclosed\n", "not valid YAML"),
    (BASE + CALL + "  colour: red\n", "colour"),
    ("- id: x\n  category: trivia\n  prompt: hi\n", "category"),
    (BASE, "needs expected_calls"),
    ("- id: x\n  category: irrelevance\n  prompt: hi\n" + CALL, "expects no tool call"),
    ("- id: x\n  category: ambiguity\n  prompt: hi\n  expected_proposal: {tool: acknowledge_incidents}\n",
     "expects no proposal"),
    ("- id: x\n  category: parallel\n  prompt: hi\n" + CALL, "at least two calls"),
    (BASE + CALL + "  now: '2026-03-10T14:00:00'\n", "timezone"),
    (BASE + "  expected_calls:\n    - name: get_incident\n      arguments: {incident: []}\n", "acceptable value"),
    (BASE + "  expected_calls:\n    - name: get_incident\n      arguments: {incident: [{like: x}]}\n", "matcher"),
    ("- id: x\n  category: write\n  prompt: ack it\n  channel: {kind: war_room}\n", "incident number"),
])
def test_schema_errors_say_where(text: str, message: str) -> None:
    with pytest.raises(CaseFileError, match="cases.yaml") as raised:
        parse_cases(text, "cases.yaml")
    assert message in str(raised.value)


def test_times_stay_strings_and_acceptable_values_keep_their_type() -> None:
    (case,) = parse_cases(BASE + "  now: 2026-03-09T16:00:00Z\n  expected_calls:\n    - name: list_incidents\n"
                          "      arguments: {window: [{starts: 2026-03-07T09:00-05:00}], limit: [5]}\n")
    assert case.now.isoformat() == "2026-03-09T16:00:00+00:00"
    assert case.expected_calls[0].arguments == {"window": [{"starts": "2026-03-07T09:00-05:00"}], "limit": [5]}


@pytest.mark.parametrize(("calls", "problem"), [
    ("    - name: page_someone\n", "no tool named 'page_someone'"),
    ("    - name: get_incident\n      arguments: {number: ['1241']}\n", "has no argument 'number'"),
    ("    - name: get_incident\n      arguments: {incident: [1241]}\n", "not a valid value"),
    ("    - name: list_incidents\n      arguments: {urgency: [urgent]}\n", "not a valid value"),
    ("    - name: get_schedule\n      arguments: {window: [fortnight after next]}\n", "not a window"),
    ("    - name: list_incidents\n      arguments: {window: [{starts: saturday}]}\n", "not an ISO-8601 time"),
])
def test_registry_check_finds_unknown_tools_arguments_and_values(calls: str, problem: str) -> None:
    (case,) = parse_cases(BASE + "  expected_calls:\n" + calls)
    problems = check_case(case, TOOLS_BY_NAME)
    assert len(problems) == 1 and problem in problems[0], problems


def test_registry_check_wants_write_tools_for_proposals_and_real_forbidden_tools() -> None:
    (case,) = parse_cases("- id: x\n  category: write\n  prompt: hi\n  expected_proposal: {tool: get_incident}\n"
                          "  forbidden_tools: [drop_database]\n")
    assert check_case(case, TOOLS_BY_NAME) == [
        "case x: get_incident is not a write tool, so it makes no proposal",
        "case x: forbidden tool 'drop_database' is not in the registry"]


def test_duplicate_ids_across_files_are_refused(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.yml"):
        (tmp_path / name).write_text(BASE + CALL)
    (tmp_path / "notes.txt").write_text("ignored")
    with pytest.raises(CaseFileError, match="already used"):
        load_cases(tmp_path)
    assert len(load_cases(tmp_path / "a.yaml")) == 1
    with pytest.raises(CaseFileError, match="no such file"):
        load_cases(tmp_path / "missing.yaml")
