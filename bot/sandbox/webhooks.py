"""PagerDuty V3 webhooks from the sandbox: subscriptions, signed events and their asynchronous delivery.

What PagerDuty documents (developer docs: webhooks v3 overview, behavior, signatures) and the sandbox does:

* One event per payload: ``{"event": {"id", "event_type", "resource_type", "occurred_at", "agent",
  "client", "data"}}``. ``data`` is an ``incident`` for status changes, an ``incident_note`` for
  ``incident.annotated``, an ``incident_status_update`` for ``incident.status_update_published``, an
  ``incident_responder`` for ``incident.responder.added``; ``pagey.ping`` (a ping) has ``{"message", "type"}``.
* Headers: ``Content-Type: application/json``, ``User-Agent: PagerDuty-Webhook/V3.0``, ``X-Webhook-Id``
  (one per webhook, the same on each of its attempts), ``X-Webhook-Subscription`` (the subscription id),
  ``X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the raw body, keyed with the subscription's secret>``,
  then the subscription's custom headers.
* Retries on a timeout, a connection error, 429 and 5xx, with exponential backoff, at most 5 attempts;
  any other status drops the webhook at once (a 4xx tells PagerDuty not to redeliver). A subscription's
  webhooks go out in order: while one is retried the later ones wait behind it, at most 4,000, past that
  they are dropped. After 3 webhooks in a row are dropped the subscription is temporarily disabled and its
  queue dropped; ``POST /webhook_subscriptions/{id}/enable`` lifts that.

The sandbox's own choices, all in :class:`DeliveryPolicy`: backoff 1, 4, 16, 64 s (PagerDuty spreads its
5 attempts over about 20 minutes) and PagerDuty's 5 s timeout. ``occurred_at`` has milliseconds and
strictly increases (the sandbox clock, or one millisecond after the previous event when the clock is
frozen), so a receiver can order events by it. Note and status update texts over 10,000 characters are
cut (``trimmed: true``), which keeps every payload under the 55 KB PagerDuty guarantees to deliver.

Deliveries never happen inside the REST request that causes them: a route stages events on its
:class:`~bot.sandbox.app.Context` (``emit_*`` below), the sandbox publishes them once the request has
succeeded, and each subscription's queue is sent by its own asyncio task on the running loop (started on
publish when a loop runs, else by :meth:`Webhooks.drain`). Secrets appear only in the create answer and
on :attr:`Subscription.secret`; never in a repr, the delivery log or a log record.

The delivery seam, for tests and ``alex serve --sandbox``::

    hub = sandbox.webhooks
    hub.deliver_to(httpx2.MockTransport(handler))   # in process: any httpx2 transport (ASGITransport ...)
    hub.deliver_with(deliverer)                    # or any async (WebhookRequest) -> HTTP status
    # default: real HTTP (httpx2, no proxies from the environment)
    sub = hub.subscribe("https://alex.example/pagerduty/webhooks")   # or POST /webhook_subscriptions
    ...                                            # REST writes, hub.fire(...), hub.ping(sub.id)
    await hub.drain()                              # until every queued webhook is delivered or dropped
    hub.deliveries                                 # the log (GET /_sandbox/webhook_deliveries)
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import hmac
import json
import logging
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

import httpx2

from bot.sandbox.http import iso
from bot.sandbox.model import Incident, Note, StatusUpdate, World
from bot.sandbox.serialize import api_base, html_url, ref, team_ref, user_ref_by_id

if TYPE_CHECKING:
    from bot.sandbox.app import Context

log = logging.getLogger("bot.sandbox.webhooks")

INCIDENT_EVENT_TYPES: tuple[str, ...] = (
    "incident.acknowledged", "incident.annotated", "incident.delegated", "incident.escalated",
    "incident.priority_updated", "incident.reassigned", "incident.reopened", "incident.resolved",
    "incident.responder.added", "incident.responder.replied", "incident.status_update_published",
    "incident.triggered", "incident.unacknowledged",
)
"""The incident event types PagerDuty documents for V3 webhooks (what a subscription gets by default)."""
EVENT_TYPES: frozenset[str] = frozenset({*INCIDENT_EVENT_TYPES, "service.created", "service.deleted",
                                         "service.updated"})
"""Every event type a subscription may name (the sandbox never emits the ``service.*`` ones)."""
FilterType = Literal["account_reference", "service_reference", "team_reference"]
FILTER_TYPES: tuple[FilterType, ...] = ("account_reference", "service_reference", "team_reference")
USER_AGENT = "PagerDuty-Webhook/V3.0"
MAX_SUBSCRIPTIONS = 100
"""Subscriptions one sandbox account may hold (the sandbox's bound)."""
TEXT_TRIM_CHARS = 10_000
LOG_LIMIT = 1_000
"""Deliveries the log keeps (the oldest go first)."""
DeliveryState = Literal["pending", "retrying", "delivered", "failed", "dropped"]


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How webhooks are sent: per-attempt timeout, attempts, backoff and the bounds of a queue."""

    timeout: float = 5.0
    max_attempts: int = 5
    backoff: float = 1.0
    """Seconds before the 2nd attempt; each later wait is ``backoff_factor`` times the previous one."""
    backoff_factor: float = 4.0
    queue_limit: int = 4_000
    """Webhooks one subscription may have waiting (the one being sent included); more are dropped."""
    disable_after: int | None = 3
    """Webhooks dropped in a row that temporarily disable a subscription (None: never)."""

    def delay(self, failed_attempts: int) -> float:
        return self.backoff * self.backoff_factor ** (failed_attempts - 1)


@dataclass(slots=True)
class Subscription:
    """A V3 webhook subscription (``http_delivery_method`` is the only delivery method there is)."""

    id: str
    delivery_method_id: str
    url: str
    events: list[str]
    filter_type: FilterType
    filter_id: str | None
    secret: str = field(repr=False)
    """The HMAC key; the REST API shows it only in the answer to the create request."""
    description: str = ""
    active: bool = True
    temporarily_disabled: bool = False
    custom_headers: list[tuple[str, str]] = field(default_factory=list, repr=False)
    dropped_in_a_row: int = 0

    def wants(self, event: OutboundEvent) -> bool:
        """Whether ``event`` is one this subscription asked for (events list and filter)."""
        if not self.active or event.event_type not in self.events:
            return False
        if self.filter_type == "service_reference":
            return event.service_id == self.filter_id
        if self.filter_type == "team_reference":
            return self.filter_id in event.team_ids
        return True


@dataclass(frozen=True, slots=True)
class StagedEvent:
    """An event a request produced, not yet published (no id or ``occurred_at`` yet)."""

    event_type: str
    resource_type: str
    data: dict[str, Any]
    agent: dict[str, Any] | None
    incident_id: str | None = None
    service_id: str | None = None
    team_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OutboundEvent:
    """A published event: ``body`` is the exact payload every subscription receives (and signs)."""

    id: str
    event_type: str
    occurred_at: datetime
    body: bytes = field(repr=False)
    incident_id: str | None = None
    service_id: str | None = None
    team_ids: tuple[str, ...] = ()

    def payload(self) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(self.body)
        return decoded


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """One delivery attempt as it goes on the wire: POST ``body`` to ``url`` with ``headers``."""

    url: str
    headers: Mapping[str, str]
    body: bytes
    timeout: float
    """Seconds the receiver has to answer (the hub also stops waiting then)."""


class Deliverer(Protocol):
    """Sends one webhook and returns the HTTP status; raises on a timeout or a connection failure.

    Anything raised counts as a failed attempt that is retried (like no answer at all).
    """

    def __call__(self, request: WebhookRequest) -> Awaitable[int]: ...


class HttpDeliverer:
    """A :class:`Deliverer` over httpx2: real HTTP by default, or any ``transport`` (MockTransport, ASGI)."""

    def __init__(self, transport: httpx2.AsyncBaseTransport | None = None) -> None:
        self._transport = transport
        self._client: httpx2.AsyncClient | None = None

    async def __call__(self, request: WebhookRequest) -> int:
        if self._client is None:
            self._client = httpx2.AsyncClient(transport=self._transport, trust_env=False,
                                              follow_redirects=False)
        response = await self._client.post(request.url, content=request.body, headers=dict(request.headers),
                                           timeout=request.timeout)
        return response.status_code

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


@dataclass(frozen=True, slots=True)
class Attempt:
    at: datetime
    status: int | None
    """The HTTP status; None when there was no answer (timeout, connection error)."""
    error: str | None
    duration_ms: float


@dataclass(slots=True)
class DeliveryRecord:
    """One webhook (an event for one subscription) and what became of its attempts."""

    id: str
    """Its ``X-Webhook-Id``."""
    subscription_id: str
    event_id: str
    event_type: str
    incident_id: str | None
    url: str
    """The destination with any ``user:password@`` removed."""
    created_at: datetime
    state: DeliveryState = "pending"
    reason: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    next_attempt_in: float | None = None
    """Seconds until the next attempt while ``retrying``."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "subscription_id": self.subscription_id, "event_id": self.event_id,
            "event_type": self.event_type, "incident_id": self.incident_id, "url": self.url,
            "created_at": _iso_ms(self.created_at), "state": self.state, "reason": self.reason,
            "next_attempt_in": self.next_attempt_in,
            "attempts": [{"at": _iso_ms(a.at), "status": a.status, "error": a.error,
                          "duration_ms": round(a.duration_ms, 1)} for a in self.attempts],
        }


