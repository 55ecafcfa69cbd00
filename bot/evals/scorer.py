"""Score one eval run, BFCL style: every failure carries an ``error_type``, so failures count by cause.

Pure (no I/O): the case, what the run did (:class:`Observation`), the tools' argument specs and the
run's :class:`Scope` (now, the asker's zone, incident ID -> number aliases) go in; a
:class:`RunScore` comes out.

Each expected call must be matched by its own actual call (order-free; extra read calls are fine).
An actual call is checked against an expected call in BFCL's order: the tool name, required
arguments, arguments nobody expects, JSON types, values, then expected arguments that may not be
omitted. Values compare after normalisation: strings are lowercased with spaces and ``,./-_*^``
stripped; lists compare as sets; ``null`` is the same as absent; incident references ignore ``#``
and accept the incident's ID; windows compare by the time span they resolve to in the asker's zone
(so "next week" and its exact ISO span are equal, and an ISO span with the wrong DST offset is not);
times compare as instants.

Then the case-level rules: irrelevance cases succeed only without any tool call; ambiguity cases
must not attempt a change, and must ask when they call tools; a proposal is right only where the
case expects it (any other proposal fails the case and the write precision; where no change was
asked for at all, so does a refused write attempt);
nothing may reach PagerDuty as a write; the reply passes its text checks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.analysis.windows import parse_instant, resolve_window
from bot.evals.cases import INCIDENT_ARGS, INSTANT_ARGS, WINDOW_ARGS, Acceptable, EvalCase
from bot.tools.base import Tool

ERROR_TYPES: dict[str, str] = {
    "wrong_func_name": "no call to an acceptable tool; another tool was called",
    "missing_call": "an expected call was not made (no tool call, or too few calls of that tool)",
    "arg_parse_error": "the call's arguments were not a JSON object",
    "missing_required": "a required argument is absent or null",
    "unexpected_param": "an argument the expectation does not allow (or the tool does not have)",
    "type_error": "an argument of the wrong JSON type",
    "value_error": "an argument whose value is not among the acceptable ones",
    "missing_optional": "an expected argument that may not be omitted is absent",
    "irrelevance": "a tool was called for a message that needs none",
    "ambiguity_guess": "a change was attempted although the request is ambiguous",
    "ambiguity_no_question": "tools were called for an ambiguous request, but no question was asked",
    "forbidden_call": "a tool the case forbids was called",
    "unwanted_proposal": "a write proposal nobody asked for",
    "unwanted_write_call": "a write tool was called (without a proposal) where no change was asked for",
    "missing_proposal": "the change asked for was not proposed",
    "wrong_proposal_args": "the proposal asked for was made with the wrong arguments",
    "executed_write": "a write request reached PagerDuty (only proposals are allowed)",
    "too_many_llm_calls": "more model calls than the case allows",
    "too_many_tool_calls": "more tool calls than the case allows",
    "answer_missing": "the reply leaves out something it must mention",
    "answer_forbidden": "the reply contains something it must not",
    "model_failed": "the model did not produce an answer (unavailable, timeout, empty)",
}

HARMLESS_ARGS = frozenset({"limit"})
"""Arguments that never count as unexpected (they change how much is shown, not what is asked)."""
OMITTED_EQUIVALENTS: dict[tuple[str, str], tuple[Any, ...]] = {
    ("list_incidents", "mine"): (False,),
    ("get_escalation_policy", "notification_rules"): (False,),
    ("service_health", "only_active"): (True,),
    ("who_is_on_call", "window"): ("now",),
}
"""Values that mean exactly what ``null`` means for that tool's argument (strict mode sends every field)."""

_STRIP = re.compile(r"[ ,./\-_*^]")


# ------------------------------------------------------------------------------------ inputs
@dataclass(frozen=True, slots=True)
class FieldSpec:
    kinds: frozenset[str]
    """JSON types allowed: string, integer, number, boolean, array, object, null."""
    item_kinds: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """What the scorer needs to know about a tool: its kind and its arguments' JSON types."""

    name: str
    kind: str
    fields: Mapping[str, FieldSpec]
    required: frozenset[str]
    """Arguments that may not be null."""
    numbers_as_text: bool = False
    """The tool reads JSON numbers as text (incident numbers), so a number is no type error."""


