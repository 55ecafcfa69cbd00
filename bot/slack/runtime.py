"""Everything the Slack listeners share: the agent, PagerDuty, identities, war rooms, pending proposals,
and the shared state (:mod:`bot.store`: dedupe, rate limits, the audit log)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from typing import Any

from bot.agent.agent import Agent
from bot.notify.routes import Routing
from bot.slack.approvers import Approvers
from bot.slack.backend import PagerDutyBackend
from bot.slack.identity import IdentityResolver
from bot.slack.streaming import Streaming
from bot.slack.warroom import WarRooms
from bot.store import DEDUPE_TTL_S, StateStore
from bot.store.audit_buffer import AuditBuffer, DurableAudit
from bot.store.linked_tokens import LinkedTokens
from bot.store.memory import MemoryState
from bot.store.proposals import ProposalStore
from bot.tools.audit import AuditSink
from bot.tools.base import Asker, ToolContext

log = logging.getLogger("bot.slack.runtime")

RATE_LIMITED = ("You're sending me messages faster than I can answer them well. Give me a minute and ask "
                "again (there is a limit per person and per channel).")
CHANNEL_RATE_LIMITED = ("This channel is sending me more messages than I can answer right now. Give me a "
                        "minute and ask again.")


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Messages answered per Slack user and per channel in each window; 0 means no limit."""

    per_user: int = 0
    per_channel: int = 0
    window_s: float = 60.0


class FirstTimes:
    """``first(key)`` is True the first time ``key`` is seen; remembers the last ``max_keys`` keys."""

    def __init__(self, max_keys: int = 10_000) -> None:
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._max = max_keys

    def first(self, key: str) -> bool:
        if key in self._seen:
            self._seen.move_to_end(key)
            return False
        self._seen[key] = None
        if len(self._seen) > self._max:
            self._seen.popitem(last=False)
        return True


