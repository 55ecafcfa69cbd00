"""Incidents, shown: the list (a card per incident with its actions, then the patterns) and one
incident (its facts, notes and timeline), as Block Kit and as plain text.

An open incident's card offers Acknowledge (while triggered), Resolve, "View in PagerDuty" and a menu
(reassign or escalate, add responders, add a note, change priority or urgency). The buttons carry the
incident's PagerDuty ID (``IncidentRef.id``); the app acts on it as the person who clicked, then
re-renders the card from the incident's fresh state (:func:`refresh_card`). The pattern lines (noise,
repeats, flaps, bursts, the oldest open incident, MTTA/MTTR) are written once for both outputs: Slack
escapes PagerDuty text and shows each reader their own time, plain text cleans it and writes the asker's
wall-clock time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.present import words
from bot.present.base import AnyPresenter, Presenter, nothing_blocks
from bot.present.kit.blocks import Block, actions, button, confirm, context, plain, section
from bot.present.kit.escape import ISO_TIME, is_pagerduty_url, link, pagerduty_base, span, untrusted, when
from bot.present.kit.limits import TAIL_CHARS, Room, more_line, note, pack
from bot.tools.base import ToolResult
from bot.tools.incidents import GetIncident, ListIncidents
from bot.tools.results import WindowEcho
from bot.tools.results.incidents import (
    OPEN,
    AckTimes,
    IncidentDetail,
    IncidentFacts,
    IncidentList,
    IncidentPatterns,
    IncidentRow,
    OldestOpen,
    ResolveTimes,
    Status,
    TimelineEvent,
)

ACK_ACTION = "incident_ack"
"""Button contract with the app: acknowledge the incident whose PagerDuty ID is the button's value."""
RESOLVE_ACTION = "incident_resolve"
"""Button contract with the app: resolve the incident whose PagerDuty ID is the button's value."""
MORE_ACTION = "incident_more"
"""Button contract with the app: the card's menu; each option's value is ``<action>:<PagerDuty ID>``."""
VIEW_ACTION = "incident_view"
"""The "View in PagerDuty" link button (the app only acknowledges its click)."""
MORE_OPTIONS: tuple[tuple[str, str], ...] = (
    ("reassign", "Reassign or escalate…"), ("responders", "Add responders…"), ("note", "Add a note…"),
    ("priority", "Change priority or urgency…"))
"""The menu's actions (the value's ``<action>``) and their labels, in order."""
BUTTONS_BLOCK = "incident:"
ROW_BLOCK = "incident_row:"
HEAD_BLOCK = "incident_head:"
"""Block ID prefixes (then the PagerDuty ID) of a card's buttons, a list row and a detail head."""
STATUS_ICON = {"triggered": ":red_circle:", "acknowledged": ":large_yellow_circle:", "resolved": ":white_check_mark:"}
STATUS_ORDER: tuple[Status, ...] = ("triggered", "acknowledged", "resolved")
MAX_TITLE = 150
MAX_NOTE = 400
TEXT_NOTES = 5
TEXT_TIMELINE = 8
SLACK_TIMELINE = 12

Incident = IncidentRow | IncidentFacts


@dataclass(frozen=True, slots=True)
class _Style:
    """How one output writes what both say: PagerDuty text (clipped), times, and how many of each pattern."""

    name: Callable[[object, int], str]
    when: Callable[[datetime | None], str]
    most: int | None


SLACK = _Style(untrusted, when, 3)
TEXT = _Style(words.clean, words.when, None)


# --------------------------------------------------------------------------- shared by both outputs


def _scope(args: ListIncidents, style: _Style) -> str:
    """`` assigned to you``, `` on payments-api``, `` for team Checkout & Web`` or nothing."""
    if args.mine:
        return " assigned to you"
    for value, word in ((args.service, "on"), (args.team, "for team")):
        if value is not None and value.strip():
            return f" {word} {style.name(value, 80)}"
    return ""


def _no_open(args: ListIncidents, style: _Style) -> str | None:
    """``No open incidents on search.`` when open incidents were asked (else the tool's own words apply)."""
    return None if args.statuses else f"No open incidents{_scope(args, style)}."


def _split(value: IncidentList) -> str:
    """``6 triggered, 6 acknowledged``: the exact counts (the patterns' are of a sample)."""
    return ", ".join(f"{value.by_status[s]:,} {s}" for s in STATUS_ORDER if value.by_status.get(s))


