"""Eval cases: YAML files of prompts and what a good answer does (schema: shared/docs/evals.md).

A file holds a list of cases::

    - id: oncall-platform-now
      category: simple
      prompt: who is currently on-call for the platform-engineering service?
      expected_calls:
        - name: who_is_on_call                 # or a list of acceptable tools
          arguments:                           # BFCL style: each argument -> acceptable values
            target: [platform-engineering]
            target_type: ["", service]         # "" = may be omitted (or null)
      expected_proposal: null                  # or {tool: acknowledge_incidents}
      answer: {must_mention: [Ben Carter]}

Acceptable values are literals compared after normalisation (see :mod:`bot.evals.scorer`), or one
matcher: ``{contains: text}`` (free text), ``{starts: ISO}`` (a window or time starting then),
``{any: true}`` (any non-null value). YAML timestamps stay strings: write times as you mean them.

A case made by ``alex eval --from-feedback`` (:mod:`bot.evals.from_feedback`) also has ``feedback:``, where
it came from (the rated answer: votes, model, calls, answer; the scorer ignores it). While its
``feedback.todo`` lists something to do (write the expectation of a thumbs-down, adapt a real account's
question to the sandbox), the case is a *draft*: it may lack expectations, and ``alex eval`` skips it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import yaml
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from bot.analysis.windows import parse_instant, resolve_window
from bot.sandbox import DEFAULT_NOW
from bot.tools.base import Tool

CATEGORIES = ("simple", "multiple", "parallel", "lookup_chain", "argument_extraction", "write", "irrelevance",
              "ambiguity", "adversarial")
Category = Literal["simple", "multiple", "parallel", "lookup_chain", "argument_extraction", "write",
                   "irrelevance", "ambiguity", "adversarial"]
READ_CATEGORIES = frozenset({"simple", "multiple", "parallel", "lookup_chain", "argument_extraction"})
MANAGER_EMAIL = "sam.rivera@acme-payments.example"
"""The default asker: the demo dataset's Manager, Sam Rivera (America/New_York)."""
MATCHERS = frozenset({"contains", "starts", "any"})
WINDOW_ARGS = frozenset({"window"})
"""Arguments holding a time window: compared by the window they resolve to, not their spelling."""
INSTANT_ARGS = frozenset({"start", "end"})
"""Arguments holding one time: compared as instants."""
INCIDENT_ARGS = frozenset({"incident", "incidents"})
"""Arguments holding incident references: "#1245", "1245" and the incident's ID are the same."""

Acceptable = list[Any]


