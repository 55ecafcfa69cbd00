"""Feedback buttons through Bolt's dispatch: every model answer ends with them (command mode never), the
answer is stored when it is posted, a click stores the clicker's vote with it and thanks them ephemerally,
a second click replaces the first, forged or stale values record nothing, and a store that is down costs
the buttons (never the answer) or the vote (with a clear word)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from bot.evals.cases import EvalCase
from bot.evals.from_feedback import feedback_cases
from bot.evals.runner import run_case
from bot.sandbox import Sandbox
from bot.slack.feedback import CHANGED, FULL, GONE, STATE_DOWN, THANKS
from bot.slack.render.feedback import FEEDBACK_ACTION, parse_feedback
from bot.store import StateUnavailable
from bot.store.feedback import MAX_VOTES, InMemoryFeedback, TurnRecord, Vote, Voted
from bot.store.memory import MemoryState
from bot.tools.registry import TOOLS_BY_NAME
from tests.fakes.fake_slack import SlackCall
from tests.fakes.scripted_llm import ScriptedModel, call, calls, say
from tests.slack.blockkit import assert_valid
from tests.slack.conftest import (
    AISHA,
    DM_SAM,
    GENERAL,
    MANAGER_EMAIL,
    SAM,
    SlackFactory,
    SlackHarness,
    block_actions,
    blocks_of,
    message_text,
    triggered_number,
)

ON_CALL = "Emma Clarke is on call for platform-engineering until Monday 09:00."


def feedback_values(message: SlackCall) -> tuple[str, str] | None:
    """The (positive, negative) values of the message's feedback buttons, checking it is the last block."""
    blocks = blocks_of(message)
    found = [b for b in blocks if b.get("type") == "context_actions"]
    if not found:
        return None
    assert len(found) == 1 and blocks[-1] is found[0], "the feedback buttons come last"
    [element] = found[0]["elements"]
    assert element["type"] == "feedback_buttons" and element["action_id"] == FEEDBACK_ACTION
    return element["positive_button"]["value"], element["negative_button"]["value"]


async def answered(make_slack: SlackFactory, *steps: Any, question: str = "who covers platform tonight?",
                   **options: Any) -> tuple[SlackHarness, SlackCall, str]:
    """Sam asks in #general; the scripted model answers; returns the reply and its stored turn id."""
    model = ScriptedModel(list(steps) or [calls(call("who_is_on_call", {"target": "platform-engineering"})),
                                           say(ON_CALL)])
    slack = await make_slack(model, **options)
    await slack.mention(question)
    reply = await slack.reply()
    values = feedback_values(reply)
    assert values is not None, message_text(reply)
    parsed = parse_feedback(values[0])
    assert parsed is not None and parsed[0] == "positive" and values[1] == f"negative:{parsed[1]}"
    return slack, reply, parsed[1]


async def rate(slack: SlackHarness, reply: SlackCall, value: str, *, user: str = SAM,
               channel: str | None = None) -> SlackCall:
    """Click a feedback button of ``reply`` (the payload Slack sends for ``feedback_buttons``); the thanks."""
    payload = block_actions(FEEDBACK_ACTION, value, user=user, message=reply)
    channel = channel or str(reply.args["channel"])
    payload["actions"][0]["type"] = "feedback_buttons"
    payload["channel"]["id"] = payload["container"]["channel_id"] = channel
    before = len(slack.fake.of("chat.postEphemeral"))
    response = await slack.send("payload=" + quote(json.dumps(payload)),
                                content_type="application/x-www-form-urlencoded")
    assert response.status == 200
    return await slack.ephemeral(before + 1)


async def stored(slack: SlackHarness, turn_id: str) -> TurnRecord:
    record = await slack.rt.state.feedback.get(turn_id)
    assert record is not None
    return record


# -- the buttons, and what is stored when the answer is posted -------------------------------------------

async def test_a_model_answer_ends_with_feedback_buttons_and_is_stored_as_posted(make_slack: SlackFactory) -> None:
    slack, reply, turn_id = await answered(make_slack)
    assert_valid(blocks_of(reply), text=reply.args["text"])
    record = await stored(slack, turn_id)
    assert record.question == "who covers platform tonight?"
    assert record.answer == ON_CALL
    [lookup] = record.calls
    assert (lookup.name, json.loads(lookup.arguments), lookup.status) == (
        "who_is_on_call", {"target": "platform-engineering"}, "ok")
    assert (record.asked_by, record.asker_email, record.channel, record.thread_ts, record.place) == (
        SAM, MANAGER_EMAIL, GENERAL, reply.args["thread_ts"], "channel")
    assert record.now == slack.sandbox.now.isoformat(), "PagerDuty's time when it was asked"
    assert record.votes == () and record.thread == ()


