"""Slack policy through Bolt's dispatch: the channel allowlist and the rate limit stop a request before
any listener runs, and who asks is looked up once per message or click (one ``users.info``, one
PagerDuty ``/users``). The in-process dedupe forgets an event when the shared store does."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import Sandbox
from bot.slack import buttons as slack_buttons
from bot.slack import conversation
from bot.slack.conversation import NOT_ALLOWED_HERE
from bot.slack.identity import IdentityResolver
from bot.slack.middleware import IgnoreUnanswerable
from bot.slack.runtime import RATE_LIMITED, RateLimits
from bot.store import DEDUPE_TTL_S
from bot.store.memory import MemoryState
from tests.fakes.fake_slack import BOT_USER_ID, TEAM_ID, FakeSlack
from tests.fakes.scripted_llm import ScriptedModel, call, calls, say
from tests.slack.conftest import (
    GENERAL,
    SAM,
    SECRET,
    Clock,
    SlackFactory,
    SlackHarness,
    buttons,
    event_callback,
    message_text,
    signed,
    triggered_number,
)

OTHER = "C0OTHER"


class Entered:
    """Counts the listeners' work functions that were entered (the real ones still run)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.names: list[str] = []
        for module, name in ((conversation, "answer"), (slack_buttons, "confirm"), (slack_buttons, "cancel"),
                             (slack_buttons, "act_on_incident")):
            monkeypatch.setattr(module, name, self._counting(name, getattr(module, name)))

    def _counting(self, name: str, real: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        async def entered(*args: Any, **kwargs: Any) -> None:
            self.names.append(name)
            await real(*args, **kwargs)
        return entered


def lookups(slack: SlackHarness) -> tuple[int, int]:
    """(users.info calls, PagerDuty /users look-ups) so far."""
    return len(slack.fake.of("users.info")), sum(r.path == "/users" for r in slack.sandbox.requests)


def uncached(slack: SlackHarness) -> None:
    """Identities are looked up afresh for each request, so a second look-up would show."""
    slack.rt.identities = IdentityResolver(slack.app.client, slack.rt.backend, ttl_s=0.0)


async def test_a_mention_or_click_outside_the_allowed_channels_reaches_no_listener(
        make_slack: SlackFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    entered = Entered(monkeypatch)
    model = ScriptedModel([])
    slack = await make_slack(model, allowed_channels=frozenset({GENERAL}))
    event = await slack.mention("what's open?", channel=OTHER)
    refusal = await slack.reply()
    assert (refusal.args["channel"], refusal.args["thread_ts"]) == (OTHER, event["ts"])
    assert NOT_ALLOWED_HERE.split(",")[0] in message_text(refusal)
    for action in (slack_buttons.INCIDENT_ACK, slack_buttons.CONFIRM, slack_buttons.CANCEL):
        await slack.click(action, "Q1ABCDEF", user=SAM, channel=OTHER)
    notices = await slack.fake.wait_for("chat.postEphemeral", 3)
    await slack.settle()
    assert all(NOT_ALLOWED_HERE.split(",")[0] in message_text(n) and n.args["user"] == SAM for n in notices)
    assert entered.names == [], "refused before any listener"
    assert lookups(slack) == (0, 0) and not slack.sandbox.requests and model.calls == []
    assert slack.fake.of("assistant.threads.setStatus") == [] and slack.fake.of("reactions.add") == []


async def test_a_rate_limited_message_reaches_no_listener_and_is_told_once(
        make_slack: SlackFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    entered = Entered(monkeypatch)
    slack = await make_slack(ScriptedModel([say("first answer")]))
    slack.rt.rate_limits = RateLimits(per_user=1, per_channel=100)
    await slack.mention("how are things?")
    await slack.reply()
    assert entered.names == ["answer"] and lookups(slack) == (1, 1)
    limited = [await slack.mention("and now?") for _ in range(3)]
    await slack.reply(2)
    posts = slack.fake.of("chat.postMessage")
    assert len(posts) == 2 and RATE_LIMITED[:40] in message_text(posts[1]), "one notice, then silence"
    assert (posts[1].args["channel"], posts[1].args["thread_ts"]) == (GENERAL, limited[0]["ts"])
    assert entered.names == ["answer"], "over the limit: no listener ran"
    assert lookups(slack) == (1, 1), "nobody was looked up for the refused messages"


async def test_who_asks_is_looked_up_once_per_message_and_per_click(make_slack: SlackFactory,
                                                                    demo: Sandbox) -> None:
    number = triggered_number(demo)
    model = ScriptedModel([calls(call("acknowledge_incidents", {"incidents": [str(number)]})),
                           say("Prepared: confirm below.")])
    slack = await make_slack(model)
    uncached(slack)
    await slack.mention("deal with it please")
    reply = await slack.reply()
    assert lookups(slack) == (1, 1), "one users.info and one PagerDuty /users for the message"
    [pid] = buttons(reply, "proposal_confirm")
    await slack.click("proposal_confirm", pid, user=SAM, message=reply)
    await slack.updated()
    assert lookups(slack) == (2, 2), "one more of each for the Confirm click"
    assert slack.writes()[0][:2] == ("PUT", "/incidents")
    others = sorted(i.number for i in demo.world.incidents.values() if i.status == "triggered")
    await slack.click("incident_ack", next(i.id for i in demo.world.incidents.values() if i.number == others[0]),
                      user=SAM)
    await slack.reply(2)
    assert lookups(slack) == (3, 3), "one more of each for the card's Ack click"


async def test_the_event_dedupe_remembers_an_event_as_long_as_the_shared_store(fake_slack: FakeSlack) -> None:
    clock = Clock()
    app = AsyncApp(client=AsyncWebClient(token="xoxb-test-token", base_url=fake_slack.api_url),
                   signing_secret=SECRET)
    app.use(IgnoreUnanswerable(clock=clock))  # its defaults, as a replica without shared state runs it
    answered: list[str] = []

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any]) -> None:
        answered.append(str(event["ts"]))

    event = {"type": "app_mention", "user": SAM, "text": f"<@{BOT_USER_ID}> hi", "ts": "1773151200.000001",
             "channel": GENERAL, "team": TEAM_ID}
    raw = json.dumps(event_callback(event, "Ev0001"))
    headers: dict[str, str | Sequence[str]] = dict(signed(raw))

    async def deliver() -> None:
        response = await app.async_dispatch(AsyncBoltRequest(body=raw, headers=headers))
        assert response.status == 200
        await asyncio.sleep(0.05)  # the listener runs after the ack

    await deliver()
    clock.advance(DEDUPE_TTL_S - 1)
    await deliver()  # a late retry: still the same event
    clock.advance(2)
    await deliver()  # past the shared store's window: the store has forgotten it, and so has this process
    assert len(answered) == 2


class SlowCounts(MemoryState):
    """A shared state whose rate-limit counter hangs (a locked file, a stalled Redis)."""

    async def hit(self, key: str, limit: int, window_s: float) -> bool:
        await asyncio.sleep(30)
        return True


async def test_a_hanging_rate_limit_counter_delays_no_ack_and_limits_still_hold(make_slack: SlackFactory) -> None:
    slack = await make_slack(ScriptedModel([say("first answer")]))
    slack.rt.state = SlowCounts()
    slack.rt.rate_limits = RateLimits(per_user=1, per_channel=100)
    for _ in range(2):
        started = time.monotonic()
        await slack.mention("how are things?")
        assert time.monotonic() - started < 2.5, "the ack waited for the shared counter"
    posts = [await slack.reply(), await slack.reply(2)]
    assert RATE_LIMITED[:40] in message_text(posts[1]), "counted in this process instead: still limited"
