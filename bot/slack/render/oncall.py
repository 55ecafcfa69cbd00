"""Who is on call (per policy and level, until when) and escalation policies."""

from __future__ import annotations

from typing import Any

from bot.analysis.windows import echo_as_iso
from bot.present.kit.blocks import Block, section
from bot.present.kit.escape import ISO_TIME, link, span, untrusted, when
from bot.present.kit.limits import TAIL_CHARS, Room, more_line, note, pack

Data = dict[str, Any]
_ME = frozenset({"me", "myself", "i", "i'm", "im"})


def window_text(window: Any) -> str:
    """``now``, ``at <time>`` or ``next week (<from> – <to>)``."""
    if not isinstance(window, dict):
        return ""
    window = echo_as_iso(window)
    label = untrusted(window.get("label"), 60)
    if "at" in window:
        return "now" if window.get("label") == "now" else f"at {when(window['at'])}"
    start, end = window.get("from"), window.get("to", window.get("until"))
    dates = span(start, end)
    text = dates if not label or ISO_TIME.search(str(window.get("label"))) else f"{label} ({dates})"
    if window.get("note"):
        text += f" ({untrusted(window['note'], 80)})"
    return text


def via(entry: Data) -> str:
    """`` (Payments Primary)``, `` (direct, and Payments Secondary)`` when one person is on call at a
    level through several targets, or nothing for a direct target alone."""
    also = [untrusted(v, 60) for v in (entry.get("also_via") or [])[:4]]
    if not also:
        return f" ({untrusted(entry['schedule'], 60)})" if entry.get("schedule") else ""
    first = untrusted(entry["schedule"], 60) if entry.get("schedule") else "direct"
    return f" ({first}, and {', '.join(also)})"


def person_line(person: Data, *, at_now: bool, schedule: bool = True) -> str:
    text = f"{untrusted(person.get('name'), 60)}"
    if schedule:
        text += via(person)
    if person.get("permanent"):
        return text + ", always on call"
    if at_now:
        return text + (f" until {when(person['until'])}" if person.get("until") else "")
    return text + f", {span(person.get('from'), person.get('until'))}"


def _gap_lines(gaps: Any, indent: str = "") -> list[str]:
    return [f"{indent}:warning: nobody on call {span(g.get('from'), g.get('until', g.get('to')))}"
            for g in gaps or [] if isinstance(g, dict)]


def _policy_section(policy: Data, room: Room, at_now: bool, keep_chars: int) -> list[Block]:
    lines: list[str] = []
    for level in policy.get("levels") or []:
        people = [person_line(p, at_now=at_now) for p in level.get("on_call") or [] if isinstance(p, dict)]
        more = f" (+{level['more']} more)" if level.get("more") else ""
        lines.append(f"*Level {untrusted(level.get('level'), 4)}*: " + ("; ".join(people) or "nobody") + more)
        lines += _gap_lines(level.get("gaps"), "    ")
    return pack(room, f"*{link(policy.get('url'), policy.get('policy'))}*", lines, url=policy.get("url"),
                what="more lines", keep_chars=keep_chars)


def render_oncall(data: Data, room: Room, args: Data) -> list[Block]:
    if "person" in data:
        return _person(data, room, args)
    window = data.get("window") or {}
    at_now = "at" in window
    target: Data = data.get("target") or {}
    said = window_text(window)
    if target.get("name"):
        head = f":bust_in_silhouette: *On call for {link(target.get('url'), target['name'])}* {said}"
    else:
        head = f":bust_in_silhouette: *On call {said}*, by escalation policy"
    out: list[Block] = []
    if not room.add(out, section(head), keep_chars=TAIL_CHARS):
        return out
    if target.get("type") == "schedule":
        people = [person_line(p, at_now=at_now, schedule=False) for p in data.get("on_call") or []]
        if data.get("nobody_on_call"):
            people.append(":warning: nobody")
        lines = [f"• {p}" for p in people] + _gap_lines(data.get("gaps"))
        total = len(lines) + int(data.get("more") or 0)
        out += pack(room, "", lines, total=total, url=target.get("url"))
        extra = []
        if data.get("used_by"):
            extra.append("Pages through: " + ", ".join(untrusted(u, 80) for u in data["used_by"][:10]))
        if data.get("note"):
            extra.append(untrusted(data["note"], 200))
        out += note(room, *extra)
        return out
    policies: list[Data] = [p for p in data.get("policies") or [] if isinstance(p, dict)]
    shown = 0
    for policy in policies:
        blocks = _policy_section(policy, room.copy(), at_now, TAIL_CHARS * 2)
        if not blocks or not room.add(out, *blocks, keep_blocks=2, keep_chars=TAIL_CHARS * 2):
            break
        shown += 1
    hidden = len(policies) - shown + int(data.get("more_policies") or 0)
    if hidden:
        out += note(room, more_line(hidden, None, "more escalation policies"))
    if data.get("nobody_on_call"):
        out += note(room, ":warning: Nobody on call for " + ", ".join(
            untrusted(n, 80) for n in data["nobody_on_call"][:10]))
    return out


