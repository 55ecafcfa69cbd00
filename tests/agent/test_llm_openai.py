"""The OpenAI adapter on the wire, through httpx2.MockTransport: what is sent, what is parsed, what fails."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr

from bot.agent.llm import ModelToolCall, ModelUnavailable, OpenAIChatModel, make_chat_model
from bot.config import Settings

KEY = "sk-test-DO-NOT-LEAK-4242"
BASE_URL = "https://llm.example.test/v1"
TOOLS = [{"type": "function", "function": {
    "name": "who_is_on_call", "description": "Who is on call.", "strict": True,
    "parameters": {"type": "object", "properties": {"service": {"type": ["string", "null"]}},
                   "required": ["service"], "additionalProperties": False}}}]
MESSAGES = [{"role": "system", "content": "You are alex."}, {"role": "user", "content": "who is on call?"}]

Handler = Callable[[httpx2.Request], httpx2.Response]


def completion(message: dict[str, Any], usage: dict[str, int] | None = None) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion", "created": 1_773_151_200, "model": "gpt-4.1-mini",
            "choices": [{"index": 0, "finish_reason": "tool_calls" if message.get("tool_calls") else "stop",
                         "message": {"role": "assistant", **message}}],
            "usage": usage or {"prompt_tokens": 321, "completion_tokens": 12, "total_tokens": 333}}


def model_with(handler: Handler, *, max_retries: int = 0, key: str | None = KEY) -> OpenAIChatModel:
    client = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    return OpenAIChatModel(model="gpt-4.1-mini", api_key=SecretStr(key) if key else None, base_url=BASE_URL,
                           timeout_s=7.0, max_retries=max_retries, http_client=client)


async def test_request_carries_strict_tools_model_and_auth_and_tool_calls_are_parsed() -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json=completion({"content": None, "tool_calls": [
            {"id": "call_a", "type": "function",
             "function": {"name": "who_is_on_call", "arguments": '{"service": "payments-api"}'}},
            {"id": "call_b", "type": "function",
             "function": {"name": "who_is_on_call", "arguments": '{"service": null}'}}]}))

    model = model_with(handler)
    reply = await model.complete(MESSAGES, TOOLS)
    await model.aclose()

    [request] = seen
    assert request.method == "POST" and str(request.url) == f"{BASE_URL}/chat/completions"
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    body = json.loads(request.content)
    assert body["model"] == "gpt-4.1-mini" and body["messages"] == MESSAGES
    assert body["tools"] == TOOLS and body["tools"][0]["function"]["strict"] is True
    assert "parallel_tool_calls" not in body and "temperature" not in body, "sampling settings are opt-in"
    assert reply.text is None
    assert reply.tool_calls == [ModelToolCall("call_a", "who_is_on_call", '{"service": "payments-api"}'),
                                ModelToolCall("call_b", "who_is_on_call", '{"service": null}')]
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (321, 12)


async def test_text_answer_without_tools_sends_no_tool_options() -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        bodies.append(json.loads(request.content))
        return httpx2.Response(200, json=completion({"content": "Ana is on call."}))

    reply = await model_with(handler).complete(MESSAGES, [])

    assert reply.text == "Ana is on call." and reply.tool_calls == []
    assert "tools" not in bodies[0] and "parallel_tool_calls" not in bodies[0]


def status_handler(status: int, message: str) -> Handler:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, json={"error": {"message": message, "type": "x", "code": None}})
    return handler


def timeout_handler(request: httpx2.Request) -> httpx2.Response:
    raise httpx2.ReadTimeout("timed out", request=request)


def connect_handler(request: httpx2.Request) -> httpx2.Response:
    raise httpx2.ConnectError(f"cannot connect with {KEY}", request=request)


@pytest.mark.parametrize(("handler", "expected"), [
    (status_handler(500, "internal error"), "HTTP 500"),
    (status_handler(503, "overloaded"), "HTTP 503"),
    (status_handler(401, f"Incorrect API key provided: {KEY}."), "OPENAI_API_KEY"),
    (status_handler(429, "You exceeded your current quota"), "HTTP 429"),
    (status_handler(400, f"Invalid schema; your key {KEY} is fine"), "HTTP 400"),
    (timeout_handler, "in time"),
    (connect_handler, "could not be reached"),
])
async def test_failures_are_model_unavailable_without_the_key(handler: Handler, expected: str) -> None:
    model = model_with(handler)

    with pytest.raises(ModelUnavailable) as raised:
        await model.complete(MESSAGES, TOOLS)

    text = str(raised.value)
    assert expected in text and KEY not in text and "DO-NOT-LEAK" not in text
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    assert KEY not in repr(model)


async def test_retries_are_bounded_by_settings() -> None:
    attempts: list[int] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        attempts.append(1)
        return httpx2.Response(502, json={"error": {"message": "bad gateway"}})

    with pytest.raises(ModelUnavailable):
        await model_with(handler, max_retries=1).complete(MESSAGES, TOOLS)
    assert len(attempts) == 2


def test_settings_choose_model_timeout_retries_or_command_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ALEX_MODEL", "ALEX_LLM_TIMEOUT_SECONDS",
                 "ALEX_LLM_MAX_RETRIES"):
        monkeypatch.delenv(name, raising=False)
    assert make_chat_model(Settings(_env_file=None)) is None
    monkeypatch.setenv("OPENAI_API_KEY", "  ")
    assert make_chat_model(Settings(_env_file=None)) is None

    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("ALEX_MODEL", "gpt-4.1")
    monkeypatch.setenv("ALEX_LLM_TIMEOUT_SECONDS", "12")
    settings = Settings(_env_file=None)
    model = make_chat_model(settings)
    assert isinstance(model, OpenAIChatModel) and model.model == "gpt-4.1"
    assert model._client.max_retries == 1 and model._client.timeout.read == 12  # not openai's 600 s / 2
    assert KEY not in repr(settings) and KEY not in repr(model)

    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")  # Ollama: no key needed
    local = make_chat_model(Settings(_env_file=None))
    assert isinstance(local, OpenAIChatModel) and "11434" in repr(local)
