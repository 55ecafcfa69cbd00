"""Incidents: the list (a card per incident with Ack/Resolve buttons, patterns) and one incident."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from bot.present.kit.blocks import Block, actions, button, confirm, context, section
from bot.present.kit.escape import link, pagerduty_base, times_in, untrusted, when
from bot.present.kit.limits import TAIL_CHARS, Room, more_line, note, pack
from bot.slack.render.oncall import window_text

ACK_ACTION = "incident_ack"
RESOLVE_ACTION = "incident_resolve"
STATUS_ICON = {"triggered": ":red_circle:", "acknowledged": ":large_yellow_circle:", "resolved": ":white_check_mark:"}
OPEN = frozenset({"triggered", "acknowledged"})
_PD_ID = re.compile(r"[A-Z0-9]{5,20}")
MAX_TITLE = 150
MAX_NOTE = 400
_DURATIONS = (("mtta_min", "to acknowledge", "acknowledged", "still_open", "of them still open"),
              ("mttr_min", "to resolve", "resolved", "never_acknowledged", "never acknowledged"))
"""(result key, words, what it is over, the subset's key and words) for the MTTA and MTTR line."""
Data = dict[str, Any]


def incident_id(row: Data) -> str | None:
    """The PagerDuty ID, from ``id`` or the last segment of the incident's ``/incidents/<ID>`` link
    (the tools' results carry the link, not the ID); else the incident number."""
    if isinstance(row.get("id"), str) and _PD_ID.fullmatch(row["id"]):
        return str(row["id"])
    url = row.get("url")
    if isinstance(url, str):
        segments = [s for s in urlsplit(url).path.split("/") if s]
        if len(segments) >= 2 and segments[-2] == "incidents" and _PD_ID.fullmatch(segments[-1]):
            return segments[-1]
    number = row.get("number")
    return str(number) if isinstance(number, int) else None


def incident_buttons(row: Data) -> list[Block]:
    """Ack (when triggered) and Resolve (when open), value = incident ID; none for resolved ones."""
    status, ref = row.get("status"), incident_id(row)
    if status not in OPEN or ref is None:
        return []
    label = f"#{row.get('number')}" if row.get("number") is not None else "this incident"
    elements = []
    if status == "triggered":
        elements.append(button("Acknowledge", ACK_ACTION, ref, style="primary"))
    elements.append(button("Resolve", RESOLVE_ACTION, ref, ask=confirm(
        f"Resolve {label}?", f"alex will resolve {label} in PagerDuty, as you.", "Resolve")))
    return [actions(elements, block_id=f"incident:{ref}")]


def _title_line(row: Data) -> str:
    icon = STATUS_ICON.get(str(row.get("status")), ":grey_question:")
    number = row.get("number")
    label = link(row.get("url"), f"#{number}" if number is not None else "incident")
    return f"{icon} *{label}* {untrusted(row.get('title'), MAX_TITLE)}"


def _facts(row: Data) -> str:
    parts = [untrusted(row.get("status"), 20), f"{untrusted(row.get('urgency'), 10)} urgency"]
    if row.get("priority"):
        parts.append(untrusted(row["priority"], 20))
    if row.get("service"):
        parts.append(untrusted(row["service"], 80))
    if row.get("age"):
        parts.append(f"open {untrusted(row['age'], 20)}")
    elif row.get("resolved"):
        parts.append(f"resolved {when(row['resolved'])}")
    assignees = [untrusted(a, 60) for a in row.get("assignees") or []]
    if assignees:
        parts.append(", ".join(assignees[:3]) + (f" +{len(assignees) - 3}" if len(assignees) > 3 else ""))
    return " · ".join(parts)


def incident_card(row: Data) -> list[Block]:
    return [section(f"{_title_line(row)}\n{_facts(row)}"), *incident_buttons(row)]


# --------------------------------------------------------------------------- the list


def oldest_line(patterns: Data) -> str:
    """``Oldest open: #1148 … (data-pipeline), open 9 days`` (over every open incident, sampled or not)."""
    oldest = patterns.get("oldest_open")
    if not isinstance(oldest, dict):
        return ""
    hours = oldest.get("age_hours")
    age = (f"{hours / 24:.0f} days" if hours >= 48 else f"{hours:.0f} h") if isinstance(hours, int | float) else "?"
    return (f"Oldest open: #{untrusted(oldest.get('number'), 12)} {untrusted(oldest.get('title'), 100)} "
            f"({untrusted(oldest.get('service'), 60)}), open {age}")


def durations_line(patterns: Data) -> str:
    """Median MTTA and MTTR, each saying which incidents it is over (they are not the same ones)."""
    parts = []
    for key, word, counted, extra, extra_word in _DURATIONS:
        stat = patterns.get(key)
        if not isinstance(stat, dict) or not isinstance(stat.get("median"), int | float):
            continue
        minutes = float(stat["median"])
        text = f"{word} {minutes:g} min" if minutes < 90 else f"{word} {minutes / 60:.1f} h"
        over = f"{untrusted(stat.get('n'), 8)} {counted}"
        if isinstance(stat.get(extra), int) and stat[extra]:
            over += f", {stat[extra]} {extra_word}"
        parts.append(f"{text} ({over})")
    return "Median time " + ", ".join(parts) if parts else ""


def _pattern_lines(patterns: Data, *, with_oldest: bool) -> list[str]:
    lines: list[str] = []
    top = patterns.get("top_services") or {}
    if isinstance(top, dict) and len(top) > 1:
        lines.append("Most incidents: " + ", ".join(f"{untrusted(k, 60)} {untrusted(v, 8)}"
                                                    for k, v in list(top.items())[:6]))
    for repeat in (patterns.get("repeated_titles") or [])[:3]:
        services = ", ".join(untrusted(s, 60) for s in (repeat.get("services") or [])[:3])
        lines.append(f"Repeated: “{untrusted(repeat.get('title'), 100)}” ×{untrusted(repeat.get('count'), 8)}"
                     + (f" ({services})" if services else ""))
    for flap in (patterns.get("flapping") or [])[:3]:
        lines.append(f"Flapping: “{untrusted(flap.get('title'), 100)}” on {untrusted(flap.get('service'), 60)}, "
                     f"triggered {untrusted(flap.get('count'), 8)} times in 48 h"
                     + ("; open now" if flap.get("open_now") else ""))
    for burst in (patterns.get("bursts") or [])[:3]:
        lines.append(f"Burst: {untrusted(burst.get('count'), 8)} incidents on {untrusted(burst.get('service'), 60)} "
                     f"within {untrusted(burst.get('minutes'), 8)} min from {when(burst.get('start'))}")
    if with_oldest and (oldest := oldest_line(patterns)):
        lines.append(oldest)
    if durations := durations_line(patterns):
        lines.append(durations)
    return [f"• {line}" for line in lines]


def sampled(data: Data) -> bool:
    """The patterns come from a sample ("the 100 newest of 6,140 triggered and ..."), not every incident."""
    sample = (data.get("patterns") or {}).get("sample")
    return isinstance(sample, str) and sample.startswith("the ")


def _scope(args: Data) -> str:
    if args.get("mine"):
        return " assigned to you"
    for key, word in (("service", "on"), ("team", "for team")):
        if isinstance(args.get(key), str) and args[key].strip():
            return f" {word} {untrusted(args[key], 80)}"
    return ""


def _heading(data: Data, args: Data, total: int) -> str:
    statuses = args.get("statuses") or []
    only_open = not statuses or set(statuses) <= OPEN
    noun = ("open incident" if only_open else "incident") + ("" if total == 1 else "s")
    text = f"*{total:,} {noun}{_scope(args)}*"
    patterns = data.get("patterns") or {}
    by_status = data.get("by_status") or {}  # exact counts; the patterns' are of a sample
    counts = ", ".join(f"{by_status[s]:,} {s}" for s in ("triggered", "acknowledged", "resolved")
                       if isinstance(by_status.get(s), int) and by_status[s])
    high = (patterns.get("by_urgency") or {}).get("high")
    if counts:
        text += f" ({untrusted(counts, 120)})"
    if isinstance(high, int) and high and not sampled(data):  # a sample's count is no account total
        text += f" · {high} high urgency"
    window = data.get("window")
    if isinstance(window, dict) and window.get("start"):  # the shared window echo
        text += f" · created {window_text(window)}"
    elif isinstance(window, str) and window and window != "any age":
        text += f" · created {times_in(untrusted(window, 80))}"
    return text


def render_incident_list(data: Data, room: Room, args: Data) -> list[Block]:
    rows: list[Data] = [r for r in data.get("incidents") or [] if isinstance(r, dict)]
    total = int(data.get("total") or len(rows))
    base = pagerduty_base(*(r.get("url") for r in rows))
    everything = f"{base}/incidents" if base else None
    out: list[Block] = []
    if not room.add(out, section(_heading(data, args, total)), keep_blocks=1, keep_chars=TAIL_CHARS):
        return out
    patterns = data.get("patterns") or {}
    oldest = oldest_line(patterns) if total > 1 and sampled(data) else ""
    pattern_lines = _pattern_lines(patterns, with_oldest=total > 1 and not oldest) if total > 2 else []
    pattern_chars = min(sum(len(line) + 1 for line in pattern_lines) + 20, 1_200)
    shown = 0
    for row in rows:
        card = incident_card(row)
        if not room.add(out, *card, keep_blocks=2 + bool(pattern_lines),
                        keep_chars=TAIL_CHARS + pattern_chars):
            break
        shown += 1
    if shown < total:
        out += note(room, more_line(total - shown, everything))
    if oldest:  # exact (read apart from the sample), so not under its heading
        out += note(room, oldest)
    if pattern_lines:
        out += pack(room, "*Patterns*", pattern_lines)
    if sampled(data):
        out += note(room, f"Patterns from a sample: {untrusted(patterns.get('sample'), 200)}")
    return out


# --------------------------------------------------------------------------- one incident


def _fields(incident: Data) -> list[str]:
    fields = [f"*Status*\n{untrusted(incident.get('status'), 20)}",
              f"*Urgency*\n{untrusted(incident.get('urgency'), 10)}"
              + (f" · {untrusted(incident['priority'], 20)}" if incident.get("priority") else "")]
    if incident.get("service"):
        fields.append(f"*Service*\n{untrusted(incident['service'], 100)}")
    if incident.get("escalation_policy"):
        fields.append(f"*Escalation policy*\n{untrusted(incident['escalation_policy'], 100)}")
    assignees = [untrusted(a, 60) for a in incident.get("assignees") or []]
    fields.append("*Assigned to*\n" + (", ".join(assignees[:8]) or "nobody"))
    if incident.get("created"):
        fields.append(f"*Created*\n{when(incident['created'])}"
                      + (f" ({untrusted(incident['age'], 20)} ago)" if incident.get("age") else ""))
    if incident.get("acknowledged"):
        by = ", ".join(untrusted(a, 60) for a in (incident.get("acknowledgers") or [])[:4])
        fields.append(f"*Acknowledged*\n{when(incident['acknowledged'])}" + (f" by {by}" if by else ""))
    if incident.get("resolved"):
        fields.append(f"*Resolved*\n{when(incident['resolved'])}")
    alerts = incident.get("alerts")
    if isinstance(alerts, dict):
        fields.append(f"*Alerts*\n{untrusted(alerts.get('all', 0), 8)} ({untrusted(alerts.get('triggered', 0), 8)}"
                      " triggered)")
    return fields[:10]


def _event_line(event: Data) -> str:
    text = f"• {when(event.get('at'))} {untrusted(event.get('what'), 80)}"
    if event.get("by"):
        text += f" by {untrusted(event['by'], 80)}"
    if event.get("to"):
        to = event["to"] if isinstance(event["to"], list) else [event["to"]]
        text += " to " + ", ".join(untrusted(t, 60) for t in to[:4])
    if event.get("note"):
        text += f": {untrusted(event['note'], 200)}"
    return text


def render_incident(data: Data, room: Room, args: Data) -> list[Block]:
    incident: Data = data.get("incident") or {}
    out: list[Block] = []
    head = section(_title_line(incident), fields=_fields(incident))
    buttons = incident_buttons(incident)
    if not room.add(out, head, keep_blocks=len(buttons), keep_chars=400):
        return out
    if incident.get("details"):
        out += pack(room, "*Details*", [f"> {untrusted(incident['details'], 1_000)}"], keep_chars=400)
    notes: list[Data] = [n for n in data.get("notes") or [] if isinstance(n, dict)]
    if notes:
        total = int(data.get("notes_total") or len(notes))
        lines = [f"• {when(n.get('at'))} *{untrusted(n.get('by') or 'someone', 60)}*: "
                 f"{untrusted(n.get('text'), MAX_NOTE)}" for n in notes]
        out += pack(room, f"*Notes* ({total})", lines, total=total, url=incident.get("url"), keep_chars=300,
                    keep_blocks=len(buttons))
    timeline: list[Data] = [e for e in data.get("timeline") or [] if isinstance(e, dict)]
    if timeline:
        out += pack(room, "*Timeline*", [_event_line(e) for e in timeline[-12:]], url=incident.get("url"),
                    total=len(timeline), keep_blocks=len(buttons))
    if data.get("timeline_note"):
        out += note(room, untrusted(data["timeline_note"], 200))
    room.add(out, *buttons)
    return out


def render_no_incidents(message: str | None, room: Room, args: Data) -> list[Block]:
    out: list[Block] = []
    room.add(out, context(f":white_check_mark: No open incidents{_scope(args)}." if not args.get("statuses")
                          else f":information_source: {untrusted(message or 'No incidents found.', 300)}"))
    return out
