"""The tool-calling loop: one message in, one structured :class:`~bot.agent.turn.Turn` out.

Each step sends the conversation and the tools (strict schemas, built once per process) to the model;
tool calls it asks for have their arguments parsed once, when the step is planned, and run through
:func:`bot.tools.runner.run_parsed`, concurrently when it asks for several at once; their results go back
as ``tool`` messages. It is bounded everywhere:

* ``max_steps`` model calls; the last one is sent no tools, so the model has to answer;
* one deadline for the whole message, also set on ``ctx.deadline`` so PagerDuty retries stop too; when
  it runs out, the failure names what used the time: PagerDuty (and its slowest tool) or the model;
* an identical call already made in this turn is not repeated (the earlier result is returned);
* unknown tools and invalid arguments come back as error results the model can correct, for at most
  ``max_repairs`` consecutive steps; a write tool never runs on malformed arguments;
* each tool result is capped by the runner (8 KB).

An optional ``on_tool_start`` callback hears the tool names of each step before they run (to show
progress, e.g. the Slack thread's status); it gets at most ``PROGRESS_TIMEOUT_S``, and its failures
are logged and ignored. A :class:`Live` surface (a streamed Slack reply) hears more, under the same
rules: each step's calls before and after they run (:class:`StepCall`), and the model's text as it
streams in; and it may hold a stop signal. Once that is set (the person pressed Stop) the loop stops
at once (a model call or tools in flight are cancelled) and raises :class:`Stopped`: nothing more is
asked or run, and no proposal of this turn survives.

Write tools only prepare a :class:`~bot.tools.base.Proposal` (collected into ``turn.proposals``);
this loop never executes one. When the model fails (unreachable, too slow, empty answer) it raises
:class:`ModelFailed` so the caller can answer in command mode instead.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from bot.agent.llm import ChatModel, ModelRefused, ModelReply, ModelToolCall, ModelUnavailable, TextSink
from bot.agent.prompt import DM, ChannelInfo, system_prompt
from bot.agent.turn import ToolCallRecord, Turn
from bot.store.thread_memory import sanitize_history
from bot.tools.base import Tool, ToolArgs, ToolContext, ToolResult
from bot.tools.errors import ToolError
from bot.tools.runner import parse_arguments, run_parsed
from bot.tools.schema import openai_tools

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger("bot.agent.loop")

MAX_MESSAGE_CHARS = 8_000
PROGRESS_TIMEOUT_S = 2.0
FINAL_STEP_NOTE = ("No more tool calls are possible for this message. Answer now from the tool results above; "
                   "say briefly what you could not find out.")

Message = dict[str, Any]
FailureKind = Literal["unavailable", "refused", "timeout", "empty", "deadline", "error", "pagerduty"]
"""``pagerduty``: the message deadline ran out mostly waiting for PagerDuty (not the model's fault)."""
ToolStart = Callable[[list[str]], Awaitable[None]]
"""Told the tool names of a step before they run."""
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class StepCall:
    """One tool call of a step as a live surface sees it: before it runs (``status`` None), then after."""

    id: str
    """Unique in the turn (the loop's own when the model's is missing or repeated)."""
    name: str
    arguments: dict[str, Any] | str
    """As the model sent them: untrusted."""
    status: str | None = None
    """The result's status once it ran: ``ok``, ``no_data``, ``proposal`` or ``error``."""


ToolsHeard = Callable[[list[StepCall]], Awaitable[None]]
"""Told a step's calls before they run (no status) and after (with their status)."""


@dataclass(frozen=True, slots=True)
class Live:
    """A surface showing the turn as it happens (all optional; failures there never fail the turn)."""

    on_tools: ToolsHeard | None = None
    on_text: TextSink | None = None
    """The model's text as it streams in (every step's, not only the answer's)."""
    stop: asyncio.Event | None = None
    """Set when the person stopped the answer: the loop raises :class:`Stopped`."""

    @property
    def stopped(self) -> bool:
        return self.stop is not None and self.stop.is_set()


@dataclass(frozen=True, slots=True)
class Limits:
    """How far one message may go."""

    max_steps: int = 6
    """Model calls; the last one gets no tools."""
    deadline_s: float = 60.0
    """Wall-clock seconds for the whole message (model calls and tools)."""
    max_repairs: int = 2
    """Consecutive steps with unknown tools or invalid arguments before the model must answer."""
    max_proposals: int = 3
    """Proposals one message may prepare; more calls to write tools get an error result."""
    max_incidents: int = 10
    """Incidents all of one message's proposals may cover together (the same cap as one proposal's,
    so a bulk change cannot be split into several cards); past it every incident proposal is dropped."""

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(max_steps=settings.max_tool_steps, deadline_s=settings.message_deadline_seconds)


class Stopped(Exception):
    """The person stopped the answer (:attr:`Live.stop`); ``turn`` holds what was done before, without any
    proposal: none may be shown or stored after a stop."""

    def __init__(self, turn: Turn) -> None:
        super().__init__("stopped")
        self.turn = turn


class _Halt(Exception):
    """Raised inside the loop when the stop signal interrupted a model call or a step's tools."""


class ModelFailed(Exception):
    """The model could not produce an answer; ``turn`` holds what was done before it failed.

    The caller answers in command mode instead, telling the person the model is unavailable, or, for
    ``kind == "pagerduty"``, that PagerDuty was too slow (``reason`` names the tool).
    Proposals in ``turn`` were never confirmed and should be dropped.
    """

    def __init__(self, kind: FailureKind, reason: str, turn: Turn) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.turn = turn


async def run_llm_turn(
    model: ChatModel,
    message: str,
    ctx: ToolContext,
    *,
    history: Sequence[Message] = (),
    tools: Sequence[Tool[Any]] | None = None,
    channel: ChannelInfo = DM,
    limits: Limits = Limits(),
    transcript: list[Message] | None = None,
    on_tool_start: ToolStart | None = None,
    live: Live | None = None,
) -> Turn:
    """Answer ``message`` with the model and ``tools`` (default: the registry's ALL_TOOLS).

    ``history`` is earlier messages of the thread (from :mod:`bot.store.thread_memory`). When ``transcript``
    is given, the messages this turn added (the person's message, tool calls and results, the reply)
    are appended to it, for the caller to store in thread memory after a successful turn.
    ``on_tool_start`` is awaited with each step's tool names before they run; ``live`` hears the calls
    and the text as they happen and may stop the turn.

    Raises :class:`ModelFailed` when the model is unavailable, too slow or answers nothing, and
    :class:`Stopped` when ``live.stop`` was set.
    """
    if tools is None:
        from bot.tools.registry import ALL_TOOLS

        tools = ALL_TOOLS
    run = _TurnRun(model, ctx, tools, limits, on_tool_start, live or Live())
    return await run.answer(message[:MAX_MESSAGE_CHARS], list(history), channel,
                            transcript if transcript is not None else [])


@dataclass(slots=True)
class _Call:
    """One tool call of a step, and how it will be answered."""

    call: ModelToolCall
    arguments: dict[str, Any] | str
    tool: Tool[Any] | None = None
    args: ToolArgs | None = None
    """The arguments as the tool's model, parsed once when the call is planned."""
    key: tuple[str, str] | None = None
    result: ToolResult[Any] | None = None
    """Known without running: an error (unknown tool, bad arguments) or a repeat of an earlier call."""
    malformed: bool = False
    repeat: bool = False
    duration_ms: float = 0.0


class _TurnRun:
    def __init__(self, model: ChatModel, ctx: ToolContext, tools: Sequence[Tool[Any]], limits: Limits,
                 on_tool_start: ToolStart | None = None, live: Live | None = None) -> None:
        self.model = model
        self.on_tool_start = on_tool_start
        self.live = live or Live()
        self.ctx = ctx
        self.tools = {tool.name: tool for tool in tools}
        self.schemas = openai_tools(tools)
        self.limits = limits
        self.clock = time.monotonic  # the PagerDuty client's clock: ctx.deadline is on it
        self.started = self.clock()
        own = self.started + limits.deadline_s
        # One deadline for the model and PagerDuty: the caller's when it set an earlier one (the agent sets
        # it when the message arrived), and PagerDuty retries and waits stop at it too.
        self.deadline = own if ctx.deadline is None else min(ctx.deadline, own)
        ctx.deadline = self.deadline
        self.pd_before = ctx.client.requests_sent
        self.turn = Turn(reply="", mode="llm")
        self.llm_ms = 0.0
        self.tools_ms = 0.0
        self.done: dict[tuple[str, str], ToolResult[Any]] = {}
        self.bulk_refused = False
        self.tool_ms_by_name: dict[str, float] = {}
        """Time each tool spent (mostly waiting for PagerDuty), to say which one was slow."""

    async def answer(self, message: str, history: list[Message], channel: ChannelInfo,
                     transcript: list[Message]) -> Turn:
        user: Message = {"role": "user", "content": message}
        messages: list[Message] = [
            {"role": "system", "content": system_prompt(self.ctx.asker, self.ctx.now, channel)},
            *sanitize_history(history), user]
        transcript.append(user)
        failures_in_a_row = 0
        for step in range(1, self.limits.max_steps + 1):
            self._check_stop()
            final = step == self.limits.max_steps or failures_in_a_row > self.limits.max_repairs
            request = [*messages, {"role": "system", "content": FINAL_STEP_NOTE}] if final and step > 1 else messages
            reply = await self._complete(request, [] if final else self.schemas)
            self._check_stop()
            if final or not reply.tool_calls:
                return self._finish(reply, transcript, capped=final and bool(reply.tool_calls))
            calls = self._plan(reply.tool_calls, step)
            assistant: Message = {"role": "assistant", "content": reply.text or None, "tool_calls": [
                {"id": c.call.id, "type": "function",
                 "function": {"name": c.call.name, "arguments": c.call.arguments}} for c in calls]}
            await self._tell_live([StepCall(c.call.id, c.call.name, c.arguments) for c in calls])
            await self._tell_start([c.call.name for c in calls])
            results = await self._run(calls)
            self._check_stop()
            await self._tell_live([StepCall(c.call.id, c.call.name, c.arguments, r.status)
                                   for c, r in zip(calls, results, strict=True)])
            answers = [{"role": "tool", "tool_call_id": c.call.id, "content": r.to_json()}
                       for c, r in zip(calls, results, strict=True)]
            messages += [assistant, *answers]
            transcript += [assistant, *answers]
            failures_in_a_row = failures_in_a_row + 1 if any(c.malformed for c in calls) else 0
        raise AssertionError("unreachable: the last step always finishes")

    async def _complete(self, messages: list[Message], tools: list[dict[str, Any]]) -> ModelReply:
        remaining = self.deadline - self.clock()
        if remaining <= 0:
            raise self._out_of_time("deadline", "There was no time left to ask the model.")
        started = self.clock()
        failure: tuple[FailureKind, str] | None = None
        try:
            async with asyncio.timeout(remaining):
                reply = await self._unless_stopped(self._ask(messages, tools))
        except _Halt:
            self.llm_ms += (self.clock() - started) * 1000
            self.turn.llm_calls += 1
            raise self._stopped() from None
        except ModelRefused as exc:
            failure = ("refused", str(exc))
        except ModelUnavailable as exc:
            failure = ("unavailable", str(exc))
        except TimeoutError:
            failure = ("timeout", "The model did not answer in time.")
        except Exception as exc:
            log.warning("model call failed: %s", type(exc).__name__)
            failure = ("error", "The model failed unexpectedly.")
        self.llm_ms += (self.clock() - started) * 1000
        self.turn.llm_calls += 1
        if failure is not None and failure[0] == "timeout":
            raise self._out_of_time(*failure)
        if failure is not None:
            raise self._failed(*failure)
        self.turn.usage.add(reply.usage)
        return reply

    def _plan(self, tool_calls: list[ModelToolCall], step: int) -> list[_Call]:
        calls: list[_Call] = []
        seen_ids: set[str] = set()
        for index, raw in enumerate(tool_calls):
            call_id = raw.id if raw.id and raw.id not in seen_ids else f"call_{step}_{index}"
            seen_ids.add(call_id)
            call = ModelToolCall(call_id, raw.name, raw.arguments)
            planned = _Call(call, _arguments_for_record(raw.arguments))
            calls.append(planned)
            tool = self.tools.get(raw.name)
            if tool is None:
                planned.malformed = True
                planned.result = ToolResult.fail(f'There is no tool named "{raw.name}".',
                                                  f"Use one of: {', '.join(self.tools)}.", kind="call")
                continue
            try:
                args = parse_arguments(tool, raw.arguments)
            except ToolError as exc:
                # A write tool never runs on malformed arguments: no proposal is prepared.
                planned.malformed = True
                planned.result = ToolResult.fail(exc.message, exc.hint, kind="call")
                continue
            planned.tool = tool
            planned.args = args
            planned.key = (tool.name, args.model_dump_json())
            if planned.key in self.done:
                planned.repeat = True
                planned.result = self.done[planned.key]
        return calls

    async def _ask(self, messages: list[Message], tools: list[dict[str, Any]]) -> ModelReply:
        """One model call; with a live text sink its text streams there (guarded: a failing surface never
        fails the call). Without one, ``complete`` is called as every model implements it."""
        sink = self.live.on_text
        if sink is None:
            return await self.model.complete(messages, tools)

        async def heard(piece: str) -> None:
            try:
                await sink(piece)
            except Exception as exc:
                log.warning("on_text failed: %s", type(exc).__name__)

        return await self.model.complete(messages, tools, on_text=heard)

    async def _tell_live(self, calls: list[StepCall]) -> None:
        if self.live.on_tools is None:
            return
        try:
            async with asyncio.timeout(max(0.0, min(PROGRESS_TIMEOUT_S, self.deadline - self.clock()))):
                await self.live.on_tools(calls)
        except Exception as exc:  # a courtesy, like on_tool_start
            log.warning("on_tools failed: %s", type(exc).__name__)

    def _check_stop(self) -> None:
        if self.live.stopped:
            raise self._stopped()

    def _stopped(self) -> Stopped:
        self.turn.proposals = []
        self._account()
        self.turn.notice = "Stopped at the person's request."
        return Stopped(self.turn)

    async def _unless_stopped(self, work: Awaitable[T]) -> T:
        """``work``'s result, unless the stop signal comes first: then it is cancelled and ``_Halt`` raised
        (the caller counts the time spent and raises :class:`Stopped`)."""
        stop = self.live.stop
        if stop is None:
            return await work
        job = asyncio.ensure_future(work)
        waiter = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({job, waiter}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (job, waiter):
                task.cancel()
            await asyncio.gather(job, waiter, return_exceptions=True)
        if stop.is_set():
            raise _Halt
        return job.result()

    async def _tell_start(self, names: list[str]) -> None:
        if self.on_tool_start is None:
            return
        try:
            async with asyncio.timeout(max(0.0, min(PROGRESS_TIMEOUT_S, self.deadline - self.clock()))):
                await self.on_tool_start(names)
        except Exception as exc:  # progress is a courtesy: never the reason an answer fails
            log.warning("on_tool_start failed: %s", type(exc).__name__)

    async def _run(self, calls: list[_Call]) -> list[ToolResult[Any]]:
        """Run the step's calls concurrently; identical calls in the step run once."""
        jobs: dict[tuple[str, str], Awaitable[ToolResult[Any]]] = {}
        for c in calls:
            if c.result is None and c.key is not None and c.tool is not None and c.key not in jobs:
                jobs[c.key] = self._timed(c)
        started = self.clock()
        finished: dict[tuple[str, str], ToolResult[Any]] = {}
        try:
            async with asyncio.timeout(max(0.0, self.deadline - started)):
                finished = dict(zip(jobs, await self._unless_stopped(asyncio.gather(*jobs.values())), strict=True))
        except TimeoutError:
            self.tools_ms += (self.clock() - started) * 1000
            raise self._pagerduty_slow() from None
        except _Halt:
            self.tools_ms += (self.clock() - started) * 1000
            raise self._stopped() from None
        self.tools_ms += (self.clock() - started) * 1000
        results: list[ToolResult[Any]] = []
        for c in calls:
            result = c.result if c.result is not None else finished[c.key] if c.key else None
            assert result is not None
            if c.key is not None and not c.repeat and c.key not in self.done:
                result = self._collect(c, result)
                self.done[c.key] = result
            elif c.key is not None and not c.repeat:
                c.repeat = True  # same call twice in this step: answered once
                result = self.done[c.key]
            self.turn.tool_calls.append(ToolCallRecord(c.call.name, c.arguments, result,
                                                       0.0 if c.repeat else c.duration_ms, args=c.args))
            results.append(result)
        return results

    async def _timed(self, c: _Call) -> ToolResult[Any]:
        assert c.tool is not None and c.args is not None
        started = self.clock()
        try:
            return await run_parsed(c.tool, c.args, self.ctx)
        finally:
            c.duration_ms = (self.clock() - started) * 1000
            self.tool_ms_by_name[c.tool.name] = self.tool_ms_by_name.get(c.tool.name, 0.0) + c.duration_ms

    def _collect(self, c: _Call, result: ToolResult[Any]) -> ToolResult[Any]:
        """Keep a write tool's proposal (at most ``max_proposals`` per message)."""
        if result.proposal is None:
            return result
        covered = sum(len(p.incident_ids) for p in self.turn.proposals) + len(result.proposal.incident_ids)
        if result.proposal.incident_ids and (self.bulk_refused or covered > self.limits.max_incidents):
            self.bulk_refused = True
            self.turn.proposals = [p for p in self.turn.proposals if not p.incident_ids]
            return ToolResult.fail(
                f"Together these changes cover more than {self.limits.max_incidents} incidents, the limit for one "
                "message, so none of them is proposed (alex never picks a subset).",
                f"Tell the user the limit is {self.limits.max_incidents} incidents per change and ask them to "
                "name which ones, or to make a bulk change in PagerDuty itself.")
        if len(self.turn.proposals) >= self.limits.max_proposals:
            return ToolResult.fail(f"Only {self.limits.max_proposals} changes can be proposed in one message.",
                                   "Tell the person which changes are prepared and to ask for the rest "
                                   "in a new message.", kind="call")
        self.turn.proposals.append(result.proposal)
        return result

    def _finish(self, reply: ModelReply, transcript: list[Message], *, capped: bool) -> Turn:
        self._check_stop()
        text = (reply.text or "").strip()
        if not text and self.turn.proposals:
            text = "Prepared for your confirmation: " + "; ".join(p.summary for p in self.turn.proposals) + "."
        if not text and capped:
            text = (f"I couldn't finish that within {self.limits.max_steps} steps. "
                    "Try a narrower question (one service, a shorter time window).")
            self.turn.notice = "Stopped at the step limit."
        if not text:
            raise self._failed("empty", "The model gave an empty answer.")
        transcript.append({"role": "assistant", "content": text})
        self.turn.reply = text
        self._account()
        return self.turn

    def _out_of_time(self, kind: FailureKind, model_reason: str) -> ModelFailed:
        """The message deadline ran out: blame PagerDuty when its tools used more of it than the model."""
        if self.tools_ms > self.llm_ms:
            return self._pagerduty_slow()
        return self._failed(kind, model_reason)

    def _pagerduty_slow(self) -> ModelFailed:
        slowest = max(self.tool_ms_by_name.items(), key=lambda item: item[1], default=("a PagerDuty tool", 0.0))
        name, spent_ms = slowest
        return self._failed("pagerduty", (
            f"PagerDuty was slow: {name} took {spent_ms / 1000:.0f} s of the {self.limits.deadline_s:g} s one "
            "message may take, so there was no time left to answer."))

    def _failed(self, kind: FailureKind, reason: str) -> ModelFailed:
        self._account()
        self.turn.notice = reason
        return ModelFailed(kind, reason, self.turn)

    def _account(self) -> None:
        self.turn.pd_requests = self.ctx.client.requests_sent - self.pd_before
        self.turn.timings = {"total": (self.clock() - self.started) * 1000, "llm": self.llm_ms,
                             "tools": self.tools_ms}


def _arguments_for_record(raw: str) -> dict[str, Any] | str:
    try:
        value = json.loads(raw or "{}")
    except ValueError:
        return raw
    return value if isinstance(value, dict) else raw