async def test_the_model_name_is_stored_with_the_answer(make_slack: SlackFactory) -> None:
    named = ScriptedModel([say("Nothing new since this morning.")])
    named.model = "gpt-test-1"  # type: ignore[attr-defined]  # what OpenAIChatModel exposes
    slack = await make_slack(named)
    await slack.mention("anything new?")
    values = feedback_values(await slack.reply())
    assert values is not None and (parsed := parse_feedback(values[0])) is not None
    assert (await stored(slack, parsed[1])).model == "gpt-test-1"


async def test_command_mode_answers_have_no_feedback_buttons(make_slack: SlackFactory) -> None:
    slack = await make_slack()  # no model
    await slack.mention("incidents")
    reply = await slack.reply()
    assert feedback_values(reply) is None
    assert await slack.rt.state.feedback.rated() == []


async def test_a_follow_up_keeps_what_the_thread_said_before(make_slack: SlackFactory) -> None:
    model = ScriptedModel([say(ON_CALL), say("Until Monday 09:00.")])
    slack = await make_slack(model)
    first = await slack.mention("who covers platform tonight?")
    await slack.reply()
    await slack.mention("and until when?", thread_ts=first["ts"])
    second = await slack.reply(2)
    values = feedback_values(second)
    assert values is not None and (parsed := parse_feedback(values[0])) is not None
    record = await stored(slack, parsed[1])
    assert record.question == "and until when?" and record.answer == "Until Monday 09:00."
    assert record.thread == (("user", "who covers platform tonight?"), ("assistant", ON_CALL))


async def test_a_full_message_still_has_room_for_the_buttons(make_slack: SlackFactory) -> None:
    long_answer = "\n\n".join(f"Paragraph {i}: " + "word " * 400 for i in range(12))
    slack, reply, _ = await answered(make_slack, calls(call("list_incidents", {})), say(long_answer))
    assert_valid(blocks_of(reply), text=reply.args["text"])  # within 50 blocks and the text budget


async def test_a_streamed_answer_gets_the_buttons_when_it_stops(make_slack: SlackFactory) -> None:
    model = ScriptedModel([calls(call("who_is_on_call", {"target": "platform-engineering"})), say(ON_CALL)])
    slack = await make_slack(model)
    slack.rt.streaming.enabled = True
    await slack.dm("who covers platform tonight?")
    stop = await slack.nth("chat.stopStream")
    blocks = blocks_of(stop)
    assert blocks and blocks[-1]["type"] == "context_actions"
    assert_valid(blocks)
    value = blocks[-1]["elements"][0]["positive_button"]["value"]
    parsed = parse_feedback(value)
    assert parsed is not None and (await stored(slack, parsed[1])).place == "dm"
    assert (await stored(slack, parsed[1])).channel == DM_SAM


async def test_when_the_store_cannot_take_the_answer_it_is_posted_without_buttons(make_slack: SlackFactory) -> None:
    class Down(InMemoryFeedback):
        async def put(self, record: TurnRecord) -> None:
            raise StateUnavailable("sqlite alex-state.sqlite3: locked by another process")

    class NoFeedback(MemoryState):
        _down = Down()

        @property
        def feedback(self) -> InMemoryFeedback:
            return self._down

    model = ScriptedModel([say(ON_CALL)])
    slack = await make_slack(model)
    slack.rt.state = NoFeedback()
    await slack.mention("who covers platform tonight?")
    reply = await slack.reply()
    assert ON_CALL in message_text(reply)
    assert feedback_values(reply) is None


# -- clicks ---------------------------------------------------------------------------------------------

async def test_a_click_stores_the_vote_with_the_turn_and_thanks_the_clicker(make_slack: SlackFactory) -> None:
    slack, reply, turn_id = await answered(make_slack)
    model_calls, pd_requests = len(slack.rt.agent.model.calls), len(slack.sandbox.requests)  # type: ignore[union-attr]
    thanks = await rate(slack, reply, f"positive:{turn_id}", user=AISHA)
    assert (thanks.args["channel"], thanks.args["user"], thanks.args["thread_ts"]) == (
        GENERAL, AISHA, reply.args["thread_ts"])
    assert THANKS["positive"] in message_text(thanks)
    record = await stored(slack, turn_id)
    [vote] = record.votes
    assert (vote.rating, vote.by) == ("positive", AISHA) and vote.at > 0
    assert record.answer == ON_CALL and record.question == "who covers platform tonight?"
    assert len(slack.rt.agent.model.calls) == model_calls, "nothing is re-computed at click time"  # type: ignore[union-attr]
    assert len(slack.sandbox.requests) == pd_requests, "a click asks PagerDuty nothing"
    assert slack.writes() == []


