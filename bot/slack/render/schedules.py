"""Schedules: shifts and gaps of one, the gaps of all, coverage per escalation level, overrides."""

from __future__ import annotations

from typing import Any

from bot.present.kit.blocks import Block
from bot.present.kit.escape import link, pagerduty_base, span, untrusted
from bot.present.kit.limits import TAIL_CHARS, Room, note, pack
from bot.slack.render.oncall import window_text

Data = dict[str, Any]


def _pct(value: Any) -> str:
    return f"{value:g}%" if isinstance(value, int | float) else "?%"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def gap_line(gap: Data) -> str:
    hours = gap.get("hours")
    length = f" ({hours:g} h)" if isinstance(hours, int | float) else ""
    return f":warning: nobody on call {span(gap.get('from'), gap.get('to', gap.get('until')))}{length}"


def _gaps(row: Data) -> list[Data]:
    return [g for g in row.get("gaps") or [] if isinstance(g, dict)]


def _count(row: Data) -> int:
    return int(row.get("gap_count") or len(_gaps(row)))


def render_schedule(data: Data, room: Room, args: Data) -> list[Block]:
    """``get_schedule``: one schedule's shifts and gaps, or (no name) the overview of all."""
    if "with_gaps" in data:
        return render_overview(data, room, args)
    gaps, count = _gaps(data), _count(data)
    head = (f":calendar: *{link(data.get('url'), data.get('schedule'))}* {window_text(data.get('window'))} · "
            f"{_pct(data.get('coverage_pct'))} covered · " + (_plural(count, "gap") if count else "no gaps"))
    facts = []
    if data.get("on_call_now"):
        facts.append("On call now: " + ", ".join(untrusted(p, 60) for p in data["on_call_now"][:8]))
    if data.get("kind"):
        facts.append(f"_{untrusted(data['kind'], 80)}_")
    if facts:
        head += "\n" + " · ".join(facts)
    out: list[Block] = []
    lines = [f"• {gap_line(g)}" for g in gaps]
    out += pack(room, head, lines, total=count, url=data.get("url"), what="more gaps", keep_chars=TAIL_CHARS * 2)
    if not out:
        return out
    shifts = [s for s in data.get("shifts") or [] if isinstance(s, dict)]
    if shifts:
        total = int(data.get("shifts_total") or len(shifts))
        shift_lines = [f"• {untrusted(s.get('who'), 60)}: {span(s.get('from'), s.get('to'))}" for s in shifts]
        out += pack(room, "*Shifts*", shift_lines, total=total, url=data.get("url"), what="more shifts")
    return out


def render_overview(data: Data, room: Room, args: Data) -> list[Block]:
    """Every schedule: the ones with gaps (and their gaps), then the fully covered ones."""
    rows = [r for r in data.get("with_gaps") or [] if isinstance(r, dict)]
    with_gaps, checked = int(data.get("schedules_with_gaps") or len(rows)), int(data.get("schedules_checked") or 0)
    said = window_text(data.get("window"))
    if with_gaps:
        head = f":calendar: *{with_gaps} of {_plural(checked, 'schedule')} have coverage gaps* {said}"
    else:
        head = f":white_check_mark: *All {_plural(checked, 'schedule')} are fully covered* {said}"
    lines = []
    for row in rows:
        gaps = "; ".join(gap_line(g).removeprefix(":warning: ") for g in _gaps(row))
        extra = _count(row) - len(_gaps(row))
        lines.append(f"• {link(row.get('url'), row.get('schedule'))} ({_pct(row.get('coverage_pct'))} covered): "
                     f"{gaps}" + (f"; and {extra} more" if extra > 0 else ""))
    base = pagerduty_base(*(r.get("url") for r in rows))
    out = pack(room, head, lines, total=with_gaps, url=f"{base}/schedules" if base else None,
               what="more schedules with gaps", keep_chars=TAIL_CHARS)
    extra_notes = []
    covered = [untrusted(n, 60) for n in (data.get("fully_covered") or [])[:30]]
    if covered and with_gaps:
        more = int(data.get("fully_covered_total") or len(covered)) - len(covered)
        extra_notes.append("Fully covered: " + ", ".join(covered) + (f" and {more} more" if more > 0 else ""))
    if data.get("note"):
        extra_notes.append(untrusted(data["note"], 200))
    if out:
        out += note(room, *extra_notes)
    return out


