"""A presenter: how one result type is shown, as Block Kit and as plain text, in one place.

Each result model (:mod:`bot.tools.results`) has one :class:`Presenter`; both outputs read the same
typed value, so Slack, the terminal, command mode and MCP say the same thing. A presenter gets the
whole :class:`~bot.tools.base.ToolResult` (``value`` is None when a tool found nothing and had nothing
to add) and the call's typed arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bot.present.kit.blocks import Block
from bot.present.kit.escape import untrusted
from bot.present.kit.limits import Room, note
from bot.tools.base import ToolArgs, ToolResult
from bot.tools.results import Result

R = TypeVar("R", bound=Result)
A = TypeVar("A", bound=ToolArgs)


@dataclass(frozen=True, slots=True)
class Presenter(Generic[R, A]):
    """``blocks`` draws from the :class:`Room` it is given and returns [] when nothing fits; ``text``
    returns the lines of a plain-text reply (no trailing time-zone line: the caller adds it once)."""

    result: type[R]
    args: type[A]
    blocks: Callable[[ToolResult[R], A, Room], list[Block]]
    text: Callable[[ToolResult[R], A], list[str]]


AnyPresenter = Presenter[Any, Any]


def nothing_blocks(result: ToolResult[Any], room: Room) -> list[Block]:
    """The tool's own words for an empty answer ("No incidents match."), as a note."""
    return note(room, f":information_source: {untrusted(result.error or 'Nothing found.', 500)}")
