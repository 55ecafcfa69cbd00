"""Presenters of get_schedule and find_coverage_gaps: one schedule's shifts and gaps, the overview of all
schedules, named schedules' gaps and an escalation policy's levels, as Block Kit and as plain text."""

from __future__ import annotations

from bot.present import words
from bot.present.base import AnyPresenter, Presenter, nothing_blocks
from bot.present.kit.blocks import Block
from bot.present.kit.escape import link, pagerduty_base, untrusted
from bot.present.kit.escape import span as kit_span
from bot.present.kit.limits import TAIL_CHARS, Room, note, pack
from bot.present.oncall import window_blocks_text
from bot.tools.base import ToolResult
from bot.tools.results.schedules import (
    CoverageGap,
    CoverageGaps,
    GapsAnswer,
    ScheduleAnswer,
    ScheduleDetail,
    ScheduleGaps,
    ScheduleOverview,
)
from bot.tools.schedules import FindCoverageGaps, GetSchedule

# --------------------------------------------------------------------------- shared pieces


def _gap_span(gap: CoverageGap) -> str:
    return f"nobody on call {kit_span(gap.start, gap.end)} ({gap.hours:g} h)"


def gap_blocks_line(gap: CoverageGap) -> str:
    """``:warning: nobody on call <from> – <to> (12 h)``."""
    return f":warning: {_gap_span(gap)}"


def gap_text_line(gap: CoverageGap) -> str:
    """``nobody on call Fri 13 Mar 16:00 – Sat 14 Mar 04:00 (12 h)``."""
    return f"nobody on call {words.span(gap.start, gap.end)} ({gap.hours:g} h)"


# --------------------------------------------------------------------------- one schedule


def detail_blocks(value: ScheduleDetail, room: Room) -> list[Block]:
    count = value.gap_count
    head = (f":calendar: *{link(value.url, value.schedule)}* {window_blocks_text(value.window)} · "
            f"{words.pct(value.coverage_pct)} covered · " + (words.plural(count, "gap") if count else "no gaps"))
    facts = []
    if value.on_call_now:
        facts.append("On call now: " + ", ".join(untrusted(p, 60) for p in value.on_call_now[:8]))
    if value.kind:
        facts.append(f"_{untrusted(value.kind, 80)}_")
    if facts:
        head += "\n" + " · ".join(facts)
    lines = [f"• {gap_blocks_line(g)}" for g in value.gaps]
    out = pack(room, head, lines, total=count, url=value.url, what="more gaps", keep_chars=TAIL_CHARS * 2)
    if not out:
        return out
    if value.shifts:
        total = value.shifts_total or len(value.shifts)
        shift_lines = [f"• {untrusted(s.who, 60)}: {kit_span(s.start, s.end)}" for s in value.shifts]
        out += pack(room, "*Shifts*", shift_lines, total=total, url=value.url, what="more shifts")
    return out


def detail_text(value: ScheduleDetail) -> list[str]:
    count = value.gap_count
    lines = [f"{value.schedule}, {words.said(value.window)}: {words.pct(value.coverage_pct)} covered, "
             + (words.plural(count, "gap") if count else "no gaps") + "."]
    if value.kind:
        lines.append(f"({value.kind})")
    if value.on_call_now:
        lines.append("On call now: " + ", ".join(value.on_call_now) + ".")
    if value.shifts:
        lines += ["Shifts:", *words.bullets(f"{s.who}: {words.span(s.start, s.end)}" for s in value.shifts)]
        lines += words.more(value.shifts_total - len(value.shifts))
    if value.gaps:
        lines += ["Gaps:", *words.bullets(gap_text_line(g) for g in value.gaps),
                  *words.more(count - len(value.gaps))]
    return lines


# --------------------------------------------------------------------------- every schedule


