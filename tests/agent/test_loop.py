"""The tool-calling loop against a scripted model and the demo sandbox.

The tools here are small fakes built on the real pieces (Tool, ToolArgs, run_tool, name resolution
against the sandbox), so the loop is tested on its own: orchestration, bounds, proposals, failures.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field

from bot.agent.llm import ModelReply, ModelUnavailable
from bot.agent.loop import FINAL_STEP_NOTE, Limits, Live, ModelFailed, StepCall, Stopped, run_llm_turn
from bot.agent.prompt import ChannelInfo
from bot.sandbox import Sandbox
from bot.store.thread_memory import SQLiteThreadMemory
from bot.tools.base import Operation, Proposal, Tool, ToolArgs, ToolContext, ToolResult
from bot.tools.resolve import get_incident, resolve_service
from bot.tools.results import Result
from tests.fakes.scripted_llm import ScriptedModel, call, calls, say
from tests.tools.conftest import ContextFactory

# --- fake tools ----------------------------------------------------------------------------------

RUNS: list[str] = []


class ServiceState(Result):
    service: str
    state: str


class Count(Result):
    n: int


class Met(Result):
    side: str
    met: bool


class ServiceStatus(ToolArgs):
    """Show one service's status. Use for "is X healthy"."""

    service: str = Field(description="Service name.")
    verbose: bool | None = Field(description="More detail; null for no.")


async def service_status(args: ServiceStatus, ctx: ToolContext) -> ToolResult[Any]:
    RUNS.append(f"service_status:{args.service}")
    found = await resolve_service(ctx, args.service)
    return ToolResult.ok(ServiceState(service=found["name"], state=found["status"]))


class Noop(ToolArgs):
    """Count calls. Use for tests only."""

    n: int = Field(description="Any number.")


async def noop(args: Noop, ctx: ToolContext) -> ToolResult[Any]:
    RUNS.append(f"noop:{args.n}")
    return ToolResult.ok(Count(n=args.n))


class Acknowledge(ToolArgs):
    """Acknowledge incidents by number (prepares a proposal)."""

    incidents: list[str] = Field(description="Incident numbers.")


async def acknowledge(args: Acknowledge, ctx: ToolContext) -> ToolResult[Any]:
    RUNS.append("acknowledge")
    found = [await get_incident(ctx, ref) for ref in args.incidents]
    return ToolResult.propose(Proposal(
        action="acknowledge_incidents", summary=f"Acknowledge {len(found)} incident(s)",
        lines=tuple(f"#{i['incident_number']} {i['title']} ({i['status']})" for i in found),
        operations=tuple(Operation("PUT", f"/incidents/{i['id']}",
                                   {"incident": {"type": "incident", "status": "acknowledged"}}, kind="reassign")
                         for i in found),
        incident_ids=tuple(i["id"] for i in found)))


class Half(ToolArgs):
    """Meet the other half. Use for tests only."""

    side: str = Field(description="Which half.")


def barrier_tools() -> tuple[Tool[Any], Tool[Any]]:
    """Two tools that each wait for the other to start: they only finish if run concurrently."""
    left, right = asyncio.Event(), asyncio.Event()

    def make(mine: asyncio.Event, other: asyncio.Event) -> Any:
        async def handler(args: Half, ctx: ToolContext) -> ToolResult[Any]:
            mine.set()
            try:
                async with asyncio.timeout(5):
                    await other.wait()
            except TimeoutError:
                return ToolResult.fail("the other half never started")
            return ToolResult.ok(Met(side=args.side, met=True))
        return handler

    return Tool("left_half", Half, make(left, right), "read"), Tool("right_half", Half, make(right, left), "read")


STATUS = Tool("service_status", ServiceStatus, service_status, "read")
NOOP = Tool("noop", Noop, noop, "read")
ACK = Tool("acknowledge_incidents", Acknowledge, acknowledge, "write")
TOOLS: tuple[Tool[Any], ...] = (STATUS, NOOP, ACK)


@pytest.fixture(autouse=True)
def _clear_runs() -> None:
    RUNS.clear()


