"""Presenters of who_is_on_call: who is on call per policy and level, through a schedule, or when one
person is, as Block Kit and as plain text.

Both outputs write the same lines (a person and until when, a person's stint, "via" which schedules)
through one :class:`Style`: mrkdwn escapes PagerDuty text and writes times as date tokens, plain text
writes them as ``Fri 13 Mar 16:00``. :func:`window_blocks_text` is the window in mrkdwn for every
Block Kit presenter (the plain-text one is :func:`bot.present.words.said`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.present import words
from bot.present.base import AnyPresenter, Presenter, nothing_blocks
from bot.present.kit.blocks import Block, section
from bot.present.kit.escape import ISO_TIME, link, untrusted
from bot.present.kit.escape import span as kit_span
from bot.present.kit.escape import when as kit_when
from bot.present.kit.limits import TAIL_CHARS, Room, more_line, note, pack
from bot.tools.base import ToolResult
from bot.tools.oncall import WhoIsOnCall
from bot.tools.results import WindowEcho
from bot.tools.results.escalation import OnCallNow
from bot.tools.results.oncall import (
    Gap,
    OnCallPerson,
    OnSchedule,
    PersonOnCall,
    PoliciesOnCall,
    PolicyOnCall,
    ScheduleOnCall,
    Stint,
    WhoIsOnCallResult,
)


def _as_is(value: object, limit: int) -> str:
    return str(value)


@dataclass(frozen=True, slots=True)
class Style:
    """How one output writes what both share: PagerDuty text (``say``), times, spans and "also via"."""

    say: Callable[[object, int], str]
    when: Callable[[datetime | None], str]
    span: Callable[[datetime | None, datetime | None], str]
    join: Callable[[Sequence[str]], str]
    most_via: int | None


SLACK = Style(say=untrusted, when=kit_when, span=kit_span, join=", ".join, most_via=4)
PLAIN = Style(say=_as_is, when=words.when, span=words.span, join=words.join_and, most_via=None)


def window_blocks_text(window: WindowEcho | None) -> str:
    """``now``, ``at <time>`` or ``next week (<from> – <to>)`` in mrkdwn (escaped, times as date tokens)."""
    if window is None:
        return ""
    if window.is_instant:
        return "now" if window.label == "now" else f"at {kit_when(window.at)}"
    dates = kit_span(window.start, window.end)
    label = untrusted(window.label, 60)
    text = dates if not label or ISO_TIME.search(window.label) else f"{label} ({dates})"
    if window.note:
        text += f" ({untrusted(window.note, 80)})"
    return text


def via(schedule: str | None, also_via: Sequence[str], style: Style) -> str:
    """`` (Payments Primary)``, `` (direct, and Payments Secondary)`` when one person is on call at a
    level through several targets, or nothing for a direct target alone."""
    also = [style.say(v, 60) for v in also_via[:style.most_via]]
    if not also:
        return f" ({style.say(schedule, 60)})" if schedule else ""
    first = style.say(schedule, 60) if schedule else "direct"
    return f" ({first}, and {style.join(also)})"


def person_line(person: OnCallPerson | OnSchedule | OnCallNow, style: Style, *, at_now: bool) -> str:
    """``Ben Carter (Platform Primary) until <time>``, ``…, <from> – <until>`` or ``…, always on call``
    (through which schedule only for a level's people)."""
    text = style.say(person.name, 60)
    if isinstance(person, OnCallPerson):
        text += via(person.schedule, person.also_via, style)
    if person.permanent:
        return text + ", always on call"
    if at_now or isinstance(person, OnCallNow):
        return text + (f" until {style.when(person.end)}" if person.end else "")
    return text + f", {style.span(person.start, person.end)}"


def _where(stint: Stint, style: Style) -> str:
    where = f"{style.say(stint.policy, 80)} level {style.say(stint.level, 4)}"
    return where + via(stint.schedule, stint.also_via, style)


def _stint(stint: Stint, style: Style, *, at_now: bool) -> str:
    if stint.permanent:
        return f"{_where(stint, style)}, always"
    return f"{_where(stint, style)}, " + (f"until {style.when(stint.end)}" if at_now
                                           else style.span(stint.start, stint.end))


def _asked_me(args: WhoIsOnCall) -> bool:
    return args.about_me or not (args.target or "").strip()  # a person's answer with no target: the asker


def _who(value: PersonOnCall, args: WhoIsOnCall, style: Style) -> tuple[str, str]:
    return ("You", "are") if _asked_me(args) else (style.say(value.person, 60), "is")


# --------------------------------------------------------------------------- Block Kit


def _gap_lines(gaps: Sequence[Gap], indent: str = "") -> list[str]:
    return [f"{indent}:warning: nobody on call {kit_span(g.start, g.end)}" for g in gaps]


def _policy_section(policy: PolicyOnCall, room: Room, at_now: bool, keep_chars: int) -> list[Block]:
    lines: list[str] = []
    for level in policy.levels:
        people = [person_line(p, SLACK, at_now=at_now) for p in level.on_call]
        more = f" (+{level.more} more)" if level.more else ""
        lines.append(f"*Level {untrusted(level.level, 4)}*: " + ("; ".join(people) or "nobody") + more)
        lines += _gap_lines(level.gaps, "    ")
    return pack(room, f"*{link(policy.url, policy.policy)}*", lines, url=policy.url, what="more lines",
                keep_chars=keep_chars)


def _schedule_blocks(value: ScheduleOnCall, room: Room, at_now: bool) -> list[Block]:
    people = [person_line(p, SLACK, at_now=at_now) for p in value.on_call]
    if value.nobody_on_call:
        people.append(":warning: nobody")
    lines = [f"• {p}" for p in people] + _gap_lines(value.gaps)
    out = pack(room, "", lines, total=len(lines) + value.more, url=value.target.url)
    extra = []
    if value.used_by:
        extra.append("Pages through: " + ", ".join(untrusted(u, 80) for u in value.used_by[:10]))
    if value.note:
        extra.append(untrusted(value.note, 200))
    return out + note(room, *extra)


def _policies_blocks(value: PoliciesOnCall, room: Room, at_now: bool) -> list[Block]:
    out: list[Block] = []
    shown = 0
    for policy in value.policies:
        blocks = _policy_section(policy, room.copy(), at_now, TAIL_CHARS * 2)
        if not blocks or not room.add(out, *blocks, keep_blocks=2, keep_chars=TAIL_CHARS * 2):
            break
        shown += 1
    hidden = len(value.policies) - shown + value.more_policies
    if hidden:
        out += note(room, more_line(hidden, None, "more escalation policies"))
    if value.nobody_on_call:
        out += note(room, ":warning: Nobody on call for " + ", ".join(
            untrusted(n, 80) for n in value.nobody_on_call[:10]))
    return out


def _person_blocks(value: PersonOnCall, args: WhoIsOnCall, room: Room) -> list[Block]:
    at_now = value.window.is_instant
    who, be = _who(value, args, SLACK)
    state = "on call" if value.on_call else "not on call"
    lead = f":bust_in_silhouette: *{who} {be} {state} {window_blocks_text(value.window)}*"
    out = pack(room, lead, [f"• {_stint(s, SLACK, at_now=at_now)}" for s in value.on_call],
               total=len(value.on_call) + value.more, keep_chars=TAIL_CHARS)
    extra = []
    if value.next is not None and (not at_now or not value.on_call):
        extra.append(f"Next: {_stint(value.next, SLACK, at_now=False)}")
    if value.note:
        extra.append(untrusted(value.note, 200))
    return out + note(room, *extra)


def oncall_blocks(result: ToolResult[WhoIsOnCallResult], args: WhoIsOnCall, room: Room) -> list[Block]:
    value = result.value
    if isinstance(value, PersonOnCall):
        return _person_blocks(value, args, room)
    if not isinstance(value, PoliciesOnCall | ScheduleOnCall):
        return nothing_blocks(result, room)
    at_now = value.window.is_instant
    said = window_blocks_text(value.window)
    target = value.target
    if target.name:
        head = f":bust_in_silhouette: *On call for {link(target.url, target.name)}* {said}"
    else:
        head = f":bust_in_silhouette: *On call {said}*, by escalation policy"
    out: list[Block] = []
    if not room.add(out, section(head), keep_chars=TAIL_CHARS):
        return out
    if isinstance(value, ScheduleOnCall):
        return out + _schedule_blocks(value, room, at_now)
    return out + _policies_blocks(value, room, at_now)


# --------------------------------------------------------------------------- plain text


def _schedule_text(value: ScheduleOnCall, at_now: bool) -> list[str]:
    lines = words.bullets(person_line(p, PLAIN, at_now=at_now) for p in value.on_call)
    if value.nobody_on_call:
        lines.append(words.BULLET + "nobody")
    lines += words.more(value.more)
    lines += [f"Nobody on call {words.span(g.start, g.end)}." for g in value.gaps]
    if value.used_by:
        lines.append("Pages through: " + ", ".join(value.used_by) + ".")
    if value.note:
        lines.append(value.note)
    return lines


def _policies_text(value: PoliciesOnCall, head: list[str], said: str, at_now: bool) -> list[str]:
    lines = head
    name = value.target.name
    if len(value.policies) == 1:
        policy = value.policies[0]
        if name and name != policy.policy:
            lines[0] = f"On call for {name} ({policy.policy}) {said}:"
        for level in policy.levels:
            people = "; ".join(person_line(p, PLAIN, at_now=at_now) for p in level.on_call) or "nobody"
            lines.append(f"{words.BULLET}Level {level.level}: {people}"
                         + (f" (+{level.more} more)" if level.more else ""))
            lines += [f"  nobody on call {words.span(g.start, g.end)}" for g in level.gaps]
    else:
        for policy in value.policies:
            levels = [f"L{level.level} " + (", ".join(dict.fromkeys(p.name for p in level.on_call)) or "nobody")
                      for level in policy.levels]
            lines.append(f"{words.BULLET}{policy.policy}: " + "; ".join(levels))
        lines += words.more(value.more_policies)
    if value.nobody_on_call:
        lines.append("Nobody on call for: " + ", ".join(value.nobody_on_call) + ".")
    return lines


def _person_text(value: PersonOnCall, args: WhoIsOnCall) -> list[str]:
    at_now = value.window.is_instant
    said = words.said(value.window)
    who, be = _who(value, args, PLAIN)
    if value.on_call:
        lines = [f"{who} {be} on call {said}:", *words.bullets(_stint(s, PLAIN, at_now=at_now) for s in value.on_call),
                 *words.more(value.more)]
    else:
        lines = [f"{who} {be} not on call {said}."]
    upcoming = value.next
    if upcoming is not None and (not at_now or not value.on_call):
        lines.append(f"Next: {_where(upcoming, PLAIN)}, {words.span(upcoming.start, upcoming.end)}.")
    if value.note:
        lines.append(value.note)
    return lines


def oncall_text(result: ToolResult[WhoIsOnCallResult], args: WhoIsOnCall) -> list[str]:
    value = result.value
    if isinstance(value, PersonOnCall):
        return _person_text(value, args)
    if not isinstance(value, PoliciesOnCall | ScheduleOnCall):
        return [result.error or "Nothing found."]
    at_now = value.window.is_instant
    said = words.said(value.window)
    name = value.target.name
    head = [f"On call for {name} {said}:" if name else f"On call {said}, by escalation policy:"]
    if isinstance(value, ScheduleOnCall):
        return head + _schedule_text(value, at_now)
    return _policies_text(value, head, said, at_now)


PRESENTERS: tuple[AnyPresenter, ...] = (
    Presenter(result=WhoIsOnCallResult, args=WhoIsOnCall, blocks=oncall_blocks, text=oncall_text),
)