def overview_blocks(value: ScheduleOverview, room: Room) -> list[Block]:
    """The schedules with gaps (and their gaps), then the fully covered ones."""
    rows = value.with_gaps
    with_gaps, checked = value.schedules_with_gaps or len(rows), value.schedules_checked
    said = window_blocks_text(value.window)
    if with_gaps:
        head = f":calendar: *{with_gaps} of {words.plural(checked, 'schedule')} have coverage gaps* {said}"
    else:
        head = f":white_check_mark: *All {words.plural(checked, 'schedule')} are fully covered* {said}"
    lines = []
    for row in rows:
        gaps = "; ".join(_gap_span(g) for g in row.gaps)
        extra = (row.gap_count or len(row.gaps)) - len(row.gaps)
        lines.append(f"• {link(row.url, row.schedule)} ({words.pct(row.coverage_pct)} covered): {gaps}"
                     + (f"; and {extra} more" if extra > 0 else ""))
    base = pagerduty_base(*(r.url for r in rows))
    out = pack(room, head, lines, total=with_gaps, url=f"{base}/schedules" if base else None,
               what="more schedules with gaps", keep_chars=TAIL_CHARS)
    extra_notes = []
    covered = [untrusted(n, 60) for n in value.fully_covered[:30]]
    if covered and with_gaps:
        more = (value.fully_covered_total or len(covered)) - len(covered)
        extra_notes.append("Fully covered: " + ", ".join(covered) + (f" and {more} more" if more > 0 else ""))
    if value.note:
        extra_notes.append(untrusted(value.note, 200))
    if out:
        out += note(room, *extra_notes)
    return out


def overview_text(value: ScheduleOverview) -> list[str]:
    said = words.said(value.window)
    rows = value.with_gaps
    with_gaps, checked = value.schedules_with_gaps, value.schedules_checked
    if not with_gaps:
        lines = [f"All {words.plural(checked, 'schedule')} are fully covered {said}."]
    else:
        lines = [f"{with_gaps} of {words.plural(checked, 'schedule')} have coverage gaps {said}:"]
    for row in rows:
        gaps = "; ".join(gap_text_line(g) for g in row.gaps)
        extra = row.gap_count - len(row.gaps)
        lines.append(f"{words.BULLET}{row.schedule} ({words.pct(row.coverage_pct)} covered): {gaps}"
                     + (f"; and {extra} more" if extra > 0 else ""))
    lines += words.more(with_gaps - len(rows))
    covered = value.fully_covered
    if covered and with_gaps:
        hidden = value.fully_covered_total - len(covered)
        lines.append("Fully covered: " + ", ".join(covered) + (f" and {hidden} more" if hidden > 0 else "") + ".")
    if value.note:
        lines.append(value.note)
    return lines


# --------------------------------------------------------------------------- named schedules, a policy


def gaps_blocks(value: CoverageGaps, room: Room) -> list[Block]:
    said = window_blocks_text(value.window)
    out: list[Block] = []
    for row in value.schedules or []:
        blocks = _schedule_gaps_blocks(row, room, said)
        if not blocks:
            break
        out += blocks
    if value.escalation_policy:
        out += _policy_blocks(value, room, said)
    out += note(room, *[untrusted(p, 200) for p in value.not_found][:5])
    return out


def _schedule_gaps_blocks(row: ScheduleGaps, room: Room, said: str) -> list[Block]:
    count = row.gap_count or len(row.gaps)
    name = link(row.url, row.schedule)
    if count:
        head = (f":calendar: *{name}* has {words.plural(count, 'coverage gap')} {said} · "
                f"{words.pct(row.coverage_pct)} covered")
    else:
        head = f":white_check_mark: *{name}* has no coverage gaps {said}: fully covered"
    return pack(room, head, [f"• {gap_blocks_line(g)}" for g in row.gaps], total=count, url=row.url,
                what="more gaps", keep_chars=TAIL_CHARS)


def _policy_blocks(value: CoverageGaps, room: Room, said: str) -> list[Block]:
    with_gaps = value.levels_with_gaps or []
    name = link(value.url, value.escalation_policy)
    if with_gaps:
        head = f":rotating_light: *{name}* {said}: nobody on call at times at level {', '.join(map(str, with_gaps))}"
    else:
        head = f":white_check_mark: *{name}* {said}: every level is covered throughout"
    lines = []
    for level in value.levels or []:
        targets = ", ".join(untrusted(t, 60) for t in level.targets[:5]) or "nobody"
        people = ", ".join(untrusted(p, 60) for p in level.on_call[:8]) or "nobody"
        lines.append(f"• *Level {untrusted(level.level, 4)}* ({targets}): "
                     f"{words.pct(level.coverage_pct)} covered · {people}")
        lines += [f"    {gap_blocks_line(g)}" for g in level.nobody_on_call]
    out = pack(room, head, lines, url=value.url, what="more lines", keep_chars=TAIL_CHARS)
    if value.nobody_at_any_level:
        out += pack(room, ":rotating_light: *Nobody at any level*",
                    [f"• {gap_blocks_line(g)}" for g in value.nobody_at_any_level])
    return out


