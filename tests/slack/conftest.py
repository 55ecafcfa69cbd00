"""The Slack app under test: Bolt's real dispatch, signed requests, a fake Slack Web API, the demo sandbox.

``make_slack(model=None, ...)`` builds a :class:`SlackHarness`: the app from :func:`bot.slack.app.build_app`
with its Web API client pointed at a :class:`~tests.fakes.fake_slack.FakeSlack`, answering from the demo
sandbox (each Slack user mapped by e-mail to a sandbox person, contract-checked transport). The agent
runs in command mode (``model=None``) or with a ``ScriptedModel``. Requests go through
``app.async_dispatch`` with real ``x-slack-signature`` headers; listeners run after the ack, so tests
wait on the fake's recorded calls and on ``rt.idle()``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.agent.agent import Agent
from bot.agent.llm import ChatModel
from bot.config import Settings
from bot.sandbox import DEFAULT_NOW, Sandbox, build_sandbox, default_token
from bot.slack.app import build_app
from bot.slack.approvers import Approvers
from bot.slack.backend import PagerDutyBackend
from bot.slack.identity import IdentityResolver
from bot.slack.runtime import SlackRuntime
from bot.slack.sandbox_backend import SandboxBackend
from bot.slack.warroom import WarRooms
from bot.store.proposals import InMemoryProposalStore
from bot.store.thread_memory import InMemoryThreadMemory
from tests.fakes.fake_slack import BOT_ID, BOT_USER_ID, TEAM_ID, FakeSlack, SlackCall
from tests.helpers import sandbox_transport
from tests.specs import BLOCK_KIT, required

SECRET = "test-signing-secret"
MANAGER_EMAIL = "sam.rivera@acme-payments.example"
RESPONDER_EMAIL = "aisha.khan@acme-payments.example"
OBSERVER_EMAIL = "olivia.observer@acme-payments.example"
SAM, AISHA, OLIVIA, BEN, VISITOR = "U0SAM", "U0AISHA", "U0OLIVIA", "U0BEN", "U0VISITOR"
GENERAL = "C0GENERAL"
DM_SAM = "D0SAM"


@pytest.fixture
def demo() -> Sandbox:
    return build_sandbox("demo", now=DEFAULT_NOW, rate_limit_per_minute=None)


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user(SAM, email=MANAGER_EMAIL.upper(), tz="America/New_York", name="Sam Rivera")
        fake.add_user(AISHA, email=RESPONDER_EMAIL, tz="Europe/London", name="Aisha Khan")
        fake.add_user(OLIVIA, email=OBSERVER_EMAIL, tz="America/New_York", name="Olivia Observer")
        fake.add_user(BEN, email="ben.carter@acme-payments.example", tz="America/New_York", name="Ben Carter")
        fake.add_user(VISITOR, email="visitor@elsewhere.example", tz="Europe/Paris", name="Vic Visitor")
        fake.add_channel(GENERAL, "general")
        yield fake


class Clock:
    """A wall clock the tests move (proposal expiry)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class SlackHarness:
    fake: FakeSlack
    sandbox: Sandbox
    rt: SlackRuntime
    app: AsyncApp
    clock: Clock
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    # -- requests -------------------------------------------------------------------------------
    async def send(self, raw: str, *, content_type: str = "application/json", timestamp: int | None = None,
                   secret: str = SECRET) -> BoltResponse:
        return await self.app.async_dispatch(AsyncBoltRequest(
            body=raw, headers=signed(raw, timestamp=timestamp, secret=secret, content_type=content_type)))

    async def event(self, event: dict[str, Any], *, event_id: str | None = None) -> BoltResponse:
        return await self.send(json.dumps(event_callback(event, event_id or f"Ev{next(self._ids):04d}")))

    async def mention(self, text: str, *, user: str = SAM, channel: str = GENERAL,
                      thread_ts: str | None = None) -> dict[str, Any]:
        """Send "@alex <text>" and return the event (its ``ts``); the response must be 200."""
        event = {"type": "app_mention", "user": user, "text": f"<@{BOT_USER_ID}> {text}", "ts": self.ts(),
                 "channel": channel, "team": TEAM_ID}
        if thread_ts is not None:
            event["thread_ts"] = thread_ts
        event["event_ts"] = event["ts"]
        response = await self.event(event)
        assert response.status == 200, response.body
        return event

    async def dm(self, text: str, *, user: str = SAM, channel: str = DM_SAM, **extra: Any) -> dict[str, Any]:
        event = {"type": "message", "channel": channel, "channel_type": "im", "user": user, "text": text,
                 "ts": self.ts(), "team": TEAM_ID, **extra}
        event["event_ts"] = event["ts"]
        response = await self.event(event)
        assert response.status == 200, response.body
        return event

    async def click(self, action_id: str, value: str, *, user: str, message: SlackCall | None = None,
                    channel: str = GENERAL) -> BoltResponse:
        """Click a button (``message``: the recorded chat.postMessage that carried it)."""
        raw = "payload=" + quote(json.dumps(block_actions(action_id, value, user=user, message=message,
                                                          channel=channel)))
        response = await self.send(raw, content_type="application/x-www-form-urlencoded")
        assert response.status == 200, response.body
        return response

    async def slash(self, text: str, *, user: str = SAM, channel: str = DM_SAM,
                    command: str = "/alex") -> BoltResponse:
        """Type ``/alex <text>`` (a signed slash-command request); the ack must be 200. Later answers sent
        with ``respond()`` arrive in ``fake.responses`` (:meth:`responded`)."""
        form = {"token": "legacy-token", "team_id": TEAM_ID, "team_domain": "acme", "channel_id": channel,
                "channel_name": "directmessage" if channel.startswith("D") else "general", "user_id": user,
                "user_name": user.lower(), "command": command, "text": text, "api_app_id": "A0ALEX",
                "is_enterprise_install": "false", "response_url": self.fake.response_url(),
                "trigger_id": "1.2.3"}
        response = await self.send(urlencode(form), content_type="application/x-www-form-urlencoded")
        assert response.status == 200, response.body
        return response

    async def responded(self, count: int = 1, within: float = 10.0) -> dict[str, Any]:
        """The ``count``-th message sent to a slash command's ``response_url`` (waits for it)."""
        deadline = time.monotonic() + within
        while len(self.fake.responses) < count:
            assert time.monotonic() < deadline, f"expected {count} slash-command response(s)"
            await asyncio.sleep(0.01)
        await self.settle()
        return self.fake.responses[count - 1]

    def ts(self) -> str:
        return f"1773151200.{next(self._ids):06d}"

    # -- waiting --------------------------------------------------------------------------------
    async def settle(self) -> None:
        """Let the listeners started by the last requests finish."""
        await asyncio.sleep(0.05)
        assert await self.rt.idle(within=20), "listeners still running"

    async def nth(self, method: str, count: int = 1) -> SlackCall:
        """The ``count``-th call of ``method`` (waits for it, then for the listeners to finish)."""
        calls = await self.fake.wait_for(method, count)
        await self.settle()
        return calls[count - 1]

    async def reply(self, count: int = 1) -> SlackCall:
        """The ``count``-th chat.postMessage."""
        return await self.nth("chat.postMessage", count)

    async def updated(self, count: int = 1) -> SlackCall:
        """The ``count``-th chat.update (a card whose buttons were replaced)."""
        return await self.nth("chat.update", count)

    async def ephemeral(self, count: int = 1) -> SlackCall:
        """The ``count``-th chat.postEphemeral (a notice only the clicker sees)."""
        return await self.nth("chat.postEphemeral", count)

    def writes(self) -> list[tuple[str, str, str | None]]:
        """PagerDuty writes so far: (method, path, From)."""
        return [(r.method, r.path, r.from_email) for r in self.sandbox.requests if r.method != "GET"]