@dataclass(frozen=True, slots=True)
class Fired:
    """What :meth:`Webhooks.fire` and :meth:`Webhooks.ping` published, and the webhooks it made."""

    event: OutboundEvent
    deliveries: list[DeliveryRecord]


@dataclass(slots=True)
class _Job:
    event: OutboundEvent
    record: DeliveryRecord


@dataclass(slots=True)
class _Outbox:
    pending: collections.deque[_Job] = field(default_factory=collections.deque)
    task: asyncio.Task[None] | None = None


def sign(body: bytes, secret: str) -> str:
    """The ``X-PagerDuty-Signature`` value for ``body``: ``v1=`` and the hex HMAC-SHA256."""
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Webhooks:
    """The account's webhook subscriptions and the queues that deliver their events."""

    def __init__(self, world: World, *, now: Callable[[], datetime] | None = None,
                 policy: DeliveryPolicy | None = None,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 log_limit: int = LOG_LIMIT) -> None:
        self.world = world
        self.policy = policy or DeliveryPolicy()
        self.sleep = sleep
        """Awaited between attempts (tests inject one that records the backoff and returns at once)."""
        self.subscriptions: dict[str, Subscription] = {}
        self.deliveries: collections.deque[DeliveryRecord] = collections.deque(maxlen=log_limit)
        self._now = now or (lambda: world.now)
        self._wall = wall_clock
        self._deliverer: Deliverer = HttpDeliverer()
        self._retired: list[Deliverer] = []
        self._outboxes: dict[str, _Outbox] = {}
        self._last_occurred: datetime | None = None

    # -- where webhooks go --------------------------------------------------------------------------
    def deliver_to(self, transport: httpx2.AsyncBaseTransport | None) -> None:
        """Send every webhook through ``transport`` (None: real HTTP)."""
        self.deliver_with(HttpDeliverer(transport))

    def deliver_with(self, deliverer: Deliverer) -> None:
        """Send every webhook with ``deliverer`` (the attempts already under way finish as they were)."""
        self._retired.append(self._deliverer)
        self._deliverer = deliverer

    # -- subscriptions ------------------------------------------------------------------------------
    def subscribe(self, url: str, *, events: Sequence[str] = INCIDENT_EVENT_TYPES,
                  filter_type: FilterType = "account_reference", filter_id: str | None = None,
                  description: str = "", custom_headers: Sequence[tuple[str, str]] = (),
                  active: bool = True) -> Subscription:
        """Create a subscription (what ``POST /webhook_subscriptions`` does); ValueError when invalid."""
        if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            raise ValueError(f"The sandbox account holds at most {MAX_SUBSCRIPTIONS} webhook subscriptions")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"delivery_method.url must be an http:// or https:// URL; got {url!r}")
        self.check_events(events)
        self.check_filter(filter_type, filter_id)
        subscription = Subscription(
            self.world.ids.new(), self.world.ids.new(), url, list(events), filter_type,
            None if filter_type == "account_reference" else filter_id, secrets.token_urlsafe(48),
            description, active, custom_headers=list(custom_headers))
        self.subscriptions[subscription.id] = subscription
        return subscription

    def check_events(self, events: Sequence[str]) -> None:
        if not events:
            raise ValueError("events must name at least one event type")
        if len(set(events)) != len(events):
            raise ValueError("events must not repeat an event type")
        unknown = [e for e in events if e not in EVENT_TYPES]
        if unknown:
            raise ValueError(f"unknown event types {unknown}: use any of {', '.join(sorted(EVENT_TYPES))}")

    def check_filter(self, filter_type: str, filter_id: str | None) -> None:
        if filter_type not in FILTER_TYPES:
            raise ValueError(f"filter.type must be one of {', '.join(FILTER_TYPES)}")
        if filter_type != "account_reference" and not filter_id:
            raise ValueError(f"filter.id is required for a {filter_type} filter")
        if filter_type == "service_reference" and filter_id not in self.world.services:
            raise ValueError(f"filter.id: service {filter_id} not found")
        if filter_type == "team_reference" and filter_id not in self.world.teams:
            raise ValueError(f"filter.id: team {filter_id} not found")

    def unsubscribe(self, subscription_id: str) -> bool:
        """Delete a subscription; its waiting webhooks are dropped. False when there is none."""
        subscription = self.subscriptions.pop(subscription_id, None)
        if subscription is None:
            return False
        outbox = self._outboxes.pop(subscription_id, None)
        if outbox is not None:
            self._drop_all(outbox, "the subscription was deleted")
        return True

    def enable(self, subscription_id: str) -> Subscription:
        """Lift a temporary disablement (KeyError when there is no such subscription)."""
        subscription = self.subscriptions[subscription_id]
        subscription.temporarily_disabled = False
        subscription.dropped_in_a_row = 0
        return subscription

    @property
    def listening(self) -> bool:
        """Whether any subscription would take an event now (routes skip building events otherwise)."""
        return any(s.active and not s.temporarily_disabled for s in self.subscriptions.values())

    # -- publishing ---------------------------------------------------------------------------------
    def publish(self, staged: Iterable[StagedEvent]) -> list[Fired]:
        """Give each event an id and ``occurred_at`` and queue it for every subscription that wants it."""
        fired = []
        for item in staged:
            event = self._finish(item)
            records = [self._enqueue(s, event) for s in list(self.subscriptions.values()) if s.wants(event)]
            fired.append(Fired(event, records))
        return fired

    def ping(self, subscription_id: str) -> Fired:
        """Queue a ``pagey.ping`` for one subscription, whatever its events and filter."""
        subscription = self.subscriptions[subscription_id]
        event = self._finish(StagedEvent("pagey.ping", "pagey", {
            "message": "Hello from your friend Pagey!", "type": "ping"}, None))
        return Fired(event, [self._enqueue(subscription, event)])

    def fire(self, incident_id: str, event_type: str = "incident.triggered", *, agent_id: str | None = None,
             responder_id: str | None = None, message: str | None = None) -> Fired:
        """Publish one event for an incident as it is now (``POST /_sandbox/events``).

        ``incident.annotated`` and ``incident.status_update_published`` carry the incident's latest note or
        status update; ``incident.responder.*`` asks ``responder_id`` (default: the first assignee).
        LookupError for an unknown incident or user, ValueError for an event that cannot be made.
        """
        world = self.world
        incident = world.find_incident(incident_id)
        if incident is None:
            raise LookupError(f"incident {incident_id} not found")
        if event_type not in INCIDENT_EVENT_TYPES:
            raise ValueError(f"event_type must be one of {', '.join(INCIDENT_EVENT_TYPES)}")
        for user_id in (agent_id, responder_id):
            if user_id is not None and user_id not in world.users:
                raise LookupError(f"user {user_id} not found")
        if event_type == "incident.annotated":
            if not incident.notes:
                raise ValueError(f"incident {incident.id} has no notes to announce")
            staged = note_event(world, incident, incident.notes[-1], agent_id)
        elif event_type == "incident.status_update_published":
            if not incident.status_updates:
                raise ValueError(f"incident {incident.id} has no status updates to announce")
            staged = status_update_event(world, incident, incident.status_updates[-1], agent_id)
        elif event_type.startswith("incident.responder."):
            responder = responder_id or next(iter(incident.assigned_user_ids), None) or agent_id
            if responder is None:
                raise ValueError("responder_id is required: the incident has no assignee to ask")
            staged = responder_event(world, incident, responder, None, message or "Please help with this incident",
                                     agent_id, event_type)
        else:
            staged = incident_event(world, event_type, incident, agent_id)
        return self.publish([staged])[0]

    def _finish(self, staged: StagedEvent) -> OutboundEvent:
        now = self._now().astimezone(UTC)
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if self._last_occurred is not None and now <= self._last_occurred:
            now = self._last_occurred + timedelta(milliseconds=1)
        self._last_occurred = now
        event_id = str(uuid.uuid4())
        body = {"event": {
            "id": event_id, "event_type": staged.event_type, "resource_type": staged.resource_type,
            "occurred_at": _iso_ms(now), "agent": staged.agent,
            "client": {"name": "PagerDuty"} if staged.agent is not None else None, "data": staged.data}}
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        return OutboundEvent(event_id, staged.event_type, now, raw, staged.incident_id, staged.service_id,
                             staged.team_ids)

    def _enqueue(self, subscription: Subscription, event: OutboundEvent) -> DeliveryRecord:
        record = DeliveryRecord(str(uuid.uuid4()), subscription.id, event.id, event.event_type,
                                event.incident_id, _without_credentials(subscription.url), self._wall())
        self.deliveries.append(record)
        outbox = self._outboxes.setdefault(subscription.id, _Outbox())
        if subscription.temporarily_disabled:
            record.state, record.reason = "dropped", "the subscription is temporarily disabled"
        elif len(outbox.pending) >= self.policy.queue_limit:
            record.state = "dropped"
            record.reason = f"the subscription's queue is full ({self.policy.queue_limit} webhooks waiting)"
            log.warning("webhook dropped: subscription %s has %d webhooks waiting", subscription.id,
                        len(outbox.pending))
        else:
            outbox.pending.append(_Job(event, record))
            self._kick(subscription.id)
        return record

    # -- delivering ---------------------------------------------------------------------------------
    def _kick(self, subscription_id: str) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a synchronous dispatch): drain() starts the queue later
            return
        outbox = self._outboxes[subscription_id]
        if outbox.task is None or outbox.task.done():
            outbox.task = loop.create_task(self._send_queue(subscription_id, outbox),
                                           name=f"sandbox-webhooks-{subscription_id}")

    async def drain(self, max_wait: float = 30.0) -> None:
        """Wait until every queued webhook is delivered or dropped (retries and their backoff included).

        Starts the queues that were filled outside a running loop. TimeoutError past ``max_wait`` seconds.
        """
        async with asyncio.timeout(max_wait):
            while True:
                for subscription_id, outbox in list(self._outboxes.items()):
                    if outbox.pending:
                        self._kick(subscription_id)
                tasks = [o.task for o in self._outboxes.values() if o.task is not None and not o.task.done()]
                if not tasks:
                    return
                done, _ = await asyncio.wait(tasks)
                for task in done:
                    failure = None if task.cancelled() else task.exception()
                    if failure is not None:
                        raise failure

    async def aclose(self) -> None:
        """Stop sending (waiting webhooks stay pending) and close the HTTP clients."""
        tasks = [o.task for o in self._outboxes.values() if o.task is not None and not o.task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for deliverer in [*self._retired, self._deliverer]:
            close = getattr(deliverer, "aclose", None)
            if close is not None:
                await close()
        self._retired.clear()

    async def _send_queue(self, subscription_id: str, outbox: _Outbox) -> None:
        while outbox.pending:
            subscription = self.subscriptions.get(subscription_id)
            if subscription is None:
                return
            job = outbox.pending[0]
            if await self._attempt(subscription, job) and outbox.pending and outbox.pending[0] is job:
                outbox.pending.popleft()

    async def _attempt(self, subscription: Subscription, job: _Job) -> bool:
        """One attempt; True when the webhook is finished (delivered or dropped), False to retry it."""
        record, policy = job.record, self.policy
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Webhook-Id": record.id,
            "X-Webhook-Subscription": subscription.id,
            "X-PagerDuty-Signature": sign(job.event.body, subscription.secret),
            **dict(subscription.custom_headers),
        }
        request = WebhookRequest(subscription.url, headers, job.event.body, policy.timeout)
        at, started = self._wall(), time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            async with asyncio.timeout(policy.timeout):
                status = await self._deliverer(request)
        except (TimeoutError, httpx2.TimeoutException):
            error = f"no answer within {policy.timeout:g} s"
        except httpx2.HTTPError as exc:
            error = f"{type(exc).__name__}: could not reach the receiver"
        except Exception as exc:  # a deliverer's own failure counts as no answer: retried
            error = f"{type(exc).__name__} while delivering"
            log.warning("webhook %s to subscription %s: the deliverer raised %s", record.id, subscription.id,
                        type(exc).__name__)
        record.attempts.append(Attempt(at, status, error, (time.perf_counter() - started) * 1000))
        record.next_attempt_in = None
        if status is not None and 200 <= status < 300:
            record.state, record.reason = "delivered", None
            subscription.dropped_in_a_row = 0
            return True
        retryable = status is None or status == 429 or status >= 500
        if retryable and len(record.attempts) < policy.max_attempts:
            record.state = "retrying"
            record.next_attempt_in = policy.delay(len(record.attempts))
            await self.sleep(record.next_attempt_in)
            return False
        record.state = "failed"
        record.reason = (f"gave up after {len(record.attempts)} attempts" if retryable
                         else f"HTTP {status}: not retried (only timeouts, 429 and 5xx are)")
        log.info("webhook %s to subscription %s failed: %s", record.id, subscription.id, record.reason)
        subscription.dropped_in_a_row += 1
        if policy.disable_after is not None and subscription.dropped_in_a_row >= policy.disable_after:
            subscription.temporarily_disabled = True
            log.warning("webhook subscription %s temporarily disabled after %d failed webhooks in a row",
                        subscription.id, subscription.dropped_in_a_row)
            outbox = self._outboxes.get(subscription.id)
            if outbox is not None:
                rest = [j for j in outbox.pending if j is not job]
                outbox.pending = collections.deque([job])
                for other in rest:
                    other.record.state, other.record.reason = "dropped", "the subscription was temporarily disabled"
        return True

    def _drop_all(self, outbox: _Outbox, reason: str) -> None:
        for job in outbox.pending:
            if job.record.state in ("pending", "retrying"):
                job.record.state, job.record.reason, job.record.next_attempt_in = "dropped", reason, None
        outbox.pending.clear()


