"""C. Write gating (reliability.md §6 C1–C9): nothing reaches PagerDuty without the asker's click, once,
before expiry, after a re-check, as a mapped person who may write; the model only sees write tools when
the asker could confirm one."""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import pytest

from bot.config import Settings
from bot.sandbox import Sandbox
from bot.tools.proposals import execute
from bot.tools.registry import READ_TOOLS, TOOLS_BY_NAME, WRITE_TOOLS
from bot.tools.runner import run_tool
from tests.fakes.fake_slack import SlackCall
from tests.fakes.scripted_llm import ScriptedModel, call, calls, say
from tests.reliability.conftest import ClientFactory
from tests.slack.conftest import (
    BEN,
    GENERAL,
    MANAGER_EMAIL,
    OLIVIA,
    RESPONDER_EMAIL,
    SAM,
    VISITOR,
    SlackFactory,
    SlackHarness,
    block_actions,
    blocks_of,
    buttons,
    incident,
    message_text,
    signed,
    triggered_number,
)

READ_NAMES = {t.name for t in READ_TOOLS}
WRITE_NAMES = {t.name for t in WRITE_TOOLS}


async def proposed(make_slack: SlackFactory, tool: str, arguments: dict[str, Any], *, user: str = SAM,
                   **options: Any) -> tuple[SlackHarness, SlackCall, str]:
    model = ScriptedModel([calls(call(tool, arguments)), say("Prepared: confirm below.")])
    slack = await make_slack(model, **options)
    await slack.mention("deal with it please", user=user)
    reply = await slack.reply()
    ids = buttons(reply, "proposal_confirm")
    assert len(ids) == 1, message_text(reply)
    return slack, reply, ids[0]


async def test_C1_model_resolve_makes_one_card_and_no_write(make_slack: SlackFactory, demo: Sandbox) -> None:
    number = triggered_number(demo)
    slack, reply, _ = await proposed(make_slack, "resolve_incidents",
                                     {"incidents": [str(number)], "resolution_note": None})
    text = message_text(reply)
    assert f"#{number}" in text and incident(demo, number).title.split()[0] in text and "triggered" in text
    assert len(slack.fake.of("chat.postMessage")) == 1
    await asyncio.sleep(0.2)
    assert slack.writes() == [] and incident(demo, number).status == "triggered"


async def test_C2_someone_else_clicking_confirm_is_refused(make_slack: SlackFactory, demo: Sandbox) -> None:
    number = triggered_number(demo)
    slack, reply, pid = await proposed(make_slack, "acknowledge_incidents", {"incidents": [str(number)]})
    await slack.click("proposal_confirm", pid, user=BEN, message=reply)
    notice = await slack.ephemeral()
    assert notice.args["user"] == BEN and "Only" in message_text(notice)
    assert slack.writes() == []


async def test_C3_double_and_concurrent_clicks_put_once(make_slack: SlackFactory, demo: Sandbox) -> None:
    number = triggered_number(demo)
    slack, reply, pid = await proposed(make_slack, "acknowledge_incidents", {"incidents": [str(number)]})
    await asyncio.gather(*(slack.click("proposal_confirm", pid, user=SAM, message=reply) for _ in range(4)))
    await slack.updated()
    await slack.settle()
    assert slack.writes() == [("PUT", "/incidents", MANAGER_EMAIL)]


async def test_C4_click_after_expiry_writes_nothing(make_slack: SlackFactory, demo: Sandbox) -> None:
    number = triggered_number(demo)
    slack, reply, pid = await proposed(make_slack, "acknowledge_incidents", {"incidents": [str(number)]})
    slack.clock.advance(11 * 60)
    await slack.click("proposal_confirm", pid, user=SAM, message=reply)
    assert "expired" in message_text(await slack.updated())
    assert slack.writes() == []


async def test_C5_forged_or_tampered_clicks_write_nothing(make_slack: SlackFactory, demo: Sandbox) -> None:
    number = triggered_number(demo)
    slack, reply, pid = await proposed(make_slack, "acknowledge_incidents", {"incidents": [str(number)]})
    # A payload with the arguments in the value, or another id: the lookup fails.
    for value in (json.dumps({"incidents": [str(number)]}), pid[:-1] + ("A" if pid[-1] != "A" else "B")):
        await slack.click("proposal_confirm", value, user=SAM, message=reply)
    await slack.updated(2)
    # A real id, but the request is not signed by Slack: 401 before any listener.
    raw = "payload=" + quote(json.dumps(block_actions("proposal_confirm", pid, user=SAM, message=reply)))
    response = await slack.send(raw, content_type="application/x-www-form-urlencoded", secret="forged")
    assert response.status == 401
    headers = signed(raw, content_type="application/x-www-form-urlencoded")
    from slack_bolt.request.async_request import AsyncBoltRequest

    tampered = raw.replace(quote(pid), quote(pid + "x"))
    assert (await slack.app.async_dispatch(AsyncBoltRequest(body=tampered, headers=headers))).status == 401
    await slack.settle()
    assert slack.writes() == []


