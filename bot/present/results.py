"""One tool result, shown: the presenter of its result type, or the error and what to do about it.

``result_blocks`` and ``result_text`` are the only places that branch on a result's status; the
per-type presenters only ever see answers (``ok``, or ``no_data`` with or without a value).
"""

from __future__ import annotations

from typing import Any

from bot.present.base import nothing_blocks
from bot.present.kit.blocks import Block, context, section
from bot.present.kit.escape import untrusted
from bot.present.kit.limits import Room, note
from bot.present.registry import presenter_for
from bot.tools.base import ToolArgs, ToolResult

SAMPLED = "PagerDuty had more than alex read: some of this comes from a sample."


def error_blocks(result: ToolResult[Any], room: Room) -> list[Block]:
    """PagerDuty's (or the tool's) message and the troubleshooting step, e.g. for a revoked token."""
    out: list[Block] = []
    text = f":warning: {untrusted(result.error or 'That did not work.', 1_500)}"
    room.add(out, section(text), keep_chars=200)
    if out and result.hint:
        room.add(out, context(f"*What to do:* {untrusted(result.hint, 1_000)}"))
    return out


def result_blocks(name: str, args: ToolArgs | None, result: ToolResult[Any], room: Room) -> list[Block] | None:
    """The blocks for one read tool's result, or None when its type has no presenter (or its arguments
    never parsed)."""
    if result.status == "error":
        return error_blocks(result, room)
    presenter = presenter_for(name)
    if presenter is None or args is None:
        return nothing_blocks(result, room) if result.status == "no_data" else None
    blocks = presenter.blocks(result, args, room)
    if blocks and result.partial:
        blocks += note(room, f"_{SAMPLED}_")
    return blocks


def result_text(name: str, args: ToolArgs | None, result: ToolResult[Any]) -> str:
    """The plain-text reply for one read tool's result; an ``ok`` one names its times' zone once at the end
    (a ``no_data`` presenter that shows times says the zone itself)."""
    if result.status == "error":
        return result.error or "That did not work."
    presenter = presenter_for(name)
    if presenter is None or args is None:
        return result.error or "Nothing found."
    lines = presenter.text(result, args)
    if result.partial:
        lines.append(SAMPLED)
    zone = result.value.shown_zone() if result.value is not None and result.status == "ok" else None
    if zone:
        lines.append(f"Times are in {zone}.")
    return "\n".join(lines)