def _total(value: IncidentList) -> int:
    return value.total or len(value.incidents)


def _age(hours: float) -> str:
    return f"{hours / 24:.0f} days" if hours >= 48 else f"{hours:.0f} h"


def _minutes(value: float) -> str:
    return f"{value:g} min" if value < 90 else f"{value / 60:.1f} h"


def _oldest(oldest: OldestOpen | None, style: _Style) -> str:
    """``Oldest open: #1148 … (data-pipeline), open 9 days`` (over every open incident, sampled or not)."""
    if oldest is None:
        return ""
    return (f"Oldest open: #{oldest.number} {style.name(oldest.title, 100)} ({style.name(oldest.service, 60)}), "
            f"open {_age(oldest.age_hours)}")


def durations_text(mtta: AckTimes | None, mttr: ResolveTimes | None) -> str:
    """``Median time to acknowledge 13 min (26 acknowledged, 20 of them still open), to resolve 4.8 min
    (22 resolved, 16 never acknowledged)``: each over its own incidents, and saying which."""
    times = []
    if mtta is not None:
        over = f"{mtta.count} acknowledged" + (f", {mtta.still_open} of them still open" if mtta.still_open else "")
        times.append(f"to acknowledge {_minutes(mtta.median)} ({over})")
    if mttr is not None:
        over = f"{mttr.count} resolved" + (f", {mttr.never_acknowledged} never acknowledged"
                                           if mttr.never_acknowledged else "")
        times.append(f"to resolve {_minutes(mttr.median)} ({over})")
    return "Median time " + ", ".join(times) if times else ""


def _pattern_lines(patterns: IncidentPatterns, style: _Style, *, with_oldest: bool) -> list[str]:
    lines: list[str] = []
    most = style.most
    if len(patterns.top_services) > 1:
        lines.append("Most incidents: " + ", ".join(f"{style.name(name, 60)} {count}"
                                                    for name, count in list(patterns.top_services.items())[:6]))
    for repeat in patterns.repeated_titles[:most]:
        services = ", ".join(style.name(s, 60) for s in repeat.services[:3])
        lines.append(f"Repeated: “{style.name(repeat.title, 100)}” ×{repeat.count}"
                     + (f" ({services})" if services else ""))
    for flap in patterns.flapping[:most]:
        lines.append(f"Flapping: “{style.name(flap.title, 100)}” on {style.name(flap.service, 60)}, "
                     f"triggered {flap.count} times in 48 h" + ("; open now" if flap.open_now else ""))
    for burst in patterns.bursts[:most]:
        lines.append(f"Burst: {burst.count} incidents on {style.name(burst.service, 60)} "
                     f"within {burst.minutes} min from {style.when(burst.start)}")
    if with_oldest and (oldest := _oldest(patterns.oldest_open, style)):
        lines.append(oldest)
    if durations := durations_text(patterns.mtta, patterns.mttr):
        lines.append(durations)
    return words.bullets(lines)


def _patterns_said(value: IncidentList, style: _Style) -> tuple[str, list[str]]:
    """The oldest open incident said apart when the patterns are a sample's (it is exact, read apart), and
    the pattern lines (bulleted); none for one or two incidents."""
    patterns, total = value.patterns, _total(value)
    if patterns is None:
        return "", []
    apart = _oldest(patterns.oldest_open, style) if total > 1 and patterns.sampled else ""
    lines = _pattern_lines(patterns, style, with_oldest=total > 1 and not apart) if total > 2 else []
    return apart, lines


def _sampled(value: IncidentList) -> bool:
    return value.patterns is not None and value.patterns.sampled


# --------------------------------------------------------------------------- Block Kit: one incident's card


def incident_buttons(incident: Incident) -> list[Block]:
    """Ack (when triggered), Resolve, View in PagerDuty and the menu (when open), value = the PagerDuty ID;
    none for resolved ones."""
    if not incident.is_open:
        return []
    label = incident.label
    elements = []
    if incident.status == "triggered":
        elements.append(button("Acknowledge", ACK_ACTION, incident.id, style="primary"))
    elements.append(button("Resolve", RESOLVE_ACTION, incident.id, ask=confirm(
        f"Resolve {label}?", f"alex will resolve {label} in PagerDuty, as you.", "Resolve")))
    if is_pagerduty_url(incident.url):
        elements.append({**button("View in PagerDuty", VIEW_ACTION, incident.id), "url": incident.url})
    elements.append({"type": "overflow", "action_id": MORE_ACTION, "options": [
        {"text": plain(text, 75), "value": f"{key}:{incident.id}"} for key, text in MORE_OPTIONS]})
    return [actions(elements, block_id=f"{BUTTONS_BLOCK}{incident.id}")]


