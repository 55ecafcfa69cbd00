"""The naive baseline: an LLM wired straight to PagerDuty's REST API.

A few generic tools (``pd_get``, ``pd_post``, ``pd_put``; schemas built the same way as alex's),
raw PagerDuty bodies handed back to the model (no result budget, as a raw CRUD wrapper does), and a
loop that runs the model's calls and sends every body back. The model chains name -> id -> data
itself, one lookup per model turn; per-service (N+1) lookups are sent as parallel calls in one turn,
which is generous to the baseline (fewer model calls than strictly one call per turn).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from pydantic import Field

from benchmarks.model import PlanModel
from bot.pagerduty.errors import PagerDutyError
from bot.tools.base import ToolArgs, ToolContext
from bot.tools.schema import openai_tool


class PdGet(ToolArgs):
    """GET any PagerDuty REST API path and return the JSON response."""

    path: str = Field(description="API path, e.g. /incidents or /services/PXXXX")
    query: str | None = Field(description="URL query string, e.g. statuses[]=triggered&limit=100")


class PdPost(ToolArgs):
    """POST a JSON body to a PagerDuty REST API path."""

    path: str = Field(description="API path")
    body: str = Field(description="JSON body")


class PdPut(ToolArgs):
    """PUT a JSON body to a PagerDuty REST API path."""

    path: str = Field(description="API path")
    body: str = Field(description="JSON body")


NAIVE_SCHEMAS = [openai_tool("pd_get", PdGet.__doc__ or "", PdGet),
                 openai_tool("pd_post", PdPost.__doc__ or "", PdPost),
                 openai_tool("pd_put", PdPut.__doc__ or "", PdPut)]
NAIVE_SYSTEM = ("You are a PagerDuty assistant. Use the tools to call the PagerDuty REST API v2 and answer "
                "the user's question from the responses.")


@dataclass
class NaiveTurn:
    reply: str
    llm_calls: int
    tool_calls: int
    pd_requests: int


async def _get(ctx: ToolContext, path: str, query: str | None) -> Any:
    params: dict[str, Any] = {}
    for key, value in parse_qsl(query or ""):
        if key.endswith("[]"):
            params.setdefault(key, []).append(value)
        else:
            params[key] = value
    try:
        return await ctx.client.get(path, params)
    except PagerDutyError as exc:
        return {"error": {"message": exc.message}}


async def run_naive_turn(model: PlanModel, message: str, ctx: ToolContext, *, max_steps: int = 40) -> NaiveTurn:
    before = ctx.client.requests_sent
    messages: list[dict[str, Any]] = [{"role": "system", "content": NAIVE_SYSTEM},
                                      {"role": "user", "content": message}]
    tool_calls = 0
    reply_text = ""
    for _ in range(max_steps):
        reply = await model.complete(messages, NAIVE_SCHEMAS)
        if not reply.tool_calls:
            reply_text = reply.text or ""
            break
        messages.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in reply.tool_calls]})
        args = [json.loads(c.arguments) for c in reply.tool_calls]
        bodies = await asyncio.gather(*(_get(ctx, a["path"], a.get("query")) for a in args))
        tool_calls += len(bodies)
        messages += [{"role": "tool", "tool_call_id": c.id, "content": json.dumps(body)}
                     for c, body in zip(reply.tool_calls, bodies, strict=True)]
    return NaiveTurn(reply_text, model.stats.calls, tool_calls, ctx.client.requests_sent - before)
