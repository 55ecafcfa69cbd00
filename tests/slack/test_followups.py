"""Follow-ups without a mention (bot/slack/followups.py), through Bolt's dispatch with the fake Slack Web API.

alex receives every message of the channels it is in (message.channels / .groups / .mpim); it answers a
plain one only as a reply in a thread it answered (remembered in the shared state) or in a war-room
channel's thread, never plain channel traffic, never twice for a message that also mentions it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from bot.slack.followups import AnsweredThreads, candidate
from bot.slack.runtime import RATE_LIMITED, RateLimits
from bot.store import StateUnavailable
from bot.store.memory import MemoryState
from tests.fakes.fake_slack import BOT_ID, BOT_USER_ID, TEAM_ID
from tests.fakes.scripted_llm import ScriptedModel, say
from tests.slack.conftest import (
    AISHA,
    GENERAL,
    SAM,
    SlackFactory,
    SlackHarness,
    buttons,
    incident,
    message_text,
    triggered_number,
)

OPS = "C0OPS"
PRIVATE = "G0PRIVATE"
GROUP_DM = "C0MPIM"


async def said(slack: SlackHarness, text: str, *, thread_ts: str | None, channel: str = GENERAL,
               channel_type: str = "channel", user: str = SAM, event_id: str | None = None,
               **extra: Any) -> dict[str, Any]:
    """A person's message in a channel (``thread_ts``: a reply in that thread); the ack must be 200."""
    event: dict[str, Any] = {"type": "message", "channel": channel, "channel_type": channel_type, "user": user,
                             "text": text, "ts": slack.ts(), "team": TEAM_ID, **extra}
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    event["event_ts"] = event["ts"]
    response = await slack.event(event, event_id=event_id)
    assert response.status == 200, response.body
    return event


async def posts_after(slack: SlackHarness, count: int) -> None:
    """No chat.postMessage beyond the first ``count`` (waits for the listeners first)."""
    await asyncio.sleep(0.2)
    await slack.settle()
    assert len(slack.fake.of("chat.postMessage")) == count, [c.args.get("text") for c in slack.fake.of(
        "chat.postMessage")]


async def answered_thread(slack: SlackHarness, text: str = "oncall platform-engineering", *,
                          channel: str = GENERAL) -> str:
    """Mention alex at the top of ``channel``; its answer starts a thread: that thread's ts."""
    event = await slack.mention(text, channel=channel)
    await slack.reply(len(slack.fake.of("chat.postMessage")) + 1)
    return str(event["ts"])


# -- answered -----------------------------------------------------------------------------------------

async def test_a_plain_reply_in_a_thread_alex_answered_is_answered_there_with_its_memory(
        make_slack: SlackFactory) -> None:
    model = ScriptedModel([say("Emma Clarke is on call for platform."), say("Until Monday 09:00."),
                           say("Then Ben Carter.")])
    slack = await make_slack(model)
    thread = await answered_thread(slack, "who covers platform tonight?")
    await said(slack, "and until when?", thread_ts=thread, user=AISHA)
    second = await slack.reply(2)
    assert (second.args["channel"], second.args["thread_ts"]) == (GENERAL, thread)
    assert "Until Monday" in message_text(second)
    assert "Emma Clarke is on call for platform." in [m.get("content") for m in model.calls[1].messages]
    await said(slack, "who is next after that?", thread_ts=thread)
    third = await slack.reply(3)
    assert third.args["thread_ts"] == thread and "Ben Carter" in message_text(third)


