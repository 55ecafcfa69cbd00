"""A deterministic :class:`~bot.agent.llm.ChatModel` for tests (agents SDK ``ScriptedModel`` style).

    model = ScriptedModel([calls(call("who_is_on_call", {"service": "payments-api"})), say("Ana is on call.")])
    turn = await run_llm_turn(model, "who is on call for payments?", ctx)
    model.assert_complete()

Each step is a :class:`ModelReply` (use :func:`say` / :func:`calls`), an exception to raise, or a
function of the messages returning one (to answer from what the loop sent). ``calls`` records what the
model was sent on every call.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.agent.llm import ModelReply, ModelToolCall, TextSink
from bot.agent.turn import Usage

Step = ModelReply | BaseException | Callable[[list[dict[str, Any]]], ModelReply | Awaitable[ModelReply]]
STEP_USAGE = Usage(100, 20)


def call(name: str, arguments: dict[str, Any] | str | None = None, *, id: str | None = None) -> ModelToolCall:
    """One tool call; a dict is sent as JSON, a string as is (to send malformed JSON)."""
    raw = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
    return ModelToolCall(id or "", name, raw)


def calls(*tool_calls: ModelToolCall, text: str | None = None, usage: Usage | None = None) -> ModelReply:
    """A step in which the model asks for these tool calls (in parallel)."""
    numbered = [c if c.id else ModelToolCall(f"call_{i}_{c.name}", c.name, c.arguments)
                for i, c in enumerate(tool_calls)]
    return ModelReply(text, numbered, usage or Usage(STEP_USAGE.prompt_tokens, STEP_USAGE.completion_tokens))


def say(text: str | None, usage: Usage | None = None) -> ModelReply:
    """A step in which the model answers with text."""
    return ModelReply(text, [], usage or Usage(STEP_USAGE.prompt_tokens, STEP_USAGE.completion_tokens))


@dataclass(frozen=True, slots=True)
class SeenCall:
    """What the model was sent on one call."""

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]]

    @property
    def tool_names(self) -> list[str]:
        return [t["function"]["name"] for t in self.tools]

    def last(self, role: str) -> dict[str, Any]:
        return next(m for m in reversed(self.messages) if m["role"] == role)

    def tool_results(self) -> list[dict[str, Any]]:
        """The tool results sent on this call (parsed), in order."""
        return [json.loads(m["content"]) for m in self.messages if m["role"] == "tool"]


class UnconsumedModelSteps(AssertionError):
    pass


class ScriptedModel:
    """A :class:`~bot.agent.llm.ChatModel` that replays ``steps`` and records every call."""

    def __init__(self, steps: list[Step]) -> None:
        self._steps = list(steps)
        self.calls: list[SeenCall] = []
        self.overrun = False

    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *,
                       on_text: TextSink | None = None) -> ModelReply:
        """The next step; with ``on_text`` its text is also streamed, word by word."""
        self.calls.append(SeenCall(copy.deepcopy(messages), copy.deepcopy(tools)))
        if not self._steps:
            self.overrun = True
            raise AssertionError(f"ScriptedModel: unexpected call #{len(self.calls)} (script exhausted)")
        step = self._steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        if isinstance(step, ModelReply):
            reply = step
        else:
            made = step(messages)
            reply = made if isinstance(made, ModelReply) else await made
        if on_text is not None and reply.text:
            for piece in re.findall(r"\S+\s*", reply.text):
                await on_text(piece)
        return reply

    async def aclose(self) -> None:
        return None

    def assert_complete(self) -> None:
        """Every scripted step was used, and the model was not called past the script."""
        if self._steps:
            raise UnconsumedModelSteps(f"{len(self._steps)} scripted step(s) never used")
        if self.overrun:
            raise AssertionError("the model was called more times than scripted")
