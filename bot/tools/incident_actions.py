"""Write tools for incidents: acknowledge, resolve, note, create, status update, snooze, reassign.

Every handler only PREPARES: it checks the asker may write, resolves names, re-reads the current
state (GETs only, concurrently) and returns a :class:`~bot.tools.base.Proposal` showing each target's
current state and flagging no-ops. Nothing changes until a person confirms; then
:func:`bot.tools.proposals.execute` runs the proposal's operations as that person.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import quote

from pydantic import ConfigDict, Field

from bot.analysis.windows import local_iso
from bot.tools.base import (
    NOTHING_TO_DO,
    NoOpReason,
    Operation,
    Proposal,
    TargetOutcome,
    Tool,
    ToolArgs,
    ToolContext,
    ToolResult,
)
from bot.tools.common import TITLE_SHOWN, incident_label, ref_name
from bot.tools.errors import ToolError
from bot.tools.proposals import WRITE_ROLES_HINT, refusal
from bot.tools.resolve import (
    Named,
    choice_note,
    clean_incident_ref,
    clean_ref,
    exact_named,
    get_incident,
    name_key,
    resolve_service,
    resolve_user,
)

MAX_INCIDENTS = 10
"""Incidents one proposal may cover. A bigger bulk change ("resolve all incidents") is refused whole, never
cut to an arbitrary subset: one card is what a person can actually check before clicking (an injected
"resolve everything" must not become a one-click mass resolve)."""
MAX_TEXT = 2_000
MAX_TITLE = 1_024
MAX_SNOOZE_MINUTES = 7 * 24 * 60
_READ_CONCURRENCY = 8


class _WriteArgs(ToolArgs):
    # Incident numbers may arrive as JSON numbers; they are references, read them as text.
    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


def ensure_can_write(ctx: ToolContext, action: str) -> None:
    """Refuse before any proposal when the asker's PagerDuty role cannot make this change."""
    refused = refusal(ctx.asker, action)
    if refused is not None:
        raise ToolError(refused, WRITE_ROLES_HINT)


# ------------------------------------------------------------------------------------------ helpers
def assignees(incident: dict[str, Any]) -> list[str]:
    return [ref_name(a.get("assignee")) for a in incident.get("assignments", [])]


def state(incident: dict[str, Any]) -> str:
    """``platform-engineering, acknowledged, assigned to Emma Clarke``."""
    status = str(incident.get("status"))
    people = assignees(incident)
    who = f", assigned to {', '.join(people)}" if people and status != "resolved" else ""
    return f"{ref_name(incident.get('service'))}, {status}{who}"


def numbers(incidents: Iterable[dict[str, Any]]) -> str:
    refs = [f"#{i.get('incident_number', i.get('id'))}" for i in incidents]
    if len(refs) <= 3:
        return " and ".join([", ".join(refs[:-1]), refs[-1]] if len(refs) > 1 else refs)
    return f"{len(refs)} incidents ({', '.join(refs[:3])}, …)"


def _text(value: str | None, what: str, limit: int = MAX_TEXT) -> str:
    text = (value or "").strip()
    if not text:
        raise ToolError(f"The {what} is empty.", f"Ask the user what the {what} should say.")
    if len(text) > limit:
        raise ToolError(f"The {what} is {len(text)} characters; the limit here is {limit}.",
                        "Shorten it.")
    return text


async def read_incidents(ctx: ToolContext, refs: list[str]) -> list[dict[str, Any]]:
    """The current state of each incident (GETs, concurrently), in the order given, duplicates dropped."""
    if not refs:
        raise ToolError("No incidents given.", "Give the incident numbers, e.g. [\"1204\"].")
    wanted = list(dict.fromkeys(clean_incident_ref(r) for r in refs))
    if len(wanted) > MAX_INCIDENTS:
        raise ToolError(f"{len(wanted)} incidents is more than the {MAX_INCIDENTS} one confirmation may cover, so "
                        "nothing was proposed (alex never picks a subset).",
                        f"Tell the user the limit is {MAX_INCIDENTS} incidents per change and ask them to name "
                        "which ones (or narrow it to a service), or to make a bulk change in PagerDuty itself.")
    gate = asyncio.Semaphore(_READ_CONCURRENCY)

    async def one(ref: str) -> dict[str, Any]:
        async with gate:
            return await get_incident(ctx, ref)

    found = await asyncio.gather(*(one(r) for r in wanted), return_exceptions=True)
    missing = [ref for ref, item in zip(wanted, found, strict=True) if isinstance(item, ToolError)]
    for item in found:
        if isinstance(item, BaseException) and not isinstance(item, ToolError):
            raise item
    if missing:
        raise ToolError(f"No incident {', '.join(missing)} is visible to this PagerDuty user.",
                        "Check the numbers (list_incidents finds them); nothing was proposed.")
    unique: dict[str, dict[str, Any]] = {}
    for item in found:
        if isinstance(item, dict):
            unique.setdefault(str(item["id"]), item)
    return list(unique.values())


