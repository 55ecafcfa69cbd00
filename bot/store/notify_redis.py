""":class:`RedisNotify`: the :class:`~bot.store.notify.NotifyStore` of a :class:`~bot.store.redis.RedisState`.

* a card: one hash ``card:<incident>:<channel>`` (``ts``, ``at``, ``data``, ``version``, ``open``,
  ``hold_until``, ``updated``; key TTL :data:`~bot.store.notify.CARD_TTL_S`), indexed by two sorted sets
  scored by the last change (``cards``: all, for eviction; ``cards-open``: the open ones, for the catch-up)
  and a set per incident (``card-channels:<incident>``). :meth:`RedisNotify.apply` is one Lua script (the
  rule of :func:`~bot.store.notify.decide`), so exactly one replica becomes a card's poster;
* routes: a hash per channel (``routes:<channel>``: key → JSON) and the set ``route-channels``;
* channel zones: the hash ``zones`` (channel → zone; a script keeps it within the bound);
* the watermark: ``notify-seen`` (a script keeps the larger value).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from bot.store.notify import (
    CARD_TTL_S,
    MAX_CARDS,
    MAX_CARDS_LISTED,
    MAX_CHANNEL_ROUTES,
    MAX_ROUTE_CHANNELS,
    POSTING_HOLD_S,
    Applied,
    Card,
    Change,
    StoredRoute,
    check_data,
    check_key,
    check_route,
    check_zone,
)

if TYPE_CHECKING:
    from bot.store.redis import RedisState

_FIELDS = ("ts", "at", "data", "version", "open", "hold_until", "updated")

_APPLY = """
local now, hold_s, ttl = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local f = redis.call('HMGET', KEYS[1], 'ts', 'at', 'data', 'version', 'open', 'hold_until', 'updated')
local applied, ts, at, data, version, open, hold, updated
if not f[2] or tonumber(f[7]) + ttl <= now then
  redis.call('DEL', KEYS[1])
  applied, ts, at, data, version, open, hold, updated = 'post', '', ARGV[1], ARGV[2], 1, ARGV[3], now + hold_s, now
else
  ts, at, data, version, open, hold, updated = f[1], f[2], f[3], tonumber(f[4]), f[5], tonumber(f[6]), tonumber(f[7])
  local newer = tonumber(ARGV[1]) >= tonumber(at)
  if newer then at, data, open, version, updated = ARGV[1], ARGV[2], ARGV[3], version + 1, now end
  if ts == '' and hold <= now then
    applied, hold, updated = 'post', now + hold_s, now
  elseif newer then applied = 'update' else applied = 'stale' end
end
if applied ~= 'stale' then
  local member = ARGV[8] .. ':' .. ARGV[9]
  redis.call('HSET', KEYS[1], 'ts', ts, 'at', at, 'data', data, 'version', version, 'open', open,
             'hold_until', string.format('%.3f', hold), 'updated', string.format('%.3f', updated))
  redis.call('PEXPIRE', KEYS[1], math.floor(ttl * 1000))
  redis.call('ZADD', KEYS[2], updated, member)
  if open == '1' then redis.call('ZADD', KEYS[4], updated, member) else redis.call('ZREM', KEYS[4], member) end
  redis.call('SADD', KEYS[3], ARGV[9])
  redis.call('PEXPIRE', KEYS[3], math.floor(ttl * 1000))
  local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - ttl)
  local over = redis.call('ZCARD', KEYS[2]) - #gone - tonumber(ARGV[7])
  if over > 0 then
    for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], now - ttl, '+inf', 'LIMIT', 0, over)) do
      table.insert(gone, m)
    end
  end
  for _, m in ipairs(gone) do
    local sep = string.find(m, ':', 1, true)
    redis.call('DEL', ARGV[10] .. 'card:' .. m)
    redis.call('SREM', ARGV[10] .. 'card-channels:' .. string.sub(m, 1, sep - 1), string.sub(m, sep + 1))
    redis.call('ZREM', KEYS[2], m)
    redis.call('ZREM', KEYS[4], m)
  end
