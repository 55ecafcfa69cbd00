"""``/alex <question>`` through Bolt's dispatch: acknowledged at once, answered ephemerally on the
command's ``response_url`` as the person who asked (also where alex is not a member), shared with Post
to channel, and the buttons on an ephemeral answer (a proposal's Confirm, an incident card's Ack) work
without ever posting in the channel."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from slack_bolt.response import BoltResponse

from bot.sandbox import Sandbox
from bot.sandbox.faults import Fault
from bot.slack import slash
from bot.slack.conversation import NOT_ALLOWED_HERE
from bot.slack.followups import AnsweredThreads
from tests.fakes.fake_slack import TEAM_ID
from tests.fakes.scripted_llm import ScriptedModel, call, calls, say
from tests.slack.conftest import (
    DM_SAM,
    GENERAL,
    MANAGER_EMAIL,
    OLIVIA,
    SAM,
    SlackFactory,
    SlackHarness,
    incident,
    triggered_number,
)
from tests.specs import BLOCK_KIT, required

ELSEWHERE = "C0NOTAMEMBER"
"""A channel alex is not in (conversations.info does not know it)."""
EPHEMERAL_TS = "1773151200.888888"
CHAT = ("chat.postMessage", "chat.update", "chat.postEphemeral")


# -- helpers (shared with test_shortcuts.py) ------------------------------------------------------

def ack_body(response: BoltResponse) -> dict[str, Any]:
    return json.loads(response.body) if response.body else {}


def values(message: dict[str, Any], action_id: str) -> list[str]:
    """The values of the elements with ``action_id`` in a response's blocks."""
    found: list[str] = []
    for block in message.get("blocks") or []:
        elements = list(block.get("elements") or []) + ([block["accessory"]] if block.get("accessory") else [])
        found += [str(e.get("value")) for e in elements if isinstance(e, dict) and e.get("action_id") == action_id]
    return found


def text_of(message: dict[str, Any]) -> str:
    """What the person reads: the fallback text and the blocks' texts (not the buttons' values)."""
    def shown(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: shown(v) for k, v in node.items() if k != "value"}
        return [shown(v) for v in node] if isinstance(node, list) else node

    return str(message.get("text") or "") + "\n" + json.dumps(shown(message.get("blocks") or []), ensure_ascii=False)


def problems(message: dict[str, Any]) -> list[str]:
    """What Slack would refuse in a response's blocks: our message rules and the Block Kit schema."""
    from tests.slack import blockkit

    blocks = message.get("blocks") or []
    found = blockkit.message_problems(blocks, str(message.get("text") or "")) if blocks else []
    schema = blockkit.schema_problems(blocks) if blocks else []
    if schema is None and required():
        found.append(BLOCK_KIT)
    return found + (schema or [])


def assert_responses_valid(slack: SlackHarness) -> None:
    invalid = {i: p for i, r in enumerate(slack.fake.responses) if (p := problems(r))}
    assert not invalid, invalid


def block_actions(slack: SlackHarness, action_id: str, value: str, *, user: str, channel: str = GENERAL,
                  block_id: str = "b1", selected: str | None = None) -> dict[str, Any]:
    """A click on an ephemeral message, as Slack sends it: the container says so, and there is no message."""
    action: dict[str, Any] = {"action_id": action_id, "block_id": block_id, "action_ts": "1773151300.000001"}
    if selected is None:
        action.update(type="button", value=value, text={"type": "plain_text", "text": "x"})
    else:
        action.update(type="static_select", selected_option={"text": {"type": "plain_text", "text": selected},
                                                               "value": selected})
    return {"type": "block_actions", "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
            "api_app_id": "A0ALEX", "token": "legacy-token", "trigger_id": "1.2.3",
            "container": {"type": "message", "message_ts": EPHEMERAL_TS, "channel_id": channel, "is_ephemeral": True},
            "team": {"id": TEAM_ID, "domain": "acme"}, "channel": {"id": channel, "name": "general"},
            "response_url": slack.fake.response_url(), "state": {"values": {}}, "actions": [action]}


async def click_ephemeral(slack: SlackHarness, action_id: str, value: str, *, user: str = SAM,
                          channel: str = GENERAL, **options: Any) -> None:
    payload = block_actions(slack, action_id, value, user=user, channel=channel, **options)
    response = await slack.send("payload=" + quote(json.dumps(payload)),
                                content_type="application/x-www-form-urlencoded")
    assert response.status == 200, response.body
    await slack.settle()


