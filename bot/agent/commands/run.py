"""Run a parsed command: one tool call through :func:`bot.tools.runner.run_parsed`, no LLM.

The command's typed model builds the tool's arguments (:meth:`~bot.agent.commands.models.ToolCommand.tool_args`):
parsed once, by the tool's own model.

Reads answer with the plain text of the result's presenter (:func:`bot.present.results.result_text`).
An exact typed write command is the person's own instruction, so it is prepared by its write tool and
executed at once with :func:`bot.tools.proposals.execute`: as that person (``From``), within their
PagerDuty role. An Observer gets the refusal and no write request is sent.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from pydantic import ValidationError

from bot.agent.commands.grammar import Command, help_text
from bot.agent.commands.models import HelpCommand
from bot.agent.turn import ToolCallRecord, Turn
from bot.present.proposals import proposal_text, write_text
from bot.present.results import result_text
from bot.tools.base import Tool, ToolArgs, ToolContext, ToolResult
from bot.tools.errors import ToolProblem
from bot.tools.proposals import Outcome, execute, record_refused
from bot.tools.registry import ALL_TOOLS
from bot.tools.results.writes import WriteRan
from bot.tools.runner import run_parsed

log = logging.getLogger("bot.agent.commands")

TOOLS_BY_ARGS: dict[type[ToolArgs], Tool[Any]] = {tool.args: tool for tool in ALL_TOOLS}
"""Each tool by its argument model: a command names the model (``ToolCommand.tool``)."""
UNCONFIRMED = ("Something went wrong while making the change, so it may or may not have been applied: "
               "check in PagerDuty before trying again.")


def tool_for(command: Command) -> Tool[Any] | None:
    """The tool ``command`` runs; None for ``help``."""
    return None if isinstance(command.args, HelpCommand) else TOOLS_BY_ARGS[command.args.tool]


def invalid_arguments(command: Command, tool: Tool[Any], error: ValidationError) -> ToolProblem:
    """Why the tool's model refused what ``command`` gave it (nothing was sent to PagerDuty)."""
    problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in error.errors())
    return ToolProblem("invalid", f"Invalid arguments for {tool.name} (from `{command.name}`): {problems}.",
                       "Check the command: `help` lists each one with an example.")


async def run_command(command: Command, ctx: ToolContext, *, execute_writes: bool = True) -> Turn:
    """Answer ``command`` as ``ctx.asker``: mode ``command``, no LLM call. With ``execute_writes=False``
    a write command is only prepared: its proposal waits in ``turn.proposals`` for a click."""
    clock = time.monotonic
    started = clock()
    before = ctx.client.requests_sent
    turn = Turn(reply="", mode="command")
    tools_ms = 0.0
    outcome: Outcome | None = None
    spec = command.args
    if isinstance(spec, HelpCommand):
        turn.reply = help_text()
    else:
        tool = TOOLS_BY_ARGS[spec.tool]
        name = tool.name
        args: ToolArgs | None = None
        try:
            parsed = spec.tool_args()
        except ValidationError as exc:  # the tool's model refused it: an answer, never a crash
            result: ToolResult[Any] = ToolResult.failed(invalid_arguments(command, tool, exc))
        else:
            args, result = parsed, await run_parsed(tool, parsed, ctx)
        prepared_ms = (clock() - started) * 1000
        if command.is_write and not execute_writes:
            turn.reply = await _propose(name, result, ctx)
            turn.proposals.extend([result.proposal] if result.proposal is not None else [])
        elif command.is_write:
            turn.reply, result, outcome = await _execute(command, name, result, ctx)
        else:
            turn.reply = result_text(name, args, result)
        arguments = {} if args is None else args.model_dump(mode="json")
        turn.tool_calls.append(ToolCallRecord(name, arguments, result, prepared_ms, outcome, args=args))
        tools_ms = (clock() - started) * 1000
    turn.pd_requests = ctx.client.requests_sent - before
    turn.timings = {"total": (clock() - started) * 1000, "llm": 0.0, "tools": tools_ms}
    return turn


async def _propose(tool: str, prepared: ToolResult[Any], ctx: ToolContext) -> str:
    """The reply to a write that waits for a click: what would change, or why it can't."""
    proposal = prepared.proposal
    if proposal is None:
        reason = " ".join(p for p in (prepared.error, prepared.hint) if p) or "That change could not be prepared."
        await record_refused(tool, reason, ctx.asker)
        return reason
    return proposal_text(proposal)


async def _execute(command: Command, tool: str, prepared: ToolResult[Any], ctx: ToolContext,
                   ) -> tuple[str, ToolResult[Any], Outcome | None]:
    """Execute the prepared write at once (the typed command was the confirmation).

    The reply, the result to record (without the proposal, so no renderer offers to confirm it
    again) and the outcome (None when nothing was prepared to execute).
    """
    proposal = prepared.proposal
    if proposal is None:  # refused (e.g. an Observer), or an unknown incident, a bad time...
        reason = prepared.error or "That change could not be prepared."
        await record_refused(tool, reason, ctx.asker)
        return reason, prepared, None
    try:
        outcome = await execute(proposal, ctx.asker, ctx.client, deadline=ctx.deadline)
    except Exception:
        log.exception("command %s failed while executing", command.name)
        outcome = Outcome(False, UNCONFIRMED, maybe_applied=True)
    recorded = ToolResult("ok" if outcome.ok else "error", WriteRan.of(proposal),
                          problem=None if outcome.ok else ToolProblem("pagerduty", outcome.summary))
    return write_text(proposal, outcome, ctx.tz.key), recorded, outcome
