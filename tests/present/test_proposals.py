"""Proposals and outcomes: the card and outcome blocks, and the plain text of a write that waits or ran."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.present.kit.limits import Room
from bot.present.proposals import (
    CANCEL_ACTION,
    CONFIRM_ACTION,
    outcome_blocks,
    proposal_card,
    proposal_text,
    render_executed,
    render_proposal,
    sent_texts,
    write_text,
)
from bot.sandbox import Sandbox
from bot.tools.base import Operation, Proposal, TargetOutcome
from bot.tools.proposals import FIRST_WENT_THROUGH, Outcome, execute
from bot.tools.registry import TOOLS_BY_NAME
from bot.tools.results.writes import WriteRan
from bot.tools.runner import run_tool
from tests.tools.conftest import ContextFactory, demo, make_ctx

FIXTURES = (demo, make_ctx)
ACK = Proposal("acknowledge_incidents", "Acknowledge #1200 and #1206",
               ("#1200 Canary failing (payments-api, triggered) -> acknowledged",
                "#1206 Push cleanup (mobile, triggered) -> acknowledged"),
               (Operation("PUT", "/incidents", {"incidents": [{"id": "P1", "type": "incident_reference",
                                                              "status": "acknowledged"}]}, kind="bulk_status"),),
               ("#1204 High CPU is already acknowledged (platform, acknowledged)",), ("P1", "P6"))


def done(number: int, title: str, state: str) -> TargetOutcome:
    return TargetOutcome("done", f"#{number}", state, 200, number, f"#{number} {title}", state)


def texts(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


async def proposal_for(sandbox: Sandbox, make_ctx: ContextFactory, tool: str, args: dict[str, Any]) -> Proposal:
    result = await run_tool(TOOLS_BY_NAME[tool], args, make_ctx(sandbox))
    assert result.proposal is not None, result.to_model()
    return result.proposal


# --------------------------------------------------------------------------- plain text


def test_a_waiting_write_says_what_would_change_and_what_is_left_alone() -> None:
    assert proposal_text(ACK).splitlines() == [
        "Acknowledge #1200 and #1206: confirm below.", *ACK.lines,
        "#1204 High CPU is already acknowledged (platform, acknowledged)"]


def test_an_acknowledgement_names_what_changed_then_each_target_left_alone() -> None:
    outcome = Outcome(True, "Done as Sam Rivera: acknowledge #1200 and #1206.", ["…"], entries=[
        TargetOutcome("no_op", "#1204", "#1204 High CPU is already acknowledged", None, 1204, "#1204 High CPU",
                      "acknowledged", "already"),
        done(1200, "Canary failing", "acknowledged"), done(1206, "Push cleanup", "acknowledged"),
        TargetOutcome("no_op", "#1001", "x", None, 1001, "#1001 Login", "resolved", "would_reopen"),
        TargetOutcome("no_op", "P9", "P9: no longer visible in PagerDuty; left alone", reason="gone"),
    ])
    assert write_text(ACK, outcome, "Europe/London").splitlines() == [
        "Acknowledged #1200 and #1206. #1204 was already acknowledged. #1001 is resolved, so it was left alone "
        "(acknowledging would reopen it). P9: no longer visible in PagerDuty; left alone.",
        "• #1200 Canary failing", "• #1206 Push cleanup"]


def test_a_resolve_adds_its_resolution_note_from_the_typed_field_only_when_something_changed() -> None:
    resolve = Proposal("resolve_incidents", "Resolve #1200", ("#1200 Canary (api, triggered) -> resolved",
                                                              "Resolution note: Rolled back"), (),
                       resolution_note="Rolled back v42")
    changed = Outcome(True, "Done.", entries=[done(1200, "Canary", "resolved")])
    assert write_text(resolve, changed, None).splitlines() == [
        "Resolved #1200.", "• #1200 Canary", "Resolution note: Rolled back v42"]
    meanwhile = Outcome(True, "Nothing changed, it was already done: resolve #1200.", entries=[
        TargetOutcome("no_op", "#1200", "d", None, 1200, "#1200 Canary", "resolved", "already")])
    assert write_text(resolve, meanwhile, None) == "#1200 was already resolved."
    landed = Outcome(True, "Done.", entries=[TargetOutcome("done", "#1200", "d", None, 1200, "#1200 Canary",
                                                           "resolved", "first_went_through")])
    assert write_text(resolve, landed, None).splitlines()[0] == f"Resolved #1200. {FIRST_WENT_THROUGH}"
    assert write_text(resolve, Outcome(True, "Done as Sam."), None) == "Done as Sam."


def test_a_note_names_its_incident_from_the_typed_label() -> None:
    note = Proposal("add_incident_note", "Add a note to #1204 High CPU", ("#1204 High CPU (…)", "Note: hi"), (),
                    target_label="#1204 High CPU")
    assert write_text(note, Outcome(True, "Done."), "UTC") == "Added your note to #1204 High CPU."


def test_other_writes_and_failures_show_their_lines_with_times_written_out_and_the_zone_once() -> None:
    cover = Proposal("create_override", "Put Aisha on call for Primary from 2026-03-10T09:00-04:00",
                     ("Aisha covers Primary.", "Replaces Emma, 2026-03-10T09:00-04:00 to 2026-03-10T17:00-04:00"), ())
    outcome = Outcome(True, "Done.", ["Override P1: Aisha from 2026-03-10T09:00-04:00 to 2026-13-45T99:99Z."])
    assert write_text(cover, outcome, "America/New_York").splitlines() == [
        "Done: put Aisha on call for Primary from Tue 10 Mar 09:00.",
        "• Replaces Emma, Tue 10 Mar 09:00 to Tue 10 Mar 17:00",
        "• Override P1: Aisha from Tue 10 Mar 09:00 to 2026-13-45T99:99Z.",  # no real time: left as it is
        "Times are in America/New_York."]
    failed = Outcome(False, "PagerDuty refused it.", ["PUT /incidents: failed."])
    assert write_text(ACK, failed, "UTC") == "PagerDuty refused it.\n• PUT /incidents: failed."


async def test_command_mode_text_of_real_writes(demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    note = await proposal_for(demo, make_ctx, "add_incident_note", {"incident": "1204", "note": "Failing over"})
    assert write_text(note, await execute(note, ctx.asker, ctx.client), ctx.tz.key) == (
        "Added your note to #1204 High CPU on db-primary-1.")
    resolve = await proposal_for(demo, make_ctx, "resolve_incidents",
                                 {"incidents": ["1200", "1001"], "resolution_note": "Rolled back v42"})
    assert write_text(resolve, await execute(resolve, ctx.asker, ctx.client), ctx.tz.key).splitlines() == [
        "Resolved #1200. #1001 was already resolved.", "• #1200 Payments API canary failing in eu-west-1",
        "Resolution note: Rolled back v42"]


# --------------------------------------------------------------------------- Block Kit


def test_the_card_shows_the_sent_text_and_carries_the_buttons() -> None:
    sent = Operation("POST", "/incidents/P4/notes", {"note": {"content": "<!channel> *look*"}}, kind="note")
    note = Proposal("add_incident_note", "Add a note to #1204", ("#1204 High CPU", "Note: <!channel> *look*"),
                    (sent,), target_label="#1204")
    assert sent_texts(note) == ["<!channel> *look*"]
    blocks = render_proposal(note, "p-1")
    shown = texts(blocks)
    assert "*Proposed:* Add a note to #1204" in shown and "&lt;!channel&gt;" in shown and "<!channel>" not in shown
    buttons = blocks[-1]
    assert buttons["type"] == "actions" and buttons["block_id"] == "proposal:p-1"
    assert [(b["action_id"], b["value"]) for b in buttons["elements"]] == [(CONFIRM_ACTION, "p-1"),
                                                                          (CANCEL_ACTION, "p-1")]
    unbuttoned = proposal_card(note, None)
    assert all(b["type"] != "actions" for b in unbuttoned)
    assert "This change cannot be confirmed from here." in texts(unbuttoned)
    with pytest.raises(ValueError):
        render_proposal(note, "")


def test_a_card_whose_sent_text_is_not_shown_is_refused() -> None:
    hidden = Proposal("add_incident_note", "Add a note to #1204", ("#1204 High CPU",),
                      (Operation("POST", "/incidents/P4/notes", {"note": {"content": "wire money"}}, kind="note"),))
    blocks = proposal_card(hidden, "p-1")
    assert len(blocks) == 2 and "Can't be confirmed here" in texts(blocks)
    assert all(b["type"] != "actions" for b in blocks)


def test_a_card_with_nothing_to_do_lists_what_is_left_alone_without_buttons() -> None:
    nothing = Proposal("acknowledge_incidents", "Nothing to do: acknowledge #1204", (), (), ACK.noops)
    shown = texts(proposal_card(nothing, "p-1"))
    assert "*Nothing to do:* acknowledge #1204" in shown and "*Left alone*" in shown and "actions" not in shown


def test_an_outcome_mentions_who_confirmed_only_when_it_is_a_slack_user() -> None:
    blocks = outcome_blocks(True, "Done as Sam: acknowledge #1200.", ["#1200: acknowledged"], actor_slack_id="U0SAM")
    assert blocks[-1] == {"type": "context", "elements": [{"type": "mrkdwn", "text": "By <@U0SAM>"}]}
    assert ":white_check_mark: Done as Sam" in texts(blocks)
    forged = outcome_blocks(False, "Failed.", [], actor_slack_id="<!channel>")
    assert "By" not in texts(forged) and ":x: Failed." in texts(forged)
    assert ":warning:" in texts(outcome_blocks(False, "Maybe.", [], maybe_applied=True))


def test_a_write_command_mode_ran_shows_its_outcome_from_the_typed_record() -> None:
    ran = WriteRan.of(ACK)
    assert ran.wire() == {k: v for k, v in ACK.as_dict().items() if k != "needs_confirmation"}
    nothing = render_executed(Outcome(True, ""), ran, Room())
    assert "Acknowledge #1200 and #1206" in texts(nothing)
    assert "#1204 High CPU is already acknowledged" in texts(nothing)
    did = render_executed(Outcome(True, "Done as Sam.", ["#1200: acknowledged"]), ran, Room())
    assert "Done as Sam." in texts(did) and "already acknowledged" not in texts(did)
