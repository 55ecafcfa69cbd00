"""Run eval cases through the production loop against the PagerDuty sandbox, and score them.

Each run gets a fresh sandbox of the case's dataset at the case's ``now``, a ToolContext acting as
the case's asker (with that person's own sandbox token when the account has one), the real system
prompt and tool registry (:func:`bot.agent.loop.run_llm_turn`), and the given model. What the run
did (tool calls, proposals, LLM calls, tokens, latency, write requests PagerDuty received) is
scored by :func:`bot.evals.scorer.score_run`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from bot.agent.llm import ChatModel
from bot.agent.loop import Limits, ModelFailed, run_llm_turn
from bot.agent.prompt import DM, ChannelInfo
from bot.agent.turn import Turn
from bot.evals.cases import EvalCase
from bot.evals.report import CaseResult, EvalReport, RunRecord
from bot.evals.scorer import Observation, ObservedCall, Scope, ToolSpec, score_run, tool_specs
from bot.pagerduty import PagerDutyClient
from bot.sandbox import Sandbox, build_sandbox, default_token
from bot.tools.base import Asker, Tool, ToolContext

DEFAULT_LIMITS = Limits()
ModelFor = Callable[[EvalCase, int], ChatModel]
"""The model for one run: ``(case, iteration) -> ChatModel`` (a scripted model per run in tests)."""


class EvalAborted(RuntimeError):
    """The model is unavailable: running the remaining cases would only repeat the failure."""


def asker_context(sandbox: Sandbox, email: str) -> ToolContext:
    """A ToolContext acting as ``email`` in ``sandbox``: that person's own token when they have one."""
    world = sandbox.world
    user = world.user_by_email(email)
    if user is None:
        raise ValueError(f"{email} is not a user of this sandbox account")
    fallback = default_token("large" if len(world.services) > 100 else "demo")
    token = next((t for t, g in world.tokens.items()
                  if g.user_id == user.id and not g.read_only and not g.revoked), fallback)
    client = PagerDutyClient(token, transport=sandbox.transport())
    asker = Asker(user.id, user.email, user.name, ZoneInfo(user.time_zone), user.role)
    return ToolContext(client, asker, world.now)


def observe(turn: Turn, *, failed: ModelFailed | None = None, executed_writes: int = 0) -> Observation:
    return Observation(
        reply=turn.reply,
        calls=[ObservedCall(c.name, c.arguments, c.result.status) for c in turn.tool_calls],
        llm_calls=turn.llm_calls,
        tokens=turn.usage.total,
        latency_ms=turn.timings.get("total", 0.0),
        pd_requests=turn.pd_requests,
        executed_writes=executed_writes,
        failure=None if failed is None else f"{failed.kind}: {failed.reason}",
        failure_kind=None if failed is None else failed.kind,
        failure_reason=None if failed is None else failed.reason,
    )


async def run_case(case: EvalCase, model: ChatModel, iteration: int = 0, *, limits: Limits = DEFAULT_LIMITS,
                   tools: Sequence[Tool[Any]] | None = None,
                   specs: dict[str, ToolSpec] | None = None) -> RunRecord:
    """One run of ``case`` with ``model``, scored."""
    if tools is None:
        from bot.tools.registry import ALL_TOOLS

        tools = ALL_TOOLS
    sandbox = build_sandbox(case.dataset, now=case.now, rate_limit_per_minute=None)
    ctx = asker_context(sandbox, case.asker)
    channel = DM if case.channel is None else ChannelInfo(case.channel.kind, case.channel.incident)
    history = [{"role": m.role, "content": m.content} for m in case.thread]
    failed: ModelFailed | None = None
    try:
        turn = await run_llm_turn(model, case.prompt, ctx, history=history, tools=tools, channel=channel,
                                  limits=limits)
    except ModelFailed as exc:
        turn, failed = exc.turn, exc
    finally:
        await ctx.client.aclose()
    executed = sum(1 for request in sandbox.requests if request.method != "GET")
    observation = observe(turn, failed=failed, executed_writes=executed)
    aliases = {incident.id.lower(): str(incident.number) for incident in sandbox.world.incidents.values()}
    scope = Scope(case.now, ctx.tz, aliases)
    score = score_run(case, observation, specs if specs is not None else tool_specs(tools), scope)
    proposals = [c.result.proposal.as_dict() for c in turn.tool_calls if c.result.proposal is not None]
    return RunRecord(iteration, observation, score, proposals)


async def run_eval(cases: Sequence[EvalCase], model_for: ModelFor, *, k: int = 1, limits: Limits = DEFAULT_LIMITS,
                   concurrency: int = 1, model_name: str = "unknown",
                   on_run: Callable[[EvalCase, RunRecord], None] | None = None) -> EvalReport:
    """Run every case ``k`` times and report.

    The first run goes alone: when the model is unavailable there, :class:`EvalAborted` is raised
    instead of repeating the failure for every case.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    from bot.tools.registry import ALL_TOOLS

    specs = tool_specs(ALL_TOOLS)
    results = [CaseResult(case) for case in cases]
    jobs = [(result, i) for i in range(k) for result in results]
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(result: CaseResult, iteration: int) -> None:
        async with gate:
            record = await run_case(result.case, model_for(result.case, iteration), iteration, limits=limits,
                                    tools=ALL_TOOLS, specs=specs)
        result.runs.append(record)
        if on_run is not None:
            on_run(result.case, record)

    if jobs:
        first, rest = jobs[0], jobs[1:]
        await one(*first)
        seen = first[0].runs[0].observation
        if seen.failure_kind == "unavailable":
            raise EvalAborted(seen.failure_reason or "the model is unavailable")
        await asyncio.gather(*(one(result, i) for result, i in rest))
    for result in results:
        result.runs.sort(key=lambda r: r.iteration)
    return EvalReport(results, k, model_name)