async def test_a_reply_that_also_mentions_alex_is_answered_once(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    thread = await answered_thread(slack)
    text = f"<@{BOT_USER_ID}> services"
    await slack.mention("services", thread_ts=thread)  # the same message, delivered as both events
    await said(slack, text, thread_ts=thread)
    await slack.reply(2)
    await posts_after(slack, 2)


async def test_a_follow_up_reaches_any_replica(make_slack: SlackFactory) -> None:
    first, second = await make_slack(), await make_slack()
    second.rt.state = first.rt.state  # one Redis (or SQLite file) behind both
    event = await first.mention("services", channel=GENERAL)
    await first.reply()
    await said(second, "oncall platform-engineering", thread_ts=str(event["ts"]), event_id="Ev-on-the-other",
               ts=first.ts())  # both harnesses count timestamps from 1
    answer = await second.reply(2)
    assert answer.args["thread_ts"] == event["ts"]


# -- not answered -------------------------------------------------------------------------------------

async def test_plain_channel_traffic_costs_nothing(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    state = slack.rt.state
    assert isinstance(state, MemoryState)
    before = state.sizes()
    await said(slack, "incidents", thread_ts=None)  # top level
    parent = slack.ts()
    await said(slack, "incidents", thread_ts=parent, event_id="Ev-parent", ts=parent)  # a thread's parent
    await posts_after(slack, 0)
    assert {c.method for c in slack.fake.calls} <= {"auth.test"}
    assert state.sizes() == before, "not even the dedupe was asked"


async def test_a_reply_in_a_thread_alex_did_not_answer_is_not_answered(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    thread = slack.ts()
    await said(slack, "incidents", thread_ts=thread)
    await posts_after(slack, 0)
    assert not slack.sandbox.requests


async def test_replies_for_someone_else_are_not_answered(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    thread = await answered_thread(slack)
    for text in ("<@U0AISHA> can you take this one?", "<!here> failing over now", "<!subteam^S0DBA> ping",
                 "thanks!", "ok", "Thank you", ":+1:", "👍 🙏", ""):
        await said(slack, text, thread_ts=thread)
    await said(slack, "incidents", thread_ts=thread, user="U0OTHERBOT", bot_id="B0OTHER")
    await said(slack, "incidents", thread_ts=thread, user=BOT_USER_ID, bot_id=BOT_ID)
    await said(slack, "incidents", thread_ts=thread, subtype="message_changed",
               message={"text": "incidents", "user": SAM})
    await posts_after(slack, 1)


def test_what_could_be_a_follow_up() -> None:
    def event(text: str, thread_ts: str | None = "1.0", ts: str = "2.0") -> dict[str, Any]:
        return {"text": text, "thread_ts": thread_ts, "ts": ts}

    assert candidate(event("who is next?"))
    assert candidate(event("ack it"))
    assert not candidate(event("who is next?", thread_ts=None))
    assert not candidate(event("who is next?", thread_ts="2.0"))
    assert not candidate(event(f"<@{BOT_USER_ID}> who is next?"))
    assert not candidate(event("<@U0BEN|ben> who is next?"))
    assert not candidate(event("<!channel> heads up"))
    assert not candidate(event("thx"))
    assert not candidate(event(":white_check_mark: :tada:"))


async def test_a_follow_up_from_another_workspace_is_ignored_not_refused(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    thread = await answered_thread(slack)
    await said(slack, "incidents", thread_ts=thread, user="U0GUEST", user_team="T0OTHERORG")
    await posts_after(slack, 1)


async def test_follow_ups_outside_the_allowed_channels_are_ignored(make_slack: SlackFactory) -> None:
    slack = await make_slack(allowed_channels=frozenset({OPS}))
    slack.fake.add_channel("C0WARROOM", "inc-1221-db")
    mention = await slack.mention("incidents")  # refused: not an answer
    await slack.reply()
    await said(slack, "incidents", thread_ts=str(mention["ts"]))
    await said(slack, "ack it", thread_ts=slack.ts(), channel="C0WARROOM")
    await posts_after(slack, 1)
    slack.fake.add_channel(OPS, "ops")
    thread = await answered_thread(slack, channel=OPS)
    await said(slack, "services", thread_ts=thread, channel=OPS)
    await slack.reply(3)


async def test_follow_ups_count_against_the_rate_limit(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    slack.rt.rate_limits = RateLimits(per_user=2, window_s=600)
    thread = await answered_thread(slack)
    await said(slack, "services", thread_ts=thread)
    await slack.reply(2)
    await said(slack, "services", thread_ts=thread)
    notice = await slack.reply(3)
    assert RATE_LIMITED in message_text(notice)
    await said(slack, "services", thread_ts=thread)
    await posts_after(slack, 3)


async def test_without_the_shared_state_a_follow_up_needs_a_mention(make_slack: SlackFactory) -> None:
    class NoThreads(MemoryState):
        async def first_seen(self, key: str, ttl_s: float = 900.0) -> bool:
            if key.startswith("answered:"):
                raise StateUnavailable("sqlite alex-state.sqlite3: locked")
            return await super().first_seen(key, ttl_s)

    slack = await make_slack()
    slack.rt.state = NoThreads()
    thread = await answered_thread(slack)  # still answered: remembering it is not the answer
    await said(slack, "services", thread_ts=thread)
    await posts_after(slack, 1)


# -- war rooms and group DMs ---------------------------------------------------------------------------

async def test_any_thread_of_a_war_room_channel_is_answered_without_a_mention(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    number = triggered_number(slack.sandbox)
    slack.fake.add_channel("C0WARROOM", f"inc-{number}-db-cpu", private=True)
    await said(slack, "ack it", thread_ts=None, channel="C0WARROOM", channel_type="group")  # top level: no
    await posts_after(slack, 0)
    thread = slack.ts()
    await said(slack, "ack it", thread_ts=thread, channel="C0WARROOM", channel_type="group")
    card = await slack.reply()
    assert (card.args["channel"], card.args["thread_ts"]) == ("C0WARROOM", thread)
    assert slack.writes() == [], "a deictic write in a war room is a proposal"
    [pid] = buttons(card, "proposal_confirm")
    await slack.click("proposal_confirm", pid, user=SAM, message=card, channel="C0WARROOM")
    await slack.updated()
    assert incident(slack.sandbox, number).status == "acknowledged"


async def test_in_a_group_dm_the_thread_parent_names_the_incident(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    number = triggered_number(slack.sandbox)
    slack.fake.add_mpim(GROUP_DM, ["sam", "aisha", "alex"])
    parent = slack.ts()
    slack.fake.add_thread(GROUP_DM, parent, f"[#{number}] High CPU on db-primary-1")
    await slack.mention(f"status of {number}", channel=GROUP_DM, thread_ts=parent)
    await slack.reply()
    await said(slack, "ack it", thread_ts=parent, channel=GROUP_DM, channel_type="mpim", user=AISHA)
    card = await slack.reply(2)
    assert card.args["thread_ts"] == parent and f"#{number}" in message_text(card)
    assert buttons(card, "proposal_confirm"), "war-room detection works in group DMs"
    assert {c.args.get("channel") for c in slack.fake.of("conversations.replies")} == {GROUP_DM}


# -- the memory of answered threads --------------------------------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = 1_773_151_200.0

    def __call__(self) -> float:
        return self.now


async def test_answered_threads_last_a_day_after_the_last_answer_and_reading_leaves_nothing() -> None:
    clock = Clock()
    state = MemoryState(clock=clock)
    threads = AnsweredThreads(window_s=100.0, clock=clock)
    assert not await threads.answered(state, GENERAL, "1.1")
    assert not await threads.answered(state, GENERAL, "1.1"), "a read marks nothing"
    await threads.remember(state, GENERAL, "1.1")
    assert await threads.answered(state, GENERAL, "1.1")
    assert not await threads.answered(state, GENERAL, "1.2")
    clock.now += 150  # the next window: still answered
    assert await threads.answered(state, GENERAL, "1.1")
    await threads.remember(state, GENERAL, "1.1")  # answered again at +150: kept for one more window at least
    clock.now += 90
    assert await threads.answered(state, GENERAL, "1.1")
    clock.now += 110
    assert not await threads.answered(state, GENERAL, "1.1"), "forgotten within two windows of the last answer"
    assert state.sizes()["dedupe"] <= 8, "bounded: marks and reads expire"
