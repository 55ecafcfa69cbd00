"""The sandbox's own webhooks (bot.sandbox.webhooks: PagerDuty's documented V3 shapes, signed) read by
alex's receiver: every change made on the sandbox's REST API reaches the card, in process and over HTTP; and
``alex serve --sandbox`` wires them up by itself."""

from __future__ import annotations

import io
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.notify.events import WEBHOOK_PATH
from bot.notify.receiver import WebhookReceiver
from bot.notify.routes import Routing, parse_routes
from bot.pagerduty import PagerDutyClient
from bot.sandbox import Sandbox, default_token
from bot.sandbox.webhooks import WebhookRequest
from bot.slack.notify_cards import LiveCards
from bot.slack.serve import build_runtime, start_notifications, web_app
from bot.store.memory import MemoryState
from tests.fakes.fake_slack import FakeSlack
from tests.notify.conftest import cards_in, invalid_messages
from tests.slack.conftest import MANAGER_EMAIL


async def lifecycle(demo: Sandbox) -> str:
    """A new payments-api incident, acknowledged, noted and resolved through the sandbox's REST API."""
    async with PagerDutyClient(default_token("demo"), transport=demo.transport()) as pd:
        services = (await pd.fetch("/services", "services", {}, max_items=100)).items
        payments = next(s for s in services if s["name"] == "payments-api")
        created = await pd.post("/incidents", {"incident": {
            "type": "incident", "title": "Card auth failing", "urgency": "high",
            "service": {"id": payments["id"], "type": "service_reference"}}}, from_email=MANAGER_EMAIL)
        incident_id = str(created["incident"]["id"])
        await pd.put("/incidents", {"incidents": [{"id": incident_id, "type": "incident_reference",
                                                   "status": "acknowledged"}]}, from_email=MANAGER_EMAIL)
        await pd.post(f"/incidents/{incident_id}/notes", {"note": {"content": "Rolled back the deploy"}},
                      from_email=MANAGER_EMAIL)
        await pd.put("/incidents", {"incidents": [{"id": incident_id, "type": "incident_reference",
                                                   "status": "resolved"}]}, from_email=MANAGER_EMAIL)
    return incident_id


def check_card(fake: FakeSlack, incident_id: str) -> None:
    [card] = cards_in(fake, "C0PAY")
    assert incident_id in card.shown and "Card auth failing" in card.shown
    assert card.text.startswith(":white_check_mark:") and card.buttons() == []
    assert card.updates == 2, "acknowledged, resolved"
    assert card.replies[0].startswith(":large_yellow_circle: Acknowledged by Sam Rivera")
    assert card.replies[1] == ":memo: Note by Sam Rivera: Rolled back the deploy"
    assert card.replies[2].startswith(":white_check_mark: Resolved by Sam Rivera after ")
    assert not invalid_messages(fake)


def receiver_for(fake: FakeSlack, secret: str) -> tuple[WebhookReceiver, MemoryState]:
    state = MemoryState()
    routing = Routing(parse_routes("payments-api=C0PAY"), state.notify)
    cards = LiveCards(AsyncWebClient(token="xoxb-test-token", base_url=fake.api_url), state.notify, routing)
    return WebhookReceiver([secret], state, cards.handle), state


async def test_every_change_on_the_sandbox_reaches_the_card_in_process(demo: Sandbox, fake_slack: FakeSlack) -> None:
    hub = demo.webhooks
    subscription = hub.subscribe("https://alex.example/pagerduty/webhooks")
    receiver, _ = receiver_for(fake_slack, subscription.secret)
    await receiver.start()

    async def deliver(request: WebhookRequest) -> int:
        return receiver.admit(request.body, request.headers).status

    hub.deliver_with(deliver)
    incident_id = await lifecycle(demo)
    await hub.drain()
    assert await receiver.idle(within=10)
    await receiver.aclose()
    records = [r for r in hub.deliveries if r.incident_id == incident_id]
    assert [r.event_type for r in records] == ["incident.triggered", "incident.acknowledged", "incident.annotated",
                                               "incident.resolved"]
    assert {(r.state, r.attempts[-1].status) for r in records} == {("delivered", 202)}, "every one read and accepted"
    check_card(fake_slack, incident_id)


async def test_the_sandbox_delivers_over_http_to_the_receiver(demo: Sandbox, fake_slack: FakeSlack) -> None:
    hub = demo.webhooks
    receiver, state = receiver_for(fake_slack, "placeholder")
    http = TestClient(TestServer(web_app(None, signing_secret=None, webhooks=receiver, health=state.health)))
    await http.start_server()
    try:
        subscription = hub.subscribe(str(http.make_url(WEBHOOK_PATH)))
        receiver.add_secret(subscription.secret)
        await receiver.start()
        hub.deliver_to(None)  # real HTTP
        incident_id = await lifecycle(demo)
        await hub.drain()
        assert await receiver.idle(within=10)
        check_card(fake_slack, incident_id)
    finally:
        await receiver.aclose()
        await hub.aclose()
        await http.close()


async def test_alex_serve_sandbox_subscribes_its_own_receiver(fake_slack: FakeSlack, tmp_path: Any) -> None:
    settings = Settings(_env_file=None, SLACK_BOT_TOKEN=SecretStr("xoxb-test-token"),  # type: ignore[call-arg]
                        SLACK_API_URL=fake_slack.api_url, ALEX_NOTIFY_ROUTES="payments-api=C0PAY",
                        ALEX_AUDIT_BUFFER_PATH=str(tmp_path / "audit.jsonl"))
    client = AsyncWebClient(token="xoxb-test-token", base_url=fake_slack.api_url)
    rt = build_runtime(settings, client, sandbox=True)
    err = io.StringIO()
    receiver, catching_up = start_notifications(settings, client, rt, err, socket_mode=True)
    assert receiver is not None and catching_up is None and "delivers its PagerDuty webhooks" in err.getvalue()
    await receiver.start()
    sandbox: Sandbox = rt.backend.sandbox  # type: ignore[attr-defined]
    try:
        incident_id = await lifecycle(sandbox)
        await sandbox.webhooks.drain()
        assert await receiver.idle(within=10)
        check_card(fake_slack, incident_id)
    finally:
        await receiver.aclose()
        await sandbox.webhooks.aclose()
        await rt.aclose()
