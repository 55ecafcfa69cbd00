"""Scripted chat models for the benchmark: they answer like a model would, after an injected latency.

:class:`RoutedModel` (alex's strategy) is stateless: it finds the prompt in the conversation's last
user message and answers the step it is at (tool calls first, then the reply), so one instance can
serve many concurrent conversations (the Slack path). :class:`PlanModel` (the naive strategy) replays
a generator that yields lists of ``pd_get`` requests and receives the raw bodies back.

Both sleep ``latency_s`` per call with :func:`asyncio.sleep` (concurrency stays real) and record what
they were sent: calls, characters of tool schemas and of tool results. Their own CPU time (JSON of
the schemas) is recorded too so the benchmark can leave it out of alex's.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass
from typing import Any

from bot.agent.llm import ModelReply, ModelToolCall
from bot.agent.turn import Usage

Message = dict[str, Any]
Call = tuple[str, dict[str, Any]]
"""A tool call: (tool name, arguments)."""
AlexScript = list[Call]
"""alex's script for one prompt: the tool calls of the first step (made in parallel); then it answers."""
Request = tuple[str, str | None]
"""A naive ``pd_get``: (path, query string)."""
Plan = Generator[list[Request], list[Any], str]
"""The naive strategy for one prompt: yields each step's requests, receives their bodies, returns the reply."""


@dataclass
class ModelStats:
    calls: int = 0
    schema_chars: int = 0
    result_chars: int = 0
    cpu_s: float = 0.0


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _tool_messages(messages: list[Message]) -> list[Message]:
    """The tool results after the last user message (this conversation's turn)."""
    start = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=0)
    return [m for m in messages[start:] if m.get("role") == "tool"]


def _reply(calls: list[Call], step: int) -> ModelReply:
    return ModelReply(None, [ModelToolCall(f"call_{step}_{i}", name, _compact(args))
                             for i, (name, args) in enumerate(calls)], Usage(100, 20))


class _Recording:
    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.stats = ModelStats()

    def _record(self, messages: list[Message], tools: list[dict[str, Any]]) -> None:
        started = time.process_time()
        self.stats.calls += 1
        self.stats.schema_chars += len(_compact(tools)) if tools else 0
        # Each tool result counted once: the ones that are new since the previous call.
        self.stats.result_chars = sum(len(str(m.get("content") or "")) for m in _tool_messages(messages))
        self.stats.cpu_s += time.process_time() - started

    async def aclose(self) -> None:
        return None


class RoutedModel(_Recording):
    """alex's scripted model: ``scripts`` maps a prompt to its first step's tool calls."""

    def __init__(self, scripts: Mapping[str, AlexScript], latency_s: float) -> None:
        super().__init__(latency_s)
        self.scripts = dict(scripts)

    async def complete(self, messages: list[Message], tools: list[dict[str, Any]]) -> ModelReply:
        self._record(messages, tools)
        await asyncio.sleep(self.latency_s)
        user = next(str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user")
        script = next((calls for prompt, calls in self.scripts.items() if prompt in user), None)
        done = _tool_messages(messages)
        if script is None or done or not tools:
            return ModelReply(f"Here is what I found ({len(done)} tool results).", [], Usage(100, 20))
        return _reply(script, 1)


class PlanModel(_Recording):
    """The naive strategy's scripted model: one conversation, driven by a :data:`Plan`."""

    def __init__(self, plan: Callable[[], Plan], latency_s: float) -> None:
        super().__init__(latency_s)
        self._plan = plan()
        self._started = False
        self._seen = 0

    async def complete(self, messages: list[Message], tools: list[dict[str, Any]]) -> ModelReply:
        self._record(messages, tools)
        await asyncio.sleep(self.latency_s)
        results = _tool_messages(messages)
        fresh, self._seen = results[self._seen:], len(results)
        try:
            if not self._started:
                self._started = True
                requests = next(self._plan)
            else:
                requests = self._plan.send([json.loads(str(m["content"])) for m in fresh])
        except StopIteration as stop:
            return ModelReply(str(stop.value), [], Usage(100, 20))
        calls: list[Call] = [("pd_get", {"path": path, "query": query}) for path, query in requests]
        return _reply(calls, self.stats.calls)
