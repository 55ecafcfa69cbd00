"""Buttons through Bolt's dispatch: Confirm runs a proposal exactly once, only for the person who asked
(or an approver), before it expires, after re-checking the current state; Cancel drops it; incident
card buttons act at once as the person who clicked, within their PagerDuty role.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from bot.sandbox import Sandbox
from bot.slack.buttons import swap_buttons
from tests.fakes.fake_slack import SlackCall
from tests.fakes.scripted_llm import ScriptedModel, call, calls, say
from tests.slack.conftest import (
    AISHA,
    BEN,
    GENERAL,
    MANAGER_EMAIL,
    OLIVIA,
    RESPONDER_EMAIL,
    SAM,
    SlackFactory,
    SlackHarness,
    blocks_of,
    buttons,
    incident,
    message_text,
    triggered_number,
)

BEN_EMAIL = "ben.carter@acme-payments.example"


async def proposed(make_slack: SlackFactory, demo: Sandbox, tool: str, arguments: dict[str, Any], *,
                   user: str = SAM, **options: Any) -> tuple[SlackHarness, SlackCall, str]:
    """Sam (by default) asks; the scripted model prepares ``tool``; returns the posted card and its id."""
    model = ScriptedModel([calls(call(tool, arguments)), say("Prepared: confirm below.")])
    slack = await make_slack(model, **options)
    await slack.mention("deal with it please", user=user)
    reply = await slack.reply()
    ids = buttons(reply, "proposal_confirm")
    assert len(ids) == 1, message_text(reply)
    assert buttons(reply, "proposal_cancel") == ids
    assert slack.writes() == [], "nothing runs before the click"
    return slack, reply, ids[0]


async def propose_ack(make_slack: SlackFactory, demo: Sandbox,
                      **options: Any) -> tuple[SlackHarness, SlackCall, str, int]:
    number = triggered_number(demo)
    slack, reply, pid = await proposed(make_slack, demo, "acknowledge_incidents", {"incidents": [str(number)]},
                                       **options)
    return slack, reply, pid, number


# -- Confirm ----------------------------------------------------------------------------------------

async def test_confirm_by_the_asker_runs_once_as_the_asker(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack, reply, pid, number = await propose_ack(make_slack, demo)
    await slack.click("proposal_confirm", pid, user=SAM, message=reply)
    update = await slack.updated()
    assert slack.writes() == [("PUT", "/incidents", MANAGER_EMAIL)]
    assert incident(demo, number).status == "acknowledged"
    assert (update.args["channel"], update.args["ts"]) == (GENERAL, reply.answer["ts"])
    assert buttons(update, "proposal_confirm") == [] and buttons(update, "proposal_cancel") == []
    assert len(blocks_of(update)) <= 50
    assert "Sam Rivera" in message_text(update) or SAM in message_text(update)
    # A later click finds it already handled: nothing runs again.
    await slack.click("proposal_confirm", pid, user=SAM, message=reply)
    notice = await slack.ephemeral()
    assert notice.args["user"] == SAM and "already" in message_text(notice)
    assert len(slack.writes()) == 1


async def test_confirm_by_someone_else_is_refused(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack, reply, pid, number = await propose_ack(make_slack, demo)
    await slack.click("proposal_confirm", pid, user=BEN, message=reply)
    notice = await slack.ephemeral()
    assert notice.args["user"] == BEN and notice.args["channel"] == GENERAL
    assert "Only" in message_text(notice)
    assert slack.writes() == [] and slack.fake.of("chat.update") == []
    # The proposal is still the asker's to confirm.
    await slack.click("proposal_confirm", pid, user=SAM, message=reply)
    await slack.updated()
    assert slack.writes() == [("PUT", "/incidents", MANAGER_EMAIL)]


async def test_a_double_click_runs_once(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack, reply, pid, number = await propose_ack(make_slack, demo)
    await asyncio.gather(*(slack.click("proposal_confirm", pid, user=SAM, message=reply) for _ in range(3)))
    await slack.updated()
    await slack.ephemeral(2)
    await slack.settle()
    assert slack.writes() == [("PUT", "/incidents", MANAGER_EMAIL)]
    assert len(slack.fake.of("chat.update")) == 1


async def test_an_expired_proposal_does_nothing(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack, reply, pid, number = await propose_ack(make_slack, demo, ttl_s=600)
    slack.clock.advance(601)
    await slack.click("proposal_confirm", pid, user=SAM, message=reply)
    update = await slack.updated()
    assert "expired" in message_text(update)
    assert buttons(update, "proposal_confirm") == []
    assert slack.writes() == []
    assert incident(demo, number).status == "triggered"


async def test_an_unknown_proposal_says_so(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack, reply, pid, number = await propose_ack(make_slack, demo)
    await slack.click("proposal_confirm", "not-a-proposal-id", user=SAM, message=reply)
    update = await slack.updated()
    assert "no longer available" in message_text(update)
    assert slack.writes() == []


async def test_confirm_rechecks_the_current_state(make_slack: SlackFactory, demo: Sandbox) -> None:
    number = triggered_number(demo)
    slack, reply, pid = await proposed(make_slack, demo, "resolve_incidents",
                                       {"incidents": [str(number)], "resolution_note": None})
    await slack.mention(f"resolve {number}", user=AISHA)  # someone else resolves it meanwhile
    await slack.reply(2)
    assert slack.writes() == [("PUT", "/incidents", RESPONDER_EMAIL)]
    await slack.click("proposal_confirm", pid, user=SAM, message=reply)
    update = await slack.updated()
    assert slack.writes() == [("PUT", "/incidents", RESPONDER_EMAIL)], "not resolved a second time"
    assert "Nothing to do" in message_text(update) or "already" in message_text(update)


async def test_an_acknowledgement_never_reopens_an_incident_resolved_meanwhile(make_slack: SlackFactory,
                                                                              demo: Sandbox) -> None:
    slack, reply, pid, number = await propose_ack(make_slack, demo)
    await slack.mention(f"resolve {number}", user=AISHA)
    await slack.reply(2)
    await slack.click("proposal_confirm", pid, user=SAM, message=reply)
    await slack.updated()
    assert slack.writes() == [("PUT", "/incidents", RESPONDER_EMAIL)]
    assert incident(demo, number).status == "resolved"


async def test_a_note_proposal_is_added_once_as_the_asker(make_slack: SlackFactory, demo: Sandbox) -> None:
    number = triggered_number(demo)
    slack, reply, pid = await proposed(make_slack, demo, "add_incident_note",
                                       {"incident": str(number), "note": "Failing over to the replica."})
    await slack.click("proposal_confirm", pid, user=SAM, message=reply)
    await slack.updated()
    assert slack.writes() == [("POST", f"/incidents/{incident(demo, number).id}/notes", MANAGER_EMAIL)]


async def test_an_approver_may_confirm_as_themselves(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack, reply, pid, number = await propose_ack(make_slack, demo, approver_group="S0APPROVERS")
    slack.fake.add_usergroup("S0APPROVERS", [BEN])
    await slack.click("proposal_confirm", pid, user=BEN, message=reply)
    await slack.updated()
    assert slack.writes() == [("PUT", "/incidents", BEN_EMAIL)]


async def test_cancel_removes_the_buttons_and_nothing_runs(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack, reply, pid, number = await propose_ack(make_slack, demo)
    await slack.click("proposal_cancel", pid, user=SAM, message=reply)
    update = await slack.updated()
    assert "Cancelled" in message_text(update)
    assert buttons(update, "proposal_confirm") == [] and buttons(update, "proposal_cancel") == []
    await slack.click("proposal_confirm", pid, user=SAM, message=reply)
    notice = await slack.ephemeral()
    assert "cancelled" in message_text(notice)
    assert slack.writes() == []


# -- incident card buttons --------------------------------------------------------------------------

async def incident_list(slack: SlackHarness) -> SlackCall:
    await slack.mention("incidents platform-engineering")
    return await slack.reply()


async def test_card_ack_acts_as_the_person_who_clicked(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    listing = await incident_list(slack)
    target = incident(demo, triggered_number(demo))
    assert target.id in buttons(listing, "incident_ack"), "the list offers Ack on the triggered incident"
    await slack.click("incident_ack", target.id, user=AISHA, message=listing)
    outcome = await slack.reply(2)
    assert outcome.args["thread_ts"] == listing.args["thread_ts"]
    assert slack.writes() == [("PUT", "/incidents", RESPONDER_EMAIL)]
    assert target.status == "acknowledged"
    assert "Aisha" in message_text(outcome) or AISHA in message_text(outcome)


async def test_card_resolve_acts_as_the_person_who_clicked(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    listing = await incident_list(slack)
    target = incident(demo, triggered_number(demo))
    await slack.click("incident_resolve", target.id, user=SAM, message=listing)
    await slack.reply(2)
    assert slack.writes() == [("PUT", "/incidents", MANAGER_EMAIL)]
    assert target.status == "resolved"


async def test_card_buttons_refuse_an_observer(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    listing = await incident_list(slack)
    target = incident(demo, triggered_number(demo))
    await slack.click("incident_ack", target.id, user=OLIVIA, message=listing)
    notice = await slack.ephemeral()
    assert notice.args["user"] == OLIVIA and "observer" in message_text(notice)
    assert slack.writes() == []
    assert target.status == "triggered"


async def test_a_card_double_click_runs_once(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    listing = await incident_list(slack)
    target = incident(demo, triggered_number(demo))
    await asyncio.gather(*(slack.click("incident_ack", target.id, user=SAM, message=listing) for _ in range(2)))
    await slack.reply(2)
    notice = await slack.ephemeral()
    assert "a moment ago" in message_text(notice)
    assert slack.writes() == [("PUT", "/incidents", MANAGER_EMAIL)]
    assert len(slack.fake.of("chat.postMessage")) == 2


# -- the swap ---------------------------------------------------------------------------------------

def test_only_the_proposal_buttons_are_replaced() -> None:
    mine = {"type": "actions", "elements": [
        {"type": "button", "action_id": "proposal_confirm", "value": "p1", "text": {"type": "plain_text", "text": "C"}},
        {"type": "button", "action_id": "proposal_cancel", "value": "p1", "text": {"type": "plain_text", "text": "X"}}]}
    other = json.loads(json.dumps(mine).replace('"p1"', '"p2"'))
    prose = {"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}
    done = {"type": "context", "elements": [{"type": "mrkdwn", "text": "Done."}]}
    assert swap_buttons([prose, mine, other], "p1", [done]) == [prose, done, other]
    assert swap_buttons([prose], "p1", [done]) == [prose, done]
    many = [prose] * 50 + [mine]
    assert len(swap_buttons(many, "p1", [done, done])) == 50
