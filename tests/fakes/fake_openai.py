"""A fake OpenAI-compatible Chat Completions server, behaving like the endpoints alex meets in the wild.

* ``reasoning``: like OpenAI's GPT-5 family / o-series: 400 ``unsupported_value`` for a ``temperature``
  other than the default 1, 400 ``unsupported_parameter`` for ``parallel_tool_calls``;
* ``vllm``: rejects ``strict`` on tools the way a pydantic-validated server does (400, "Extra inputs are
  not permitted", no ``code``), and otherwise answers;
* ``plain``: accepts everything.

It answers with a tiny rule "brain": a user message that asks who is on call gets a ``who_is_on_call``
tool call (the service named after "for"); a tool result gets a text answer naming every person in it.
Streaming (``stream: true``) answers with server-sent events, splitting text and tool-call arguments
over several chunks. Serve it through ``httpx2.MockTransport(fake.handler)`` or, for a subprocess,
:meth:`FakeOpenAI.serve` on a loopback port (aiohttp).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx2

Kind = Literal["reasoning", "vllm", "plain"]
MODEL = "gpt-5.4-mini"


@dataclass
class FakeOpenAI:
    kind: Kind = "reasoning"
    bodies: list[dict[str, Any]] = field(default_factory=list)
    """Every request body received, in order (rejected ones included)."""
    models: tuple[str, ...] = (MODEL, "gpt-5.4")

    # -- the protocol --------------------------------------------------------------------------------
    def answer(self, method: str, path: str, body: dict[str, Any] | None) -> tuple[int, Any, bool]:
        """(status, JSON or SSE text, is_stream) for one request."""
        if method == "GET" and path.endswith("/models"):
            return 200, {"object": "list", "data": [{"id": m, "object": "model", "created": 0, "owned_by": "x"}
                                                    for m in self.models]}, False
        if method != "POST" or not path.endswith("/chat/completions") or body is None:
            return 404, {"error": {"message": "not found", "type": "invalid_request_error"}}, False
        self.bodies.append(body)
        if (refusal := self._refusal(body)) is not None:
            return 400, {"error": refusal}, False
        message = self._brain(body["messages"], body.get("tools") or [])
        if body.get("stream"):
            return 200, "".join(self._events(message, body)), True
        return 200, completion(message), False

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content) if request.content else None
        status, payload, stream = self.answer(request.method, request.url.path, body)
        if stream:
            return httpx2.Response(status, text=payload, headers={"content-type": "text/event-stream"})
        return httpx2.Response(status, json=payload)

    @asynccontextmanager
    async def serve(self) -> AsyncIterator[str]:
        """Serve on 127.0.0.1 (a free port); yields the base URL (``http://127.0.0.1:PORT/v1``)."""
        from aiohttp import web

        async def route(request: web.Request) -> web.StreamResponse:
            raw = await request.read()
            status, payload, stream = self.answer(request.method, request.path, json.loads(raw) if raw else None)
            if stream:
                return web.Response(status=status, text=payload, content_type="text/event-stream")
            return web.json_response(payload, status=status)

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", route)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            await runner.cleanup()

    # -- behaviour -----------------------------------------------------------------------------------
    def _refusal(self, body: dict[str, Any]) -> dict[str, Any] | None:
        if self.kind == "reasoning":
            if "temperature" in body and body["temperature"] != 1:
                return {"message": f"Unsupported value: 'temperature' does not support {body['temperature']} with "
                                   "this model. Only the default (1) value is supported.",
                        "type": "invalid_request_error", "param": "temperature", "code": "unsupported_value"}
            if "parallel_tool_calls" in body:
                return {"message": "Unsupported parameter: 'parallel_tool_calls' is not supported with this model.",
                        "type": "invalid_request_error", "param": "parallel_tool_calls",
                        "code": "unsupported_parameter"}
        if self.kind == "vllm" and any("strict" in (t.get("function") or {}) for t in body.get("tools") or []):
            return {"message": "1 validation error for ChatCompletionRequest\ntools.0.function.strict\n  "
                               "Extra inputs are not permitted [type=extra_forbidden]",
                    "type": "BadRequestError", "param": None, "code": 400}
        return None

    @staticmethod
    def _brain(messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> dict[str, Any]:
        last = messages[-1]
        names = {t["function"]["name"] for t in tools}
        if last["role"] == "user" and "who_is_on_call" in names and "on call" in str(last["content"]).lower():
            target = re.search(r"\bfor\s+(?:the\s+)?([\w.-]+)", str(last["content"]))
            arguments = {"target": target.group(1).rstrip("?.") if target else None, "window": None}
            return {"content": None, "tool_calls": [{"id": "call_1", "type": "function", "function": {
                "name": "who_is_on_call", "arguments": json.dumps(arguments)}}]}
        if last["role"] == "tool":
            people = list(dict.fromkeys(_names(json.loads(last["content"]))))
            return {"content": "On call: " + ", ".join(people) + "." if people else "Nobody is on call."}
        return {"content": "I can help with PagerDuty."}

    @staticmethod
    def _events(message: dict[str, Any], body: dict[str, Any]) -> Iterator[str]:
        def event(delta: dict[str, Any], finish: str | None = None) -> str:
            chunk = {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1_773_151_200, "model": MODEL,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            return f"data: {json.dumps(chunk)}\n\n"

        yield event({"role": "assistant", "content": ""})
        for piece in re.findall(r"\S+\s*", message.get("content") or ""):
            yield event({"content": piece})
        for index, call in enumerate(message.get("tool_calls") or []):
            arguments = call["function"]["arguments"]
            half = len(arguments) // 2
            first = {"name": call["function"]["name"], "arguments": arguments[:half]}
            yield event({"tool_calls": [{"index": index, "id": call["id"], "type": "function", "function": first}]})
            yield event({"tool_calls": [{"index": index, "function": {"arguments": arguments[half:]}}]})
        yield event({}, "tool_calls" if message.get("tool_calls") else "stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = {"id": "chatcmpl-s", "object": "chat.completion.chunk", "created": 1_773_151_200, "model": MODEL,
                     "choices": [], "usage": {"prompt_tokens": 50, "completion_tokens": 7, "total_tokens": 57}}
            yield f"data: {json.dumps(usage)}\n\n"
        yield "data: [DONE]\n\n"


def completion(message: dict[str, Any]) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1_773_151_200, "model": MODEL,
            "choices": [{"index": 0, "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                         "message": {"role": "assistant", **message}}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 7, "total_tokens": 57}}


def _names(value: Any) -> Iterator[str]:
    """Names of people in a who_is_on_call result (the ``on_call`` entries)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "on_call" and isinstance(item, list):
                yield from (str(p["name"]) for p in item if isinstance(p, dict) and p.get("name"))
            else:
                yield from _names(item)
    elif isinstance(value, list):
        for item in value:
            yield from _names(item)