def gaps_text(value: CoverageGaps) -> list[str]:
    said = words.said(value.window)
    lines: list[str] = []
    for row in value.schedules or []:
        count = row.gap_count
        if not count:
            lines.append(f"{row.schedule} has no coverage gaps {said}: fully covered.")
            continue
        lines.append(f"{row.schedule} has {words.plural(count, 'coverage gap')} {said}, "
                     f"{words.pct(row.coverage_pct)} covered:")
        lines += [*words.bullets(gap_text_line(g) for g in row.gaps), *words.more(count - len(row.gaps))]
    if value.escalation_policy:
        lines += _policy_text(value, said)
    lines += value.not_found
    return lines


def _policy_text(value: CoverageGaps, said: str) -> list[str]:
    with_gaps = [str(n) for n in value.levels_with_gaps or []]
    if with_gaps:
        head = f"{value.escalation_policy} {said}: nobody on call at times at level {words.join_and(with_gaps)}:"
    else:
        head = f"{value.escalation_policy} {said}: every level is covered throughout:"
    lines = [head]
    for level in value.levels or []:
        people = ", ".join(level.on_call) or "nobody"
        lines.append(f"{words.BULLET}Level {level.level} ({', '.join(level.targets) or 'nobody'}): "
                     f"{words.pct(level.coverage_pct)} covered, {people}")
        lines += [f"  {gap_text_line(g)}" for g in level.nobody_on_call]
    if value.nobody_at_any_level:
        lines += ["Nobody at any level:", *words.bullets(gap_text_line(g) for g in value.nobody_at_any_level)]
    return lines


# --------------------------------------------------------------------------- the presenters


def _answer_blocks(result: ToolResult[ScheduleAnswer] | ToolResult[GapsAnswer], room: Room) -> list[Block]:
    value = result.value
    if isinstance(value, ScheduleOverview):
        return overview_blocks(value, room)
    if isinstance(value, ScheduleDetail):
        return detail_blocks(value, room)
    if isinstance(value, CoverageGaps):
        return gaps_blocks(value, room)
    return nothing_blocks(result, room)


def _answer_text(result: ToolResult[ScheduleAnswer] | ToolResult[GapsAnswer]) -> list[str]:
    value = result.value
    if isinstance(value, ScheduleOverview):
        return overview_text(value)
    if isinstance(value, ScheduleDetail):
        return detail_text(value)
    if isinstance(value, CoverageGaps):
        return gaps_text(value)
    return [result.error or "Nothing found."]


def schedule_blocks(result: ToolResult[ScheduleAnswer], args: GetSchedule, room: Room) -> list[Block]:
    """``get_schedule``: one schedule's shifts and gaps, or (no name) the overview of all."""
    return _answer_blocks(result, room)


def schedule_text(result: ToolResult[ScheduleAnswer], args: GetSchedule) -> list[str]:
    return _answer_text(result)


def coverage_blocks(result: ToolResult[GapsAnswer], args: FindCoverageGaps, room: Room) -> list[Block]:
    """``find_coverage_gaps``: all schedules, named schedules, and/or an escalation policy's levels."""
    return _answer_blocks(result, room)


def coverage_text(result: ToolResult[GapsAnswer], args: FindCoverageGaps) -> list[str]:
    return _answer_text(result)


PRESENTERS: tuple[AnyPresenter, ...] = (
    Presenter(result=ScheduleAnswer, args=GetSchedule, blocks=schedule_blocks, text=schedule_text),
    Presenter(result=GapsAnswer, args=FindCoverageGaps, blocks=coverage_blocks, text=coverage_text),
)
