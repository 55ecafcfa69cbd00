"""Which channels get which incident: the routes of ``ALEX_NOTIFY_ROUTES`` and those set from Slack.

A :class:`Route` names a target and a channel:

* a service, by name or ID (``payments-api=C0123``, ``P5SRVGG=C0123``);
* a team, by name or ID (``team:Platform=C0456``);
* ``*``, the default (``*=C0789``): incidents whose service and teams no other route names;
* from Slack also ``everything`` (every incident, whatever other routes say).

with optional filters: a least urgency (``high``) and priorities (``P1``, ``P2``). The environment's routes
share ``ALEX_NOTIFY_MIN_URGENCY`` / ``ALEX_NOTIFY_PRIORITIES``; a route set from Slack carries its own
(``@alex notify this channel about payments-api high urgency P1``). Filters decide where a card is first
posted: once a channel has an incident's card, every later change of the incident updates it.

:class:`Routing` answers for one deployment: the channels of an incident (:meth:`Routing.channels_for`) and a
channel's default service or team (:meth:`Routing.default_target`: "who's on call?" in #payments means
payments-api). The routes set from Slack live in the state store (:mod:`bot.store.notify`) and are read at
most every :data:`CACHE_S` per process.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from bot.notify.events import IncidentState
from bot.store.notify import NotifyStore, StoredRoute

if TYPE_CHECKING:
    from bot.config import Settings

log = logging.getLogger("bot.notify.routes")

Kind = Literal["service", "team", "default", "all"]
Urgency = Literal["high"]
CACHE_S = 5.0
MAX_ENV_ROUTES = 200
MAX_PRIORITIES = 10
MAX_CHANNELS = 10
"""At most this many channels get one incident's card."""
MAX_TARGET_CHARS = 100
CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,20}")
_PRIORITY = re.compile(r"[A-Za-z0-9][A-Za-z0-9 _.-]{0,29}")


@dataclass(frozen=True, slots=True)
class Route:
    kind: Kind
    target: str
    """The service's or team's name or ID as given (``*`` for the default, ``everything`` for all)."""
    channel: str
    min_urgency: Urgency | None = None
    priorities: frozenset[str] = frozenset()
    """Upper-cased priority names (``P1``); empty: any priority, or none."""
    source: Literal["env", "slack"] = "env"
    by: str | None = None
    """The Slack user who set it (routes set from Slack)."""

    @property
    def key(self) -> str:
        """What identifies the route within its channel: ``service:payments-api``, ``team:platform``."""
        return f"{self.kind}:{self.target.casefold()}" if self.kind in ("service", "team") else self.kind

    def names(self, state: IncidentState) -> bool:
        """Whether the incident is of this route's target (the filters aside)."""
        wanted = self.target.casefold()
        if self.kind == "service":
            return (state.service_id is not None and state.service_id == self.target) or (
                state.service is not None and state.service.casefold() == wanted)
        if self.kind == "team":
            return self.target in state.team_ids or any(t.casefold() == wanted for t in state.teams)
        return self.kind == "all"

    def admits(self, state: IncidentState) -> bool:
        """Whether the filters let the incident through."""
        if self.min_urgency == "high" and state.urgency != "high":
            return False
        return not self.priorities or (state.priority is not None and state.priority.upper() in self.priorities)

    @property
    def spec(self) -> str:
        """The route's target and filters as one line (stored for a route set from Slack)."""
        parts = [self.key if self.kind in ("default", "all") else f"{self.kind}:{self.target}"]
        if self.min_urgency:
            parts.append(f"urgency:{self.min_urgency}")
        if self.priorities:
            parts.append("priorities:" + ",".join(sorted(self.priorities)))
        return " ".join(parts)

    @classmethod
    def from_stored(cls, stored: StoredRoute) -> Route:
        kind_target, *filters = stored.spec.split(" ")
        kind, _, target = kind_target.partition(":")
        urgency: Urgency | None = None
        priorities: frozenset[str] = frozenset()
        for part in filters:
            name, _, value = part.partition(":")
            if name == "urgency" and value == "high":
                urgency = "high"
            elif name == "priorities":
                priorities = frozenset(p for p in value.split(",") if p)
        if kind not in ("service", "team", "all"):
            raise ValueError("not a stored route")
        return cls(kind, target or kind, stored.channel, urgency,  # type: ignore[arg-type]
                   priorities, "slack", stored.by)

    def describe(self) -> str:
        """``payments-api (high urgency, P1 or P2)`` (plain words: escape before showing them)."""
        if self.kind == "default":
            what = "every incident no other route names"
        elif self.kind == "all":
            what = "every incident"
        else:
            what = f"team {self.target}" if self.kind == "team" else self.target
        filters = []
        if self.min_urgency:
            filters.append("high urgency")
        if self.priorities:
            filters.append(" or ".join(sorted(self.priorities)))
        return what + (f" ({', '.join(filters)})" if filters else "")


class RouteError(ValueError):
    """A route alex cannot read; the message says which entry and why (routes hold no secrets)."""