def _title_line(incident: Incident) -> str:
    icon = STATUS_ICON.get(incident.status, ":grey_question:")
    return f"{icon} *{link(incident.url, incident.label)}* {untrusted(incident.title, MAX_TITLE)}"


def _facts(row: Incident) -> str:
    parts = [untrusted(row.status, 20), f"{untrusted(row.urgency, 10)} urgency"]
    if row.priority:
        parts.append(untrusted(row.priority, 20))
    if row.service:
        parts.append(untrusted(row.service, 80))
    if row.age:
        parts.append(f"open {untrusted(row.age, 20)}")
    elif row.resolved:
        parts.append(f"resolved {when(row.resolved)}")
    assignees = [untrusted(a, 60) for a in row.assignees]
    if assignees:
        parts.append(", ".join(assignees[:3]) + (f" +{len(assignees) - 3}" if len(assignees) > 3 else ""))
    return " · ".join(parts)


def incident_card(row: Incident) -> list[Block]:
    return [_row(row), *incident_buttons(row)]


def live_card(row: IncidentRow) -> list[Block]:
    """The card a notification posts and updates in place as the incident changes (:mod:`bot.notify`): the
    list's card, its age a date token Slack keeps current for each reader (``opened 5 minutes ago``, however
    old the message) instead of the age when it was drawn."""
    facts = _facts(row.but(age=None))
    if row.is_open and row.created is not None:
        opened = row.created.astimezone(UTC)
        facts += f" · opened <!date^{int(opened.timestamp())}^{{ago}}|{opened:%Y-%m-%d %H:%M} UTC>"
    return [section(f"{_title_line(row)}\n{facts}", block_id=f"{ROW_BLOCK}{row.id}"), *incident_buttons(row)]


def _row(row: Incident, block_id: str | None = None) -> Block:
    return section(f"{_title_line(row)}\n{_facts(row)}", block_id=block_id or f"{ROW_BLOCK}{row.id}")


def _head(incident: IncidentFacts, block_id: str | None = None) -> Block:
    return section(_title_line(incident), fields=_fields(incident), block_id=block_id or f"{HEAD_BLOCK}{incident.id}")


def refresh_card(blocks: list[Block], incident: IncidentFacts) -> list[Block] | None:
    """``blocks`` (a posted message) with ``incident``'s card drawn again from its fresh state: its list
    row or detail head, and its buttons (gone once it is resolved; added when it opens again). None when
    the message shows no card of it."""
    ids = {f"{prefix}{incident.id}": prefix for prefix in (ROW_BLOCK, HEAD_BLOCK, BUTTONS_BLOCK)}
    buttons = incident_buttons(incident)
    out: list[Block] = []
    found = False
    for index, block in enumerate(blocks):
        block_id = str(block.get("block_id") or "")
        prefix = ids.get(block_id.split("~", 1)[0])
        if prefix is None:
            out.append(block)
            continue
        found = True
        if prefix == BUTTONS_BLOCK:
            out += [{**b, "block_id": block_id} for b in buttons]
            continue
        out.append(_row(incident, block_id) if prefix == ROW_BLOCK else _head(incident, block_id))
        later = [str(b.get("block_id") or "").split("~", 1)[0] for b in blocks[index + 1:]]
        if f"{BUTTONS_BLOCK}{incident.id}" not in later:
            out += buttons  # it had none (it was resolved): it gets them where a row's go
    return out if found else None


# --------------------------------------------------------------------------- Block Kit: the list


def _created(window: WindowEcho) -> str:
    """``last 7 days (<from> – <to>)``: the creation window asked, each time in the reader's zone."""
    if window.is_instant:
        return "now" if window.label == "now" else f"at {when(window.at)}"
    label = untrusted(window.label, 60)
    dates = span(window.start, window.end)
    text = dates if not label or ISO_TIME.search(window.label) else f"{label} ({dates})"
    if window.note:
        text += f" ({untrusted(window.note, 80)})"
    return text


