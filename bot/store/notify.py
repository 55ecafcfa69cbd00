"""Incident notifications' state: each incident's card in each channel, the channels' own routes, a watermark.

* **Cards**: one :class:`Card` per (incident, channel): the message (``ts``), the incident state it shows
  (``data``, opaque JSON written by :mod:`bot.notify`), when that state occurred at PagerDuty (``at``) and a
  ``version`` bumped at every change. :meth:`NotifyStore.apply` is the one atomic step every replica goes
  through: the first change of an incident in a channel makes the caller its poster (``post``: a claim held
  for :data:`POSTING_HOLD_S` while it posts, then :meth:`~NotifyStore.posted`); a change that occurred at or
  after the stored one replaces it (``update``); an older one is refused (``stale``), so a late delivery never
  moves a card back. Same-instant changes apply in arrival order (PagerDuty sends an incident's events in
  order). A poster that never came back (its claim ran out) is replaced by the next change.
* **Routes** set from Slack (``@alex notify this channel about payments-api``): per channel, by a key (the
  normalised target), the route's text as typed and who set it.
* **Channel zones** (``@alex post times in Europe/Berlin``): the IANA zone a channel's scheduled posts keep
  (:mod:`bot.notify.scheduled`), at most :data:`MAX_ROUTE_CHANNELS` channels.
* **Watermark** (:meth:`~NotifyStore.seen_until`): the newest PagerDuty time the receiver processed, so the
  catch-up at start knows which incidents began while alex was down.

Bounds, the same in every backend: at most :data:`MAX_CARDS` cards, each forgotten :data:`CARD_TTL_S` after
its last change (the oldest go first beyond the cap); at most :data:`MAX_CHANNEL_ROUTES` routes per channel
and :data:`MAX_ROUTE_CHANNELS` channels with routes; :data:`MAX_DATA_CHARS` of card data. The backends:
:class:`InMemoryNotify` here, :class:`~bot.store.sqlite.SQLiteNotify` and :class:`~bot.store.redis.RedisNotify`.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal, Protocol

from bot.analysis.due import MAX_ZONE_CHARS

MAX_CARDS = 20_000
CARD_TTL_S = 14 * 24 * 3600.0
"""An incident no event touched for two weeks is long over: its card is forgotten (the message stays)."""
POSTING_HOLD_S = 60.0
"""How long the replica posting a card holds it before another may post it instead."""
MAX_DATA_CHARS = 16_000
MAX_CHANNEL_ROUTES = 20
MAX_ROUTE_CHANNELS = 1_000
MAX_ROUTE_CHARS = 300
MAX_CARDS_LISTED = 1_000
""":meth:`NotifyStore.open_cards` answers at most this many (the catch-up checks fewer)."""

Applied = Literal["post", "update", "stale"]
_KEY = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True, slots=True)
class Card:
    """One incident's card in one channel (see the module docstring)."""

    incident_id: str
    channel: str
    ts: str | None
    """The message, once posted (None while its poster posts it)."""
    at: float
    """When the state in ``data`` occurred at PagerDuty (epoch seconds)."""
    data: str
    version: int
    open: bool
    """Whether the incident was open (triggered or acknowledged) in ``data``."""
    hold_until: float = 0.0
    """While ``ts`` is None: until when its poster holds it."""
    updated: float = 0.0


@dataclass(frozen=True, slots=True)
class Change:
    """What :meth:`NotifyStore.apply` did: ``post`` (the caller posts ``card``, then calls ``posted``),
    ``update`` (``card`` is the new state: the caller updates its message, when it has one) or ``stale``
    (nothing changed: ``card`` is the newer state already stored)."""

    applied: Applied
    card: Card


@dataclass(frozen=True, slots=True)
class StoredRoute:
    """A route set from Slack: ``key`` is its normalised target (``service:payments-api``), ``spec`` the
    route as alex understood it (parsed again by :mod:`bot.notify.routes`)."""

    channel: str
    key: str
    spec: str
    by: str
    at: float


