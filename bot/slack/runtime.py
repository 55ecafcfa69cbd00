"""Everything the Slack listeners share: the agent, PagerDuty, identities, war rooms, pending proposals."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from bot.agent.agent import Agent
from bot.slack.approvers import Approvers
from bot.slack.backend import PagerDutyBackend
from bot.slack.identity import IdentityResolver
from bot.slack.proposals_store import ProposalStore
from bot.slack.warroom import WarRooms
from bot.tools.base import Asker, ToolContext


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
    allow_unmapped_reads: bool = True
    status_every_s: float = 2.0
    """The thread's progress status changes at most this often."""
    welcomed: FirstTimes = field(default_factory=FirstTimes)
    """Slack users greeted in the Messages tab by this process."""
    _busy: int = field(default=0, init=False)
    _idle: asyncio.Event = field(default_factory=asyncio.Event, init=False)

    def __post_init__(self) -> None:
        self._idle.set()

    def context(self, asker: Asker, *, with_deadline: bool = False) -> ToolContext:
        """A fresh tool context acting as ``asker``; ``with_deadline`` starts the per-message time budget
        (for button clicks: the agent sets its own when answering a message)."""
        deadline = time.monotonic() + self.agent.limits.deadline_s if with_deadline else None
        return ToolContext(self.backend.client_for(asker), asker, self.backend.now(), deadline)

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
        await self.backend.aclose()
