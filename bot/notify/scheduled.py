"""The scheduled posts' one scheduler across replicas, and what each tick posts.

``alex serve`` runs :meth:`Scheduler.run`: every :data:`TICK_S` a :meth:`Scheduler.tick`. A tick works only
on the replica holding the ``scheduler`` lease in the shared state (:meth:`~bot.store.StateStore.lease`,
renewed each tick, lost :data:`LEASE_S` after its holder stops). Then, for the channels with notification
routes (:class:`~bot.notify.routes.Routing`, at most :data:`MAX_CHANNELS` per tick):

* ``weekly-oncall`` and ``gap-warnings``: due at ``ALEX_SCHEDULED_AT`` in the channel's zone
  (:func:`~bot.analysis.due.weekly_due`, up to two hours late);
* ``shift-reminders``: each shift starting within ``ALEX_SHIFT_REMINDER_MINUTES`` on the policies behind
  the routed services and teams (:class:`~bot.notify.shifts.ShiftFinder`), at most :data:`MAX_REMINDERS`.

Each post first takes its *posted mark*, a lease named after the post (kind, channel or person, period)
held for longer than the period by that one attempt: a later tick, another replica, or this one after a
restart finds it taken and posts nothing. A post that fails gives its mark up, so the next tick tries again.
What is posted, and how, is the :class:`Posts`' (Slack's :mod:`bot.slack.scheduled_posts`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from bot.analysis.due import Kind, WeeklyAt, parse_zone, period, weekly_due
from bot.notify.routes import Route, Routing
from bot.notify.shifts import ShiftFinder, ShiftStart
from bot.store import StateStore
from bot.tools.base import ToolContext

log = logging.getLogger("bot.notify.scheduled")

TICK_S = 60.0
LEASE_S = 3 * TICK_S
WEEKLY_MARK_S = 8 * 24 * 3600.0
"""A weekly post's mark outlives its week (and its two late hours)."""
REMINDER_MARK_S = 2 * 24 * 3600.0
MAX_CHANNELS = 50
MAX_REMINDERS = 50
TICK_DEADLINE_S = 50.0
"""A tick stops starting posts after this long (the rest wait for the next tick)."""
SCHEDULER_LEASE = "scheduler"
Weekly = Literal["weekly-oncall", "gap-warnings"]
WEEKLY: tuple[Weekly, ...] = ("weekly-oncall", "gap-warnings")


class Posts(Protocol):
    """What posts (Slack's :class:`~bot.slack.scheduled_posts.SlackPosts`): True when something was posted,
    False when there was nothing to say (a gap warning without gaps); raises when posting failed."""

    async def weekly(self, kind: Weekly, channel: str, routes: Sequence[Route], every: str,
                     ctx: ToolContext) -> bool:
        """``every``: when the post comes (``mon 09:00``), said in it."""
        ...

    async def remind(self, shift: ShiftStart, ctx: ToolContext) -> bool: ...


Contexts = Callable[[ZoneInfo, datetime], ToolContext]
"""A tool context reading PagerDuty with the deployment's token, in a zone, at a time."""


@dataclass(frozen=True, slots=True)
class Tick:
    """What one tick did (marks of the posts made, and of those that failed)."""

    held: bool
    posted: tuple[str, ...] = ()
    quiet: tuple[str, ...] = ()
    """Due, with nothing to say (marked all the same)."""
    failed: tuple[str, ...] = ()


