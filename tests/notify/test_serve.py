"""``alex serve`` receives PagerDuty webhooks: HTTP mode on PORT beside /slack/events, Socket Mode on
ALEX_WEBHOOK_PORT; a bad ALEX_NOTIFY_ROUTES stops it naming the entry."""

from __future__ import annotations

import argparse
import asyncio
import io
import socket
from pathlib import Path

import aiohttp
import pytest

from bot.notify.events import WEBHOOK_PATH
from bot.notify.receiver import WebhookReceiver
from bot.slack.serve import run_webhooks, serve
from bot.store.memory import MemoryState
from tests.fakes.fake_slack import FakeSlack
from tests.notify.conftest import cards_in
from tests.notify.payloads import SECRET, body, event, headers, incident

ARGS = argparse.Namespace(sandbox=True, dataset="demo", now=None, as_email=None)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def until_up(url: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            try:
                async with http.get(url) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise AssertionError(f"{url} never answered")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fake_slack: FakeSlack) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)  # no .env
    values = {"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_SIGNING_SECRET": "test-signing-secret",
              "SLACK_API_URL": fake_slack.api_url, "PORT": str(free_port()),
              "ALEX_PAGERDUTY_WEBHOOK_SECRETS": f"{SECRET},old-one", "ALEX_NOTIFY_ROUTES": "payments-api=C0PAY",
              "ALEX_AUDIT_BUFFER_PATH": str(tmp_path / "audit.jsonl")}
    for name in ("SLACK_APP_TOKEN", "OPENAI_API_KEY", "OPENAI_BASE_URL", "ALEX_STATE_URL", "ALEX_WEBHOOK_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


async def test_http_mode_serves_the_webhooks_on_its_port_and_posts_cards(env: dict[str, str],
                                                                        fake_slack: FakeSlack) -> None:
    err = io.StringIO()
    running = asyncio.ensure_future(serve(ARGS, err))
    base = f"http://127.0.0.1:{env['PORT']}"
    try:
        await until_up(f"{base}/healthz")
        raw = body(event("incident.triggered", incident()))
        async with aiohttp.ClientSession() as http:
            async with http.post(f"{base}{WEBHOOK_PATH}", data=raw, headers=headers(raw)) as response:
                assert response.status == 202
            async with http.post(f"{base}{WEBHOOK_PATH}", data=raw, headers=headers(raw, "forged")) as response:
                assert response.status == 403
            async with http.post(f"{base}/slack/events", data=b"{}") as response:
                assert response.status == 401, "Slack's door is still there, and still checks signatures"
        await fake_slack.wait_for("chat.postMessage")
        assert len(cards_in(fake_slack, "C0PAY")) == 1
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    text = err.getvalue()
    assert f"HTTP mode on port {env['PORT']}: POST /slack/events, POST {WEBHOOK_PATH}" in text
    assert "the sandbox delivers its PagerDuty webhooks to alex in process" in text and SECRET not in text


async def test_a_bad_route_stops_serve_naming_the_entry(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALEX_NOTIFY_ROUTES", "payments-api=C0PAY,checkout=#checkout")
    err = io.StringIO()
    assert await serve(ARGS, err) == 2
    assert "ALEX_NOTIFY_ROUTES" in err.getvalue() and "route 2" in err.getvalue()
    assert SECRET not in err.getvalue()


async def test_socket_mode_serves_the_webhooks_on_their_own_port() -> None:
    state = MemoryState()
    seen: list[str] = []

    async def handle(received: object) -> None:
        seen.append(received.id)  # type: ignore[attr-defined]

    receiver = WebhookReceiver([SECRET], state, handle)
    await receiver.start()
    port, ready, err = free_port(), asyncio.Event(), io.StringIO()
    running = asyncio.ensure_future(run_webhooks(receiver, port, err, host="127.0.0.1", ready=ready,
                                                 health=state.health))
    try:
        await asyncio.wait_for(ready.wait(), 5)
        raw = body(event("incident.triggered", incident(), event_id="01EVTSOCKET"))
        async with aiohttp.ClientSession() as http:
            async with http.post(f"http://127.0.0.1:{port}{WEBHOOK_PATH}", data=raw, headers=headers(raw)) as answer:
                assert answer.status == 202
            async with http.get(f"http://127.0.0.1:{port}/healthz") as answer:
                assert answer.status == 200
        assert await receiver.idle(within=5) and seen == ["01EVTSOCKET"]
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
        await receiver.aclose()


async def test_serve_runs_the_scheduled_posts_when_they_are_on(env: dict[str, str], fake_slack: FakeSlack,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    # The sandbox's clock stands at Tue 10 Mar 10:00 in New York: a Tuesday 09:00 post is an hour late.
    for name, value in (("ALEX_SCHEDULED_POSTS", "weekly-oncall"), ("ALEX_SCHEDULED_AT", "tue 09:00"),
                        ("ALEX_SCHEDULED_TIMEZONE", "America/New_York")):
        monkeypatch.setenv(name, value)
    err = io.StringIO()
    running = asyncio.ensure_future(serve(ARGS, err))
    try:
        await until_up(f"http://127.0.0.1:{env['PORT']}/healthz")
        [post] = await fake_slack.wait_for("chat.postMessage")
        assert post.args["channel"] == "C0PAY" and "Who is on call this week" in str(post.args["text"])
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    assert "scheduled posts: weekly-oncall every tue 09:00 (default zone America/New_York)" in err.getvalue()


async def test_an_unknown_scheduled_post_stops_serve_naming_it(env: dict[str, str],
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALEX_SCHEDULED_POSTS", "weekly-oncall,daily-digest")
    err = io.StringIO()
    assert await serve(ARGS, err) == 2
    assert "ALEX_SCHEDULED_POSTS" in err.getvalue() and "'daily-digest'" in err.getvalue()
