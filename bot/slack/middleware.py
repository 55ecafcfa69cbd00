"""Bolt middleware: drop what alex must not answer before any listener runs.

* Slack retries an event it thinks was not delivered (``x-slack-retry-num``), and sometimes delivers
  one twice without saying so; the same ``event_id`` is answered once. With ``first_delivery`` (the
  shared state, :meth:`~bot.slack.runtime.SlackRuntime.first_delivery`) that holds across every replica;
  should the state fail, this process's own memory decides (answering beats dropping).
* Messages from bots (``bot_id``; alex's own are already dropped by Bolt), edits, deletions and other
  ``subtype`` events are ignored: only a person's new message gets an answer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

log = logging.getLogger("bot.slack.middleware")

DEDUPE_TTL_S = 3600.0
DEDUPE_MAX = 10_000
ANSWERED_SUBTYPES = frozenset({"file_share", "thread_broadcast"})
"""A person's new message with a file, or a thread reply also sent to the channel."""


class IgnoreUnanswerable(AsyncMiddleware):
    """Acknowledge, and go no further for, repeated deliveries and non-human or edited messages."""

    def __init__(self, *, ttl_s: float = DEDUPE_TTL_S, max_entries: int = DEDUPE_MAX,
                 clock: Callable[[], float] = time.monotonic,
                 first_delivery: Callable[[str], Awaitable[bool]] | None = None) -> None:
        self._first_delivery = first_delivery
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
        if self._first_delivery is not None:
            try:
                return not await self._first_delivery(event_id)
            except Exception as exc:
                log.warning("shared dedupe unavailable (%s): using this process's memory", type(exc).__name__)
        return self._repeated(event_id)

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
