"""The agent: command fast path, command mode without a model (questions read as commands, the closest
command for a miss, writes only when typed exactly), fallback when the model fails, proposals executed
only on confirm(), and thread memory across a restart.

Scripted model (tests/fakes/scripted_llm.py) and the demo sandbox; no network.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.agent.agent import NO_LLM_NOTICE, Agent
from bot.agent.commands import help_text, parse_command
from bot.agent.llm import ModelUnavailable
from bot.sandbox import Sandbox
from bot.store.thread_memory import InMemoryThreadMemory, SQLiteThreadMemory
from tests.fakes.scripted_llm import ScriptedModel, call, calls, say
from tests.tools.conftest import MANAGER_EMAIL, OBSERVER_EMAIL, ContextFactory

ONCALL = "oncall platform-engineering"
FREE_TEXT = "any idea who covers platform tonight?"
"""Not a command: goes to the model."""
UNREACHABLE = "The model server could not be reached."


def triggered_number(sandbox: Sandbox) -> int:
    """An open, triggered incident on a service every demo user can see."""
    mobile = {s.id for s in sandbox.world.services.values() if s.name == "mobile-push"}
    return min(i.number for i in sandbox.world.incidents.values()
               if i.status == "triggered" and i.service_id not in mobile)


def status_of(sandbox: Sandbox, number: int) -> str:
    return next(i.status for i in sandbox.world.incidents.values() if i.number == number)


def writes(sandbox: Sandbox) -> list[str]:
    return [f"{r.method} {r.path}" for r in sandbox.requests if r.method != "GET"]


async def test_exact_command_takes_the_fast_path_without_the_model(demo: Sandbox, make_ctx: ContextFactory) -> None:
    model = ScriptedModel([])
    turn = await Agent(model).respond(ONCALL, make_ctx(demo))
    assert model.calls == []
    assert (turn.mode, turn.llm_calls, turn.notice) == ("command", 0, None)
    assert turn.pd_requests > 0
    assert turn.tool_calls[0].name == "who_is_on_call"
    assert turn.reply
    assert "total" in turn.timings


async def test_without_a_model_a_miss_gets_the_closest_command(demo: Sandbox, make_ctx: ContextFactory) -> None:
    agent = Agent(None)
    turn = await agent.respond("who should I page about the payments outage?", make_ctx(demo))
    assert turn.mode == "command"
    assert turn.reply == ("I couldn't match that to a command. Did you mean `incidents`? "
                          "(`help` lists every command.)")
    assert help_text() not in turn.reply and "LLM" not in turn.reply  # the notice says it, once
    assert turn.notice == NO_LLM_NOTICE
    assert (turn.llm_calls, turn.pd_requests) == (0, 0)
    assert "command mode" in agent.describe_mode()

    answered = await agent.respond(ONCALL, make_ctx(demo))
    assert answered.mode == "command" and answered.tool_calls[0].name == "who_is_on_call"


async def test_model_unavailable_falls_back_to_command_mode(demo: Sandbox, make_ctx: ContextFactory) -> None:
    model = ScriptedModel([ModelUnavailable(UNREACHABLE)])
    turn = await Agent(model).respond("anything weird going on with payments?", make_ctx(demo))
    assert turn.mode == "command"
    assert "model is unavailable" in turn.reply and UNREACHABLE in turn.reply
    assert turn.reply.endswith("Exact commands still work. I couldn't match that to a command. "
                               "Did you mean `incidents`? (`help` lists every command.)")
    assert turn.notice is not None and UNREACHABLE in turn.notice
    assert turn.llm_calls == 1
    model.assert_complete()


async def test_model_unavailable_still_answers_a_command(demo: Sandbox, make_ctx: ContextFactory) -> None:
    model = ScriptedModel([ModelUnavailable(UNREACHABLE)])
    agent = Agent(model, command_fast_path=False)  # exact commands go to the model first
    turn = await agent.respond(ONCALL, make_ctx(demo))
    assert turn.mode == "command"
    assert "model is unavailable" in turn.reply and "I ran this as a command:" in turn.reply
    assert [c.name for c in turn.tool_calls] == ["who_is_on_call"]
    assert turn.pd_requests > 0 and turn.llm_calls == 1
    assert turn.notice is not None


QUESTIONS = [
    # the terminal banner's four examples
    ("list all triggered and acknowledged incidents and identify patterns", "incidents", "list_incidents"),
    ("who is currently on-call for the platform-engineering service?", "oncall platform-engineering",
     "who_is_on_call"),
    ("list all services with active incidents and their current status", "services", "service_health"),
    ("show next week's on-call schedule and identify any coverage gaps", "gaps next week", "find_coverage_gaps"),
    # the issue's
    ("who is currently on call for the platform-engineering service?", "oncall platform-engineering",
     "who_is_on_call"),
    ("escalation for payments-api", "policy payments-api", "get_escalation_policy"),
    ("when am I next on call", "oncall me", "who_is_on_call"),
]


@pytest.mark.parametrize(("text", "read_as", "tool"), QUESTIONS)
async def test_without_a_model_questions_are_answered_by_the_command_they_ask_for(
        demo: Sandbox, make_ctx: ContextFactory, text: str, read_as: str, tool: str) -> None:
    turn = await Agent(None).respond(text, make_ctx(demo))
    assert turn.mode == "command" and turn.llm_calls == 0
    assert [c.name for c in turn.tool_calls] == [tool] and turn.tool_calls[0].result.status == "ok"
    assert turn.notice == f"Read as `{read_as}`. {NO_LLM_NOTICE}"
    assert "Commands (exact" not in turn.reply and "LLM" not in turn.reply
    assert writes(demo) == []


async def test_without_a_model_the_questions_get_right_answers(demo: Sandbox, make_ctx: ContextFactory) -> None:
    agent = Agent(None)
    oncall = await agent.respond("who is currently on call for the platform-engineering service?", make_ctx(demo))
    assert oncall.reply.startswith("On call for platform-engineering (Platform Engineering) now:\n• Level 1: ")
    policy = await agent.respond("escalation for payments-api", make_ctx(demo))
    assert policy.reply.startswith("Escalation policy Payments (team Payments), the policy of the service "
                                   "payments-api:")
    me = await agent.respond("when am I next on call", make_ctx(demo))
    assert me.reply.splitlines()[:2] == ["You are not on call now.", "Next: Platform Engineering level 1 "
                                         "(Platform Primary), Tue 10 Mar 15:00 – Mon 16 Mar 09:00."]


async def test_without_a_model_a_write_typed_as_a_question_is_not_run(
        demo: Sandbox, make_ctx: ContextFactory) -> None:
    number = triggered_number(demo)
    turn = await Agent(None).respond(f"ack {number}?", make_ctx(demo))
    assert turn.reply == f"That reads as a question: to acknowledge #{number}, type `ack {number}`."
    assert (turn.tool_calls, turn.pd_requests, turn.notice) == ([], 0, NO_LLM_NOTICE)
    assert status_of(demo, number) == "triggered" and writes(demo) == []
    typed = await Agent(None).respond(f"ack {number}", make_ctx(demo))  # typed as the command: runs at once
    assert status_of(demo, number) == "acknowledged" and typed.reply.startswith(f"Acknowledged #{number}.")


async def test_when_the_model_fails_a_write_typed_as_a_question_is_not_run(
        demo: Sandbox, make_ctx: ContextFactory) -> None:
    number = triggered_number(demo)
    model = ScriptedModel([ModelUnavailable(UNREACHABLE)])
    turn = await Agent(model).respond(f"ack {number}?", make_ctx(demo))  # a question: the model's, which fails
    assert len(model.calls) == 1 and turn.mode == "command"
    assert turn.reply.endswith(f"That reads as a question: to acknowledge #{number}, type `ack {number}`.")
    assert status_of(demo, number) == "triggered" and writes(demo) == []


@pytest.mark.parametrize(("text", "missing"), [
    ("note {n}", "what should the note on #{n} say? Type it after the number, e.g. `note {n} rollback in progress`."),
    ("ack", "which incidents? `ack` needs incident numbers"),
    ("resolve", "which incidents? `resolve` needs incident numbers"),
    ("override Platform Primary", 'say who and when: e.g. `override "Platform Primary" me tomorrow`'),
    ("please ack {n}", "To acknowledge #{n}, type `ack {n}`."),
])
async def test_without_a_model_a_write_missing_its_argument_says_what_is_missing(
        demo: Sandbox, make_ctx: ContextFactory, text: str, missing: str) -> None:
    number = triggered_number(demo)
    turn = await Agent(None).respond(text.format(n=number), make_ctx(demo))
    assert turn.reply.startswith("Nothing was changed:") and missing.format(n=number) in turn.reply
    assert help_text() not in turn.reply and turn.pd_requests == 0 and writes(demo) == []


async def test_when_the_model_fails_a_question_is_answered_as_the_command_it_asks_for(
        demo: Sandbox, make_ctx: ContextFactory) -> None:
    model = ScriptedModel([ModelUnavailable(UNREACHABLE)])
    turn = await Agent(model).respond("who is currently on call for the platform-engineering service?",
                                      make_ctx(demo))
    assert "model is unavailable" in turn.reply
    assert "I ran this as `oncall platform-engineering`:\n\nOn call for platform-engineering" in turn.reply
    assert [c.name for c in turn.tool_calls] == ["who_is_on_call"]


async def test_fallback_keeps_what_the_model_already_did_but_drops_its_proposals(
        demo: Sandbox, make_ctx: ContextFactory) -> None:
    number = triggered_number(demo)
    model = ScriptedModel([
        calls(call("who_is_on_call", {"service": "platform-engineering"}),
              call("acknowledge_incidents", {"incidents": [str(number)]})),
        TimeoutError()])
    turn = await Agent(model).respond("who is on call for platform, and ack the incident", make_ctx(demo))
    assert turn.mode == "command"
    assert sorted(c.name for c in turn.tool_calls) == ["acknowledge_incidents", "who_is_on_call"]
    assert turn.pd_requests > 0 and turn.llm_calls == 2
    assert turn.proposals == []
    assert writes(demo) == []


async def test_a_proposed_write_runs_only_on_confirm_as_the_asker(demo: Sandbox, make_ctx: ContextFactory) -> None:
    number = triggered_number(demo)
    model = ScriptedModel([calls(call("acknowledge_incidents", {"incidents": [str(number)]})),
                           say(f"I prepared acknowledging #{number}; confirm to go ahead.")])
    agent = Agent(model)
    ctx = make_ctx(demo)
    turn = await agent.respond(f"please acknowledge incident {number}", ctx)
    assert turn.mode == "llm" and turn.llm_calls == 2
    assert [p.action for p in turn.proposals] == ["acknowledge_incidents"]
    assert status_of(demo, number) == "triggered"
    assert writes(demo) == []

    outcome = await agent.confirm(turn.proposals[0], make_ctx(demo))
    assert outcome.ok, outcome.summary
    assert status_of(demo, number) == "acknowledged"
    assert demo.requests[-1].method == "PUT"
    assert demo.requests[-1].from_email == MANAGER_EMAIL


async def test_confirm_refuses_an_observer(demo: Sandbox, make_ctx: ContextFactory) -> None:
    number = triggered_number(demo)
    model = ScriptedModel([calls(call("acknowledge_incidents", {"incidents": [str(number)]})), say("Prepared.")])
    agent = Agent(model)
    turn = await agent.respond(f"ack {number} please", make_ctx(demo))
    outcome = await agent.confirm(turn.proposals[0], make_ctx(demo, OBSERVER_EMAIL))
    assert not outcome.ok and "observer" in outcome.summary
    assert status_of(demo, number) == "triggered"
    assert writes(demo) == []


async def test_follow_up_sees_the_earlier_exchange_after_a_restart(
        demo: Sandbox, make_ctx: ContextFactory, tmp_path: Path) -> None:
    assert parse_command(FREE_TEXT) is None
    path = tmp_path / "state.sqlite3"
    first = ScriptedModel([calls(call("who_is_on_call", {"service": "platform-engineering"})),
                           say("Ben Carter is on call for platform-engineering.")])
    agent = Agent(first, SQLiteThreadMemory(path))
    await agent.respond(FREE_TEXT, make_ctx(demo), thread_id="T1")
    await agent.aclose()

    second = ScriptedModel([say("Next week it is Aisha Khan.")])
    restarted = Agent(second, SQLiteThreadMemory(path))
    turn = await restarted.respond("and next week?", make_ctx(demo), thread_id="T1")
    assert turn.reply == "Next week it is Aisha Khan."
    sent = [(m["role"], m.get("content")) for m in second.calls[0].messages if m["role"] != "system"]
    assert ("user", FREE_TEXT) in sent
    assert ("assistant", "Ben Carter is on call for platform-engineering.") in sent
    assert sent[-1] == ("user", "and next week?")
    assert any(m["role"] == "tool" for m in second.calls[0].messages)  # the tool result came along

    other = ScriptedModel([say("Which service?")])
    await Agent(other, SQLiteThreadMemory(path)).respond("and next week?", make_ctx(demo), thread_id="T2")
    assert [m["role"] for m in other.calls[0].messages] == ["system", "user"]


async def test_command_answers_are_remembered_for_the_model(demo: Sandbox, make_ctx: ContextFactory) -> None:
    memory = InMemoryThreadMemory()
    model = ScriptedModel([say("The same people as above.")])
    agent = Agent(model, memory)
    command = await agent.respond(ONCALL, make_ctx(demo), thread_id="T")
    await agent.respond("and who is that in the secondary?", make_ctx(demo), thread_id="T")
    sent = [(m["role"], m.get("content")) for m in model.calls[0].messages]
    assert ("user", ONCALL) in sent and ("assistant", command.reply) in sent


@pytest.mark.parametrize("with_model", [True, False], ids=["model-failed", "no-model"])
async def test_the_message_is_parsed_as_a_command_once(demo: Sandbox, make_ctx: ContextFactory,
                                                        monkeypatch: pytest.MonkeyPatch, with_model: bool) -> None:
    import bot.agent.agent
    import bot.agent.commands.reading

    question = "who is on call for platform-engineering?"
    parsed: list[str] = []

    def counting(text: str) -> object:
        parsed.append(text)
        return parse_command(text)

    for module in (bot.agent.agent, bot.agent.commands.reading):
        monkeypatch.setattr(module, "parse_command", counting)
    model = ScriptedModel([ModelUnavailable(UNREACHABLE)]) if with_model else None

    turn = await Agent(model).respond(question, make_ctx(demo))

    assert "On call for platform-engineering" in turn.reply
    assert parsed.count(question) == 1, parsed