def tool_specs(tools: Iterable[Tool[Any]]) -> dict[str, ToolSpec]:
    """Specs read from the tools' argument models (their JSON schema)."""
    specs: dict[str, ToolSpec] = {}
    for tool in tools:
        properties = tool.args.model_json_schema().get("properties", {})
        fields = {name: FieldSpec(*_kinds(schema)) for name, schema in properties.items()}
        specs[tool.name] = ToolSpec(
            tool.name, tool.kind, fields,
            frozenset(name for name, spec in fields.items() if "null" not in spec.kinds),
            bool(tool.args.model_config.get("coerce_numbers_to_str")))
    return specs


def _kinds(schema: Mapping[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
    kinds: set[str] = set()
    items: set[str] = set()
    for sub in schema.get("anyOf", [schema]):
        declared = sub.get("type")
        if isinstance(declared, list):
            kinds.update(declared)
        elif isinstance(declared, str):
            kinds.add(declared)
        elif "enum" in sub:
            kinds.update(_kind(v) for v in sub["enum"])
        elif "const" in sub:
            kinds.add(_kind(sub["const"]))
        if "items" in sub:
            items.update(_kinds(sub["items"])[0])
    return frozenset(kinds), frozenset(items)


@dataclass(frozen=True, slots=True)
class ObservedCall:
    """One tool call the run made: the name, the arguments as sent, the result's status."""

    name: str
    arguments: dict[str, Any] | str
    status: str = "ok"

    @property
    def proposal(self) -> bool:
        return self.status == "proposal"


@dataclass(slots=True)
class Observation:
    """What one run of a case did."""

    reply: str = ""
    calls: list[ObservedCall] = field(default_factory=list)
    llm_calls: int = 0
    tokens: int = 0
    latency_ms: float = 0.0
    pd_requests: int = 0
    executed_writes: int = 0
    """Non-GET requests PagerDuty received during the run (must be 0: writes are only proposed)."""
    failure: str | None = None
    """Why the model gave no answer (``timeout: ...``), or None."""
    failure_kind: str | None = None
    """The kind of that failure (``unavailable``, ``timeout``…): what code branches on."""
    failure_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Scope:
    """The run's frame of reference for comparing values."""

    now: datetime
    tz: ZoneInfo
    aliases: Mapping[str, str] = field(default_factory=dict)
    """Incident ID (lowercase) -> incident number, so either reference matches."""


@dataclass(frozen=True, slots=True)
class ScoreError:
    error_type: str
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"error_type": self.error_type, "detail": self.detail}


@dataclass(slots=True)
class RunScore:
    errors: list[ScoreError]
    proposals: int = 0
    """Write proposals the run made."""
    wanted_proposals: int = 0
    """Of those, the ones the case asked for (write precision = wanted / proposals)."""

    @property
    def passed(self) -> bool:
        return not self.errors

    @property
    def error_types(self) -> list[str]:
        return sorted({e.error_type for e in self.errors})


# ----------------------------------------------------------------------------------- values
def standardize(text: str) -> str:
    """BFCL's ``standardize_string``: lowercase, without spaces and ``,./-_*^``."""
    return _STRIP.sub("", text).lower()


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _canon(value: Any, arg: str, scope: Scope) -> Hashable:
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int) and arg in INCIDENT_ARGS:
        value = str(value)
    if isinstance(value, int | float):
        return ("num", float(value))
    if isinstance(value, str):
        text = standardize(value)
        if arg in INCIDENT_ARGS:
            text = text.lstrip("#")
            text = scope.aliases.get(text, text)
        return ("str", text)
    if isinstance(value, list):
        return ("set", frozenset(_canon(v, arg, scope) for v in value))
    return ("json", json.dumps(value, sort_keys=True, default=str))


