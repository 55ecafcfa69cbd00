"""The agent view: opening the Messages tab pins the suggested prompts (assistant.threads.setSuggestedPrompts,
no thread_ts, no message); the legacy assistant view gets them on each new assistant thread. Through Bolt's
dispatch with the fake Slack Web API (which shows prompts the way each view does, tests/fakes/fake_slack.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.agent.prompt import suggested_prompts
from bot.slack.home import MAX_PINNED, PIN_RETRY_S, PROMPTS_TITLE, MessagesTab, pinned_prompts
from tests.slack.conftest import AISHA, DM_SAM, SAM, SlackFactory, SlackHarness, message_text

REPO = Path(__file__).resolve().parents[2]


async def open_tab(slack: SlackHarness, user: str = SAM, channel: str = DM_SAM, tab: str = "messages") -> None:
    event: dict[str, Any] = {"type": "app_home_opened", "user": user, "channel": channel, "tab": tab,
                             "event_ts": slack.ts()}
    assert (await slack.event(event)).status == 200
    await slack.settle()


async def test_opening_the_messages_tab_pins_the_prompts_and_posts_nothing(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    await open_tab(slack)
    [pin] = slack.fake.of("assistant.threads.setSuggestedPrompts")
    assert {k: v for k, v in pin.args.items() if k != "team_id"} == {
        "channel_id": DM_SAM, "title": PROMPTS_TITLE, "prompts": pinned_prompts()}
    assert "thread_ts" not in pin.args, "with the agent view a thread_ts makes the call fail silently"
    assert slack.fake.pinned[(DM_SAM, None)]["prompts"] == pinned_prompts()
    assert [p["message"] for p in pinned_prompts()] == suggested_prompts()[:MAX_PINNED]
    await open_tab(slack)  # every opening: Slack keeps them above the composer
    assert not slack.sandbox.requests
    await open_tab(slack, user=AISHA, channel="D0AISHA", tab="home")  # the Home tab: no prompts (test_home_tab.py)
    assert len(slack.fake.of("assistant.threads.setSuggestedPrompts")) == 2
    assert slack.fake.of("chat.postMessage") == [], "no welcome message where the prompts are pinned"


async def test_a_clicked_prompt_is_answered_like_any_dm(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    await open_tab(slack)
    prompt = pinned_prompts()[1]["message"]  # Slack sends the message as the person's own
    event = await slack.dm(prompt)
    answer = await slack.reply()
    assert (answer.args["channel"], answer.args["thread_ts"]) == (DM_SAM, event["ts"])
    assert "platform-engineering" in message_text(answer)


async def test_the_legacy_assistant_view_gets_the_prompts_on_each_new_thread(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    slack.fake.view = "assistant"
    thread_ts = slack.ts()
    event = {"type": "assistant_thread_started", "event_ts": slack.ts(),
             "assistant_thread": {"user_id": SAM, "channel_id": DM_SAM, "thread_ts": thread_ts,
                                  "context": {"channel_id": "C0GENERAL", "team_id": "T0ACME"}}}
    assert (await slack.event(event)).status == 200
    await slack.settle()
    [pin] = slack.fake.of("assistant.threads.setSuggestedPrompts")
    assert pin.args["thread_ts"] == thread_ts and pin.args["prompts"] == pinned_prompts()
    assert slack.fake.pinned[(DM_SAM, thread_ts)]["title"] == PROMPTS_TITLE
    await slack.dm("services", thread_ts=thread_ts)
    answer = await slack.reply()
    assert answer.args["thread_ts"] == thread_ts, "answered in the assistant thread"


async def test_refused_prompts_fall_back_to_the_welcome_and_are_retried_later(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    clock = Clock()
    tab = MessagesTab(slack.rt, clock=clock)
    client = AsyncWebClient(token="xoxb-test-token", base_url=slack.fake.api_url)
    slack.fake.view = None
    for user, channel in ((SAM, DM_SAM), (AISHA, "D0AISHA"), (SAM, DM_SAM)):
        await tab.opened(client, {"type": "app_home_opened", "user": user, "channel": channel, "tab": "messages"})
    assert len(slack.fake.of("assistant.threads.setSuggestedPrompts")) == 1, "not asked again for a while"
    assert [c.args["channel"] for c in slack.fake.of("chat.postMessage")] == [DM_SAM, "D0AISHA"]
    slack.fake.view = "agent"  # the admin updated the app from the new manifest
    clock.now += PIN_RETRY_S
    await tab.opened(client, {"type": "app_home_opened", "user": SAM, "channel": DM_SAM, "tab": "messages"})
    assert slack.fake.pinned[(DM_SAM, None)]["prompts"] == pinned_prompts()
    assert len(slack.fake.of("chat.postMessage")) == 2


async def test_a_passing_failure_posts_no_welcome(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    slack.fake.fail("assistant.threads.setSuggestedPrompts", "ratelimited")
    await open_tab(slack)
    await open_tab(slack)
    assert len(slack.fake.of("assistant.threads.setSuggestedPrompts")) == 2, "tried again at the next opening"
    assert slack.fake.of("chat.postMessage") == []


def test_the_pinned_prompts_use_documented_arguments() -> None:
    """Against shared/specs/slack-web-methods.json; its thread_ts is "required" there, but the method's page
    now documents it as optional and only for the legacy assistant view."""
    folder = Path(os.environ.get("SLACK_SPECS_DIR") or REPO.parent / "shared" / "specs")
    path = folder / "slack-web-methods.json"
    if not path.is_file():
        from tests.specs import WEB_METHODS, missing

        missing(WEB_METHODS)
    documented = json.loads(path.read_text(encoding="utf-8"))["methods"]["assistant.threads.setSuggestedPrompts"]
    assert {"channel_id", "title", "prompts"} <= set(documented["args"])
    assert {name for name, arg in documented["args"].items() if arg.get("required")} - {"thread_ts"} == {
        "channel_id", "prompts"}
    assert all(set(p) == {"title", "message"} and 0 < len(p["title"]) <= 75 for p in pinned_prompts())


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

