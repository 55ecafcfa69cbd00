"""The thread's status follows the agent's tool calls, and where Slack refuses pinned prompts the Messages
tab welcomes each person once with the suggested prompts (Ask buttons answer them); the pinned prompts
themselves are in test_agent_view.py. Through Bolt's dispatch with the fake Slack Web API."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.agent.prompt import suggested_prompts
from bot.slack.conversation import SHOWN_PROMPTS, WORKING_STATUS
from bot.slack.progress import OTHER_TOOL, TOOL_PHRASES, Progress, phrases
from bot.slack.render import ASK_ACTION, escape, render_welcome
from bot.slack.runtime import FirstTimes
from bot.store.sqlite import SQLiteState
from bot.tools.registry import ALL_TOOLS
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.scripted_llm import ScriptedModel, call, calls, say
from tests.slack.conftest import AISHA, DM_SAM, GENERAL, SAM, SlackFactory, SlackHarness, buttons, message_text

# -- progress ---------------------------------------------------------------------------------------

async def test_long_tool_work_shows_progress_in_the_thread_status(make_slack: SlackFactory) -> None:
    model = ScriptedModel([
        calls(call("who_is_on_call", {"target": "platform-engineering"})),
        calls(call("list_incidents", {"service": "platform-engineering"}), call("find_coverage_gaps", {})),
        say("Platform is covered; see the incidents below."),
    ])
    slack = await make_slack(model)
    slack.rt.status_every_s = 0.0  # the rate limit has its own test below
    event = await slack.mention("how is platform doing?")
    await slack.reply()
    statuses = slack.fake.of("assistant.threads.setStatus")
    assert [s.args["status"] for s in statuses] == [
        WORKING_STATUS, "is checking who is on call…", "is listing incidents, looking for coverage gaps…"]
    assert statuses[2].args["loading_messages"] == ["Listing incidents…", "Looking for coverage gaps…"]
    assert {(s.args["channel_id"], s.args["thread_ts"]) for s in statuses} == {(GENERAL, event["ts"])}
    methods = slack.fake.methods()
    last_status = max(i for i, m in enumerate(methods) if m == "assistant.threads.setStatus")
    assert last_status < methods.index("chat.postMessage")


async def test_no_progress_updates_where_the_status_is_refused(make_slack: SlackFactory) -> None:
    slack = await make_slack(ScriptedModel([calls(call("list_incidents", {})), say("Here they are.")]))
    slack.rt.status_every_s = 0.0
    slack.fake.fail("assistant.threads.setStatus", "not_allowed_token_type")
    await slack.mention("anything open?")
    await slack.reply()
    assert len(slack.fake.of("assistant.threads.setStatus")) == 1, "only the first, refused, attempt"
    assert slack.fake.of("reactions.add")


def test_every_tool_has_a_progress_phrase() -> None:
    assert {tool.name for tool in ALL_TOOLS} == set(TOOL_PHRASES)
    assert phrases(["who_is_on_call", "who_is_on_call", "made_up_tool"]) == ["checking who is on call", OTHER_TOOL]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_progress_is_rate_limited(fake_slack: FakeSlack) -> None:
    clock = Clock()
    progress = Progress(AsyncWebClient(token="xoxb-test", base_url=fake_slack.api_url), GENERAL, "1.1",
                        every_s=2.0, clock=clock)
    await progress(["who_is_on_call"])
    clock.now += 1.0
    await progress(["list_incidents"])  # too soon: dropped
    clock.now += 1.5
    await progress(["find_coverage_gaps"])
    await progress([])  # nothing to say
    assert [c.args["status"] for c in fake_slack.of("assistant.threads.setStatus")] == [
        "is checking who is on call…", "is looking for coverage gaps…"]


# -- the Messages tab -------------------------------------------------------------------------------

async def open_tab(slack: SlackHarness, user: str = SAM, channel: str = DM_SAM, tab: str = "messages") -> None:
    event: dict[str, Any] = {"type": "app_home_opened", "user": user, "channel": channel, "tab": tab,
                             "event_ts": slack.ts()}
    assert (await slack.event(event)).status == 200


async def test_without_pinned_prompts_the_messages_tab_welcomes_each_person_once(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    slack.fake.view = None  # an app made from an older manifest: no assistant:write
    await open_tab(slack)
    welcome = await slack.reply()
    assert welcome.args["channel"] == DM_SAM and "thread_ts" not in welcome.args
    prompts = suggested_prompts()[:SHOWN_PROMPTS]
    assert buttons(welcome, ASK_ACTION) == prompts
    assert escape(prompts[0]) in message_text(welcome)
    await open_tab(slack)  # again: nothing
    assert not slack.sandbox.requests, "a welcome needs no PagerDuty"
    await open_tab(slack, user=AISHA, channel="D0AISHA", tab="home")  # the Home tab: no welcome (test_home_tab.py)
    await slack.settle()
    reads = len(slack.sandbox.requests)
    await open_tab(slack, user=AISHA, channel="D0AISHA")
    second = await slack.reply(2)
    await slack.settle()
    assert second.args["channel"] == "D0AISHA"
    assert len(slack.fake.of("chat.postMessage")) == 2
    assert len(slack.sandbox.requests) == reads, "a welcome needs no PagerDuty"
    assert len(slack.fake.of("assistant.threads.setSuggestedPrompts")) == 1, "refused once: not asked again"


async def test_the_welcome_is_posted_once_per_person_across_replicas_and_restarts(
        make_slack: SlackFactory, tmp_path: Path) -> None:
    path = tmp_path / "alex-state.sqlite3"
    replicas = [await make_slack(), await make_slack(), await make_slack()]
    replicas[0].rt.state = replicas[1].rt.state = SQLiteState(path)
    replicas[2].rt.state = SQLiteState(path)  # restarted later on the same file
    replicas[0].fake.view = None
    for replica in replicas:
        await open_tab(replica)
        await replica.settle()
    await open_tab(replicas[2], user=AISHA, channel="D0AISHA")
    await replicas[2].settle()
    assert [c.args["channel"] for c in replicas[0].fake.of("chat.postMessage")] == [DM_SAM, "D0AISHA"]


async def test_an_ask_button_answers_its_prompt_in_the_welcome_thread(make_slack: SlackFactory) -> None:
    model = ScriptedModel([say("Emma Clarke is on call for platform-engineering.")])
    slack = await make_slack(model)
    slack.fake.view = None
    await open_tab(slack)
    welcome = await slack.reply()
    prompt = buttons(welcome, ASK_ACTION)[1]
    await slack.click(ASK_ACTION, prompt, user=SAM, message=welcome, channel=DM_SAM)
    answer = await slack.reply(2)
    assert (answer.args["channel"], answer.args["thread_ts"]) == (DM_SAM, welcome.answer["ts"])
    assert model.calls[0].last("user")["content"] == prompt
    assert "Emma Clarke" in message_text(answer)


def test_the_welcome_escapes_prompts_and_keeps_them_as_button_values() -> None:
    message = render_welcome(["page <!channel> & co"])
    assert "&lt;!channel&gt; &amp; co" in message.text and "<!channel>" not in str(message.blocks[1]["text"])
    assert message.blocks[1]["accessory"]["value"] == "page <!channel> & co"


def test_first_times_is_bounded() -> None:
    seen = FirstTimes(max_keys=2)
    assert [seen.first(k) for k in ("a", "a", "b", "c", "a")] == [True, False, True, True, True]
