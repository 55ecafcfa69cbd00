"""Block Kit rendering of every kind of answer, from real tool results on the demo sandbox.

Each message is checked by tests/slack/blockkit.py (the Block Kit JSON Schema plus our message-level
rules: 50 blocks, unique block IDs, one table, text budgets, PagerDuty-only links, no broadcasts).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.agent.commands import parse_command, run_command
from bot.agent.turn import ToolCallRecord, Turn
from bot.pagerduty import PagerDutyClient
from bot.sandbox import Sandbox
from bot.slack.render import (
    ACK_ACTION,
    CANCEL_ACTION,
    CONFIRM_ACTION,
    RESOLVE_ACTION,
    SlackMessage,
    render_notice,
    render_outcome,
    render_proposal,
    render_turn,
)
from bot.tools.base import Asker, ToolContext, ToolResult
from bot.tools.proposals import Outcome, execute
from bot.tools.registry import TOOLS_BY_NAME
from bot.tools.results import WindowEcho
from bot.tools.results.incidents import IncidentList, IncidentRow
from bot.tools.runner import run_tool
from tests.slack.blockkit import assert_valid, message_problems, text_size
from tests.tools.conftest import OBSERVER_EMAIL, ContextFactory, demo, large, make_ctx

FIXTURES = (demo, large, make_ctx)
"""The tools tests' fixtures (the demo and large sandboxes, a ToolContext per person), used here."""

# Tue 10 Mar 2026 15:00 in New York (Ben Carter's shift end on Platform Primary).
BEN_UNTIL = 1773169200


async def record(ctx: ToolContext, name: str, args: dict[str, Any]) -> ToolCallRecord:
    return ToolCallRecord(name, args, await run_tool(TOOLS_BY_NAME[name], args, ctx))


def turn_of(*records: ToolCallRecord, reply: str = "", mode: str = "command", notice: str | None = None) -> Turn:
    proposals = [r.result.proposal for r in records if r.result.proposal is not None]
    return Turn(reply=reply, mode=mode, tool_calls=list(records), proposals=proposals, notice=notice)  # type: ignore[arg-type]


def rendered(turn: Turn, ids: tuple[str, ...] = ()) -> SlackMessage:
    message = render_turn(turn, proposal_ids=ids)
    assert_valid(message.blocks, text=message.text)
    return message


def texts(message: SlackMessage) -> str:
    return json.dumps(message.blocks, ensure_ascii=False)


def buttons(message: SlackMessage) -> list[dict[str, Any]]:
    """The buttons that act (not link buttons, not a card's menu)."""
    return [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]
            if e["type"] == "button" and "url" not in e]


def incident_id(url: str) -> str:
    return url.rsplit("/", 1)[-1]


# --------------------------------------------------------------------------- incidents


async def test_incident_list_has_ack_and_resolve_buttons_per_open_incident(demo: Sandbox,
                                                                          make_ctx: ContextFactory) -> None:
    turn = await run_command(parse_command("incidents"), make_ctx(demo))  # type: ignore[arg-type]
    message = rendered(turn)
    rows = turn.tool_calls[0].result.data["incidents"]
    assert len(rows) == 10
    by_id: dict[str, list[str]] = {}
    for element in buttons(message):
        by_id.setdefault(element["value"], []).append(element["action_id"])
    for row in rows:
        expected = [ACK_ACTION, RESOLVE_ACTION] if row["status"] == "triggered" else [RESOLVE_ACTION]
        assert by_id[incident_id(row["url"])] == expected
        assert f"<{row['url']}|#{row['number']}>" in texts(message)
    assert "…and 30 more in <https://acme.pagerduty.com/incidents|PagerDuty>" in texts(message)
    assert "*Patterns*" in texts(message) and "Flapping" in texts(message)
    # MTTA and MTTR are over different incidents, and say which.
    assert ("Median time to acknowledge 13 min (26 acknowledged, 20 of them still open), to resolve 4.8 min "
            "(22 resolved, 16 never acknowledged)") in texts(message)
    # The command reply says the same as the blocks: it is not repeated, but it is the fallback text.
    assert not any(b["type"] == "markdown" for b in message.blocks)
    assert message.text.startswith("40 open incidents")