@dataclass(slots=True)
class SlackRuntime:
    """One deployment's state; listeners stay thin and hand their work to functions taking this."""

    agent: Agent
    backend: PagerDutyBackend
    identities: IdentityResolver
    war_rooms: WarRooms
    proposals: ProposalStore
    approvers: Approvers | None = None
    allow_unmapped_reads: bool = False
    status_every_s: float = 2.0
    """The thread's progress status changes at most this often."""
    streaming: Streaming = field(default_factory=Streaming)
    """Whether answers stream into the thread (off unless set: ``alex serve`` reads ALEX_SLACK_STREAM), and
    the streams in flight in this process (:mod:`bot.slack.streaming`)."""
    welcomed: FirstTimes = field(default_factory=FirstTimes)
    """Slack users greeted in the Messages tab by this process."""
    state: StateStore = field(default_factory=MemoryState)
    """Dedupe, rate limits and the audit log (shared by every replica when it is Redis)."""
    rate_limits: RateLimits = field(default_factory=RateLimits)
    """Off unless given (``alex serve`` reads ALEX_RATE_LIMIT_PER_USER / _PER_CHANNEL)."""
    dedupe_ttl_s: float = DEDUPE_TTL_S
    allowed_channels: frozenset[str] = frozenset()
    """Channel IDs alex answers and acts in (``ALEX_ALLOWED_CHANNELS``); empty: every channel. DMs always."""
    linked_tokens: LinkedTokens | None = None
    """People's own PagerDuty tokens (``/alex connect``); None when ``ALEX_TOKEN_KEY`` is unset."""
    audit_buffer: AuditBuffer | None = None
    """Keeps the audit entries the state could not take after a write ran (``ALEX_AUDIT_BUFFER_PATH``)."""
    notify: Routing | None = None
    """Incident notification routes (``ALEX_NOTIFY_ROUTES`` and those set from Slack, :mod:`bot.notify`);
    None: the notification commands say how to turn them on."""
    _local_limits: MemoryState = field(default_factory=MemoryState, init=False)
    """Where rate limits are counted while the shared state cannot (each replica on its own)."""
    """Counts the rate limits when the shared state cannot (see :meth:`over_limit`)."""
    _busy: int = field(default=0, init=False)
    _idle: asyncio.Event = field(default_factory=asyncio.Event, init=False)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        self._idle.set()

    async def context(self, asker: Asker, *, with_deadline: bool = False) -> ToolContext:
        """A fresh tool context acting as ``asker`` (through their linked token, else as
        :meth:`~bot.slack.backend.PagerDutyBackend.client_for` decides); ``with_deadline`` starts the
        per-message time budget (for button clicks: the agent sets its own when answering a message)."""
        deadline = time.monotonic() + self.agent.limits.deadline_s if with_deadline else None
        linked = None
        if self.linked_tokens is not None and asker.user_id is not None:
            try:
                linked = await self.linked_tokens.token_for(asker.user_id)
            except Exception as exc:  # their own token is the stronger option; the shared one is still scoped
                log.warning("linked tokens unavailable (%s): using the shared token", type(exc).__name__)
        return ToolContext(self.backend.client_for(asker, linked_token=linked), asker, self.backend.now(), deadline)

    @property
    def audit(self) -> AuditSink:
        """Where write attempts are recorded (the state's audit log, and ``audit_buffer`` behind it)."""
        return self.state if self.audit_buffer is None else DurableAudit(self.state, self.audit_buffer)

    async def first_delivery(self, event_id: str) -> bool:
        """True the first time any replica sees this Slack ``event_id`` (within ``dedupe_ttl_s``)."""
        return await self.state.first_seen(f"event:{event_id}", self.dedupe_ttl_s)

    async def over_limit(self, user: str, channel: str, *, bound_s: float | None = None) -> str | None:
        """Count one message from ``user`` in ``channel``; the polite refusal when that is over a limit.

        The refusal is returned once per window per user and channel (None afterwards: stay quiet,
        a flood must not make alex flood the channel back). When the shared state fails, or takes longer
        than ``bound_s`` (the count runs before the Events ack), the same limits are counted in this
        process instead (an in-process :class:`~bot.store.memory.MemoryState`): never unlimited.
        """
        limits = self.rate_limits
        if not limits.per_user and not limits.per_channel:
            return None
        try:
            return await asyncio.wait_for(self._count(self.state, user, channel), bound_s)
        except Exception as exc:  # TimeoutError, StateUnavailable, a Redis error...
            log.warning("shared rate limits unavailable (%s): counting in this process", type(exc).__name__)
        return await self._count(self._local_limits, user, channel)

    async def _count(self, store: StateStore, user: str, channel: str) -> str | None:
        limits = self.rate_limits
        notice: str | None = None
        if limits.per_user and not await store.hit(f"user:{user}", limits.per_user, limits.window_s):
            notice = RATE_LIMITED
        elif limits.per_channel and not await store.hit(f"channel:{channel}", limits.per_channel, limits.window_s):
            notice = CHANNEL_RATE_LIMITED
        if notice is None:
            return None
        first = await store.first_seen(f"rate-notice:{user}:{channel}", limits.window_s)
        return notice if first else ""

    async def may_approve(self, slack_user_id: str) -> bool:
        """Whether ``slack_user_id`` is in the approver group (may confirm anyone's proposals)."""
        return self.approvers is not None and await self.approvers.contains(slack_user_id)

    @contextlib.asynccontextmanager
    async def working(self) -> AsyncIterator[None]:
        """Counts a listener's work in flight (``idle()`` waits for it: tests and shutdown)."""
        self._busy += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._busy -= 1
            if self._busy == 0:
                self._idle.set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` (a middleware's refusal, posted after the ack) counted as in flight like a listener."""
        self._busy += 1
        self._idle.clear()
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._spawned_done)

    def _spawned_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("a refusal could not be posted (%s)", type(task.exception()).__name__)
        self._busy -= 1
        if self._busy == 0:
            self._idle.set()

    async def idle(self, within: float | None = None) -> bool:
        """Wait until no listener is working; False when ``within`` seconds passed first."""
        try:
            await asyncio.wait_for(self._idle.wait(), within)
        except TimeoutError:
            return False
        return True

    async def aclose(self) -> None:
        await self.idle(within=30)
        await self.agent.aclose()
        await self.proposals.aclose()
        await self.state.aclose()
        if self.linked_tokens is not None:
            await self.linked_tokens.aclose()
        await self.backend.aclose()