def _bulk(incidents: list[dict[str, Any]], status: str, resolution: str | None = None) -> Operation:
    items: list[dict[str, Any]] = []
    for incident in incidents:
        item: dict[str, Any] = {"id": incident["id"], "type": "incident_reference", "status": status}
        if resolution is not None:
            item["resolution"] = resolution
        items.append(item)
    return Operation("PUT", "/incidents", {"incidents": items}, kind="bulk_status")


def _proposal(action: str, summary: str, targets: list[dict[str, Any]], lines: list[str],
              operations: list[Operation], noops: list[str],
              skipped: list[TargetOutcome] | None = None, *, target_label: str | None = None,
              resolution_note: str | None = None) -> ToolResult[Any]:
    if not operations:
        summary = f"{NOTHING_TO_DO}{summary[:1].lower()}{summary[1:]}"
    return ToolResult.propose(Proposal(action, summary, tuple(lines), tuple(operations), tuple(noops),
                                       tuple(str(t["id"]) for t in targets), tuple(skipped or ()),
                                       target_label=target_label, resolution_note=resolution_note))


def _left_alone(incident: dict[str, Any], detail: str, reason: NoOpReason) -> TargetOutcome:
    number = incident.get("incident_number")
    return TargetOutcome("no_op", f"#{number}" if number is not None else str(incident.get("id")), detail,
                         incident_number=number if isinstance(number, int) else None, label=incident_label(incident),
                         state=str(incident.get("status")), reason=reason)


# --------------------------------------------------------------------------------- acknowledge
class AcknowledgeIncidents(_WriteArgs):
    """Propose acknowledging incidents; the asker confirms before anything changes. To close them use
    resolve_incidents."""

    incidents: list[str] = Field(description="Incident numbers or IDs (max 10)")


async def acknowledge_incidents(args: AcknowledgeIncidents, ctx: ToolContext) -> ToolResult[Any]:
    """Prepare acknowledging triggered incidents; acknowledged and resolved ones are left alone."""
    ensure_can_write(ctx, "acknowledge_incidents")
    incidents = await read_incidents(ctx, args.incidents)
    targets: list[dict[str, Any]] = []
    lines: list[str] = []
    noops: list[str] = []
    skipped: list[TargetOutcome] = []
    for incident in incidents:
        status = incident.get("status")
        if status == "triggered":
            targets.append(incident)
            lines.append(f"{incident_label(incident)} ({state(incident)}) -> acknowledged")
        elif status == "acknowledged":
            noops.append(f"{incident_label(incident)} is already acknowledged ({state(incident)})")
            skipped.append(_left_alone(incident, noops[-1], "already"))
        else:
            noops.append(f"{incident_label(incident)} is already resolved; acknowledging would reopen it, so it is "
                         "left alone")
            skipped.append(_left_alone(incident, noops[-1], "would_reopen"))
    operations = [_bulk(targets, "acknowledged")] if targets else []
    summary = f"Acknowledge {numbers(targets or incidents)}"
    return _proposal("acknowledge_incidents", summary, targets, lines, operations, noops, skipped)


# ------------------------------------------------------------------------------------- resolve
class ResolveIncidents(_WriteArgs):
    """Propose resolving incidents, optionally with a resolution note; the asker confirms first."""

    incidents: list[str] = Field(description="Incident numbers or IDs (max 10)")
    resolution_note: str | None = Field(description="Why/how it was fixed; null for none")


async def resolve_incidents(args: ResolveIncidents, ctx: ToolContext) -> ToolResult[Any]:
    """Prepare resolving open incidents; resolved ones are no-ops."""
    ensure_can_write(ctx, "resolve_incidents")
    blank = args.resolution_note is None or not args.resolution_note.strip()
    note = None if blank else _text(args.resolution_note, "resolution note")
    incidents = await read_incidents(ctx, args.incidents)
    targets: list[dict[str, Any]] = []
    lines: list[str] = []
    noops: list[str] = []
    skipped: list[TargetOutcome] = []
    for incident in incidents:
        if incident.get("status") == "resolved":
            noops.append(f"{incident_label(incident)} is already resolved")
            skipped.append(_left_alone(incident, noops[-1], "already"))
        else:
            targets.append(incident)
            lines.append(f"{incident_label(incident)} ({state(incident)}) -> resolved")
    if note is not None and targets:
        lines.append(f"Resolution note: {note}")
    operations = [_bulk(targets, "resolved", note)] if targets else []
    summary = f"Resolve {numbers(targets or incidents)}"
    return _proposal("resolve_incidents", summary, targets, lines, operations, noops, skipped,
                     resolution_note=note if targets else None)


