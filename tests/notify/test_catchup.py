"""The catch-up at start: incidents that changed while alex was down get their cards drawn again, those that
began meanwhile get one, resolved ones are read once each; bounded requests, one replica at a time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.notify.catchup import catch_up
from bot.notify.events import IncidentState
from bot.notify.routes import Routing, parse_routes
from bot.pagerduty import PagerDutyClient
from bot.sandbox import Sandbox, default_token
from bot.slack.notify_cards import LiveCards
from bot.store.memory import MemoryState
from tests.fakes.fake_slack import FakeSlack
from tests.notify.conftest import cards_in, invalid_messages
from tests.slack.conftest import MANAGER_EMAIL

ROUTES = "platform-engineering=C0PLAT,payments-api=C0PAY"


async def open_incidents(pd: PagerDutyClient, service: str) -> list[dict[str, Any]]:
    page = await pd.fetch("/incidents", "incidents", {"statuses[]": ["triggered", "acknowledged"]}, max_items=500)
    return [i for i in page.items if i["service"]["summary"] == service]


async def test_cards_stale_after_downtime_are_redrawn_and_new_incidents_posted(demo: Sandbox,
                                                                              fake_slack: FakeSlack) -> None:
    state = MemoryState()
    routing = Routing(parse_routes(ROUTES), state.notify)
    cards = LiveCards(AsyncWebClient(token="xoxb-test-token", base_url=fake_slack.api_url), state.notify, routing)
    async with PagerDutyClient(default_token("demo"), transport=demo.transport()) as pd:
        before = await open_incidents(pd, "platform-engineering")
        assert len(before) >= 2
        for rest in before:  # alex was up: every open incident of the service has its card
            await cards.show(IncidentState.from_rest(rest), 0.0, new=True)
        await state.notify.seen_until((demo.now - timedelta(hours=1)).timestamp())
        posted_before = len(cards_in(fake_slack, "C0PLAT"))
        # alex is down: one incident is resolved, one acknowledged, a new one triggers on payments-api.
        acked = next(i for i in before if i["status"] == "triggered")
        resolved = next(i for i in before if i is not acked)
        await pd.put("/incidents", {"incidents": [
            {"id": resolved["id"], "type": "incident_reference", "status": "resolved"},
            {"id": acked["id"], "type": "incident_reference", "status": "acknowledged"}]}, from_email=MANAGER_EMAIL)
        payments = next(s for s in (await pd.fetch("/services", "services", {}, max_items=100)).items
                        if s["name"] == "payments-api")
        created = await pd.post("/incidents", {"incident": {"type": "incident", "title": "Card auth failing",
                                                            "service": {"id": payments["id"],
                                                                        "type": "service_reference"}}},
                                from_email=MANAGER_EMAIL)
        new_id = created["incident"]["id"]
        sent_before = len(demo.requests)
        result = await catch_up(pd, state, cards, now=demo.now)
        reads = list(demo.requests)[sent_before:]
    assert result.ran and not result.incomplete
    assert all(r.method == "GET" for r in reads) and len(reads) <= 5 + 50, "bounded, and only reads"
    assert result.checked == 1, "the resolved incident is read once"
    shown = {m.shown.split("incident_row:")[1][:7]: m for m in cards_in(fake_slack, "C0PLAT")}
    assert len(shown) == posted_before, "no second card for any incident"
    assert ":white_check_mark:" in shown[resolved["id"]].text
    assert "acknowledged" in shown[acked["id"]].text
    since = demo.now - timedelta(hours=1)
    began = {i.id for i in demo.world.incidents.values() if i.status != "resolved" and i.created_at > since
             and demo.world.services[i.service_id].name == "payments-api"}
    new_cards = {m.shown.split("incident_row:")[1][:7]: m for m in cards_in(fake_slack, "C0PAY")}
    assert new_id in began and set(new_cards) == began, "incidents that began while alex was down, and only those"
    assert "Card auth failing" in new_cards[new_id].shown
    assert await state.notify.last_seen() == demo.now.timestamp()
    assert not invalid_messages(fake_slack)


async def test_the_first_start_posts_nothing_old_and_a_second_replica_does_not_run_it(demo: Sandbox,
                                                                                     fake_slack: FakeSlack) -> None:
    state = MemoryState()
    routing = Routing(parse_routes(ROUTES), state.notify)
    cards = LiveCards(AsyncWebClient(token="xoxb-test-token", base_url=fake_slack.api_url), state.notify, routing)
    async with PagerDutyClient(default_token("demo"), transport=demo.transport()) as pd:
        first = await catch_up(pd, state, cards, now=demo.now)
        second = await catch_up(pd, state, cards, now=demo.now)
    assert first.ran and first.open_read > 0 and first.posted_new == 0
    assert fake_slack.calls == [], "no watermark yet: incidents older than alex get no card"
    assert not second.ran, "one catch-up at a time across replicas"
