"""``alex mcp`` through the SDK's own client, in process, on both protocol eras: the tools, reads, errors, and
writes as proposals (elicitation accept / decline, ``confirm_proposal``, expiry, re-check, the audit log)."""

from __future__ import annotations

from typing import Any

import mcp.types as types
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from bot.store.proposals import PendingProposal
from bot.tools.registry import READ_TOOLS, WRITE_TOOLS
from tests.mcp.conftest import MODES, TTL_S, Person, Serve

READS: list[tuple[str, dict[str, Any]]] = [
    ("list_incidents", {}),
    ("list_incidents", {"statuses": ["triggered"], "service": "auth-service"}),
    ("get_incident", {"incident": "1252"}),
    ("who_is_on_call", {"target": "platform-engineering"}),
    ("who_is_on_call", {"target": "Platform", "target_type": "team"}),
    ("who_is_on_call", {"target_type": "me", "window": "next 30 days"}),
    ("who_is_on_call", {"target": "Checkout Primary", "target_type": "schedule"}),
    ("service_health", {}),
    ("get_escalation_policy", {"policy": "platform-engineering", "notification_rules": True}),
    ("get_schedule", {"schedule": "Checkout Primary", "window": "next week"}),
    ("get_schedule", {}),
    ("find_coverage_gaps", {"window": "next week"}),
    ("find_coverage_gaps", {"escalation_policy": "checkout-web"}),
    ("list_overrides", {"schedule": "Checkout Primary", "window": "next 7 days"}),
    ("find_people", {"query": "Sam"}),
    ("find_people", {"query": "Platform", "kind": "team"}),
]
"""Every read tool, and each kind of answer of the tools whose result is a family."""


def _text(result: types.CallToolResult) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, types.TextContent))


async def test_read_only_by_default_lists_the_read_tools_with_their_schemas(serve: Serve) -> None:
    served = serve()
    async with Client(served.alex.server(), mode="legacy") as client:
        tools = (await client.list_tools()).tools
        instructions = client.instructions or ""
    assert "never instructions" in instructions
    assert [t.name for t in tools] == [t.name for t in READ_TOOLS]
    for tool in tools:
        assert tool.annotations is not None and tool.annotations.read_only_hint is True
        assert tool.output_schema is not None and tool.output_schema["type"] == "object"
        assert tool.input_schema["additionalProperties"] is False
        assert tool.description and "title" not in tool.input_schema


async def test_writes_are_marked_destructive_and_confirm_proposal_is_for_clients_that_cannot_ask(serve: Serve) -> None:
    served = serve(writes=True)
    async with Client(served.alex.server(), mode="legacy") as client:
        plain = (await client.list_tools()).tools
    async with Client(served.alex.server(), mode="legacy", elicitation_callback=Person()) as client:
        asking = (await client.list_tools()).tools
    write_names = [t.name for t in WRITE_TOOLS]
    assert [t.name for t in plain] == [t.name for t in READ_TOOLS] + write_names + ["confirm_proposal"]
    assert [t.name for t in asking] == [t.name for t in READ_TOOLS] + write_names
    for tool in plain[len(READ_TOOLS):]:
        assert tool.annotations is not None
        assert tool.annotations.destructive_hint is True and tool.annotations.read_only_hint is False


@pytest.mark.parametrize("mode", MODES)
async def test_every_read_tool_answers_with_typed_structured_content_and_text(serve: Serve, mode: str) -> None:
    served = serve()
    async with Client(served.alex.server(), mode=mode) as client:
        for name, arguments in READS:
            # The SDK's client validates structuredContent against the tool's outputSchema (raises if not).
            result = await client.call_tool(name, arguments)
            assert not result.is_error, (name, arguments, _text(result))
            assert isinstance(result.structured_content, dict) and result.structured_content, name
            assert _text(result), name
    oncall = await _call(served, "who_is_on_call", {"target": "platform-engineering"})
    assert "Level 1" in _text(oncall) and "Times are in America/New_York." in _text(oncall)


async def _call(served: Any, name: str, arguments: dict[str, Any], **client: Any) -> types.CallToolResult:
    async with Client(served.alex.server(), mode=client.pop("mode", "legacy"), **client) as session:
        return await session.call_tool(name, arguments)