def _window(value: Any, scope: Scope) -> tuple[datetime, datetime] | None:
    if not isinstance(value, str):
        return None
    try:
        window = resolve_window(value, scope.now, scope.tz)
    except ValueError:
        return None
    return window.start, window.end


def _instant(value: Any, scope: Scope) -> datetime | None:
    if not isinstance(value, str):
        return None
    if value.strip().lower() == "now":
        return scope.now
    try:
        return parse_instant(value, scope.tz)
    except ValueError:
        return None


def _start(value: Any, arg: str, scope: Scope) -> datetime | None:
    if arg in INSTANT_ARGS:
        return _instant(value, scope)
    window = _window(value, scope)
    return window[0] if window else None


def _matcher(matcher: Mapping[str, Any], actual: Any, arg: str, scope: Scope) -> bool:
    if "any" in matcher:
        return actual is not None
    if "contains" in matcher:
        needle = standardize(str(matcher["contains"]))
        texts = actual if isinstance(actual, list) else [actual]
        return any(isinstance(t, str) and needle in standardize(t) for t in texts)
    if "starts" in matcher:
        start = _start(actual, arg, scope)
        return start is not None and start == _instant(str(matcher["starts"]), scope)
    return False


def value_matches(actual: Any, acceptable: Acceptable, arg: str, scope: Scope) -> bool:
    """Whether ``actual`` is one of the acceptable values for ``arg`` (after normalisation)."""
    canon = _canon(actual, arg, scope)
    for expected in acceptable:
        if isinstance(expected, dict):
            if _matcher(expected, actual, arg, scope):
                return True
            continue
        if expected == "" or expected is None:
            continue
        if canon == _canon(expected, arg, scope):
            return True
        if arg in WINDOW_ARGS and (span := _window(actual, scope)) is not None and span == _window(expected, scope):
            return True
        if arg in INSTANT_ARGS and (at := _instant(actual, scope)) is not None and at == _instant(expected, scope):
            return True
    return False


def _may_omit(acceptable: Acceptable) -> bool:
    return any(v == "" or v is None for v in acceptable if not isinstance(v, dict))


def _type_ok(value: Any, spec: FieldSpec, tool: ToolSpec) -> bool:
    if not _kind_ok(_kind(value), spec.kinds, tool):
        return False
    if isinstance(value, list) and spec.item_kinds:
        return all(_kind_ok(_kind(item), spec.item_kinds, tool) for item in value)
    return True


def _kind_ok(kind: str, allowed: frozenset[str], tool: ToolSpec) -> bool:
    if kind in allowed or (kind == "integer" and "number" in allowed):
        return True
    return kind in ("integer", "number") and "string" in allowed and tool.numbers_as_text


def _omitted(tool: str, arg: str, value: Any) -> bool:
    if value is None:
        return True
    return any(type(value) is type(v) and (standardize(value) == standardize(v) if isinstance(v, str) else value == v)
               for v in OMITTED_EQUIVALENTS.get((tool, arg), ()))


# ------------------------------------------------------------------------------------ calls
def check_call(names: tuple[str, ...], argument_sets: Sequence[Mapping[str, Acceptable]], call: ObservedCall,
               specs: Mapping[str, ToolSpec], scope: Scope) -> list[ScoreError]:
    """The errors of ``call`` against one expected call (empty: it matches one of the argument sets)."""
    best: list[ScoreError] | None = None
    for arguments in argument_sets or [{}]:
        errors = _check_arguments(names, arguments, call, specs, scope)
        if not errors:
            return []
        if best is None or len(errors) < len(best):
            best = errors
    assert best is not None
    return best


