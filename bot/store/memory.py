""":class:`MemoryState`: the whole :class:`~bot.store.base.StateStore` in one process (tests, the sandbox).

Nothing survives a restart and nothing is shared between replicas; everything is bounded all the same.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from bot.store.base import AUDIT_MAX_ROWS, DEDUPE_MAX_KEYS, DEDUPE_TTL_S, StateHealth, check_lease
from bot.store.feedback import InMemoryFeedback
from bot.store.notify import InMemoryNotify
from bot.store.proposals import DEFAULT_TTL_S, InMemoryProposalStore
from bot.store.thread_memory import InMemoryThreadMemory, MemoryLimits
from bot.tools.audit import AuditEntry


class MemoryState:
    kind = "memory"

    def __init__(self, *, proposal_ttl_s: float = DEFAULT_TTL_S, memory_limits: MemoryLimits | None = None,
                 audit_max_rows: int = AUDIT_MAX_ROWS, max_keys: int = DEDUPE_MAX_KEYS,
                 clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._proposals = InMemoryProposalStore(proposal_ttl_s, clock=clock)
        self._memory = InMemoryThreadMemory(memory_limits, clock=clock)
        self._feedback = InMemoryFeedback(clock=clock)
        self._notify = InMemoryNotify(clock=clock)
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, float] = OrderedDict()  # key -> expires at
        self._counts: OrderedDict[str, tuple[int, float]] = OrderedDict()  # key:window -> uses, window end
        self._leases: OrderedDict[str, tuple[str, float]] = OrderedDict()  # key -> owner, expires at
        self._max_keys = max_keys
        self._audit: deque[AuditEntry] = deque(maxlen=audit_max_rows)

    @property
    def proposals(self) -> InMemoryProposalStore:
        return self._proposals

    @property
    def memory(self) -> InMemoryThreadMemory:
        return self._memory

    @property
    def feedback(self) -> InMemoryFeedback:
        return self._feedback

    @property
    def notify(self) -> InMemoryNotify:
        return self._notify

    async def first_seen(self, key: str, ttl_s: float = DEDUPE_TTL_S) -> bool:
        now = self._clock()
        with self._lock:
            expires = self._seen.get(key)
            if expires is not None and expires > now:
                return False
            self._seen.pop(key, None)
            self._seen[key] = now + ttl_s
            while len(self._seen) > self._max_keys:
                self._seen.popitem(last=False)
            if len(self._seen) % 256 == 0:
                for old in [k for k, at in self._seen.items() if at <= now]:
                    del self._seen[old]
            return True

    async def hit(self, key: str, limit: int, window_s: float) -> bool:
        now = self._clock()
        window = int(now // window_s)
        slot = f"{key}\x00{window_s}\x00{window}"
        with self._lock:
            count = self._counts.pop(slot, (0, 0.0))[0] + 1
            self._counts[slot] = (count, (window + 1) * window_s)
            while len(self._counts) > self._max_keys:
                self._counts.popitem(last=False)
            if len(self._counts) % 256 == 0:
                for old in [k for k, (_, ends) in self._counts.items() if ends <= now]:
                    del self._counts[old]
            return count <= limit

    async def lease(self, key: str, owner: str, ttl_s: float) -> bool:
        check_lease(key, owner, ttl_s)
        now = self._clock()
        with self._lock:
            held = self._leases.get(key)
            if held is not None and held[0] != owner and held[1] > now:
                return False
            self._leases.pop(key, None)
            if ttl_s <= 0:
                return False
            self._leases[key] = (owner, now + ttl_s)
            if len(self._leases) % 256 == 0:
                for old in [k for k, (_, at) in self._leases.items() if at <= now]:
                    del self._leases[old]
            while len(self._leases) > self._max_keys:
                self._leases.popitem(last=False)
            return True

    async def record(self, entry: AuditEntry) -> None:
        with self._lock:
            self._audit.append(entry)

    async def recent(self, limit: int = 50) -> list[AuditEntry]:
        with self._lock:
            return list(reversed(self._audit))[: max(0, limit)]

    def sizes(self) -> dict[str, int]:
        """How many keys each part holds (soak tests check they stay bounded)."""
        with self._lock:
            sizes = {"dedupe": len(self._seen), "rate": len(self._counts), "audit": len(self._audit),
                     "leases": len(self._leases)}
        sizes |= {f"notify_{part}": n for part, n in self._notify.sizes().items()}
        return sizes | {f"feedback_{part}": n for part, n in self._feedback.sizes().items()}

    async def health(self, *, thorough: bool = False) -> StateHealth:
        return StateHealth(True, "memory (this process only): ok")

    async def aclose(self) -> None:
        await self._proposals.aclose()
        await self._memory.aclose()
