"""The notification commands in Slack (through Bolt's dispatch, signed requests, the fake Slack, the demo
sandbox): set a channel's route as a channel member, list it, remove it; and the route makes the channel's
default service ("who's on call?" in #payments means payments-api), in command mode and for the model."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.notify.events import WebhookEvent, read_delivery
from bot.notify.routes import Routing, parse_routes
from bot.slack.notify_cards import LiveCards
from tests.fakes.scripted_llm import ScriptedModel, say
from tests.notify.conftest import cards_in
from tests.notify.payloads import body, event, incident
from tests.slack.conftest import DM_SAM, GENERAL, VISITOR, SlackFactory, SlackHarness, message_text

ENV = "team:Platform=C0PLAT,checkout-web=C0GENERAL"


async def slack_with_routes(make_slack: SlackFactory, routes: str = "", **options: object) -> SlackHarness:
    slack = await make_slack(**options)
    routing = Routing(parse_routes(routes), slack.rt.state.notify)
    slack.rt.notify = routing
    slack.rt.war_rooms.defaults = routing.default_of
    return slack


async def said(slack: SlackHarness, text: str, *, count: int, **where: object) -> str:
    await slack.mention(text, **where)  # type: ignore[arg-type]
    return message_text(await slack.reply(count))


async def test_a_channel_member_routes_a_service_here_lists_it_and_removes_it(make_slack: SlackFactory) -> None:
    slack = await slack_with_routes(make_slack)
    answer = await said(slack, "notify this channel about payments-api high urgency", count=1)
    assert "payments-api (high urgency)" in answer and "Questions here that name no service are about" in answer
    [route] = await slack.rt.state.notify.routes(GENERAL)
    assert (route.key, route.spec, route.by) == ("service:payments-api", "service:payments-api urgency:high", "U0SAM")
    listed = await said(slack, "notifications", count=2)
    assert "payments-api (high urgency)" in listed and "<@U0SAM>" in listed
    gone = await said(slack, "stop notifications for payments-api", count=3)
    assert "no longer gets the incident cards of payments-api" in gone
    assert await slack.rt.state.notify.routes(GENERAL) == []
    assert "gets no incident notifications" in await said(slack, "notifications", count=4)


async def test_a_route_set_from_slack_brings_that_service_cards_to_the_channel(make_slack: SlackFactory) -> None:
    slack = await slack_with_routes(make_slack)
    await said(slack, "notify this channel about payments-api P1 or P2", count=1)
    assert slack.rt.notify is not None
    cards = LiveCards(AsyncWebClient(token="xoxb-test-token", base_url=slack.fake.api_url), slack.rt.state.notify,
                      slack.rt.notify)
    for pd_id, priority in (("PHIGH01", "P1"), ("PLOW001", "P4")):
        parsed = read_delivery(body(event("incident.triggered", incident(pd_id=pd_id, priority=priority))))
        assert isinstance(parsed, WebhookEvent)
        await cards.handle(parsed)
    [card] = [m for m in cards_in(slack.fake, GENERAL) if "incident_row" in m.shown]
    assert "PHIGH01" in card.shown, "P4 is filtered out"


async def test_teams_everything_and_what_cannot_be_routed(make_slack: SlackFactory) -> None:
    slack = await slack_with_routes(make_slack)
    assert "team Platform" in await said(slack, "notify this channel about team Platform", count=1)
    assert "every incident" in await said(slack, "please notify here about everything", count=2)
    unknown = await said(slack, "notify this channel about no-such-service", count=3)
    assert "can't find a service called “no-such-service”" in unknown
    assert "Say which service" in await said(slack, "notify this channel about <https://x|y>", count=4)
    assert len(await slack.rt.state.notify.routes(GENERAL)) == 2


async def test_routes_need_a_channel_and_a_pagerduty_account(make_slack: SlackFactory) -> None:
    slack = await slack_with_routes(make_slack, allow_unmapped_reads=True)
    await slack.dm("notify this channel about payments-api", channel=DM_SAM)
    assert "Notifications go to channels" in message_text(await slack.reply(1))
    visitor = await said(slack, "notify this channel about payments-api", count=2, user=VISITOR)
    assert "needs a PagerDuty account" in visitor
    assert await slack.rt.state.notify.routes() == []


async def test_routes_from_the_environment_are_listed_and_not_removable_from_slack(make_slack: SlackFactory) -> None:
    slack = await slack_with_routes(make_slack, ENV)
    listed = await said(slack, "notifications", count=1)
    assert "checkout-web (set in `ALEX_NOTIFY_ROUTES`)" in listed and "are about *checkout-web*" in listed
    refused = await said(slack, "stop notifications for checkout-web", count=2)
    assert "only an alex admin can change it there" in refused


async def test_whos_on_call_in_a_routed_channel_means_its_service(make_slack: SlackFactory) -> None:
    plain = await slack_with_routes(make_slack)
    before = await said(plain, "who's on call?", count=1)
    routed = await slack_with_routes(make_slack, "payments-api=C0GENERAL")
    after = await said(routed, "who's on call?", count=2)
    assert "payments-api" in after and after != before
    assert "payments-api" in await said(routed, "oncall next week", count=3)
    elsewhere = await said(routed, "who's on call for search?", count=4)
    assert "search" in elsewhere, "a question naming a service keeps it"


async def test_the_model_is_told_the_channel_default(make_slack: SlackFactory) -> None:
    model = ScriptedModel([say("Noted.")])
    slack = await slack_with_routes(make_slack, "payments-api=C0GENERAL", model=model)
    await said(slack, "is anything burning for us right now?", count=1)
    system = model.calls[0].messages[0]["content"]
    assert 'incident notifications of the service "payments-api"' in system