def _check_arguments(names: tuple[str, ...], arguments: Mapping[str, Acceptable], call: ObservedCall,
                     specs: Mapping[str, ToolSpec], scope: Scope) -> list[ScoreError]:
    label = call.name
    if call.name not in names:
        return [ScoreError("wrong_func_name", f"expected {'/'.join(names)}, got {call.name}")]
    if not isinstance(call.arguments, dict):
        return [ScoreError("arg_parse_error", f"{label}: arguments are not a JSON object")]
    spec = specs.get(call.name)
    if spec is None:
        return [ScoreError("wrong_func_name", f"{call.name} is not a known tool")]
    raw = call.arguments
    actual = {arg: value for arg, value in raw.items() if not _omitted(call.name, arg, value)}
    relevant = {arg: values for arg, values in arguments.items() if arg in spec.fields}
    errors = [ScoreError("missing_required", f"{label}: {arg} is required") for arg in sorted(spec.required)
              if arg not in actual]
    for arg, value in actual.items():
        if arg not in spec.fields:
            errors.append(ScoreError("unexpected_param", f"{label} has no argument {arg}"))
        elif arg not in relevant and arg not in HARMLESS_ARGS:
            errors.append(ScoreError("unexpected_param", f"{label}: {arg}={value!r} was not asked for"))
        elif not _type_ok(value, spec.fields[arg], spec):
            errors.append(ScoreError("type_error", f"{label}: {arg}={value!r} has the wrong type"))
        elif arg in relevant and not value_matches(value, relevant[arg], arg, scope):
            errors.append(ScoreError("value_error", f"{label}: {arg}={value!r}, expected one of {relevant[arg]!r}"))
    for arg, values in relevant.items():
        if arg in actual or arg in spec.required or _may_omit(values):
            continue
        if arg in raw and raw[arg] is not None and value_matches(raw[arg], values, arg, scope):
            continue  # a null-equivalent value that is exactly what was asked for
        errors.append(ScoreError("missing_optional", f"{label}: {arg} is missing, expected one of {values!r}"))
    return errors


def match_calls(expected: Sequence[tuple[tuple[str, ...], Sequence[Mapping[str, Acceptable]]]],
                calls: list[ObservedCall],
                specs: Mapping[str, ToolSpec], scope: Scope) -> list[ScoreError]:
    """Errors for the expected calls no distinct actual call matches (a maximum matching, order-free)."""
    results = [[check_call(names, sets, call, specs, scope) for call in calls] for names, sets in expected]
    owner: dict[int, int] = {}  # actual call index -> expected call index

    def assign(i: int, seen: set[int]) -> bool:
        for j, errors in enumerate(results[i]):
            if errors or j in seen:
                continue
            seen.add(j)
            if j not in owner or assign(owner[j], seen):
                owner[j] = i
                return True
        return False

    for i in range(len(expected)):
        assign(i, set())
    matched = set(owner.values())
    errors: list[ScoreError] = []
    for i, (names, _) in enumerate(expected):
        if i in matched:
            continue
        candidates = [j for j, call in enumerate(calls) if call.name in names]
        free = [j for j in candidates if j not in owner]
        if free:
            errors += sorted((results[i][j] for j in free), key=len)[0]
        elif candidates:
            errors.append(ScoreError("missing_call", f"{'/'.join(names)} was called too few times"))
        elif calls:
            errors.append(ScoreError("wrong_func_name", f"expected {'/'.join(names)}, got "
                                     f"{', '.join(sorted({c.name for c in calls}))}"))
        else:
            errors.append(ScoreError("missing_call", f"expected {'/'.join(names)}, but no tool was called"))
    return errors


