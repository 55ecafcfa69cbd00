"""Executing confirmed proposals: as the actor, within their role; no-ops polite; ambiguous writes never retried."""

from __future__ import annotations

from dataclasses import replace
from zoneinfo import ZoneInfo

from bot.pagerduty import PagerDutyClient, RetryPolicy
from bot.sandbox import Sandbox, default_token
from bot.store.memory import MemoryState
from bot.tools.audit import AuditEntry
from bot.tools.base import Asker, Operation, Proposal
from bot.tools.proposals import FIRST_WENT_THROUGH, execute, refusal
from tests.helpers import sandbox_transport
from tests.tools.conftest import ContextFactory

NY = ZoneInfo("America/New_York")


def _incident_id(sandbox: Sandbox, number: int) -> str:
    return next(i.id for i in sandbox.world.incidents.values() if i.number == number)


def _writes(sandbox: Sandbox, since: int) -> int:
    return sum(1 for r in list(sandbox.requests)[since:] if r.method != "GET")


def test_refusal_names_the_role_and_the_action() -> None:
    observer = Asker("PO1", "o@x.example", "Olivia Observer", NY, "observer")
    stakeholder = Asker("PS1", "s@x.example", "Stan Holder", NY, "read_only_user")
    unlinked = Asker(None, "u@x.example", "Una Linked", NY)
    no_email = Asker("PN1", None, "Nemo", NY, "user")
    assert refusal(observer, "create_override") == ("Olivia Observer has the observer role in PagerDuty, which can't "
                                                    "create schedule overrides.")
    assert refusal(stakeholder, "resolve_incidents") == ("Stan Holder has the stakeholder role in PagerDuty, which "
                                                         "can't resolve incidents.")
    assert "no PagerDuty account linked" in (refusal(unlinked, "add_incident_note") or "")
    assert "e-mail" in (refusal(no_email, "add_incident_note") or "")
    assert refusal(Asker("PU1", "m@x.example", "Manager", NY, "user"), "snooze_incident") is None


