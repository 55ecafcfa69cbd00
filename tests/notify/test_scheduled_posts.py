"""The scheduled posts as Slack shows them, read from the demo sandbox (through the OpenAPI contract check)
and posted to the fake Slack: the weekly on-call per routed target, the gap warning only where there are
gaps, the shift reminder DM (who hands over, what is open), Block Kit valid; and the channel's zone command."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.analysis.due import parse_kinds, parse_weekly_at
from bot.notify.routes import Routing, parse_routes
from bot.notify.scheduled import Scheduler
from bot.pagerduty import PagerDutyClient
from bot.sandbox import Sandbox, default_token
from bot.slack.scheduled_posts import SlackPosts
from bot.store.memory import MemoryState
from bot.tools.base import Asker, ToolContext
from tests.fakes.fake_slack import FakeSlack, SlackCall
from tests.helpers import sandbox_transport
from tests.notify.conftest import invalid_messages
from tests.notify.test_commands import said, slack_with_routes
from tests.slack.conftest import GENERAL, SlackFactory, message_text

NEW_YORK = ZoneInfo("America/New_York")
ROUTES = "payments-api=C0PAY,team:Platform=C0PLAT,*=C0ALL"
MEI = "U0MEI"
Contexts = Callable[[ZoneInfo, datetime], ToolContext]


@pytest.fixture
async def pagerduty(demo: Sandbox) -> AsyncIterator[PagerDutyClient]:
    async with PagerDutyClient(default_token("demo"), transport=sandbox_transport(demo)) as client:
        yield client


def contexts(pd: PagerDutyClient) -> Contexts:
    def build(zone: ZoneInfo, now: datetime) -> ToolContext:
        return ToolContext(pd, Asker(None, None, "alex", zone), now, time.monotonic() + 30)

    return build


def scheduler(pd: PagerDutyClient, fake: FakeSlack, kinds: str, routes: str = ROUTES,
              state: MemoryState | None = None) -> Scheduler:
    store = state or MemoryState()
    posts = SlackPosts(AsyncWebClient(token="xoxb-test-token", base_url=fake.api_url))
    return Scheduler(store, Routing(parse_routes(routes), store.notify), posts, contexts(pd), parse_kinds(kinds),
                     parse_weekly_at("tue 09:00"), NEW_YORK)  # the demo's clock: Tue 10 Mar, 10:00 in New York


def posted(fake: FakeSlack, channel: str) -> list[SlackCall]:
    return [c for c in fake.of("chat.postMessage") if c.args.get("channel") == channel]


async def test_the_weekly_post_shows_who_is_on_call_for_each_routed_service_and_team(
        demo: Sandbox, fake_slack: FakeSlack, pagerduty: PagerDutyClient) -> None:
    tick = await scheduler(pagerduty, fake_slack, "weekly-oncall").tick(demo.now)
    assert len(tick.posted) == 2 and tick.failed == ()
    [payments] = [message_text(c) for c in posted(fake_slack, "C0PAY")]
    assert "Who is on call this week" in payments and "Posted every tue 09:00, America/New_York time" in payments
    assert "payments-api" in payments and "Diego Alvarez" in payments and "Mei Chen" in payments
    assert "<!date^" in payments, "times as date tokens: each reader's own zone"
    [platform] = [message_text(c) for c in posted(fake_slack, "C0PLAT")]
    assert "Platform" in platform and "Diego Alvarez" not in platform
    assert posted(fake_slack, "C0ALL") == [], "a * route names no service or team: no weekly on-call"
    assert invalid_messages(fake_slack) == {}


async def test_the_gap_warning_goes_only_where_the_coming_week_has_gaps(
        demo: Sandbox, fake_slack: FakeSlack, pagerduty: PagerDutyClient) -> None:
    tick = await scheduler(pagerduty, fake_slack, "gap-warnings").tick(demo.now)
    assert tick.failed == ()
    [platform] = [message_text(c) for c in posted(fake_slack, "C0PLAT")]
    assert "Coverage gaps in the coming 7 days" in platform and "Platform Secondary" in platform
    assert "<!date^" in platform
    [account] = [message_text(c) for c in posted(fake_slack, "C0ALL")]
    for schedule in ("Platform Secondary", "Search On-call", "Checkout Primary"):
        assert schedule in account
    assert posted(fake_slack, "C0PAY") == [], "payments-api is covered at every level: nothing to warn about"
    assert "posted:gap-warnings:C0PAY:2026-03-10" in tick.quiet
    assert invalid_messages(fake_slack) == {}


async def test_a_shift_reminder_dm_says_when_who_hands_over_and_what_is_open(
        demo: Sandbox, fake_slack: FakeSlack, pagerduty: PagerDutyClient) -> None:
    fake_slack.add_user(MEI, email="Mei.Chen@acme-payments.example", tz="America/Los_Angeles", name="Mei Chen")
    state = MemoryState()
    one = scheduler(pagerduty, fake_slack, "shift-reminders", routes="payments-api=C0PAY", state=state)
    handoff = datetime.fromisoformat("2026-03-10T12:00:00-04:00")  # Payments Primary: Diego -> Mei
    assert not (await one.tick(handoff - timedelta(minutes=61))).posted, "not yet: more than an hour ahead"
    tick = await one.tick(handoff - timedelta(minutes=59))
    [dm] = posted(fake_slack, MEI)
    shown = message_text(dm)
    assert "Your on-call shift starts" in shown and "Payments Primary" in shown and "level 1" in shown
    assert "Handing over: Diego Alvarez" in shown
    assert "payments-api" in shown and "open" in shown
    assert "09:00 PDT" in str(dm.args["text"]), "the notification text in Mei's own zone"
    assert any(key.startswith("posted:shift:") for key in tick.posted)
    await one.tick(handoff - timedelta(minutes=30))
    assert len(posted(fake_slack, MEI)) == 1, "one reminder per shift"
    assert invalid_messages(fake_slack) == {}


async def test_people_not_in_slack_get_no_reminder_and_nothing_fails(
        demo: Sandbox, fake_slack: FakeSlack, pagerduty: PagerDutyClient) -> None:
    one = scheduler(pagerduty, fake_slack, "shift-reminders", routes="payments-api=C0PAY")
    tick = await one.tick(datetime.fromisoformat("2026-03-10T11:01:00-04:00"))
    assert tick.failed == () and tick.posted == () and tick.quiet
    assert fake_slack.of("chat.postMessage") == []
    assert fake_slack.of("users.lookupByEmail")


async def test_a_slack_failure_gives_the_post_back_for_the_next_tick(
        demo: Sandbox, fake_slack: FakeSlack, pagerduty: PagerDutyClient) -> None:
    one = scheduler(pagerduty, fake_slack, "weekly-oncall", routes="payments-api=C0PAY")
    fake_slack.fail("chat.postMessage", "internal_error")
    assert len((await one.tick(demo.now)).failed) == 1
    fake_slack.failures.clear()
    assert len((await one.tick(demo.now + timedelta(minutes=1))).posted) == 1
    assert len([c for c in posted(fake_slack, "C0PAY") if c.answer.get("ok")]) == 1


async def test_a_channel_alex_is_not_in_is_not_tried_every_minute(
        demo: Sandbox, fake_slack: FakeSlack, pagerduty: PagerDutyClient) -> None:
    one = scheduler(pagerduty, fake_slack, "weekly-oncall", routes="payments-api=C0PAY")
    fake_slack.fail("chat.postMessage", "not_in_channel")
    tick = await one.tick(demo.now)
    assert tick.failed == () and tick.quiet == ("posted:weekly-oncall:C0PAY:2026-03-10",)
    await one.tick(demo.now + timedelta(minutes=1))
    assert len(posted(fake_slack, "C0PAY")) == 1, "once: a retry would be refused the same way"


async def test_a_channel_member_sets_the_zone_of_its_scheduled_posts(make_slack: SlackFactory) -> None:
    slack = await slack_with_routes(make_slack, routes=f"payments-api={GENERAL}")
    assert slack.rt.notify is not None
    slack.rt.notify.scheduled = "weekly-oncall every mon 09:00"
    answer = await said(slack, "post times in Europe/Berlin", count=1)
    assert "now keep Europe/Berlin time" in answer and "weekly-oncall every mon 09:00" in answer
    assert await slack.rt.state.notify.zones() == {GENERAL: "Europe/Berlin"}
    assert "Mars/Olympus" in await said(slack, "post times in Mars/Olympus", count=2)
    assert await slack.rt.state.notify.zones() == {GENERAL: "Europe/Berlin"}, "a bad zone changes nothing"
    listed = await said(slack, "notifications", count=3)
    assert "Scheduled posts: weekly-oncall every mon 09:00, in Europe/Berlin time (chosen here)" in listed
    assert "default zone again, UTC" in await said(slack, "post times in default", count=4)
    assert await slack.rt.state.notify.zones() == {}
