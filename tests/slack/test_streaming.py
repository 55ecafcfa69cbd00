"""Streamed answers through Bolt's dispatch and the fake Slack Web API: task cards for the tool steps, the
model's text as it comes, the result sections and proposal cards attached at the stop; Stop (the
``agent_session_stopped`` event, or Slack refusing an append) ends the answer with nothing proposed; the
single post wherever a stream is off, refused or breaks."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from bot.agent.agent import STOPPED_REPLY
from bot.agent.llm import ModelReply, ModelUnavailable, TextSink
from bot.agent.turn import Usage
from bot.config import Settings
from bot.present.kit.prose import CUT_NOTE
from bot.sandbox import Sandbox
from bot.slack.streaming import (
    EVERY_S,
    MAX_TASKS,
    MAX_TEXT_CHARS,
    TITLE_CHARS,
    safe_length,
    safe_piece,
    task_title,
)
from tests.fakes.fake_slack import TEAM_ID, SlackCall
from tests.fakes.scripted_llm import ScriptedModel, call, calls, say
from tests.slack import blockkit
from tests.slack.conftest import (
    AISHA,
    DM_SAM,
    GENERAL,
    SAM,
    SlackFactory,
    SlackHarness,
    buttons,
    message_text,
    triggered_number,
)

ON_CALL = calls(call("who_is_on_call", {"target": "platform-engineering"}))
ANSWER = "**Platform** is covered: see who is on call below."


async def streaming(make_slack: SlackFactory, model: Any, **options: Any) -> SlackHarness:
    slack = await make_slack(model, **options)
    slack.rt.streaming.enabled = True
    return slack


async def stream_of(slack: SlackHarness, count: int = 1) -> tuple[str, dict[str, Any]]:
    """The ``count``-th streamed message (waits for its stop and the listeners), and its ``ts``."""
    await slack.nth("chat.stopStream", count)
    started = slack.fake.of("chat.startStream")[count - 1]
    ts = str(started.answer["ts"])
    return ts, slack.fake.streams[ts]


def assert_blocks_valid(blocks: list[dict[str, Any]]) -> None:
    problems = blockkit.message_problems(blocks)
    schema = blockkit.schema_problems(blocks)
    assert not problems and not schema, (problems, schema)


def posted_answers(slack: SlackHarness) -> list[SlackCall]:
    return slack.fake.of("chat.postMessage")


# -- the stream -------------------------------------------------------------------------------------

async def test_a_dm_answer_streams_its_steps_and_text_then_attaches_the_results(make_slack: SlackFactory) -> None:
    slack = await streaming(make_slack, ScriptedModel([ON_CALL, say(ANSWER)]))
    event = await slack.dm("who is on call for platform engineering?")
    ts, stream = await stream_of(slack)

    start = slack.fake.of("chat.startStream")[0]
    assert start.args["channel"] == DM_SAM and start.args["thread_ts"] == event["ts"]
    assert start.args["task_display_mode"] == "timeline"
    assert slack.fake.tasks(ts) == {"task_1": {"type": "task_update", "id": "task_1", "status": "complete",
                                               "title": "Checking who is on call for platform-engineering"}}
    first = stream["chunks"][0]
    assert first["type"] == "task_update" and first["status"] == "in_progress", "the step shows before it runs"
    assert slack.fake.streamed_text(ts) == "**Platform** is covered: see who is on call below."
    assert stream["state"] == "stopped" and stream["blocks"], "the result section is attached at the stop"
    assert_blocks_valid(stream["blocks"])
    assert "is covered" not in json.dumps(stream["blocks"]), "the streamed prose is not repeated below"
    assert not posted_answers(slack), "no second message"
    assert not slack.fake.of("chat.update")


async def test_in_a_channel_the_stream_names_its_recipient_and_threads_under_the_mention(
        make_slack: SlackFactory) -> None:
    slack = await streaming(make_slack, ScriptedModel([ON_CALL, say(ANSWER)]))
    event = await slack.mention("who is on call for platform engineering?")
    await stream_of(slack)
    start = slack.fake.of("chat.startStream")[0]
    assert (start.args["channel"], start.args["thread_ts"]) == (GENERAL, event["ts"])
    assert (start.args["recipient_user_id"], start.args["recipient_team_id"]) == (SAM, TEAM_ID)


async def test_a_proposal_card_is_attached_at_the_stop_and_its_confirm_works(
        make_slack: SlackFactory, demo: Sandbox) -> None:
    number = triggered_number(demo)
    model = ScriptedModel([calls(call("acknowledge_incidents", {"incidents": [str(number)]})),
                           say("I prepared the acknowledgement: confirm below.")])
    slack = await streaming(make_slack, model)
    event = await slack.mention(f"ack {number} please")
    ts, stream = await stream_of(slack)
    assert slack.fake.tasks(ts)["task_1"]["title"] == f"Preparing the acknowledgement for {number}"
    assert slack.writes() == [], "nothing runs before the click"
    card = SlackCall("chat.stopStream", {"channel": GENERAL, "thread_ts": event["ts"], "blocks": stream["blocks"],
                                         "text": "streamed"}, None, {"ts": ts})
    [pid] = buttons(card, "proposal_confirm")
    assert_blocks_valid(stream["blocks"])

    await slack.click("proposal_confirm", pid, user=SAM, message=card)
    updated = await slack.updated()
    assert updated.args["ts"] == ts, "the outcome replaces the buttons in the streamed message"
    assert [w[0] for w in slack.writes()] == ["PUT"]
    assert "proposal_confirm" not in message_text(updated)


async def test_command_mode_answers_are_posted_as_one_message(make_slack: SlackFactory) -> None:
    slack = await streaming(make_slack, None)
    await slack.dm("oncall platform-engineering")
    await slack.reply()
    assert not slack.fake.of("chat.startStream"), "nothing to stream: no model step"


async def test_a_model_failure_after_streaming_attaches_the_command_mode_answer(make_slack: SlackFactory) -> None:
    slack = await streaming(make_slack, ScriptedModel([ON_CALL, ModelUnavailable("The model server failed.")]))
    await slack.dm("oncall platform-engineering?")
    ts, stream = await stream_of(slack)
    attached = json.dumps(stream["blocks"])
    assert "Answered in command mode" in attached and "On call for" in attached, "as the single post would be"
    assert not posted_answers(slack)


# -- bounds -----------------------------------------------------------------------------------------

class Typist:
    """A model typing ``text`` in ``pieces`` (one per ``gap_s``), after an optional first step of tool calls."""

    def __init__(self, text: str, *, pieces: int, gap_s: float, first: ModelReply | None = None) -> None:
        self.text, self.pieces, self.gap_s, self.first = text, pieces, gap_s, first

    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *,
                       on_text: TextSink | None = None) -> ModelReply:
        if self.first is not None:
            first, self.first = self.first, None
            return first
        size = max(1, len(self.text) // self.pieces)
        for at in range(0, len(self.text), size):
            if on_text is not None:
                await on_text(self.text[at:at + size])
            await asyncio.sleep(self.gap_s)
        return ModelReply(self.text, [], Usage(10, 10))

    async def aclose(self) -> None:
        return None


async def test_appends_are_throttled_however_fast_the_model_types(make_slack: SlackFactory) -> None:
    text = " ".join(f"word{i}" for i in range(400))
    slack = await streaming(make_slack, Typist(text, pieces=400, gap_s=0.004))
    await slack.dm("tell me a long story")
    ts, _ = await stream_of(slack)
    sent = [c for c in slack.fake.calls if c.method in ("chat.startStream", "chat.appendStream")]
    gaps = [b.at - a.at for a, b in zip(sent, sent[1:], strict=False)]
    assert len(sent) >= 2 and all(gap >= EVERY_S - 0.05 for gap in gaps), gaps
    assert len(sent) <= 2 + 400 * 0.004 / EVERY_S * 3
    assert slack.fake.streamed_text(ts) == text, "nothing lost or repeated between appends"


async def test_a_huge_answer_streams_within_slacks_limits(make_slack: SlackFactory) -> None:
    text = "Lorem ipsum dolor sit amet. " * 2_500  # 70,000 characters
    slack = await streaming(make_slack, Typist(text, pieces=20, gap_s=0.0))
    await slack.dm("everything please")
    ts, stream = await stream_of(slack)
    streamed = slack.fake.streamed_text(ts)
    assert len(streamed) <= MAX_TEXT_CHARS + len(CUT_NOTE) + 4 and streamed.endswith(CUT_NOTE)
    assert all(len(c.get("text") or "") <= 12_000 for c in stream["chunks"])
    assert "Lorem" not in json.dumps(stream["blocks"] or []), "a cut answer is not repeated below"


async def test_many_tool_calls_get_a_bounded_number_of_task_cards(make_slack: SlackFactory) -> None:
    many = calls(*[call("get_incident", {"incident": str(1000 + i)}) for i in range(MAX_TASKS + 5)])
    slack = await streaming(make_slack, ScriptedModel([many, say("Done.")]))
    await slack.dm("read them all")
    ts, _ = await stream_of(slack)
    assert len(slack.fake.tasks(ts)) == MAX_TASKS


# -- what is streamed is safe -----------------------------------------------------------------------

HOSTILE = ("Heads up <!channel> and @here: see [the runbook](https://evil.example/login) or "
           "<https://evil.example/x|click here>, not www.evil.example; the incident is "
           "[#1252](https://acme.pagerduty.com/incidents/Q1) & <@U0SAM> knows.")


@pytest.mark.parametrize("pieces", [1, 7, 40, len(HOSTILE)])
async def test_streamed_text_is_escaped_whatever_the_splits(make_slack: SlackFactory, pieces: int) -> None:
    slack = await streaming(make_slack, Typist(HOSTILE, pieces=pieces, gap_s=0.002))
    slack.rt.streaming.every_s = 0.01  # many appends: many chances to split a token
    await slack.dm("status?")
    ts, _ = await stream_of(slack)
    streamed = slack.fake.streamed_text(ts)
    assert not blockkit.link_problems(streamed), streamed
    assert "<!channel>" not in streamed and "<@U0SAM>" not in streamed and "https://evil" not in streamed
    assert "[#1252](https://acme.pagerduty.com/incidents/Q1)" in streamed, "a PagerDuty link survives"


def test_text_is_sent_only_up_to_a_safe_place() -> None:
    assert safe_length("hello wor") == len("hello ")
    assert safe_length("see <https://evil.example|cli") == len("see ")
    assert safe_length("see [the run book](https://ev") == len("see ")
    assert safe_length("see [the run book] and more") == len("see [the run book] and ")
    assert safe_length("[a](b) then") == len("[a](b) ")
    assert safe_length("x" * 2_500) == 2_500, "a run with no safe place is not held forever"
    assert safe_piece(" a <b> ") == " a &lt;b&gt; "
    for at in range(1, len(HOSTILE)):
        head = HOSTILE[:at]
        sent = head[:safe_length(head)]
        assert sent.count("<") == sent.count(">") or "<" not in sent[sent.rfind(">") + 1:], sent


def test_task_titles_are_our_phrases_with_the_subject_stripped_of_markup() -> None:
    assert task_title("who_is_on_call", {"target": "payments-api"}) == "Checking who is on call for payments-api"
    assert task_title("list_incidents", {}) == "Listing incidents"
    assert task_title("made_up", "{not json") == "Reading PagerDuty"
    title = task_title("resolve_incidents", {"incidents": ["<!channel>", "*1*", "3", "4"]})
    assert title == "Preparing the resolution for !channel, 1, 3 and 1 more"
    assert len(task_title("find_people", {"query": "x" * 500})) <= TITLE_CHARS


# -- Stop -------------------------------------------------------------------------------------------

class Hanging:
    """A model step that never answers: it tells the test it is thinking, then waits (to be cancelled)."""

    def __init__(self) -> None:
        self.thinking = asyncio.Event()
        self.cancelled = False

    async def __call__(self, messages: list[dict[str, Any]]) -> ModelReply:
        self.thinking.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return say("too late")


async def stop_pressed(slack: SlackHarness, event: dict[str, Any], ts: str, *, user: str = SAM) -> None:
    slack.fake.press_stop(ts)
    stop = {"type": "agent_session_stopped", "channel": event["channel"], "user": user,
            "thread_ts": event.get("thread_ts") or event["ts"], "streaming_message_ts": [ts],
            "event_ts": slack.ts()}
    assert (await slack.event(stop)).status == 200


async def test_stop_ends_the_answer_at_once_and_nothing_is_proposed(make_slack: SlackFactory, demo: Sandbox) -> None:
    number = triggered_number(demo)
    hanging = Hanging()
    model = ScriptedModel([calls(call("acknowledge_incidents", {"incidents": [str(number)]})), hanging])
    slack = await streaming(make_slack, model)
    event = await slack.mention(f"can you acknowledge {number} for me")
    [start] = await slack.fake.wait_for("chat.startStream")
    await asyncio.wait_for(hanging.thinking.wait(), 10)
    started = time.monotonic()
    await stop_pressed(slack, event, str(start.answer["ts"]))
    await slack.settle()

    assert time.monotonic() - started < 5 and hanging.cancelled, "the model call in flight was cancelled"
    assert len(model.calls) == 2, "nothing more was asked"
    ts = str(start.answer["ts"])
    assert STOPPED_REPLY.split(":")[0] in json.dumps(slack.fake.streams[ts]["blocks"]), "the stream says so"
    everything = json.dumps([c.args for c in slack.fake.calls])
    assert "proposal_confirm" not in everything, "the prepared acknowledgement is never shown"
    assert slack.writes() == []
    assert slack.rt.streaming.in_flight == 0


async def test_stop_on_another_replica_shows_as_a_refused_append(make_slack: SlackFactory) -> None:
    """Slack answers stopped_by_user to the replica that streams: it stops the same way."""
    slack = await streaming(make_slack, Typist(" ".join(["step"] * 300), pieces=300, gap_s=0.01, first=ON_CALL))
    await slack.dm("who is on call?")
    [start] = await slack.fake.wait_for("chat.startStream")
    slack.fake.press_stop(str(start.answer["ts"]))  # no event reaches this process
    await slack.settle()
    refused = [c for c in slack.fake.of("chat.appendStream") if c.answer.get("error") == "stopped_by_user"]
    assert len(refused) == 1, "one refused append, then nothing more"
    ts = str(start.answer["ts"])
    assert STOPPED_REPLY.split(":")[0] in json.dumps(slack.fake.streams[ts]["blocks"])
    assert not posted_answers(slack)


async def test_only_the_asker_can_stop_their_answer(make_slack: SlackFactory) -> None:
    hanging = Hanging()
    slack = await streaming(make_slack, ScriptedModel([ON_CALL, hanging]))
    event = await slack.mention("who is on call?")
    [start] = await slack.fake.wait_for("chat.startStream")
    await asyncio.wait_for(hanging.thinking.wait(), 10)
    stop = {"type": "agent_session_stopped", "channel": GENERAL, "user": AISHA, "thread_ts": event["ts"],
            "streaming_message_ts": [start.answer["ts"]], "event_ts": slack.ts()}
    assert (await slack.event(stop)).status == 200
    await asyncio.sleep(0.2)
    assert not hanging.cancelled, "someone else's Stop is ignored"
    await stop_pressed(slack, event, str(start.answer["ts"]))
    await slack.settle()
    assert hanging.cancelled


# -- fallbacks --------------------------------------------------------------------------------------

async def test_where_slack_refuses_a_stream_the_answer_is_posted_once(make_slack: SlackFactory) -> None:
    slack = await streaming(make_slack, ScriptedModel([ON_CALL, say(ANSWER), ON_CALL, say(ANSWER)]))
    slack.fake.fail("chat.startStream", "channel_type_not_supported")
    event = await slack.mention("who is on call for platform engineering?")
    reply = await slack.reply()
    assert reply.args["thread_ts"] == event["ts"] and "is covered" in message_text(reply)
    assert not slack.fake.of("chat.appendStream") and not slack.fake.of("chat.stopStream")
    await slack.mention("and now?")
    await slack.reply(2)
    assert len(slack.fake.of("chat.startStream")) == 1, "channels are not tried again by this process"


async def test_with_streaming_off_nothing_streams(make_slack: SlackFactory) -> None:
    slack = await make_slack(ScriptedModel([ON_CALL, say(ANSWER)]))
    assert slack.rt.streaming.enabled is False
    await slack.dm("who is on call for platform engineering?")
    await slack.reply()
    assert not any(c.method.endswith("Stream") for c in slack.fake.calls)


def test_alex_serve_streams_unless_alex_slack_stream_is_false() -> None:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.slack.serve import build_runtime

    client = AsyncWebClient(token="xoxb-test")
    for value, enabled in ((None, True), ("false", False)):
        env = {"ALEX_SLACK_STREAM": value} if value else {}
        settings = Settings(_env_file=None, ALEX_STATE_PATH=":memory:", **env)  # type: ignore[call-arg]
        assert settings.slack_stream is enabled
        assert build_runtime(settings, client, sandbox=True).streaming.enabled is enabled


async def test_a_broken_stream_is_replaced_by_the_whole_answer(make_slack: SlackFactory) -> None:
    slack = await streaming(make_slack, Typist(ANSWER * 5, pieces=40, gap_s=0.03, first=ON_CALL))
    slack.fake.fail("chat.appendStream", "internal_error")
    await slack.dm("who is on call for platform engineering?")
    updated = await slack.updated()
    [start] = slack.fake.of("chat.startStream")
    assert updated.args["ts"] == start.answer["ts"]
    assert "is covered" in message_text(updated), "the whole answer, prose included"
    assert not posted_answers(slack)


async def test_a_refused_stop_falls_back_to_the_whole_answer(make_slack: SlackFactory) -> None:
    slack = await streaming(make_slack, ScriptedModel([ON_CALL, say(ANSWER)]))
    slack.fake.fail("chat.stopStream", "invalid_blocks")
    await slack.dm("who is on call for platform engineering?")
    updated = await slack.updated()
    assert "is covered" in message_text(updated)


@pytest.mark.parametrize("text", ["hi", "help"])
async def test_greetings_and_help_never_start_a_stream(make_slack: SlackFactory, text: str) -> None:
    slack = await streaming(make_slack, ScriptedModel([]))
    await slack.dm(text)
    await slack.reply()
    assert not slack.fake.of("chat.startStream")



async def test_stream_calls_use_documented_arguments(make_slack: SlackFactory) -> None:
    from tests.slack.test_manifest import ADDED_BY_THE_SDK, spec

    methods = spec()
    slack = await streaming(make_slack, Typist(ANSWER * 5, pieces=40, gap_s=0.03, first=ON_CALL))
    await slack.mention("who is on call for platform engineering?")
    await stream_of(slack)
    streamed = [c for c in slack.fake.calls if c.method.endswith("Stream")]
    assert {c.method for c in streamed} == {"chat.startStream", "chat.appendStream", "chat.stopStream"}
    for recorded in streamed:
        documented = methods[recorded.method]["args"]
        assert not set(recorded.args) - set(documented) - ADDED_BY_THE_SDK, recorded
        required = {name for name, arg in documented.items() if arg.get("required")}
        if recorded.method == "chat.appendStream":
            # The method list predates chunks: Slack takes markdown_text or chunks (the SDK's helper sends chunks).
            required -= {"markdown_text"}
            assert recorded.args.get("chunks")
        assert required <= set(recorded.args), recorded
