"""The sandbox: PagerDuty's REST API v2 over a :class:`~bot.sandbox.model.World`.

:meth:`Sandbox.dispatch` does what PagerDuty does in front of every endpoint, in this order: injected
faults, ``Authorization: Token token=`` auth (401), the per-token rate limit (960/min, 429 code 2020
with ``ratelimit-*`` headers), routing (PagerDuty's 404 shape for unknown paths), write rules
(read-only tokens 403, ``From`` required and valid on writes, read-only roles 403), then the route.
A known path with another method is a 405 with ``Allow``.
:meth:`Sandbox.transport` serves it in-process to an httpx client; :mod:`bot.sandbox.server` over HTTP.
Events a successful request staged (:attr:`Context.events`) go to :attr:`Sandbox.webhooks` afterwards,
which delivers them outside the request (:mod:`bot.sandbox.webhooks`).

``self`` links use :attr:`Sandbox.public_url` when set, else the base the request came to
(:attr:`SandboxRequest.base_url`, set by the HTTP server), else ``https://api.pagerduty.com``.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx2

from bot.sandbox.faults import Fault, FaultPlan
from bot.sandbox.http import ApiError, SandboxRequest, SandboxResponse, forbidden, invalid
from bot.sandbox.model import TokenGrant, User, World
from bot.sandbox.schedule_engine import RenderLimitError
from bot.sandbox.serialize import links_under
from bot.sandbox.webhooks import StagedEvent, Webhooks

log = logging.getLogger("bot.sandbox")

RATE_LIMIT_PER_MINUTE = 960
_TOKEN_RE = re.compile(r"^Token token=(\S+)$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(slots=True)
class Context:
    """What a route sees: the account, the token's grant and the user the request acts as."""

    world: World
    grant: TokenGrant
    token_user: User
    actor: User
    """The ``From`` user on writes that name one, else the token's user."""
    webhooks: Webhooks
    events: list[StagedEvent] = field(default_factory=list)
    """Webhook events the request caused, published only if it succeeds (``bot.sandbox.webhooks.emit_*``)."""


Handler = Callable[[Context, SandboxRequest, dict[str, str]], SandboxResponse]


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    template: str
    """The path as PagerDuty's spec writes it, e.g. ``/incidents/{id}/notes``."""
    handler: Handler
    requires_from: bool = False

    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", self.template)
        return re.compile(regex)  # used with fullmatch: "$" would also match before a final newline


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    from_email: str | None
    status: int
    route: str | None


class RateLimiter:
    """A sliding one-minute window per token, on a monotonic clock (injectable for tests)."""

    def __init__(self, per_minute: int | None, clock: Callable[[], float]) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._hits: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)

    def check(self, token: str) -> tuple[bool, dict[str, str]]:
        if self.per_minute is None:
            return True, {}
        now = self._clock()
        hits = self._hits[token]
        while hits and hits[0] <= now - 60:
            hits.popleft()
        allowed = len(hits) < self.per_minute
        if allowed:
            hits.append(now)
        reset = max(1, int(60 - (now - hits[0])) + 1) if hits else 60
        headers = {
            "ratelimit-limit": str(self.per_minute),
            "ratelimit-remaining": str(max(0, self.per_minute - len(hits))),
            "ratelimit-reset": str(reset),
        }
        return allowed, headers