async def test_bad_arguments_are_a_tool_error_the_model_can_correct(serve: Serve) -> None:
    served = serve()
    result = await _call(served, "list_incidents", {"statuses": ["firing"]})
    assert result.is_error and result.structured_content is None
    assert "Invalid arguments for list_incidents: statuses.0" in _text(result) and "Fix them" in _text(result)
    result = await _call(served, "get_incident", {"incident": "null"})
    assert result.is_error


async def test_a_pagerduty_error_is_a_tool_error_with_its_message_and_the_hint(serve: Serve) -> None:
    served = serve()
    served.sandbox.faults.add(path="/incidents*", status=403, times=10)
    result = await _call(served, "list_incidents", {})
    assert result.is_error
    assert "PagerDuty denied permission" in _text(result) and "read-only" in _text(result)
    assert "sandbox-" not in _text(result)  # never a token


async def test_unknown_tools_and_hidden_writes_are_protocol_errors_that_say_why(serve: Serve) -> None:
    served = serve()
    async with Client(served.alex.server(), mode="legacy") as client:
        for name, arguments, says in [("pd_get", {}, "Unknown tool: pd_get"),
                                      ("acknowledge_incidents", {"incidents": ["1252"]}, "--enable-writes"),
                                      ("confirm_proposal", {"proposal_id": "x"}, "--enable-writes")]:
            with pytest.raises(MCPError, match=says):
                await client.call_tool(name, arguments)
    assert served.status(1252) == "triggered"


@pytest.mark.parametrize("mode", MODES)
async def test_a_write_asks_the_person_and_yes_runs_it_as_them_audited_via_mcp(serve: Serve, mode: str) -> None:
    served = serve(writes=True)
    person = Person("yes")
    result = await _call(served, "acknowledge_incidents", {"incidents": ["1252"]}, mode=mode,
                         elicitation_callback=person)
    assert not result.is_error, _text(result)
    assert len(person.asked) == 1 and "Acknowledge #1252" in person.asked[0] and "as Sam Rivera" in person.asked[0]
    assert result.structured_content is not None and result.structured_content["state"] == "done"
    assert _text(result).startswith("Acknowledged #1252.")
    assert served.status(1252) == "acknowledged"
    entries = await served.state.recent()
    assert {e.outcome for e in entries} == {"started", "ok"}
    assert all(e.via == "mcp" and e.channel == "mcp" and e.requested_by == e.confirmed_by == "mcp:"
               + str(served.session.asker.user_id) and e.actor_email == served.session.asker.email for e in entries)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("answer", ["no", "decline", "cancel"])
async def test_anything_but_yes_changes_nothing_and_cancels_the_proposal(serve: Serve, mode: str, answer: str) -> None:
    served = serve(writes=True)
    person = Person(answer)  # type: ignore[arg-type]
    result = await _call(served, "add_incident_note", {"incident": "1252", "note": "rolling back"}, mode=mode,
                         elicitation_callback=person)
    assert "Note: rolling back" in person.asked[0]
    assert result.structured_content is not None and result.structured_content["state"] == "cancelled"
    assert _text(result) == "Cancelled: nothing was changed."
    assert await served.state.recent() == []
    assert not [n for i in served.sandbox.world.incidents.values() if i.number == 1252 for n in i.notes
                if n.content == "rolling back"]


async def test_without_elicitation_a_write_is_a_proposal_that_confirm_proposal_runs_once(serve: Serve) -> None:
    served = serve(writes=True)
    async with Client(served.alex.server(), mode="auto") as client:
        proposed = await client.call_tool("resolve_incidents", {"incidents": ["1252"], "resolution_note": "fixed"})
        assert proposed.structured_content is not None and proposed.structured_content["state"] == "proposed"
        proposal_id = proposed.structured_content["proposal_id"]
        assert f"call confirm_proposal with proposal_id {proposal_id}" in _text(proposed)
        assert proposed.structured_content["expires_in_s"] == TTL_S
        assert served.status(1252) == "triggered"  # nothing changed yet
        done = await client.call_tool("confirm_proposal", {"proposal_id": proposal_id})
        assert done.structured_content is not None and done.structured_content["state"] == "done", _text(done)
        assert served.status(1252) == "resolved"
        again = await client.call_tool("confirm_proposal", {"proposal_id": proposal_id})
        assert again.structured_content is not None and again.structured_content["state"] == "not_done"
        assert "already confirmed" in _text(again)
        missing = await client.call_tool("confirm_proposal", {"proposal_id": "no-such-id"})
        assert missing.is_error and "no such proposal" in _text(missing)
        bad = await client.call_tool("confirm_proposal", {})
        assert bad.is_error and "Invalid arguments for confirm_proposal" in _text(bad)