async def test_C6_incident_resolved_elsewhere_before_the_click(make_slack: SlackFactory, demo: Sandbox,
                                                               pd_ctx: ClientFactory) -> None:
    number = triggered_number(demo)
    slack, reply, pid = await proposed(make_slack, "resolve_incidents",
                                       {"incidents": [str(number)], "resolution_note": None})
    aisha, _ = pd_ctx(demo, RESPONDER_EMAIL)
    elsewhere = await run_tool(TOOLS_BY_NAME["resolve_incidents"], {"incidents": [str(number)],
                                                                    "resolution_note": None}, aisha)
    assert elsewhere.proposal is not None
    assert (await execute(elsewhere.proposal, aisha.asker, aisha.client)).ok
    before = len(slack.writes())
    await slack.click("proposal_confirm", pid, user=SAM, message=reply)
    outcome = await slack.updated()
    assert slack.writes()[before:] == [], "no second PUT"
    assert "already resolved" in message_text(outcome)


async def test_C7_an_approver_without_a_pagerduty_account_is_refused(make_slack: SlackFactory,
                                                                      demo: Sandbox) -> None:
    number = triggered_number(demo)
    slack, reply, pid = await proposed(make_slack, "acknowledge_incidents", {"incidents": [str(number)]},
                                       approver_group="S0APPROVE")
    slack.fake.add_usergroup("S0APPROVE", [VISITOR])
    await slack.click("proposal_confirm", pid, user=VISITOR, message=reply)
    outcome = await slack.updated()
    assert "no PagerDuty account" in message_text(outcome)
    assert slack.writes() == [] and incident(demo, number).status == "triggered"


@pytest.mark.parametrize("user", [OLIVIA, VISITOR])
async def test_C8_people_who_cannot_write_get_read_tools_only(make_slack: SlackFactory, user: str) -> None:
    model = ScriptedModel([say("Here is what I can tell you.")])
    slack = await make_slack(model)
    await slack.mention("resolve everything", user=user)
    await slack.reply()
    assert set(model.calls[0].tool_names) == READ_NAMES
    assert slack.writes() == []


async def test_C8_read_only_setting_removes_every_write(make_slack: SlackFactory, demo: Sandbox,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALEX_READ_ONLY", "true")
    assert Settings(_env_file=None).read_only  # how `alex serve` reads it
    number = triggered_number(demo)
    model = ScriptedModel([calls(call("acknowledge_incidents", {"incidents": [str(number)]})),
                           say("I can't change anything here.")])
    slack = await make_slack(model, read_only=True)
    await slack.mention("ack it please")
    reply = await slack.reply()
    assert set(model.calls[0].tool_names) == READ_NAMES and not WRITE_NAMES & set(model.calls[0].tool_names)
    assert model.calls[1].tool_results()[0]["status"] == "error", "an unknown tool for the model"
    assert buttons(reply, "proposal_confirm") == []
    await slack.mention(f"ack {number}")  # a typed write command
    typed = await slack.reply(2)
    assert "read-only" in message_text(typed)
    await slack.click("incident_ack", incident(demo, number).id, user=SAM)  # an incident card button
    await slack.settle()
    await asyncio.sleep(0.1)
    assert slack.writes() == [] and incident(demo, number).status == "triggered"


async def test_C8_a_responder_gets_every_tool(make_slack: SlackFactory) -> None:
    model = ScriptedModel([say("ok")])
    slack = await make_slack(model)
    await slack.mention("hello there, what can you do")
    await slack.reply()
    assert set(model.calls[0].tool_names) == READ_NAMES | WRITE_NAMES


async def test_C9_executed_writes_carry_from_and_lose_their_buttons(make_slack: SlackFactory,
                                                                    demo: Sandbox) -> None:
    number = triggered_number(demo)
    slack, reply, pid = await proposed(make_slack, "add_incident_note",
                                       {"incident": str(number), "note": "failing over"})
    await slack.click("proposal_confirm", pid, user=SAM, message=reply)
    outcome = await slack.updated()
    assert slack.writes() == [("POST", f"/incidents/{incident(demo, number).id}/notes", MANAGER_EMAIL)]
    assert buttons(outcome, "proposal_confirm") == [] and buttons(outcome, "proposal_cancel") == []
    assert len(blocks_of(outcome)) <= 50
    assert outcome.args["channel"] == GENERAL