class Sandbox:
    """A stateful PagerDuty emulator. Build one with :func:`bot.sandbox.build_sandbox`."""

    def __init__(self, world: World, routes: Iterable[Route], *,
                 rate_limit_per_minute: int | None = RATE_LIMIT_PER_MINUTE,
                 monotonic: Callable[[], float] = time.monotonic,
                 clock_running: bool = False,
                 public_url: str | None = None,
                 record_limit: int = 10_000) -> None:
        self.world = world
        self.faults = FaultPlan()
        self.requests: collections.deque[RecordedRequest] = collections.deque(maxlen=record_limit)
        self._routes = [(route, route.pattern()) for route in routes]
        self._limiter = RateLimiter(rate_limit_per_minute, monotonic)
        self._monotonic = monotonic
        self._started_at = monotonic()
        self._start_now = world.now
        self.clock_running = clock_running
        self.public_url = public_url
        """The base of ``self`` links, whatever base a request came to (``alex sandbox --public-url``)."""
        self.webhooks = Webhooks(world, now=lambda: self.now)
        """V3 webhook subscriptions and their deliveries (``deliver_to``, ``subscribe``, ``drain``)."""

    # -- clock ------------------------------------------------------------------------------------
    def advance(self, delta: timedelta) -> None:
        """Move the sandbox's "now" forward (tests of time-dependent behaviour)."""
        self._start_now += delta
        self.world.now += delta

    def _tick(self) -> None:
        if self.clock_running:
            self.world.now = self._start_now + timedelta(seconds=self._monotonic() - self._started_at)

    @property
    def now(self) -> datetime:
        self._tick()
        return self.world.now

    # -- dispatch ---------------------------------------------------------------------------------
    def dispatch(self, request: SandboxRequest, fault: Fault | None = None) -> SandboxResponse:
        """Answer one request exactly as PagerDuty would (fault already chosen by the caller)."""
        route_name: str | None = None
        try:
            if fault is not None and fault.status is not None:
                response = _fault_response(fault)
            elif fault is not None and fault.malformed:
                response = SandboxResponse(200, raw=b'{"incidents": [ this is not json',
                                           headers={"content-type": "application/json"})
            else:
                with links_under(self.public_url or request.base_url):
                    route_name, response = self._dispatch(request)
        except ApiError as error:
            response = SandboxResponse(error.status, error.body(), headers=dict(error.headers))
        except RenderLimitError as error:  # a route that let a too-large render through still answers 400
            response = SandboxResponse(400, invalid(str(error)).body())
        except Exception:
            log.exception("sandbox route failed: %s %s", request.method, request.path)
            response = SandboxResponse(500, {"error": {"message": "Internal Server Error", "code": 2000}})
        response.headers.setdefault("content-type", "application/json; charset=utf-8")
        self.requests.append(RecordedRequest(
            request.method, request.path, request.query, request.header("from"),
            response.status, route_name))
        return response

    def _dispatch(self, request: SandboxRequest) -> tuple[str | None, SandboxResponse]:
        self._tick()
        token = _token(request)
        grant = self.world.tokens.get(token) if token else None
        if grant is None or grant.revoked or grant.user_id not in self.world.users:
            raise ApiError(401, 2006, "Authentication failed" if grant is None or not grant.revoked
                           else "Authentication failed: this API token has been revoked")
        allowed, limit_headers = self._limiter.check(token or "")
        if not allowed:
            return None, SandboxResponse(429, {"error": {"message": "Rate Limit Exceeded", "code": 2020}},
                                         headers=limit_headers)
        route, params = self._match(request)
        token_user = self.world.users[grant.user_id]
        actor = self._actor(request, route, grant, token_user)
        ctx = Context(self.world, grant, token_user, actor, self.webhooks)
        response = route.handler(ctx, request, params)
        if request.is_write:
            self.world.touch()
        if ctx.events and response.status < 400:
            self.webhooks.publish(ctx.events)
        response.headers.update(limit_headers)
        return route.template, response

    def _match(self, request: SandboxRequest) -> tuple[Route, dict[str, str]]:
        allowed: list[str] = []
        for route, pattern in self._routes:
            found = pattern.fullmatch(request.path)
            if found is None:
                continue
            if route.method == request.method:
                return route, found.groupdict()
            allowed.append(route.method)
        if allowed:
            methods = ", ".join(dict.fromkeys(allowed))
            raise ApiError(405, 2100, "Method Not Allowed",
                           [f"{request.method} is not supported on {request.path}; allowed: {methods}"],
                           headers={"allow": methods})
        raise ApiError(404, 2100, "Not Found", [f"No route for {request.method} {request.path}"])

    def _actor(self, request: SandboxRequest, route: Route, grant: TokenGrant, token_user: User) -> User:
        if not request.is_write:
            return token_user
        if grant.read_only:
            raise forbidden("This API token is read-only: it cannot perform write actions")
        from_header = request.header("from")
        actor = token_user
        if from_header is not None:
            if not _EMAIL_RE.match(from_header.strip()):
                raise invalid('Malformed "From" header: it must be a valid email address')
            found = self.world.user_by_email(from_header)
            if found is None:
                raise invalid(f'The "From" header must be the email address of a user on this account; '
                              f"no user has {from_header.strip()}")
            actor = found
        elif route.requires_from:
            raise invalid('You must specify a user\'s email address in the "From" header to perform '
                          "this action", code=2001)
        if not actor.can_write or not token_user.can_write:
            who = actor if not actor.can_write else token_user
            raise forbidden(f"{who.name} has the {who.role} role, which cannot perform write actions")
        return actor

    # -- in-process transport ---------------------------------------------------------------------
    def transport(self, *, sleep: Callable[[float], Any] = asyncio.sleep) -> SandboxTransport:
        """An httpx transport that answers from this sandbox without any network."""
        return SandboxTransport(self, sleep)


class SandboxTransport(httpx2.AsyncBaseTransport):
    """Serve :class:`Sandbox` to ``httpx2.AsyncClient(transport=...)``; honours injected faults."""

    def __init__(self, sandbox: Sandbox, sleep: Callable[[float], Any]) -> None:
        self.sandbox = sandbox
        self._sleep = sleep

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await request.aread()
        sandbox_request = to_sandbox_request(request.method, request.url.path,
                                             request.url.params.multi_items(), request.headers.items(), body)
        latency, fault = self.sandbox.faults.take(sandbox_request)
        if latency:
            await self._sleep(latency)
        if fault is not None and fault.timeout is not None:
            if fault.timeout == "after":
                self.sandbox.dispatch(sandbox_request)
            raise httpx2.ReadTimeout("sandbox: injected timeout", request=request)
        response = self.sandbox.dispatch(sandbox_request, fault)
        return httpx2.Response(response.status, headers=response.headers, content=response.encode(),
                               request=request)


def to_sandbox_request(method: str, path: str, query: Iterable[tuple[str, str]],
                       headers: Iterable[tuple[str, str]], body: bytes, *,
                       base_url: str | None = None) -> SandboxRequest:
    grouped: dict[str, list[str]] = {}
    for key, value in query:
        grouped.setdefault(key, []).append(value)
    return SandboxRequest(method.upper(), path.rstrip("/") or "/", grouped,
                          {k.lower(): v for k, v in headers}, body, base_url)


def _token(request: SandboxRequest) -> str | None:
    found = _TOKEN_RE.match((request.header("authorization") or "").strip())
    return found.group(1) if found else None


def _fault_response(fault: Fault) -> SandboxResponse:
    status = fault.status or 500
    headers = dict(fault.headers)
    if status == 429:
        code, message = fault.code or 2020, fault.message or "Rate Limit Exceeded"
    elif status >= 500:
        code, message = fault.code or 2000, fault.message or "Internal Server Error"
    else:
        code, message = fault.code or 2001, fault.message or "Injected error"
    return SandboxResponse(status, {"error": {"message": message, "code": code}}, headers=headers)
