"""Bolt middleware: drop what alex must not answer before any listener runs.

* Slack retries an event it thinks was not delivered (``x-slack-retry-num``), and sometimes delivers
  one twice without saying so; the same ``event_id`` is answered once. With ``first_delivery`` (the
  shared state, :meth:`~bot.slack.runtime.SlackRuntime.first_delivery`) that holds across every replica;
  this process's own memory is asked first and always kept, so should the state fail or take longer
  than :data:`ACK_STATE_BOUND_S` (a locked file: the ack must reach Slack within 3 s, or it retries),
  the process still answers each event once (answering beats dropping; a warning says so, at most
  once per :data:`WARN_EVERY_S`).
* Messages from bots (``bot_id``; alex's own are already dropped by Bolt), edits, deletions and other
  ``subtype`` events are ignored: only a person's new message gets an answer.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.store import DEDUPE_TTL_S

log = logging.getLogger("bot.slack.middleware")

DEDUPE_MAX = 10_000
ACK_STATE_BOUND_S = 0.5
"""The longest the Events ack waits for the shared dedupe."""
WARN_EVERY_S = 60.0
ANSWERED_SUBTYPES = frozenset({"file_share", "thread_broadcast"})
"""A person's new message with a file, or a thread reply also sent to the channel."""


class IgnoreUnanswerable(AsyncMiddleware):
    """Acknowledge, and go no further for, repeated deliveries and non-human or edited messages."""

    def __init__(self, *, ttl_s: float = DEDUPE_TTL_S, max_entries: int = DEDUPE_MAX,
                 clock: Callable[[], float] = time.monotonic,
                 first_delivery: Callable[[str], Awaitable[bool]] | None = None,
                 state_bound_s: float = ACK_STATE_BOUND_S) -> None:
        self._first_delivery = first_delivery
        self._state_bound_s = state_bound_s
        self._warned_at: float | None = None
        self._unwarned = 0
        self._ttl_s = ttl_s
        self._max = max_entries
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse,
                            next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        body = req.body
        if body.get("type") != "event_callback":
            return await next()
        event = body.get("event") or {}
        if event.get("type") in ("message", "app_mention") and not _from_a_person(event, req.context.bot_user_id):
            return BoltResponse(status=200, body="")
        event_id = body.get("event_id")
        if isinstance(event_id, str) and await self._seen_before(event_id):
            return BoltResponse(status=200, body="")
        return await next()

    async def _seen_before(self, event_id: str) -> bool:
        if self._repeated(event_id):
            return True
        if self._first_delivery is None:
            return False
        try:
            return not await asyncio.wait_for(self._first_delivery(event_id), self._state_bound_s)
        except Exception as exc:  # TimeoutError, StateUnavailable, a Redis error...
            self._warn(type(exc).__name__)
            return False

    def _warn(self, reason: str) -> None:
        now = self._clock()
        if self._warned_at is not None and now - self._warned_at < WARN_EVERY_S:
            self._unwarned += 1
            return
        since = f"; {self._unwarned} more since the last warning" if self._unwarned else ""
        log.warning("shared dedupe unavailable (%s): this process's memory decides which events are new%s",
                    reason, since)
        self._warned_at, self._unwarned = now, 0

    def _repeated(self, event_id: str) -> bool:
        now = self._clock()
        with self._lock:
            while self._seen and (len(self._seen) >= self._max or next(iter(self._seen.values())) <= now):
                self._seen.popitem(last=False)
            if event_id in self._seen:
                return True
            self._seen[event_id] = now + self._ttl_s
            return False


def _from_a_person(event: dict[str, object], bot_user_id: str | None) -> bool:
    if event.get("bot_id") or event.get("bot_profile"):
        return False
    subtype = event.get("subtype")
    if subtype is not None and subtype not in ANSWERED_SUBTYPES:
        return False
    user = event.get("user")
    return isinstance(user, str) and bool(user) and user != bot_user_id