def signed(raw: str, *, timestamp: int | None = None, secret: str = SECRET,
           content_type: str = "application/json") -> dict[str, str]:
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=raw)
    return {"content-type": content_type, "x-slack-request-timestamp": stamp, "x-slack-signature": signature}


def event_callback(event: dict[str, Any], event_id: str) -> dict[str, Any]:
    return {"token": "legacy-token", "team_id": TEAM_ID, "api_app_id": "A0ALEX", "event": event,
            "type": "event_callback", "event_id": event_id, "event_time": int(time.time()),
            "authorizations": [{"enterprise_id": None, "team_id": TEAM_ID, "user_id": BOT_USER_ID,
                                "is_bot": True, "is_enterprise_install": False}],
            "is_ext_shared_channel": False}


def block_actions(action_id: str, value: str, *, user: str, message: SlackCall | None,
                  channel: str = GENERAL) -> dict[str, Any]:
    args = message.args if message is not None else {}
    channel = str(args.get("channel") or channel)
    message_ts = str((message.answer.get("ts") if message is not None else None) or "1773151200.999999")
    posted: dict[str, Any] = {"type": "message", "ts": message_ts, "bot_id": BOT_ID, "user": BOT_USER_ID,
                              "text": args.get("text", ""), "blocks": blocks_of(message) if message else []}
    container: dict[str, Any] = {"type": "message", "message_ts": message_ts, "channel_id": channel,
                                 "is_ephemeral": False}
    if args.get("thread_ts"):
        posted["thread_ts"] = container["thread_ts"] = args["thread_ts"]
    return {"type": "block_actions", "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
            "api_app_id": "A0ALEX", "token": "legacy-token", "container": container, "trigger_id": "1.2.3",
            "team": {"id": TEAM_ID, "domain": "acme"}, "channel": {"id": channel, "name": "general"},
            "message": posted, "response_url": "https://hooks.slack.com/actions/T0ACME/1/x",
            "actions": [{"action_id": action_id, "block_id": "b1", "value": value, "type": "button",
                         "text": {"type": "plain_text", "text": "x"}, "action_ts": "1773151300.000001"}]}


