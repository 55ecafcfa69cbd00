"""The rate limits kept in this process, for when the shared state cannot count (Redis down…).

:meth:`bot.slack.runtime.SlackRuntime.over_limit` counts in the shared store, so the limits hold across
replicas; when the store fails it counts here instead, with the same limits: an outage then limits each
replica on its own rather than not at all. Fixed windows, like the stores; bounded in keys.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

MAX_KEYS = 50_000


class LocalLimits:
    """``hit`` and ``first_seen`` as :class:`~bot.store.base.StateStore` has them, in memory."""

    def __init__(self, *, max_keys: int = MAX_KEYS, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._max_keys = max_keys
        self._counts: OrderedDict[str, int] = OrderedDict()
        self._seen: OrderedDict[str, float] = OrderedDict()  # key -> expires at

    def hit(self, key: str, limit: int, window_s: float) -> bool:
        """Count one use of ``key``; False when that is more than ``limit`` in the current window."""
        window = int(self._clock() // window_s)
        slot = f"{key}\x00{window_s}\x00{window}"
        count = self._counts.pop(slot, 0) + 1
        self._counts[slot] = count
        self._trim(self._counts)
        return count <= limit

    def first_seen(self, key: str, ttl_s: float) -> bool:
        """True the first time ``key`` is seen within ``ttl_s``."""
        now = self._clock()
        expires = self._seen.pop(key, None)
        if expires is not None and expires > now:
            self._seen[key] = expires
            return False
        self._seen[key] = now + ttl_s
        self._trim(self._seen)
        return True

    def _trim(self, table: OrderedDict[str, int] | OrderedDict[str, float]) -> None:
        while len(table) > self._max_keys:
            table.popitem(last=False)