class CaseFileError(ValueError):
    """A case file cannot be read or a case does not follow the schema; the message says where."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _names(value: str | list[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _check_acceptable(arguments: Mapping[str, Acceptable]) -> None:
    for arg, values in arguments.items():
        if not values:
            raise ValueError(f"argument {arg!r}: give at least one acceptable value ('' = may be omitted)")
        for value in values:
            if isinstance(value, dict):
                if len(value) != 1 or next(iter(value)) not in MATCHERS:
                    raise ValueError(f"argument {arg!r}: a matcher is one of {sorted(MATCHERS)}, got {value!r}")
                if "any" in value and value["any"] is not True:
                    raise ValueError(f"argument {arg!r}: write the matcher as {{any: true}}")


class ThreadMessage(_Strict):
    """An earlier turn of the thread, sent to the model as history."""

    role: Literal["user", "assistant"]
    content: str = Field(min_length=1)


class ChannelSpec(_Strict):
    """Where the message was written (default: a DM)."""

    kind: Literal["dm", "channel", "war_room"]
    incident: str | None = None


class ExpectedCall(_Strict):
    """A call the model must make (matched by its own actual call; order-free).

    ``arguments_one_of`` lists alternative argument sets (each added to ``arguments``); the call
    matches when any one set does, e.g. a policy by its name *or* by its service.
    """

    name: str | list[str]
    arguments: dict[str, Acceptable] = Field(default_factory=dict)
    arguments_one_of: list[dict[str, Acceptable]] = Field(default_factory=list)

    @property
    def names(self) -> tuple[str, ...]:
        return _names(self.name)

    @property
    def argument_sets(self) -> list[dict[str, Acceptable]]:
        return [{**self.arguments, **one} for one in self.arguments_one_of] or [self.arguments]

    @model_validator(mode="after")
    def _valid(self) -> ExpectedCall:
        if not self.names:
            raise ValueError("name: give at least one tool name")
        for arguments in self.argument_sets:
            _check_acceptable(arguments)
        return self


class ExpectedProposal(_Strict):
    """The write the person asked for: a proposal by one of these tools (arguments optional)."""

    tool: str | list[str]
    arguments: dict[str, Acceptable] | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return _names(self.tool)

    @model_validator(mode="after")
    def _valid(self) -> ExpectedProposal:
        if not self.names:
            raise ValueError("tool: give at least one tool name")
        _check_acceptable(self.arguments or {})
        return self


class AnswerChecks(_Strict):
    """Checks on the reply text (case-insensitive substrings; regexes for ``must_not_match``)."""

    must_mention: list[str] = Field(default_factory=list)
    must_mention_any: list[str] = Field(default_factory=list)
    must_not_mention: list[str] = Field(default_factory=list)
    must_not_match: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _valid(self) -> AnswerChecks:
        for pattern in self.must_not_match:
            re.compile(pattern)
        return self


class FeedbackCallSpec(_Strict):
    """A tool call the rated answer made, as the model sent it (arguments: JSON, or text that did not parse)."""

    name: str
    arguments: dict[str, Any] | str
    status: str


class FeedbackVoteSpec(_Strict):
    rating: Literal["positive", "negative"]
    by: str
    """The Slack user who clicked."""
    at: AwareDatetime


class FeedbackSource(_Strict):
    """Where a case from ``alex eval --from-feedback`` came from: an answer people rated in Slack."""

    turn: str
    rating: Literal["positive", "negative"]
    """``negative`` when anyone clicked thumbs-down (a reported mis-step)."""
    votes: list[FeedbackVoteSpec] = Field(default_factory=list)
    model: str | None = None
    asked_by: str | None = None
    """The Slack user who asked."""
    calls: list[FeedbackCallSpec] = Field(default_factory=list)
    answer: str = ""
    todo: list[str] = Field(default_factory=list)
    """What a person must still do before the case can be scored; delete each line once done."""


class EvalCase(_Strict):
    """One prompt, the context it is asked in, and what a good answer does."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    category: Category
    prompt: str = Field(min_length=1)
    thread: list[ThreadMessage] = Field(default_factory=list)
    dataset: Literal["demo", "large"] = "demo"
    now: AwareDatetime = DEFAULT_NOW
    asker: str = MANAGER_EMAIL
    channel: ChannelSpec | None = None
    expected_calls: list[ExpectedCall] = Field(default_factory=list)
    expected_proposal: ExpectedProposal | None = None
    forbidden_tools: list[str] = Field(default_factory=list)
    answer: AnswerChecks = Field(default_factory=AnswerChecks)
    max_llm_calls: int | None = Field(default=None, ge=1)
    max_tool_calls: int | None = Field(default=None, ge=0)
    split: Literal["dev", "heldout"] = "dev"
    tags: list[str] = Field(default_factory=list)
    why: str | None = None
    """Why the expectation is what it is (write it before running any model)."""
    feedback: FeedbackSource | None = None

    @property
    def draft(self) -> bool:
        """A case from feedback that still has something to do (``feedback.todo``): not scored yet."""
        return self.feedback is not None and bool(self.feedback.todo)

    @model_validator(mode="after")
    def _consistent(self) -> EvalCase:
        if self.category == "irrelevance" and (self.expected_calls or self.expected_proposal):
            raise ValueError("an irrelevance case expects no tool call and no proposal")
        if self.category == "ambiguity" and self.expected_proposal is not None:
            raise ValueError("an ambiguity case expects no proposal (ask, don't guess)")
        written = not self.draft  # a draft's expectation is still to be written
        if written and self.category in READ_CATEGORIES and not self.expected_calls:
            raise ValueError(f"a {self.category} case needs expected_calls")
        if written and self.category == "parallel" and len(self.expected_calls) < 2:
            raise ValueError("a parallel case expects at least two calls")
        if self.channel is not None and self.channel.kind == "war_room" and not self.channel.incident:
            raise ValueError("a war_room channel needs its incident number")
        return self