end
return {applied, ts, at, data, tostring(version), open, string.format('%.3f', hold), string.format('%.3f', updated)}
"""

_POSTED = """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSET', KEYS[1], 'ts', ARGV[1], 'hold_until', '0')
return redis.call('HMGET', KEYS[1], 'ts', 'at', 'data', 'version', 'open', 'hold_until', 'updated')
"""

_RELEASE = """
if redis.call('HGET', KEYS[1], 'ts') == '' then redis.call('HSET', KEYS[1], 'hold_until', '0') end
return 1
"""

_ADD_ROUTE = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  local mine = redis.call('HLEN', KEYS[1])
  if mine >= tonumber(ARGV[3]) then return 0 end
  if mine == 0 and redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[4]) then return 0 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[5])
return 1
"""

_REMOVE_ROUTES = """
local gone
if ARGV[1] == '' then gone = redis.call('HLEN', KEYS[1]); redis.call('DEL', KEYS[1])
else gone = redis.call('HDEL', KEYS[1], ARGV[1]) end
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[2]) end
return gone
"""

_SET_ZONE = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1
"""

_SEEN = """
local old = redis.call('GET', KEYS[1])
if not old or tonumber(old) < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
"""


class RedisNotify:
    def __init__(self, state: RedisState, *, max_cards: int = MAX_CARDS) -> None:
        self._state = state
        self.max_cards = max_cards
        client = state.client
        self._apply = client.register_script(_APPLY)
        self._posted = client.register_script(_POSTED)
        self._release = client.register_script(_RELEASE)
        self._add_route = client.register_script(_ADD_ROUTE)
        self._remove_routes = client.register_script(_REMOVE_ROUTES)
        self._seen = client.register_script(_SEEN)
        self._set_zone = client.register_script(_SET_ZONE)

    def _card_key(self, incident_id: str, channel: str) -> str:
        return self._state.key("card", incident_id, channel)

    async def apply(self, incident_id: str, channel: str, at: float, data: str, *, open: bool) -> Change:
        from bot.store.redis import bounded

        check_key(incident_id, channel)
        check_data(data)
        key = self._state.key
        keys = [self._card_key(incident_id, channel), key("cards"), key("card-channels", incident_id),
                key("cards-open")]
        answer = await bounded(self._apply(keys=keys, args=[
            repr(at), data, "1" if open else "0", repr(self._state._clock()), POSTING_HOLD_S, CARD_TTL_S,
            self.max_cards, incident_id, channel, self._state.prefix]))
        applied, *fields = [_text(part) for part in cast(list[bytes | str], answer)]
        return Change(cast(Applied, applied), _card(incident_id, channel, fields))

    async def posted(self, incident_id: str, channel: str, ts: str) -> Card | None:
        from bot.store.redis import bounded

        answer = await bounded(self._posted(keys=[self._card_key(incident_id, channel)], args=[ts]))
        if not answer:
            return None
        return _card(incident_id, channel, [_text(part) for part in cast(list[bytes | str], answer)])

    async def release(self, incident_id: str, channel: str) -> None:
        from bot.store.redis import bounded

        await bounded(self._release(keys=[self._card_key(incident_id, channel)], args=[]))

    async def get(self, incident_id: str, channel: str) -> Card | None:
        found = await self._cards([(incident_id, channel)])
        return found[0] if found else None

    async def cards_of(self, incident_id: str) -> list[Card]:
        from bot.store.redis import bounded

        channels = await bounded(self._state.client.smembers(self._state.key("card-channels", incident_id)))
        names = sorted(_text(c) for c in channels)[:MAX_CHANNEL_ROUTES]
        return await self._cards([(incident_id, channel) for channel in names])

    async def open_cards(self, limit: int = MAX_CARDS_LISTED) -> list[Card]:
        from bot.store.redis import bounded

        count = max(0, min(limit, MAX_CARDS_LISTED))
        if not count:
            return []
        members = await bounded(self._state.client.zrevrange(self._state.key("cards-open"), 0, count - 1))
        pairs = [cast(tuple[str, str], tuple(_text(m).split(":", 1))) for m in cast(list[bytes | str], members)]
        return [card for card in await self._cards(pairs) if card.open]

    async def seen_until(self, at: float) -> None:
        from bot.store.redis import bounded

        await bounded(self._seen(keys=[self._state.key("notify-seen")], args=[repr(at)]))

    async def last_seen(self) -> float | None:
        from bot.store.redis import bounded

        value = await bounded(self._state.client.get(self._state.key("notify-seen")))
        return None if value is None else float(_text(value))

    async def add_route(self, route: StoredRoute) -> bool:
        from bot.store.redis import bounded

        check_route(route)
        value = json.dumps({"spec": route.spec, "by": route.by, "at": route.at}, separators=(",", ":"))
        added = await bounded(self._add_route(
            keys=[self._state.key("routes", route.channel), self._state.key("route-channels")],
            args=[route.key, value, MAX_CHANNEL_ROUTES, MAX_ROUTE_CHANNELS, route.channel]))
        return bool(added)

    async def remove_routes(self, channel: str, key: str | None = None) -> int:
        from bot.store.redis import bounded

        gone = await bounded(self._remove_routes(
            keys=[self._state.key("routes", channel), self._state.key("route-channels")], args=[key or "", channel]))
        return int(cast(int, gone))

    async def routes(self, channel: str | None = None) -> list[StoredRoute]:
        from bot.store.redis import bounded

        client = self._state.client
        if channel is None:
            members = await bounded(client.smembers(self._state.key("route-channels")))
            channels = sorted(_text(c) for c in members)[:MAX_ROUTE_CHANNELS]
        else:
            channels = [channel]

        async def fetch() -> list[Any]:
            async with client.pipeline(transaction=False) as pipe:
                for name in channels:
                    pipe.hgetall(self._state.key("routes", name))
                return list(await pipe.execute())

        rows = await bounded(fetch()) if channels else []
        found: list[StoredRoute] = []
        for name, raw in zip(channels, rows, strict=True):
            for key, value in cast(dict[bytes | str, bytes | str], raw).items():
                fields = json.loads(_text(value))
                found.append(StoredRoute(name, _text(key), str(fields["spec"]), str(fields["by"]), float(fields["at"])))
        return sorted(found, key=lambda r: r.at)

    async def set_zone(self, channel: str, zone: str | None) -> bool:
        from bot.store.redis import bounded

        check_zone(channel, zone)
        key = self._state.key("zones")
        if zone is None:
            await bounded(self._state.client.hdel(key, channel))
            return True
        return bool(await bounded(self._set_zone(keys=[key], args=[channel, zone, MAX_ROUTE_CHANNELS])))

    async def zones(self) -> dict[str, str]:
        from bot.store.redis import bounded

        raw = await bounded(self._state.client.hgetall(self._state.key("zones")))
        return {_text(c): _text(z) for c, z in raw.items()}

    async def aclose(self) -> None:
        return None  # the state owns the connection

    async def _cards(self, pairs: list[tuple[str, str]]) -> list[Card]:
        from bot.store.redis import bounded

        client = self._state.client

        async def fetch() -> list[Any]:
            async with client.pipeline(transaction=False) as pipe:
                for incident_id, channel in pairs:
                    pipe.hmget(self._card_key(incident_id, channel), list(_FIELDS))
                return list(await pipe.execute())

        rows = await bounded(fetch()) if pairs else []
        now = self._state._clock()
        cards: list[Card] = []
        for (incident_id, channel), raw in zip(pairs, rows, strict=True):
            values = cast(list[bytes | str | None], raw)
            if values[1] is None:
                continue
            card = _card(incident_id, channel, ["" if v is None else _text(v) for v in values])
            if card.updated + CARD_TTL_S > now:
                cards.append(card)
        return cards


def _card(incident_id: str, channel: str, fields: list[str]) -> Card:
    ts, at, data, version, open_, hold_until, updated = fields
    return Card(incident_id, channel, ts or None, float(at), data, int(version), open_ == "1", float(hold_until),
                float(updated))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
