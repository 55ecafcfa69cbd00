"""What every tool shares: the request context code supplies, the result envelope, the tool record.

A tool is a pydantic argument model (its docstring and field descriptions are what the model reads)
plus an async handler. Read tools answer; write tools only *prepare* a :class:`Proposal` that a human
confirms (see :mod:`bot.tools.proposals`). Handlers never raise into the caller: PagerDuty errors and
bad arguments come back as ``ToolResult.error`` with a hint the model can act on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from bot.pagerduty import PagerDutyClient
from bot.pagerduty.scope import READ_ONLY_ROLES
from bot.tools.errors import ErrorKind, ToolProblem
from bot.tools.results.base import Result

RESULT_BUDGET_CHARS = 8_000
"""A result over this size is replaced by an error asking to narrow the query (8 KB of JSON)."""
DEFAULT_LIST = 20
MAX_LIST = 100


@dataclass(frozen=True, slots=True)
class Asker:
    """The person who asked, as PagerDuty knows them (resolved by code, never by the model)."""

    user_id: str | None
    email: str | None
    name: str
    time_zone: ZoneInfo
    role: str | None = None

    @property
    def can_write(self) -> bool:
        return self.user_id is not None and self.role not in READ_ONLY_ROLES


@dataclass(slots=True)
class ToolContext:
    """Everything a tool needs that the model must not choose: client, asker, now, deadline."""

    client: PagerDutyClient
    asker: Asker
    now: datetime
    deadline: float | None = None
    """Absolute ``time.monotonic()`` after which no PagerDuty retry is started."""

    @property
    def tz(self) -> ZoneInfo:
        return self.asker.time_zone

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()


class ToolArgs(BaseModel):
    """Base of every argument model: strict (no extra keys), frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


OperationKind = Literal["bulk_status", "note", "status_update", "snooze", "create_incident", "reassign",
                        "add_responders", "set_priority", "override_create", "override_delete"]
"""What a write does, set by the write tool that builds it: execution and its outcome branch on this."""

TargetStatus = Literal["done", "no_op", "refused", "failed", "maybe_applied"]
NoOpReason = Literal["already", "would_reopen", "changed_meanwhile", "gone", "first_went_through"]


@dataclass(frozen=True, slots=True)
class TargetOutcome:
    """What a write did (or left alone) on one target: the typed twin of one outcome line.

    Presenters read these, never the prose of ``Outcome.lines``.
    """

    status: TargetStatus
    target: str
    """What was written: ``#1004`` (or the incident ID), an override ID, a schedule ID."""
    detail: str
    pd_status: int | None = None
    """PagerDuty's HTTP answer to the request (None when it did not answer or none was sent)."""
    incident_number: int | None = None
    label: str | None = None
    """How people know the target: ``#1004 Checkout latency``."""
    state: str | None = None
    """The incident's status after the write, or as found when left alone."""
    reason: NoOpReason | None = None
    """Why a ``no_op`` was one (or why a done write needed no retry)."""


@dataclass(frozen=True, slots=True)
class Operation:
    """One PagerDuty write, exactly as it will be sent once confirmed."""

    method: Literal["POST", "PUT", "DELETE"]
    path: str
    body: dict[str, Any] | None = None
    kind: OperationKind = field(kw_only=True)


NOTHING_TO_DO = "Nothing to do: "
"""How the summary of a proposal (or an outcome) with nothing to send begins."""