def render_gaps(data: Data, room: Room, args: Data) -> list[Block]:
    """``find_coverage_gaps``: all schedules, named schedules, and/or an escalation policy's levels."""
    if "with_gaps" in data:
        return render_overview(data, room, args)
    said = window_text(data.get("window"))
    out: list[Block] = []
    for row in data.get("schedules") or []:
        if not isinstance(row, dict):
            continue
        count = _count(row)
        name = link(row.get("url"), row.get("schedule"))
        if count:
            head = (f":calendar: *{name}* has {_plural(count, 'coverage gap')} {said} · "
                    f"{_pct(row.get('coverage_pct'))} covered")
        else:
            head = f":white_check_mark: *{name}* has no coverage gaps {said}: fully covered"
        blocks = pack(room, head, [f"• {gap_line(g)}" for g in _gaps(row)], total=count, url=row.get("url"),
                      what="more gaps", keep_chars=TAIL_CHARS)
        if not blocks:
            break
        out += blocks
    if data.get("escalation_policy"):
        out += _policy_levels(data, room, said)
    problems = [untrusted(p, 200) for p in data.get("not_found") or []]
    out += note(room, *problems[:5])
    return out


def _policy_levels(data: Data, room: Room, said: str) -> list[Block]:
    with_gaps = [n for n in data.get("levels_with_gaps") or [] if isinstance(n, int)]
    name = link(data.get("url"), data.get("escalation_policy"))
    if with_gaps:
        head = f":rotating_light: *{name}* {said}: nobody on call at times at level {', '.join(map(str, with_gaps))}"
    else:
        head = f":white_check_mark: *{name}* {said}: every level is covered throughout"
    lines = []
    for level in data.get("levels") or []:
        if not isinstance(level, dict):
            continue
        targets = ", ".join(untrusted(t, 60) for t in (level.get("targets") or [])[:5]) or "nobody"
        people = ", ".join(untrusted(p, 60) for p in (level.get("on_call") or [])[:8]) or "nobody"
        lines.append(f"• *Level {untrusted(level.get('level'), 4)}* ({targets}): "
                     f"{_pct(level.get('coverage_pct'))} covered · {people}")
        lines += [f"    {gap_line(g)}" for g in level.get("nobody_on_call") or [] if isinstance(g, dict)]
    out = pack(room, head, lines, url=data.get("url"), what="more lines", keep_chars=TAIL_CHARS)
    anyone = [g for g in data.get("nobody_at_any_level") or [] if isinstance(g, dict)]
    if anyone:
        out += pack(room, ":rotating_light: *Nobody at any level*", [f"• {gap_line(g)}" for g in anyone])
    return out


def render_overrides(data: Data, room: Room, args: Data) -> list[Block]:
    rows = [r for r in data.get("overrides") or [] if isinstance(r, dict)]
    total = int(data.get("total") or len(rows))
    name = link(data.get("url"), data.get("schedule"))
    said = window_text(data.get("window"))
    if not total:
        return note(room, f":information_source: No overrides on {name} {said}.")
    lines = []
    for row in rows:
        state = " (in progress)" if row.get("in_progress") else " (ended)" if row.get("ended") else ""
        instead = f", instead of {untrusted(row['replaces'], 60)}" if row.get("replaces") else ""
        lines.append(f"• {untrusted(row.get('who'), 60)}: {span(row.get('from'), row.get('to'))}{state}{instead}"
                     f" · id `{untrusted(row.get('override_id'), 40)}`")
    out = pack(room, f":calendar: *{_plural(total, 'override')} on {name}* {said}", lines, total=total,
               url=data.get("url"), keep_chars=TAIL_CHARS)
    if out and data.get("kind"):
        out += note(room, f"_{untrusted(data['kind'], 100)}_")
    return out