class NotifyStore(Protocol):
    """The notifications' state of one deployment, shared by every replica on the same store."""

    async def apply(self, incident_id: str, channel: str, at: float, data: str, *, open: bool) -> Change: ...

    async def posted(self, incident_id: str, channel: str, ts: str) -> Card | None:
        """The card's message is ``ts`` (its poster posted it); the card as stored now (a newer change may have
        come meanwhile: compare its ``version``). None when the card is gone (evicted)."""
        ...

    async def release(self, incident_id: str, channel: str) -> None:
        """The poster could not post: the next change may post it at once."""
        ...

    async def get(self, incident_id: str, channel: str) -> Card | None: ...

    async def cards_of(self, incident_id: str) -> list[Card]:
        """The incident's cards in every channel (at most :data:`MAX_CHANNEL_ROUTES`)."""
        ...

    async def open_cards(self, limit: int = MAX_CARDS_LISTED) -> list[Card]:
        """Cards of incidents that were open when last changed, most recently changed first."""
        ...

    async def seen_until(self, at: float) -> None:
        """The receiver processed PagerDuty changes up to ``at`` (the watermark only moves forward)."""
        ...

    async def last_seen(self) -> float | None: ...

    async def add_route(self, route: StoredRoute) -> bool:
        """Keep ``route`` (replacing the channel's route with the same key); False when the channel has
        :data:`MAX_CHANNEL_ROUTES` others, or :data:`MAX_ROUTE_CHANNELS` channels have routes."""
        ...

    async def remove_routes(self, channel: str, key: str | None = None) -> int:
        """Remove the channel's route with ``key`` (every route of the channel when None); how many went."""
        ...

    async def routes(self, channel: str | None = None) -> list[StoredRoute]:
        """The routes of ``channel`` (every channel's when None), oldest first."""
        ...

    async def set_zone(self, channel: str, zone: str | None) -> bool:
        """The channel's scheduled posts keep ``zone`` (None: the deployment's default again); False when
        :data:`MAX_ROUTE_CHANNELS` other channels have one."""
        ...

    async def zones(self) -> dict[str, str]:
        """Every channel's chosen zone."""
        ...

    async def aclose(self) -> None: ...


def check_zone(channel: str, zone: str | None) -> None:
    check_key(channel)
    if zone is not None and (not zone or len(zone) > MAX_ZONE_CHARS):
        raise ValueError("not a zone name")


def check_key(*parts: str) -> None:
    """Incident IDs, channel IDs and route keys become store keys: PagerDuty/Slack ID characters only."""
    for part in parts:
        if _KEY.fullmatch(part) is None:
            raise ValueError("not an ID")


def check_data(data: str) -> None:
    if len(data) > MAX_DATA_CHARS:
        raise ValueError(f"card data over {MAX_DATA_CHARS} characters")


def check_route(route: StoredRoute) -> None:
    check_key(route.channel)
    if not route.key or len(route.key) > 200 or len(route.spec) > MAX_ROUTE_CHARS or len(route.by) > 64:
        raise ValueError("route too long")


def decide(old: Card | None, incident_id: str, channel: str, at: float, data: str, open_: bool,
           now: float) -> Change:
    """The rule of :meth:`NotifyStore.apply`, for the backends that run it in code (memory, SQLite)."""
    if old is None or old.updated + CARD_TTL_S <= now:
        card = Card(incident_id, channel, None, at, data, 1, open_, now + POSTING_HOLD_S, now)
        return Change("post", card)
    newer = at >= old.at
    card = old
    if newer:
        card = replace(old, at=at, data=data, open=open_, version=old.version + 1, updated=now)
    if card.ts is None and card.hold_until <= now:
        return Change("post", replace(card, hold_until=now + POSTING_HOLD_S, updated=now))
    return Change("update" if newer else "stale", card)