@dataclass(frozen=True, slots=True)
class Proposal:
    """A prepared write waiting for a human: what will change, on what, and the exact calls.

    ``summary`` is one line ("Acknowledge 2 incidents"); ``lines`` list each target with its current
    state; ``noops`` name targets left alone and why ("#1004 is already acknowledged").
    """

    action: str
    summary: str
    lines: tuple[str, ...]
    operations: tuple[Operation, ...]
    noops: tuple[str, ...] = ()
    incident_ids: tuple[str, ...] = ()
    skipped: tuple[TargetOutcome, ...] = ()
    """The typed form of ``noops``: targets left alone when the proposal was prepared."""
    target_label: str | None = field(default=None, kw_only=True)
    """How people know the one target of a single-target write (``#1004 Checkout latency``)."""
    resolution_note: str | None = field(default=None, kw_only=True)
    """The resolution note a resolve sends with its incidents (None when it sends none)."""

    @property
    def headline(self) -> str:
        """The summary without the :data:`NOTHING_TO_DO` a proposal with nothing to send starts with."""
        return self.summary.removeprefix(NOTHING_TO_DO)

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "summary": self.summary, "changes": list(self.lines),
                "no_ops": list(self.noops), "needs_confirmation": bool(self.operations)}


R = TypeVar("R", bound=Result)


@dataclass(slots=True)
class ToolResult(Generic[R]):
    """The envelope every tool returns: the typed ``value`` (the tool's result model), a typed
    ``problem`` for errors (and the message of ``no_data``), or the ``proposal`` a write prepared.

    ``to_model()`` is what goes back to the LLM; presenters read ``value``.
    """

    status: Literal["ok", "no_data", "error", "proposal"]
    value: R | None = None
    problem: ToolProblem | None = None
    proposal: Proposal | None = None
    partial: bool = False
    """True when PagerDuty answered only part of what was asked (a page failed, a cap was hit)."""

    @classmethod
    def ok(cls, value: R, *, partial: bool = False) -> ToolResult[R]:
        return cls("ok", value, partial=partial)

    @classmethod
    def fail(cls, error: str, hint: str | None = None, *, kind: ErrorKind = "invalid") -> ToolResult[Any]:
        return cls("error", problem=ToolProblem(kind, error, hint))

    @classmethod
    def failed(cls, problem: ToolProblem) -> ToolResult[Any]:
        return cls("error", problem=problem)

    @classmethod
    def nothing(cls, message: str, value: R | None = None) -> ToolResult[R]:
        return cls("no_data", value, problem=ToolProblem("not_found", message))

    @classmethod
    def propose(cls, proposal: Proposal) -> ToolResult[Any]:
        return cls("proposal", proposal=proposal)

    @property
    def error(self) -> str | None:
        """The error's (or the empty answer's) message."""
        return None if self.problem is None else self.problem.message

    @property
    def hint(self) -> str | None:
        return None if self.problem is None else self.problem.hint

    @property
    def about_the_call(self) -> bool:
        """An error about the model's own call: the model's to correct or explain, not a result to show."""
        return self.status == "error" and self.problem is not None and self.problem.about_the_call

    @property
    def data(self) -> dict[str, Any]:
        """The result's JSON fields as the model reads them (the LLM edge; code reads ``value``)."""
        if self.value is not None:
            return self.value.wire()
        return self.proposal.as_dict() if self.proposal is not None else {}

    def to_model(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": self.status}
        if self.error:
            body["error" if self.status == "error" else "message"] = self.error
        if self.hint:
            body["hint"] = self.hint
        if self.partial:
            body["partial"] = True
        body.update(self.data)
        return body

    def to_json(self) -> str:
        return json.dumps(self.to_model(), separators=(",", ":"), ensure_ascii=False, default=str)


A = TypeVar("A", bound=ToolArgs)
Handler = Callable[[A, ToolContext], Awaitable[ToolResult[Any]]]


@dataclass(frozen=True, slots=True)
class Tool(Generic[A]):
    """One tool: its name, argument model, handler, kind (read answers; write proposes) and the
    result model a read answers with (its presenter is found by it)."""

    name: str
    args: type[A]
    handler: Handler[A]
    kind: Literal["read", "write"]
    result: type[Result] | None = None
    """None for a write tool: it answers with a :class:`Proposal`."""

    @property
    def description(self) -> str:
        return " ".join((self.args.__doc__ or "").split())
