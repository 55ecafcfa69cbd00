"""``POST /pagerduty/webhooks``: PagerDuty V3 deliveries in, answered at once, processed after.

Each request, in this order (each step answering before the next runs, nothing of a refused request
logged, one summary line per :data:`REFUSAL_LOG_EVERY_S` at most):

1. **Size**: a body over :data:`MAX_BODY_BYTES` is ``413`` (PagerDuty drops deliveries over 256 KB itself);
2. **Header**: ``X-PagerDuty-Signature`` missing or unreadable is ``400``;
3. **Signature** (:mod:`bot.notify.signature`): no ``v1`` signature made with one of the secrets is ``403``;
4. **Body**: signed but no V3 event (:func:`~bot.notify.events.read_delivery`) is ``400``; an event type alex
   does not act on is ``200`` ``{"ignored": …}``;
5. **Queue**: the event joins a bounded queue (:data:`QUEUE_SIZE`; full: ``503``, so PagerDuty retries it
   later) and the answer is ``202``, well within PagerDuty's 5-second timeout.

Workers (:data:`WORKERS`) then process the queue: a delivery whose ``event.id`` any replica already took is
dropped (the shared state's dedupe, :data:`DEDUPE_TTL_S` covering PagerDuty's retries over about 20
minutes), one incident's events run one at a time in this process (across replicas the card store's
compare-and-set orders them), and the watermark moves to the event's time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.notify import signature
from bot.notify.events import WEBHOOK_PATH, BadEvent, Ignored, WebhookEvent, read_delivery
from bot.store import StateStore

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger("bot.notify.receiver")

MAX_BODY_BYTES = 256 * 1024
QUEUE_SIZE = 5_000
WORKERS = 8
DEDUPE_TTL_S = 3_600.0
REFUSAL_LOG_EVERY_S = 60.0

Handle = Callable[[WebhookEvent], Awaitable[None]]
"""What processes one (first-seen) event: the live cards (:class:`bot.slack.notify_cards.LiveCards`)."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: dict[str, str]


@dataclass
class Counts:
    """What the receiver did since it started (tests, the benchmark, ``/healthz`` someday)."""

    accepted: int = 0
    ignored: int = 0
    refused: int = 0
    duplicates: int = 0
    processed: int = 0
    failed: int = 0
    received_at: dict[str, float] = field(default_factory=dict)
    """``time.perf_counter()`` when each event id was accepted (only while ``keep_times``: the benchmark)."""