def replica_id() -> str:
    """This process's name as a lease owner: a restart is a new owner."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


@dataclass
class Scheduler:
    """See the module. ``kinds`` empty: every tick does nothing (the posts are off)."""

    state: StateStore
    routing: Routing
    posts: Posts
    contexts: Contexts
    kinds: frozenset[Kind]
    weekly_at: WeeklyAt
    default_zone: ZoneInfo
    reminder: timedelta = timedelta(minutes=60)
    owner: str = field(default_factory=replica_id)
    finder: ShiftFinder = field(default_factory=ShiftFinder)
    deadline_s: float = TICK_DEADLINE_S

    async def tick(self, now: datetime) -> Tick:
        """One round at ``now`` (aware): the posts due, each once across replicas and restarts."""
        if not self.kinds or not await self.state.lease(SCHEDULER_LEASE, self.owner, LEASE_S):
            return Tick(held=False)
        done: dict[str, list[str]] = {"posted": [], "quiet": [], "failed": []}
        try:
            async with asyncio.timeout(self.deadline_s):
                await self._round(now, done)
        except TimeoutError:
            log.warning("scheduled posts: a tick took over %g s; the rest go out next tick", self.deadline_s)
        return Tick(True, tuple(done["posted"]), tuple(done["quiet"]), tuple(done["failed"]))

    async def _round(self, now: datetime, done: dict[str, list[str]]) -> None:
        routes = await self.routing.all_routes()
        channels: dict[str, list[Route]] = {}
        for route in routes:
            channels.setdefault(route.channel, []).append(route)
        zones = await self.routing.store.zones() if channels else {}
        weekly = [kind for kind in WEEKLY if kind in self.kinds]
        for channel, mine in list(channels.items())[:MAX_CHANNELS]:
            zone = _zone(zones.get(channel), self.default_zone)
            due = weekly_due(now, self.weekly_at, zone) if weekly else None
            if due is None:
                continue
            for kind in weekly:
                mark = f"posted:{kind}:{channel}:{period(due, zone)}"
                post = partial(self.posts.weekly, kind, channel, mine, str(self.weekly_at), self.contexts(zone, now))
                await self._once(mark, WEEKLY_MARK_S, post, done)
        if "shift-reminders" in self.kinds and routes:
            try:
                shifts = await self.finder.upcoming(self.contexts(self.default_zone, now), routes, self.reminder)
            except Exception as exc:  # PagerDuty failed: the next tick looks again (reminders are not lost yet)
                log.warning("shift reminders: the coming shifts could not be read (%s)", type(exc).__name__)
                shifts = []
            for shift in shifts[:MAX_REMINDERS]:
                person = self.contexts(_zone(shift.time_zone, self.default_zone), now)
                await self._once(f"posted:{shift.key}", REMINDER_MARK_S, partial(self.posts.remind, shift, person),
                                 done)

    async def _once(self, mark: str, ttl_s: float, post: Callable[[], Awaitable[bool]],
                    done: dict[str, list[str]]) -> None:
        """``post`` unless its mark is taken; the mark given up when it fails. Each attempt is its own owner:
        a lease renews for its owner, and a mark must be taken once."""
        attempt = f"{self.owner}:{uuid.uuid4().hex[:12]}"
        if not await self.state.lease(mark, attempt, ttl_s):
            return
        try:
            said = await post()
        except BaseException as exc:  # Slack or PagerDuty failed, or the tick ran out: the next tick tries again
            log.warning("scheduled post %s failed (%s): trying again next tick", mark.split(":", 2)[1],
                        type(exc).__name__)
            try:
                await self.state.lease(mark, attempt, 0)
            except Exception as gone:
                log.warning("a scheduled post's mark could not be given up (%s)", type(gone).__name__)
            done["failed"].append(mark)
            if not isinstance(exc, Exception):
                raise
            return
        done["posted" if said else "quiet"].append(mark)

    async def run(self, clock: Callable[[], datetime], *, every_s: float = TICK_S) -> None:
        """Tick every ``every_s`` until cancelled; a failing tick is logged (its type) and never stops it."""
        while True:
            try:
                await self.tick(clock())
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("a scheduled posts tick failed (%s)", type(exc).__name__)
            await asyncio.sleep(every_s)


def _zone(name: str | None, default: ZoneInfo) -> ZoneInfo:
    if not name:
        return default
    try:
        return parse_zone(name)
    except ValueError:
        return default