async def test_no_request_without_an_email(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    note = Operation("POST", f"/incidents/{_incident_id(demo, 1204)}/notes", {"note": {"content": "x"}}, kind="note")
    proposal = Proposal("add_incident_note", "Add a note", ("x",), (note,))
    outcome = await execute(proposal, replace(ctx.asker, email=None), ctx.client)
    assert not outcome.ok and "e-mail" in outcome.summary
    assert len(demo.requests) == 0


async def test_a_proposal_without_operations_is_a_no_op(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    proposal = Proposal("acknowledge_incidents", "Acknowledge #1204", (), (), ("#1204 is already acknowledged",))
    outcome = await execute(proposal, ctx.asker, ctx.client)
    assert outcome.ok and outcome.summary == "Nothing to do: acknowledge #1204"
    assert outcome.lines == ["#1204 is already acknowledged"] and len(demo.requests) == 0


async def test_already_acknowledged_is_a_polite_no_op(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    incident_id = _incident_id(demo, 1204)  # acknowledged
    body = {"incident": {"type": "incident_reference", "status": "acknowledged"}}
    proposal = Proposal("acknowledge_incidents", "Acknowledge #1204", ("#1204",),
                        (Operation("PUT", f"/incidents/{incident_id}", body, kind="reassign"),))
    outcome = await execute(proposal, ctx.asker, ctx.client)
    assert outcome.ok and not outcome.maybe_applied
    assert outcome.summary == "Nothing changed, it was already done: acknowledge #1204."
    assert outcome.lines == [f"Nothing to do: Incident {incident_id} is already acknowledged."]


async def test_a_failure_stops_the_rest_and_explains(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    note = {"note": {"content": "x"}}
    proposal = Proposal("add_incident_note", "Add notes", ("x",), (
        Operation("POST", f"/incidents/{_incident_id(demo, 1204)}/notes", note, kind="note"),
        Operation("POST", "/incidents/PNOPE12/notes", note, kind="note"),
        Operation("POST", f"/incidents/{_incident_id(demo, 1200)}/notes", note, kind="note"),
    ))
    outcome = await execute(proposal, ctx.asker, ctx.client)
    assert not outcome.ok and not outcome.maybe_applied
    assert outcome.summary.startswith("PagerDuty could not find it")
    assert outcome.summary.endswith("The remaining 1 change(s) were not attempted.")
    assert outcome.lines == ["Note added by Sam Rivera.", "POST /incidents/PNOPE12/notes: failed."]
    assert _writes(demo, 0) == 2


async def test_each_override_result_is_checked(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    schedule = next(s for s in demo.world.schedules.values() if s.name == "Platform Primary")
    user = {"id": ctx.asker.user_id, "type": "user_reference"}
    proposal = Proposal("create_override", "Cover Platform Primary", ("x",), (Operation(
        "POST", f"/schedules/{schedule.id}/overrides", {"overrides": [
            {"start": "2026-03-12T09:00:00-04:00", "end": "2026-03-12T17:00:00-04:00", "user": user},
            {"start": "2026-03-12T17:00:00-04:00", "end": "2026-03-12T09:00:00-04:00", "user": user},
        ]}, kind="override_create"),))
    outcome = await execute(proposal, ctx.asker, ctx.client)
    assert not outcome.ok and outcome.summary.startswith("PagerDuty refused part of it")
    assert outcome.lines[0].endswith(": Sam Rivera from 2026-03-12T09:00-04:00 to 2026-03-12T17:00-04:00.")
    assert outcome.lines[1] == "Override refused by PagerDuty (400): Override must end after its start"


async def test_a_timed_out_put_may_have_been_applied(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    # PUT is idempotent, so the client may retry it; once attempts run out the outcome is still ambiguous.
    demo.faults.add(path="/incidents/*", method="PUT", timeout="after")
    body = {"incident": {"type": "incident_reference", "escalation_level": 2}}
    proposal = Proposal("reassign_incident", "Escalate #1200", ("x",),
                        (Operation("PUT", f"/incidents/{_incident_id(demo, 1200)}", body, kind="reassign"),))
    async with PagerDutyClient(default_token("demo"), transport=sandbox_transport(demo),
                               retry=RetryPolicy(max_attempts=1)) as client:
        outcome = await execute(proposal, ctx.asker, client)
    assert not outcome.ok and outcome.maybe_applied
    assert "may have been applied" in outcome.summary
    assert _writes(demo, 0) == 1


# -- a write PagerDuty applied but did not answer, retried by the client (issue 10, item 4) -------------
async def test_a_retried_put_whose_first_try_was_unanswered_audits_both_tries(demo: Sandbox,
                                                                              make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    log = MemoryState()
    demo.faults.add(path="/incidents/*", method="PUT", timeout="after", times=1)
    body = {"incident": {"type": "incident_reference", "escalation_level": 2}}
    proposal = Proposal("reassign_incident", "Escalate #1200", ("x",),
                        (Operation("PUT", f"/incidents/{_incident_id(demo, 1200)}", body, kind="reassign"),))
    outcome = await execute(proposal, ctx.asker, ctx.client, audit=log)
    assert outcome.ok and outcome.summary.startswith("Done as Sam Rivera")
    done, started = await log.recent()
    assert (started.outcome, done.outcome, done.pd_status) == ("started", "ok", ("no response", "2xx"))


async def test_already_resolved_after_our_own_unanswered_try_is_done(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    log = MemoryState()
    number = next(i.number for i in demo.world.incidents.values() if i.status == "triggered")
    demo.faults.add(path="/incidents/*", method="PUT", timeout="after", times=1)
    body = {"incident": {"type": "incident_reference", "status": "resolved"}}
    proposal = Proposal("resolve_incidents", f"Resolve #{number}", ("x",),
                        (Operation("PUT", f"/incidents/{_incident_id(demo, number)}", body, kind="reassign"),))
    outcome = await execute(proposal, ctx.asker, ctx.client, audit=log)
    assert outcome.ok and "(the first attempt went through)" in outcome.summary
    assert FIRST_WENT_THROUGH in outcome.lines and "Nothing" not in outcome.summary
    done, _ = await log.recent()
    assert done.outcome == "ok" and done.pd_status == ("no response", "400")


async def test_already_resolved_without_an_unanswered_try_is_still_a_no_op(demo: Sandbox,
                                                                           make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    number = next(i.number for i in demo.world.incidents.values() if i.status == "resolved")
    body = {"incidents": [{"id": _incident_id(demo, number), "type": "incident_reference", "status": "resolved"}]}
    proposal = Proposal("resolve_incidents", f"Resolve #{number}", ("x",),
                        (Operation("PUT", "/incidents", body, kind="bulk_status"),))
    outcome = await execute(proposal, ctx.asker, ctx.client)
    assert outcome.ok and outcome.summary.startswith("Nothing changed, it was already done")
    assert FIRST_WENT_THROUGH not in outcome.lines


async def test_an_unauditable_write_is_not_sent(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)

    class Down(MemoryState):
        async def record(self, entry: AuditEntry) -> None:
            raise ConnectionError("down")

    note = Operation("POST", f"/incidents/{_incident_id(demo, 1204)}/notes", {"note": {"content": "x"}}, kind="note")
    outcome = await execute(Proposal("add_incident_note", "Add a note", ("x",), (note,)), ctx.asker, ctx.client,
                            audit=Down())
    assert not outcome.ok and not outcome.maybe_applied
    assert outcome.summary.startswith("Not done: the audit log is unavailable (ConnectionError)")
    assert _writes(demo, 0) == 0
