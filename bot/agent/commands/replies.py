"""Command-mode replies: readable plain text built from the tools' result data (no LLM).

Bullets, names, incident numbers and "…and N more"; times are the tools' local times (already in the
asker's zone) written as ``Fri 13 Mar 16:00``, with the zone named once at the end. Text that came
from PagerDuty (titles, notes) is kept to one line and clipped, so it cannot forge extra lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from bot.analysis.windows import echo_as_iso
from bot.tools.base import Proposal, TargetOutcome, ToolResult
from bot.tools.proposals import FIRST_WENT_THROUGH, Outcome

BULLET = "• "
MAX_TITLE = 100
MAX_SHOWN = 10
MAX_NOTES = 5
MAX_TIMELINE = 8
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})")

Args = dict[str, Any]
Data = dict[str, Any]


# --------------------------------------------------------------------------- small pieces


def when(value: Any) -> str:
    """``"2026-03-13T16:00-04:00"`` -> ``"Fri 13 Mar 16:00"`` (the wall-clock time the tool gave)."""
    moment = _parse(value)
    if moment is None:
        return str(value) if value else "?"
    return f"{_DAYS[moment.weekday()]} {moment.day} {_MONTHS[moment.month - 1]} {moment:%H:%M}"


def span(start: Any, end: Any) -> str:
    """``Tue 10 Mar 07:00–15:00`` on one day, else ``Fri 13 Mar 16:00 – Sat 14 Mar 04:00``."""
    first, last = _parse(start), _parse(end)
    if first is None and last is None:
        return "open-ended"
    if first is not None and last is not None and first.date() == last.date():
        return f"{when(start)}–{last:%H:%M}"
    return f"{when(start) if first else 'until'} – {when(end) if last else 'open-ended'}"


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def pretty_times(text: str) -> str:
    """Every ISO time in ``text`` written as :func:`when` does."""
    return _ISO.sub(lambda m: when(m.group(0)), text)


def clean(value: Any, limit: int = MAX_TITLE) -> str:
    """PagerDuty text as one clipped line."""
    text = " ".join(str(value or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else many or word + 's'}"


def join_and(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def bullets(lines: Iterable[str]) -> list[str]:
    return [BULLET + line for line in lines]


def more(count: int) -> list[str]:
    return [f"…and {count} more."] if count > 0 else []


def _minutes(value: float) -> str:
    return f"{value:g} min" if value < 90 else f"{value / 60:.1f} h"


def _age(hours: float) -> str:
    return f"{hours / 24:.0f} days" if hours >= 48 else f"{hours:.0f} h"


def _pct(value: Any) -> str:
    return f"{value:g}%" if isinstance(value, int | float) else "?%"


def _window(window: Any) -> str:
    """A window as people said it ("next week"), or its span when it was given as ISO times."""
    if not isinstance(window, dict):
        return ""
    window = echo_as_iso(window)
    label = str(window.get("label") or "")
    if "at" in window:
        return "now" if label == "now" else f"at {when(window['at'])}"
    start, end = window.get("from"), window.get("to", window.get("until"))
    if not label or _ISO.search(label) or re.search(r"\d{4}-\d{2}-\d{2}", label):
        return span(start, end)
    if re.match(r"(?:next|last|past|coming) \d", label):
        label = f"in the {label}"
    return f"{label} ({span(start, end)})"


# --------------------------------------------------------------------------- reads


def read_reply(tool: str, args: Args, result: ToolResult) -> str:
    """The reply for a read tool's result; ``args`` are the command's arguments."""
    if result.status == "error":
        return result.error or "That did not work."
    if result.status == "no_data" and tool == "list_incidents":
        return f"No open incidents{_incident_scope(args)}."
    if result.status == "no_data" and tool != "list_overrides":
        return result.error or "Nothing found."
    build = _READS.get(tool)
    lines = build(result.data, args) if build else [str(result.data)]
    if result.partial:
        lines.append("PagerDuty had more than alex read: some of this comes from a sample.")
    window = result.data.get("window")
    zone = result.data.get("time_zone") or (window.get("time_zone") if isinstance(window, dict) else None)
    if zone:
        lines.append(f"Times are in {zone}.")
    return "\n".join(lines)


def _incident_scope(args: Args) -> str:
    if args.get("mine"):
        return " assigned to you"
    return f" on {args['service']}" if args.get("service") else ""


def _incidents(data: Data, args: Args) -> list[str]:
    total = int(data.get("total") or 0)
    rows: list[dict[str, Any]] = data.get("incidents") or []
    patterns: dict[str, Any] = data.get("patterns") or {}
    by_status: dict[str, int] = data.get("by_status") or {}  # exact counts, not the sample's
    statuses = ", ".join(f"{by_status[s]:,} {s}" for s in ("triggered", "acknowledged", "resolved")
                         if by_status.get(s))
    lines = [f"{total:,} open incident{'' if total == 1 else 's'}{_incident_scope(args)}"
             + (f" ({statuses})" if statuses else "") + ":"]
    for row in rows:
        parts = [str(row.get("service") or "?"), str(row.get("status")), f"{row.get('urgency')} urgency"]
        if row.get("priority"):
            parts.append(str(row["priority"]))
        if row.get("age"):
            parts.append(f"open {row['age']}")
        if row.get("assignees"):
            parts.append(", ".join(row["assignees"]))
        lines.append(f"{BULLET}#{row.get('number')} {clean(row.get('title'))} ({', '.join(parts)})")
    lines += more(total - len(rows))
    sample = str(patterns.get("sample") or "")
    sampled = sample.startswith("the ")  # "the 100 newest of 6,140 triggered and ..."
    oldest = _oldest(patterns) if total > 1 else ""
    if oldest and sampled:  # exact (read apart), so not under the sample's heading
        lines.append(oldest)
        oldest = ""
    found = _patterns(patterns, oldest) if total > 2 else []
    if found:
        lines += [f"Patterns in {sample.split(' (+')[0]}:" if sampled else "Patterns:", *bullets(found)]
    return lines


def _oldest(patterns: dict[str, Any]) -> str:
    oldest = patterns.get("oldest_open")
    if not oldest:
        return ""
    return (f"Oldest open: #{oldest.get('number')} {clean(oldest.get('title'))} ({oldest.get('service')}), "
            f"open {_age(float(oldest.get('age_hours') or 0))}")


def _patterns(patterns: dict[str, Any], oldest: str) -> list[str]:
    lines: list[str] = []
    top = patterns.get("top_services") or {}
    if len(top) > 1:
        lines.append("Most incidents: " + ", ".join(f"{name} {count}" for name, count in top.items()))
    for repeat in patterns.get("repeated_titles") or []:
        lines.append(f"Repeated: “{clean(repeat.get('title'))}” ×{repeat.get('count')} "
                     f"({', '.join(repeat.get('services') or [])})")
    for flap in patterns.get("flapping") or []:
        lines.append(f"Flapping: “{clean(flap.get('title'))}” on {flap.get('service')}, triggered "
                     f"{flap.get('count')} times in 48 h" + ("; open now" if flap.get("open_now") else ""))
    for burst in patterns.get("bursts") or []:
        lines.append(f"Burst: {burst.get('count')} incidents on {burst.get('service')} within "
                     f"{burst.get('minutes')} min from {when(burst.get('start'))}")
    if oldest:
        lines.append(oldest)
    times = durations_text(patterns.get("mtta_min"), patterns.get("mttr_min"))
    if times:
        lines.append(times)
    return lines


def durations_text(mtta: Any, mttr: Any) -> str:
    """``Median time to acknowledge 13 min (26 acknowledged, 20 of them still open), to resolve 4.8 min
    (22 resolved, 16 never acknowledged)``: each over its own incidents, and saying which."""
    times = []
    if isinstance(mtta, dict) and isinstance(mtta.get("median"), int | float):
        over = plural(int(mtta.get("n") or 0), "acknowledged", "acknowledged")
        if mtta.get("still_open"):
            over += f", {mtta['still_open']} of them still open"
        times.append(f"to acknowledge {_minutes(float(mtta['median']))} ({over})")
    if isinstance(mttr, dict) and isinstance(mttr.get("median"), int | float):
        over = plural(int(mttr.get("n") or 0), "resolved", "resolved")
        if mttr.get("never_acknowledged"):
            over += f", {mttr['never_acknowledged']} never acknowledged"
        times.append(f"to resolve {_minutes(float(mttr['median']))} ({over})")
    return "Median time " + ", ".join(times) if times else ""


def _incident(data: Data, args: Args) -> list[str]:
    incident: dict[str, Any] = data.get("incident") or {}
    facts = [str(incident.get("status")), f"{incident.get('urgency')} urgency"]
    if incident.get("priority"):
        facts.append(str(incident["priority"]))
    facts.append(f"service {incident.get('service')}")
    if incident.get("escalation_policy"):
        facts.append(f"policy {incident['escalation_policy']}")
    lines = [f"#{incident.get('number')} {clean(incident.get('title'), 200)}", ", ".join(facts)]
    if incident.get("assignees"):
        lines.append("Assigned to " + ", ".join(incident["assignees"]))
    times = [f"Created {when(incident.get('created'))}" + (f" ({incident['age']} ago)" if incident.get("age") else "")]
    if incident.get("acknowledged"):
        acknowledgers = incident.get("acknowledgers") or []
        times.append(f"acknowledged {when(incident['acknowledged'])}"
                     + (f" by {', '.join(acknowledgers)}" if acknowledgers else ""))
    if incident.get("resolved"):
        times.append(f"resolved {when(incident['resolved'])}")
    lines.append("; ".join(times))
    alerts = incident.get("alerts") or {}
    if alerts:
        lines.append(f"Alerts: {alerts.get('all', 0)} ({alerts.get('triggered', 0)} triggered)")
    if incident.get("details"):
        lines.append("Details: " + clean(incident["details"], 300))
    notes: list[dict[str, Any]] = data.get("notes") or []
    if notes:
        lines.append(f"Notes ({data.get('notes_total', len(notes))}):")
        lines += bullets(f"{when(n.get('at'))} {n.get('by') or 'someone'}: {clean(n.get('text'), 200)}"
                         for n in notes[:MAX_NOTES])
        lines += more(int(data.get("notes_total") or len(notes)) - min(len(notes), MAX_NOTES))
    timeline: list[dict[str, Any]] = data.get("timeline") or []
    if timeline:
        lines += ["Timeline:", *bullets(_event(e) for e in timeline[-MAX_TIMELINE:])]
    if incident.get("url"):
        lines.append(str(incident["url"]))
    return lines


def _event(event: dict[str, Any]) -> str:
    text = f"{when(event.get('at'))} {event.get('what')}"
    if event.get("by"):
        text += f" by {event['by']}"
    if event.get("to"):
        text += f" to {', '.join(event['to'])}"
    if event.get("note"):
        text += f": {clean(event['note'])}"
    return text


def _via(entry: dict[str, Any]) -> str:
    """`` (Payments Primary)``, `` (direct, and Payments Secondary)`` when one person is on call at a
    level through several targets, or nothing for a direct target alone."""
    also = [str(v) for v in entry.get("also_via") or []]
    if not also:
        return f" ({entry['schedule']})" if entry.get("schedule") else ""
    return f" ({entry.get('schedule') or 'direct'}, and {join_and(also)})"


def _person(person: dict[str, Any], *, at_now: bool, schedule: bool = True) -> str:
    text = str(person.get("name"))
    if schedule:
        text += _via(person)
    if person.get("permanent"):
        return text + ", always on call"
    if at_now:
        return text + (f" until {when(person['until'])}" if person.get("until") else "")
    return text + f", {span(person.get('from'), person.get('until'))}"


def _oncall(data: Data, args: Args) -> list[str]:
    window = data.get("window") or {}
    at_now = "at" in window
    said = _window(window)
    if "person" in data:
        return _oncall_person(data, args, at_now, said)
    target = data.get("target") or {}
    name = target.get("name")
    head = f"On call for {name} {said}:" if name else f"On call {said}, by escalation policy:"
    lines = [head]
    if target.get("type") == "schedule":
        lines += bullets(_person(p, at_now=at_now, schedule=False) for p in data.get("on_call") or [])
        if data.get("nobody_on_call"):
            lines.append(BULLET + "nobody")
        lines += more(int(data.get("more") or 0))
        lines += [f"Nobody on call {span(g.get('from'), g.get('until'))}." for g in data.get("gaps") or []]
        if data.get("used_by"):
            lines.append("Pages through: " + ", ".join(data["used_by"]) + ".")
        if data.get("note"):
            lines.append(str(data["note"]))
        return lines
    policies: list[dict[str, Any]] = data.get("policies") or []
    if len(policies) == 1:
        policy = policies[0]
        if name != policy.get("policy"):
            lines[0] = f"On call for {name} ({policy.get('policy')}) {said}:"
        for level in policy.get("levels") or []:
            people = "; ".join(_person(p, at_now=at_now) for p in level.get("on_call") or []) or "nobody"
            lines.append(f"{BULLET}Level {level.get('level')}: {people}" + (
                f" (+{level['more']} more)" if level.get("more") else ""))
            lines += [f"  nobody on call {span(g.get('from'), g.get('until'))}" for g in level.get("gaps") or []]
    else:
        for policy in policies:
            levels = [f"L{level.get('level')} " + (", ".join(dict.fromkeys(
                str(p.get("name")) for p in level.get("on_call") or [])) or "nobody")
                for level in policy.get("levels") or []]
            lines.append(f"{BULLET}{policy.get('policy')}: " + "; ".join(levels))
        lines += more(int(data.get("more_policies") or 0))
    if data.get("nobody_on_call"):
        lines.append("Nobody on call for: " + ", ".join(data["nobody_on_call"]) + ".")
    return lines


def _oncall_person(data: Data, args: Args, at_now: bool, said: str) -> list[str]:
    me = args.get("target") in (None, "me")
    who = "You" if me else str(data.get("person"))
    be = "are" if me else "is"
    stints: list[dict[str, Any]] = data.get("on_call") or []

    def stint(s: dict[str, Any]) -> str:
        where = f"{s.get('policy')} level {s.get('level')}{_via(s)}"
        if s.get("permanent"):
            return f"{where}, always"
        return f"{where}, " + (f"until {when(s.get('until'))}" if at_now else span(s.get("from"), s.get("until")))

    if stints:
        lines = [f"{who} {be} on call {said}:", *bullets(stint(s) for s in stints), *more(int(data.get("more") or 0))]
    else:
        lines = [f"{who} {be} not on call {said}."]
    upcoming = data.get("next")
    if upcoming and (not at_now or not stints):
        where = f"{upcoming.get('policy')} level {upcoming.get('level')}{_via(upcoming)}"
        lines.append(f"Next: {where}, {span(upcoming.get('from'), upcoming.get('until'))}.")
    if data.get("note"):
        lines.append(str(data["note"]))
    return lines


def _services(data: Data, args: Args) -> list[str]:
    totals: dict[str, Any] = data.get("totals") or {}
    rows: list[dict[str, Any]] = data.get("services") or []
    count = len(rows) + int(data.get("more") or 0)
    team = f" in {data['team']}" if data.get("team") else ""
    opened = totals.get("open", int(totals.get("triggered", 0)) + int(totals.get("acknowledged", 0)))
    if args.get("all"):
        head = f"{plural(count, 'service')}{team}"
    else:
        head = f"{plural(count, 'service')}{team} with open incidents"
    lines = [f"{head} ({opened} open: {totals.get('triggered', 0)} triggered, "
             f"{totals.get('acknowledged', 0)} acknowledged):"]
    if not rows:
        lines = [f"No service{team} has open incidents."]
    for row in rows:
        counts = f"{row.get('triggered', 0)} triggered, {row.get('acknowledged', 0)} acknowledged"
        lines.append(f"{BULLET}{row.get('name')}: {row.get('status')}, {counts} ({row.get('high', 0)} high urgency)")
    lines += more(int(data.get("more") or 0))
    for status, word in (("maintenance", "In maintenance"), ("disabled", "Disabled")):
        if data.get(status):
            lines.append(f"{word}: {', '.join(data[status])}.")
    if data.get("counts_note"):
        lines.append(f"Counts: {data['counts_note']}.")
    return lines


def _policy(data: Data, args: Args) -> list[str]:
    head = f"Escalation policy {data.get('policy')}"
    if data.get("teams"):
        head += f" (team {', '.join(data['teams'])})"
    if data.get("service"):  # asked by the service's name
        head += f", the policy of the service {data['service']}"
    lines = [head + ":"]
    for level in data.get("levels") or []:
        people = "; ".join(_person(p, at_now=True, schedule=False) for p in level.get("on_call_now") or [])
        lines.append(f"{BULLET}Level {level.get('level')}: {', '.join(level.get('targets') or []) or 'nobody'}; "
                     f"on call now: {people or 'nobody'}; escalates after {level.get('escalates_after_min')} min")
    loops = int(data.get("repeats_after_last_level") or 0)
    if loops:
        lines.append(f"After the last level it starts again ({plural(loops, 'time')}).")
    if data.get("nobody_on_call_at_levels"):
        lines.append("Nobody is on call now at level " + join_and([str(n) for n in data["nobody_on_call_at_levels"]])
                     + ".")
    services: list[str] = data.get("services") or []
    if services:
        lines.append("Services: " + ", ".join(services) + (f" and {data['more_services']} more"
                                                           if data.get("more_services") else "") + ".")
    if data.get("url"):
        lines.append(str(data["url"]))
    return lines


def _gap_line(gap: dict[str, Any]) -> str:
    return f"nobody on call {span(gap.get('from'), gap.get('to'))} ({gap.get('hours'):g} h)"


def _schedule(data: Data, args: Args) -> list[str]:
    if "with_gaps" in data:
        return _overview(data)
    said = _window(data.get("window"))
    gaps: list[dict[str, Any]] = data.get("gaps") or []
    count = int(data.get("gap_count") or 0)
    lines = [f"{data.get('schedule')}, {said}: {_pct(data.get('coverage_pct'))} covered, "
             + (plural(count, "gap") if count else "no gaps") + "."]
    if data.get("kind"):
        lines.append(f"({data['kind']})")
    if data.get("on_call_now"):
        lines.append("On call now: " + ", ".join(data["on_call_now"]) + ".")
    shifts: list[dict[str, Any]] = data.get("shifts") or []
    if shifts:
        lines += ["Shifts:", *bullets(f"{s.get('who')}: {span(s.get('from'), s.get('to'))}" for s in shifts)]
        lines += more(int(data.get("shifts_total") or 0) - len(shifts))
    if gaps:
        lines += ["Gaps:", *bullets(_gap_line(g) for g in gaps), *more(count - len(gaps))]
    return lines


def _overview(data: Data) -> list[str]:
    said = _window(data.get("window"))
    rows: list[dict[str, Any]] = data.get("with_gaps") or []
    with_gaps, checked = int(data.get("schedules_with_gaps") or 0), int(data.get("schedules_checked") or 0)
    if not with_gaps:
        lines = [f"All {plural(checked, 'schedule')} are fully covered {said}."]
    else:
        lines = [f"{with_gaps} of {plural(checked, 'schedule')} have coverage gaps {said}:"]
    for row in rows:
        gaps = "; ".join(_gap_line(g) for g in row.get("gaps") or [])
        extra = int(row.get("gap_count") or 0) - len(row.get("gaps") or [])
        lines.append(f"{BULLET}{row.get('schedule')} ({_pct(row.get('coverage_pct'))} covered): {gaps}"
                     + (f"; and {extra} more" if extra > 0 else ""))
    lines += more(with_gaps - len(rows))
    covered: list[str] = data.get("fully_covered") or []
    if covered and with_gaps:
        lines.append("Fully covered: " + ", ".join(covered)
                     + (f" and {int(data['fully_covered_total']) - len(covered)} more"
                        if int(data.get("fully_covered_total") or 0) > len(covered) else "") + ".")
    if data.get("note"):
        lines.append(str(data["note"]))
    return lines


def _gaps(data: Data, args: Args) -> list[str]:
    if "with_gaps" in data:
        return _overview(data)
    said = _window(data.get("window"))
    lines: list[str] = []
    for row in data.get("schedules") or []:
        gaps: list[dict[str, Any]] = row.get("gaps") or []
        count = int(row.get("gap_count") or 0)
        if not count:
            lines.append(f"{row.get('schedule')} has no coverage gaps {said}: fully covered.")
            continue
        lines.append(f"{row.get('schedule')} has {plural(count, 'coverage gap')} {said}, "
                     f"{_pct(row.get('coverage_pct'))} covered:")
        lines += [*bullets(_gap_line(g) for g in gaps), *more(count - len(gaps))]
    lines += [str(problem) for problem in data.get("not_found") or []]
    return lines


def _overrides(data: Data, args: Args) -> list[str]:
    said = _window(data.get("window"))
    rows: list[dict[str, Any]] = data.get("overrides") or []
    total = int(data.get("total") or len(rows))
    if not total:
        return [f"No overrides on {data.get('schedule')} {said}."]
    lines = [f"{plural(total, 'override')} on {data.get('schedule')} {said}:"]
    for row in rows:
        state = " (in progress)" if row.get("in_progress") else " (ended)" if row.get("ended") else ""
        instead = f", instead of {row['replaces']}" if row.get("replaces") else ""
        lines.append(f"{BULLET}{row.get('who')}: {span(row.get('from'), row.get('to'))}{state}{instead} "
                     f"[id {row.get('override_id')}]")
    lines += more(total - len(rows))
    if data.get("kind"):
        lines.append(f"({data['kind']})")
    return lines


_READS: dict[str, Callable[[Data, Args], list[str]]] = {
    "list_incidents": _incidents,
    "get_incident": _incident,
    "who_is_on_call": _oncall,
    "service_health": _services,
    "get_escalation_policy": _policy,
    "get_schedule": _schedule,
    "find_coverage_gaps": _gaps,
    "list_overrides": _overrides,
}


# --------------------------------------------------------------------------- writes


def write_reply(command: str, proposal: Proposal, outcome: Outcome, time_zone: str | None = None) -> str:
    """What an executed write did: "Acknowledged #1004 and #1007. #1010 was already acknowledged."."""
    if not outcome.ok:
        text = "\n".join([outcome.summary, *bullets(outcome.lines)])
    elif command in ("ack", "resolve"):
        text = _status_reply(command, proposal, outcome)
    elif command == "note":
        text = f"Added your note to {proposal.summary.removeprefix('Add a note to ')}."
    else:
        text = "\n".join([f"Done: {proposal.summary[:1].lower()}{proposal.summary[1:]}.",
                          *bullets(proposal.lines[1:]), *bullets(outcome.lines)])
    if time_zone and _ISO.search(text):
        text = pretty_times(text) + f"\nTimes are in {time_zone}."
    return text


def _status_reply(command: str, proposal: Proposal, outcome: Outcome) -> str:
    done_word = "Acknowledged" if command == "ack" else "Resolved"
    changed = [entry for entry in outcome.entries if entry.status == "done" and entry.incident_number is not None
               and entry.state in ("acknowledged", "resolved")]
    sentences: list[str] = []
    if changed:
        sentences.append(f"{done_word} {join_and([entry.target for entry in changed])}.")
    sentences += [_noop_sentence(entry) for entry in outcome.entries if entry not in changed]
    if any(entry.reason == "first_went_through" for entry in outcome.entries):
        sentences.append(FIRST_WENT_THROUGH)
    text = " ".join(sentences) or outcome.summary
    details = bullets(clean(entry.label or entry.target, 120) for entry in changed)
    note = next((line for line in proposal.lines if line.startswith("Resolution note: ")), None)
    if note and changed:
        details.append(note)
    return "\n".join([text, *details])


def _noop_sentence(entry: TargetOutcome) -> str:
    ref = entry.target if entry.incident_number is not None else None
    if ref and entry.reason == "would_reopen":
        return f"{ref} is resolved, so it was left alone (acknowledging would reopen it)."
    if ref and entry.reason == "changed_meanwhile":
        return f"{ref} was resolved in the meantime, so it was not reopened."
    if ref and entry.reason == "already" and entry.state in ("acknowledged", "resolved"):
        return f"{ref} was already {entry.state}."
    text = clean(entry.detail, 200)
    return text if text.endswith(".") else text + "."
