"""The Slack app through Bolt's dispatch: mentions, threads, DMs, signatures, what is ignored, the working
status, war rooms, thread memory, and ``alex serve``'s setup and HTTP endpoints.

Signed requests go to ``app.async_dispatch``; the Web API is a local fake (tests/fakes/fake_slack.py);
PagerDuty is the demo sandbox; the agent runs in command mode or with a scripted model.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import socket
import time
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr

from bot.agent.prompt import ChannelInfo, suggested_prompts
from bot.config import Settings
from bot.slack.conversation import strip_mention
from bot.slack.serve import missing_settings, run_http, serve
from bot.slack.warroom import WarRoomRequest, incident_in, incidents_in, understand
from tests.fakes.fake_slack import BOT_ID, BOT_USER_ID, SlackCall
from tests.fakes.scripted_llm import ScriptedModel, call, calls, say
from tests.slack.conftest import (
    AISHA,
    DM_SAM,
    GENERAL,
    MANAGER_EMAIL,
    OBSERVER_EMAIL,
    OLIVIA,
    SAM,
    SECRET,
    VISITOR,
    SlackFactory,
    SlackHarness,
    block_problems,
    blocks_of,
    buttons,
    incident,
    message_text,
    signed,
    triggered_number,
)


def assert_valid_blocks(call: SlackCall) -> None:
    """Fallback text, blocks, our Block Kit rules and (when shared/specs has it) the Block Kit schema."""
    assert not block_problems(call), block_problems(call)


def assert_answer(call: SlackCall, channel: str, thread_ts: str) -> None:
    assert call.args["channel"] == channel
    assert call.args["thread_ts"] == thread_ts
    assert call.args.get("unfurl_links") is False and call.args.get("unfurl_media") is False
    assert_valid_blocks(call)


# -- conversations ----------------------------------------------------------------------------------

async def test_mention_in_a_channel_is_answered_in_its_thread(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    event = await slack.mention("oncall platform-engineering")
    reply = await slack.reply()
    assert_answer(reply, GENERAL, event["ts"])
    assert "Platform" in message_text(reply)
    assert slack.fake.of("auth.test"), "Bolt learns the bot's identity from auth.test"


async def test_mention_inside_a_thread_stays_in_that_thread(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    parent = slack.ts()
    await slack.mention("services", thread_ts=parent)
    reply = await slack.reply()
    assert_answer(reply, GENERAL, parent)


async def test_a_dm_is_answered(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    event = await slack.dm("incidents")
    reply = await slack.reply()
    assert_answer(reply, DM_SAM, event["ts"])
    assert slack.fake.of("conversations.info") == [], "a DM needs no channel lookup"


async def test_a_dm_greeting_offers_the_suggested_prompts(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    await slack.dm("hi")
    reply = await slack.reply()
    text = message_text(reply)
    assert "Sam" in text
    assert suggested_prompts()[0] in text
    assert {r.path for r in slack.sandbox.requests} == {"/users"}, "only the look-up of who Sam is"


async def test_the_asker_sees_alex_working_before_the_answer(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    event = await slack.mention("incidents")
    await slack.reply()
    methods = slack.fake.methods()
    assert methods.index("assistant.threads.setStatus") < methods.index("chat.postMessage")
    status = slack.fake.of("assistant.threads.setStatus")[0].args
    assert (status["channel_id"], status["thread_ts"]) == (GENERAL, event["ts"])
    assert status["status"]


async def test_a_reaction_shows_alex_working_where_the_status_is_refused(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    slack.fake.fail("assistant.threads.setStatus", "not_allowed_token_type")
    event = await slack.mention("services")
    await slack.reply()
    methods = slack.fake.methods()
    assert methods.index("reactions.add") < methods.index("chat.postMessage")
    reaction = slack.fake.of("reactions.add")[0].args
    assert (reaction["channel"], reaction["timestamp"], reaction["name"]) == (GENERAL, event["ts"], "eyes")


async def test_the_mention_is_stripped_before_the_agent_sees_it(make_slack: SlackFactory) -> None:
    model = ScriptedModel([say("Hello.")])
    slack = await make_slack(model)
    await slack.mention("what's up with checkout today?")
    await slack.reply()
    sent = model.calls[0].last("user")["content"]
    assert "what's up with checkout today?" in sent and BOT_USER_ID not in sent
    assert strip_mention(f"<@{BOT_USER_ID}>  ack 12 ", BOT_USER_ID) == "ack 12"
    assert strip_mention("<@UOTHER|alex> ack 12", None) == "ack 12"


async def test_follow_ups_in_a_thread_use_its_memory(make_slack: SlackFactory) -> None:
    model = ScriptedModel([say("Emma Clarke is on call."), say("Until Monday 09:00.")])
    slack = await make_slack(model)
    first = await slack.mention("who covers platform tonight, roughly?")
    await slack.reply()
    await slack.mention("and until when?", thread_ts=first["ts"])
    second = await slack.reply(2)
    assert second.args["thread_ts"] == first["ts"]
    history = [m.get("content") for m in model.calls[1].messages]
    assert "Emma Clarke is on call." in history, "the follow-up saw the thread's first exchange"


# -- what is ignored --------------------------------------------------------------------------------

async def quiet(slack: SlackHarness) -> None:
    await asyncio.sleep(0.2)
    await slack.settle()
    assert slack.fake.of("chat.postMessage") == []


async def test_own_messages_and_other_bots_are_ignored(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    await slack.dm("incidents", user=BOT_USER_ID)
    await slack.dm("incidents", user="U0OTHERBOT", bot_id="B0OTHER")
    await slack.dm("incidents", subtype="bot_message", bot_id=BOT_ID)
    await quiet(slack)


async def test_edits_and_deletions_are_ignored(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    await slack.dm("incidents", subtype="message_changed", message={"text": "incidents", "user": SAM})
    await slack.dm("", subtype="message_deleted")
    await quiet(slack)


async def test_a_retried_delivery_is_answered_once(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    event = {"type": "message", "channel": DM_SAM, "channel_type": "im", "user": SAM, "text": "services",
             "ts": slack.ts()}
    assert (await slack.event(event, event_id="Ev-same")).status == 200
    assert (await slack.event(event, event_id="Ev-same")).status == 200
    await slack.reply()
    await asyncio.sleep(0.2)
    await slack.settle()
    assert len(slack.fake.of("chat.postMessage")) == 1


async def test_channel_messages_without_a_mention_are_not_answered(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    await slack.event({"type": "message", "channel": GENERAL, "channel_type": "channel", "user": SAM,
                       "text": "incidents", "ts": slack.ts()})
    await quiet(slack)


# -- signatures -------------------------------------------------------------------------------------

async def test_a_bad_signature_is_refused(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    raw = json.dumps({"type": "event_callback", "event": {"type": "app_mention", "user": SAM, "text": "x",
                                                           "ts": "1.1", "channel": GENERAL}})
    response = await slack.send(raw, secret="not-the-secret")
    assert response.status == 401
    await quiet(slack)


async def test_an_expired_timestamp_is_refused(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    raw = json.dumps({"type": "event_callback", "event": {"type": "app_mention", "user": SAM, "text": "x",
                                                           "ts": "1.1", "channel": GENERAL}})
    response = await slack.send(raw, timestamp=int(time.time()) - 600)
    assert response.status == 401
    await quiet(slack)


# -- identity and permission ------------------------------------------------------------------------

async def test_people_are_looked_up_once_for_several_messages(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    await slack.dm("services")
    await slack.reply()
    await slack.dm("incidents")
    await slack.reply(2)
    assert len(slack.fake.of("users.info")) == 1
    assert len([r for r in slack.sandbox.requests if r.path == "/users"]) == 1


async def test_someone_without_a_pagerduty_account_can_read_but_not_write(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    number = triggered_number(slack.sandbox)
    await slack.mention("services", user=VISITOR)
    assert_valid_blocks(await slack.reply())
    await slack.mention(f"ack {number}", user=VISITOR)
    refused = await slack.reply(2)
    assert "no PagerDuty account" in message_text(refused)
    assert slack.writes() == []
    assert incident(slack.sandbox, number).status == "triggered"


async def test_unmapped_reads_can_be_turned_off(make_slack: SlackFactory) -> None:
    slack = await make_slack(allow_unmapped_reads=False)
    await slack.mention("services", user=VISITOR)
    reply = await slack.reply()
    assert "PagerDuty account" in message_text(reply)
    assert [r.path for r in slack.sandbox.requests] == ["/users"], "only the look-up of who they are"


async def test_a_typed_command_writes_as_the_asker(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    number = triggered_number(slack.sandbox)
    await slack.mention(f"ack {number}", user=AISHA)
    await slack.reply()
    assert slack.writes() == [("PUT", "/incidents", "aisha.khan@acme-payments.example")]
    assert incident(slack.sandbox, number).status == "acknowledged"


async def test_an_observer_cannot_write(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    number = triggered_number(slack.sandbox)
    await slack.mention(f"ack {number}", user=OLIVIA)
    reply = await slack.reply()
    assert "observer" in message_text(reply).lower()
    assert slack.writes() == []


async def test_the_slack_time_zone_drives_time_windows(make_slack: SlackFactory) -> None:
    model = ScriptedModel([say("ok")])
    slack = await make_slack(model)
    slack.fake.add_user(SAM, email=MANAGER_EMAIL, tz="Asia/Tokyo", name="Sam Rivera")
    await slack.mention("what time is it for me?")
    await slack.reply()
    system = model.calls[0].messages[0]["content"]
    assert "Asia/Tokyo" in system


# -- war rooms --------------------------------------------------------------------------------------

async def test_ack_this_in_a_war_room_channel_proposes_acking_its_incident(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    number = triggered_number(slack.sandbox)
    slack.fake.add_channel("C0WARROOM", f"inc-{number}-db-cpu")
    event = await slack.mention("ack this", channel="C0WARROOM")
    reply = await slack.reply()
    assert_answer(reply, "C0WARROOM", event["ts"])
    assert slack.writes() == [], "a deictic write waits for a click"
    assert f"#{number}" in message_text(reply)
    [pid] = buttons(reply, "proposal_confirm")
    await slack.click("proposal_confirm", pid, user=SAM, message=reply, channel="C0WARROOM")
    await slack.updated()
    assert slack.writes() == [("PUT", "/incidents", MANAGER_EMAIL)]
    assert incident(slack.sandbox, number).status == "acknowledged"


async def test_add_a_note_in_a_thread_about_an_incident_targets_it(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    number = triggered_number(slack.sandbox)
    parent = slack.ts()
    slack.fake.add_thread(GENERAL, parent, f"[#{number}] High CPU on db-primary-1")
    await slack.mention("add a note: failing over to the replica", thread_ts=parent)
    reply = await slack.reply()
    assert slack.writes() == []
    [pid] = buttons(reply, "proposal_confirm")
    await slack.click("proposal_confirm", pid, user=SAM, message=reply)
    await slack.updated()
    target = incident(slack.sandbox, number)
    assert slack.writes() == [("POST", f"/incidents/{target.id}/notes", MANAGER_EMAIL)]


async def test_the_model_is_told_about_the_war_room(make_slack: SlackFactory) -> None:
    model = ScriptedModel([say("ok")])
    slack = await make_slack(model)
    slack.fake.add_channel("C0WARROOM", "inc-1221-db")
    await slack.mention("what changed in the last hour on this one?", channel="C0WARROOM")
    await slack.reply()
    assert "#1221" in model.calls[0].messages[0]["content"]


def test_war_room_phrases() -> None:
    room = ChannelInfo("war_room", 4521)
    assert understand("ack this", room) == WarRoomRequest("ack 4521", propose=True)
    assert understand("please acknowledge it", room) == WarRoomRequest("ack 4521", propose=True)
    assert understand("add a note: db restarted", room) == WarRoomRequest("note 4521 db restarted", propose=True)
    assert understand("resolve this: rolled back", room) == WarRoomRequest("resolve 4521 rolled back", propose=True)
    assert understand("ack 12", room) == WarRoomRequest("ack 12"), "an explicit command stays as typed"
    assert understand("ack this and page Ben", room) == WarRoomRequest("ack this and page Ben")
    assert understand("ack this", ChannelInfo("channel")) == WarRoomRequest("ack this")
    assert understand("note: {x}", room) == WarRoomRequest("note 4521 {x}", propose=True)
    ambiguous = understand("resolve it", ChannelInfo("channel", candidates=(1252, 1200)))
    assert ambiguous.question is not None and "#1252" in ambiguous.question and "#1200" in ambiguous.question
    assert incident_in("[#4521] Disk full") == "4521"
    assert incident_in("Incident 88 triggered on payments-api") == "88"
    assert incident_in("see https://acme.pagerduty.com/incidents/Q1ABCDEF") == "Q1ABCDEF"
    assert incident_in("<#C0123|general> nothing else") is None
    assert incident_in("incident 1252 is the one; see runbook step #1200") == "1252"
    assert incident_in("runbook step #1200 for incident 1252") == "1252"
    assert incidents_in("incident 1252 and incident 1200") == ("1252", "1200")
    assert incidents_in("#7 then #9, again #7") == ("7", "9")


# -- proposals from the model -----------------------------------------------------------------------

async def test_a_model_proposal_is_posted_with_confirm_buttons_and_not_executed(make_slack: SlackFactory) -> None:
    model = ScriptedModel([calls(call("acknowledge_incidents", {"incidents": ["1221"]})),
                           say("I prepared the acknowledgement: confirm below.")])
    slack = await make_slack(model)
    await slack.mention("please take 1221 off the pager")
    reply = await slack.reply()
    assert_valid_blocks(reply)
    assert "proposal_confirm" in json.dumps(blocks_of(reply))
    assert slack.writes() == []


# -- alex serve -------------------------------------------------------------------------------------

def serve_args(**overrides: Any) -> argparse.Namespace:
    values: dict[str, Any] = {"sandbox": True, "dataset": "demo", "now": None, "as_email": None}
    values.update(overrides)
    return argparse.Namespace(**values)


SLACK_VARS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "PAGERDUTY_USER_API_KEY")


async def test_serve_names_missing_settings_never_values(monkeypatch: pytest.MonkeyPatch,
                                                         tmp_path: Any) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    for name in SLACK_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s3cret-value")
    err = io.StringIO()
    assert await serve(serve_args(sandbox=False), err) == 2
    text = err.getvalue()
    assert "SLACK_BOT_TOKEN" in text and "PAGERDUTY_USER_API_KEY" in text
    assert "s3cret-value" not in text and "SLACK_SIGNING_SECRET" not in text


async def test_serve_reports_a_port_in_use(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.chdir(tmp_path)
    for name in (*SLACK_VARS, "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        monkeypatch.setenv("PORT", str(taken.getsockname()[1]))
        monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-not-used")
        monkeypatch.setenv("SLACK_SIGNING_SECRET", "not-used")
        err = io.StringIO()
        assert await serve(serve_args(), err) == 2
    assert "address already in use" in err.getvalue().lower() or "errno" in err.getvalue().lower()
    assert "xoxb-not-used" not in err.getvalue()


def test_which_settings_serve_needs() -> None:
    blank = Settings(_env_file=None).model_copy(  # type: ignore[call-arg]
        update={"slack_bot_token": None, "slack_signing_secret": None, "slack_app_token": None,
                "pagerduty_user_api_key": None})
    assert [m.split()[0] for m in missing_settings(blank, sandbox=True)] == ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"]
    socket = blank.model_copy(update={"slack_bot_token": SecretStr("xoxb-1"), "slack_app_token": SecretStr("xapp-1")})
    assert missing_settings(socket, sandbox=True) == []
    assert [m.split()[0] for m in missing_settings(socket, sandbox=False)] == ["PAGERDUTY_USER_API_KEY"]


async def test_http_mode_serves_events_and_health(make_slack: SlackFactory, unused_tcp_port: int) -> None:
    slack = await make_slack()
    ready = asyncio.Event()
    server = asyncio.ensure_future(run_http(slack.app, unused_tcp_port, io.StringIO(), signing_secret=SECRET,
                                            host="127.0.0.1", ready=ready))
    try:
        await asyncio.wait_for(ready.wait(), 10)
        async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{unused_tcp_port}") as http:
            health = await http.get("/healthz")
            assert (health.status_code, health.json()) == (200, {"ok": True})
            unsigned = await http.post("/slack/events", content=b'{"type":"event_callback"}',
                                       headers={"content-type": "application/json"})
            assert unsigned.status_code == 401
            challenge = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "t"})
            verified = await http.post("/slack/events", content=challenge.encode(), headers=signed(challenge))
            assert verified.status_code == 200 and "c-123" in verified.text
    finally:
        server.cancel()
        with pytest.raises(asyncio.CancelledError):
            await server


async def test_serve_runtime_in_the_sandbox_maps_people_by_email(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.slack.serve import build_runtime, slack_client

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    settings = settings.model_copy(update={"slack_bot_token": SecretStr("xoxb-1")})
    rt = build_runtime(settings, slack_client(settings), sandbox=True, stand_in_email=OBSERVER_EMAIL)
    try:
        observer = await rt.backend.find_user(OBSERVER_EMAIL)
        assert observer is not None and observer["role"] == "observer"
        assert rt.agent.model is None
    finally:
        await rt.aclose()


async def test_serving_with_slack_bot_token_set_logs_no_spurious_token_warning(
        make_slack: SlackFactory, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    with caplog.at_level(logging.WARNING):
        await make_slack()
    assert not [r for r in caplog.records if "will be unused" in r.getMessage()]


async def test_the_models_own_call_mistakes_stay_out_of_the_answer(make_slack: SlackFactory) -> None:
    """An unknown tool or malformed arguments go back to the model (typed ``about_the_call``), not into the
    Slack answer as a warning; the model's prose answers."""
    model = ScriptedModel([calls(call("who_is_oncall", {"target": "x"}), call("who_is_on_call", "{not json")),
                           say("Let me answer without that: Ben Carter is on call.")])
    slack = await make_slack(model)
    await slack.mention("who is on call for platform engineering?")
    reply = await slack.reply()
    text = message_text(reply)
    assert "Ben Carter is on call" in text
    assert ":warning:" not in text and "no tool named" not in text and "not valid JSON" not in text