# ------------------------------------------------------------------------------------------ loading
class _Loader(yaml.SafeLoader):
    """SafeLoader without implicit timestamps: ``2026-03-10T09:00-04:00`` stays the string it is."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def case_files(path: Path | str) -> list[Path]:
    """``path`` itself, or the ``*.yaml``/``*.yml`` files of a directory (sorted)."""
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    if path.is_file():
        return [path]
    raise CaseFileError(f"{path}: no such file or directory")


def parse_cases(text: str, source: str = "<string>") -> list[EvalCase]:
    """The cases of one YAML document (a list of case mappings)."""
    try:
        raw = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise CaseFileError(f"{source}: not valid YAML: {exc}") from None
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise CaseFileError(f"{source}: expected a list of cases, got {type(raw).__name__}")
    cases: list[EvalCase] = []
    for index, item in enumerate(raw):
        label = item.get("id", f"#{index + 1}") if isinstance(item, dict) else f"#{index + 1}"
        try:
            cases.append(EvalCase.model_validate(item))
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'case'}: {e['msg']}" for e in exc.errors())
            raise CaseFileError(f"{source}: case {label}: {problems}") from None
    return cases


def load_cases(path: Path | str) -> list[EvalCase]:
    """Every case under ``path`` (a file or a directory); case ids must be unique."""
    cases: list[EvalCase] = []
    seen: dict[str, str] = {}
    for file in case_files(path):
        for case in parse_cases(file.read_text(encoding="utf-8"), str(file)):
            if case.id in seen:
                raise CaseFileError(f"{file}: case id {case.id!r} is already used in {seen[case.id]}")
            seen[case.id] = str(file)
            cases.append(case)
    return cases


def select(cases: list[EvalCase], only: list[str] | None) -> list[EvalCase]:
    """The cases whose id or category is in ``only`` (all when ``only`` is empty)."""
    if not only:
        return cases
    wanted = set(only)
    return [c for c in cases if c.id in wanted or c.category in wanted]


# ------------------------------------------------------------------------------- registry checks
def check_case(case: EvalCase, tools: Mapping[str, Tool[Any]]) -> list[str]:
    """Problems with ``case`` against the tool registry: unknown tools or arguments, impossible values."""
    problems: list[str] = []
    where = f"case {case.id}"
    for expected in case.expected_calls:
        for arguments in expected.argument_sets:
            problems += _check_call(where, expected.names, arguments, tools)
    if case.expected_proposal is not None:
        names = case.expected_proposal.names
        problems += _check_call(where, names, case.expected_proposal.arguments or {}, tools)
        problems += [f"{where}: {name} is not a write tool, so it makes no proposal"
                     for name in names if name in tools and tools[name].kind != "write"]
    problems += [f"{where}: forbidden tool {name!r} is not in the registry"
                 for name in case.forbidden_tools if name not in tools]
    return problems


def _check_call(where: str, names: tuple[str, ...], arguments: Mapping[str, Acceptable],
                tools: Mapping[str, Tool[Any]]) -> list[str]:
    problems = [f"{where}: no tool named {name!r}" for name in names if name not in tools]
    known = [tools[name] for name in names if name in tools]
    if not known:
        return problems
    for arg, values in arguments.items():
        owners = [tool for tool in known if arg in tool.args.model_fields]
        if not owners:
            problems.append(f"{where}: {'/'.join(names)} has no argument {arg!r}")
            continue
        for value in values:
            problems += [f"{where}: {tool.name}.{arg}: {problem}" for tool in owners
                         if (problem := _value_problem(tool, arg, value)) is not None]
    return problems


def _value_problem(tool: Tool[Any], arg: str, value: Any) -> str | None:
    if value == "" or value is None:
        return None
    if isinstance(value, dict):
        if "starts" in value:
            try:
                parse_instant(str(value["starts"]), ZoneInfo("UTC"))
            except ValueError:
                return f"{{starts: {value['starts']!r}}} is not an ISO-8601 time"
        return None
    field = tool.args.model_fields[arg]
    try:
        TypeAdapter(field.annotation).validate_python(value, strict=True)
    except ValidationError as exc:
        return f"{value!r} is not a valid value ({exc.errors()[0]['msg']})"
    if arg in WINDOW_ARGS and isinstance(value, str):
        try:
            resolve_window(value, datetime.now(UTC), ZoneInfo("UTC"))
        except ValueError:
            return f"{value!r} is not a window the tools understand"
    if arg in INSTANT_ARGS and isinstance(value, str) and value != "now":
        try:
            parse_instant(value, ZoneInfo("UTC"))
        except ValueError:
            return f"{value!r} is not an ISO-8601 time"
    return None


def incident_refs(case: EvalCase) -> set[str]:
    """Incident numbers the case's expectations name (to check they exist in the dataset)."""
    refs: set[str] = set()
    expectations = [arguments for c in case.expected_calls for arguments in c.argument_sets]
    if case.expected_proposal is not None:
        expectations.append(case.expected_proposal.arguments or {})
    for arguments in expectations:
        for arg in INCIDENT_ARGS & arguments.keys():
            for value in arguments[arg]:
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, str) and item.lstrip("#").isdigit():
                        refs.add(item.lstrip("#"))
    if case.channel is not None and case.channel.incident:
        refs.add(case.channel.incident.lstrip("#"))
    return refs
