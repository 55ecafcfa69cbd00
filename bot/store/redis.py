""":class:`RedisState`: the state in Redis (``ALEX_STATE_URL=redis://…``), shared by every replica.

* dedupe: ``SET key 1 NX PX ttl``;
* proposals: one hash per proposal (``state``, times, ``handled_by``, ``data``); the claim is a Lua
  script (compare-and-set ``pending`` → ``confirmed``/``cancelled`` when unexpired), so exactly one
  click wins across all replicas; the key expires an hour after the proposal;
* thread memory: one list per thread (``RPUSH`` + ``LTRIM`` to the newest exchanges, key TTL);
* rate limits: a fixed window counter (``INCR`` + ``PEXPIRE`` in one transaction);
* audit log: a list capped with ``LTRIM`` to ``audit_max_rows`` (newest first).

Every key starts with ``prefix`` (default ``alex:``) so several deployments can share one Redis.
Persistence across a Redis restart is Redis's own (RDB/AOF): configure it on the server.

An operation that Redis does not answer within its bound, or that fails to reach it, raises
:class:`~bot.store.base.StateUnavailable` (naming no URL: it may carry a password).
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.store.base import (
    AUDIT_MAX_ROWS,
    DEDUPE_BOUND_S,
    DEDUPE_TTL_S,
    HEALTH_BOUND_S,
    OPERATION_BOUND_S,
    ClaimTo,
    StateHealth,
    StateUnavailable,
    StoredFields,
    decode_pending,
    encode_pending,
)
from bot.store.proposals import DEFAULT_TTL_S, KEEP_AFTER_EXPIRY_S, Claim, PendingProposal
from bot.store.thread_memory import MemoryLimits, Message, compact, select
from bot.tools.audit import AuditEntry

T = TypeVar("T")

_CLAIM = """
local s = redis.call('HMGET', KEYS[1], 'state', 'expires_at')
if not s[1] then return 'missing' end
if s[1] == 'expired' then return 'expired' end
if s[1] ~= 'pending' then return 'taken' end
if tonumber(ARGV[1]) >= tonumber(s[2]) then
  redis.call('HSET', KEYS[1], 'state', 'expired')
  return 'expired'
end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'handled_by', ARGV[3])
return 'claimed'
"""


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


async def bounded(operation: Awaitable[T], bound_s: float = OPERATION_BOUND_S) -> T:
    """``operation``'s result, or :class:`StateUnavailable` when Redis fails or takes over ``bound_s``."""
    try:
        return await asyncio.wait_for(operation, bound_s)
    except TimeoutError:
        raise StateUnavailable(f"redis: no answer within {bound_s:g} s") from None
    except (RedisError, OSError) as exc:
        raise StateUnavailable(f"redis: {type(exc).__name__}") from None


