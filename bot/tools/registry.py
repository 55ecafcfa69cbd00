"""The tool registry: every tool the model may call, in two explicit lists (read, write).

The order is the order the model sees. Write tools only prepare proposals; the agent loop never
executes them (see :mod:`bot.tools.proposals`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.tools import (
    directory,
    escalation,
    incident_actions,
    incidents,
    oncall,
    override_actions,
    overrides,
    schedules,
    schema,
    services,
)
from bot.tools.base import Tool

READ_TOOLS: tuple[Tool[Any], ...] = (
    *incidents.TOOLS,
    *oncall.TOOLS,
    *services.TOOLS,
    *escalation.TOOLS,
    *schedules.TOOLS,
    *overrides.TOOLS,
    *directory.TOOLS,
)
WRITE_TOOLS: tuple[Tool[Any], ...] = (*incident_actions.TOOLS, *override_actions.TOOLS)
ALL_TOOLS: tuple[Tool[Any], ...] = (*READ_TOOLS, *WRITE_TOOLS)
TOOLS_BY_NAME: dict[str, Tool[Any]] = {tool.name: tool for tool in ALL_TOOLS}


def openai_tools(tools: Sequence[Tool[Any]] = ALL_TOOLS) -> list[dict[str, Any]]:
    """Exactly what is sent to the LLM as ``tools`` (and what ``alex tools --json`` prints); built once
    per tool set and process (see :func:`bot.tools.schema.openai_tools`)."""
    return schema.openai_tools(tools)