def _heading(value: IncidentList, args: ListIncidents, total: int) -> str:
    statuses = args.statuses or []
    only_open = not statuses or set(statuses) <= OPEN
    noun = ("open incident" if only_open else "incident") + ("" if total == 1 else "s")
    text = f"*{total:,} {noun}{_scope(args, SLACK)}*"
    if counts := _split(value):
        text += f" ({untrusted(counts, 120)})"
    high = value.patterns.by_urgency.get("high") if value.patterns is not None else None
    if high and not _sampled(value):  # a sample's count is no account total
        text += f" · {high} high urgency"
    if value.window.start is not None:
        text += f" · created {_created(value.window)}"
    return text


def list_blocks(result: ToolResult[IncidentList], args: ListIncidents, room: Room) -> list[Block]:
    out: list[Block] = []
    value = result.value
    if result.status == "no_data" or value is None:
        sentence = _no_open(args, SLACK)
        room.add(out, context(f":white_check_mark: {sentence}" if sentence is not None
                              else f":information_source: {untrusted(result.error or 'No incidents found.', 300)}"))
        return out
    rows = value.incidents
    total = _total(value)
    base = pagerduty_base(*(r.url for r in rows))
    everything = f"{base}/incidents" if base else None
    if not room.add(out, section(_heading(value, args, total)), keep_blocks=1, keep_chars=TAIL_CHARS):
        return out
    oldest, pattern_lines = _patterns_said(value, SLACK)
    pattern_chars = min(sum(len(line) + 1 for line in pattern_lines) + 20, 1_200)
    shown = 0
    for row in rows:
        if not room.add(out, *incident_card(row), keep_blocks=2 + bool(pattern_lines),
                        keep_chars=TAIL_CHARS + pattern_chars):
            break
        shown += 1
    if shown < total:
        out += note(room, more_line(total - shown, everything))
    if oldest:  # exact (read apart from the sample), so not under its heading
        out += note(room, oldest)
    if pattern_lines:
        out += pack(room, "*Patterns*", pattern_lines)
    if value.patterns is not None and value.patterns.sampled:
        out += note(room, f"Patterns from a sample: {untrusted(value.patterns.sample.label, 200)}")
    return out


# --------------------------------------------------------------------------- Block Kit: one incident


def _fields(incident: IncidentFacts) -> list[str]:
    fields = [f"*Status*\n{untrusted(incident.status, 20)}",
              f"*Urgency*\n{untrusted(incident.urgency, 10)}"
              + (f" · {untrusted(incident.priority, 20)}" if incident.priority else "")]
    if incident.service:
        fields.append(f"*Service*\n{untrusted(incident.service, 100)}")
    if incident.escalation_policy:
        fields.append(f"*Escalation policy*\n{untrusted(incident.escalation_policy, 100)}")
    assignees = [untrusted(a, 60) for a in incident.assignees]
    fields.append("*Assigned to*\n" + (", ".join(assignees[:8]) or "nobody"))
    if incident.created:
        fields.append(f"*Created*\n{when(incident.created)}"
                      + (f" ({untrusted(incident.age, 20)} ago)" if incident.age else ""))
    if incident.acknowledged:
        by = ", ".join(untrusted(a, 60) for a in incident.acknowledgers[:4])
        fields.append(f"*Acknowledged*\n{when(incident.acknowledged)}" + (f" by {by}" if by else ""))
    if incident.resolved:
        fields.append(f"*Resolved*\n{when(incident.resolved)}")
    fields.append(f"*Alerts*\n{incident.alerts.total} ({incident.alerts.triggered} triggered)")
    return fields[:10]


def _event_line(event: TimelineEvent) -> str:
    text = f"• {when(event.at)} {untrusted(event.what, 80)}"
    if event.by:
        text += f" by {untrusted(event.by, 80)}"
    if event.to:
        text += " to " + ", ".join(untrusted(t, 60) for t in event.to[:4])
    if event.note:
        text += f": {untrusted(event.note, 200)}"
    return text