class InMemoryNotify:
    """The :class:`NotifyStore` of :class:`~bot.store.memory.MemoryState` (one process, bounded)."""

    def __init__(self, *, max_cards: int = MAX_CARDS, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self.max_cards = max_cards
        self._lock = threading.Lock()
        self._cards: OrderedDict[tuple[str, str], Card] = OrderedDict()  # least recently changed first
        self._routes: dict[str, dict[str, StoredRoute]] = {}
        self._seen: float | None = None
        self._zones: dict[str, str] = {}

    async def apply(self, incident_id: str, channel: str, at: float, data: str, *, open: bool) -> Change:
        check_key(incident_id, channel)
        check_data(data)
        now = self._clock()
        with self._lock:
            key = (incident_id, channel)
            change = decide(self._cards.get(key), incident_id, channel, at, data, open, now)
            if change.card is not self._cards.get(key):
                self._cards.pop(key, None)
                self._cards[key] = change.card
                self._evict(now)
            return change

    async def posted(self, incident_id: str, channel: str, ts: str) -> Card | None:
        with self._lock:
            card = self._cards.get((incident_id, channel))
            if card is None:
                return None
            card = self._cards[(incident_id, channel)] = replace(card, ts=ts, hold_until=0.0)
            return card

    async def release(self, incident_id: str, channel: str) -> None:
        with self._lock:
            card = self._cards.get((incident_id, channel))
            if card is not None and card.ts is None:
                self._cards[(incident_id, channel)] = replace(card, hold_until=0.0)

    async def get(self, incident_id: str, channel: str) -> Card | None:
        with self._lock:
            card = self._cards.get((incident_id, channel))
        return card if card is not None and card.updated + CARD_TTL_S > self._clock() else None

    async def cards_of(self, incident_id: str) -> list[Card]:
        now = self._clock()
        with self._lock:
            found = [c for (i, _), c in self._cards.items() if i == incident_id and c.updated + CARD_TTL_S > now]
        return found[:MAX_CHANNEL_ROUTES]

    async def open_cards(self, limit: int = MAX_CARDS_LISTED) -> list[Card]:
        now = self._clock()
        with self._lock:
            found = [c for c in reversed(self._cards.values()) if c.open and c.updated + CARD_TTL_S > now]
        return found[:max(0, min(limit, MAX_CARDS_LISTED))]

    async def seen_until(self, at: float) -> None:
        with self._lock:
            self._seen = at if self._seen is None else max(self._seen, at)

    async def last_seen(self) -> float | None:
        return self._seen

    async def add_route(self, route: StoredRoute) -> bool:
        check_route(route)
        with self._lock:
            mine = self._routes.get(route.channel)
            if mine is None and len(self._routes) >= MAX_ROUTE_CHANNELS:
                return False
            mine = self._routes.setdefault(route.channel, {})
            if route.key not in mine and len(mine) >= MAX_CHANNEL_ROUTES:
                return False
            mine.pop(route.key, None)
            mine[route.key] = route
            return True

    async def remove_routes(self, channel: str, key: str | None = None) -> int:
        with self._lock:
            mine = self._routes.get(channel) or {}
            gone = len(mine) if key is None else int(key in mine)
            if key is None:
                mine.clear()
            else:
                mine.pop(key, None)
            if not mine:
                self._routes.pop(channel, None)
            return gone

    async def routes(self, channel: str | None = None) -> list[StoredRoute]:
        with self._lock:
            if channel is not None:
                return sorted((self._routes.get(channel) or {}).values(), key=lambda r: r.at)
            return sorted((r for mine in self._routes.values() for r in mine.values()), key=lambda r: r.at)

    async def set_zone(self, channel: str, zone: str | None) -> bool:
        check_zone(channel, zone)
        with self._lock:
            if zone is None:
                self._zones.pop(channel, None)
            elif channel not in self._zones and len(self._zones) >= MAX_ROUTE_CHANNELS:
                return False
            else:
                self._zones[channel] = zone
            return True

    async def zones(self) -> dict[str, str]:
        with self._lock:
            return dict(self._zones)

    def sizes(self) -> dict[str, int]:
        with self._lock:
            return {"cards": len(self._cards), "routes": sum(len(m) for m in self._routes.values())}

    async def aclose(self) -> None:
        return None

    def _evict(self, now: float) -> None:
        while self._cards:
            oldest = next(iter(self._cards.values()))
            if len(self._cards) <= self.max_cards and oldest.updated + CARD_TTL_S > now:
                break
            self._cards.popitem(last=False)
