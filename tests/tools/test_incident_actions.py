"""Incident write tools: prepare reads only and shows current state; execute writes exactly that, as the asker."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.pagerduty import PagerDutyClient
from bot.sandbox import Sandbox
from bot.sandbox.model import Incident
from bot.tools.base import Proposal, ToolResult
from bot.tools.errors import ToolError
from bot.tools.incident_actions import TOOLS, card_choices
from bot.tools.proposals import execute
from bot.tools.runner import run_tool
from bot.tools.schema import openai_tool
from tests.helpers import sandbox_transport
from tests.tools.conftest import OBSERVER_EMAIL, ContextFactory

TOOL = {tool.name: tool for tool in TOOLS}
AISHA = "aisha.khan@acme-payments.example"
# Demo incidents at DEFAULT_NOW: 1200 triggered (payments-api), 1204 acknowledged (platform-engineering),
# 1001 resolved, 1252 the open flapping auth-service check.
TRIGGERED, ACKNOWLEDGED, RESOLVED = "1200", "1204", "1001"


def incident(sandbox: Sandbox, number: str) -> Incident:
    return next(i for i in sandbox.world.incidents.values() if i.number == int(number))


def writes(sandbox: Sandbox, since: int = 0) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in list(sandbox.requests)[since:] if r.method != "GET"]


def proposal_of(result: ToolResult[Any]) -> Proposal:
    assert result.status == "proposal", result.to_model()
    assert result.proposal is not None
    return result.proposal


async def prepare(sandbox: Sandbox, make_ctx: ContextFactory, name: str, args: dict[str, Any],
                  email: str | None = None) -> ToolResult[Any]:
    return await run_tool(TOOL[name], args, make_ctx(sandbox, email))


EXAMPLES: dict[str, dict[str, Any]] = {
    "acknowledge_incidents": {"incidents": [TRIGGERED, ACKNOWLEDGED]},
    "resolve_incidents": {"incidents": [TRIGGERED], "resolution_note": "rolled back"},
    "add_incident_note": {"incident": ACKNOWLEDGED, "note": "looking"},
    "create_incident": {"service": "payments-api", "title": "Checkout errors", "urgency": "high"},
    "post_status_update": {"incident": ACKNOWLEDGED, "message": "Mitigated"},
    "snooze_incident": {"incident": ACKNOWLEDGED, "minutes": 30},
    "reassign_incident": {"incident": TRIGGERED, "to_user": "Aisha Khan"},
    "add_responders": {"incident": ACKNOWLEDGED, "responders": ["Aisha Khan"], "message": None},
    "set_incident_priority": {"incident": ACKNOWLEDGED, "priority": "P1", "urgency": "low"},
}


def test_schemas_are_small_strict_write_tools() -> None:
    assert set(EXAMPLES) == set(TOOL)
    for tool in TOOLS:
        assert tool.kind == "write"
        entry = openai_tool(tool.name, tool.description, tool.args)
        size = len(json.dumps(entry, separators=(",", ":")))
        # schema.py currently drops a property literally named "title"; count it as if it were there.
        properties = entry["function"]["parameters"]["properties"]
        missing = [name for name in tool.args.model_fields if name not in properties]
        size += sum(len(f'"{name}":{{"description":"Title","type":"string"}},"{name}",') for name in missing)
        # create_incident also says it takes a team or a policy (issue #11).
        assert size <= (690 if tool.name == "create_incident" else 650), (tool.name, size)


def test_create_incident_schema_sends_the_title() -> None:
    tool = TOOL["create_incident"]
    parameters = openai_tool(tool.name, tool.description, tool.args)["function"]["parameters"]
    assert "title" in parameters["properties"] and "title" in parameters["required"]


@pytest.mark.parametrize("name", sorted(EXAMPLES))
async def test_prepare_only_reads(demo: Sandbox, make_ctx: ContextFactory, name: str) -> None:
    result = await prepare(demo, make_ctx, name, EXAMPLES[name])
    proposal = proposal_of(result)
    assert proposal.operations and result.data["needs_confirmation"] is True
    assert demo.requests and {r.method for r in demo.requests} == {"GET"}


async def test_acknowledge_shows_current_state_and_flags_no_ops(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result = await prepare(demo, make_ctx, "acknowledge_incidents",
                           {"incidents": [TRIGGERED, f"#{ACKNOWLEDGED}", RESOLVED, TRIGGERED]})
    proposal = proposal_of(result)
    assert proposal.summary == "Acknowledge #1200"
    assert proposal.lines == ("#1200 Payments API canary failing in eu-west-1 (payments-api, triggered, "
                              "assigned to Mei Chen, Diego Alvarez) -> acknowledged",)
    assert proposal.noops[0].startswith("#1204 High CPU on db-primary-1 is already acknowledged")
    assert "Emma Clarke" in proposal.noops[0]
    assert proposal.noops[1].startswith("#1001 ") and "would reopen it" in proposal.noops[1]
    (operation,) = proposal.operations
    assert (operation.method, operation.path) == ("PUT", "/incidents")
    assert operation.body == {"incidents": [{"id": incident(demo, TRIGGERED).id, "type": "incident_reference",
                                             "status": "acknowledged"}]}
    assert len(demo.requests) == 3  # one GET per distinct incident


async def test_acknowledging_only_no_ops_proposes_nothing(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result = await prepare(demo, make_ctx, "acknowledge_incidents", {"incidents": [ACKNOWLEDGED]})
    proposal = proposal_of(result)
    assert proposal.operations == () and result.data["needs_confirmation"] is False
    assert result.data["summary"].startswith("Nothing to do")
    assert "already acknowledged" in result.data["no_ops"][0]


async def test_execute_acknowledges_as_the_asker(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo, AISHA)
    proposal = proposal_of(await run_tool(TOOL["acknowledge_incidents"], {"incidents": [TRIGGERED]}, ctx))
    before = len(demo.requests)
    outcome = await execute(proposal, ctx.asker, ctx.client)
    assert outcome.ok and not outcome.maybe_applied
    assert outcome.summary == "Done as Aisha Khan: acknowledge #1200."
    assert outcome.lines == ["#1200 Payments API canary failing in eu-west-1: acknowledged"]
    assert writes(demo, before) == [("PUT", "/incidents")]
    assert demo.requests[-1].from_email == AISHA
    changed = incident(demo, TRIGGERED)
    assert changed.status == "acknowledged"
    assert [a.user_id for a in changed.acknowledgements] == [ctx.asker.user_id]


async def test_execute_never_reopens_an_incident_resolved_meanwhile(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    ack = proposal_of(await run_tool(TOOL["acknowledge_incidents"], {"incidents": [TRIGGERED]}, ctx))
    resolve = proposal_of(await run_tool(TOOL["resolve_incidents"], {"incidents": [TRIGGERED],
                                                                     "resolution_note": None}, ctx))
    assert (await execute(resolve, ctx.asker, ctx.client)).ok
    before = len(demo.requests)
    outcome = await execute(ack, ctx.asker, ctx.client)
    assert outcome.ok and outcome.summary.startswith("Nothing changed")
    assert outcome.lines == ["#1200 Payments API canary failing in eu-west-1: resolved in the meantime; not reopened."]
    assert writes(demo, before) == []
    assert incident(demo, TRIGGERED).status == "resolved"


async def test_execute_reports_an_ack_done_meanwhile_as_a_no_op(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    first = proposal_of(await run_tool(TOOL["acknowledge_incidents"], {"incidents": [TRIGGERED, "1206"]}, ctx))
    again = proposal_of(await run_tool(TOOL["acknowledge_incidents"], {"incidents": [TRIGGERED]}, ctx))
    assert (await execute(again, ctx.asker, ctx.client)).ok
    outcome = await execute(first, ctx.asker, ctx.client)
    assert outcome.ok
    assert outcome.lines[0].endswith("already acknowledged; nothing to do.")
    assert outcome.lines[1] == "#1206 Push token cleanup job failing: acknowledged"


async def test_resolve_with_a_resolution_note(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    result = await run_tool(TOOL["resolve_incidents"],
                            {"incidents": [TRIGGERED, ACKNOWLEDGED, RESOLVED], "resolution_note": "Rolled back v42"},
                            ctx)
    proposal = proposal_of(result)
    assert proposal.summary == "Resolve #1200 and #1204"
    assert "Resolution note: Rolled back v42" in proposal.lines
    assert proposal.noops == ("#1001 Login error rate above 3% is already resolved",)
    assert all(item["resolution"] == "Rolled back v42" for item in (proposal.operations[0].body or {})["incidents"])
    outcome = await execute(proposal, ctx.asker, ctx.client)
    assert outcome.ok and len(outcome.lines) == 2
    for number in (TRIGGERED, ACKNOWLEDGED):
        closed = incident(demo, number)
        assert closed.status == "resolved"
        entry = closed.log_entries[-1]
        assert (entry.type, entry.note, entry.agent_user_id) == ("resolve_log_entry", "Rolled back v42",
                                                                 ctx.asker.user_id)


async def test_note_is_written_by_the_asker(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo, AISHA)
    proposal = proposal_of(await run_tool(TOOL["add_incident_note"],
                                          {"incident": ACKNOWLEDGED, "note": "Failing over to replica"}, ctx))
    assert proposal.lines == ("#1204 High CPU on db-primary-1 (platform-engineering, acknowledged, assigned to "
                              "Emma Clarke)", "Note: Failing over to replica")
    before = len(demo.requests)
    outcome = await execute(proposal, ctx.asker, ctx.client)
    assert outcome.ok and outcome.lines == ["Note added by Aisha Khan."]
    assert writes(demo, before) == [("POST", f"/incidents/{incident(demo, ACKNOWLEDGED).id}/notes")]
    assert demo.requests[-1].from_email == AISHA
    note = incident(demo, ACKNOWLEDGED).notes[-1]
    assert (note.content, note.user_id) == ("Failing over to replica", ctx.asker.user_id)


async def test_the_typed_fields_say_the_target_and_the_resolution_note(demo: Sandbox,
                                                                        make_ctx: ContextFactory) -> None:
    """What the outcome text needs comes as fields, not as prose to parse back out of the summary or lines."""
    ctx = make_ctx(demo)
    note = proposal_of(await run_tool(TOOL["add_incident_note"], {"incident": ACKNOWLEDGED, "note": "hi"}, ctx))
    assert note.target_label == "#1204 High CPU on db-primary-1"
    resolve = proposal_of(await run_tool(TOOL["resolve_incidents"],
                                         {"incidents": [TRIGGERED], "resolution_note": " Rolled back v42 "}, ctx))
    assert resolve.resolution_note == "Rolled back v42" and resolve.target_label is None
    plain = proposal_of(await run_tool(TOOL["resolve_incidents"], {"incidents": [TRIGGERED], "resolution_note": ""},
                                       ctx))
    assert plain.resolution_note is None
    nothing = proposal_of(await run_tool(TOOL["resolve_incidents"], {"incidents": [RESOLVED], "resolution_note": "x"},
                                         ctx))
    assert nothing.operations == () and nothing.resolution_note is None  # nothing is sent, so no note either
    assert "target_label" not in note.as_dict() and "resolution_note" not in resolve.as_dict()  # wire unchanged


async def test_note_limits(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    too_long = await run_tool(TOOL["add_incident_note"], {"incident": ACKNOWLEDGED, "note": "x" * 2001}, ctx)
    blank = await run_tool(TOOL["add_incident_note"], {"incident": ACKNOWLEDGED, "note": "  "}, ctx)
    assert too_long.status == blank.status == "error"
    assert "2000" in (too_long.error or "")
    assert len(demo.requests) == 0


async def test_timed_out_note_is_checked_not_retried(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    proposal = proposal_of(await run_tool(TOOL["add_incident_note"], {"incident": ACKNOWLEDGED, "note": "hi"}, ctx))
    demo.faults.add(path="/incidents/*/notes", method="POST", timeout="after", times=1)
    before = len(demo.requests)
    outcome = await execute(proposal, ctx.asker, ctx.client)
    # PagerDuty applied it before the timeout: re-reading the notes (never re-posting) finds it.
    assert outcome.ok and not outcome.maybe_applied and "the note is there" in outcome.lines[0]
    assert writes(demo, before) == [("POST", f"/incidents/{incident(demo, ACKNOWLEDGED).id}/notes")]
    assert [n.content for n in incident(demo, ACKNOWLEDGED).notes].count("hi") == 1


async def test_observer_is_refused_before_any_request(demo: Sandbox, make_ctx: ContextFactory) -> None:
    for name, args in EXAMPLES.items():
        result = await prepare(demo, make_ctx, name, args, OBSERVER_EMAIL)
        assert result.status == "error", name
        assert (result.error or "").startswith("Olivia Observer has the observer role in PagerDuty, which can't")
        assert result.hint and "Responder" in result.hint
    assert len(demo.requests) == 0


async def test_observer_cannot_execute_a_proposal(demo: Sandbox, make_ctx: ContextFactory) -> None:
    proposal = proposal_of(await prepare(demo, make_ctx, "acknowledge_incidents", {"incidents": [TRIGGERED]}))
    observer = make_ctx(demo, OBSERVER_EMAIL)
    before = len(demo.requests)
    outcome = await execute(proposal, observer.asker, observer.client)
    assert not outcome.ok
    assert outcome.summary == "Olivia Observer has the observer role in PagerDuty, which can't acknowledge incidents."
    assert len(demo.requests) == before
    assert incident(demo, TRIGGERED).status == "triggered"


async def test_read_only_token_outcome_explains_the_403(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    proposal = proposal_of(await run_tool(TOOL["add_incident_note"], {"incident": ACKNOWLEDGED, "note": "x"}, ctx))
    async with PagerDutyClient("sandbox-readonly-token", transport=sandbox_transport(demo)) as read_only:
        outcome = await execute(proposal, ctx.asker, read_only)
    assert not outcome.ok and not outcome.maybe_applied
    assert outcome.summary.startswith("PagerDuty denied permission")
    assert "read-only" in outcome.summary
    assert demo.requests[-1].status == 403


async def test_unknown_incidents_are_errors(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    result = await run_tool(TOOL["acknowledge_incidents"], {"incidents": [TRIGGERED, "99999", "88888"]}, ctx)
    assert result.status == "error" and result.error == "No incident 99999, 88888 is visible to this PagerDuty user."
    placeholder = await run_tool(TOOL["add_incident_note"], {"incident": "<id>", "note": "x"}, ctx)
    assert placeholder.status == "error"
    too_many = await run_tool(TOOL["acknowledge_incidents"], {"incidents": [str(n) for n in range(1200, 1230)]}, ctx)
    assert too_many.status == "error" and "the 10 one confirmation" in (too_many.error or "")
    assert {r.method for r in demo.requests} == {"GET"}


async def test_create_incident_as_the_asker(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo, AISHA)
    result = await run_tool(TOOL["create_incident"], {"service": "payments-api", "title": "Checkout errors",
                                                      "urgency": "low", "details": "Since 13:40",
                                                      "incident_key": "checkout-errors-1"}, ctx)
    proposal = proposal_of(result)
    assert proposal.lines == ("New incident on payments-api: Checkout errors", "Urgency: low", "Details: Since 13:40",
                              "Incident key: checkout-errors-1 (no open incident has it)",
                              "It pages through the Payments escalation policy.")
    service_id = next(s.id for s in demo.world.services.values() if s.name == "payments-api")
    assert proposal.operations[0].body == {"incident": {
        "type": "incident", "title": "Checkout errors", "service": {"id": service_id, "type": "service_reference"},
        "urgency": "low", "body": {"type": "incident_body", "details": "Since 13:40"},
        "incident_key": "checkout-errors-1"}}
    number = demo.world.next_incident_number
    outcome = await execute(proposal, ctx.asker, ctx.client)
    assert outcome.ok and outcome.lines[0].startswith(f"Created #{number} Checkout errors on payments-api")
    assert demo.requests[-1].from_email == AISHA
    created = incident(demo, str(number))
    assert (created.title, created.urgency, created.incident_key) == ("Checkout errors", "low", "checkout-errors-1")


async def test_create_incident_flags_an_open_duplicate_key(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result = await prepare(demo, make_ctx, "create_incident", {
        "service": "auth-service", "title": "healthz", "incident_key": "synthetics-auth-service-healthz"})
    proposal = proposal_of(result)
    assert proposal.operations == () and result.data["needs_confirmation"] is False
    assert proposal.noops[0].startswith("PagerDuty would refuse: open incident #1252 ")
    # The same key on another service is no duplicate.
    other = proposal_of(await prepare(demo, make_ctx, "create_incident", {
        "service": "payments-api", "title": "healthz", "incident_key": "synthetics-auth-service-healthz"}))
    assert len(other.operations) == 1


async def test_create_incident_service_errors(demo: Sandbox, make_ctx: ContextFactory) -> None:
    typo = await prepare(demo, make_ctx, "create_incident", {"service": "paymnts-api", "title": "x"})
    assert typo.status == "error" and "payments-api" in (typo.error or "")
    disabled = await prepare(demo, make_ctx, "create_incident", {"service": "legacy-reports", "title": "x"})
    assert disabled.status == "error" and "disabled" in (disabled.error or "")
    maintenance = proposal_of(await prepare(demo, make_ctx, "create_incident",
                                            {"service": "status-page", "title": "x"}))
    assert any("maintenance" in line for line in maintenance.lines)


@pytest.mark.parametrize(("name", "service", "why"), [
    ("Payments", "payments-api",
     "“Payments” is the escalation policy Payments: alex picked its service payments-api (also: billing-worker)."),
    ("platform", "platform-engineering", "“Platform” is the team Platform: alex picked its service "
                                         "platform-engineering (also: auth-service, status-page)."),
    ("Platform Engineering", "platform-engineering",
     "“Platform Engineering” is the service platform-engineering (also an escalation policy of that name)."),
])
async def test_create_incident_on_a_team_or_a_policy_picks_its_service_and_says_which(
        demo: Sandbox, make_ctx: ContextFactory, name: str, service: str, why: str) -> None:
    """PagerDuty creates incidents on a service: for a policy or a team, code picks its service whose name
    is most like it, the proposal says so, and confirming creates it there."""
    ctx = make_ctx(demo)
    proposal = proposal_of(await run_tool(TOOL["create_incident"], {"service": name, "title": "Checkout errors"}, ctx))
    assert proposal.lines[:2] == (f"New incident on {service}: Checkout errors", why)
    service_id = next(s.id for s in demo.world.services.values() if s.name == service)
    assert (proposal.operations[0].body or {})["incident"]["service"] == {"id": service_id, "type": "service_reference"}
    number = demo.world.next_incident_number
    outcome = await execute(proposal, ctx.asker, ctx.client)
    assert outcome.ok and incident(demo, str(number)).service_id == service_id


async def test_status_update_as_the_asker(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    proposal = proposal_of(await run_tool(TOOL["post_status_update"], {"incident": TRIGGERED, "message": "ETA 15m"},
                                          ctx))
    assert proposal.operations[0].body == {"message": "ETA 15m"}
    outcome = await execute(proposal, ctx.asker, ctx.client)
    assert outcome.ok and outcome.lines == ["Status update posted."]
    update = incident(demo, TRIGGERED).status_updates[-1]
    assert (update.message, update.user_id) == ("ETA 15m", ctx.asker.user_id)


async def test_snooze_only_acknowledged_incidents(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)  # Sam Rivera, America/New_York (EDT since 8 March)
    triggered = await run_tool(TOOL["snooze_incident"], {"incident": TRIGGERED, "minutes": 60}, ctx)
    assert triggered.status == "error" and "only acknowledged incidents can be snoozed" in (triggered.error or "")
    assert "acknowledge_incidents" in (triggered.hint or "")
    resolved = await run_tool(TOOL["snooze_incident"], {"incident": RESOLVED, "minutes": 60}, ctx)
    out_of_range = await run_tool(TOOL["snooze_incident"], {"incident": ACKNOWLEDGED, "minutes": 10081}, ctx)
    assert resolved.status == out_of_range.status == "error"
    proposal = proposal_of(await run_tool(TOOL["snooze_incident"], {"incident": ACKNOWLEDGED, "minutes": 150}, ctx))
    assert proposal.summary == "Snooze #1204 High CPU on db-primary-1 for 2 h 30 min"
    assert "until 2026-03-10T12:30-04:00" in proposal.lines[1]
    assert proposal.operations[0].body == {"duration": 9000}
    outcome = await execute(proposal, ctx.asker, ctx.client)
    assert outcome.ok and outcome.lines == ["#1204 High CPU on db-primary-1: snoozed until 2026-03-10T12:30-04:00."]
    snoozed = incident(demo, ACKNOWLEDGED)
    assert snoozed.snoozed_until is not None and (snoozed.snoozed_until - demo.world.now).total_seconds() == 9000


async def test_reassign_to_a_person(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    proposal = proposal_of(await run_tool(TOOL["reassign_incident"],
                                          {"incident": ACKNOWLEDGED, "to_user": "aisha.khan@acme-payments.example",
                                           "escalation_level": None}, ctx))
    assert proposal.lines[1] == "Reassign to Aisha Khan. It goes back to triggered and pages them."
    aisha = demo.world.user_by_email(AISHA)
    assert aisha is not None
    assert proposal.operations[0].body == {"incident": {
        "type": "incident_reference", "assignments": [{"assignee": {"id": aisha.id, "type": "user_reference"}}]}}
    outcome = await execute(proposal, ctx.asker, ctx.client)
    assert outcome.ok and outcome.lines == ["#1204 High CPU on db-primary-1: triggered, assigned to Aisha Khan."]
    assert incident(demo, ACKNOWLEDGED).assigned_user_ids == [aisha.id]
    again = await run_tool(TOOL["reassign_incident"], {"incident": ACKNOWLEDGED, "to_user": "Aisha Khan"}, ctx)
    assert proposal_of(again).operations == () and "already assigned to Aisha Khan" in again.data["no_ops"][0]


async def test_escalate_to_a_level(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    proposal = proposal_of(await run_tool(TOOL["reassign_incident"], {"incident": TRIGGERED, "escalation_level": 2},
                                          ctx))
    assert proposal.lines[1] == "Escalate to level 2: Payments Secondary, Diego Alvarez (Payments). They are paged."
    assert proposal.operations[0].body == {"incident": {"type": "incident_reference", "escalation_level": 2}}
    assert (await execute(proposal, ctx.asker, ctx.client)).ok
    assert incident(demo, TRIGGERED).escalation_level == 2
    too_high = await run_tool(TOOL["reassign_incident"], {"incident": TRIGGERED, "escalation_level": 9}, ctx)
    assert too_high.status == "error" and "levels 1 to 2" in (too_high.error or "")


async def test_reassign_argument_errors(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    both = await run_tool(TOOL["reassign_incident"], {"incident": TRIGGERED, "to_user": "me", "escalation_level": 2},
                          ctx)
    neither = await run_tool(TOOL["reassign_incident"], {"incident": TRIGGERED}, ctx)
    assert both.status == neither.status == "error"
    assert both.error == "Give exactly one of to_user and escalation_level."
    typo = await run_tool(TOOL["reassign_incident"], {"incident": TRIGGERED, "to_user": "Aisha Kahn"}, ctx)
    assert typo.status == "error" and "Closest: Aisha Khan" in (typo.error or "")
    resolved = await run_tool(TOOL["reassign_incident"], {"incident": RESOLVED, "to_user": "me"}, ctx)
    assert resolved.status == "error" and "resolved" in (resolved.error or "")
    assert {r.method for r in demo.requests} == {"GET"}


# ------------------------------------------------------------------------------- add responders

async def test_add_responders_people_and_a_policy_as_the_asker(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    result = await run_tool(TOOL["add_responders"], {"incident": ACKNOWLEDGED, "message": "Join the bridge",
                                                     "responders": ["aisha.khan@acme-payments.example", "Payments",
                                                                    "Emma Clarke", "Aisha Khan"]}, ctx)
    proposal = proposal_of(result)
    aisha = demo.world.user_by_email(AISHA)
    payments = next(p for p in demo.world.escalation_policies.values() if p.name == "Payments")
    assert aisha is not None and ctx.asker.user_id is not None
    assert proposal.summary == ("Add responders to #1204 High CPU on db-primary-1: Aisha Khan, "
                                "Payments (escalation policy)")
    assert proposal.noops == ("Emma Clarke is already assigned on #1204 High CPU on db-primary-1",)
    (operation,) = proposal.operations
    assert (operation.method, operation.path, operation.kind) == (
        "POST", f"/incidents/{incident(demo, ACKNOWLEDGED).id}/responder_requests", "add_responders")
    assert operation.body == {"requester_id": ctx.asker.user_id, "message": "Join the bridge",
                              "responder_request_targets": [
                                  {"responder_request_target": {"id": aisha.id, "type": "user_reference"}},
                                  {"responder_request_target": {"id": payments.id,
                                                                "type": "escalation_policy_reference"}}]}
    assert {r.method for r in demo.requests} == {"GET"}
    outcome = await execute(proposal, ctx.asker, ctx.client)
    assert outcome.ok and outcome.summary.startswith("Done as Sam Rivera: add responders to #1204")
    (request,) = incident(demo, ACKNOWLEDGED).responder_requests
    assert request.requester_id == ctx.asker.user_id and ("user", aisha.id) in request.targets
    # Asked again, the people already asked are left alone.
    again = proposal_of(await run_tool(TOOL["add_responders"], {"incident": ACKNOWLEDGED, "responders": ["Aisha Khan"],
                                                                "message": None}, ctx))
    assert again.operations == () and again.noops == ("Aisha Khan is already requested on #1204 High CPU on "
                                                      "db-primary-1",)


async def test_add_responders_bounds_and_errors(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    default = proposal_of(await run_tool(TOOL["add_responders"], {"incident": TRIGGERED, "responders": ["Aisha Khan"],
                                                                  "message": "  "}, ctx))
    assert (default.operations[0].body or {})["message"] == "Please help with #1200 Payments API canary failing in " \
                                                            "eu-west-1"
    many = await run_tool(TOOL["add_responders"], {"incident": TRIGGERED, "responders": [f"u{n}" for n in range(11)],
                                                   "message": None}, ctx)
    assert many.status == "error" and "more than the 10" in (many.error or "")
    none = await run_tool(TOOL["add_responders"], {"incident": TRIGGERED, "responders": [" "], "message": None}, ctx)
    assert none.status == "error" and none.error == "No responders given."
    unknown = await run_tool(TOOL["add_responders"], {"incident": TRIGGERED, "responders": ["Nobody Atall"],
                                                      "message": None}, ctx)
    assert unknown.status == "error" and "No escalation policy has that name either" in (unknown.error or "")
    resolved = await run_tool(TOOL["add_responders"], {"incident": RESOLVED, "responders": ["me"], "message": None},
                              ctx)
    assert resolved.status == "error" and "resolved" in (resolved.error or "")
    too_long = await run_tool(TOOL["add_responders"], {"incident": TRIGGERED, "responders": ["me"],
                                                       "message": "x" * 2_001}, ctx)
    assert too_long.status == "error" and "limit here is 2000" in (too_long.error or "")
    assert {r.method for r in demo.requests} == {"GET"}


# --------------------------------------------------------------------------- priority and urgency

async def test_priority_and_urgency_in_one_update(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo, AISHA)
    proposal = proposal_of(await run_tool(TOOL["set_incident_priority"],
                                          {"incident": ACKNOWLEDGED, "priority": "p1", "urgency": "low"}, ctx))
    p1 = next(p for p in demo.world.priorities if p.name == "P1")
    assert proposal.summary == "Set #1204 High CPU on db-primary-1 to P1 and low urgency"
    assert proposal.lines[1:] == ("Priority: P3 -> P1", "Urgency: high -> low")
    (operation,) = proposal.operations
    assert operation.kind == "set_priority" and operation.body == {"incident": {
        "type": "incident_reference", "priority": {"id": p1.id, "type": "priority_reference"}, "urgency": "low"}}
    outcome = await execute(proposal, ctx.asker, ctx.client)
    assert outcome.ok and demo.requests[-1].from_email == AISHA
    changed = incident(demo, ACKNOWLEDGED)
    assert (changed.priority_id, changed.urgency) == (p1.id, "low")
    same = proposal_of(await run_tool(TOOL["set_incident_priority"],
                                      {"incident": ACKNOWLEDGED, "priority": "P1", "urgency": "low"}, ctx))
    assert same.operations == () and same.noops == ("#1204 High CPU on db-primary-1 is already P1",
                                                    "#1204 High CPU on db-primary-1 is already low urgency")
    half = proposal_of(await run_tool(TOOL["set_incident_priority"],
                                      {"incident": ACKNOWLEDGED, "priority": "P1", "urgency": "high"}, ctx))
    assert half.operations[0].body == {"incident": {"type": "incident_reference", "urgency": "high"}}
    assert half.noops == ("#1204 High CPU on db-primary-1 is already P1",)


async def test_priority_errors(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    neither = await run_tool(TOOL["set_incident_priority"], {"incident": TRIGGERED, "priority": None, "urgency": None},
                             ctx)
    assert neither.status == "error" and neither.error == "Give a priority, an urgency or both."
    unknown = await run_tool(TOOL["set_incident_priority"], {"incident": TRIGGERED, "priority": "Sev1",
                                                             "urgency": None}, ctx)
    assert unknown.status == "error"
    assert unknown.error == "No priority named 'Sev1'; this account has P1, P2, P3, P4, P5."
    assert {r.method for r in demo.requests} == {"GET"}


async def test_card_choices_read_what_each_form_offers(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    levels = await card_choices(ctx, TRIGGERED, "reassign")
    assert [c.value for c in levels.options] == ["1", "2"] and levels.options[1].label.startswith("Level 2: ")
    assert levels.label == "#1200 Payments API canary failing in eu-west-1" and levels.urgency == "low"
    priorities = await card_choices(ctx, ACKNOWLEDGED, "priority")
    assert [c.label for c in priorities.options] == ["P1", "P2", "P3", "P4", "P5"]
    assert priorities.priority is not None and priorities.priority.label == "P3"
    policies = await card_choices(ctx, ACKNOWLEDGED, "responders")
    assert "Payments" in [c.label for c in policies.options]
    with pytest.raises(ToolError, match="resolved"):
        await card_choices(ctx, RESOLVED, "responders")
    assert (await card_choices(ctx, RESOLVED, "note")).options == ()
    assert {r.method for r in demo.requests} == {"GET"}