async def test_resolve_button_asks_for_confirmation(demo: Sandbox, make_ctx: ContextFactory) -> None:
    message = rendered(turn_of(await record(make_ctx(demo), "list_incidents", {"limit": 3})))
    resolve = next(e for e in buttons(message) if e["action_id"] == RESOLVE_ACTION)
    assert resolve["confirm"]["confirm"]["text"] == "Resolve"


async def test_one_incident_with_notes_times_and_buttons(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    call = await record(ctx, "get_incident", {"incident": "1148"})
    incident = call.result.data["incident"]
    assert incident["title"] == "Nightly export job exceeding SLA" and incident["status"] != "resolved"
    message = rendered(turn_of(call))
    body = texts(message)
    assert f"<{incident['url']}|#1148>" in body
    assert "*Notes* (2)" in body and "Still waiting on the vendor" in body
    assert "*Timeline*" in body and "<!date^" in body
    assert "*Assigned to*" in body
    assert {e["action_id"] for e in buttons(message)} >= {RESOLVE_ACTION}
    assert {e["value"] for e in buttons(message)} == {incident_id(incident["url"])}


async def test_resolved_incident_has_no_buttons(demo: Sandbox, make_ctx: ContextFactory) -> None:
    message = rendered(turn_of(await record(make_ctx(demo), "get_incident", {"incident": "1001"})))
    assert buttons(message) == []
    assert ":white_check_mark:" in texts(message)


async def test_no_open_incidents(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result = ToolResult.nothing("No open incidents on search.")
    message = rendered(turn_of(ToolCallRecord("list_incidents", {"service": "search"}, result)))
    assert "No open incidents on search." in texts(message)


async def test_same_incident_twice_keeps_block_ids_unique(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    listed = await record(ctx, "list_incidents", {"limit": 2})
    number = str(listed.result.data["incidents"][0]["number"])
    one = await record(ctx, "get_incident", {"incident": number})
    message = rendered(turn_of(listed, one, reply="Here they are.", mode="llm"))
    ids = [b["block_id"] for b in message.blocks if "block_id" in b]
    assert len(ids) == len(set(ids)) and any(i.endswith("~2") for i in ids)


# --------------------------------------------------------------------------- on call, services, policies


async def test_oncall_levels_people_and_until(demo: Sandbox, make_ctx: ContextFactory) -> None:
    turn = await run_command(parse_command("oncall platform-engineering"), make_ctx(demo))  # type: ignore[arg-type]
    message = rendered(turn)
    body = texts(message)
    assert "On call for <https://acme.pagerduty.com/service-directory/" in body
    for expected in ("*Level 1*: Ben Carter (Platform Primary) until", "*Level 2*: Emma Clarke",
                     "*Level 3*: Priya Raman, always on call"):
        assert expected in body
    assert f"<!date^{BEN_UNTIL}^{{date_short_pretty}} {{time}}|Tue 10 Mar 15:00 -04:00>" in body


async def test_oncall_lists_a_person_once_per_level(demo: Sandbox, make_ctx: ContextFactory) -> None:
    turn = await run_command(parse_command("oncall payments-api"), make_ctx(demo))  # type: ignore[arg-type]
    lines = [line for b in rendered(turn).blocks if b["type"] == "section" for line in b["text"]["text"].splitlines()]
    assert "*Level 2*: Diego Alvarez (direct, and Payments Secondary), always on call" in lines
    week = await run_command(parse_command("oncall me next week"), make_ctx(demo))  # type: ignore[arg-type]
    assert "Platform Primary" in texts(rendered(week)) and "Next:" not in texts(rendered(week))


async def test_oncall_for_a_schedule_and_for_me(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    schedule = rendered(turn_of(await record(ctx, "who_is_on_call", {"target": "Platform Primary"})))
    assert "Ben Carter until <!date^" in texts(schedule) and "Pages through" in texts(schedule)
    me = rendered(turn_of(await record(ctx, "who_is_on_call", {"target": "me", "window": "next week"})))
    assert "*You are " in texts(me)
    everyone = rendered(turn_of(await record(ctx, "who_is_on_call", {"target": None})))
    assert "Checkout &amp; Web" in texts(everyone)


async def test_service_health_is_one_table(demo: Sandbox, make_ctx: ContextFactory) -> None:
    turn = await run_command(parse_command("services"), make_ctx(demo))  # type: ignore[arg-type]
    message = rendered(turn)
    tables = [b for b in message.blocks if b["type"] == "table"]
    assert len(tables) == 1
    assert [c["text"] for c in tables[0]["rows"][0]] == ["Service", "Status", "Triggered", "Acknowledged",
                                                          "High urgency"]
    assert len(tables[0]["rows"]) == 1 + 8
    assert "8 services with open incidents" in texts(message) and "In maintenance: status-page" in texts(message)


async def test_second_service_health_falls_back_to_text(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    first = await record(ctx, "service_health", {})
    second = await record(ctx, "service_health", {"only_active": False})
    message = rendered(turn_of(first, second, mode="llm", reply="Two views."))
    assert sum(b["type"] == "table" for b in message.blocks) == 1
    assert ":red_circle: <https://acme.pagerduty.com/service-directory/" in texts(message)


async def test_escalation_chain(demo: Sandbox, make_ctx: ContextFactory) -> None:
    turn = await run_command(parse_command("policy Platform Engineering"), make_ctx(demo))  # type: ignore[arg-type]
    body = texts(rendered(turn))
    assert "Escalation policy <https://acme.pagerduty.com/escalation_policies/" in body
    assert "*Level 1* → schedule: Platform Primary" in body and "escalates after 15 min" in body
    assert "repeats 2 times after the last level" in body and "Services: platform-engineering" in body


# --------------------------------------------------------------------------- schedules, gaps, overrides


async def test_schedule_with_gaps(demo: Sandbox, make_ctx: ContextFactory) -> None:
    call = await record(make_ctx(demo), "get_schedule", {"schedule": "Search On-call", "window": "next week"})
    assert call.result.data["gap_count"] >= 1
    body = texts(rendered(turn_of(call)))
    assert "Search On-call>* next week (" in body and ":warning: nobody on call <!date^" in body
    assert "*Shifts*" in body and "(12 h)" in body


async def test_coverage_gaps_all_named_and_policy(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    every = texts(rendered(turn_of(await record(ctx, "find_coverage_gaps", {"window": "next week"}))))
    assert "*2 of 8 schedules have coverage gaps*" in every and "Fully covered: " in every
    named = await record(ctx, "find_coverage_gaps", {"schedules": ["Checkout Primary", "Nope"], "window": "next week"})
    body = texts(rendered(turn_of(named)))
    assert "has 1 coverage gap" in body and "Nope" in body
    policy = await record(ctx, "find_coverage_gaps", {"escalation_policy": "Platform Engineering"})
    assert "*Level 1* (Platform Primary)" in texts(rendered(turn_of(policy)))
    overview = await run_command(parse_command("schedule all"), ctx)  # type: ignore[arg-type]
    assert "have coverage gaps" in texts(rendered(overview))


async def test_overrides_and_none(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    body = texts(rendered(turn_of(await record(ctx, "list_overrides", {"schedule": "Platform Primary"}))))
    assert "*1 override on <https://acme.pagerduty.com/schedules/" in body and "(in progress)" in body
    assert "id `P7SH2OH`" in body
    none = await record(ctx, "list_overrides", {"schedule": "Mobile Primary"})
    assert none.result.status == "no_data"
    assert "No overrides on <https://acme.pagerduty.com/schedules/" in texts(rendered(turn_of(none)))


async def test_people_and_teams(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    body = texts(rendered(turn_of(await record(ctx, "find_people", {"query": None}))))
    assert "*23 people*" in body and "*Sam Rivera* · Manager" in body and "…and 3 more in <https://acme" in body
    assert "(6 members): Priya Raman (Manager)" in body and "Also: Data, Mobile" in body


# --------------------------------------------------------------------------- proposals and outcomes


async def test_proposal_card_confirm_and_cancel_carry_the_id(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    call = await record(ctx, "acknowledge_incidents", {"incidents": ["1252", "1001"]})
    proposal = call.result.proposal
    assert proposal is not None and proposal.operations
    message = rendered(turn_of(call, reply="I've prepared: acknowledge #1252. Confirm with the button below.",
                               mode="llm"), ("p-123",))
    elements = buttons(message)
    assert [(e["action_id"], e["value"]) for e in elements] == [(CONFIRM_ACTION, "p-123"), (CANCEL_ACTION, "p-123")]
    assert elements[0]["style"] == "primary"
    body = texts(message)
    assert ":pencil2: *Proposed:*" in body and "*Left alone*" in body and "#1001" in body
    assert "Waiting for confirmation" in message.text
    card = render_proposal(proposal, "p-123")
    assert_valid(card)
    assert card[-1]["block_id"] == "proposal:p-123"
    with pytest.raises(ValueError):
        render_proposal(proposal, "")


async def test_proposal_times_become_dates(demo: Sandbox, make_ctx: ContextFactory) -> None:
    call = await record(make_ctx(demo), "create_override", {"schedule": "Platform Primary", "user": "Ben Carter",
                                                            "start": None, "end": None, "window": "tomorrow"})
    body = texts(rendered(turn_of(call, mode="llm"), ("p-9",)))
    assert "2026-03-11T00:00-04:00" not in body and "<!date^1773201600^" in body


async def test_noop_proposal_has_no_buttons(demo: Sandbox, make_ctx: ContextFactory) -> None:
    call = await record(make_ctx(demo), "acknowledge_incidents", {"incidents": ["1001"]})
    message = rendered(turn_of(call, mode="llm"), ("p-1",))
    assert buttons(message) == [] and ":information_source: *Nothing to do:*" in texts(message)


async def test_proposal_without_an_id_cannot_be_confirmed(demo: Sandbox, make_ctx: ContextFactory) -> None:
    call = await record(make_ctx(demo), "acknowledge_incidents", {"incidents": ["1252"]})
    message = rendered(turn_of(call, mode="llm"))
    assert buttons(message) == [] and "cannot be confirmed from here" in texts(message)


async def test_outcome_replaces_the_card(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    call = await record(ctx, "acknowledge_incidents", {"incidents": ["1252"]})
    assert call.result.proposal is not None
    outcome = await execute(call.result.proposal, ctx.asker, ctx.client)
    assert outcome.ok
    message = render_outcome(outcome, actor_slack_id="U024BE7LH")
    assert_valid(message.blocks, text=message.text)
    body = texts(message)
    assert body.startswith('[{"type": "section", "text": {"type": "mrkdwn", "text": ":white_check_mark: Done as')
    assert "#1252" in body and "By <@U024BE7LH>" in body
    assert buttons(message) == []
    # A forged "Slack id" is never turned into a mention.
    assert "<@" not in texts(render_outcome(outcome, actor_slack_id="U1> <!channel"))


def test_outcome_failure_and_maybe_applied() -> None:
    failed = render_outcome(Outcome(False, "PagerDuty denied permission: Access Denied.", ["PUT /incidents: failed."]))
    assert_valid(failed.blocks, text=failed.text)
    assert texts(failed).startswith('[{"type": "section", "text": {"type": "mrkdwn", "text": ":x: PagerDuty denied')
    unsure = render_outcome(Outcome(False, "PagerDuty did not confirm this change.", [], maybe_applied=True))
    assert ":warning:" in texts(unsure)


async def test_command_write_shows_what_was_done(demo: Sandbox, make_ctx: ContextFactory) -> None:
    turn = await run_command(parse_command("ack 1252"), make_ctx(demo))  # type: ignore[arg-type]
    message = rendered(turn)
    assert ":white_check_mark: Done as Sam Rivera" in texts(message) and buttons(message) == []


# --------------------------------------------------------------------------- errors, prose, notices


async def test_error_with_troubleshooting_hint(demo: Sandbox) -> None:
    user = demo.world.user_by_email("sam.rivera@acme-payments.example")
    assert user is not None
    async with PagerDutyClient("sandbox-revoked-token", transport=demo.transport()) as client:
        ctx = ToolContext(client, Asker(user.id, user.email, user.name, ZoneInfo(user.time_zone), user.role),
                          demo.world.now)
        turn = await run_command(parse_command("incidents"), ctx)  # type: ignore[arg-type]
    message = rendered(turn)
    body = texts(message)
    assert ":warning: PagerDuty rejected the API token" in body
    assert "*What to do:* Check that PAGERDUTY_USER_API_KEY is a valid User API token" in body


async def test_observer_write_is_an_error(demo: Sandbox, make_ctx: ContextFactory) -> None:
    turn = await run_command(parse_command("ack 1252"), make_ctx(demo, OBSERVER_EMAIL))  # type: ignore[arg-type]
    body = texts(rendered(turn))
    assert ":warning: Olivia Observer has the observer role" in body and "*What to do:*" in body


async def test_llm_prose_as_markdown_then_the_data(demo: Sandbox, make_ctx: ContextFactory) -> None:
    call = await record(make_ctx(demo), "who_is_on_call", {"target": "platform-engineering"})
    reply = ("**Ben Carter** is on call for platform-engineering until Tue 10 Mar 15:00.\n\n"
             "- Level 2: Emma Clarke\n- Level 3: Priya Raman\n\n"
             "Open incident: [#1252](https://acme.pagerduty.com/incidents/P8KO0K4) & more.")
    message = rendered(turn_of(call, reply=reply, mode="llm"))
    first = message.blocks[0]
    assert first["type"] == "markdown"
    assert first["text"].startswith("**Ben Carter** is on call")
    assert "[#1252](https://acme.pagerduty.com/incidents/P8KO0K4) &amp; more." in first["text"]
    assert "*Level 1*: Ben Carter" in texts(message)
    assert message.text.startswith("*Ben Carter* is on call")
    assert "<https://acme.pagerduty.com/incidents/P8KO0K4|#1252> &amp; more." in message.text


async def test_llm_errors_the_model_fixed_are_not_shown(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    wrong = await record(ctx, "who_is_on_call", {"target": "platform-enginering"})
    assert wrong.result.status == "error"
    right = await record(ctx, "who_is_on_call", {"target": "platform-engineering"})
    message = rendered(turn_of(wrong, right, reply="Ben Carter is on call.", mode="llm"))
    assert ":warning:" not in texts(message)
    alone = rendered(turn_of(wrong, reply="I could not find that service.", mode="llm"))
    assert ":warning: " in texts(alone)


async def test_help_reply_is_shown_as_text(demo: Sandbox, make_ctx: ContextFactory) -> None:
    turn = await run_command(parse_command("help"), make_ctx(demo))  # type: ignore[arg-type]
    message = rendered(turn)
    assert message.blocks[0]["type"] == "section" and "Commands (exact, no AI needed)" in texts(message)


def test_notice_alone_and_on_a_turn() -> None:
    notice = render_notice("Only the person who asked can confirm this change.")
    assert_valid(notice.blocks, text=notice.text)
    assert notice.text == "Only the person who asked can confirm this change."
    turn = Turn(reply="Nobody is on call.", mode="command",
                notice="the model is unavailable: answered in command mode")
    message = rendered(turn)
    assert message.blocks[-1]["type"] == "context"
    assert "the model is unavailable" in message.blocks[-1]["elements"][0]["text"]


def test_empty_turn_still_renders() -> None:
    message = rendered(Turn(reply="", mode="llm"))
    assert message.blocks and message.text


# --------------------------------------------------------------------------- limits


def _synthetic_incidents(count: int) -> ToolResult[IncidentList]:
    tz = ZoneInfo("America/New_York")
    rows = tuple(IncidentRow(number=5000 + i, title=f"Disk {i} <!here> " + "x" * 90, id=f"PX{i:05d}",
                             url=f"https://acme.pagerduty.com/incidents/PX{i:05d}",
                             status=("triggered", "acknowledged")[i % 2], urgency="high", service=f"svc-{i % 7}",
                             created=datetime(2026, 3, 10, 9, 0, tzinfo=tz), age="1h",
                             assignees=("Ben Carter", "Aisha Khan")) for i in range(count))
    return ToolResult.ok(IncidentList(window=WindowEcho(label="any age", time_zone=tz.key), total=count,
                                      by_status={"triggered": count // 2, "acknowledged": count - count // 2},
                                      shown=count, more=False, incidents=rows))


def test_500_incidents_stay_within_limits() -> None:
    call = ToolCallRecord("list_incidents", {"limit": 100}, _synthetic_incidents(500))
    message = rendered(turn_of(call, reply="There are 500 open incidents.", mode="llm"))
    assert len(message.blocks) <= 50 and text_size(message.blocks) <= 11_000
    shown = {e["value"] for e in buttons(message)}
    assert 10 <= len(shown) < 25
    more = re.search(r"…and (\d+) more in <https://acme\.pagerduty\.com/incidents\|PagerDuty>", texts(message))
    assert more and int(more.group(1)) == 500 - len(shown)


async def test_large_account_list(large: Sandbox, make_ctx: ContextFactory) -> None:
    call = await record(make_ctx(large), "list_incidents", {"limit": 100})
    assert call.result.status == "ok" and call.result.data["total"] > 1000
    message = rendered(turn_of(call))
    assert len(message.blocks) <= 50
    # The heading's split is the account's; a sample's high-urgency count is not put there as a total.
    opened = large.world.open_incidents()
    triggered = sum(1 for i in opened if i.status == "triggered")
    heading = message.blocks[0]["text"]["text"]
    assert heading == f"*10,000 open incidents* ({triggered:,} triggered, {10_000 - triggered:,} acknowledged)"
    oldest = min(opened, key=lambda i: (i.created_at, i.number))
    assert re.search(rf"Oldest open: #{oldest.number} .*, open \d+ days", texts(message))
    assert "Patterns from a sample: the 100 newest of" in texts(message)
    assert re.search(r"…and [\d,]+ more in <https://[a-z0-9.-]+\.pagerduty\.com/incidents\|PagerDuty>",
                     texts(message))


def test_20000_character_reply_is_cut_within_limits() -> None:
    paragraph = ("The payments-api has been noisy all morning & the on-call engineer is busy. " * 6).strip()
    reply = "\n\n".join(f"{i}. {paragraph}" for i in range(45))
    assert len(reply) > 20_000
    message = rendered(Turn(reply=reply, mode="llm"))
    prose = [b for b in message.blocks if b["type"] == "markdown"]
    assert len(prose) == 1 and len(prose[0]["text"]) <= 11_000
    assert prose[0]["text"].endswith("too long for one Slack message._")
    assert text_size(message.blocks) <= 11_000


def test_long_reply_leaves_room_for_the_data() -> None:
    reply = "word " * 5_000
    call = ToolCallRecord("list_incidents", {"limit": 100}, _synthetic_incidents(60))
    message = rendered(turn_of(call, reply=reply, mode="llm"))
    assert len(buttons(message)) >= 10
    assert message_problems(message.blocks, message.text) == []


async def test_everything_at_once_stays_valid(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    plan: list[tuple[str, dict[str, Any]]] = [
        ("list_incidents", {"limit": 100}), ("service_health", {"only_active": False}),
        ("who_is_on_call", {"target": None, "window": "next week"}), ("get_schedule", {"schedule": None}),
        ("find_people", {"query": None}), ("get_escalation_policy", {"policy": "Payments"}),
        ("acknowledge_incidents", {"incidents": ["1252"]}), ("resolve_incidents", {"incidents": ["1251"]}),
        ("add_incident_note", {"incident": "1250", "note": "<!channel> rolling back " * 40}),
    ]
    calls = [await record(ctx, name, args) for name, args in plan]
    turn = turn_of(*calls, reply="x " * 3_000, mode="llm", notice="answered from a sample")
    message = rendered(turn, ("a", "b", "c"))
    assert [e["value"] for e in buttons(message) if e["action_id"] == CONFIRM_ACTION] == ["a", "b", "c"]
    assert message.blocks[-1]["type"] == "context"
