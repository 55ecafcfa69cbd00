"""Typed tool errors: what went wrong (``kind``), what to say (``message``), what to do (``hint``).

Tools raise :class:`ToolError`; the runner turns it (and PagerDuty's errors) into a
:class:`ToolProblem` carried by the result. Presenters and the loop branch on ``kind``, never on
the wording of a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ErrorKind = Literal[
    "call",  # the model's own call is malformed (unknown tool, bad arguments, too many proposals)
    "invalid",  # the request cannot be answered as asked (a window too long, a time in the past)
    "not_found",
    "ambiguous",
    "refused",  # alex will not do it for this person (role, team scope, no PagerDuty user)
    "too_large",
    "auth",
    "forbidden",
    "plan",
    "rate_limited",
    "timeout",
    "pagerduty",
    "internal",
]


@dataclass(frozen=True, slots=True)
class ToolProblem:
    """An error as a result carries it."""

    kind: ErrorKind
    message: str
    hint: str | None = None

    @property
    def about_the_call(self) -> bool:
        """The model's to correct or explain, not a result to show the person."""
        return self.kind == "call"


class ToolError(Exception):
    """A problem the model can fix or explain: the message says what, ``hint`` says how."""

    def __init__(self, message: str, hint: str | None = None, *, kind: ErrorKind = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.kind: ErrorKind = kind

    @property
    def problem(self) -> ToolProblem:
        return ToolProblem(self.kind, self.message, self.hint)
