"""Per-prompt figures: alex (``run_llm_turn`` with the registry) vs the naive baseline, same latencies."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks.model import ModelStats, PlanModel, RoutedModel
from benchmarks.naive import NAIVE_SCHEMAS, run_naive_turn
from benchmarks.prompts import Prompt, build_prompts
from bot.agent.loop import run_llm_turn
from bot.pagerduty import PagerDutyClient
from bot.sandbox import Sandbox, default_token
from bot.tools.base import Asker, ToolContext
from bot.tools.registry import openai_tools


@dataclass
class Figures:
    llm_calls: int
    tool_calls: int
    pd_requests: int
    schema_chars: int
    result_chars: int
    wall_ms: float
    cpu_ms: float
    """CPU of the strategy's own code: the process's CPU minus the in-process sandbox's and the model's."""
    ok: bool = True


@dataclass
class PromptFigures:
    key: str
    text: str
    seed: bool
    alex: Figures
    naive: Figures


class SandboxCpu:
    """Counts the CPU the in-process sandbox spends answering (its ``dispatch`` is synchronous).

    The response is encoded to JSON inside the timed part too (``raw``: the same bytes), so only the
    client's side (decoding, the tools) counts as alex's.
    """

    def __init__(self, sandbox: Sandbox) -> None:
        self.seconds = 0.0
        inner = sandbox.dispatch

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                response = inner(*args, **kwargs)
                if response.raw is None:
                    response.raw = response.encode()
                return response
            finally:
                self.seconds += time.process_time() - started

        sandbox.dispatch = timed  # type: ignore[method-assign]


def manager(sandbox: Sandbox) -> Asker:
    user = sandbox.world.users[sandbox.world.tokens[default_token("large")].user_id]
    return Asker(user.id, user.email, user.name, ZoneInfo(user.time_zone), user.role)


def schema_chars(schemas: list[dict[str, Any]]) -> int:
    return len(json.dumps(schemas, separators=(",", ":")))


async def _measure(sandbox: Sandbox, cpu: SandboxCpu, run: Callable[[ToolContext], Any],
                   stats: ModelStats) -> tuple[Any, float, float]:
    client = PagerDutyClient(default_token("large"), transport=sandbox.transport())
    ctx = ToolContext(client, manager(sandbox), sandbox.world.now)
    try:
        cpu_before, sandbox_before = time.process_time(), cpu.seconds
        started = time.perf_counter()
        outcome = await run(ctx)
        wall = time.perf_counter() - started
        own = time.process_time() - cpu_before - (cpu.seconds - sandbox_before) - stats.cpu_s
    finally:
        await client.aclose()
    return outcome, wall * 1000, max(0.0, own) * 1000


async def measure_prompt(sandbox: Sandbox, cpu: SandboxCpu, prompt: Prompt, llm_latency_s: float) -> PromptFigures:
    alex_model = RoutedModel({prompt.text: prompt.alex}, llm_latency_s)
    turn, wall, own = await _measure(sandbox, cpu, lambda ctx: run_llm_turn(alex_model, prompt.text, ctx),
                                     alex_model.stats)
    alex = Figures(turn.llm_calls, len(turn.tool_calls), turn.pd_requests, alex_model.stats.schema_chars,
                   alex_model.stats.result_chars, round(wall, 1), round(own, 1),
                   all(c.result.status != "error" for c in turn.tool_calls))
    naive_model = PlanModel(prompt.naive, llm_latency_s)
    nturn, wall, own = await _measure(sandbox, cpu, lambda ctx: run_naive_turn(naive_model, prompt.text, ctx),
                                      naive_model.stats)
    naive = Figures(nturn.llm_calls, nturn.tool_calls, nturn.pd_requests, naive_model.stats.schema_chars,
                    naive_model.stats.result_chars, round(wall, 1), round(own, 1))
    return PromptFigures(prompt.key, prompt.text, prompt.seed, alex, naive)


async def measure_prompts(sandbox: Sandbox, llm_latency_s: float) -> tuple[list[PromptFigures], list[Prompt]]:
    """Each prompt alone (sequential), so wall and CPU times are not mixed with the others'.

    Every prompt is answered once first, without latency, so a running server's state (imports,
    schema and zone caches) is warm: the figures are per message of a running bot, not a cold start.
    """
    cpu = SandboxCpu(sandbox)
    prompts = build_prompts(sandbox, manager(sandbox).time_zone)
    latency, sandbox.faults.base_latency = sandbox.faults.base_latency, 0.0
    try:
        for p in prompts:
            warm = RoutedModel({p.text: p.alex}, 0.0)
            await _measure(sandbox, cpu, lambda ctx, m=warm, t=p.text: run_llm_turn(m, t, ctx), warm.stats)
    finally:
        sandbox.faults.base_latency = latency
    return [await measure_prompt(sandbox, cpu, p, llm_latency_s) for p in prompts], prompts


def registry_schema_chars() -> tuple[int, int]:
    """(alex's whole tool list, the naive tool list), as sent to the model."""
    return schema_chars(openai_tools()), schema_chars(NAIVE_SCHEMAS)
