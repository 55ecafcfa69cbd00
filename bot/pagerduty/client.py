"""Async PagerDuty REST API v2 client (retries, deadlines, typed errors, pagination)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from types import TracebackType
from typing import Any, Literal

import httpx2
from pydantic import SecretStr

from . import pagination, schedules
from .attempts import Attempt
from .errors import (
    MalformedResponseError,
    PagerDutyConnectionError,
    PagerDutyError,
    PagerDutyTimeout,
    error_from_response,
)
from .pagination import Page
from .params import QueryParams, encode_params
from .retry import SAFE_METHODS, RetryPolicy
from .schedules import ScheduleResult

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_RETRY", "DEFAULT_TIMEOUT", "EU_BASE_URL", "PagerDutyClient"]

logger = logging.getLogger("bot.pagerduty")

DEFAULT_BASE_URL = "https://api.pagerduty.com"
EU_BASE_URL = "https://api.eu.pagerduty.com"
DEFAULT_TIMEOUT = httpx2.Timeout(10.0, connect=3.0)
DEFAULT_RETRY = RetryPolicy()
ACCEPT = "application/vnd.pagerduty+json;version=2"
USER_AGENT = f"alex-pagerduty-bot/0.1 httpx2/{httpx2.__version__}"

_NO_BODY: Any = None
_LOOPBACK_NAMES = {"localhost"}
_NEVER_SENT = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)
_LOGGED_SEGMENT = re.compile(r"[a-z_]{1,40}|v\d|[A-Z0-9]{1,32}")
"""Path segments logged as they are: resource names and PagerDuty IDs; anything else (a name a person
typed, say) is logged as ``{…}``."""


def _auth_header(token: str | SecretStr, auth_type: str) -> tuple[SecretStr, str]:
    secret = token if isinstance(token, SecretStr) else SecretStr(token)
    value = secret.get_secret_value()
    if not value or any(not (0x21 <= ord(ch) <= 0x7E) for ch in value):
        raise ValueError("invalid PagerDuty token: empty or contains whitespace/non-printable characters")
    if auth_type == "token":
        return secret, f"Token token={value}"
    if auth_type == "bearer":
        return secret, f"Bearer {value}"
    raise ValueError("auth_type must be 'token' or 'bearer'")


def _check_base_url(base_url: str, has_transport: bool) -> str:
    url = httpx2.URL(base_url)
    if url.scheme == "https":
        return base_url
    if url.scheme == "http":
        host = url.host
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = host in _LOOPBACK_NAMES
        if loopback or has_transport:
            return base_url
    raise ValueError("base_url must be https:// (plain http only for loopback hosts or injected transports)")


def _check_path(path: str) -> None:
    if not path.startswith("/") or path.startswith("//"):
        raise ValueError("path must be relative to base_url and start with a single '/'")
    if any(ch in path for ch in "?# \t\r\n") or "/../" in f"{path}/" or "/./" in f"{path}/":
        raise ValueError("path must not contain a query, fragment, whitespace or dot segments")


def _check_email(email: str) -> str:
    local, sep, domain = email.partition("@")
    if not sep or not local or "." not in domain or any(ch.isspace() or ord(ch) < 0x20 for ch in email):
        raise ValueError("from_email must be the acting PagerDuty user's e-mail address")
    return email


class PagerDutyClient:
    """Async client for the PagerDuty REST API v2 (``api.pagerduty.com`` / ``api.eu.pagerduty.com``).

    The token only lives in a private attribute and the ``Authorization`` header; it is never
    logged, never part of ``repr()`` and never part of an error text. Writes take ``from_email``:
    the e-mail of the *acting person* (sent as ``From``), never a fixed bot address.

    ``sleep``, ``clock`` and ``rng`` are injectable for tests. ``deadline`` arguments are absolute
    times on ``clock()``: no request, retry or wait is started past them, and each request's
    timeout is shortened to the remaining time.

    Errors are :mod:`bot.pagerduty.errors` types. A failed POST is never retried blindly after a
    timeout / 5xx / dropped connection: the error has ``maybe_applied=True`` and the caller must
    re-read PagerDuty's state before trying again. Writes take ``attempts``: a list the client fills
    with one :class:`~bot.pagerduty.attempts.Attempt` per try, so the caller knows when an earlier
    try went unanswered (and may have been applied) before the answer it got.

    Every failed request is logged once at WARNING on ``bot.pagerduty``: method, path (IDs only),
    status, PagerDuty's error code and the attempt; never the token, a body or query values.
    """

    def __init__(
        self,
        token: str | SecretStr,
        *,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx2.AsyncBaseTransport | None = None,
        timeout: httpx2.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        auth_type: Literal["token", "bearer"] = "token",
        user_agent: str = USER_AGENT,
    ) -> None:
        self._token, authorization = _auth_header(token, auth_type)
        self._base_url = _check_base_url(base_url, transport is not None)
        self._timeout = timeout
        self._retry = retry
        self._sleep = sleep
        self._clock = clock
        self._rng = rng if rng is not None else random.Random()
        self.requests_sent = 0
        """HTTP requests sent so far, retries included (what a turn reports as PD requests)."""
        self._http = httpx2.AsyncClient(
            base_url=self._base_url,
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            headers={"Authorization": authorization, "Accept": ACCEPT, "User-Agent": user_agent},
        )

    def __repr__(self) -> str:
        return f"PagerDutyClient(base_url={self._base_url!r})"

    @property
    def base_url(self) -> str:
        """The API host this client talks to."""
        return self._base_url

    async def __aenter__(self) -> PagerDutyClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the underlying connection pool."""
        await self._http.aclose()

    # ------------------------------------------------------------------ HTTP verbs

    async def get(
        self, path: str, params: QueryParams | None = None, *, deadline: float | None = None
    ) -> dict[str, Any]:
        """GET ``path`` and return the JSON object (retried on 429/5xx/408/timeouts)."""
        body = await self._call("GET", path, params=params, deadline=deadline)
        if not isinstance(body, dict):
            raise MalformedResponseError("expected a JSON object", status=200, method="GET", path=path)
        return body

    async def post(
        self,
        path: str,
        json: Any,
        *,
        from_email: str | None = None,
        deadline: float | None = None,
        attempts: list[Attempt] | None = None,
    ) -> Any:
        """POST ``json``; returns the decoded body (None if empty). Not retried when it may have applied."""
        return await self._call(
            "POST", path, json=json, from_email=from_email, deadline=deadline, attempts=attempts
        )

    async def put(
        self,
        path: str,
        json: Any,
        *,
        from_email: str | None = None,
        deadline: float | None = None,
        attempts: list[Attempt] | None = None,
    ) -> Any:
        """PUT ``json`` (idempotent: retried on 5xx/timeouts too); returns the decoded body or None."""
        return await self._call(
            "PUT", path, json=json, from_email=from_email, deadline=deadline, attempts=attempts
        )

    async def delete(
        self,
        path: str,
        *,
        from_email: str | None = None,
        deadline: float | None = None,
        attempts: list[Attempt] | None = None,
    ) -> Any | None:
        """DELETE ``path``; returns None on 204 / empty body, else the decoded body (e.g. 200)."""
        return await self._call("DELETE", path, from_email=from_email, deadline=deadline, attempts=attempts)

    # ------------------------------------------------------------------ pagination

    def iter_pages(
        self,
        path: str,
        key: str,
        params: QueryParams | None = None,
        *,
        page_size: int = 100,
        deadline: float | None = None,
    ) -> AsyncIterator[Any]:
        """Iterate every item of ``body[key]`` over offset pages (stops at the 10,000 cap)."""
        return pagination.iter_pages(self.get, path, key, params, page_size=page_size, deadline=deadline)

    async def fetch(
        self,
        path: str,
        key: str,
        params: QueryParams | None = None,
        *,
        max_items: int = 1000,
        page_size: int = 100,
        deadline: float | None = None,
        concurrent: bool = False,
    ) -> Page:
        """Collect up to ``max_items`` items into a :class:`Page` (``concurrent`` fetches pages 2..n
        in parallel, at most 4 at a time, after asking page 1 for ``total``)."""
        return await pagination.fetch(
            self.get,
            path,
            key,
            params,
            max_items=max_items,
            page_size=page_size,
            deadline=deadline,
            concurrent=concurrent,
        )

    # ------------------------------------------------------------------ conveniences

    async def me(self, *, deadline: float | None = None) -> dict[str, Any]:
        """``GET /users/me`` → the user object (only works with user-level tokens; else 400/403)."""
        body = await self.get("/users/me", deadline=deadline)
        user = body.get("user")
        if not isinstance(user, dict):
            raise MalformedResponseError(
                "response has no 'user' object", status=200, method="GET", path="/users/me"
            )
        return user

    async def get_schedule(
        self,
        schedule_id: str,
        since: datetime,
        until: datetime,
        time_zone: str | None = None,
        *,
        deadline: float | None = None,
    ) -> ScheduleResult:
        """Fetch a schedule of either kind: v3 first (with final_schedule), v2 on 404/400."""
        return await schedules.get_schedule(self.get, schedule_id, since, until, time_zone, deadline=deadline)

    # ------------------------------------------------------------------ internals

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: QueryParams | None = None,
        json: Any = _NO_BODY,
        from_email: str | None = None,
        deadline: float | None = None,
        attempts: list[Attempt] | None = None,
    ) -> Any:
        response = await self._send(method, path, params, json, from_email, deadline, attempts)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise MalformedResponseError(
                "response body is not valid JSON",
                status=response.status_code,
                method=method,
                path=path,
                maybe_applied=method not in SAFE_METHODS,
            ) from exc

    async def _send(
        self,
        method: str,
        path: str,
        params: QueryParams | None,
        json: Any,
        from_email: str | None,
        deadline: float | None,
        attempts: list[Attempt] | None = None,
    ) -> httpx2.Response:
        _check_path(path)
        headers: dict[str, str] = {}
        if from_email is not None:
            headers["From"] = _check_email(from_email)
        if method in ("POST", "PUT"):
            headers["Content-Type"] = "application/json"
        query = httpx2.QueryParams(tuple(encode_params(params)))
        policy = self._retry
        last_error: PagerDutyError | None = None
        attempt = 0
        while True:
            attempt += 1
            timeout = self._timeout_within(deadline, method, path, last_error)
            started = self._clock()
            self.requests_sent += 1
            try:
                # The deadline holds even where a transport does not honour httpx timeouts.
                async with asyncio.timeout(None if deadline is None else deadline - started):
                    response = await self._http.request(
                        method, path, params=query, json=json, headers=headers, timeout=timeout
                    )
            except httpx2.HTTPError as exc:
                error = self._transport_error(exc, method, path)
                error.__cause__ = exc
                outcome: str = type(exc).__name__
            except TimeoutError as exc:
                error = self._deadline_error(method, path)
                error.__cause__ = exc
                outcome = "DeadlineExceeded"
            else:
                outcome = str(response.status_code)
                if response.is_success:
                    self._log(method, path, outcome, attempt, started)
                    if attempts is not None:
                        attempts.append(Attempt(response.status_code))
                    return response
                error = error_from_response(
                    response,
                    method=method,
                    path=path,
                    maybe_applied=method not in SAFE_METHODS
                    and (response.status_code >= 500 or response.status_code == 408),
                    redact=self._token.get_secret_value(),
                )
            self._log(method, path, outcome, attempt, started, error)
            if attempts is not None:
                never_sent = isinstance(error.__cause__, _NEVER_SENT)
                attempts.append(Attempt(error.status, error.code, sent=not never_sent,
                                        may_have_applied=error.maybe_applied))
            last_error = error
            if attempt >= policy.max_attempts or not policy.should_retry(method, error):
                raise error
            wait = policy.wait_before_retry(attempt, error, self._rng)
            if wait is None or (deadline is not None and self._clock() + wait >= deadline):
                raise error
            logger.debug("PagerDuty %s %s: retrying in %.2fs after %s", method, _loggable(path), wait, outcome)
            await self._sleep(wait)

    def _timeout_within(
        self, deadline: float | None, method: str, path: str, last_error: PagerDutyError | None
    ) -> httpx2.Timeout:
        if deadline is None:
            return self._timeout
        remaining = deadline - self._clock()
        if remaining <= 0:
            if last_error is not None:
                raise last_error
            raise PagerDutyTimeout("deadline passed before the request was sent", method=method, path=path)

        def fit(value: float | None) -> float:
            return remaining if value is None else min(value, remaining)

        t = self._timeout
        return httpx2.Timeout(connect=fit(t.connect), read=fit(t.read), write=fit(t.write), pool=fit(t.pool))

    @staticmethod
    def _deadline_error(method: str, path: str) -> PagerDutyError:
        maybe = method not in SAFE_METHODS
        note = "; it may have been applied: re-read state before retrying" if maybe else ""
        return PagerDutyTimeout(
            f"no answer before the deadline for {method} {path}{note}", method=method, path=path, maybe_applied=maybe
        )

    @staticmethod
    def _transport_error(exc: httpx2.HTTPError, method: str, path: str) -> PagerDutyError:
        kind = type(exc).__name__
        never_sent = isinstance(exc, _NEVER_SENT)
        maybe = not never_sent and method not in SAFE_METHODS
        note = "; it may have been applied: re-read state before retrying" if maybe else ""
        common: dict[str, Any] = {"method": method, "path": path, "maybe_applied": maybe}
        if isinstance(exc, httpx2.ConnectError | httpx2.ConnectTimeout):
            return PagerDutyConnectionError(f"could not connect ({kind}) for {method} {path}", **common)
        if isinstance(exc, httpx2.TimeoutException):
            return PagerDutyTimeout(f"request timed out ({kind}) for {method} {path}{note}", **common)
        if isinstance(exc, httpx2.DecodingError):
            return MalformedResponseError(f"could not decode the response ({kind})", **common)
        return PagerDutyConnectionError(f"connection failed ({kind}) for {method} {path}{note}", **common)

    def _log(
        self, method: str, path: str, outcome: str, attempt: int, started: float, error: PagerDutyError | None = None
    ) -> None:
        elapsed = self._clock() - started
        if error is None:
            logger.debug(
                "PagerDuty %s %s -> %s (attempt %d/%d, %.3fs)",
                method, _loggable(path), outcome, attempt, self._retry.max_attempts, elapsed,
            )
            return
        logger.warning(
            "PagerDuty %s %s -> %s (attempt %d/%d, code %s, %.3fs)",
            method, _loggable(path), outcome, attempt, self._retry.max_attempts,
            error.code if error.code is not None else "-", elapsed,
        )


def _loggable(path: str) -> str:
    """``path`` with only resource names and IDs kept (``/schedules/{…}`` for a typed name)."""
    return "/".join(part if not part or _LOGGED_SEGMENT.fullmatch(part) else "{…}" for part in path.split("/"))
