"""Override write tools: prepare shows whom an override replaces; execute creates/deletes it as the asker."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.sandbox import Sandbox
from bot.sandbox.model import Schedule
from bot.tools.base import Proposal, ToolResult
from bot.tools.override_actions import TOOLS
from bot.tools.proposals import execute
from bot.tools.runner import run_tool
from tests.tools.conftest import OBSERVER_EMAIL, ContextFactory, schema_chars

TOOL = {tool.name: tool for tool in TOOLS}
AISHA = "aisha.khan@acme-payments.example"
# The asker (Sam Rivera) is in America/New_York: EDT (-04:00) since 8 March 2026; now = 10:00 EDT.


def schedule(sandbox: Sandbox, name: str) -> Schedule:
    return next(s for s in sandbox.world.schedules.values() if s.name == name)


def proposal_of(result: ToolResult[Any]) -> Proposal:
    assert result.status == "proposal", result.to_model()
    assert result.proposal is not None
    return result.proposal


def cover(**args: Any) -> dict[str, Any]:
    return {"schedule": "Platform Primary", "user": "Aisha Khan", "start": None, "end": None, "window": None} | args


def test_schemas_are_small_strict_write_tools() -> None:
    for tool in TOOLS:
        assert tool.kind == "write"
        assert schema_chars(tool) <= 650, (tool.name, schema_chars(tool))  # besides the window grammar


async def test_create_override_round_trip_in_the_askers_zone(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    primary = schedule(demo, "Platform Primary")
    result = await run_tool(TOOL["create_override"], cover(start="2026-03-11T09:00", end="2026-03-11T17:00"), ctx)
    proposal = proposal_of(result)
    assert {r.method for r in demo.requests} == {"GET"}
    assert proposal.summary == ("Put Aisha Khan on call for Platform Primary from 2026-03-11T09:00-04:00 "
                                "to 2026-03-11T17:00-04:00")
    assert proposal.lines == (
        "Aisha Khan covers Platform Primary from 2026-03-11T09:00-04:00 to 2026-03-11T17:00-04:00 (8 h).",
        "Replaces Sam Rivera, 2026-03-11T09:00-04:00 to 2026-03-11T17:00-04:00",
    )
    aisha = demo.world.user_by_email(AISHA)
    assert aisha is not None
    (operation,) = proposal.operations
    assert (operation.method, operation.path) == ("POST", f"/schedules/{primary.id}/overrides")
    assert operation.body == {"overrides": [{
        "start": "2026-03-11T09:00:00-04:00", "end": "2026-03-11T17:00:00-04:00",
        "user": {"id": aisha.id, "type": "user_reference"}, "time_zone": "America/New_York"}]}

    before = {o.id for o in primary.overrides}
    outcome = await execute(proposal, ctx.asker, ctx.client)
    (created,) = [o for o in primary.overrides if o.id not in before]
    assert outcome.ok and outcome.lines == [
        f"Override {created.id}: Aisha Khan from 2026-03-11T09:00-04:00 to 2026-03-11T17:00-04:00."]
    assert demo.requests[-1].from_email == ctx.asker.email
    assert (created.start, created.end, created.user_id) == (
        datetime(2026, 3, 11, 13, tzinfo=UTC), datetime(2026, 3, 11, 21, tzinfo=UTC), aisha.id)

    removal = proposal_of(await run_tool(TOOL["delete_override"],
                                         {"schedule": "platform primary", "override_id": created.id}, ctx))
    assert removal.lines == (f"Override {created.id} on Platform Primary: Aisha Khan from 2026-03-11T09:00-04:00 "
                             "to 2026-03-11T17:00-04:00", "It has not started: it is removed.")
    assert removal.operations[0].method == "DELETE"
    assert removal.operations[0].path == f"/schedules/{primary.id}/overrides/{created.id}"
    deleted = await execute(removal, ctx.asker, ctx.client)
    assert deleted.ok and deleted.lines[0].startswith(f"Override {created.id} deleted")
    assert all(o.id != created.id for o in primary.overrides)


async def test_window_phrase_and_the_people_it_replaces(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    proposal = proposal_of(await run_tool(TOOL["create_override"], cover(window="today"), ctx))
    assert proposal.lines == (
        "Aisha Khan covers Platform Primary from 2026-03-10T10:00-04:00 to 2026-03-11T00:00-04:00 (14 h).",
        "The requested start (2026-03-10T00:00-04:00) has passed, so it starts now.",
        "Replaces Ben Carter, 2026-03-10T10:00-04:00 to 2026-03-10T15:00-04:00",
        "Replaces Sam Rivera, 2026-03-10T15:00-04:00 to 2026-03-11T00:00-04:00",
    )
    assert (proposal.operations[0].body or {})["overrides"][0]["start"] == "2026-03-10T10:00:00-04:00"


async def test_an_override_over_a_gap_says_it_fills_it(demo: Sandbox, make_ctx: ContextFactory) -> None:
    # Platform Secondary's gap 1: Fri 13 Mar 20:00 GMT -> Sat 08:00 GMT = 16:00 -> 04:00 EDT.
    ctx = make_ctx(demo)
    proposal = proposal_of(await run_tool(TOOL["create_override"], cover(
        schedule="Platform Secondary", start="2026-03-13T16:00", end="2026-03-14T04:00"), ctx))
    assert proposal.lines[1:] == ("Fills a gap (nobody on call), 2026-03-13T16:00-04:00 to 2026-03-14T04:00-04:00",)


async def test_covering_yourself_when_already_on_call(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    proposal = proposal_of(await run_tool(TOOL["create_override"], cover(user="me", window="tomorrow"), ctx))
    assert proposal.lines[0] == ("Sam Rivera covers Platform Primary from 2026-03-11T00:00-04:00 to "
                                 "2026-03-12T00:00-04:00 (1 d).")
    assert proposal.lines[1].startswith("Sam Rivera is already on call for all of it")
    assert len(proposal.operations) == 1


@pytest.mark.parametrize(("args", "message"), [
    (cover(window="tomorrow", start="2026-03-11T09:00"), "either window or start and end"),
    (cover(start="2026-03-11T09:00"), "needs both start and end"),
    (cover(start="2026-03-11T17:00", end="2026-03-11T09:00"), "before it starts"),
    (cover(window="yesterday"), "ended already"),
    (cover(window="now"), "a moment, not a span"),
    (cover(start="2026-03-11T09:00", end="tomorrow"), "is a span, not a time"),
    (cover(window="whenever"), "can't read 'whenever'"),
    (cover(start="2026-03-11T09:00", end="2026-07-11T09:00"), "at most 90 days"),
    (cover(schedule="Platfrom Primary", window="tomorrow"), "Closest: Platform Primary"),
    (cover(user="Aisha Kahn", window="tomorrow"), "Closest: Aisha Khan"),
    (cover(schedule="Search On-call", window="tomorrow"), "shift-based schedule"),
])
async def test_create_override_errors(demo: Sandbox, make_ctx: ContextFactory, args: dict[str, Any],
                                      message: str) -> None:
    result = await run_tool(TOOL["create_override"], args, make_ctx(demo))
    assert result.status == "error" and message in (result.error or ""), result.to_model()
    assert {r.method for r in demo.requests} <= {"GET"}


async def test_ending_an_override_under_way(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    primary = schedule(demo, "Platform Primary")
    (running,) = primary.overrides  # Ben Carter, 07:00 -> 15:00 EDT today
    proposal = proposal_of(await run_tool(TOOL["delete_override"],
                                          {"schedule": "Platform Primary", "override_id": running.id}, ctx))
    assert proposal.summary == "End the override on Platform Primary (Ben Carter, from 2026-03-10T07:00-04:00)"
    assert proposal.lines[1] == "It is under way: PagerDuty ends it now instead of deleting it."
    assert {r.method for r in demo.requests} == {"GET"}
    assert (await execute(proposal, ctx.asker, ctx.client)).ok
    assert running.end == demo.world.now


async def test_delete_unknown_override_lists_the_real_ones(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    running = schedule(demo, "Platform Primary").overrides[0]
    result = await run_tool(TOOL["delete_override"], {"schedule": "Platform Primary", "override_id": "PNOPE12"}, ctx)
    assert result.status == "error"
    assert result.error == ("Platform Primary has no current or upcoming override PNOPE12. Its overrides: "
                            f"{running.id} (Ben Carter from 2026-03-10T07:00-04:00 to 2026-03-10T15:00-04:00).")
    past = schedule(demo, "Platform Secondary").overrides[0]  # ended 5 days ago: cannot be removed
    finished = await run_tool(TOOL["delete_override"], {"schedule": "Platform Secondary", "override_id": past.id},
                              ctx)
    assert finished.status == "error" and "none in the next 90 days" in (finished.error or "")
    assert {r.method for r in demo.requests} == {"GET"}


async def test_observer_cannot_propose_or_execute_overrides(demo: Sandbox, make_ctx: ContextFactory) -> None:
    observer = make_ctx(demo, OBSERVER_EMAIL)
    refused = await run_tool(TOOL["create_override"], cover(user="me", window="tomorrow"), observer)
    assert refused.error == ("Olivia Observer has the observer role in PagerDuty, which can't create schedule "
                             "overrides.")
    assert len(demo.requests) == 0
    proposal = proposal_of(await run_tool(TOOL["create_override"], cover(window="tomorrow"), make_ctx(demo)))
    before = len(demo.requests)
    outcome = await execute(proposal, observer.asker, observer.client)
    assert not outcome.ok and "observer role" in outcome.summary
    assert len(demo.requests) == before