# =================================================================================================
# Events: what each change looks like in a V3 payload
# =================================================================================================
def emit_incident(ctx: Context, event_type: str, incident: Incident) -> None:
    """Stage an ``incident`` event (triggered, acknowledged, resolved ...) for the request's end."""
    if ctx.webhooks.listening:
        ctx.events.append(incident_event(ctx.world, event_type, incident, ctx.actor.id))


def emit_note(ctx: Context, incident: Incident, note: Note) -> None:
    """Stage ``incident.annotated`` for a note just added."""
    if ctx.webhooks.listening:
        ctx.events.append(note_event(ctx.world, incident, note, ctx.actor.id))


def emit_status_update(ctx: Context, incident: Incident, update: StatusUpdate) -> None:
    """Stage ``incident.status_update_published`` for a status update just sent."""
    if ctx.webhooks.listening:
        ctx.events.append(status_update_event(ctx.world, incident, update, ctx.actor.id))


def emit_responder(ctx: Context, incident: Incident, user_id: str, policy_id: str | None, message: str,
                   requester_id: str) -> None:
    """Stage ``incident.responder.added`` for one person asked to respond (``policy_id``: reached through)."""
    if ctx.webhooks.listening:
        ctx.events.append(responder_event(ctx.world, incident, user_id, policy_id, message, requester_id))