def parse_routes(text: str, *, min_urgency: Urgency | None = None,
                 priorities: Iterable[str] = ()) -> list[Route]:
    """``ALEX_NOTIFY_ROUTES``: ``target=channel`` entries, comma-separated (``payments-api=C0123,
    team:Platform=C0456,*=C0789``); the filters apply to each."""
    wanted = parse_priorities(priorities)
    routes: list[Route] = []
    entries = [entry.strip() for entry in text.split(",") if entry.strip()]
    if len(entries) > MAX_ENV_ROUTES:
        raise RouteError(f"more than {MAX_ENV_ROUTES} routes")
    for number, entry in enumerate(entries, start=1):
        target, sep, channel = entry.rpartition("=")
        target, channel = target.strip(), channel.strip()
        if not sep or not target:
            raise RouteError(f"route {number} is not target=channel (e.g. payments-api=C0123)")
        if CHANNEL_ID.fullmatch(channel) is None:
            raise RouteError(f"route {number}: the channel must be a Slack channel ID (C… or G…), not a name")
        kind: Kind = "service"
        if target == "*":
            kind = "default"
        elif target.lower().startswith("team:"):
            kind, target = "team", target[5:].strip()
        elif target.lower().startswith("service:"):
            target = target[8:].strip()
        if not target or len(target) > MAX_TARGET_CHARS or any(c in target for c in "=<>\n\r\t"):
            raise RouteError(f"route {number}: the service or team name is empty, too long or not a name")
        routes.append(Route(kind, target, channel, min_urgency, wanted))
    return routes


def notify_routes(settings: Settings) -> list[Route]:
    """The routes of ``ALEX_NOTIFY_ROUTES`` with ``ALEX_NOTIFY_MIN_URGENCY`` and ``ALEX_NOTIFY_PRIORITIES``."""
    return parse_routes(settings.notify_routes, min_urgency="high" if settings.notify_min_urgency == "high" else None,
                        priorities=settings.notify_priorities.split(","))


def parse_priorities(values: Iterable[str]) -> frozenset[str]:
    found = frozenset(p.strip().upper() for p in values if p.strip())
    if len(found) > MAX_PRIORITIES or any(_PRIORITY.fullmatch(p) is None for p in found):
        raise RouteError(f"priorities must be up to {MAX_PRIORITIES} names such as P1,P2")
    return found


@dataclass(frozen=True, slots=True)
class Target:
    """A channel's default: the one service (or else the one team) its routes name."""

    kind: Literal["service", "team"]
    name: str


@dataclass
class Routing:
    """The environment's routes and the store's, for one deployment."""

    env: list[Route]
    store: NotifyStore
    clock: Callable[[], float] = time.monotonic
    receiving: bool = True
    """Whether this alex receives PagerDuty webhooks (``ALEX_PAGERDUTY_WEBHOOK_SECRETS`` is set)."""
    scheduled: str = ""
    """The scheduled posts this alex makes, as ``notifications`` shows them (``weekly-oncall, gap-warnings
    at mon 09:00``); empty: none."""
    default_zone: str = "UTC"
    """The zone of channels that chose none (``ALEX_SCHEDULED_TIMEZONE``)."""
    _cache: tuple[float, list[Route]] | None = field(default=None, init=False)

    async def slack_routes(self, *, fresh: bool = False) -> list[Route]:
        """The routes set from Slack (read from the store at most every :data:`CACHE_S`; on a store failure
        the last ones read, else none)."""
        if not fresh and self._cache is not None and self._cache[0] > self.clock():
            return self._cache[1]
        try:
            stored = await self.store.routes()
        except Exception as exc:  # StateUnavailable: routing goes on with what it knew
            log.warning("notification routes set from Slack could not be read (%s)", type(exc).__name__)
            return self._cache[1] if self._cache is not None else []
        routes = []
        for item in stored:
            try:
                routes.append(Route.from_stored(item))
            except ValueError:
                log.warning("a stored notification route of %s is unreadable: skipped", item.channel)
        self._cache = (self.clock() + CACHE_S, routes)
        return routes

    def forget(self) -> None:
        """A route changed here: read them again next time."""
        self._cache = None

    async def all_routes(self) -> list[Route]:
        return [*self.env, *await self.slack_routes()]

    async def channels_for(self, state: IncidentState) -> list[str]:
        """The channels where a change of ``state``'s incident posts its card, first route first."""
        routes = await self.all_routes()
        named = [r for r in routes if r.kind in ("service", "team") and r.names(state)]
        chosen = [r for r in named if r.admits(state)]
        chosen += [r for r in routes if r.kind == "all" and r.admits(state)]
        if not named:
            chosen += [r for r in routes if r.kind == "default" and r.admits(state)]
        return list(dict.fromkeys(r.channel for r in chosen))[:MAX_CHANNELS]

    async def of_channel(self, channel: str) -> list[Route]:
        return [r for r in await self.all_routes() if r.channel == channel]

    async def default_of(self, channel: str) -> tuple[str, str] | None:
        """:meth:`default_target` as ``(kind, name)`` (:class:`bot.slack.warroom.WarRooms`' hook)."""
        target = await self.default_target(channel)
        return None if target is None else (target.kind, target.name)

    async def default_target(self, channel: str) -> Target | None:
        """The one service the channel's routes name, else the one team; None when none or several."""
        routes = await self.of_channel(channel)
        for kind in ("service", "team"):
            targets = {r.target.casefold(): r.target for r in routes if r.kind == kind}
            if len(targets) == 1:
                return Target(kind, next(iter(targets.values())))
            if targets:
                return None
        return None