async def ask(slack: SlackHarness, text: str, **where: Any) -> dict[str, Any]:
    """``/alex <text>``: acknowledged at once with nothing to say, then answered on the response_url."""
    before = len(slack.fake.responses)
    response = await slack.slash(text, **where)
    assert ack_body(response) == {}, "the answer follows the acknowledgement"
    reply = await slack.responded(before + 1)
    assert reply["response_type"] == "ephemeral" and not reply.get("replace_original")
    return reply


def posts(slack: SlackHarness) -> list[str]:
    return [c.method for c in slack.fake.calls if c.method in CHAT]


# -- the answer ------------------------------------------------------------------------------------

async def test_a_question_is_answered_only_to_the_asker(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    reply = await ask(slack, "oncall platform-engineering", channel=GENERAL)
    said = text_of(reply)
    assert "platform-engineering" in said.lower() and "/alex" in said
    assert values(reply, slash.POST_ACTION), "a Post to channel button"
    assert slash.POST_LABEL in said
    assert posts(slack) == [], "nothing in the channel until the asker posts it"
    assert_responses_valid(slack)


async def test_the_command_is_acknowledged_before_pagerduty_answers(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    slack.sandbox.faults.add(Fault(path="/oncalls*", latency=1.0))
    response = await slack.slash("oncall platform-engineering", channel=GENERAL)
    assert response.status == 200 and ack_body(response) == {}
    assert slack.fake.responses == []  # PagerDuty has not answered yet
    assert "platform-engineering" in text_of(await slack.responded()).lower()


async def test_it_works_where_alex_is_not_a_member(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    reply = await ask(slack, "oncall platform-engineering", channel=ELSEWHERE)
    assert "platform-engineering" in text_of(reply).lower()
    assert posts(slack) == []
    # Post to channel: Slack refuses a conversation alex is not in; the asker is told, the answer stays.
    slack.fake.fail("chat.postMessage", "not_in_channel")
    await click_ephemeral(slack, slash.POST_ACTION, values(reply, slash.POST_ACTION)[0], channel=ELSEWHERE)
    notice = slack.fake.responses[-1]
    assert slash.NOT_A_MEMBER[:40] in text_of(notice) and not notice.get("replace_original")
    assert not any(r.get("delete_original") for r in slack.fake.responses)


async def test_post_to_channel_posts_the_same_answer_and_opens_its_thread(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    reply = await ask(slack, "oncall platform-engineering", channel=GENERAL)
    await click_ephemeral(slack, slash.POST_ACTION, values(reply, slash.POST_ACTION)[0])
    posted = await slack.reply()
    assert posted.args["channel"] == GENERAL and not posted.args.get("thread_ts")
    blocks = json.loads(posted.args["blocks"]) if isinstance(posted.args["blocks"], str) else posted.args["blocks"]
    assert f"<@{SAM}> asked alex" in json.dumps(blocks[0])
    assert blocks[1:] == reply["blocks"][1:-1], "the same answer, without the private heading and button"
    assert slack.fake.responses[-1].get("delete_original") is True, "the private copy goes away"
    assert await AnsweredThreads().answered(slack.rt.state, GENERAL, posted.answer["ts"]), "follow-ups need no @"
    assert_responses_valid(slack)


async def test_post_to_channel_asks_again_where_the_answer_is_gone(make_slack: SlackFactory,
                                                                   monkeypatch: Any) -> None:
    slack = await make_slack()
    reply = await ask(slack, "oncall platform-engineering", channel=GENERAL)
    monkeypatch.setattr(slash, "KEPT", slash.KeptAnswers())  # a restart, or another replica
    await click_ephemeral(slack, slash.POST_ACTION, values(reply, slash.POST_ACTION)[0])
    posted = await slack.reply()
    assert "Asked again" in json.dumps(posted.args["blocks"]) and "platform-engineering" in posted.args["text"].lower()


async def test_the_question_is_answered_as_the_person_asking(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    number = triggered_number(demo)
    refused = await ask(slack, f"ack {number}", user=OLIVIA, channel=GENERAL)  # an Observer
    assert "Observer" in text_of(refused) and slack.writes() == []
    await ask(slack, f"ack {number}", user=SAM, channel=GENERAL)  # typed exactly: the asker's own instruction
    assert slack.writes() == [("PUT", "/incidents", MANAGER_EMAIL)]
    assert incident(demo, number).status == "acknowledged"
    audited = [(e.action, e.outcome, e.requested_by, e.via) for e in await slack.rt.state.recent()
               if e.action == "acknowledge_incidents" and e.outcome != "started"]
    assert sorted(audited) == [("acknowledge_incidents", "ok", SAM, slash.VIA),
                               ("acknowledge_incidents", "refused", OLIVIA, slash.VIA)]
    assert posts(slack) == []


async def test_follow_ups_with_alex_share_memory(make_slack: SlackFactory) -> None:
    model = ScriptedModel([say("Emma Clarke is on call."), say("Next week it is Ben.")])
    slack = await make_slack(model)
    await ask(slack, "who is on call for payments-api?", channel=GENERAL)
    await ask(slack, "and next week?", channel=GENERAL)
    history = [m.get("content") for m in model.calls[1].messages if m["role"] in ("user", "assistant")]
    assert "who is on call for payments-api?" in history and "Emma Clarke is on call." in history
    model.assert_complete()


async def test_untrusted_question_text_is_escaped(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    reply = await ask(slack, "oncall <!channel> <https://evil.example|runbook>", channel=GENERAL)
    said = text_of(reply)
    assert "<!channel>" not in said and "<https://evil" not in said


async def test_refusals_that_need_nothing_looked_up_come_with_the_ack(make_slack: SlackFactory) -> None:
    slack = await make_slack(allowed_channels=frozenset({"C0WARROOM"}))
    too_long = ack_body(await slack.slash("x" * (slash.MAX_QUESTION_CHARS + 1), channel=DM_SAM))
    assert too_long["response_type"] == "ephemeral" and "2,000" in too_long["text"]
    assert ack_body(await slack.slash("oncall platform-engineering", channel=GENERAL))["text"] == NOT_ALLOWED_HERE
    token = "u+SOME-PASTED-TOKEN-VALUE-0c4f"
    assert ack_body(await slack.slash(f"link {token}", channel=DM_SAM))["text"] == slash.LINK_INSTEAD
    await slack.settle()
    assert slack.fake.responses == [] and list(slack.sandbox.requests) == []
    assert "platform-engineering" in text_of(await ask(slack, "oncall platform-engineering", channel=DM_SAM)).lower()


# -- buttons on an ephemeral answer ----------------------------------------------------------------

async def test_a_proposal_from_a_slash_question_is_confirmed_ephemerally(make_slack: SlackFactory,
                                                                          demo: Sandbox) -> None:
    number = triggered_number(demo)
    model = ScriptedModel([calls(call("acknowledge_incidents", {"incidents": [str(number)]})),
                           say("Prepared: confirm below.")])
    slack = await make_slack(model)
    reply = await ask(slack, "please ack the platform one", channel=ELSEWHERE)
    [pid] = values(reply, "proposal_confirm")
    assert slack.writes() == []
    await click_ephemeral(slack, "proposal_confirm", pid, channel=ELSEWHERE)
    outcome = slack.fake.responses[-1]
    assert outcome.get("replace_original") is True, "the outcome replaces the card"
    assert values(outcome, "proposal_confirm") == []
    assert slack.writes() == [("PUT", "/incidents", MANAGER_EMAIL)]
    assert incident(demo, number).status == "acknowledged"
    # A second click: already handled, said ephemerally; nothing runs again, nothing reaches the channel.
    await click_ephemeral(slack, "proposal_confirm", pid, channel=ELSEWHERE)
    assert "already" in text_of(slack.fake.responses[-1]) and not slack.fake.responses[-1].get("replace_original")
    assert len(slack.writes()) == 1
    assert posts(slack) == []
    assert_responses_valid(slack)


async def test_an_incident_card_button_on_an_ephemeral_answer_acts_as_the_clicker(make_slack: SlackFactory,
                                                                                  demo: Sandbox) -> None:
    slack = await make_slack()
    number = triggered_number(demo)
    reply = await ask(slack, f"incident {number}", channel=ELSEWHERE)
    [incident_id] = values(reply, "incident_ack")
    await click_ephemeral(slack, "incident_ack", incident_id, channel=ELSEWHERE)
    assert slack.writes() == [("PUT", "/incidents", MANAGER_EMAIL)]
    assert f"#{number}" in text_of(slack.fake.responses[-1])
    assert posts(slack) == []
