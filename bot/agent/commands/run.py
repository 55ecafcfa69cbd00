"""Run a parsed command: one tool call through :func:`bot.tools.runner.run_tool`, no LLM.

Reads answer with a plain-text summary of the tool's data. An exact typed write command is the
person's own instruction, so it is prepared by its write tool and executed at once with
:func:`bot.tools.proposals.execute`: as that person (``From``), within their PagerDuty role. An
Observer gets the refusal and no write request is sent.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from bot.agent.commands.grammar import Command, help_text
from bot.agent.commands.replies import read_reply, write_reply
from bot.agent.turn import ToolCallRecord, Turn
from bot.present.registry import presenter_for
from bot.present.results import result_text
from bot.tools.base import ToolArgs, ToolContext, ToolResult
from bot.tools.errors import ToolError, ToolProblem
from bot.tools.proposals import Outcome, execute, record_refused
from bot.tools.registry import TOOLS_BY_NAME
from bot.tools.results.writes import WriteRan
from bot.tools.runner import parse_arguments, run_parsed

log = logging.getLogger("bot.agent.commands")

INCIDENTS_SHOWN = 10
UNCONFIRMED = ("Something went wrong while making the change, so it may or may not have been applied: "
               "check in PagerDuty before trying again.")


def tool_call(command: Command) -> tuple[str, dict[str, Any]]:
    """The tool and arguments a command maps onto (every command but ``help``)."""
    args = command.args
    name = command.name
    if name == "incidents":
        call: dict[str, Any] = {"limit": INCIDENTS_SHOWN}
        if args.get("mine"):
            call["mine"] = True
        if args.get("service"):
            call["service"] = args["service"]
        return "list_incidents", call
    if name == "incident":
        return "get_incident", {"incident": str(args["incident"])}
    if name == "oncall":
        return "who_is_on_call", {"target": args.get("target"), "window": args.get("window")}
    if name == "services":
        return "service_health", {"only_active": not args.get("all")}
    if name == "policy":
        return "get_escalation_policy", {"policy": args["name"]}
    if name == "schedule":
        return "get_schedule", {"schedule": args.get("name"), "window": args.get("window")}
    if name == "gaps":
        return "find_coverage_gaps", {"schedules": [args["name"]] if args.get("name") else None,
                                      "window": args.get("window")}
    if name == "overrides":
        return "list_overrides", {"schedule": args["name"], "window": args.get("window")}
    if name == "ack":
        return "acknowledge_incidents", {"incidents": [str(n) for n in args["incidents"]]}
    if name == "resolve":
        return "resolve_incidents", {"incidents": [str(n) for n in args["incidents"]],
                                     "resolution_note": args.get("note")}
    if name == "note":
        return "add_incident_note", {"incident": str(args["incident"]), "note": args["text"]}
    if name == "override":
        return "create_override", {key: args.get(key) for key in ("schedule", "user", "start", "end", "window")}
    raise ValueError(f"no tool for the command {name!r}")


async def run_command(command: Command, ctx: ToolContext, *, execute_writes: bool = True) -> Turn:
    """Answer ``command`` as ``ctx.asker``: mode ``command``, no LLM call. With ``execute_writes=False``
    a write command is only prepared: its proposal waits in ``turn.proposals`` for a click."""
    clock = time.monotonic
    started = clock()
    before = ctx.client.requests_sent
    turn = Turn(reply="", mode="command")
    tools_ms = 0.0
    outcome: Outcome | None = None
    if command.name == "help":
        turn.reply = help_text()
    else:
        name, arguments = tool_call(command)
        tool = TOOLS_BY_NAME[name]
        try:
            args: ToolArgs | None = parse_arguments(tool, arguments)
        except ToolError as exc:
            args, result = None, ToolResult.failed(exc.problem)
        else:
            result = await run_parsed(tool, args, ctx)
        prepared_ms = (clock() - started) * 1000
        if command.is_write and not execute_writes:
            turn.reply = await _propose(command, result, ctx)
            turn.proposals.extend([result.proposal] if result.proposal is not None else [])
        elif command.is_write:
            turn.reply, result, outcome = await _execute(command, result, ctx)
        elif presenter_for(name) is not None:
            turn.reply = result_text(name, args, result)
        else:  # LEGACY until every result type has its presenter
            turn.reply = read_reply(name, command.args, result)
        turn.tool_calls.append(ToolCallRecord(name, arguments, result, prepared_ms, outcome, args=args))
        tools_ms = (clock() - started) * 1000
    turn.pd_requests = ctx.client.requests_sent - before
    turn.timings = {"total": (clock() - started) * 1000, "llm": 0.0, "tools": tools_ms}
    return turn


async def _propose(command: Command, prepared: ToolResult, ctx: ToolContext) -> str:
    """The reply to a write that waits for a click: what would change, or why it can't."""
    proposal = prepared.proposal
    if proposal is None:
        reason = " ".join(p for p in (prepared.error, prepared.hint) if p) or "That change could not be prepared."
        await record_refused(tool_call(command)[0], reason, ctx.asker)
        return reason
    return "\n".join([f"{proposal.summary}: confirm below.", *proposal.lines, *proposal.noops])


async def _execute(command: Command, prepared: ToolResult, ctx: ToolContext,
                   ) -> tuple[str, ToolResult, Outcome | None]:
    """Execute the prepared write at once (the typed command was the confirmation).

    The reply, the result to record (without the proposal, so no renderer offers to confirm it
    again) and the outcome (None when nothing was prepared to execute).
    """
    proposal = prepared.proposal
    if proposal is None:  # refused (e.g. an Observer), or an unknown incident, a bad time...
        reason = prepared.error or "That change could not be prepared."
        await record_refused(tool_call(command)[0], reason, ctx.asker)
        return reason, prepared, None
    try:
        outcome = await execute(proposal, ctx.asker, ctx.client, deadline=ctx.deadline)
    except Exception:
        log.exception("command %s failed while executing", command.name)
        outcome = Outcome(False, UNCONFIRMED, maybe_applied=True)
    ran = WriteRan(action=proposal.action, summary=proposal.summary, changes=list(proposal.lines),
                   no_ops=list(proposal.noops))
    recorded = ToolResult("ok" if outcome.ok else "error", ran,
                          problem=None if outcome.ok else ToolProblem("pagerduty", outcome.summary))
    return write_reply(command.name, proposal, outcome, ctx.tz.key), recorded, outcome
