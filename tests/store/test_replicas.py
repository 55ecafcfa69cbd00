"""Two Slack app instances sharing one Redis behave as one bot: a delivery is answered once, a double
click runs once. Rate limits stop a flood before the model is called. Every write lands in the audit log
with who asked, who confirmed, what and PagerDuty's answer (and no secret)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.sandbox import Sandbox
from bot.slack.runtime import CHANNEL_RATE_LIMITED, RATE_LIMITED, RateLimits
from bot.store.redis import RedisState
from bot.store.sqlite import SQLiteState
from tests.fakes.fake_slack import BOT_USER_ID, TEAM_ID
from tests.fakes.scripted_llm import ScriptedModel, call, calls, say
from tests.slack.conftest import (
    AISHA,
    GENERAL,
    MANAGER_EMAIL,
    SAM,
    SlackHarness,
    buttons,
    incident,
    message_text,
    triggered_number,
)
from tests.store.conftest import ReplicaFactory


def mention_event(text: str, ts: str, *, user: str = SAM, channel: str = GENERAL) -> dict[str, object]:
    return {"type": "app_mention", "user": user, "text": f"<@{BOT_USER_ID}> {text}", "ts": ts, "event_ts": ts,
            "channel": channel, "team": TEAM_ID}


async def settle(*replicas: SlackHarness) -> None:
    for replica in replicas:
        await replica.settle()


async def test_two_replicas_answer_a_delivery_once(make_replica: ReplicaFactory, redis_url: str) -> None:
    one = await make_replica(RedisState.from_url(redis_url))
    two = await make_replica(RedisState.from_url(redis_url))
    event = mention_event("oncall platform-engineering", "1773151200.000001")
    responses = await asyncio.gather(one.event(event, event_id="EvSAME"), two.event(event, event_id="EvSAME"),
                                     one.event(event, event_id="EvSAME"), two.event(event, event_id="EvSAME"))
    assert [r.status for r in responses] == [200] * 4, "every delivery is acknowledged"
    await one.fake.wait_for("chat.postMessage", 1)
    await settle(one, two)
    assert len(one.fake.of("chat.postMessage")) == 1
    # A different event is answered (by whichever replica gets it).
    await two.event(mention_event("oncall platform-engineering", "1773151200.000002"), event_id="EvOTHER")
    await two.fake.wait_for("chat.postMessage", 2)
    await settle(one, two)
    assert len(one.fake.of("chat.postMessage")) == 2


async def test_a_double_click_across_replicas_runs_once(make_replica: ReplicaFactory, redis_url: str,
                                                        demo: Sandbox) -> None:
    number = triggered_number(demo)
    model = ScriptedModel([calls(call("acknowledge_incidents", {"incidents": [str(number)]})),
                           say("Prepared: confirm below.")])
    one = await make_replica(RedisState.from_url(redis_url), model)
    two = await make_replica(RedisState.from_url(redis_url))
    await one.mention("ack the platform one please")
    card = await one.reply()
    [pid] = buttons(card, "proposal_confirm")
    assert one.writes() == []
    await asyncio.gather(one.click("proposal_confirm", pid, user=SAM, message=card),
                         two.click("proposal_confirm", pid, user=SAM, message=card))
    await one.fake.wait_for("chat.update", 1)
    await one.fake.wait_for("chat.postEphemeral", 1)
    await settle(one, two)
    assert one.writes() == [("PUT", "/incidents", MANAGER_EMAIL)], "exactly one PUT"
    assert incident(demo, number).status == "acknowledged"
    assert "already confirmed" in message_text(one.fake.of("chat.postEphemeral")[0])
    entry, started = await two.rt.state.recent(10)
    assert started.outcome == "started" and started.attempt_id == entry.attempt_id
    assert (entry.action, entry.outcome, entry.via) == ("acknowledge_incidents", "ok", "button")
    assert (entry.requested_by, entry.confirmed_by, entry.actor_email) == (SAM, SAM, MANAGER_EMAIL)
    assert entry.pd_status == ("2xx",) and entry.channel == GENERAL
    assert entry.operations[0]["method"] == "PUT" and entry.operations[0]["path"] == "/incidents"
    assert entry.targets == (incident(demo, number).id,)


async def test_rate_limits_answer_politely_without_the_model(make_replica: ReplicaFactory, tmp_path: Path) -> None:
    model = ScriptedModel([say("first answer"), say("second answer"), say("aisha's answer")])
    slack = await make_replica(SQLiteState(tmp_path / "s.sqlite3"), model,
                               rate_limits=RateLimits(per_user=2, per_channel=100))
    for i in range(4):
        await slack.mention(f"how are things {i}")
    await slack.fake.wait_for("chat.postMessage", 3)
    await slack.settle()
    posts = slack.fake.of("chat.postMessage")
    assert len(posts) == 3, "over the limit: one polite reply, then silence"
    assert len(model.calls) == 2, "no model call over the limit"
    assert sum(RATE_LIMITED[:40] in message_text(p) for p in posts) == 1
    await slack.mention("and for me?", user=AISHA)
    await slack.fake.wait_for("chat.postMessage", 4)
    await slack.settle()
    assert "aisha" in message_text(slack.fake.of("chat.postMessage")[-1])
    model.assert_complete()


async def test_channel_rate_limit(make_replica: ReplicaFactory, tmp_path: Path) -> None:
    slack = await make_replica(SQLiteState(tmp_path / "s.sqlite3"), rate_limits=RateLimits(per_channel=1))
    await slack.mention("oncall platform-engineering")
    await slack.mention("oncall platform-engineering", user=AISHA)
    await slack.fake.wait_for("chat.postMessage", 2)
    await slack.settle()
    posts = slack.fake.of("chat.postMessage")
    assert len(posts) == 2 and sum(CHANNEL_RATE_LIMITED[:40] in message_text(p) for p in posts) == 1


async def test_typed_writes_are_audited(make_replica: ReplicaFactory, tmp_path: Path, demo: Sandbox) -> None:
    path = tmp_path / "state.sqlite3"
    slack = await make_replica(SQLiteState(path))
    number = triggered_number(demo)
    await slack.mention(f"ack {number}")
    await slack.reply()
    assert slack.writes() == [("PUT", "/incidents", MANAGER_EMAIL)]
    done, started = await slack.rt.state.recent(10)
    assert started.outcome == "started"
    assert (done.action, done.outcome, done.via, done.requested_by, done.confirmed_by) == (
        "acknowledge_incidents", "ok", "command", SAM, SAM)
    assert done.pd_status == ("2xx",) and done.thread_ts is not None and done.channel == GENERAL
    assert not any(token in done.to_json() for token in demo.world.tokens), "no token in the audit log"
    # The log survives a restart (the SQLite file).
    await slack.rt.state.aclose()
    reopened = SQLiteState(path)
    try:
        assert await reopened.recent(10) == [done, started]
    finally:
        await reopened.aclose()


async def test_incident_card_clicks_are_audited(make_replica: ReplicaFactory, redis_url: str,
                                                demo: Sandbox) -> None:
    slack = await make_replica(RedisState.from_url(redis_url))
    number = triggered_number(demo)
    await slack.click("incident_ack", incident(demo, number).id, user=SAM)
    await slack.reply()
    entry, started = await slack.rt.state.recent(10)
    assert started.outcome == "started"
    assert (entry.action, entry.outcome, entry.via, entry.confirmed_by) == (
        "acknowledge_incidents", "ok", "incident_card", SAM)
