"""A. Slack ingress (reliability.md §6 A1–A9): signed requests through Bolt's dispatch, FakeSlack, the demo
sandbox. Every refused or ignored request must run no listener: no LLM call, no post, no PagerDuty call."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.agent.llm import ModelReply
from bot.config import Settings
from bot.slack.conversation import NOT_ALLOWED_HERE
from bot.slack.serve import web_app
from tests.fakes.fake_slack import BOT_ID, BOT_USER_ID, TEAM_ID
from tests.fakes.scripted_llm import ScriptedModel, say
from tests.reliability.conftest import quiet
from tests.slack.conftest import DM_SAM, GENERAL, SAM, SECRET, SlackFactory, SlackHarness, event_callback, signed

OTHER = "C0OTHER"


def mention_event(slack: SlackHarness, text: str = "what's open?", channel: str = GENERAL) -> dict[str, Any]:
    ts = slack.ts()
    return {"type": "app_mention", "user": SAM, "text": f"<@{BOT_USER_ID}> {text}", "ts": ts, "event_ts": ts,
            "channel": channel, "team": TEAM_ID}


async def deliver(slack: SlackHarness, raw: str, headers: dict[str, str]) -> BoltResponse:
    return await slack.app.async_dispatch(AsyncBoltRequest(body=raw, headers=headers))


async def test_A1_signed_mention_gets_one_threaded_reply_and_a_fast_ack(make_slack: SlackFactory) -> None:
    async def slow(messages: list[dict[str, Any]]) -> ModelReply:
        await asyncio.sleep(1.0)  # the listener is slow: the ack must not wait for it
        return say("Nothing is on fire.")

    model = ScriptedModel([slow])
    slack = await make_slack(model)
    event = mention_event(slack)
    started = time.monotonic()
    response = await slack.event(event)
    acked_in = time.monotonic() - started
    assert response.status == 200
    assert acked_in < 1.0 < 3.0, f"ack took {acked_in:.2f}s: it waited for the listener"
    reply = await slack.reply()
    await asyncio.sleep(0.1)
    posts = slack.fake.of("chat.postMessage")
    assert len(posts) == 1 and reply.args["thread_ts"] == event["ts"] and reply.args["channel"] == GENERAL
    assert len(model.calls) == 1


async def test_A2_bad_signature_missing_headers_or_altered_body_is_401(make_slack: SlackFactory) -> None:
    model = ScriptedModel([])
    slack = await make_slack(model)
    raw = json.dumps(event_callback(mention_event(slack), "EvA2"))
    good = signed(raw)
    assert (await slack.send(raw, secret="not-the-secret")).status == 401
    assert (await deliver(slack, raw, {"content-type": "application/json"})).status == 401
    no_signature = {k: v for k, v in good.items() if k != "x-slack-signature"}
    assert (await deliver(slack, raw, no_signature)).status == 401
    altered = raw.replace("what's open?", "what's open!")
    assert len(altered) == len(raw) and altered != raw
    assert (await deliver(slack, altered, good)).status == 401
    await quiet(slack)
    assert model.calls == [] and not slack.sandbox.requests


async def test_A3_timestamps_older_or_newer_than_five_minutes_are_401(make_slack: SlackFactory) -> None:
    model = ScriptedModel([say("ok")])
    slack = await make_slack(model)
    now = int(time.time())
    for skew in (-301, 301):
        raw = json.dumps(event_callback(mention_event(slack), f"EvA3{skew}"))
        assert (await slack.send(raw, timestamp=now + skew)).status == 401, skew
    await quiet(slack)
    assert model.calls == []
    raw = json.dumps(event_callback(mention_event(slack), "EvA3ok"))
    # A fresh "now": under load the lines above can take seconds, which would push 299 s past the window.
    assert (await slack.send(raw, timestamp=int(time.time()) - 295)).status == 200
    await slack.reply()
    assert len(model.calls) == 1


async def test_A4_non_numeric_timestamp_is_401_with_no_traceback_and_runs_nothing(
        make_slack: SlackFactory, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    model = ScriptedModel([])
    slack = await make_slack(model)
    raw = json.dumps(event_callback(mention_event(slack), "EvA4"))
    front_door = web_app(slack.app, signing_secret=SECRET)  # `alex serve`'s HTTP front door
    async with TestClient(TestServer(front_door)) as http:
        for stamp in ("not-a-number", "1e9", " 12", "", "١٢٣"):  # the last: Arabic-Indic digits
            headers = {**signed(raw), "x-slack-request-timestamp": stamp}
            response = await http.post("/slack/events", data=raw.encode(), headers=headers)
            body = await response.text()
            assert response.status == 401, (stamp, response.status, body)
            assert "Traceback" not in body
    await quiet(slack)
    assert model.calls == [] and not slack.sandbox.requests
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_A5_retried_deliveries_answer_once(make_slack: SlackFactory) -> None:
    model = ScriptedModel([say("Two incidents are open.")])
    slack = await make_slack(model)
    raw = json.dumps(event_callback(mention_event(slack), "EvA5"))
    statuses = []
    for retry in (None, "1", "2"):
        headers = signed(raw)
        if retry is not None:
            headers |= {"x-slack-retry-num": retry, "x-slack-retry-reason": "http_timeout"}
        statuses.append((await deliver(slack, raw, headers)).status)
    assert statuses == [200, 200, 200]
    await slack.reply()
    await asyncio.sleep(0.2)
    await slack.settle()
    assert len(slack.fake.of("chat.postMessage")) == 1 and len(model.calls) == 1


async def test_A6_same_event_id_without_retry_header_answers_once(make_slack: SlackFactory) -> None:
    model = ScriptedModel([say("ok")])
    slack = await make_slack(model)
    event = mention_event(slack)
    assert (await slack.event(event, event_id="EvA6")).status == 200
    assert (await slack.event(event, event_id="EvA6")).status == 200
    await slack.reply()
    await asyncio.sleep(0.2)
    await slack.settle()
    assert len(slack.fake.of("chat.postMessage")) == 1 and len(model.calls) == 1


async def test_A7_two_events_with_the_same_text_get_two_replies(make_slack: SlackFactory) -> None:
    model = ScriptedModel([say("first"), say("second")])
    slack = await make_slack(model)
    await slack.mention("what's open?")
    await slack.mention("what's open?")
    await slack.reply(2)
    assert len(slack.fake.of("chat.postMessage")) == 2 and len(model.calls) == 2


async def test_A8_bot_self_and_edited_messages_run_no_llm(make_slack: SlackFactory) -> None:
    model = ScriptedModel([])
    slack = await make_slack(model)
    await slack.dm("what's open?", user=BOT_USER_ID)
    await slack.dm("what's open?", user="U0OTHERBOT", bot_id="B0OTHER")
    await slack.dm("what's open?", subtype="bot_message", bot_id=BOT_ID)
    await slack.dm("what's open?", subtype="message_changed", message={"text": "what's open?", "user": SAM})
    own_mention = {**mention_event(slack), "user": BOT_USER_ID}
    assert (await slack.event(own_mention)).status == 200
    other_bot = {**mention_event(slack), "bot_id": "B0OTHER"}
    assert (await slack.event(other_bot)).status == 200
    await quiet(slack)
    assert model.calls == [] and not slack.sandbox.requests


async def test_A9_channel_allowlist_refuses_politely_with_no_pagerduty_calls(make_slack: SlackFactory,
                                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALEX_ALLOWED_CHANNELS", f" {GENERAL} , C0INCIDENTS")
    allowed = Settings(_env_file=None).allowed_channel_ids  # how `alex serve` reads it
    assert allowed == {GENERAL, "C0INCIDENTS"}
    model = ScriptedModel([say("allowed here"), say("and in DMs")])
    slack = await make_slack(model, allowed_channels=allowed)
    refused_event = await slack.mention("what's open?", channel=OTHER)
    refusal = await slack.reply()
    assert refusal.args["channel"] == OTHER and refusal.args["thread_ts"] == refused_event["ts"]
    assert NOT_ALLOWED_HERE.split(",")[0] in (refusal.args.get("text") or "")
    assert not slack.sandbox.requests, "not even the look-up of who asked"
    assert model.calls == []
    # An allowlisted channel and a DM are answered.
    await slack.mention("what's open?", channel=GENERAL)
    await slack.reply(2)
    await slack.dm("what's open?", channel=DM_SAM)
    await slack.reply(3)
    assert len(model.calls) == 2
    # A button in a channel that is not allowlisted runs nothing either.
    before = len(slack.sandbox.requests)
    await slack.click("incident_ack", "Q1ABCDEF", user=SAM, channel=OTHER)
    notice = (await slack.fake.wait_for("chat.postEphemeral"))[0]
    await slack.settle()
    assert NOT_ALLOWED_HERE.split(",")[0] in (notice.args.get("text") or "")
    assert len(slack.sandbox.requests) == before


async def test_A9_no_allowlist_means_every_channel(make_slack: SlackFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALEX_ALLOWED_CHANNELS", "")
    slack = await make_slack(allowed_channels=Settings(_env_file=None).allowed_channel_ids)
    await slack.mention("services", channel=OTHER)
    reply = await slack.reply()
    assert NOT_ALLOWED_HERE.split(",")[0] not in (reply.args.get("text") or "")