async def test_a_second_click_replaces_the_first_and_others_vote_apart(make_slack: SlackFactory) -> None:
    slack, reply, turn_id = await answered(make_slack)
    await rate(slack, reply, f"positive:{turn_id}")
    changed = await rate(slack, reply, f"negative:{turn_id}")
    assert CHANGED.format(rating="bad") in message_text(changed)
    await rate(slack, reply, f"positive:{turn_id}", user=AISHA)
    record = await stored(slack, turn_id)
    assert sorted((v.by, v.rating) for v in record.votes) == [(AISHA, "positive"), (SAM, "negative")]
    assert record.rating == "negative"
    assert [r.turn_id for r in await slack.rt.state.feedback.rated()] == [turn_id]


async def test_forged_or_stale_values_record_nothing(make_slack: SlackFactory) -> None:
    slack, reply, turn_id = await answered(make_slack)
    for value in ("positive:0123456789abcdef", "positive:../../etc", "thumbs:" + turn_id, "", "positive:" + "a" * 500):
        notice = await rate(slack, reply, value)
        assert GONE in message_text(notice), value
    elsewhere = await rate(slack, reply, f"negative:{turn_id}", channel="C0ELSEWHERE")
    assert GONE in message_text(elsewhere), "a click counts only where the answer was posted"
    assert (await stored(slack, turn_id)).votes == ()
    assert await slack.rt.state.feedback.rated() == []


async def test_an_answer_too_old_to_rate_says_so(make_slack: SlackFactory) -> None:
    slack, reply, turn_id = await answered(make_slack)
    slack.rt.state = MemoryState()  # the store no longer has it (expired, or another deployment's)
    notice = await rate(slack, reply, f"positive:{turn_id}")
    assert GONE in message_text(notice) and "7 days" in message_text(notice)


async def test_a_turn_rated_by_many_people_keeps_the_first(make_slack: SlackFactory) -> None:
    slack, reply, turn_id = await answered(make_slack)
    for i in range(MAX_VOTES):
        await slack.rt.state.feedback.vote(turn_id, Vote("positive", f"U{i:04d}", float(i)))
    notice = await rate(slack, reply, f"negative:{turn_id}", user=AISHA)
    assert FULL in message_text(notice)


async def test_when_the_store_is_down_the_clicker_is_told_nothing_was_saved(make_slack: SlackFactory) -> None:
    class Down(InMemoryFeedback):
        async def vote(self, turn_id: str, vote: Vote) -> Voted:
            raise StateUnavailable("redis: no answer within 2 s")

    slack, reply, turn_id = await answered(make_slack)
    down = Down()
    await down.put(await stored(slack, turn_id))
    slack.rt.state._feedback = down  # type: ignore[attr-defined]
    notice = await rate(slack, reply, f"positive:{turn_id}")
    assert STATE_DOWN in message_text(notice)


async def test_a_proposal_answer_is_rated_like_any_other(make_slack: SlackFactory, demo: Sandbox) -> None:
    number = triggered_number(demo)
    slack, reply, turn_id = await answered(
        make_slack, calls(call("acknowledge_incidents", {"incidents": [str(number)]})), say("Confirm below."),
        question=f"ack {number} please, it's mine")
    record = await stored(slack, turn_id)
    assert [(c.name, c.status) for c in record.calls] == [("acknowledge_incidents", "proposal")]
    await rate(slack, reply, f"negative:{turn_id}")
    assert slack.writes() == [], "a rating never writes to PagerDuty"


# -- from the click to a scored eval case ------------------------------------------------------------------

async def test_a_rated_answer_exports_as_a_case_the_eval_scores(make_slack: SlackFactory) -> None:
    slack, reply, turn_id = await answered(make_slack)
    await rate(slack, reply, f"positive:{turn_id}")
    [case] = [EvalCase.model_validate(c) for c in feedback_cases(await slack.rt.state.feedback.rated(), TOOLS_BY_NAME)]
    assert not case.draft and case.prompt == "who covers platform tonight?" and case.asker == MANAGER_EMAIL
    again = ScriptedModel([calls(call("who_is_on_call", {"target": "platform-engineering"})), say(ON_CALL)])
    assert (await run_case(case, again)).score.passed
