"""Write tools for incidents: acknowledge, resolve, note, create, status update, snooze, reassign, add
responders, priority and urgency.

Every handler only PREPARES: it checks the asker may write, resolves names, re-reads the current
state (GETs only, concurrently) and returns a :class:`~bot.tools.base.Proposal` showing each target's
current state and flagging no-ops. Nothing changes until a person confirms; then
:func:`bot.tools.proposals.execute` runs the proposal's operations as that person.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal
from urllib.parse import quote

from pydantic import ConfigDict, Field

from bot.analysis.windows import local_iso
from bot.pagerduty import ForbiddenError, NotFoundError
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
    looks_like_id,
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
MAX_RESPONDERS = 10
"""People and escalation policies one responder request may name."""
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
    """Propose acknowledging incidents."""

    incidents: list[str] = Field(description="Numbers or IDs (max 10)")


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
    """Propose resolving incidents."""

    incidents: list[str] = Field(description="Numbers or IDs")
    resolution_note: str | None = Field(description="Or null")


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
    """Propose an incident note."""

    incident: str = Field(description="Number or ID")
    note: str = Field(description="Max 2000 chars")


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
    """Propose a new incident (pages the service's on-call)."""

    service: str = Field(description="Service, team or policy")
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
    """Propose a status update to subscribers."""

    incident: str = Field(description="Number or ID")
    message: str = Field(description="Max 2000 chars")


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
    """Propose snoozing an acknowledged incident."""

    incident: str = Field(description="Number or ID")
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
    """Propose reassigning an incident to a person or escalating it to a policy level (one of them)."""

    incident: str = Field(description="Number or ID")
    to_user: str | None = Field(description="Name, email, 'me' or null")
    escalation_level: int | None = Field(description="Level or null")


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


# ------------------------------------------------------------------------------ add responders
class AddResponders(_WriteArgs):
    """Propose asking people or policies to respond to an incident."""

    incident: str = Field(description="Number or ID")
    responders: list[str] = Field(description="Names, emails or policies")
    message: str | None = Field(description="Or null")


async def add_responders(args: AddResponders, ctx: ToolContext) -> ToolResult[Any]:
    """Prepare a responder request sent as the asker; people already responding are left alone."""
    ensure_can_write(ctx, "add_responders")
    wanted = list(dict.fromkeys(r.strip() for r in args.responders if r.strip()))
    if not wanted:
        raise ToolError("No responders given.", "Ask the user whom to add (people or escalation policies).")
    if len(wanted) > MAX_RESPONDERS:
        raise ToolError(f"{len(wanted)} responders is more than the {MAX_RESPONDERS} one request may name.",
                        "Ask the user to pick fewer, or to add an escalation policy instead.")
    message = None if args.message is None or not args.message.strip() else _text(args.message, "message")
    incident = await get_incident(ctx, args.incident)
    label = incident_label(incident)
    if incident.get("status") == "resolved":
        raise ToolError(f"{label} is resolved: there is nothing to respond to.")
    responding = _responding(incident)
    targets: list[dict[str, str]] = []
    names: list[str] = []
    noops: list[str] = []
    for ref in wanted:
        kind, found = await _responder(ctx, ref)
        name = str(found.get("name") or found.get("summary") or found["id"])
        if kind == "user" and str(found["id"]) in responding:
            noops.append(f"{name} is already {responding[str(found['id'])]} on {label}")
        elif all(t["id"] != found["id"] for t in targets):
            targets.append({"id": str(found["id"]), "type": f"{kind}_reference"})
            names.append(name if kind == "user" else f"{name} (escalation policy)")
    current = f"{label} ({state(incident)})"
    summary = f"Add responders to {label}: {', '.join(names) if names else ', '.join(wanted)}"
    if not targets:
        return _proposal("add_responders", summary, [], [], [], noops, target_label=label)
    text = message or f"Please help with {label}"
    body = {"requester_id": ctx.asker.user_id, "message": text,
            "responder_request_targets": [{"responder_request_target": t} for t in targets]}
    lines = [current, f"Ask to respond: {', '.join(names)} (paged with their high-urgency rules)",
             f"Message: {text}"]
    operation = Operation("POST", f"/incidents/{incident['id']}/responder_requests", body, kind="add_responders")
    return _proposal("add_responders", summary, [incident], lines, [operation], noops, target_label=label)


def _responding(incident: dict[str, Any]) -> dict[str, str]:
    """User id -> how they already work on the incident (assigned, or a pending/joined responder)."""
    found = {str(a["assignee"]["id"]): "assigned" for a in incident.get("assignments") or []
             if isinstance(a, dict) and isinstance(a.get("assignee"), dict) and a["assignee"].get("id")}
    for item in incident.get("incidents_responders") or []:
        user = item.get("user") if isinstance(item, dict) else None
        if isinstance(user, dict) and user.get("id") and item.get("state") in ("pending", "joined"):
            found.setdefault(str(user["id"]), "a responder" if item["state"] == "joined" else "requested")
    return found


async def _responder(ctx: ToolContext, ref: str) -> tuple[Literal["user", "escalation_policy"], dict[str, Any]]:
    """A person (by "me", e-mail, name or ID) or, when no person has that name, an escalation policy."""
    wanted = clean_ref(ref, "responder")
    if looks_like_id(wanted):
        for kind, path in (("user", "/users"), ("escalation_policy", "/escalation_policies")):
            try:
                body = await ctx.client.get(f"{path}/{quote(wanted, safe='')}", deadline=ctx.deadline)
            except NotFoundError:
                continue
            found = body.get(kind)
            if isinstance(found, dict) and found.get("id"):
                return ("user" if kind == "user" else "escalation_policy"), found
        raise ToolError(f"No person or escalation policy has the ID {wanted}.", "Use their name instead.")
    try:
        user = await resolve_user(ctx, wanted)
    except ToolError as no_user:
        if "@" in wanted:
            raise
        policy = await exact_named(ctx, "escalation_policy", wanted)
        if policy is None:
            raise ToolError(f"{no_user.message} No escalation policy has that name either.", no_user.hint) from None
        return "escalation_policy", policy.obj
    if "@" not in wanted and name_key(user.get("name")) != name_key(wanted) and wanted.lower() not in ("me", "i"):
        policy = await exact_named(ctx, "escalation_policy", wanted)  # an exact policy name beats a partial person
        if policy is not None:
            return "escalation_policy", policy.obj
    return "user", user


# -------------------------------------------------------------------------- priority, urgency
class SetIncidentPriority(_WriteArgs):
    """Propose a new priority and/or urgency."""

    incident: str = Field(description="Number or ID")
    priority: str | None = Field(description="Name (P1) or null")
    urgency: Literal["high", "low"] | None = Field(description="Or null")


async def set_incident_priority(args: SetIncidentPriority, ctx: ToolContext) -> ToolResult[Any]:
    """Prepare one update of the priority and/or urgency; values it already has are no-ops."""
    ensure_can_write(ctx, "set_incident_priority")
    if args.priority is None and args.urgency is None:
        raise ToolError("Give a priority, an urgency or both.", "Ask the user what to change.")
    incident = await get_incident(ctx, args.incident)
    label = incident_label(incident)
    change: dict[str, Any] = {"type": "incident_reference"}
    lines = [f"{label} ({state(incident)})"]
    noops: list[str] = []
    done: list[str] = []
    if args.priority is not None:
        priority = await _priority(ctx, args.priority)
        now = incident.get("priority") if isinstance(incident.get("priority"), dict) else {}
        name = str(priority.get("name") or priority.get("summary"))
        if now and now.get("id") == priority["id"]:
            noops.append(f"{label} is already {name}")
        else:
            change["priority"] = {"id": priority["id"], "type": "priority_reference"}
            lines.append(f"Priority: {ref_name(now) or 'none'} -> {name}")
            done.append(name)
    if args.urgency is not None:
        if incident.get("urgency") == args.urgency:
            noops.append(f"{label} is already {args.urgency} urgency")
        else:
            lines.append(f"Urgency: {incident.get('urgency')} -> {args.urgency}"
                         + (" (pages with high-urgency rules)" if args.urgency == "high" else ""))
            change["urgency"] = args.urgency
            done.append(f"{args.urgency} urgency")
    wanted = [w for w in (args.priority, f"{args.urgency} urgency" if args.urgency else None) if w]
    summary = f"Set {label} to {' and '.join(done or wanted)}"
    if not done:
        return _proposal("set_incident_priority", summary, [], [], [], noops, target_label=label)
    operation = Operation("PUT", f"/incidents/{incident['id']}", {"incident": change}, kind="set_priority")
    return _proposal("set_incident_priority", summary, [incident], lines, [operation], noops, target_label=label)


async def _priority(ctx: ToolContext, wanted: str) -> dict[str, Any]:
    """The account's priority named (or with the ID) ``wanted``; PagerDuty lists them most severe first."""
    name = clean_ref(wanted, "priority")
    page = await ctx.client.fetch("/priorities", "priorities", max_items=100, deadline=ctx.deadline)
    priorities = [p for p in page.items if isinstance(p, dict) and p.get("id")]
    if not priorities:
        raise ToolError("This PagerDuty account has no incident priorities.", "Change the urgency instead.")
    for priority in priorities:
        if priority["id"] == name or name_key(priority.get("name") or priority.get("summary")) == name_key(name):
            return priority
    names = ", ".join(str(p.get("name") or p.get("summary")) for p in priorities[:10])
    raise ToolError(f"No priority named {name!r}; this account has {names}.", "Use one of those names.")


# ------------------------------------------------------------------------- card action choices
@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class CardChoices:
    """What an incident card's form offers, read as the person who opened it (their role and teams)."""

    incident_id: str
    label: str
    """``#1204 High CPU on db-primary-1``."""
    state: str
    """``platform-engineering, acknowledged, assigned to Emma Clarke``."""
    urgency: str
    priority: Choice | None
    options: tuple[Choice, ...] = ()
    """The escalation levels (reassign), escalation policies (responders) or priorities (priority)."""


CardAction = Literal["reassign", "responders", "note", "priority"]
MAX_CHOICES = 100
"""Options one form's menu offers (Slack's limit for a select)."""


async def card_choices(ctx: ToolContext, ref: str, action: CardAction) -> CardChoices:
    """The incident and what its form for ``action`` can offer (GETs only); a resolved incident cannot be
    reassigned or get responders (ToolError)."""
    incident = await get_incident(ctx, ref)
    label = incident_label(incident)
    if action in ("reassign", "responders") and incident.get("status") == "resolved":
        raise ToolError(f"{label} is resolved: it cannot be reassigned, escalated or get responders.")
    options: list[Choice] = []
    if action == "reassign" and (incident.get("escalation_policy") or {}).get("id"):
        body = await ctx.client.get(f"/escalation_policies/{quote(str(incident['escalation_policy']['id']), safe='')}",
                                    deadline=ctx.deadline)
        rules = (body.get("escalation_policy") or {}).get("escalation_rules") or []
        options = [Choice(str(n), f"Level {n}: {', '.join(ref_name(t) for t in rule.get('targets', [])) or 'nobody'}")
                   for n, rule in enumerate(rules[:MAX_CHOICES], start=1)]
    elif action == "responders":
        page = await ctx.client.fetch("/escalation_policies", "escalation_policies", {"sort_by": "name"},
                                      max_items=MAX_CHOICES, deadline=ctx.deadline)
        options = [Choice(str(p["id"]), str(p.get("name") or p["id"])) for p in page.items if p.get("id")]
    elif action == "priority":
        try:
            page = await ctx.client.fetch("/priorities", "priorities", max_items=MAX_CHOICES, deadline=ctx.deadline)
        except ForbiddenError:  # priorities off for the account, or not readable here: the urgency still is
            page = None
        options = [Choice(str(p["id"]), str(p.get("name") or p.get("summary") or p["id"]))
                   for p in (page.items if page is not None else []) if p.get("id")]
    priority = incident.get("priority") if isinstance(incident.get("priority"), dict) else None
    return CardChoices(str(incident["id"]), label, state(incident), str(incident.get("urgency") or "high"),
                       Choice(str(priority["id"]), ref_name(priority)) if priority and priority.get("id") else None,
                       tuple(options))


TOOLS: list[Tool[Any]] = [
    Tool("acknowledge_incidents", AcknowledgeIncidents, acknowledge_incidents, "write"),
    Tool("resolve_incidents", ResolveIncidents, resolve_incidents, "write"),
    Tool("add_incident_note", AddIncidentNote, add_incident_note, "write"),
    Tool("create_incident", CreateIncident, create_incident, "write"),
    Tool("post_status_update", PostStatusUpdate, post_status_update, "write"),
    Tool("snooze_incident", SnoozeIncident, snooze_incident, "write"),
    Tool("reassign_incident", ReassignIncident, reassign_incident, "write"),
    Tool("add_responders", AddResponders, add_responders, "write"),
    Tool("set_incident_priority", SetIncidentPriority, set_incident_priority, "write"),
]
