"""The scheduled posts' frames (:mod:`bot.notify.scheduled`): a title over the ordinary presenters' blocks.

The weekly on-call post and the coverage-gap warning are one message per channel: a header, a line saying
when it is posted and in which zone, then each routed service's or team's answer as ``who_is_on_call`` and
``find_coverage_gaps`` show it anywhere else (:func:`bot.present.results.result_blocks`, each in its share of
the message: :func:`part_room`). The shift reminder is a DM: when the shift starts and ends (date tokens:
each reader's own zone), which schedule and level, who hands over, and what is open on the services it
covers (``list_incidents``' blocks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.present.kit.blocks import Block, context, section
from bot.present.kit.escape import span, untrusted, when
from bot.present.kit.limits import MAX_BLOCKS, TEXT_BUDGET, Room

FRAME_BLOCKS = 4
FRAME_CHARS = 1_000
WEEKLY_TITLE = ":calendar: Who is on call this week"
GAPS_TITLE = ":warning: Coverage gaps in the coming 7 days"
CHANGE_ZONE = "Times show in your own zone. `@alex post times in Europe/Berlin` changes the channel's."


def part_room(parts: int, *, reserved_blocks: int = FRAME_BLOCKS, reserved_chars: int = FRAME_CHARS) -> Room:
    """One part's even share of a message holding ``parts`` of them and a frame."""
    share = max(1, parts)
    return Room(blocks=max(1, (MAX_BLOCKS - reserved_blocks) // share),
                chars=max(200, (TEXT_BUDGET - reserved_chars) // share))


def weekly_blocks(title: str, every: str, zone: str, parts: Sequence[Sequence[Block]],
                  left_out: Sequence[str]) -> list[Block]:
    """``title``, when it is posted (``every``, in ``zone``), the parts, and the targets left out."""
    out: list[Block] = [section(f"*{title}*"),
                        context(f"Posted every {untrusted(every, 40)}, {untrusted(zone, 64)} time. {CHANGE_ZONE}")]
    for part in parts:
        out.extend(part)
    if left_out:
        named = ", ".join(untrusted(name, 60) for name in left_out[:10])
        out.append(context(f"Not shown ({len(left_out)} more routed here): {named}. Ask `@alex oncall <name> "
                           "this week`."))
    return out[:MAX_BLOCKS]


def weekly_text(title: str, parts: Sequence[str]) -> str:
    """The notification text of a weekly post (Slack shows it where blocks cannot be)."""
    plain = title.split(" ", 1)[-1]
    return f"{plain}: " + "; ".join(untrusted(p, 100) for p in parts[:20]) if parts else plain


@dataclass(frozen=True, slots=True)
class ShiftShown:
    """What a shift reminder says of the shift (PagerDuty's names: escaped here)."""

    start: datetime
    end: datetime | None
    schedule: str
    policy: str
    level: int
    hands_over: str | None
    covers: tuple[str, ...]
    """The routed services/teams it covers, described (``payments-api``, ``team Platform``)."""


def reminder_blocks(shift: ShiftShown, zone: ZoneInfo, incidents: Sequence[Block]) -> list[Block]:
    """The DM before ``shift`` starts (``zone``: the person's, for the fallback text of the times)."""
    start, end = shift.start.astimezone(zone), shift.end.astimezone(zone) if shift.end else None
    lines = [f"*:alarm_clock: Your on-call shift starts {when(start)}*",
             f"{untrusted(shift.schedule, 100)}: level {shift.level} of {untrusted(shift.policy, 100)}, "
             f"{span(start, end)}.",
             f"Handing over: {untrusted(shift.hands_over, 100)}." if shift.hands_over
             else "Nobody is on call at that level just before you."]
    out: list[Block] = [section("\n".join(lines))]
    covers = ", ".join(untrusted(name, 60) for name in shift.covers[:5])
    if covers:
        out.append(context(f"Covers {covers}. What is open there now:"))
    out.extend(incidents)
    return out[:MAX_BLOCKS]


def reminder_text(shift: ShiftShown, zone: ZoneInfo) -> str:
    """The DM's notification text, in the person's zone (escaped: names are PagerDuty's)."""
    start = shift.start.astimezone(zone)
    handing = f"; {untrusted(shift.hands_over, 100)} hands over" if shift.hands_over else ""
    return (f"Your on-call shift ({untrusted(shift.schedule, 100)}, level {shift.level}) starts "
            f"{start:%a %d %b %H:%M} {start.tzname() or ''}{handing}")
