""":class:`RedisState`: the state in Redis (``ALEX_STATE_URL=redis://…``), shared by every replica.

* dedupe: ``SET key 1 NX PX ttl``;
* proposals: one hash per proposal (``state``, times, ``handled_by``, ``data``); the claim is a Lua
  script (compare-and-set ``pending`` → ``confirmed``/``cancelled`` when unexpired), so exactly one
  click wins across all replicas; the key expires an hour after the proposal;
* thread memory: one list per thread (``RPUSH`` + ``LTRIM`` to the newest exchanges, key TTL);
* rate limits: a fixed window counter (``INCR`` + ``PEXPIRE`` in one transaction);
* audit log: a list capped with ``LTRIM`` to ``audit_max_rows`` (newest first);
* feedback: one hash per answer (``data``, ``expires``, and ``v:<Slack user>`` per vote; key TTL), indexed by
  two sorted sets (unrated, rated) scored by expiry; Lua scripts store, vote and evict the oldest beyond
  the caps;
* notifications: incident cards, channel routes, a watermark (:mod:`bot.store.notify_redis`);
* leases: ``SET key owner PX ttl`` behind a Lua compare on the owner (Redis expires them).

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
from dataclasses import replace
from typing import Any, TypeVar, cast

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
    check_lease,
    decode_pending,
    encode_pending,
)
from bot.store.feedback import (
    MAX_RATED,
    MAX_UNRATED,
    MAX_VOTES,
    RATED_TTL_S,
    UNRATED_TTL_S,
    TurnRecord,
    Vote,
    Voted,
    decode_vote,
    encode_vote,
    vote_status,
)
from bot.store.notify_redis import RedisNotify
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

_LEASE = """
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) <= 0 then
  if held then redis.call('DEL', KEYS[1]) end
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

_EVICT = """
local function evict(index, keep, prefix, now)
  local expired = redis.call('ZRANGEBYSCORE', index, '-inf', now)
  for _, id in ipairs(expired) do redis.call('DEL', prefix .. id) end
  redis.call('ZREMRANGEBYSCORE', index, '-inf', now)
  local over = redis.call('ZCARD', index) - keep
  if over > 0 then
    for _, id in ipairs(redis.call('ZRANGE', index, 0, over - 1)) do redis.call('DEL', prefix .. id) end
    redis.call('ZREMRANGEBYRANK', index, 0, over - 1)
  end
end
"""

_FEEDBACK_PUT = _EVICT + """
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'data', ARGV[1], 'expires', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZREM', KEYS[3], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
evict(KEYS[2], tonumber(ARGV[5]), ARGV[6], ARGV[7])
return 'ok'
"""

_FEEDBACK_VOTE = _EVICT + """
local expires = redis.call('HGET', KEYS[1], 'expires')
if not expires or tonumber(expires) <= tonumber(ARGV[9]) then return {'missing', ''} end
local before = redis.call('HGET', KEYS[1], ARGV[1])
if not before and redis.call('HLEN', KEYS[1]) - 2 >= tonumber(ARGV[3]) then return {'full', ''} end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2], 'expires', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[5])
redis.call('ZADD', KEYS[3], ARGV[6], ARGV[5])
evict(KEYS[3], tonumber(ARGV[7]), ARGV[8], ARGV[9])
return {'ok', before or ''}
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
        self._feedback = RedisFeedback(self)
        self._notify = RedisNotify(self)
        self._lease = client.register_script(_LEASE)

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

    @property
    def feedback(self) -> RedisFeedback:
        return self._feedback

    @property
    def notify(self) -> RedisNotify:
        return self._notify

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

    async def lease(self, key: str, owner: str, ttl_s: float) -> bool:
        check_lease(key, owner, ttl_s)
        ttl_ms = _ms(ttl_s) if ttl_s > 0 else 0
        return bool(await bounded(self._lease(keys=[self.key("lease", key)], args=[owner, ttl_ms])))

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


class RedisFeedback:
    """The :class:`~bot.store.feedback.FeedbackStore` of a :class:`RedisState` (see the module docstring)."""

    def __init__(self, state: RedisState, *, max_unrated: int = MAX_UNRATED, max_rated: int = MAX_RATED) -> None:
        self._state = state
        self.max_unrated = max_unrated
        self.max_rated = max_rated
        self._put = state.client.register_script(_FEEDBACK_PUT)
        self._vote = state.client.register_script(_FEEDBACK_VOTE)

    def _keys(self, turn_id: str) -> list[str]:
        return [self._state.key("feedback", turn_id), self._state.key("feedback-index", "unrated"),
                self._state.key("feedback-index", "rated")]

    async def put(self, record: TurnRecord) -> None:
        now = self._state._clock()
        data = replace(record.bounded(), created_at=now).to_json()
        await bounded(self._put(keys=self._keys(record.turn_id), args=[
            data, _ms(UNRATED_TTL_S), record.turn_id, repr(now + UNRATED_TTL_S), self.max_unrated,
            self._state.key("feedback", ""), repr(now)]))

    async def get(self, turn_id: str) -> TurnRecord | None:
        raw = await bounded(self._state.client.hgetall(self._state.key("feedback", turn_id)))
        return _feedback_record(raw, self._state._clock())

    async def vote(self, turn_id: str, vote: Vote) -> Voted:
        now = self._state._clock()
        keys = self._keys(turn_id)
        status, before = await bounded(self._vote(keys=keys, args=[
            f"v:{vote.by}", encode_vote(vote), MAX_VOTES, _ms(RATED_TTL_S), turn_id, repr(now + RATED_TTL_S),
            self.max_rated, self._state.key("feedback", ""), repr(now)]))
        if _text(status) == "missing":
            return Voted("missing")
        record = await self.get(turn_id)
        if record is None:
            return Voted("missing")
        if _text(status) == "full":
            return Voted("full", record)
        return Voted(vote_status(decode_vote(_text(before)) if before else None, vote), record)

    async def rated(self, limit: int = MAX_RATED) -> list[TurnRecord]:
        if limit <= 0:
            return []
        client = self._state.client
        found = await bounded(client.zrevrangebyscore(self._state.key("feedback-index", "rated"), "+inf",
                                                      repr(self._state._clock()), start=0, num=limit))
        ids = [_text(turn_id) for turn_id in cast(list[bytes | str], found)]

        async def fetch() -> list[Any]:
            async with client.pipeline(transaction=False) as pipe:
                for turn_id in ids:
                    pipe.hgetall(self._state.key("feedback", turn_id))
                return list(await pipe.execute())

        rows = await bounded(fetch()) if ids else []
        now = self._state._clock()
        return [record for raw in rows if (record := _feedback_record(raw, now)) is not None]

    async def aclose(self) -> None:
        return None  # the state owns the connection


def _feedback_record(raw: dict[Any, Any], now: float) -> TurnRecord | None:
    fields = {_text(k): _text(v) for k, v in raw.items()}
    data, expires = fields.pop("data", None), fields.pop("expires", None)
    if data is None or expires is None or float(expires) <= now:
        return None
    votes = [v for key, value in fields.items() if key.startswith("v:") and (v := decode_vote(value)) is not None]
    return TurnRecord.from_json(data, votes)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _decode(fields: dict[str, str]) -> PendingProposal:
    return decode_pending(fields["data"], StoredFields(fields["state"], float(fields["created_at"]),
                                                       float(fields["expires_at"]), fields.get("handled_by") or None))