class RedisState:
    kind = "redis"

    def __init__(self, client: Redis, *, prefix: str = "alex:", proposal_ttl_s: float = DEFAULT_TTL_S,
                 memory_limits: MemoryLimits | None = None, audit_max_rows: int = AUDIT_MAX_ROWS,
                 clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.prefix = prefix
        self.audit_max_rows = audit_max_rows
        self._clock = clock
        self._proposals = RedisProposals(self, proposal_ttl_s)
        self._memory = RedisThreadMemory(self, memory_limits)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisState:
        client = Redis.from_url(url, decode_responses=True, socket_timeout=5.0, socket_connect_timeout=5.0,
                                health_check_interval=30)
        return cls(client, **kwargs)

    @property
    def proposals(self) -> RedisProposals:
        return self._proposals

    @property
    def memory(self) -> RedisThreadMemory:
        return self._memory

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    async def first_seen(self, key: str, ttl_s: float = DEDUPE_TTL_S) -> bool:
        return bool(await bounded(self.client.set(self.key("seen", key), "1", nx=True, px=_ms(ttl_s)),
                                  DEDUPE_BOUND_S))

    async def hit(self, key: str, limit: int, window_s: float) -> bool:
        window = int(self._clock() // window_s)
        slot = self.key("rate", key, f"{window_s:g}", str(window))

        async def run() -> int:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.incr(slot)
                pipe.pexpire(slot, _ms(window_s * 2))
                count, _ = await pipe.execute()
            return int(count)

        return await bounded(run()) <= limit

    async def record(self, entry: AuditEntry) -> None:
        key = self.key("audit")

        async def run() -> None:
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.lpush(key, entry.to_json())
                pipe.ltrim(key, 0, self.audit_max_rows - 1)
                await pipe.execute()

        await bounded(run())

    async def recent(self, limit: int = 50) -> list[AuditEntry]:
        if limit <= 0:
            return []
        rows = await bounded(self.client.lrange(self.key("audit"), 0, limit - 1))
        return [AuditEntry.from_json(_text(row)) for row in rows]

    async def health(self, *, thorough: bool = False) -> StateHealth:
        try:
            await bounded(self.client.ping(), HEALTH_BOUND_S)
        except StateUnavailable as exc:
            return StateHealth(False, str(exc))
        return StateHealth(True, "redis: ok")

    async def aclose(self) -> None:
        await self.client.aclose()


class RedisProposals:
    """The :class:`~bot.store.proposals.ProposalStore` of a :class:`RedisState`."""

    def __init__(self, state: RedisState, ttl_s: float) -> None:
        self._state = state
        self.ttl_s = ttl_s
        self._claim = state.client.register_script(_CLAIM)

    async def put(self, pending: PendingProposal) -> str:
        now = self._state._clock()
        proposal_id = secrets.token_urlsafe(12)
        key = self._state.key("proposal", proposal_id)

        async def run() -> None:
            async with self._state.client.pipeline(transaction=True) as pipe:
                pipe.hset(key, mapping={"state": "pending", "created_at": repr(now),
                                        "expires_at": repr(now + self.ttl_s), "handled_by": "",
                                        "data": encode_pending(pending)})
                pipe.pexpire(key, _ms(self.ttl_s + KEEP_AFTER_EXPIRY_S))
                await pipe.execute()

        await bounded(run())
        return proposal_id

    async def get(self, proposal_id: str) -> PendingProposal | None:
        raw = await bounded(self._state.client.hgetall(self._state.key("proposal", proposal_id)))
        return _decode({_text(k): _text(v) for k, v in raw.items()}) if raw else None

    async def claim(self, proposal_id: str, by: str, state: ClaimTo) -> Claim:
        key = self._state.key("proposal", proposal_id)
        status = str(await bounded(self._claim(keys=[key], args=[repr(self._state._clock()), state, by])))
        if status == "missing":
            return Claim("missing")
        pending = await self.get(proposal_id)
        if pending is None:
            return Claim("missing")
        if status == "claimed":
            return Claim("claimed", pending)
        return Claim("expired" if status == "expired" else "taken", pending)

    async def once(self, key: str, ttl_s: float) -> bool:
        return await self._state.first_seen(f"once:{key}", ttl_s)

    async def aclose(self) -> None:
        return None  # the state owns the connection


class RedisThreadMemory:
    """:class:`~bot.store.thread_memory.ThreadMemory` in Redis: a capped list per thread that expires."""

    def __init__(self, state: RedisState, limits: MemoryLimits | None = None) -> None:
        self._state = state
        self.limits = limits or MemoryLimits()

    async def load(self, thread_id: str) -> list[Message]:
        rows = await self._state.client.lrange(self._state.key("thread", thread_id), -self.limits.max_messages, -1)
        cutoff = self._state._clock() - self.limits.ttl_s
        entries = [json.loads(_text(row)) for row in rows]
        return select((e["messages"] for e in reversed(entries) if e.get("at", 0) >= cutoff), self.limits)

    async def append(self, thread_id: str, messages: list[Message]) -> None:
        key = self._state.key("thread", thread_id)
        body = json.dumps({"at": self._state._clock(), "messages": compact(messages, self.limits)},
                          ensure_ascii=False, separators=(",", ":"))
        async with self._state.client.pipeline(transaction=True) as pipe:
            pipe.rpush(key, body)
            pipe.ltrim(key, -self.limits.max_exchanges, -1)
            pipe.pexpire(key, _ms(self.limits.ttl_s))
            await pipe.execute()

    async def aclose(self) -> None:
        return None  # the state owns the connection


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _decode(fields: dict[str, str]) -> PendingProposal:
    return decode_pending(fields["data"], StoredFields(fields["state"], float(fields["created_at"]),
                                                       float(fields["expires_at"]), fields.get("handled_by") or None))
