"""What an executed write reports comes from typed per-target outcomes, never from re-reading its prose:
an incident's title cannot change what alex says it did, and every target gets a typed entry."""

from __future__ import annotations

import json

from bot.sandbox import Sandbox
from bot.store.base import StoredFields, decode_pending, encode_pending
from bot.store.proposals import PendingProposal
from bot.tools.base import Operation, Proposal
from bot.tools.proposals import execute
from tests.agent.test_commands import RESPONDER_EMAIL, open_incidents, run
from tests.tools.conftest import ContextFactory


async def test_a_title_that_reads_like_a_no_op_cannot_change_the_reply(demo: Sandbox,
                                                                       make_ctx: ContextFactory) -> None:
    acked = open_incidents(demo.world, "acknowledged")[0]
    acked.title = "Sessions would reopen: already resolved in the meantime"
    triggered = open_incidents(demo.world, "triggered")[0]
    triggered.title = "Failover: acknowledged"
    turn = await run(demo, make_ctx, f"ack {acked.number} {triggered.number}")
    assert turn.reply.splitlines()[0] == (f"Acknowledged #{triggered.number}. "
                                          f"#{acked.number} was already acknowledged.")
    assert demo.world.incidents[acked.id].status == "acknowledged"


async def test_an_executed_write_has_one_typed_entry_per_target(demo: Sandbox, make_ctx: ContextFactory) -> None:
    triggered = open_incidents(demo.world, "triggered")[0]
    acked = open_incidents(demo.world, "acknowledged")[0]
    turn = await run(demo, make_ctx, f"ack {triggered.number} {acked.number}")
    outcome = turn.tool_calls[0].outcome
    assert outcome is not None and outcome.ok
    entries = {entry.target: entry for entry in outcome.entries}
    assert set(entries) == {f"#{triggered.number}", f"#{acked.number}"}
    done, left_alone = entries[f"#{triggered.number}"], entries[f"#{acked.number}"]
    assert (done.status, done.state, done.pd_status) == ("done", "acknowledged", 200)
    assert (left_alone.status, left_alone.reason, left_alone.pd_status) == ("no_op", "already", None)
    assert "executed" not in turn.tool_calls[0].result.data  # the outcome is typed, not slipped into the data


async def test_a_failed_write_names_pagerdutys_answer(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo, RESPONDER_EMAIL)
    note = Operation("POST", "/incidents/PNOPE12/notes", {"note": {"content": "x"}}, kind="note")
    outcome = await execute(Proposal("add_incident_note", "Add a note", ("x",), (note,)), ctx.asker, ctx.client)
    assert not outcome.ok
    assert [(e.status, e.pd_status) for e in outcome.entries] == [("failed", 404)]


async def test_a_pending_proposal_stored_before_operations_had_a_kind_still_runs(
        demo: Sandbox, make_ctx: ContextFactory) -> None:
    incident = open_incidents(demo.world, "triggered")[0]
    note = Operation("POST", f"/incidents/{incident.id}/notes", {"note": {"content": "stored earlier"}}, kind="note")
    stored = json.loads(encode_pending(PendingProposal(
        Proposal("add_incident_note", f"Add a note to #{incident.number}", ("x",), (note,)), "U0SAM", "C0", "1.2")))
    for operation in stored["proposal"]["operations"]:
        del operation["kind"]  # the row an older alex wrote
    del stored["proposal"]["skipped"]
    pending = decode_pending(json.dumps(stored), StoredFields("pending", 0.0, 1e12, None))
    assert [op.kind for op in pending.proposal.operations] == ["note"]
    ctx = make_ctx(demo, RESPONDER_EMAIL)
    outcome = await execute(pending.proposal, ctx.asker, ctx.client)
    assert outcome.ok and outcome.lines[0].startswith("Note added by")
    assert demo.world.incidents[incident.id].notes[-1].content == "stored earlier"
