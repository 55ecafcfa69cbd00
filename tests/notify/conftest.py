"""Incident notifications under test: the receiver served over real HTTP (aiohttp's test server, the same
application ``alex serve`` builds), live cards posted to the fake Slack, any state backend.

``make_notifier(routes=..., state=...)`` builds a :class:`Notifier`; :meth:`Notifier.deliver` POSTs a signed V3
payload (:mod:`tests.notify.payloads`) and returns the status and JSON answer; :meth:`Notifier.settle` waits for
the receiver to process everything accepted. :func:`messages` replays the fake Slack's calls into each
message's final state (top-level cards and their thread replies).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from slack_sdk.web.async_client import AsyncWebClient

from bot.notify.events import WEBHOOK_PATH
from bot.notify.receiver import WebhookReceiver
from bot.notify.routes import Routing, parse_routes
from bot.slack.notify_cards import LiveCards
from bot.slack.serve import web_app
from bot.store import StateStore
from bot.store.memory import MemoryState
from tests.fakes.fake_slack import FakeSlack, SlackCall
from tests.notify.payloads import SECRET, body, headers
from tests.slack import conftest as slack_fixtures
from tests.slack.conftest import POSTING, block_problems, blocks_of

fake_slack = slack_fixtures.fake_slack
demo = slack_fixtures.demo
make_slack = slack_fixtures.make_slack

ROUTES = "payments-api=C0PAY,team:Platform=C0PLAT,*=C0ALL"


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    posts: int = 1
    updates: int = 0
    replies: list[str] = field(default_factory=list)

    @property
    def shown(self) -> str:
        return self.text + "\n" + json.dumps(self.blocks, ensure_ascii=False)

    def buttons(self) -> list[str]:
        return [str(e.get("action_id")) for b in self.blocks for e in b.get("elements") or [] if isinstance(e, dict)
                and e.get("type") in ("button", "overflow")]


def messages(fake: FakeSlack) -> dict[tuple[str, str], Message]:
    """Every top-level message the app posted, as it stands after every update, with its thread's replies."""
    found: dict[tuple[str, str], Message] = {}
    for call in fake:
        channel = str(call.args.get("channel"))
        if call.method == "chat.postMessage" and not call.args.get("thread_ts"):
            ts = str(call.answer["ts"])
            found[(channel, ts)] = Message(channel, ts, str(call.args.get("text")), blocks_of(call))
        elif call.method == "chat.update":
            message = found[(channel, str(call.args["ts"]))]
            message.text, message.blocks = str(call.args.get("text")), blocks_of(call)
            message.updates += 1
        elif call.method == "chat.postMessage":
            parent = found.get((channel, str(call.args["thread_ts"])))
            if parent is not None:
                parent.replies.append(str(call.args.get("text")))
    return found


def cards_in(fake: FakeSlack, channel: str) -> list[Message]:
    return [m for (c, _), m in messages(fake).items() if c == channel]


def invalid_messages(fake: FakeSlack) -> dict[str, list[str]]:
    return {f"{c.method} #{i}": problems for i, c in enumerate(fake.calls)
            if c.method in POSTING and (problems := block_problems(c))}


@dataclass
class Notifier:
    fake: FakeSlack
    state: StateStore
    routing: Routing
    cards: LiveCards
    receiver: WebhookReceiver
    http: TestClient  # type: ignore[type-arg]

    async def deliver(self, payload: dict[str, Any] | bytes, *secrets: str,
                      extra: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        raw = payload if isinstance(payload, bytes) else body(payload)
        sent = headers(raw, *(secrets or (SECRET,))) if extra is None else extra
        response = await self.http.post(WEBHOOK_PATH, data=raw, headers=sent)
        return response.status, await response.json()

    async def settle(self) -> None:
        assert await self.receiver.idle(within=20), "events still being processed"

    def posted(self, channel: str | None = None) -> list[SlackCall]:
        return [c for c in self.fake.of("chat.postMessage") if not c.args.get("thread_ts")
                and (channel is None or c.args.get("channel") == channel)]


NotifierFactory = Callable[..., Awaitable[Notifier]]


@pytest.fixture
async def make_notifier(fake_slack: FakeSlack) -> AsyncIterator[NotifierFactory]:
    """``await make_notifier(routes=ROUTES, state=None, secrets=(SECRET,), **receiver_options)``."""
    built: list[Notifier] = []

    async def build(routes: str = ROUTES, state: StateStore | None = None, secrets: tuple[str, ...] = (SECRET,),
                    **options: Any) -> Notifier:
        store = state or MemoryState()
        client = AsyncWebClient(token="xoxb-test-token", base_url=fake_slack.api_url)
        routing = Routing(parse_routes(routes), store.notify)
        cards = LiveCards(client, store.notify, routing)
        receiver = WebhookReceiver(secrets, store, cards.handle, **options)
        await receiver.start()
        http = TestClient(TestServer(web_app(None, signing_secret=None, webhooks=receiver, health=store.health)))
        await http.start_server()
        notifier = Notifier(fake_slack, store, routing, cards, receiver, http)
        built.append(notifier)
        return notifier

    yield build
    for notifier in built:
        await notifier.receiver.aclose()
        await notifier.http.close()
    invalid = invalid_messages(fake_slack)
    assert not invalid, f"invalid Slack messages: {invalid}"
