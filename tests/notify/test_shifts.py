"""The shifts about to start on the escalation policies behind routed services and teams (the demo sandbox,
through the OpenAPI contract check): who, when, who hands over; unknown targets skipped, policies cached."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.notify.routes import parse_routes
from bot.notify.shifts import ShiftFinder
from bot.pagerduty import PagerDutyClient
from bot.sandbox import Sandbox, default_token
from bot.tools.base import Asker, ToolContext
from tests.helpers import sandbox_transport

HOUR = timedelta(hours=1)


def context(pd: PagerDutyClient, now: datetime) -> ToolContext:
    return ToolContext(pd, Asker(None, None, "alex", ZoneInfo("UTC")), now, time.monotonic() + 30)


async def test_a_teams_next_shift_names_the_person_and_who_hands_over(demo: Sandbox) -> None:
    async with PagerDutyClient(default_token("demo"), transport=sandbox_transport(demo)) as pd:
        now = datetime.fromisoformat("2026-03-10T14:30:00-04:00")  # Platform Primary: Ben -> Sam at 15:00
        shifts = await ShiftFinder().upcoming(context(pd, now), parse_routes("team:Platform=C0PLAT"), HOUR)
    [sam] = [s for s in shifts if s.schedule == "Platform Primary"]
    assert (sam.user_name, sam.hands_over, sam.level) == ("Sam Rivera", "Ben Carter", 1)
    assert sam.start == datetime.fromisoformat("2026-03-10T15:00:00-04:00") and sam.email
    assert [r.target for r in sam.targets] == ["Platform"]
    assert all(now < s.start <= now + HOUR for s in shifts)


async def test_an_unknown_target_is_skipped_and_logged_by_its_channel_only(
        demo: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    async with PagerDutyClient(default_token("demo"), transport=sandbox_transport(demo)) as pd:
        finder = ShiftFinder()
        routes = parse_routes("no-such-service=C0NOPE,*=C0ALL")
        with caplog.at_level(logging.WARNING, logger="bot.notify.shifts"):
            assert await finder.upcoming(context(pd, demo.now), routes, HOUR) == []
        before = pd.requests_sent
        assert await finder.upcoming(context(pd, demo.now), routes, HOUR) == []
        assert pd.requests_sent == before, "the unknown target is remembered for an hour: no lookup every minute"
    assert "C0NOPE" in caplog.text and "no-such-service" not in caplog.text
