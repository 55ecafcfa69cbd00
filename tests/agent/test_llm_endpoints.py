"""Issue 11: the LLM path works with reasoning models and vLLM-style servers, not just the happy path.

A fake OpenAI-compatible server (``tests/fakes/fake_openai.py``) on the ``MockTransport`` seam, and on
a loopback port for the ``alex ask`` subprocess: sampling settings are opt-in, a 400 naming an
unsupported parameter is retried without it (and remembered), other 4xx say "the model refused the
request", and streamed answers (text and tool-call deltas) come out whole.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx2
import pytest
from pydantic import SecretStr

from bot.agent.agent import Agent
from bot.agent.llm import ModelOptions, ModelRefused, OpenAIChatModel
from bot.pagerduty import PagerDutyClient
from bot.sandbox import DEFAULT_NOW, build_sandbox, default_token
from bot.tools.base import Asker, ToolContext
from tests.fakes.fake_openai import MODEL, FakeOpenAI, Kind

REPO = Path(__file__).resolve().parents[2]
MESSAGES = [{"role": "user", "content": "who is on call for platform-engineering?"}]
TOOL = {"type": "function", "function": {
    "name": "who_is_on_call", "description": "Who is on call.", "strict": True,
    "parameters": {"type": "object", "properties": {"target": {"type": ["string", "null"]},
                                                    "window": {"type": ["string", "null"]}},
                   "required": ["target", "window"], "additionalProperties": False}}}
SAM = Asker("P8OO80G", "sam.rivera@acme-payments.example", "Sam Rivera", ZoneInfo("America/New_York"), "user")


def model_for(fake: FakeOpenAI, **options: object) -> OpenAIChatModel:
    client = httpx2.AsyncClient(transport=httpx2.MockTransport(fake.handler))
    return OpenAIChatModel(model=MODEL, api_key=SecretStr("sk-fake-key-1234"), base_url="https://llm.test/v1",
                           max_retries=0, options=ModelOptions(**options), http_client=client)  # type: ignore[arg-type]


def unknown_model() -> OpenAIChatModel:
    """An endpoint that answers 404: no such model (what a wrong ALEX_MODEL or Azure deployment gets)."""
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(404, json={"error": {"message": "The model `gpt-9` does not exist",
                                                    "type": "invalid_request_error", "code": "model_not_found"}})

    return OpenAIChatModel(model="gpt-9", api_key=SecretStr("sk-fake-key-1234"), base_url="https://llm.test/v1",
                           max_retries=0, http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(handler)))


async def test_nothing_optional_is_sent_unless_set() -> None:
    fake = FakeOpenAI("reasoning")
    reply = await model_for(fake).complete(MESSAGES, [TOOL])
    assert reply.tool_calls and reply.tool_calls[0].name == "who_is_on_call"
    [body] = fake.bodies
    assert not {"temperature", "parallel_tool_calls", "reasoning_effort"} & set(body)
    assert body["tools"][0]["function"]["strict"] is True


async def test_a_reasoning_model_refusing_temperature_and_parallel_calls_still_answers(
        caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeOpenAI("reasoning")
    model = model_for(fake, temperature=0.2, parallel_tool_calls=True, reasoning_effort="low")
    with caplog.at_level(logging.WARNING, "bot.agent.llm"):
        first = await model.complete(MESSAGES, [TOOL])
        second = await model.complete(MESSAGES, [TOOL])
    assert first.tool_calls and second.tool_calls
    assert len(fake.bodies) == 4, "two refusals, each retried once without the parameter, then remembered"
    assert "temperature" not in fake.bodies[-1] and "parallel_tool_calls" not in fake.bodies[-1]
    assert fake.bodies[-1]["reasoning_effort"] == "low"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert any("ALEX_TEMPERATURE" in w for w in warnings) and any("ALEX_PARALLEL_TOOL_CALLS" in w for w in warnings)


async def test_a_vllm_server_refusing_strict_gets_plain_tools() -> None:
    fake = FakeOpenAI("vllm")
    model = model_for(fake)
    reply = await model.complete(MESSAGES, [TOOL])
    assert reply.tool_calls
    assert "strict" not in fake.bodies[-1]["tools"][0]["function"]
    off = FakeOpenAI("vllm")
    await model_for(off, strict_tools=False).complete(MESSAGES, [TOOL])
    assert len(off.bodies) == 1, "ALEX_STRICT_TOOLS=false sends no strict at all"


async def test_other_4xx_say_the_model_refused_the_request() -> None:
    model = unknown_model()
    with pytest.raises(ModelRefused) as refused:
        await model.complete(MESSAGES, [TOOL])
    assert "The model refused the request" in str(refused.value) and "gpt-9" in str(refused.value)


async def test_streaming_passes_text_on_and_assembles_tool_call_deltas() -> None:
    fake = FakeOpenAI("plain")
    model = model_for(fake)
    heard: list[str] = []

    async def on_text(piece: str) -> None:
        heard.append(piece)

    calling = await model.complete(MESSAGES, [TOOL], on_text=on_text)
    assert fake.bodies[-1]["stream"] is True
    assert [(c.name, json.loads(c.arguments)) for c in calling.tool_calls] == [
        ("who_is_on_call", {"target": "platform-engineering", "window": None})]
    tool_answer = [*MESSAGES, {"role": "assistant", "content": None, "tool_calls": []},
                   {"role": "tool", "tool_call_id": "call_1",
                    "content": json.dumps({"levels": [{"on_call": [{"name": "Ben Carter"}]}]})}]
    answer = await model.complete(tool_answer, [TOOL], on_text=on_text)
    assert answer.text == "On call: Ben Carter." and "".join(heard) == answer.text and len(heard) > 1
    assert (answer.usage.prompt_tokens, answer.usage.completion_tokens) == (50, 7)
    quiet = FakeOpenAI("plain")
    await model_for(quiet, stream=False).complete(MESSAGES, [TOOL], on_text=on_text)
    assert "stream" not in quiet.bodies[-1], "ALEX_LLM_STREAM=false: one response"


@pytest.mark.parametrize("kind", ["reasoning", "vllm"])
async def test_the_loop_answers_in_llm_mode_through_both_servers(kind: Kind) -> None:
    fake = FakeOpenAI(kind)
    sandbox = build_sandbox("demo", now=DEFAULT_NOW, rate_limit_per_minute=None)
    agent = Agent(model_for(fake, temperature=0.0, parallel_tool_calls=True))
    async with PagerDutyClient(default_token("demo"), transport=sandbox.transport()) as client:
        turn = await agent.respond("who is on call for platform-engineering?", ToolContext(client, SAM, DEFAULT_NOW))
    assert turn.mode == "llm", turn.notice
    assert "Ben Carter" in turn.reply and "Emma Clarke" in turn.reply


async def test_alex_ask_json_answers_in_llm_mode_with_a_reasoning_endpoint(tmp_path: Path) -> None:
    """The issue's acceptance check, as a user runs it: `alex ask --json` against a reasoning endpoint that
    refuses the temperature the operator set."""
    fake = FakeOpenAI("reasoning")
    async with fake.serve() as base_url:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ALEX_", "PAGERDUTY_"))}
        env.update(OPENAI_BASE_URL=base_url, OPENAI_API_KEY="sk-fake-key-1234", ALEX_TEMPERATURE="0",
                   ALEX_PARALLEL_TOOL_CALLS="true", ALEX_STATE_PATH=str(tmp_path / "state.sqlite3"))
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", "ask", "--sandbox", "--json", "who is on call for platform-engineering?",
            cwd=tmp_path, env={**env, "PYTHONPATH": str(REPO)}, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    turn = json.loads(out)
    assert turn["mode"] == "llm", turn
    assert "Ben Carter" in turn["reply"]
    assert any(c["name"] == "who_is_on_call" for c in turn["tool_calls"])
    assert "ALEX_TEMPERATURE" in err.decode(), "the operator is told which setting to change"
    assert "sk-fake-key-1234" not in err.decode() + out.decode()


async def test_a_refused_request_is_told_to_the_person_as_such() -> None:
    model = unknown_model()
    sandbox = build_sandbox("demo", now=DEFAULT_NOW, rate_limit_per_minute=None)
    async with PagerDutyClient(default_token("demo"), transport=sandbox.transport()) as client:
        turn = await Agent(model).respond("what should I look at first today?", ToolContext(client, SAM, DEFAULT_NOW))
    assert turn.reply.startswith("The model refused the request (HTTP 404): The model `gpt-9` does not exist")
    assert "unavailable" not in turn.reply