# ---------------------------------------------------------------------------------------- note
class AddIncidentNote(_WriteArgs):
    """Propose adding a note to an incident's timeline; the asker confirms first."""

    incident: str = Field(description="Incident number or ID")
    note: str = Field(description="Note text (max 2000 chars)")


async def add_incident_note(args: AddIncidentNote, ctx: ToolContext) -> ToolResult[Any]:
    """Prepare a note, written as the asker."""
    ensure_can_write(ctx, "add_incident_note")
    note = _text(args.note, "note")
    incident = await get_incident(ctx, args.incident)
    lines = [f"{incident_label(incident)} ({state(incident)})", f"Note: {note}"]
    operation = Operation("POST", f"/incidents/{incident['id']}/notes", {"note": {"content": note}}, kind="note")
    return _proposal("add_incident_note", f"Add a note to {incident_label(incident)}", [incident], lines,
                     [operation], [], target_label=incident_label(incident))


# -------------------------------------------------------------------------------------- create
class CreateIncident(_WriteArgs):
    """Propose a new incident (pages the service's on-call); asker confirms."""

    service: str = Field(description="Service; or a team/policy (code picks its service)")
    title: str = Field(description="Title")
    urgency: Literal["high", "low"] | None = Field(description="null: service default")
    details: str | None = Field(description="Description")
    incident_key: str | None = Field(description="Dedup key")


async def create_incident(args: CreateIncident, ctx: ToolContext) -> ToolResult[Any]:
    """Prepare a manual incident; flags an open incident with the same incident_key (PagerDuty would refuse)."""
    ensure_can_write(ctx, "create_incident")
    title = _text(args.title, "title", MAX_TITLE)
    details = _text(args.details, "details") if args.details is not None else None
    key = clean_ref(args.incident_key, "incident key") if args.incident_key is not None else None
    service, chosen_because = await _incident_service(ctx, args.service)
    name = service.get("name") or service.get("summary")
    if service.get("status") == "disabled":
        raise ToolError(f"The service {name} is disabled, so it cannot get new incidents.",
                        "Ask the user for another service.")
    if key is not None:
        duplicate = await _open_with_key(ctx, service["id"], key)
        if duplicate is not None:
            noop = (f"PagerDuty would refuse: open incident {incident_label(duplicate)} ({state(duplicate)}) "
                    f"already has the incident key {key!r} on {name}. Add a note to it instead, or use another key.")
            return _proposal("create_incident", f"Create an incident on {name}", [], [], [], [noop])
    incident: dict[str, Any] = {"type": "incident", "title": title,
                                "service": {"id": service["id"], "type": "service_reference"}}
    urgency = args.urgency or "the service's default"
    if args.urgency is not None:
        incident["urgency"] = args.urgency
    if details is not None:
        incident["body"] = {"type": "incident_body", "details": details}
    if key is not None:
        incident["incident_key"] = key
    policy = ref_name(service.get("escalation_policy"))
    lines = [f"New incident on {name}: {title}", *chosen_because, f"Urgency: {urgency}"]
    if details is not None:
        lines.append(f"Details: {details}")
    if key is not None:
        lines.append(f"Incident key: {key} (no open incident has it)")
    lines.append(f"It pages through the {policy} escalation policy." if policy else
                 "It pages through the service's escalation policy.")
    if service.get("status") == "maintenance":
        lines.append(f"{name} is in maintenance: nobody will be notified until the maintenance ends.")
    operation = Operation("POST", "/incidents", {"incident": incident}, kind="create_incident")
    return _proposal("create_incident", f"Create an incident on {name}: {title[:TITLE_SHOWN]}", [], lines,
                     [operation], [])


async def _incident_service(ctx: ToolContext, wanted: str) -> tuple[dict[str, Any], list[str]]:
    """The service to create the incident on (PagerDuty creates incidents on a service), and why it is
    that one when the name is also, or only, a team's or an escalation policy's: a service of that name
    first, then a policy's or a team's service, then the one service whose name contains it."""
    name = clean_ref(wanted, "service")
    for kind in ("service", "escalation_policy", "team"):
        found = await exact_named(ctx, kind, name)
        if found is not None and kind == "service":
            note = choice_note(found, name)
            return found.obj, [f"“{name}” is the {note}."] if note else []
        if found is not None:
            return await _service_of(ctx, found)
    return await resolve_service(ctx, name), []  # one partial match, or the closest names


