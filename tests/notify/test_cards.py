"""Live cards: one per incident per routed channel, updated in place (chat.update) as PagerDuty changes it,
a short thread reply for each notable change, never moved back by a late delivery; valid Block Kit, every
PagerDuty text escaped, buttons by state, and the buttons act as whoever clicks."""

from __future__ import annotations

import re

from slack_sdk.web.async_client import AsyncWebClient

from bot.notify.events import WebhookEvent, read_delivery
from bot.notify.routes import Routing, parse_routes
from bot.pagerduty import PagerDutyClient
from bot.sandbox import Sandbox, default_token
from bot.slack.notify_cards import LiveCards
from tests.notify.conftest import Message, NotifierFactory, cards_in, messages
from tests.notify.payloads import body, changed, event, from_rest, incident, note, responder
from tests.slack.conftest import MANAGER_EMAIL, SAM, SlackFactory, triggered_number

TRIGGERED = incident()


async def one_card(notifier: object, channel: str = "C0PAY") -> Message:
    [card] = cards_in(notifier.fake, channel)  # type: ignore[attr-defined]
    return card


async def test_a_triggered_incident_posts_one_card_with_everything_a_responder_needs(
        make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier()
    await notifier.deliver(event("incident.triggered", TRIGGERED))
    await notifier.settle()
    card = await one_card(notifier)
    shown = card.shown
    for fact in ("#4242", "Checkout latency over 2 s", "payments-api", "high urgency", "P2", "triggered", "Aisha Khan",
                 "https://acme.pagerduty.com/incidents/PINC001"):
        assert fact in shown, fact
    assert re.search(r"opened <!date\^1773151200\^\{ago\}\|2026-03-10 14:00 UTC>", shown), "age: a live date token"
    assert card.buttons() == ["incident_ack", "incident_resolve", "incident_view", "incident_more"]
    assert cards_in(notifier.fake, "C0ALL") == [], "a named service's incident does not go to the default"


async def test_each_change_updates_the_same_message_and_replies_in_its_thread(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier()
    acked = changed(TRIGGERED, status="acknowledged")
    escalated = changed(acked, assignees=[{"id": "PBEN", "type": "user_reference", "summary": "Ben Carter"}])
    p1 = changed(escalated, priority={"id": "PP1", "type": "priority_reference", "summary": "P1"})
    steps = [
        event("incident.triggered", TRIGGERED, agent=None),
        event("incident.acknowledged", acked, minutes=3, agent="Aisha Khan"),
        event("incident.escalated", escalated, minutes=8, agent=None),
        event("incident.annotated", note("PINC001", "Rolled back 4.2.1"), minutes=10, agent="Ben Carter"),
        event("incident.priority_updated", p1, minutes=12),
        event("incident.status_update_published", note("PINC001", "Fix deploying", kind="incident_status_update"),
              minutes=15),
        event("incident.responder.added", responder("PINC001", "Maeve O'Neil"), minutes=16),
        event("incident.resolved", changed(p1, status="resolved"), minutes=23, agent="Sam Rivera"),
    ]
    for step in steps:
        assert (await notifier.deliver(step))[0] == 202
        await notifier.settle()
    card = await one_card(notifier)
    assert len(notifier.posted()) == 1, "one card, however many changes"
    assert card.updates == 4, "acknowledged, escalated, priority, resolved"
    assert "resolved" in card.shown and "P1" in card.shown and "Ben Carter" in card.shown
    assert card.buttons() == [], "resolved: no buttons"
    assert card.replies == [
        ":large_yellow_circle: Acknowledged by Aisha Khan",
        ":arrow_up: Escalated to Ben Carter",
        ":memo: Note by Ben Carter: Rolled back 4.2.1",
        ":label: Priority P2 → P1 by Sam Rivera",
        ":mega: Status update by Sam Rivera: Fix deploying",
        ":busts_in_silhouette: Maeve O'Neil was asked to help by Sam Rivera",
        ":white_check_mark: Resolved by Sam Rivera after 23 min",
    ]


async def test_an_acknowledged_card_offers_resolve_but_no_longer_acknowledge(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier()
    await notifier.deliver(event("incident.triggered", TRIGGERED))
    await notifier.settle()
    await notifier.deliver(event("incident.acknowledged", changed(TRIGGERED, status="acknowledged"), minutes=1))
    await notifier.settle()
    assert (await one_card(notifier)).buttons() == ["incident_resolve", "incident_view", "incident_more"]
    await notifier.deliver(event("incident.unacknowledged", changed(TRIGGERED, status="triggered"), minutes=30))
    await notifier.deliver(event("incident.reopened", changed(TRIGGERED, status="triggered"), minutes=31))
    await notifier.settle()
    card = await one_card(notifier)
    assert card.buttons()[0] == "incident_ack"
    assert card.replies[-2:] == [":red_circle: Unacknowledged: it is waiting for someone again",
                                 ":red_circle: Reopened by Sam Rivera"]


async def test_a_late_older_delivery_never_moves_the_card_back(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier()
    await notifier.deliver(event("incident.triggered", TRIGGERED))
    await notifier.settle()
    await notifier.deliver(event("incident.resolved", changed(TRIGGERED, status="resolved"), minutes=23))
    await notifier.settle()
    await notifier.deliver(event("incident.acknowledged", changed(TRIGGERED, status="acknowledged"), minutes=3))
    await notifier.settle()
    card = await one_card(notifier)
    assert ":white_check_mark:" in card.text and "acknowledged" not in card.text
    assert card.updates == 1 and len(card.replies) == 1, "the late acknowledgement changes nothing"
    stored = await notifier.state.notify.get("PINC001", "C0PAY")
    assert stored is not None and '"status":"resolved"' in stored.data


async def test_the_first_delivery_seen_can_be_a_later_one_and_a_note_without_a_card_is_dropped(
        make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier()
    await notifier.deliver(event("incident.annotated", note("PINC001", "early note")))
    await notifier.settle()
    assert notifier.fake.calls == []
    await notifier.deliver(event("incident.acknowledged", changed(TRIGGERED, status="acknowledged"), minutes=3))
    await notifier.settle()
    card = await one_card(notifier)
    assert "acknowledged" in card.text and card.replies == [], "the card itself says it"


async def test_pagerduty_text_is_escaped_everywhere(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier()
    evil = "<!channel> db down <https://evil.example|runbook> & more"
    await notifier.deliver(event("incident.triggered", incident(title=evil, assignees=("<@U0BOSS>",))))
    await notifier.settle()
    await notifier.deliver(event("incident.annotated", note("PINC001", "<!here> click <https://evil.example>"),
                                 agent="<!everyone>"))
    await notifier.settle()
    sent = "\n".join(str(c.args) for c in notifier.fake.calls)
    for forbidden in ("<!channel>", "<!here>", "<!everyone>", "<https://evil", "<@U0BOSS>"):
        assert forbidden not in sent, forbidden
    assert "&lt;!channel&gt;" in sent


async def test_routes_by_team_and_default_and_a_card_keeps_updating_once_posted(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(routes="payments-api=C0PAY,team:Platform=C0PLAT,*=C0ALL")
    platform = incident(pd_id="PPLAT01", service=("PQHJ12Q", "auth-service"), teams=(("PY7GX2N", "Platform"),))
    other = incident(pd_id="POTHER1", service=("PGZNUOS", "billing-worker"), teams=())
    for data in (platform, other):
        await notifier.deliver(event("incident.triggered", data))
    await notifier.settle()
    assert [len(cards_in(notifier.fake, c)) for c in ("C0PAY", "C0PLAT", "C0ALL")] == [0, 1, 1]
    filtered = await make_notifier(routes="payments-api=C0HIGH")
    filtered.routing.env = parse_routes("payments-api=C0HIGH", min_urgency="high")
    await filtered.deliver(event("incident.triggered", incident(pd_id="PLOW001", urgency="low")))
    await filtered.settle()
    assert cards_in(filtered.fake, "C0HIGH") == [], "low urgency: filtered out"
    await filtered.deliver(event("incident.triggered", incident(pd_id="PHI0001")))
    await filtered.settle()
    await filtered.deliver(event("incident.acknowledged", incident(pd_id="PHI0001", urgency="low",
                                                                  status="acknowledged"), minutes=2))
    await filtered.settle()
    [card] = [m for m in cards_in(filtered.fake, "C0HIGH") if "PHI0001" in m.shown]
    assert card.updates == 1, "once posted, the card follows its incident whatever the filters say"


async def test_clicking_acknowledge_on_a_live_card_acts_as_the_clicker(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    number = triggered_number(demo)
    async with PagerDutyClient(default_token("demo"), transport=demo.transport()) as pd:
        page = await pd.fetch("/incidents", "incidents", {"statuses[]": ["triggered"]}, max_items=100)
    [rest] = [i for i in page.items if i["incident_number"] == number]
    routing = Routing(parse_routes(f"{rest['service']['summary']}=C0PAY"), slack.rt.state.notify)
    cards = LiveCards(AsyncWebClient(token="xoxb-test-token", base_url=slack.fake.api_url), slack.rt.state.notify,
                      routing)
    parsed = read_delivery(body(event("incident.triggered", from_rest(rest))))
    assert isinstance(parsed, WebhookEvent)
    await cards.handle(parsed)
    [posted] = slack.fake.of("chat.postMessage")
    await slack.click("incident_ack", rest["id"], user=SAM, message=posted)
    await slack.updated()
    assert slack.writes() == [("PUT", "/incidents", MANAGER_EMAIL)], "as the person who clicked"
    [(_, card)] = messages(slack.fake).items()
    assert "acknowledged" in card.shown and "incident_ack" not in card.buttons()
