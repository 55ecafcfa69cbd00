"""Typed commands: each command is one model that builds its tool's own argument model (no renaming
table), and what the tool's model refuses is an answer, never a crash."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

import bot.agent.agent
from bot.agent.agent import Agent
from bot.agent.commands import parse_command, run_command, tool_for
from bot.agent.commands.models import (
    INCIDENTS_SHOWN,
    AckCommand,
    CommandArgs,
    HelpCommand,
    IncidentsCommand,
    OncallCommand,
    ToolCommand,
    WriteCommand,
)
from bot.agent.loop import Limits
from bot.agent.turn import Turn
from bot.sandbox import Sandbox
from bot.tools.base import ToolArgs, ToolContext
from bot.tools.escalation import GetEscalationPolicy
from bot.tools.incident_actions import AcknowledgeIncidents, AddIncidentNote, ResolveIncidents
from bot.tools.incidents import GetIncident, ListIncidents
from bot.tools.oncall import WhoIsOnCall
from bot.tools.override_actions import CreateOverride
from bot.tools.overrides import ListOverrides
from bot.tools.registry import ALL_TOOLS
from bot.tools.schedules import FindCoverageGaps, GetSchedule
from bot.tools.services import ServiceHealth
from tests.tools.conftest import ContextFactory


def _incidents(*, mine: bool = False, service: str | None = None) -> ListIncidents:
    return ListIncidents(statuses=None, service=service, team=None, urgency=None, window=None, mine=mine,
                         limit=INCIDENTS_SHOWN)


TOOL_ARGS: list[tuple[str, ToolArgs]] = [
    ("incidents", _incidents()),
    ("incidents mine", _incidents(mine=True)),
    ("incidents for payments-api", _incidents(service="payments-api")),
    ("incident #1204", GetIncident(incident="1204")),
    ("oncall", WhoIsOnCall(target=None, target_type=None, window=None)),
    ("am I on call next week?", WhoIsOnCall(target="me", target_type=None, window="next week")),
    ("oncall Platform Primary tomorrow", WhoIsOnCall(target="Platform Primary", target_type=None, window="tomorrow")),
    ("services", ServiceHealth(team=None, only_active=True)),
    ("services all", ServiceHealth(team=None, only_active=False)),
    ("escalation policy Payments", GetEscalationPolicy(policy="Payments", service=None, notification_rules=None)),
    ("schedule all", GetSchedule(schedule=None, window=None)),
    ("schedule Platform Primary next week", GetSchedule(schedule="Platform Primary", window="next week")),
    ("gaps all next week", FindCoverageGaps(schedules=None, escalation_policy=None, window="next week")),
    ("gaps Platform Secondary", FindCoverageGaps(schedules=["Platform Secondary"], escalation_policy=None,
                                                 window=None)),
    ("overrides Platform Primary this week", ListOverrides(schedule="Platform Primary", window="this week")),
    ("ack #12, #13 and 14", AcknowledgeIncidents(incidents=["12", "13", "14"])),
    ("resolve 7", ResolveIncidents(incidents=["7"], resolution_note=None)),
    ("resolve 1234 1235 rolled back", ResolveIncidents(incidents=["1234", "1235"], resolution_note="rolled back")),
    ("note 1204 rollback in progress", AddIncidentNote(incident="1204", note="rollback in progress")),
    ('override "Platform Primary" "Ben Carter" 2026-03-11T09:00 2026-03-11T17:00',
     CreateOverride(schedule="Platform Primary", user="Ben Carter", start="2026-03-11T09:00",
                    end="2026-03-11T17:00", window=None)),
    ("override Platform Primary me tomorrow",
     CreateOverride(schedule="Platform Primary", user="me", start=None, end=None, window="tomorrow")),
]


@pytest.mark.parametrize(("text", "expected"), TOOL_ARGS)
def test_a_command_builds_its_tools_own_arguments(text: str, expected: ToolArgs) -> None:
    command = parse_command(text)
    assert command is not None and isinstance(command.args, ToolCommand)
    args = command.args.tool_args()
    assert args == expected and type(args) is command.args.tool
    tool = tool_for(command)
    assert tool is not None and tool.args is type(args)


def _command_classes() -> list[type[CommandArgs]]:
    found: list[type[CommandArgs]] = []
    todo: list[type[CommandArgs]] = [CommandArgs]
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if "word" in cls.__dict__:
            found.append(cls)
    return found


def test_every_command_names_one_registered_tool_and_writes_are_the_write_tools() -> None:
    classes = _command_classes()
    assert len({cls.word for cls in classes}) == len(classes) == 13
    by_args = {tool.args: tool for tool in ALL_TOOLS}
    for cls in classes:
        if cls is HelpCommand:
            assert not issubclass(cls, ToolCommand)
            continue
        assert issubclass(cls, ToolCommand) and cls.tool in by_args, cls
        assert by_args[cls.tool].kind == ("write" if issubclass(cls, WriteCommand) else "read"), cls


def test_help_runs_no_tool() -> None:
    command = parse_command("help")
    assert command is not None and command.args == HelpCommand() and tool_for(command) is None


def test_commands_are_strict_and_frozen() -> None:
    with pytest.raises(ValidationError):
        IncidentsCommand(mine=True, service=None, team="Platform")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        AckCommand(incidents=["twelve"])  # type: ignore[list-item]
    command = OncallCommand(target="me", window=None)
    with pytest.raises(ValidationError):
        command.window = "tomorrow"


async def test_the_record_has_the_typed_arguments_and_their_json(demo: Sandbox, make_ctx: ContextFactory) -> None:
    command = parse_command("oncall me tomorrow")
    assert command is not None
    turn = await run_command(command, make_ctx(demo))
    record = turn.tool_calls[0]
    assert record.name == "who_is_on_call"
    assert record.args == WhoIsOnCall(target="me", target_type=None, window="tomorrow")
    assert record.arguments == {"target": "me", "target_type": None, "window": "tomorrow"}


def _refused_target_type(self: OncallCommand) -> WhoIsOnCall:
    return WhoIsOnCall(target=self.target, target_type="planet", window=self.window)  # type: ignore[arg-type]


def _refused_ack(self: AckCommand) -> AcknowledgeIncidents:
    return AcknowledgeIncidents(incidents=None)  # type: ignore[arg-type]


async def test_arguments_the_tool_refuses_are_an_answer(demo: Sandbox, make_ctx: ContextFactory,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(OncallCommand, "tool_args", _refused_target_type)
    command = parse_command("oncall payments-api")
    assert command is not None
    before = len(demo.requests)
    turn = await run_command(command, make_ctx(demo))
    assert len(demo.requests) == before and turn.pd_requests == 0
    assert turn.reply.startswith("Invalid arguments for who_is_on_call (from `oncall`): target_type: ")
    record = turn.tool_calls[0]
    assert (record.name, record.args, record.arguments, record.result.status) == ("who_is_on_call", None, {},
                                                                                   "error")
    assert record.result.problem is not None and record.result.problem.kind == "invalid"
    assert record.result.hint == "Check the command: `help` lists each one with an example."


@pytest.mark.parametrize("execute_writes", [True, False], ids=["typed", "proposed"])
async def test_a_write_the_tool_refuses_changes_nothing(demo: Sandbox, make_ctx: ContextFactory,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        execute_writes: bool) -> None:
    monkeypatch.setattr(AckCommand, "tool_args", _refused_ack)
    command = parse_command("ack 1252")
    assert command is not None
    before = len(demo.requests)
    turn = await run_command(command, make_ctx(demo), execute_writes=execute_writes)
    assert len(demo.requests) == before and turn.proposals == []
    assert turn.reply.startswith("Invalid arguments for acknowledge_incidents (from `ack`): incidents: ")
    assert turn.tool_calls[0].outcome is None and turn.tool_calls[0].result.status == "error"


async def test_too_slow_names_the_tool(demo: Sandbox, make_ctx: ContextFactory,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    async def stuck(command: object, ctx: ToolContext, *, execute_writes: bool = True) -> Turn:
        await asyncio.sleep(5)
        raise AssertionError("not cut off")

    monkeypatch.setattr(bot.agent.agent, "run_command", stuck)
    monkeypatch.setattr(bot.agent.agent, "DEADLINE_GRACE_S", 0.0)
    agent = Agent(None, limits=Limits(deadline_s=0.05))
    turn = await agent.respond("gaps all", make_ctx(demo))
    assert turn.reply.startswith("PagerDuty did not answer in time: find_coverage_gaps was still waiting after "
                                 "the 0.05 s")
    helped = await agent.respond("help", make_ctx(demo))
    assert helped.reply.startswith("PagerDuty did not answer in time: help was still waiting")