async def _service_of(ctx: ToolContext, owner: Named) -> tuple[dict[str, Any], list[str]]:
    """The policy's (or team's) service whose name is most like the owner's (then the first by name)."""
    what = f"{owner.kind.replace('_', ' ')} {owner.name}"
    if owner.kind == "team":
        page = await ctx.client.fetch("/services", "services", {"team_ids[]": [owner.obj["id"]]}, max_items=100,
                                      deadline=ctx.deadline)
        services = [s for s in page.items if s.get("status") != "disabled"] or list(page.items)
    else:
        services = [s for s in owner.obj.get("services") or [] if isinstance(s, dict) and s.get("id")]
    if not services:
        raise ToolError(f"No service uses the {what}, and PagerDuty creates incidents on a service.",
                        "Ask the user which service the incident is for.")
    key = name_key(owner.name)

    def likeness(service: dict[str, Any]) -> tuple[bool, bool, str]:
        name = name_key(service.get("name") or service.get("summary"))
        return name != key, key not in name and name not in key, name

    best = min(services, key=likeness)
    if "status" not in best:  # a reference: read the service itself
        body = await ctx.client.get(f"/services/{quote(str(best['id']), safe='')}", deadline=ctx.deadline)
        best = body["service"]
    chosen = str(best.get("name") or best.get("summary"))
    others = sorted(str(s.get("name") or s.get("summary")) for s in services if s.get("id") != best.get("id"))
    why = f"“{owner.name}” is the {what}: alex picked its service {chosen}"
    why += f" (also: {', '.join(others[:5])}{', …' if len(others) > 5 else ''})." if others else "."
    return best, [why]


async def _open_with_key(ctx: ToolContext, service_id: str, key: str) -> dict[str, Any] | None:
    body = await ctx.client.get("/incidents", {
        "incident_key": key, "service_ids[]": [service_id], "statuses[]": ["triggered", "acknowledged"],
        "date_range": "all", "limit": 1}, deadline=ctx.deadline)
    found = body.get("incidents") or []
    first: dict[str, Any] | None = found[0] if found and isinstance(found[0], dict) else None
    return first


# ------------------------------------------------------------------------------- status update
class PostStatusUpdate(_WriteArgs):
    """Propose a status update to an incident's stakeholders and subscribers; the asker confirms first."""

    incident: str = Field(description="Incident number or ID")
    message: str = Field(description="Update text (max 2000 chars)")


async def post_status_update(args: PostStatusUpdate, ctx: ToolContext) -> ToolResult[Any]:
    """Prepare a status update sent as the asker."""
    ensure_can_write(ctx, "post_status_update")
    message = _text(args.message, "message")
    incident = await get_incident(ctx, args.incident)
    lines = [f"{incident_label(incident)} ({state(incident)})", f"Status update to its subscribers: {message}"]
    operation = Operation("POST", f"/incidents/{incident['id']}/status_updates", {"message": message},
                          kind="status_update")
    return _proposal("post_status_update", f"Post a status update on {incident_label(incident)}", [incident], lines,
                     [operation], [], target_label=incident_label(incident))


# -------------------------------------------------------------------------------------- snooze
class SnoozeIncident(_WriteArgs):
    """Propose snoozing an acknowledged incident: it re-triggers after that time. The asker confirms."""

    incident: str = Field(description="Incident number or ID")
    minutes: int = Field(description="1-10080")


async def snooze_incident(args: SnoozeIncident, ctx: ToolContext) -> ToolResult[Any]:
    """Prepare a snooze; only acknowledged incidents can be snoozed."""
    ensure_can_write(ctx, "snooze_incident")
    if not 1 <= args.minutes <= MAX_SNOOZE_MINUTES:
        raise ToolError(f"minutes must be 1 to {MAX_SNOOZE_MINUTES} (7 days); got {args.minutes}.")
    incident = await get_incident(ctx, args.incident)
    status = incident.get("status")
    if status == "triggered":
        raise ToolError(f"{incident_label(incident)} is triggered: only acknowledged incidents can be snoozed.",
                        "Acknowledge it first (acknowledge_incidents), then snooze it.")
    if status == "resolved":
        raise ToolError(f"{incident_label(incident)} is already resolved: there is nothing to snooze.")
    until = local_iso(ctx.now + timedelta(minutes=args.minutes), ctx.tz)
    lines = [f"{incident_label(incident)} ({state(incident)})",
             f"Snooze for {_duration(args.minutes)}, until {until}; then it triggers again and pages."]
    operation = Operation("POST", f"/incidents/{incident['id']}/snooze", {"duration": args.minutes * 60}, kind="snooze")
    return _proposal("snooze_incident", f"Snooze {incident_label(incident)} for {_duration(args.minutes)}", [incident],
                     lines, [operation], [], target_label=incident_label(incident))


