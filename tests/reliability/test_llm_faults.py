"""E. LLM faults (reliability.md §6 E1–E7) and F4 (a long thread as context), with the ScriptedModel:
every failure ends in a clear message, never silence, never a write; command mode still works."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from pydantic import SecretStr

from bot.agent.agent import Agent
from bot.agent.llm import ModelReply, ModelUnavailable, OpenAIChatModel, make_chat_model
from bot.agent.loop import Limits
from bot.config import Settings
from bot.sandbox import Sandbox
from bot.store.thread_memory import InMemoryThreadMemory, MemoryLimits
from tests.fakes.scripted_llm import ScriptedModel, call, calls, say
from tests.reliability.conftest import ClientFactory, pd_writes
from tests.slack.conftest import SlackFactory, buttons, message_text, triggered_number

NONE_ARGS: dict[str, Any] = {"statuses": None, "service": None, "team": None, "urgency": None, "window": None,
                             "mine": None, "limit": None}


DEADLINE_S = 2.0
"""A short message deadline, so a model that never answers is cut off quickly."""


async def _never_answers(messages: list[dict[str, Any]]) -> ModelReply:
    await asyncio.sleep(3_600)
    raise AssertionError("the message deadline should have cut this model call off")


async def test_E1_model_timeout_or_5xx_gives_a_failure_message_and_no_write(make_slack: SlackFactory) -> None:
    model = ScriptedModel([ModelUnavailable("The model answered 503 twice."), _never_answers])
    slack = await make_slack(model)
    slack.rt.agent.limits = Limits(deadline_s=DEADLINE_S)
    await slack.mention("anything weird on payments?")
    first = await slack.reply()
    started = time.monotonic()
    await slack.mention("and now?")
    # A model that hangs is cut off at the message deadline: the reply comes, it does not wait for the model.
    second = (await slack.fake.wait_for("chat.postMessage", 2, within=DEADLINE_S + 8))[1]
    assert time.monotonic() - started < DEADLINE_S + 8
    await slack.settle()
    for reply in (first, second):
        assert "model is unavailable" in message_text(reply)
    assert "503" in message_text(first) and "did not answer in time" in message_text(second)
    assert slack.writes() == [] and len(model.calls) == 2
    model.assert_complete()


def test_E1_the_openai_client_retries_at_most_once_with_a_short_timeout() -> None:
    settings = Settings(_env_file=None, OPENAI_API_KEY=SecretStr("sk-dummy-e1"))  # type: ignore[call-arg]
    assert settings.llm_max_retries <= 1 and settings.llm_timeout_seconds <= 30
    model = make_chat_model(settings)
    assert isinstance(model, OpenAIChatModel)
    assert model._client.max_retries <= 1  # noqa: SLF001


async def test_E2_malformed_json_arguments(demo: Sandbox, pd_ctx: ClientFactory) -> None:
    ctx, _ = pd_ctx(demo)
    model = ScriptedModel([calls(call("list_incidents", '{"statuses": ')),
                           calls(call("list_incidents", NONE_ARGS)), say("Here they are.")])
    turn = await Agent(model).respond("what's open?", ctx)
    first, second = model.calls[1].tool_results()[0], model.calls[2].tool_results()[-1]
    assert first["status"] == "error" and second["status"] == "ok" and turn.reply == "Here they are."
    number = triggered_number(demo)
    model = ScriptedModel([calls(call("acknowledge_incidents", f'{{"incidents": ["{number}"')),
                           say("I could not prepare that.")])
    turn = await Agent(model).respond("ack it", ctx)
    assert turn.proposals == [] and model.calls[1].tool_results()[0]["status"] == "error"
    assert pd_writes(demo) == []


async def test_E3_extra_fields_and_wrong_types_send_no_http(demo: Sandbox, pd_ctx: ClientFactory) -> None:
    ctx, _ = pd_ctx(demo)
    model = ScriptedModel([calls(call("list_incidents", NONE_ARGS | {"limit": "lots"}),
                                 call("list_incidents", NONE_ARGS | {"colour": "red"})),
                           say("I need a number.")])
    turn = await Agent(model).respond("list lots", ctx)
    results = model.calls[1].tool_results()
    assert [r["status"] for r in results] == ["error", "error"]
    assert "limit" in json.dumps(results[0]) and "colour" in json.dumps(results[1])
    assert ctx.client.requests_sent == 0 and turn.pd_requests == 0


async def test_E4_unknown_tool_lists_the_tools_and_the_loop_continues(demo: Sandbox, pd_ctx: ClientFactory) -> None:
    ctx, _ = pd_ctx(demo)
    model = ScriptedModel([calls(call("delete_everything", {})), calls(call("list_incidents", NONE_ARGS)),
                           say("Found them.")])
    turn = await Agent(model).respond("what's open?", ctx)
    unknown = model.calls[1].tool_results()[0]
    assert unknown["status"] == "error" and "list_incidents" in unknown["hint"]
    assert turn.reply == "Found them." and model.calls[2].tool_results()[-1]["status"] == "ok"


async def test_E5_a_repeated_call_loop_stops_at_max_steps(demo: Sandbox, pd_ctx: ClientFactory) -> None:
    ctx, _ = pd_ctx(demo)
    model = ScriptedModel([calls(call("list_incidents", NONE_ARGS)) for _ in range(10)])
    limits = Limits()
    turn = await Agent(model, limits=limits).respond("what's open?", ctx)
    assert len(model.calls) == limits.max_steps and model.calls[-1].tools == []
    assert "couldn't finish" in turn.reply
    once = len([r for r in demo.requests if r.path == "/incidents"])
    executed = [c for c in turn.tool_calls if c.duration_ms > 0]
    assert len(executed) == 1, "duplicates are answered from the first result, not executed"
    assert once <= 3  # one list_incidents call's requests (a page per open status + recent resolved)


async def test_E6_parallel_reads_run_and_the_write_only_proposes(demo: Sandbox, pd_ctx: ClientFactory) -> None:
    ctx, _ = pd_ctx(demo)
    number = triggered_number(demo)
    model = ScriptedModel([calls(call("list_incidents", NONE_ARGS),
                                 call("service_health", {"team": None, "only_active": None}),
                                 call("acknowledge_incidents", {"incidents": [str(number)]})),
                           say("Prepared.")])
    turn = await Agent(model).respond("what's open, and ack the first", ctx)
    statuses = [r["status"] for r in model.calls[1].tool_results()]
    assert statuses[:2] == ["ok", "ok"] and len(turn.proposals) == 1
    assert pd_writes(demo) == []


async def test_E7_an_empty_answer_still_gets_a_reply(make_slack: SlackFactory) -> None:
    model = ScriptedModel([say(""), say(None)])
    slack = await make_slack(model)
    slack.rt.agent.command_fast_path = False  # exact commands go to the model too: its failure must fall back
    await slack.mention("hmm?")
    first = await slack.reply()
    await slack.mention("oncall platform-engineering")
    second = await slack.reply(2)
    assert "model is unavailable" in message_text(first) and "Exact commands still work" in message_text(first)
    # The fallback it names: command mode answers the exact command the model left unanswered.
    assert "model is unavailable" in message_text(second) and "I ran this as a command" in message_text(second)
    assert "Platform" in message_text(second) and buttons(second, "proposal_confirm") == []
    model.assert_complete()


async def test_F4_a_thread_of_200_messages_is_cut_to_the_budget(demo: Sandbox, pd_ctx: ClientFactory) -> None:
    ctx, _ = pd_ctx(demo)
    memory = InMemoryThreadMemory()
    for n in range(100):
        await memory.append("C1:1.1", [{"role": "user", "content": f"question {n} " + "x" * 500},
                                       {"role": "assistant", "content": f"answer {n} " + "y" * 500}])
    model = ScriptedModel([say("ok")])
    await Agent(model, memory).respond("and the latest?", ctx, thread_id="C1:1.1")
    sent = model.calls[0].messages
    limits = MemoryLimits()
    history = sent[1:-1]
    assert len(history) <= limits.max_messages
    assert len(json.dumps(history)) <= limits.max_chars * 1.1
    assert any("answer 99" in str(m.get("content")) for m in history), "the newest exchanges are kept"
    assert not any("question 0 " in str(m.get("content")) for m in history)
    assert len(json.dumps(sent)) < 128_000 * 3, "well inside a 128k-token context"
    await asyncio.sleep(0)