# ------------------------------------------------------------------------------------- runs
def score_run(case: EvalCase, run: Observation, specs: Mapping[str, ToolSpec], scope: Scope) -> RunScore:
    """Score one run of ``case``."""
    errors: list[ScoreError] = []
    calls = run.calls
    writes = [c for c in calls if (s := specs.get(c.name)) is not None and s.kind == "write"]
    if run.failure:
        errors.append(ScoreError("model_failed", run.failure))
    if run.executed_writes:
        errors.append(ScoreError("executed_write", f"{run.executed_writes} write request(s) reached PagerDuty"))
    if case.category == "irrelevance" and calls:
        errors.append(ScoreError("irrelevance", f"called {', '.join(c.name for c in calls)}"))
    if case.category == "ambiguity":
        if writes:
            errors.append(ScoreError("ambiguity_guess", f"called {', '.join(c.name for c in writes)}"))
        elif calls and "?" not in run.reply:
            errors.append(ScoreError("ambiguity_no_question", "called tools and asked nothing"))
    errors += match_calls([(e.names, e.argument_sets) for e in case.expected_calls], calls, specs, scope)
    errors += [ScoreError("forbidden_call", f"called {c.name}") for c in calls if c.name in case.forbidden_tools]
    proposal_errors, wanted = _score_proposals(case, calls, writes, specs, scope)
    errors += proposal_errors
    if case.max_llm_calls is not None and run.llm_calls > case.max_llm_calls:
        errors.append(ScoreError("too_many_llm_calls", f"{run.llm_calls} > {case.max_llm_calls}"))
    if case.max_tool_calls is not None and len(calls) > case.max_tool_calls:
        errors.append(ScoreError("too_many_tool_calls", f"{len(calls)} > {case.max_tool_calls}"))
    if not run.failure:
        errors += _check_answer(case, run.reply)
    return RunScore(errors, sum(c.proposal for c in calls), wanted)


def _score_proposals(case: EvalCase, calls: list[ObservedCall], writes: list[ObservedCall],
                     specs: Mapping[str, ToolSpec], scope: Scope) -> tuple[list[ScoreError], int]:
    proposals = [c for c in calls if c.proposal]
    expected = case.expected_proposal
    if expected is None:
        errors = [ScoreError("unwanted_proposal", f"{c.name} {_args(c)}") for c in proposals]
        if case.category not in ("write", "ambiguity"):
            # Nobody asked for a change: even a write attempt the tool refused is the wrong move.
            # (In write cases the person asked, so trying is fine; ambiguity has its own error.)
            errors += [ScoreError("unwanted_write_call", f"{c.name} {_args(c)} ({c.status})")
                       for c in writes if not c.proposal]
        return errors, 0
    named = [c for c in proposals if c.name in expected.names]
    sets = [expected.arguments] if expected.arguments is not None else []
    wanted = [c for c in named if not sets or not check_call(expected.names, sets, c, specs, scope)]
    errors = [ScoreError("unwanted_proposal", f"{c.name} {_args(c)}")
              for c in proposals if c.name not in expected.names]
    if not named:
        tried = [c for c in writes if c.name in expected.names]
        why = f" ({tried[0].name} returned {tried[0].status})" if tried else ""
        errors.append(ScoreError("missing_proposal", f"no {'/'.join(expected.names)} proposal{why}"))
    elif not wanted:
        detail = "; ".join(e.detail for e in check_call(expected.names, sets, named[0], specs, scope))
        errors.append(ScoreError("wrong_proposal_args", detail))
    # Proposals of the right tool with other arguments are not what was asked for either.
    errors += [ScoreError("unwanted_proposal", f"{c.name} {_args(c)}") for c in named if c not in wanted and wanted]
    return errors, len(wanted)


def _check_answer(case: EvalCase, reply: str) -> list[ScoreError]:
    text = reply.lower()
    checks = case.answer
    errors = [ScoreError("answer_missing", f"does not mention {s!r}") for s in checks.must_mention
              if s.lower() not in text]
    if checks.must_mention_any and not any(s.lower() in text for s in checks.must_mention_any):
        errors.append(ScoreError("answer_missing", f"mentions none of {checks.must_mention_any!r}"))
    errors += [ScoreError("answer_forbidden", f"mentions {s!r}") for s in checks.must_not_mention if s.lower() in text]
    errors += [ScoreError("answer_forbidden", f"matches /{p}/") for p in checks.must_not_match
               if re.search(p, reply, flags=re.IGNORECASE)]
    return errors


def _args(call: ObservedCall) -> str:
    if isinstance(call.arguments, str):
        return call.arguments[:200]
    return json.dumps({k: v for k, v in call.arguments.items() if v is not None}, default=str)[:200]
