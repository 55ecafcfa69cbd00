"""A tool's answer as a ``CallToolResult``: the typed value as ``structuredContent``, the presenter's text as content.

* A read's ``structuredContent`` is ``Result.wire()``, exactly the JSON alex's own model reads, and its text
  is :func:`~bot.present.results.result_text` (the terminal's and command mode's words).
* A write's is a :class:`WriteAnswer`: the proposal, and what became of it once confirmed (the outcome's
  typed entries, the text of :func:`~bot.present.proposals.write_text`).
* A problem (bad arguments, PagerDuty's refusal, a timeout) is a tool error (``isError``): the message
  and what to do, never a secret (the runner's :class:`~bot.tools.errors.ToolProblem`). So is an empty
  answer with no typed value, which has nothing to fill the output schema with.
"""

from __future__ import annotations

from typing import Any, Literal

import mcp.types as types

from bot.present.proposals import sent_texts, write_text
from bot.present.results import result_text
from bot.present.words import bullets
from bot.tools.base import Proposal, TargetStatus, Tool, ToolArgs, ToolResult
from bot.tools.errors import ToolProblem
from bot.tools.proposals import Outcome
from bot.tools.results.base import Result

WriteState = Literal["proposed", "nothing_to_do", "done", "not_done", "maybe_applied", "cancelled"]
CANCELLED = "Cancelled: nothing was changed."


class WriteTarget(Result):
    """What a confirmed write did on one target (an incident, an override)."""

    status: TargetStatus
    target: str
    detail: str
    pd_status: int | None = None
    state: str | None = None


class WriteAnswer(Result):
    """What a write tool (or confirm_proposal) answers: the proposal, and what became of it."""

    state: WriteState
    action: str
    summary: str
    changes: list[str] = []
    no_ops: list[str] = []
    proposal_id: str | None = None
    """Set while the proposal waits for ``confirm_proposal``."""
    expires_in_s: int | None = None
    result: str | None = None
    """What the change did, or why it was not made."""
    outcome: list[WriteTarget] = []


def problem_reply(problem: ToolProblem) -> types.CallToolResult:
    text = " ".join(part for part in (problem.message, problem.hint) if part)
    return types.CallToolResult(content=[types.TextContent(text=text)], is_error=True)


def read_reply(tool: Tool[Any], args: ToolArgs, result: ToolResult[Any]) -> types.CallToolResult:
    if result.status == "error" or result.value is None:
        return problem_reply(result.problem or ToolProblem("internal", f"{tool.name} answered nothing."))
    return _reply(result.value, result_text(tool.name, args, result))


def proposed_reply(proposal: Proposal, proposal_id: str, ttl_s: float) -> types.CallToolResult:
    """A proposal waiting for ``confirm_proposal``: what would change, and how to make it."""
    minutes = max(1, round(ttl_s / 60))
    lines = [f"Proposed, not done: {proposal.summary}.", *bullets(proposal.lines), *bullets(proposal.noops),
             f"Nothing changes until the person confirms it: call confirm_proposal with proposal_id "
             f"{proposal_id} (their client asks them to approve that call). It expires in {minutes} minutes."]
    answer = _answer("proposed", proposal, proposal_id=proposal_id, expires_in_s=round(ttl_s))
    return _reply(answer, "\n".join(lines))


def question(proposal: Proposal, actor: str) -> str:
    """What the person is asked before a change is made: all of it, every text it sends in full."""
    lines = [f"alex would make this change in PagerDuty, as {actor}: {proposal.summary}.", *bullets(proposal.lines),
             *bullets(proposal.noops)]
    shown = "\n".join(lines)
    unshown = [text for text in sent_texts(proposal) if text not in shown]
    if unshown:
        lines += ["It sends this text:", *unshown]
    return "\n".join([*lines, "Make this change?"])


def nothing_reply(proposal: Proposal) -> types.CallToolResult:
    """A write with nothing to send (every target already as asked)."""
    return _reply(_answer("nothing_to_do", proposal), "\n".join([proposal.summary, *bullets(proposal.noops)]))


def cancelled_reply(proposal: Proposal) -> types.CallToolResult:
    return _reply(_answer("cancelled", proposal, result=CANCELLED), CANCELLED)


def outcome_reply(proposal: Proposal, outcome: Outcome, time_zone: str | None) -> types.CallToolResult:
    """What a confirmed proposal did (or why it was not run)."""
    state: WriteState = "done" if outcome.ok else "maybe_applied" if outcome.maybe_applied else "not_done"
    targets = [WriteTarget(status=e.status, target=e.target, detail=e.detail, pd_status=e.pd_status, state=e.state)
               for e in outcome.entries]
    answer = _answer(state, proposal, result=outcome.summary, outcome=targets)
    return _reply(answer, write_text(proposal, outcome, time_zone))


def _answer(state: WriteState, proposal: Proposal, **fields: Any) -> WriteAnswer:
    return WriteAnswer(state=state, action=proposal.action, summary=proposal.summary, changes=list(proposal.lines),
                       no_ops=list(proposal.noops), **fields)


def _reply(value: Result, text: str) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(text=text)], structured_content=value.wire())