def _person(data: Data, room: Room, args: Data) -> list[Block]:
    window = data.get("window") or {}
    at_now = "at" in window
    said = window_text(window)
    target = str(args.get("target") or "").strip().lower()
    me = args.get("target_type") == "me" or not target or target in _ME
    who, be = ("You", "are") if me else (untrusted(data.get("person"), 60), "is")

    def stint(s: Data, now: bool) -> str:
        where = f"{untrusted(s.get('policy'), 80)} level {untrusted(s.get('level'), 4)}{via(s)}"
        if s.get("permanent"):
            return f"{where}, always"
        return f"{where}, " + (f"until {when(s.get('until'))}" if now else span(s.get("from"), s.get("until")))

    stints: list[Data] = [s for s in data.get("on_call") or [] if isinstance(s, dict)]
    state = "on call" if stints else "not on call"
    lead = f":bust_in_silhouette: *{who} {be} {state} {said}*"
    out = pack(room, lead, [f"• {stint(s, at_now)}" for s in stints], total=len(stints) + int(data.get("more") or 0),
               keep_chars=TAIL_CHARS)
    upcoming = data.get("next")
    extra = []
    if isinstance(upcoming, dict) and (not at_now or not stints):
        extra.append(f"Next: {stint(upcoming, False)}")
    if data.get("note"):
        extra.append(untrusted(data["note"], 200))
    out += note(room, *extra)
    return out


# --------------------------------------------------------------------------- escalation policy


def render_policy(data: Data, room: Room, args: Data) -> list[Block]:
    head = f":rotating_light: *Escalation policy {link(data.get('url'), data.get('policy'))}*"
    facts = []
    if data.get("service"):
        facts.append(f"used by {untrusted(data['service'], 80)}")
    if data.get("teams"):
        facts.append("team " + ", ".join(untrusted(t, 60) for t in data["teams"][:5]))
    loops = data.get("repeats_after_last_level")
    if isinstance(loops, int) and loops:
        facts.append(f"repeats {loops} time{'s' if loops != 1 else ''} after the last level")
    if facts:
        head += " · " + " · ".join(facts)
    lines = []
    for level in data.get("levels") or []:
        if not isinstance(level, dict):
            continue
        targets = ", ".join(untrusted(t, 80) for t in (level.get("targets") or [])[:6]) or "nobody"
        people = "; ".join(person_line(p, at_now=True, schedule=False)
                           for p in level.get("on_call_now") or [] if isinstance(p, dict))
        delay = level.get("escalates_after_min")
        lines.append(f"*Level {untrusted(level.get('level'), 4)}* → {targets}\n    on call now: {people or 'nobody'}"
                     + (f" · escalates after {untrusted(delay, 6)} min" if delay is not None else ""))
    out = pack(room, head, lines, url=data.get("url"), what="more levels", keep_chars=TAIL_CHARS)
    if not out:
        return out
    rules = data.get("notification_rules")
    if isinstance(rules, dict) and rules:
        rule_lines = []
        for name, by_urgency in rules.items():
            parts = [f"{untrusted(u, 10)}: " + "; ".join(untrusted(r, 80) for r in (steps or [])[:6])
                     for u, steps in (by_urgency or {}).items()]
            rule_lines.append(f"• *{untrusted(name, 60)}*: " + (" · ".join(parts) or "no rules"))
        out += pack(room, "*How they are notified*", rule_lines, keep_chars=TAIL_CHARS)
        if data.get("notification_note"):
            out += note(room, untrusted(data["notification_note"], 200))
    extra = []
    if data.get("nobody_on_call_at_levels"):
        levels = ", ".join(str(n) for n in data["nobody_on_call_at_levels"] if isinstance(n, int))
        extra.append(f":warning: Nobody is on call now at level {levels}")
    services = [untrusted(s, 60) for s in (data.get("services") or [])[:20]]
    if services:
        more = int(data.get("more_services") or 0)
        extra.append("Services: " + ", ".join(services) + (f" and {more} more" if more else ""))
    out += note(room, *extra)
    return out