def _duration(minutes: int) -> str:
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{mins} min" if mins else ""]
    return " ".join(p for p in parts if p)


# ------------------------------------------------------------------------------------ reassign
class ReassignIncident(_WriteArgs):
    """Propose reassigning an incident to a person, or escalating it to a level of its policy (give exactly
    one). The asker confirms first."""

    incident: str = Field(description="Incident number or ID")
    to_user: str | None = Field(description="Name, email or 'me'; null if escalation_level")
    escalation_level: int | None = Field(description="Policy level; null if to_user")


async def reassign_incident(args: ReassignIncident, ctx: ToolContext) -> ToolResult[Any]:
    """Prepare a reassignment (to a user) or an escalation (to a level of the incident's policy)."""
    ensure_can_write(ctx, "reassign_incident")
    if (args.to_user is None) == (args.escalation_level is None):
        raise ToolError("Give exactly one of to_user and escalation_level.",
                        "to_user names a person; escalation_level is a level of the incident's policy.")
    incident = await get_incident(ctx, args.incident)
    if incident.get("status") == "resolved":
        raise ToolError(f"{incident_label(incident)} is resolved: it cannot be reassigned or escalated.")
    current = f"{incident_label(incident)} ({state(incident)})"
    handover = (" It goes back to triggered and pages them." if incident.get("status") == "acknowledged"
                else " They are paged.")
    body: dict[str, Any] = {"type": "incident_reference"}
    if args.to_user is not None:
        user = await resolve_user(ctx, args.to_user)
        who = str(user.get("name") or user.get("summary") or user["id"])
        if [a.get("assignee", {}).get("id") for a in incident.get("assignments", [])] == [user["id"]]:
            return _proposal("reassign_incident", f"Reassign {incident_label(incident)} to {who}", [], [], [],
                             [f"{current}: already assigned to {who} alone"], target_label=incident_label(incident))
        body["assignments"] = [{"assignee": {"id": user["id"], "type": "user_reference"}}]
        lines = [current, f"Reassign to {who}.{handover}"]
        summary = f"Reassign {incident_label(incident)} to {who}"
    else:
        level = args.escalation_level or 0
        targets = await _level_targets(ctx, incident, level)
        body["escalation_level"] = level
        lines = [current, f"Escalate to level {level}: {targets}.{handover}"]
        summary = f"Escalate {incident_label(incident)} to level {level}"
    operation = Operation("PUT", f"/incidents/{incident['id']}", {"incident": body}, kind="reassign")
    return _proposal("reassign_incident", summary, [incident], lines, [operation], [],
                     target_label=incident_label(incident))


async def _level_targets(ctx: ToolContext, incident: dict[str, Any], level: int) -> str:
    policy_id = (incident.get("escalation_policy") or {}).get("id")
    if not policy_id:
        raise ToolError(f"{incident_label(incident)} has no escalation policy to escalate through.",
                        "Use to_user instead.")
    body = await ctx.client.get(f"/escalation_policies/{policy_id}", deadline=ctx.deadline)
    policy = body.get("escalation_policy", {})
    rules = policy.get("escalation_rules", [])
    if not 1 <= level <= len(rules):
        raise ToolError(f"The {policy.get('name')} escalation policy has levels 1 to {len(rules)}; got {level}.")
    names = [ref_name(t) for t in rules[level - 1].get("targets", [])]
    return f"{', '.join(names) or 'nobody'} ({policy.get('name')})"


TOOLS: list[Tool[Any]] = [
    Tool("acknowledge_incidents", AcknowledgeIncidents, acknowledge_incidents, "write"),
    Tool("resolve_incidents", ResolveIncidents, resolve_incidents, "write"),
    Tool("add_incident_note", AddIncidentNote, add_incident_note, "write"),
    Tool("create_incident", CreateIncident, create_incident, "write"),
    Tool("post_status_update", PostStatusUpdate, post_status_update, "write"),
    Tool("snooze_incident", SnoozeIncident, snooze_incident, "write"),
    Tool("reassign_incident", ReassignIncident, reassign_incident, "write"),
]