def incident_event(world: World, event_type: str, incident: Incident, agent_id: str | None) -> StagedEvent:
    return _staged(world, event_type, incident, incident_data(world, incident), agent_id)


def note_event(world: World, incident: Incident, note: Note, agent_id: str | None) -> StagedEvent:
    content, trimmed = _trim(note.content)
    data = {"incident": _incident_ref(world, incident), "id": note.id, "content": content, "trimmed": trimmed,
            "type": "incident_note"}
    return _staged(world, "incident.annotated", incident, data, agent_id)


def status_update_event(world: World, incident: Incident, update: StatusUpdate,
                        agent_id: str | None) -> StagedEvent:
    message, trimmed = _trim(update.message)
    data = {"incident": _incident_ref(world, incident), "id": update.id, "message": message,
            "trimmed": trimmed, "type": "incident_status_update"}
    return _staged(world, "incident.status_update_published", incident, data, agent_id)


def responder_event(world: World, incident: Incident, user_id: str, policy_id: str | None, message: str,
                    agent_id: str | None, event_type: str = "incident.responder.added") -> StagedEvent:
    data = {"incident": _incident_ref(world, incident), "user": user_ref_by_id(world, user_id),
            "escalation_policy": _policy_ref(world, policy_id) if policy_id else None,
            "message": message, "state": "pending", "type": "incident_responder"}
    return _staged(world, event_type, incident, data, agent_id)


