"""Shared state: event dedupe, proposals, thread memory, rate limits and the audit log.

One interface (:class:`StateStore`), three backends: SQLite (the default: the file at
``ALEX_STATE_PATH``, created on first run, survives restarts), Redis (``ALEX_STATE_URL=redis://…``,
for several replicas) and in-process memory (tests, the sandbox, ``ALEX_STATE_PATH=:memory:``).
:func:`open_state` picks one from the settings. An operation that cannot be served within its bound
(a locked file, Redis down) raises :class:`StateUnavailable`; ``health()`` says whether the store answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.store.base import DEDUPE_TTL_S, StateHealth, StateStore, StateUnavailable

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.store.thread_memory import MemoryLimits

__all__ = ["DEDUPE_TTL_S", "StateHealth", "StateStore", "StateUnavailable", "open_state"]


def open_state(settings: Settings, *, memory_limits: MemoryLimits | None = None) -> StateStore:
    """Redis when ``ALEX_STATE_URL`` is set, in-process memory for ``ALEX_STATE_PATH=:memory:``, else
    the SQLite file at ``ALEX_STATE_PATH``."""
    ttl, rows = settings.proposal_ttl_seconds, settings.audit_max_rows
    url = settings.state_url.get_secret_value().strip() if settings.state_url is not None else ""
    if url:
        from bot.store.redis import RedisState

        return RedisState.from_url(url, proposal_ttl_s=ttl, memory_limits=memory_limits, audit_max_rows=rows)
    if settings.state_path == ":memory:":
        from bot.store.memory import MemoryState

        return MemoryState(proposal_ttl_s=ttl, memory_limits=memory_limits, audit_max_rows=rows)
    from bot.store.sqlite import SQLiteState

    return SQLiteState(settings.state_path, proposal_ttl_s=ttl, memory_limits=memory_limits, audit_max_rows=rows)
