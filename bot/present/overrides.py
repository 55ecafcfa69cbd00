"""Presenter of list_overrides: the overrides on one schedule in a window, as Block Kit and as plain text.

An empty answer still carries the schedule and window, so it is shown like a normal one ("No overrides on
<schedule> <window>."), with the zone line a plain-text ``no_data`` reply does not otherwise get.
"""

from __future__ import annotations

from bot.present import words
from bot.present.base import AnyPresenter, Presenter, nothing_blocks
from bot.present.kit.blocks import Block
from bot.present.kit.escape import link, untrusted
from bot.present.kit.escape import span as kit_span
from bot.present.kit.limits import TAIL_CHARS, Room, note, pack
from bot.present.oncall import window_blocks_text
from bot.tools.base import ToolResult
from bot.tools.overrides import ListOverrides
from bot.tools.results.overrides import Override, OverrideList


def _state(row: Override) -> str:
    return " (in progress)" if row.in_progress else " (ended)" if row.ended else ""


def overrides_blocks(result: ToolResult[OverrideList], args: ListOverrides, room: Room) -> list[Block]:
    value = result.value
    if value is None or (result.status == "no_data" and not value.schedule):
        return nothing_blocks(result, room)
    total = value.total or len(value.overrides)
    name = link(value.url, value.schedule)
    said = window_blocks_text(value.window)
    if not total:
        return note(room, f":information_source: No overrides on {name} {said}.")
    lines = []
    for row in value.overrides:
        instead = f", instead of {untrusted(row.replaces, 60)}" if row.replaces else ""
        lines.append(f"• {untrusted(row.who, 60)}: {kit_span(row.start, row.end)}{_state(row)}{instead}"
                     f" · id `{untrusted(row.override_id, 40)}`")
    out = pack(room, f":calendar: *{words.plural(total, 'override')} on {name}* {said}", lines, total=total,
               url=value.url, keep_chars=TAIL_CHARS)
    if out and value.kind:
        out += note(room, f"_{untrusted(value.kind, 100)}_")
    return out


def overrides_text(result: ToolResult[OverrideList], args: ListOverrides) -> list[str]:
    value = result.value
    if value is None:
        return [result.error or "Nothing found."]
    said = words.said(value.window)
    total = value.total or len(value.overrides)
    if not total:
        lines = [f"No overrides on {value.schedule} {said}."]
    else:
        lines = [f"{words.plural(total, 'override')} on {value.schedule} {said}:"]
        for row in value.overrides:
            instead = f", instead of {row.replaces}" if row.replaces else ""
            lines.append(f"{words.BULLET}{row.who}: {words.span(row.start, row.end)}{_state(row)}{instead} "
                         f"[id {row.override_id}]")
        lines += words.more(total - len(value.overrides))
        if value.kind:
            lines.append(f"({value.kind})")
    if result.status == "no_data":  # the caller names the zone only after an ``ok`` answer
        lines.append(f"Times are in {value.window.time_zone}.")
    return lines


PRESENTERS: tuple[AnyPresenter, ...] = (
    Presenter(result=OverrideList, args=ListOverrides, blocks=overrides_blocks, text=overrides_text),
)