def incident_data(world: World, incident: Incident) -> dict[str, Any]:
    """The ``incident`` event data, field for field as PagerDuty's V3 documentation shows it."""
    service = world.services.get(incident.service_id)
    priority = next((p for p in world.priorities if p.id == incident.priority_id), None)
    priority_ref = None
    if priority is not None:
        priority_ref = ref(world, "priority", priority.id, priority.name)
        priority_ref["html_url"] = f"https://{world.subdomain}.pagerduty.com/account/incident_priorities"
    return {
        "id": incident.id,
        "type": "incident",
        "self": f"{api_base()}/incidents/{incident.id}",
        "html_url": html_url(world, "incident", incident.id),
        "number": incident.number,
        "status": incident.status,
        "incident_key": incident.incident_key,
        "created_at": iso(incident.created_at),
        "title": incident.title,
        "service": ref(world, "service", incident.service_id, service.name if service else "Deleted service"),
        "assignees": [user_ref_by_id(world, u) for u in incident.assigned_user_ids],
        "escalation_policy": _policy_ref(world, incident.escalation_policy_id),
        "teams": [team_ref(world, world.teams[t]) for t in (service.team_ids if service else [])
                  if t in world.teams],
        "priority": priority_ref,
        "urgency": incident.urgency,
        "conference_bridge": None,
        "resolve_reason": None,
    }


def _staged(world: World, event_type: str, incident: Incident, data: dict[str, Any],
            agent_id: str | None) -> StagedEvent:
    service = world.services.get(incident.service_id)
    agent = user_ref_by_id(world, agent_id) if agent_id is not None else None
    return StagedEvent(event_type, "incident", data, agent, incident.id, incident.service_id,
                       tuple(service.team_ids) if service else ())


def _incident_ref(world: World, incident: Incident) -> dict[str, Any]:
    # The documented examples use the title as an incident reference's summary in webhooks.
    return ref(world, "incident", incident.id, incident.title)


def _policy_ref(world: World, policy_id: str) -> dict[str, Any]:
    policy = world.escalation_policies.get(policy_id)
    return ref(world, "escalation_policy", policy_id, policy.name if policy else "Deleted policy")


def _trim(text: str) -> tuple[str, bool]:
    return (text, False) if len(text) <= TEXT_TRIM_CHARS else (text[:TEXT_TRIM_CHARS], True)


def _iso_ms(value: datetime) -> str:
    value = value.astimezone(UTC)
    return f"{value:%Y-%m-%dT%H:%M:%S}.{value.microsecond // 1000:03d}Z"


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