def detail_blocks(result: ToolResult[IncidentDetail], args: GetIncident, room: Room) -> list[Block]:
    value = result.value
    if result.status == "no_data" or value is None:
        return nothing_blocks(result, room)
    incident = value.incident
    out: list[Block] = []
    head = _head(incident)
    buttons = incident_buttons(incident)
    if not room.add(out, head, keep_blocks=len(buttons), keep_chars=400):
        return out
    if incident.details:
        out += pack(room, "*Details*", [f"> {untrusted(incident.details, 1_000)}"], keep_chars=400)
    if value.notes:
        total = value.notes_total or len(value.notes)
        lines = [f"• {when(n.at)} *{untrusted(n.by or 'someone', 60)}*: {untrusted(n.text, MAX_NOTE)}"
                 for n in value.notes]
        out += pack(room, f"*Notes* ({total})", lines, total=total, url=incident.url, keep_chars=300,
                    keep_blocks=len(buttons))
    if value.timeline:
        out += pack(room, "*Timeline*", [_event_line(e) for e in value.timeline[-SLACK_TIMELINE:]], url=incident.url,
                    total=len(value.timeline), keep_blocks=len(buttons))
    if value.timeline_note:
        out += note(room, untrusted(value.timeline_note, 200))
    room.add(out, *buttons)
    return out


# --------------------------------------------------------------------------- plain text


def list_text(result: ToolResult[IncidentList], args: ListIncidents) -> list[str]:
    value = result.value
    if result.status == "no_data" or value is None:
        sentence = _no_open(args, TEXT)
        return [sentence if sentence is not None else result.error or "No incidents found."]
    total = value.total
    counts = _split(value)
    lines = [f"{total:,} open incident{'' if total == 1 else 's'}{_scope(args, TEXT)}"
             + (f" ({counts})" if counts else "") + ":"]
    for row in value.incidents:
        parts = [row.service or "?", row.status, f"{row.urgency} urgency"]
        if row.priority:
            parts.append(row.priority)
        if row.age:
            parts.append(f"open {row.age}")
        if row.assignees:
            parts.append(", ".join(row.assignees))
        lines.append(f"{words.BULLET}{row.label} {words.clean(row.title)} ({', '.join(parts)})")
    lines += words.more(total - len(value.incidents))
    oldest, found = _patterns_said(value, TEXT)
    if oldest:  # exact (read apart), so not under the sample's heading
        lines.append(oldest)
    if found and value.patterns is not None:
        sample = value.patterns.sample
        lines += [f"Patterns in {sample.read_words}:" if value.patterns.sampled else "Patterns:", *found]
    return lines


def _event_text(event: TimelineEvent) -> str:
    text = f"{words.when(event.at)} {event.what}"
    if event.by:
        text += f" by {event.by}"
    if event.to:
        text += f" to {', '.join(event.to)}"
    if event.note:
        text += f": {words.clean(event.note)}"
    return text


def detail_text(result: ToolResult[IncidentDetail], args: GetIncident) -> list[str]:
    value = result.value
    if result.status == "no_data" or value is None:
        return [result.error or "Nothing found."]
    incident = value.incident
    facts = [incident.status, f"{incident.urgency} urgency"]
    if incident.priority:
        facts.append(incident.priority)
    facts.append(f"service {incident.service}")
    if incident.escalation_policy:
        facts.append(f"policy {incident.escalation_policy}")
    lines = [f"{incident.label} {words.clean(incident.title, 200)}", ", ".join(facts)]
    if incident.assignees:
        lines.append("Assigned to " + ", ".join(incident.assignees))
    times = [f"Created {words.when(incident.created)}" + (f" ({incident.age} ago)" if incident.age else "")]
    if incident.acknowledged:
        times.append(f"acknowledged {words.when(incident.acknowledged)}"
                     + (f" by {', '.join(incident.acknowledgers)}" if incident.acknowledgers else ""))
    if incident.resolved:
        times.append(f"resolved {words.when(incident.resolved)}")
    lines.append("; ".join(times))
    lines.append(f"Alerts: {incident.alerts.total} ({incident.alerts.triggered} triggered)")
    if incident.details:
        lines.append("Details: " + words.clean(incident.details, 300))
    notes = value.notes
    if notes:
        lines.append(f"Notes ({value.notes_total}):")
        lines += words.bullets(f"{words.when(n.at)} {n.by or 'someone'}: {words.clean(n.text, 200)}"
                               for n in notes[:TEXT_NOTES])
        lines += words.more((value.notes_total or len(notes)) - min(len(notes), TEXT_NOTES))
    if value.timeline:
        lines += ["Timeline:", *words.bullets(_event_text(e) for e in value.timeline[-TEXT_TIMELINE:])]
    if incident.url:
        lines.append(incident.url)
    return lines


PRESENTERS: tuple[AnyPresenter, ...] = (
    Presenter(result=IncidentList, args=ListIncidents, blocks=list_blocks, text=list_text),
    Presenter(result=IncidentDetail, args=GetIncident, blocks=detail_blocks, text=detail_text),
)