class WebhookReceiver:
    """Checks, queues and processes PagerDuty deliveries (see the module docstring)."""

    def __init__(self, secrets: Sequence[str], state: StateStore, handle: Handle, *, workers: int = WORKERS,
                 queue_size: int = QUEUE_SIZE, dedupe_ttl_s: float = DEDUPE_TTL_S,
                 clock: Callable[[], float] = time.time, keep_times: bool = False) -> None:
        self._secrets = [s for s in secrets if s]
        self._state = state
        self._handle = handle
        self._workers = workers
        self._queue: asyncio.Queue[WebhookEvent] = asyncio.Queue(maxsize=queue_size)
        self._dedupe_ttl_s = dedupe_ttl_s
        self._clock = clock
        self._tasks: list[asyncio.Task[None]] = []
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._refusals: dict[str, int] = {}
        self._logged_at: float | None = None
        self.keep_times = keep_times
        self.counts = Counts()

    # -- the request -------------------------------------------------------------------------------
    def admit(self, body: bytes, headers: Mapping[str, str]) -> Answer:
        """The answer to one delivery (the event queued when it is ``202``)."""
        if len(body) > MAX_BODY_BYTES:
            return self._refuse(413, f"request body over {MAX_BODY_BYTES // 1024} KiB", "body too large")
        header = headers.get(signature.HEADER) or next(
            (v for k, v in headers.items() if k.lower() == signature.HEADER.lower()), None)
        verdict = signature.verify(body, header, self._secrets)
        if verdict == "malformed":
            return self._refuse(400, "missing or malformed X-PagerDuty-Signature", "no or bad signature header")
        if verdict == "forged":
            return self._refuse(403, "invalid signature", "signature mismatch")
        try:
            event = read_delivery(body)
        except BadEvent as exc:
            return self._refuse(400, "not a PagerDuty V3 webhook payload", f"signed but unreadable: {exc}")
        if isinstance(event, Ignored):
            self.counts.ignored += 1
            return Answer(200, {"ignored": event.type})
        if not self._tasks:
            return self._refuse(503, "not processing deliveries right now", "not started")
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            return self._refuse(503, "too many deliveries queued: retry later", "queue full")
        self._busy += 1
        self._idle.clear()
        self.counts.accepted += 1
        if self.keep_times:
            self.counts.received_at[event.id] = time.perf_counter()
        return Answer(202, {"accepted": event.id})

    async def handler(self, request: web.Request) -> web.Response:
        """The aiohttp handler of :data:`WEBHOOK_PATH`."""
        from aiohttp import web

        too_large = request.content_length is not None and request.content_length > MAX_BODY_BYTES
        body = b""
        if not too_large:
            try:
                body = await request.read()  # the app's client_max_size bounds what is read
            except web.HTTPRequestEntityTooLarge:
                too_large = True
        answer = self.admit(body, request.headers) if not too_large else self._refuse(
            413, f"request body over {MAX_BODY_BYTES // 1024} KiB", "body too large")
        return web.json_response(answer.body, status=answer.status)

    path = WEBHOOK_PATH

    def mount(self, application: web.Application) -> None:
        application.router.add_post(WEBHOOK_PATH, self.handler)

    def add_secret(self, secret: str) -> None:
        """Verify deliveries signed with ``secret`` too (``alex serve --sandbox``: its own subscription's)."""
        if secret and secret not in self._secrets:
            self._secrets.append(secret)

    # -- processing --------------------------------------------------------------------------------
    async def start(self) -> None:
        if not self._tasks:
            self._tasks = [asyncio.ensure_future(self._work()) for _ in range(self._workers)]

    async def idle(self, within: float | None = None) -> bool:
        """Wait until every accepted event was processed; False when ``within`` seconds passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), within)
        except TimeoutError:
            return False
        return True

    async def aclose(self, *, drain_s: float = 10.0) -> None:
        """Finish what is queued (at most ``drain_s``), then stop the workers."""
        await self.idle(within=drain_s)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def _work(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                async with self._incident(event.incident_id):
                    await self._process(event)
            except Exception:
                self.counts.failed += 1
                log.exception("processing the PagerDuty event %s (%s) failed", event.id, event.type)
            finally:
                self._queue.task_done()
                self._busy -= 1
                if self._busy == 0:
                    self._idle.set()

    async def _process(self, event: WebhookEvent) -> None:
        if not await self._state.first_seen(f"pagerduty-event:{event.id}", self._dedupe_ttl_s):
            self.counts.duplicates += 1
            return
        await self._handle(event)
        self.counts.processed += 1
        await self._state.notify.seen_until(event.at)

    @contextlib.asynccontextmanager
    async def _incident(self, incident_id: str) -> Any:
        lock, users = self._locks.get(incident_id) or (asyncio.Lock(), 0)
        self._locks[incident_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[incident_id]
            if users <= 1:
                del self._locks[incident_id]
            else:
                self._locks[incident_id] = (lock, users - 1)

    def _refuse(self, status: int, error: str, why: str) -> Answer:
        # Fixed words only, and few lines: a flood of bad requests must not become a flood of log lines.
        self.counts.refused += 1
        self._refusals[why] = self._refusals.get(why, 0) + 1
        now = self._clock()
        if self._logged_at is None or now - self._logged_at >= REFUSAL_LOG_EVERY_S:
            counts = ", ".join(f"{count} × {reason}" for reason, count in sorted(self._refusals.items()))
            log.warning("refused PagerDuty deliveries (%s in the last %d s or less): %s",
                        sum(self._refusals.values()), int(REFUSAL_LOG_EVERY_S), counts)
            self._refusals.clear()
            self._logged_at = now
        return Answer(status, {"error": error})