def blocks_of(call: SlackCall) -> list[dict[str, Any]]:
    blocks = call.args.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)


def buttons(call: SlackCall, action_id: str) -> list[str]:
    """The values of the buttons with ``action_id`` in a posted message."""
    values: list[str] = []
    for block in blocks_of(call):
        elements = list(block.get("elements") or []) + ([block["accessory"]] if block.get("accessory") else [])
        values += [str(e.get("value")) for e in elements if isinstance(e, dict) and e.get("action_id") == action_id]
    return values


POSTING = ("chat.postMessage", "chat.update", "chat.postEphemeral")


def block_problems(call: SlackCall) -> list[str]:
    """What is wrong with a posted message: no fallback text or no blocks, our Block Kit message rules
    (tests/slack/blockkit.py), and the Block Kit JSON Schema when shared/specs has it."""
    problems: list[str] = []
    if not str(call.args.get("text") or "").strip():
        problems.append("no fallback text")
    blocks = blocks_of(call)
    if not blocks:
        return [*problems, "no blocks"]
    try:
        from tests.slack import blockkit
    except ImportError:  # the renderer's checks are not there: only the basics above
        return problems
    problems += blockkit.message_problems(blocks, str(call.args.get("text") or ""))
    schema = blockkit.schema_problems(blocks)  # None: the schema file is absent
    if schema is None and required():
        problems.append(BLOCK_KIT)
    problems += schema or []
    return problems


def message_text(call: SlackCall) -> str:
    """Everything a reader sees in a posted message (fallback text and block texts)."""
    return str(call.args.get("text") or "") + "\n" + json.dumps(blocks_of(call), ensure_ascii=False)


def incident(sandbox: Sandbox, number: int) -> Any:
    return next(i for i in sandbox.world.incidents.values() if i.number == number)


def triggered_number(sandbox: Sandbox, service: str = "platform-engineering") -> int:
    ids = {s.id for s in sandbox.world.services.values() if s.name == service}
    return min(i.number for i in sandbox.world.incidents.values() if i.status == "triggered" and i.service_id in ids)


SlackFactory = Callable[..., Awaitable[SlackHarness]]


@pytest.fixture
async def make_slack(fake_slack: FakeSlack, demo: Sandbox) -> AsyncIterator[SlackFactory]:
    """``await make_slack(model=None, ttl_s=600, allow_unmapped_reads=True, approver_group=None)``."""
    built: list[SlackRuntime] = []

    async def build(model: ChatModel | None = None, *, ttl_s: float = 600.0, allow_unmapped_reads: bool = True,
                    approver_group: str | None = None, validate: bool = True, read_only: bool = False,
                    allowed_channels: frozenset[str] = frozenset(), shared_token: bool = False) -> SlackHarness:
        """``shared_token``: everyone's requests use the Manager's token, as with PAGERDUTY_USER_API_KEY
        outside ``--sandbox`` (the production backend, pointed at the sandbox)."""
        client = AsyncWebClient(token="xoxb-test-token", base_url=fake_slack.api_url)
        transport = sandbox_transport(demo) if validate else demo.transport()
        if shared_token:
            settings = Settings(_env_file=None, PAGERDUTY_USER_API_KEY=default_token("demo"))  # type: ignore[call-arg]
            backend = PagerDutyBackend.from_settings(settings, now=demo.now, transport=transport)
        else:
            backend = SandboxBackend(demo, default_token("demo"), transport=transport)
        clock = Clock()
        rt = SlackRuntime(Agent(model, InMemoryThreadMemory(), read_only=read_only), backend,
                          IdentityResolver(client, backend), WarRooms(client),
                          InMemoryProposalStore(ttl_s, clock=clock),
                          Approvers(client, approver_group) if approver_group else None,
                          allow_unmapped_reads=allow_unmapped_reads, allowed_channels=allowed_channels)
        built.append(rt)
        app = build_app(rt, client=client, signing_secret=SECRET)
        return SlackHarness(fake_slack, demo, rt, app, clock)

    yield build
    for rt in built:
        await rt.aclose()
    # Every message the app posted or updated in the test is valid Block Kit.
    invalid = {f"{c.method} #{i}": problems for i, c in enumerate(fake_slack.calls)
               if c.method in POSTING and (problems := block_problems(c))}
    assert not invalid, f"invalid Slack messages: {invalid}"