def open_numbers(sandbox: Sandbox, count: int) -> list[str]:
    return [str(i.number) for i in sorted(sandbox.world.incidents.values(), key=lambda i: i.number)
            if i.status == "triggered"][:count]


# --- tests ---------------------------------------------------------------------------------------

async def test_single_tool_call_then_answer(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    model = ScriptedModel([calls(call("service_status", {"service": "payments-api", "verbose": None})),
                           say("payments-api is critical.")])
    before = len(demo.requests)
    transcript: list[dict[str, Any]] = []

    turn = await run_llm_turn(model, "is payments-api ok?", ctx, tools=TOOLS, transcript=transcript)

    model.assert_complete()
    assert turn.reply == "payments-api is critical." and turn.mode == "llm"
    assert turn.llm_calls == 2 and len(model.calls) == 2
    assert [(c.name, c.arguments, c.result.status) for c in turn.tool_calls] == [
        ("service_status", {"service": "payments-api", "verbose": None}, "ok")]
    assert turn.pd_requests == len(demo.requests) - before > 0
    assert turn.usage.prompt_tokens == 200 and turn.usage.completion_tokens == 40
    assert set(turn.timings) == {"total", "llm", "tools"} and turn.proposals == []
    first = model.calls[0]
    assert first.tool_names == ["service_status", "noop", "acknowledge_incidents"]
    assert all(t["function"]["strict"] is True for t in first.tools)
    assert first.messages[0]["role"] == "system" and "Sam Rivera" in first.messages[0]["content"]
    assert first.messages[-1] == {"role": "user", "content": "is payments-api ok?"}
    assert model.calls[1].tool_results() == [{"status": "ok", "service": "payments-api", "state": "critical"}]
    assert [m["role"] for m in transcript] == ["user", "assistant", "tool", "assistant"]
    assert ctx.deadline is not None


async def test_parallel_calls_in_one_step_run_concurrently(demo: Sandbox, make_ctx: ContextFactory) -> None:
    left, right = barrier_tools()
    model = ScriptedModel([calls(call("left_half", {"side": "L"}), call("right_half", {"side": "R"})),
                           say("met")])

    turn = await run_llm_turn(model, "meet", make_ctx(demo), tools=(left, right))

    assert [c.result.data for c in turn.tool_calls] == [{"side": "L", "met": True}, {"side": "R", "met": True}]
    results = model.calls[1].tool_results()
    assert [r["side"] for r in results] == ["L", "R"]
    ids = [m["tool_call_id"] for m in model.calls[1].messages if m["role"] == "tool"]
    assert ids == [c["id"] for c in model.calls[1].last("assistant")["tool_calls"]]


async def test_invalid_arguments_go_back_and_are_repaired(demo: Sandbox, make_ctx: ContextFactory) -> None:
    model = ScriptedModel([
        calls(call("service_status", '{"service": "payments-api", '),
              call("service_status", {"service": "payments-api", "colour": "red"})),
        calls(call("service_status", {"service": "payments-api", "verbose": None})),
        say("payments-api is critical."),
    ])
    before = len(demo.requests)

    turn = await run_llm_turn(model, "status of payments-api", make_ctx(demo), tools=TOOLS)

    model.assert_complete()
    errors = model.calls[1].tool_results()
    assert [e["status"] for e in errors] == ["error", "error"]
    assert "not valid JSON" in errors[0]["error"] and "colour" in errors[1]["error"]
    assert RUNS == ["service_status:payments-api"]  # the malformed calls never reached the handler
    assert [c.result.status for c in turn.tool_calls] == ["error", "error", "ok"]
    assert turn.tool_calls[0].arguments == '{"service": "payments-api", '
    assert turn.pd_requests == len(demo.requests) - before
    assert turn.reply == "payments-api is critical."


async def test_unknown_tool_is_an_error_result_and_the_loop_continues(demo: Sandbox,
                                                                     make_ctx: ContextFactory) -> None:
    model = ScriptedModel([calls(call("restart_pods", {"service": "payments-api"})),
                           say("I can't restart pods; I can only read PagerDuty and propose changes.")])

    turn = await run_llm_turn(model, "restart the pods of payments-api", make_ctx(demo), tools=TOOLS)

    [result] = model.calls[1].tool_results()
    assert result["status"] == "error" and 'no tool named "restart_pods"' in result["error"]
    assert "service_status" in result["hint"]
    assert turn.llm_calls == 2 and turn.pd_requests == 0 and "can't restart" in turn.reply


async def test_loop_is_capped_at_max_steps_and_the_last_step_gets_no_tools(demo: Sandbox,
                                                                          make_ctx: ContextFactory) -> None:
    model = ScriptedModel([calls(call("noop", {"n": n})) for n in range(1, 4)])

    turn = await run_llm_turn(model, "loop forever", make_ctx(demo), tools=TOOLS, limits=Limits(max_steps=3))

    model.assert_complete()
    assert turn.llm_calls == 3 and RUNS == ["noop:1", "noop:2"]
    assert [bool(c.tools) for c in model.calls] == [True, True, False]
    assert model.calls[2].messages[-1] == {"role": "system", "content": FINAL_STEP_NOTE}
    assert "couldn't finish" in turn.reply and turn.notice


async def test_repeated_malformed_calls_stop_after_the_repair_budget(demo: Sandbox,
                                                                    make_ctx: ContextFactory) -> None:
    model = ScriptedModel([*(calls(call("noop", "{")) for _ in range(3)),
                           say("Sorry, I could not run that.")])

    turn = await run_llm_turn(model, "go", make_ctx(demo), tools=TOOLS, limits=Limits(max_steps=6, max_repairs=2))

    model.assert_complete()
    assert [bool(c.tools) for c in model.calls] == [True, True, True, False]
    assert turn.reply == "Sorry, I could not run that." and RUNS == []


async def test_write_tool_call_becomes_a_proposal_and_nothing_is_executed(demo: Sandbox,
                                                                        make_ctx: ContextFactory) -> None:
    first, second = open_numbers(demo, 2)
    model = ScriptedModel([
        calls(call("acknowledge_incidents", {"incidents": [first, second]}),
              call("service_status", {"service": "payments-api", "verbose": None})),
        say(None),
    ])

    turn = await run_llm_turn(model, f"ack {first} and {second}", make_ctx(demo), tools=TOOLS)

    assert demo.requests and all(r.method == "GET" for r in demo.requests)
    [proposal] = turn.proposals
    assert proposal.action == "acknowledge_incidents" and len(proposal.operations) == 2
    assert model.calls[1].tool_results()[0]["status"] == "proposal"
    assert "Acknowledge 2 incident(s)" in turn.reply  # an empty answer with a proposal says what is proposed


async def test_identical_read_call_is_not_repeated(demo: Sandbox, make_ctx: ContextFactory) -> None:
    model = ScriptedModel([
        calls(call("service_status", {"service": "payments-api", "verbose": None}),
              call("service_status", {"service": "payments-api"})),
        calls(call("service_status", '{"verbose": null,   "service": "payments-api"}')),
        say("active"),
    ])
    before = len(demo.requests)

    turn = await run_llm_turn(model, "status?", make_ctx(demo), tools=TOOLS)

    assert RUNS == ["service_status:payments-api"]
    assert turn.pd_requests == len(demo.requests) - before
    assert len(turn.tool_calls) == 3
    assert model.calls[2].tool_results()[2] == model.calls[1].tool_results()[0]


async def test_repeated_write_call_does_not_make_a_second_proposal(demo: Sandbox,
                                                                  make_ctx: ContextFactory) -> None:
    [number] = open_numbers(demo, 1)
    model = ScriptedModel([calls(call("acknowledge_incidents", {"incidents": [number]})),
                           calls(call("acknowledge_incidents", {"incidents": [number]})),
                           say("Prepared: acknowledge it. Confirm with the button.")])

    turn = await run_llm_turn(model, f"ack {number}", make_ctx(demo), tools=TOOLS)

    assert len(turn.proposals) == 1 and RUNS == ["acknowledge"]
    assert all(r.method == "GET" for r in demo.requests)


async def test_proposals_per_message_are_capped(demo: Sandbox, make_ctx: ContextFactory) -> None:
    numbers = open_numbers(demo, 3)
    model = ScriptedModel([calls(*(call("acknowledge_incidents", {"incidents": [n]}) for n in numbers)),
                           say("Two prepared.")])

    turn = await run_llm_turn(model, "ack them one by one", make_ctx(demo), tools=TOOLS,
                              limits=Limits(max_proposals=2))

    assert len(turn.proposals) == 2
    assert [r["status"] for r in model.calls[1].tool_results()] == ["proposal", "proposal", "error"]


@pytest.mark.parametrize("failure", [ModelUnavailable("The model did not answer in time."),
                                     RuntimeError("boom"), TimeoutError()])
async def test_a_model_that_raises_is_model_failed(demo: Sandbox, make_ctx: ContextFactory,
                                                   failure: BaseException) -> None:
    model = ScriptedModel([calls(call("service_status", {"service": "payments-api", "verbose": None})), failure])

    with pytest.raises(ModelFailed) as raised:
        await run_llm_turn(model, "status?", make_ctx(demo), tools=TOOLS)

    assert raised.value.turn.llm_calls == 2 and raised.value.turn.pd_requests > 0
    assert raised.value.reason and raised.value.turn.notice == raised.value.reason
    assert "boom" not in raised.value.reason


async def test_a_model_slower_than_the_deadline_is_model_failed(demo: Sandbox, make_ctx: ContextFactory) -> None:
    async def never(messages: list[dict[str, Any]]) -> Any:
        await asyncio.Event().wait()

    model = ScriptedModel([never])

    with pytest.raises(ModelFailed) as raised:
        await run_llm_turn(model, "status?", make_ctx(demo), tools=TOOLS, limits=Limits(deadline_s=0.05))

    assert raised.value.kind == "timeout"


async def test_an_empty_answer_is_model_failed(demo: Sandbox, make_ctx: ContextFactory) -> None:
    with pytest.raises(ModelFailed) as raised:
        await run_llm_turn(ScriptedModel([say("  ")]), "hi", make_ctx(demo), tools=TOOLS)
    assert raised.value.kind == "empty"


async def test_thread_follow_up_uses_memory_after_a_restart(demo: Sandbox, make_ctx: ContextFactory,
                                                           tmp_path: Path) -> None:
    first, second = open_numbers(demo, 2)
    state = tmp_path / "alex-state.sqlite3"
    memory = SQLiteThreadMemory(state)
    transcript: list[dict[str, Any]] = []
    model = ScriptedModel([calls(call("service_status", {"service": "payments-api", "verbose": None})),
                           say(f"payments-api is critical; open: #{first}, #{second}.")])
    await run_llm_turn(model, "what's open on payments-api?", make_ctx(demo), tools=TOOLS,
                       history=await memory.load("T1"), transcript=transcript)
    await memory.append("T1", transcript)

    restarted = SQLiteThreadMemory(state)  # a new process on the same file
    history = await restarted.load("T1")
    model = ScriptedModel([calls(call("acknowledge_incidents", {"incidents": [second]})),
                           say(f"Prepared: acknowledge #{second}. Confirm with the button.")])
    turn = await run_llm_turn(model, "ack the second one", make_ctx(demo), tools=TOOLS, history=history,
                              channel=ChannelInfo("war_room", first))

    sent = model.calls[0].messages
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool", "assistant", "user"]
    assert sent[1]["content"] == "what's open on payments-api?" and f"#{second}" in sent[4]["content"]
    assert '"service":"payments-api"' in sent[3]["content"]
    assert f"incident #{first}" in sent[0]["content"]
    assert await memory.load("T2") == []
    [proposal] = turn.proposals
    assert proposal.lines[0].startswith(f"#{second} ")


def test_limits_come_from_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.config import Settings

    monkeypatch.setenv("ALEX_MAX_TOOL_STEPS", "4")
    monkeypatch.delenv("ALEX_MESSAGE_DEADLINE_SECONDS", raising=False)
    assert Limits.from_settings(Settings(_env_file=None)) == Limits(max_steps=4, deadline_s=60.0)


async def test_history_is_cleaned_before_it_is_sent(demo: Sandbox, make_ctx: ContextFactory) -> None:
    model = ScriptedModel([say("ok")])
    history = [{"role": "tool", "tool_call_id": "x", "content": "{}"},
               {"role": "user", "content": "earlier"},
               {"role": "assistant", "content": None, "tool_calls": [
                   {"id": "a", "type": "function", "function": {"name": "noop", "arguments": "{}"}}]},
               {"role": "assistant", "content": "earlier answer"}]

    await run_llm_turn(model, "now", make_ctx(demo), tools=TOOLS, history=history)

    assert [m.get("content") for m in model.calls[0].messages[1:]] == ["earlier", "earlier answer", "now"]


# --- with the real registry ----------------------------------------------------------------------

SEED_CALLS = [
    ("list all triggered and acknowledged incidents and identify patterns",
     "list_incidents", {"statuses": ["triggered", "acknowledged"]}),
    ("who is currently on-call for the platform-engineering service?",
     "who_is_on_call", {"target": "platform-engineering", "target_type": "service"}),
    ("list all services with active incidents and their current status",
     "service_health", {"only_active": True}),
    ("show next week's on-call schedule and identify any coverage gaps",
     "find_coverage_gaps", {"window": "next week"}),
]


@pytest.mark.parametrize(("prompt", "tool", "arguments"), SEED_CALLS, ids=[c[1] for c in SEED_CALLS])
async def test_seed_prompts_take_two_llm_calls_with_the_registry(demo: Sandbox, make_ctx: ContextFactory,
                                                                 prompt: str, tool: str,
                                                                 arguments: dict[str, Any]) -> None:
    from bot.tools.registry import openai_tools

    model = ScriptedModel([calls(call(tool, arguments)), say("Here is what PagerDuty shows.")])

    turn = await run_llm_turn(model, prompt, make_ctx(demo))

    model.assert_complete()
    assert turn.llm_calls == 2 and [c.name for c in turn.tool_calls] == [tool]
    [result] = model.calls[1].tool_results()
    assert result["status"] == "ok", result
    assert model.calls[0].tools == openai_tools()
    assert all(r.method == "GET" for r in demo.requests)


async def test_registry_write_tool_only_proposes(demo: Sandbox, make_ctx: ContextFactory) -> None:
    [number] = open_numbers(demo, 1)
    model = ScriptedModel([calls(call("acknowledge_incidents", {"incidents": [number]})),
                           say(f"Prepared: acknowledge #{number}. Confirm with the button.")])

    turn = await run_llm_turn(model, f"ack {number}", make_ctx(demo))

    [proposal] = turn.proposals
    assert proposal.operations and all(r.method == "GET" for r in demo.requests)
    assert demo.world.incidents and next(i for i in demo.world.incidents.values()
                                         if str(i.number) == number).status == "triggered"


async def test_on_tool_start_hears_each_steps_tool_names_before_they_run(demo: Sandbox,
                                                                        make_ctx: ContextFactory) -> None:
    model = ScriptedModel([calls(call("service_status", {"service": "payments-api", "verbose": None}),
                                 call("noop", {"n": 1})),
                           calls(call("noop", {"n": 2})),
                           say("done")])
    heard: list[tuple[list[str], list[str]]] = []

    async def started(names: list[str]) -> None:
        heard.append((names, list(RUNS)))

    turn = await run_llm_turn(model, "go", make_ctx(demo), tools=TOOLS, on_tool_start=started)

    assert heard == [(["service_status", "noop"], []),
                     (["noop"], ["service_status:payments-api", "noop:1"])]
    assert turn.reply == "done"


async def test_a_failing_on_tool_start_is_ignored(demo: Sandbox, make_ctx: ContextFactory) -> None:
    model = ScriptedModel([calls(call("noop", {"n": 1})), say("done")])

    async def broken(names: list[str]) -> None:
        raise RuntimeError("status refused")

    turn = await run_llm_turn(model, "go", make_ctx(demo), tools=TOOLS, on_tool_start=broken)

    assert turn.reply == "done" and RUNS == ["noop:1"]


class Counted(ToolArgs):
    """Count how often these arguments are parsed. Use for tests only."""

    n: int = Field(description="Any number.")

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Counted:  # type: ignore[override]
        PARSED.append(obj)
        return super().model_validate(obj, **kwargs)

    @classmethod
    def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
        SCHEMAS_BUILT.append(cls.__name__)
        return super().model_json_schema(*args, **kwargs)


PARSED: list[Any] = []
SCHEMAS_BUILT: list[str] = []


async def counted(args: Counted, ctx: ToolContext) -> ToolResult[Any]:
    return ToolResult.ok(Count(n=args.n))


async def test_each_tool_call_is_parsed_once(demo: Sandbox, make_ctx: ContextFactory) -> None:
    PARSED.clear()
    tool = Tool("counted", Counted, counted, "read")
    model = ScriptedModel([calls(call("counted", {"n": 1}), call("counted", {"n": 2})),
                           calls(call("counted", '{"n": 3}')), say("done")])

    turn = await run_llm_turn(model, "go", make_ctx(demo), tools=(tool,))

    assert [c.result.data for c in turn.tool_calls] == [{"n": 1}, {"n": 2}, {"n": 3}]
    assert len(PARSED) == 3, PARSED


async def test_tool_schemas_are_built_once_per_tool_set_and_each_message_gets_its_own_copy(
        demo: Sandbox, make_ctx: ContextFactory) -> None:
    SCHEMAS_BUILT.clear()
    tools = (Tool("counted_schema", Counted, counted, "read"), NOOP)
    sent: list[tuple[list[str], str]] = []
    for n in range(3):
        model = ScriptedModel([calls(call("noop", {"n": n})), say("done")])
        await run_llm_turn(model, "go", make_ctx(demo), tools=list(tools))  # a new list, the same tool set
        schemas = model.calls[0].tools
        sent.append(([t["function"]["name"] for t in schemas], schemas[0]["function"]["description"]))
        schemas[0]["function"]["description"] = "changed by a caller"
        schemas.pop()

    assert SCHEMAS_BUILT == ["Counted"]
    assert sent == [(["counted_schema", "noop"], "Count how often these arguments are parsed. Use for tests only.")] * 3


# --- a live surface: steps, text, Stop --------------------------------------------------------------

class Heard:
    """A live surface that records what it hears, and may press Stop on a cue."""

    def __init__(self, *, stop_on: str | None = None) -> None:
        self.steps: list[list[StepCall]] = []
        self.text: list[str] = []
        self.stop = asyncio.Event()
        self.stop_on = stop_on

    def live(self) -> Live:
        return Live(on_tools=self.tools, on_text=self.piece, stop=self.stop)

    async def tools(self, step: list[StepCall]) -> None:
        self.steps.append(step)
        if self.stop_on == "tools" and step[0].status is not None:
            self.stop.set()

    async def piece(self, piece: str) -> None:
        self.text.append(piece)
        if self.stop_on is not None and self.stop_on in piece:
            self.stop.set()


async def test_a_live_surface_hears_each_steps_calls_before_and_after_and_the_text(
        demo: Sandbox, make_ctx: ContextFactory) -> None:
    model = ScriptedModel([calls(call("noop", {"n": 1}), call("nope", {}), text="Let me count. "),
                           say("Counted to one.")])
    heard = Heard()

    turn = await run_llm_turn(model, "count", make_ctx(demo), tools=TOOLS, live=heard.live())

    before, after = heard.steps
    assert [(c.name, c.status) for c in before] == [("noop", None), ("nope", None)]
    assert [(c.name, c.status) for c in after] == [("noop", "ok"), ("nope", "error")]
    assert [c.id for c in before] == [c.id for c in after] and len({c.id for c in before}) == 2
    assert before[0].arguments == {"n": 1}
    assert "".join(heard.text) == "Let me count. Counted to one." and turn.reply == "Counted to one."


async def test_a_failing_live_surface_never_fails_the_turn(demo: Sandbox, make_ctx: ContextFactory) -> None:
    async def broken(*_: Any) -> None:
        raise RuntimeError("slack is down")

    model = ScriptedModel([calls(call("noop", {"n": 1})), say("done")])
    turn = await run_llm_turn(model, "go", make_ctx(demo), tools=TOOLS, live=Live(on_tools=broken, on_text=broken))
    assert turn.reply == "done" and RUNS == ["noop:1"]


async def test_stop_before_the_answer_is_finished_drops_every_proposal(demo: Sandbox,
                                                                      make_ctx: ContextFactory) -> None:
    [number] = open_numbers(demo, 1)
    model = ScriptedModel([calls(call("acknowledge_incidents", {"incidents": [number]})),
                           say("Prepared: STOP confirm below.")])
    heard = Heard(stop_on="STOP")

    with pytest.raises(Stopped) as stopped:
        await run_llm_turn(model, f"ack {number}", make_ctx(demo), tools=TOOLS, live=heard.live())

    assert RUNS == ["acknowledge"] and stopped.value.turn.proposals == [], "prepared, then dropped by the Stop"
    assert stopped.value.turn.llm_calls == 2 and all(r.method == "GET" for r in demo.requests)


async def test_stop_after_a_step_asks_the_model_nothing_more(demo: Sandbox, make_ctx: ContextFactory) -> None:
    model = ScriptedModel([calls(call("noop", {"n": 1})), say("never asked")])
    heard = Heard(stop_on="tools")

    with pytest.raises(Stopped):
        await run_llm_turn(model, "go", make_ctx(demo), tools=TOOLS, live=heard.live())
    assert len(model.calls) == 1


async def test_stop_cancels_the_model_call_and_the_tools_in_flight(demo: Sandbox, make_ctx: ContextFactory) -> None:
    stop = asyncio.Event()
    cancelled: list[str] = []

    async def slow(_: list[dict[str, Any]]) -> ModelReply:
        asyncio.get_running_loop().call_later(0.05, stop.set)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append("model")
            raise
        return say("late")

    started = asyncio.get_running_loop().time()
    with pytest.raises(Stopped) as stopped:
        await run_llm_turn(ScriptedModel([slow]), "go", make_ctx(demo), tools=TOOLS, live=Live(stop=stop))
    assert cancelled == ["model"] and asyncio.get_running_loop().time() - started < 5
    assert stopped.value.turn.llm_calls == 1

    async def hang(args: Noop, ctx: ToolContext) -> ToolResult[Any]:
        asyncio.get_running_loop().call_later(0.05, stop.set)
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append("tool")
            raise
        return ToolResult.ok(Count(n=args.n))

    stop.clear()
    model = ScriptedModel([calls(call("hang", {"n": 1})), say("never")])
    with pytest.raises(Stopped):
        await run_llm_turn(model, "go", make_ctx(demo), tools=[Tool("hang", Noop, hang, "read")],
                           live=Live(stop=stop))
    assert cancelled == ["model", "tool"] and len(model.calls) == 1


async def test_the_agent_answers_a_stopped_turn_without_falling_back_to_commands(
        demo: Sandbox, make_ctx: ContextFactory) -> None:
    from bot.agent.agent import STOPPED_REPLY, Agent

    stop = asyncio.Event()

    async def failing_after_stop(_: list[dict[str, Any]]) -> ModelReply:
        stop.set()
        raise ModelUnavailable("The model server failed.")

    [number] = open_numbers(demo, 1)
    agent = Agent(ScriptedModel([failing_after_stop]), tools=TOOLS)
    turn = await agent.respond(f"ack {number}?", make_ctx(demo), live=Live(stop=stop))
    assert turn.reply == STOPPED_REPLY and turn.proposals == [] and turn.mode == "llm"
    assert all(r.method == "GET" for r in demo.requests), "no command-mode write after a Stop"