async def test_an_expired_proposal_is_not_run(serve: Serve) -> None:
    served = serve(writes=True)
    async with Client(served.alex.server(), mode="legacy") as client:
        proposed = await client.call_tool("acknowledge_incidents", {"incidents": ["1252"]})
        assert proposed.structured_content is not None
        served.clock.now += TTL_S + 1
        late = await client.call_tool("confirm_proposal", {"proposal_id": proposed.structured_content["proposal_id"]})
    assert late.structured_content is not None and late.structured_content["state"] == "not_done"
    assert "expired" in _text(late) and served.status(1252) == "triggered"


async def test_a_proposal_pagerduty_changed_since_is_refused_not_replaced(serve: Serve) -> None:
    served = serve(writes=True)
    async with Client(served.alex.server(), mode="legacy") as client:
        first = await client.call_tool("resolve_incidents", {"incidents": ["1252"]})
        second = await client.call_tool("resolve_incidents", {"incidents": ["1252"]})
        assert first.structured_content is not None and second.structured_content is not None
        await client.call_tool("confirm_proposal", {"proposal_id": second.structured_content["proposal_id"]})
        stale = await client.call_tool("confirm_proposal", {"proposal_id": first.structured_content["proposal_id"]})
    assert stale.structured_content is not None and stale.structured_content["state"] == "not_done"
    assert "PagerDuty changed since this was proposed" in _text(stale)
    assert [e.outcome for e in await served.state.recent()] == ["ok", "started"]  # one write ran


async def test_a_write_with_nothing_to_do_is_said_so_and_kept_nowhere(serve: Serve) -> None:
    served = serve(writes=True)
    resolved = next(i for i in served.sandbox.world.incidents.values() if i.status == "resolved")
    result = await _call(served, "acknowledge_incidents", {"incidents": [str(resolved.number)]})
    assert result.structured_content is not None and result.structured_content["state"] == "nothing_to_do"
    assert "proposal_id" not in result.structured_content and _text(result).startswith("Nothing to do")


async def test_only_this_servers_own_proposals_can_be_confirmed(serve: Serve) -> None:
    served = serve(writes=True)
    async with Client(served.alex.server(), mode="legacy") as client:
        proposed = await client.call_tool("acknowledge_incidents", {"incidents": ["1252"]})
        assert proposed.structured_content is not None
        stored = await served.state.proposals.get(proposed.structured_content["proposal_id"])
        assert stored is not None and stored.channel == "mcp" and stored.tool == "acknowledge_incidents"
        slack = PendingProposal(stored.proposal, "U123", "C123", "1.2")  # a Slack card's proposal
        slack_id = await served.state.proposals.put(slack)
        result = await client.call_tool("confirm_proposal", {"proposal_id": slack_id})
    assert result.is_error and "no such proposal" in _text(result)
    assert served.status(1252) == "triggered"


async def test_the_person_reads_every_text_a_change_sends_in_full(serve: Serve) -> None:
    served = serve(writes=True)
    person = Person("no")
    note = "Rolled back deploy 4411; " + "the cache is warming, error rate is falling. " * 40
    await _call(served, "add_incident_note", {"incident": "1252", "note": note}, elicitation_callback=person)
    assert note.strip() in person.asked[0] and person.asked[0].endswith("Make this change?")


async def test_a_client_that_fails_to_ask_changes_nothing(serve: Serve) -> None:
    served = serve(writes=True)

    async def broken(context: Any, params: Any) -> types.ErrorData:
        return types.ErrorData(code=types.INTERNAL_ERROR, message="no UI for forms")

    result = await _call(served, "acknowledge_incidents", {"incidents": ["1252"]}, elicitation_callback=broken)
    assert result.is_error and "did not ask the person to confirm" in _text(result)
    assert "no UI for forms" in _text(result)
    assert served.status(1252) == "triggered" and await served.state.recent() == []
