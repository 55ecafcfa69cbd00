"""The scheduled posts' scheduler: off by default, one replica working across a real redis-server, each post
once across ticks and restarts, in each channel's zone, a failure retried, a quiet one not."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.analysis.due import parse_kinds, parse_weekly_at
from bot.config import Settings
from bot.notify.routes import Route, Routing, parse_routes
from bot.notify.scheduled import SCHEDULER_LEASE, Scheduler, Weekly
from bot.notify.shifts import ShiftStart
from bot.pagerduty import PagerDutyClient
from bot.store import StateStore
from bot.store.memory import MemoryState
from bot.store.redis import RedisState
from bot.store.sqlite import SQLiteState
from bot.tools.base import Asker, ToolContext
from tests.store.conftest import redis_server, redis_url  # noqa: F401 (fixtures)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
MONDAY_9 = parse_weekly_at("mon 09:00")
ROUTES = "payments-api=C0PAY,team:Platform=C0PLAT"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@dataclass
class Recorder:
    """Posts that record what they were asked to post; ``failures`` raise first."""

    weekly_posts: list[tuple[str, str, str]] = field(default_factory=list)
    reminders: list[str] = field(default_factory=list)
    failures: int = 0
    quiet: frozenset[str] = frozenset()

    async def weekly(self, kind: Weekly, channel: str, routes: Sequence[Route], every: str,
                     ctx: ToolContext) -> bool:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("Slack is down")
        if kind in self.quiet:
            return False
        self.weekly_posts.append((kind, channel, str(ctx.tz)))
        return True

    async def remind(self, shift: ShiftStart, ctx: ToolContext) -> bool:
        self.reminders.append(shift.key)
        return True


def contexts(zone: ZoneInfo, now: datetime) -> ToolContext:
    return ToolContext(PagerDutyClient("unused-token"), Asker(None, None, "alex", zone), now)


def scheduler(state: StateStore, posts: Recorder, kinds: str = "weekly-oncall,gap-warnings",
              routes: str = ROUTES) -> Scheduler:
    return Scheduler(state, Routing(parse_routes(routes), state.notify), posts, contexts, parse_kinds(kinds),
                     MONDAY_9, BERLIN)


MONDAY = at("2026-03-23T09:00:00+01:00")


async def test_scheduled_posts_are_off_by_default() -> None:
    state, posts = MemoryState(), Recorder()
    tick = await scheduler(state, posts, kinds=Settings(_env_file=None).scheduled_posts).tick(MONDAY)  # type: ignore[call-arg]
    assert not tick.held and posts.weekly_posts == []
    assert await state.lease(SCHEDULER_LEASE, "someone-else", 60), "an idle scheduler holds no lease"


async def test_each_channel_gets_each_weekly_post_once_a_week_across_ticks_and_restarts(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    clock = [MONDAY]  # the store's clock follows the ticks: leases and marks expire in the same time

    def wall() -> float:
        return clock[0].timestamp()

    posts = Recorder()
    first = SQLiteState(path, clock=wall)
    one = scheduler(first, posts)
    for minute in range(0, 120, 7):
        clock[0] = MONDAY + timedelta(minutes=minute)
        await one.tick(clock[0])
    assert sorted(posts.weekly_posts) == [("gap-warnings", "C0PAY", "Europe/Berlin"),
                                          ("gap-warnings", "C0PLAT", "Europe/Berlin"),
                                          ("weekly-oncall", "C0PAY", "Europe/Berlin"),
                                          ("weekly-oncall", "C0PLAT", "Europe/Berlin")]
    await first.aclose()
    restarted = SQLiteState(path, clock=wall)  # a new process: a new owner
    again = scheduler(restarted, posts)
    clock[0] += timedelta(seconds=1)
    assert not (await again.tick(clock[0])).held, "the stopped one's lease has not run out yet"
    clock[0] += timedelta(minutes=4)
    tick = await again.tick(clock[0])
    assert tick.held and tick.posted == () and len(posts.weekly_posts) == 4
    clock[0] = MONDAY + timedelta(days=7)
    await again.tick(clock[0])
    assert len(posts.weekly_posts) == 8, "next Monday: once more"
    await restarted.aclose()


async def test_a_failed_post_is_tried_again_next_tick_and_a_quiet_one_is_not() -> None:
    state = MemoryState()
    posts = Recorder(failures=1, quiet=frozenset({"gap-warnings"}))
    one = scheduler(state, posts, routes="payments-api=C0PAY")
    tick = await one.tick(MONDAY)
    assert len(tick.failed) == 1 and posts.weekly_posts == []
    assert tick.quiet == ("posted:gap-warnings:C0PAY:2026-03-23",)
    tick = await one.tick(MONDAY + timedelta(minutes=1))
    assert tick.posted == ("posted:weekly-oncall:C0PAY:2026-03-23",) and tick.quiet == ()
    assert posts.weekly_posts == [("weekly-oncall", "C0PAY", "Europe/Berlin")]


async def test_a_channel_zone_moves_its_posts_to_its_own_monday_morning() -> None:
    state, posts = MemoryState(), Recorder()
    await state.notify.set_zone("C0PLAT", "America/New_York")
    one = scheduler(state, posts, kinds="weekly-oncall")
    await one.tick(MONDAY)
    assert posts.weekly_posts == [("weekly-oncall", "C0PAY", "Europe/Berlin")]
    await one.tick(at("2026-03-23T09:00:00-04:00"))
    assert posts.weekly_posts[-1] == ("weekly-oncall", "C0PLAT", "America/New_York")


async def test_a_post_more_than_two_hours_late_waits_for_next_week() -> None:
    posts = Recorder()
    await scheduler(MemoryState(), posts).tick(MONDAY + timedelta(hours=2, minutes=5))
    assert posts.weekly_posts == []


async def test_two_schedulers_on_one_redis_post_each_once(redis_url: str) -> None:  # noqa: F811
    posts = Recorder()
    states = [RedisState.from_url(redis_url), RedisState.from_url(redis_url)]
    one, two = (scheduler(state, posts) for state in states)
    ticks = []
    for minute in range(10):
        ticks += await asyncio.gather(one.tick(MONDAY + timedelta(minutes=minute)),
                                      two.tick(MONDAY + timedelta(minutes=minute)))
    assert len(posts.weekly_posts) == 4 and len(set(posts.weekly_posts)) == 4
    assert {tick.held for tick in ticks[0::2]} != {tick.held for tick in ticks[1::2]}, "one of them works"
    # The working one stops: the other takes over once its lease runs out, and posts nothing twice.
    worker, other = (one, two) if ticks[0].held else (two, one)
    await states[0 if worker is one else 1].lease(SCHEDULER_LEASE, worker.owner, 0)
    tick = await other.tick(MONDAY + timedelta(minutes=20))
    assert tick.held and tick.posted == () and len(posts.weekly_posts) == 4
    for state in states:
        await state.aclose()


async def test_a_post_cut_off_by_the_tick_deadline_goes_out_next_tick() -> None:
    class Slow(Recorder):
        async def weekly(self, kind: Weekly, channel: str, routes: Sequence[Route], every: str,
                         ctx: ToolContext) -> bool:
            if not self.weekly_posts and self.failures:
                self.failures -= 1
                await asyncio.sleep(10)
            return await super().weekly(kind, channel, routes, every, ctx)

    posts = Slow(failures=1)
    one = scheduler(MemoryState(), posts, kinds="weekly-oncall", routes="payments-api=C0PAY")
    one.deadline_s = 0.2
    assert (await one.tick(MONDAY)).failed == ("posted:weekly-oncall:C0PAY:2026-03-23",)
    assert (await one.tick(MONDAY + timedelta(minutes=1))).posted == ("posted:weekly-oncall:C0PAY:2026-03-23",)
