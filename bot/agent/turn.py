"""What one message produces: the reply, how it was made, and what it cost (the structured turn)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from bot.tools.base import Proposal, ToolArgs, ToolResult
from bot.tools.errors import ToolError
from bot.tools.proposals import Outcome
from bot.tools.registry import TOOLS_BY_NAME
from bot.tools.runner import parse_arguments

TIMING_KEYS: dict[str, float] = {"total": 0.0, "llm": 0.0, "tools": 0.0}
"""Every turn's JSON has these timings: a turn that made no model call or ran no tool says 0.0."""


@dataclass(slots=True)
class ToolCallRecord:
    """One tool call the turn made, with its result envelope (data for rendering)."""

    name: str
    arguments: dict[str, Any] | str
    """As the model (or the command) sent them: the LLM edge, kept for ``--json`` and audit."""
    result: ToolResult[Any]
    duration_ms: float = 0.0
    outcome: Outcome | None = None
    """What the write did when this call was executed at once (a typed command mode write)."""
    args: ToolArgs | None = None
    """The arguments as the tool's model, parsed once (None when they did not parse)."""

    def typed_args(self) -> ToolArgs | None:
        """``args``; a record made without them (by a test, say) parses its raw arguments, once."""
        if self.args is None and self.result.status != "error" and self.name in TOOLS_BY_NAME:
            try:
                self.args = parse_arguments(TOOLS_BY_NAME[self.name], self.arguments)
            except ToolError:
                return None
        return self.args


@dataclass(slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens


@dataclass(slots=True)
class Turn:
    """The structured answer to one message (what ``alex ask --json`` prints and Slack renders)."""

    reply: str
    mode: Literal["llm", "command"]
    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)
    pd_requests: int = 0
    llm_calls: int = 0
    usage: Usage = field(default_factory=Usage)
    timings: dict[str, float] = field(default_factory=dict)
    """Milliseconds: ``total``, ``llm``, ``tools`` (:meth:`as_json` gives all three, 0.0 when unused)."""
    notice: str | None = None
    """Something the person should know about how this was answered (e.g. the model is unavailable)."""

    def as_json(self) -> dict[str, Any]:
        return {
            "reply": self.reply,
            "mode": self.mode,
            "tool_calls": [{"name": c.name, "arguments": c.arguments, "status": c.result.status}
                           for c in self.tool_calls],
            "proposals": [p.as_dict() for p in self.proposals],
            "pd_requests": self.pd_requests,
            "llm_calls": self.llm_calls,
            "tokens": {"prompt": self.usage.prompt_tokens, "completion": self.usage.completion_tokens,
                       "total": self.usage.total},
            "timings": {k: round(v, 1) for k, v in (TIMING_KEYS | self.timings).items()},
            "notice": self.notice,
        }
