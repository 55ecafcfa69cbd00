"""The agent: one message in, one :class:`~bot.agent.turn.Turn` out, whichever way it can be answered.

* A message that is exactly a command ("oncall platform-engineering", "ack 1004") runs in command
  mode: no LLM call at all (the fast path). A command typed as a question ("who is on call for
  platform-engineering?") goes to the model when there is one.
* Without a model configured, everything is command mode (:func:`~bot.agent.commands.read_message`):
  read questions in other words run as the read command they ask for, a write runs only when typed as
  its exact command (not "ack 1252?"), anything else gets the closest command.
* Otherwise the LLM tool loop answers, with the thread's earlier exchanges from memory. When the model
  fails (unreachable, too slow, empty), the answer falls back to command mode and says so; when the
  time ran out waiting for PagerDuty, it says PagerDuty was slow (and which tool), not the model.

Every path is bounded by one deadline per message (``ALEX_MESSAGE_DEADLINE_SECONDS``), set on
``ctx.deadline`` so PagerDuty requests and retries stop at it too; a command run after the model
failed gets what is left of it, not a fresh one.

Proposals the model prepares come back in ``turn.proposals``; nothing is written until
:meth:`Agent.confirm` runs one, as the person who asked.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.agent.commands import Command, Reading, parse_command, run_command, tool_for
from bot.agent.commands.reading import read_parsed
from bot.agent.llm import ChatModel, make_chat_model
from bot.agent.loop import Limits, Live, ModelFailed, Stopped, ToolStart, run_llm_turn
from bot.agent.prompt import DM, ChannelInfo
from bot.agent.turn import Turn
from bot.store.thread_memory import Message, ThreadMemory
from bot.tools.base import Asker, Proposal, Tool, ToolContext
from bot.tools.proposals import Outcome, execute

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger("bot.agent")

NO_LLM_NOTICE = "Command mode: no LLM is configured (set OPENAI_API_KEY or OPENAI_BASE_URL)."
"""Shown once with a command-mode answer (the reply itself does not repeat it)."""
STOPPED_REPLY = "Stopped, as you asked: nothing was prepared or changed."
"""The reply of a turn the person stopped (a live surface's Stop)."""
READ_ONLY_REFUSAL = ("alex is read-only here (ALEX_READ_ONLY is set), so it can't change PagerDuty. "
                     "Make the change in PagerDuty itself.")
DEADLINE_GRACE_S = 1.0
"""A command gets this long past the deadline to finish on its own (PagerDuty requests already stop at
the deadline) before it is cut off."""
MIN_FALLBACK_S = 1.0
"""A command is not started after a model failure with less than this left of the message's time."""


class Agent:
    """Answers messages for one deployment: a model (or none), thread memory (or none), the tools."""

    def __init__(self, model: ChatModel | None, memory: ThreadMemory | None = None, *,
                 limits: Limits | None = None, tools: Sequence[Tool[Any]] | None = None,
                 model_name: str | None = None, command_fast_path: bool = True,
                 read_only: bool = False) -> None:
        """``command_fast_path=False`` sends exact commands to the model too (to measure the model
        on them); they still run as commands when the model fails. ``read_only`` (``ALEX_READ_ONLY``)
        removes every write: the model gets read tools only,
        typed write commands and confirmations are refused."""
        if tools is None:
            from bot.tools.registry import ALL_TOOLS

            tools = ALL_TOOLS
        self.model = model
        self.memory = memory
        self.limits = limits or Limits()
        self.tools = list(tools)
        self.model_name = model_name or (getattr(model, "model", None) if model is not None else None)
        self.command_fast_path = command_fast_path
        self.read_only = read_only

    def tools_for(self, asker: Asker) -> list[Tool[Any]]:
        """The tools the model is offered for ``asker``: read tools only when alex is read-only or the
        asker cannot write (an Observer or Stakeholder, or no PagerDuty account): a write tool the
        person could never confirm is not worth a proposal, nor an injected instruction's target."""
        if self.read_only or not asker.can_write:
            return [tool for tool in self.tools if tool.kind == "read"]
        return list(self.tools)

    @classmethod
    def from_settings(cls, settings: Settings, memory: ThreadMemory | None = None) -> Agent:
        """The configured model (None: command mode), limits from ``settings``, and ``memory``."""
        model = make_chat_model(settings)
        return cls(model, memory, limits=Limits.from_settings(settings),
                   model_name=settings.llm_model if model is not None else None, read_only=settings.read_only)

    def describe_mode(self) -> str:
        if self.model is None:
            return "command mode: no LLM configured (set OPENAI_API_KEY or OPENAI_BASE_URL to use one)"
        return f"LLM {self.model_name or 'configured'}"

    async def respond(self, message: str, ctx: ToolContext, *, thread_id: str | None = None,
                      channel: ChannelInfo = DM, on_tool_start: ToolStart | None = None,
                      propose_writes: bool = False, live: Live | None = None) -> Turn:
        """Answer ``message`` from ``ctx.asker``; ``thread_id`` links follow-ups through memory;
        ``on_tool_start`` hears the tool names of each model step before they run (progress);
        ``propose_writes``: a write command is only prepared (``turn.proposals``), never run at once
        (for commands alex inferred, such as a war room's "resolve it"); ``live`` hears the model's steps
        and text as they happen (a streamed reply), and once its stop signal is set the answer ends with
        :data:`STOPPED_REPLY`, no proposal, and no command-mode fallback."""
        started = time.monotonic()
        deadline = started + self.limits.deadline_s
        ctx.deadline = deadline if ctx.deadline is None else min(ctx.deadline, deadline)
        text = message.strip()
        command = parse_command(text)
        if command is not None and command.is_write and self.read_only:
            return _finish(Turn(READ_ONLY_REFUSAL, "command"), started)
        if self.model is None:
            return await self._without_model(text, command, ctx, thread_id, started, propose_writes=propose_writes)
        if command is not None and self.command_fast_path and not command.question:
            turn = await self._run_command(command, ctx, started, execute_writes=not propose_writes)
            await self._remember(thread_id, [_said("user", text), _said("assistant", turn.reply)])
            return turn
        history = await self._history(thread_id)
        transcript: list[Message] = []
        try:
            turn = await run_llm_turn(self.model, text, ctx, history=history, tools=self.tools_for(ctx.asker),
                                      channel=channel, limits=self.limits, transcript=transcript,
                                      on_tool_start=on_tool_start, live=live)
        except Stopped as stopped:
            return await self._stopped(stopped.turn, text, thread_id, started)
        except ModelFailed as failed:
            if live is not None and live.stopped:  # stopped while the model failed: no fallback either
                return await self._stopped(failed.turn, text, thread_id, started)
            return await self._fallback(failed, text, command, ctx, thread_id, started,
                                        propose_writes=propose_writes)
        await self._remember(thread_id, transcript)
        return turn

    async def confirm(self, proposal: Proposal, ctx: ToolContext, *, thread_id: str | None = None) -> Outcome:
        """Execute a confirmed proposal as ``ctx.asker`` (``From`` = their e-mail, within their role)."""
        if self.read_only:
            return Outcome(False, READ_ONLY_REFUSAL)
        deadline = time.monotonic() + self.limits.deadline_s
        outcome = await execute(proposal, ctx.asker, ctx.client, deadline=deadline)
        await self._remember(thread_id, [
            _said("user", f"Confirmed: {proposal.summary}"),
            _said("assistant", "\n".join([outcome.summary, *outcome.lines]))])
        return outcome

    async def aclose(self) -> None:
        """Close the model client and the memory."""
        if self.model is not None:
            await self.model.aclose()
        if self.memory is not None:
            await self.memory.aclose()

    async def _run_command(self, command: Command, ctx: ToolContext, started: float, *,
                           execute_writes: bool = True) -> Turn:
        """The command within ``ctx.deadline`` (its PagerDuty requests stop there; this cuts off the rest)."""
        remaining = self.limits.deadline_s if ctx.deadline is None else ctx.deadline - time.monotonic()
        try:
            async with asyncio.timeout(max(0.0, remaining) + DEADLINE_GRACE_S):
                turn = await run_command(command, ctx, execute_writes=execute_writes)
        except TimeoutError:
            turn = Turn(self._too_slow(command), "command", notice="PagerDuty did not answer in time.")
        return _finish(turn, started)

    def _too_slow(self, command: Command) -> str:
        tool = tool_for(command)
        waiting = command.name if tool is None else tool.name
        text = (f"PagerDuty did not answer in time: {waiting} was still waiting after the "
                f"{self.limits.deadline_s:g} s one message may take. Try again in a moment.")
        if command.is_write:
            text += " If it was a change, check in PagerDuty whether it was applied before repeating it."
        return text

    async def _without_model(self, text: str, command: Command | None, ctx: ToolContext, thread_id: str | None,
                             started: float, *, propose_writes: bool = False) -> Turn:
        """Command mode, no model configured: the command the text is or asks for, else why nothing runs
        and the closest command; the no-LLM notice once, with what a question was read as. ``command`` is
        ``parse_command(text)``, already made by :meth:`respond`."""
        reading: Reading = read_parsed(text, command)
        if reading.command is None:
            return _finish(Turn(reading.reply, "command", notice=NO_LLM_NOTICE), started)
        turn = await self._run_command(reading.command, ctx, started, execute_writes=not propose_writes)
        if reading.read_as and turn.notice is None:
            turn.notice = f"Read as `{reading.read_as}`. {NO_LLM_NOTICE}"
        await self._remember(thread_id, [_said("user", text), _said("assistant", turn.reply)])
        return turn

    async def _stopped(self, done: Turn, text: str, thread_id: str | None, started: float) -> Turn:
        """The turn the person stopped: what ran is kept (for the record), nothing is proposed."""
        turn = Turn(STOPPED_REPLY, "llm", tool_calls=list(done.tool_calls), pd_requests=done.pd_requests,
                    llm_calls=done.llm_calls, usage=done.usage,
                    timings={k: v for k, v in done.timings.items() if k != "total"},
                    notice="Stopped at your request.")
        await self._remember(thread_id, [_said("user", text), _said("assistant", STOPPED_REPLY)])
        return _finish(turn, started)

    async def _fallback(self, failed: ModelFailed, text: str, command: Command | None, ctx: ToolContext,
                        thread_id: str | None, started: float, *, propose_writes: bool = False) -> Turn:
        """Command mode after the model failed: say so, keep what was already done, run a command if it is one
        (within what is left of the message's time). ``command`` is ``parse_command(text)`` from :meth:`respond`."""
        done = failed.turn  # its proposals were never shown to anyone: dropped
        reason = failed.reason.strip().rstrip(".") + "."
        turn = Turn("", "command", tool_calls=list(done.tool_calls), pd_requests=done.pd_requests,
                    llm_calls=done.llm_calls, usage=done.usage,
                    timings={k: v for k, v in done.timings.items() if k != "total"},
                    notice=f"Model unavailable ({failed.kind}): {reason} Answered in command mode.")
        if failed.kind == "pagerduty":  # the model was fine: PagerDuty used up the time
            turn.reply = f"{reason} Try again in a moment, or ask about something narrower."
            turn.notice = "Out of time waiting for PagerDuty."
            return _finish(turn, started)
        # A refused request (an unknown model, a refused setting) is the operator's to fix, and says so.
        unavailable = reason if failed.kind == "refused" else f"The model is unavailable right now. {reason}"
        reading = read_parsed(text, command)
        if reading.command is None:
            turn.reply = f"{unavailable} Exact commands still work. {reading.reply}"
            return _finish(turn, started)
        left = self.limits.deadline_s if ctx.deadline is None else ctx.deadline - time.monotonic()
        if left < MIN_FALLBACK_S:
            turn.reply = f"{unavailable} There was no time left to run it as a command; send it again."
            return _finish(turn, started)
        answer = await self._run_command(reading.command, ctx, time.monotonic(), execute_writes=not propose_writes)
        ran = f"`{reading.read_as}`" if reading.read_as else "a command"
        turn.reply = f"{unavailable} I ran this as {ran}:\n\n{answer.reply}"
        turn.tool_calls += answer.tool_calls
        turn.proposals = list(answer.proposals)
        turn.pd_requests += answer.pd_requests
        await self._remember(thread_id, [_said("user", text), _said("assistant", answer.reply)])
        return _finish(turn, started)

    async def _history(self, thread_id: str | None) -> list[Message]:
        if thread_id is None or self.memory is None:
            return []
        try:
            return await self.memory.load(thread_id)
        except Exception as exc:  # an unreadable memory must not stop the answer
            log.warning("thread memory unavailable: %s", type(exc).__name__)
            return []

    async def _remember(self, thread_id: str | None, messages: list[Message]) -> None:
        if thread_id is None or self.memory is None or not messages:
            return
        try:
            await self.memory.append(thread_id, messages)
        except Exception as exc:
            log.warning("thread memory not saved: %s", type(exc).__name__)


def _said(role: str, content: str) -> Message:
    return {"role": role, "content": content}


def _finish(turn: Turn, started: float) -> Turn:
    turn.timings.setdefault("total", (time.monotonic() - started) * 1000)
    return turn
