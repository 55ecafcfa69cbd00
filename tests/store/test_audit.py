"""``execute`` records one audit entry per call: to the ``audit`` sink given, else to the enclosing
``audit_scope``; refusals, PagerDuty failures and unconfirmed writes included; a failing sink never
changes the outcome."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

import httpx2
import pytest

from bot.agent.commands import parse_command, run_command
from bot.pagerduty import PagerDutyClient
from bot.sandbox import Sandbox
from bot.store.memory import MemoryState
from bot.tools.audit import AuditEntry
from bot.tools.base import Asker, Operation, Proposal
from bot.tools.proposals import audit_scope, execute
from tests.tools.conftest import ContextFactory

TOKEN = "dummy-pd-token-AUDIT-1234567890"
RESPONDER = Asker("PUSER1", "aisha.khan@acme.example", "Aisha Khan", ZoneInfo("Europe/London"), "user")
OBSERVER = Asker("PUSER2", "olivia@acme.example", "Olivia Observer", ZoneInfo("UTC"), "observer")
NOTE = Proposal("add_incident_note", "Add a note to #1004", ("#1004: note",),
                (Operation("POST", "/incidents/Q1004/notes", {"note": {"content": "db failover done"}}, kind="note"),),
                incident_ids=("Q1004",))


def client(status: int, body: object = None) -> PagerDutyClient:
    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, json=body if body is not None else {})

    return PagerDutyClient(TOKEN, transport=httpx2.MockTransport(handler))


class Failing:
    async def record(self, entry: AuditEntry) -> None:
        raise ConnectionError("the audit store is down")


async def test_a_successful_write() -> None:
    log = MemoryState()
    pd = client(201, {"note": {"id": "N1", "user": {"summary": "Aisha Khan"}}})
    try:
        outcome = await execute(NOTE, RESPONDER, pd, audit=log)
    finally:
        await pd.aclose()
    assert outcome.ok
    entry, started = await log.recent()
    assert (started.outcome, started.pd_status, started.attempt_id) == ("started", (), entry.attempt_id)
    assert (entry.action, entry.outcome, entry.pd_status, entry.targets) == (
        "add_incident_note", "ok", ("2xx",), ("Q1004",))
    assert (entry.actor_name, entry.actor_email) == ("Aisha Khan", "aisha.khan@acme.example")
    assert entry.operations == ({"method": "POST", "path": "/incidents/Q1004/notes",
                                 "body": '{"note":{"content":"db failover done"}}'},)
    assert TOKEN not in entry.to_json()


async def test_a_refusal_is_recorded_without_a_request() -> None:
    log = MemoryState()
    pd = client(500)
    try:
        with audit_scope(log, requested_by="U0SAM", confirmed_by="U0OLIVIA", via="button", channel="C1"):
            outcome = await execute(NOTE, OBSERVER, pd)
        assert pd.requests_sent == 0
    finally:
        await pd.aclose()
    assert not outcome.ok
    [entry] = await log.recent()
    assert (entry.outcome, entry.pd_status, entry.requested_by, entry.confirmed_by, entry.via) == (
        "failed", (), "U0SAM", "U0OLIVIA", "button")


@pytest.mark.parametrize(("status", "expected"), [(400, "failed"), (503, "maybe_applied")])
async def test_pagerduty_errors(status: int, expected: str) -> None:
    log = MemoryState()
    pd = client(status, {"error": {"message": "nope", "code": 2001}})
    try:
        outcome = await execute(NOTE, RESPONDER, pd, audit=log)
    finally:
        await pd.aclose()
    entry, started = await log.recent()
    assert started.outcome == "started"
    assert entry.outcome == expected and outcome.maybe_applied == (expected == "maybe_applied")
    assert entry.pd_status == (str(status),)
    assert entry.detail == outcome.summary


async def test_no_scope_no_record_and_a_failing_sink_sends_nothing(caplog: pytest.LogCaptureFixture) -> None:
    pd = client(201, {"note": {"id": "N1"}})
    try:
        assert (await execute(NOTE, RESPONDER, pd)).ok
        with caplog.at_level(logging.ERROR, "bot.tools.proposals"):
            unaudited = await execute(NOTE, RESPONDER, pd, audit=Failing())
        assert not unaudited.ok and "audit log is unavailable" in unaudited.summary
        assert pd.requests_sent == 1, "the audit log fails closed: no write it cannot record"
    finally:
        await pd.aclose()
    assert "audit log" in caplog.text and "ConnectionError" in caplog.text


async def test_a_typed_write_refused_before_any_proposal_is_recorded(demo: Sandbox,
                                                                     make_ctx: ContextFactory) -> None:
    """An Observer's typed ``resolve`` never becomes a proposal; the attempt still lands in the log."""
    log = MemoryState()
    observer = next(u for u in demo.world.users.values() if u.role == "observer")
    number = next(i.number for i in demo.world.incidents.values() if i.status == "triggered")
    command = parse_command(f"resolve {number} fixed")
    assert command is not None
    with audit_scope(log, requested_by="U0OLIVIA", via="command", channel="C1"):
        turn = await run_command(command, make_ctx(demo, observer.email))
    [entry] = await log.recent()
    assert (entry.action, entry.outcome, entry.requested_by, entry.via) == (
        "resolve_incidents", "refused", "U0OLIVIA", "command")
    assert "observer" in entry.detail.lower() and entry.detail in turn.reply
    assert all(r.method == "GET" for r in demo.requests)
