"""The commands as typed models: one per command, with the tool it runs and that tool's arguments.

A command's fields are what :mod:`bot.agent.commands.grammar` read from the text ("incidents mine":
``IncidentsCommand(mine=True, service=None)``). A command that runs a tool names the tool's argument
model (``tool``) and builds it with :meth:`ToolCommand.tool_args`: the tool's own model, so its
validation applies, with no renaming table in between. ``help`` runs no tool.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from bot.tools.base import ToolArgs
from bot.tools.escalation import GetEscalationPolicy
from bot.tools.incident_actions import AcknowledgeIncidents, AddIncidentNote, ResolveIncidents
from bot.tools.incidents import GetIncident, ListIncidents
from bot.tools.oncall import WhoIsOnCall
from bot.tools.override_actions import CreateOverride
from bot.tools.overrides import ListOverrides
from bot.tools.schedules import FindCoverageGaps, GetSchedule
from bot.tools.services import ServiceHealth

INCIDENTS_SHOWN = 10
"""Incidents listed by ``incidents`` (the total counts all)."""


class CommandArgs(BaseModel):
    """What one command says, as the grammar read it (strict, frozen)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    word: ClassVar[str]
    """The command as typed: ``oncall``, ``ack``."""


class HelpCommand(CommandArgs):
    """``help``: the command list; no tool, no PagerDuty request."""

    word = "help"


class ToolCommand(CommandArgs, ABC):
    """A command that is one call of one tool."""

    tool: ClassVar[type[ToolArgs]]
    """The argument model of the tool it runs (the tool is found by it)."""

    @abstractmethod
    def tool_args(self) -> ToolArgs:
        """The tool's arguments; raises :class:`pydantic.ValidationError` when the tool's model refuses them."""


class IncidentsCommand(ToolCommand):
    """``incidents [mine|<service>]``."""

    word = "incidents"
    tool = ListIncidents
    mine: bool
    service: str | None

    def tool_args(self) -> ListIncidents:
        return ListIncidents(statuses=None, service=self.service, team=None, urgency=None, window=None,
                             mine=self.mine, limit=INCIDENTS_SHOWN)


class IncidentCommand(ToolCommand):
    """``incident <n>``."""

    word = "incident"
    tool = GetIncident
    incident: int

    def tool_args(self) -> GetIncident:
        return GetIncident(incident=str(self.incident))


class OncallCommand(ToolCommand):
    """``oncall [<name>|me] [<window>]``; no target: the asker's services' on-call (the tool's default)."""

    word = "oncall"
    tool = WhoIsOnCall
    target: str | None
    window: str | None

    def tool_args(self) -> WhoIsOnCall:
        return WhoIsOnCall(target=self.target, target_type=None, window=self.window)


class ServicesCommand(ToolCommand):
    """``services [all]``: ``all`` includes the services without open incidents."""

    word = "services"
    tool = ServiceHealth
    all: bool

    def tool_args(self) -> ServiceHealth:
        return ServiceHealth(team=None, only_active=not self.all)


class PolicyCommand(ToolCommand):
    """``policy <name>``: a policy's name or a service's (the tool works out which)."""

    word = "policy"
    tool = GetEscalationPolicy
    name: str

    def tool_args(self) -> GetEscalationPolicy:
        return GetEscalationPolicy(policy=self.name, service=None, notification_rules=None)


class ScheduleCommand(ToolCommand):
    """``schedule [<name>|all] [<window>]``; no name: the overview of every schedule."""

    word = "schedule"
    tool = GetSchedule
    name: str | None
    window: str | None

    def tool_args(self) -> GetSchedule:
        return GetSchedule(schedule=self.name, window=self.window)


class GapsCommand(ToolCommand):
    """``gaps [<name>|all] [<window>]``; no name: every schedule."""

    word = "gaps"
    tool = FindCoverageGaps
    name: str | None
    window: str | None

    def tool_args(self) -> FindCoverageGaps:
        return FindCoverageGaps(schedules=None if self.name is None else [self.name], escalation_policy=None,
                                window=self.window)


class OverridesCommand(ToolCommand):
    """``overrides <name> [<window>]``."""

    word = "overrides"
    tool = ListOverrides
    name: str
    window: str | None

    def tool_args(self) -> ListOverrides:
        return ListOverrides(schedule=self.name, window=self.window)


class AckCommand(ToolCommand):
    """``ack <n> [<n>…]``."""

    word = "ack"
    tool = AcknowledgeIncidents
    incidents: list[int]

    def tool_args(self) -> AcknowledgeIncidents:
        return AcknowledgeIncidents(incidents=[str(number) for number in self.incidents])


class ResolveCommand(ToolCommand):
    """``resolve <n> [<n>…] [note]``."""

    word = "resolve"
    tool = ResolveIncidents
    incidents: list[int]
    note: str | None

    def tool_args(self) -> ResolveIncidents:
        return ResolveIncidents(incidents=[str(number) for number in self.incidents], resolution_note=self.note)


class NoteCommand(ToolCommand):
    """``note <n> <text>``."""

    word = "note"
    tool = AddIncidentNote
    incident: int
    text: str

    def tool_args(self) -> AddIncidentNote:
        return AddIncidentNote(incident=str(self.incident), note=self.text)


class OverrideCommand(ToolCommand):
    """``override <schedule> <user> (<from> <to>|<window>)``; ``user`` is ``me`` for the asker."""

    word = "override"
    tool = CreateOverride
    schedule: str
    user: str
    start: str | None
    end: str | None
    window: str | None

    def tool_args(self) -> CreateOverride:
        return CreateOverride(schedule=self.schedule, user=self.user, start=self.start, end=self.end,
                              window=self.window)


WriteCommand = AckCommand | ResolveCommand | NoteCommand | OverrideCommand
"""The commands that change PagerDuty (run at once, as the asker, when typed exactly)."""
AnyCommand = HelpCommand | ToolCommand
