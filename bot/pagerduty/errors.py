"""Typed errors raised by :class:`bot.pagerduty.client.PagerDutyClient`.

Exception tree::

    PagerDutyError                     any failure talking to PagerDuty
    ├── AuthenticationError            401  bad/missing token (or wrong region host: US vs EU)
    ├── ForbiddenError                 403  not allowed (e.g. read-only key, missing permission)
    │   └── AbilityError               402  the account lacks an ability (plan feature)
    ├── NotFoundError                  404
    ├── InvalidInputError              400, 413  bad arguments; retrying the same request won't help
    ├── RateLimitedError               429  ``retry_after`` = seconds from ``ratelimit-reset`` (or None)
    ├── ServerError                    5xx
    ├── PagerDutyTimeout               transport read/write/pool timeout, HTTP 408, deadline exceeded
    ├── PagerDutyConnectionError       could not connect / connection dropped mid-request
    └── MalformedResponseError         2xx whose body is not the JSON we expected

Every error carries ``status`` (HTTP status or None), ``code`` (PagerDuty's numeric error code or
None), ``message``, ``errors`` (PagerDuty's detail strings, flattened), ``method`` and ``path``, and
``maybe_applied``.

``maybe_applied`` is True when a *write* may have reached PagerDuty and taken effect even though
we got no success response (timeout, dropped connection, 5xx on POST/PUT/DELETE).  The client
never blindly retries such a POST; callers must re-read the state (e.g. list the incident's notes)
before deciding to try again.

Use ``err.is_already_done`` to spot PagerDuty codes 1001 (already resolved) and 1002 (already
acknowledged), which a chat bot should phrase as a polite no-op rather than a failure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import httpx2

__all__ = [
    "ALREADY_ACKNOWLEDGED",
    "ALREADY_RESOLVED",
    "AbilityError",
    "AuthenticationError",
    "ForbiddenError",
    "InvalidInputError",
    "MalformedResponseError",
    "NotFoundError",
    "PagerDutyConnectionError",
    "PagerDutyError",
    "PagerDutyTimeout",
    "RateLimitedError",
    "ServerError",
    "error_from_response",
    "parse_ratelimit_reset",
]

ALREADY_RESOLVED = 1001
ALREADY_ACKNOWLEDGED = 1002


class PagerDutyError(Exception):
    """Base class of every error raised by the PagerDuty client."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        errors: list[str] | None = None,
        method: str | None = None,
        path: str | None = None,
        maybe_applied: bool = False,
    ) -> None:
        self.message = message
        self.status = status
        self.code = code
        self.errors: list[str] = list(errors or [])
        self.method = method
        self.path = path
        self.maybe_applied = maybe_applied
        super().__init__(self._render())

    def _render(self) -> str:
        head = "PagerDuty"
        if self.status is not None:
            head += f" {self.status}"
        text = f"{head} {self.message}"
        if self.code is not None:
            text += f" (code {self.code})"
        if self.errors:
            text += ": " + "; ".join(self.errors)
        return text

    def __str__(self) -> str:
        return self._render()

    @property
    def is_already_done(self) -> bool:
        """True for PagerDuty's "already resolved" (1001) / "already acknowledged" (1002) codes."""
        return self.code in (ALREADY_RESOLVED, ALREADY_ACKNOWLEDGED)


class AuthenticationError(PagerDutyError):
    """401: the token is invalid or missing — or it belongs to another region (EU vs US host)."""

    hint = "check the API token and the region host (https://api.eu.pagerduty.com for EU accounts)"


class ForbiddenError(PagerDutyError):
    """403: the token may not do this (e.g. a read-only key attempting a write)."""


class AbilityError(ForbiddenError):
    """402: the PagerDuty account lacks the ability (plan feature) this request needs."""


class NotFoundError(PagerDutyError):
    """404: the object does not exist (or is not visible to this token)."""


class InvalidInputError(PagerDutyError):
    """400 / 413: PagerDuty rejected the arguments; repeating the same request will not help."""


class RateLimitedError(PagerDutyError):
    """429: rate limited. ``retry_after`` is seconds until the limit resets, when PagerDuty said."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class ServerError(PagerDutyError):
    """5xx: PagerDuty failed. On a POST the action may still have been applied (``maybe_applied``)."""


class PagerDutyTimeout(PagerDutyError):
    """No answer in time. If ``maybe_applied`` is True, re-read state before trying again."""


class PagerDutyConnectionError(PagerDutyError):
    """The connection failed. ``maybe_applied`` is False when the request was never sent."""


class MalformedResponseError(PagerDutyError):
    """A successful (2xx) response whose body was not the JSON shape we expected."""


def parse_ratelimit_reset(headers: Mapping[str, str]) -> float | None:
    """Seconds until the rate limit resets, from PagerDuty's ``ratelimit-reset`` header (or None)."""
    raw = headers.get("ratelimit-reset")
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return value


def _flatten_errors(raw: object) -> list[str]:
    """PD v2 sends a list of strings; v3 schedule endpoints send ``{field: [messages]}``."""
    if raw is None:
        return []
    if isinstance(raw, str):
        return [raw] if raw else []
    if isinstance(raw, Mapping):
        out: list[str] = []
        for field, messages in raw.items():
            for text in _flatten_errors(messages):
                out.append(f"{field}: {text}")
        return out
    if isinstance(raw, list | tuple):
        flat: list[str] = []
        for item in raw:
            flat.extend(_flatten_errors(item))
        return flat
    return [str(raw)]


def _as_code(raw: object) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if isinstance(raw, str) and raw.strip().isdigit():
        return int(raw.strip())
    return None


def _parse_body(body: object) -> tuple[str | None, int | None, list[str]]:
    """Extract (message, code, errors) from PagerDuty's ``{"error": {...}}`` body, leniently."""
    if not isinstance(body, Mapping):
        return None, None, []
    error = body.get("error")
    if isinstance(error, str):
        return error or None, None, _flatten_errors(body.get("errors"))
    if not isinstance(error, Mapping):
        return None, None, _flatten_errors(body.get("errors"))
    message = error.get("message")
    return (
        message if isinstance(message, str) and message else None,
        _as_code(error.get("code")),
        _flatten_errors(error.get("errors")),
    )


def _class_for(status: int) -> type[PagerDutyError]:
    if status == 401:
        return AuthenticationError
    if status == 402:
        return AbilityError
    if status == 403:
        return ForbiddenError
    if status == 404:
        return NotFoundError
    if status in (400, 413):
        return InvalidInputError
    if status == 408:
        return PagerDutyTimeout
    if status == 429:
        return RateLimitedError
    if status >= 500:
        return ServerError
    return PagerDutyError


def error_from_response(
    response: httpx2.Response,
    *,
    method: str,
    path: str,
    maybe_applied: bool = False,
    redact: str | None = None,
) -> PagerDutyError:
    """Build the typed error for a non-2xx ``response`` (body may be missing, empty or not JSON).

    ``redact`` is a secret that must never appear in the error text; it is replaced by ``***``.
    """
    try:
        body: object = response.json() if response.content else None
    except ValueError:
        body = None
    message, code, errors = _parse_body(body)
    if message is None:
        message = response.reason_phrase or httpx2.codes.get_reason_phrase(response.status_code) or "Error"
    if redact:
        message = message.replace(redact, "***")
        errors = [e.replace(redact, "***") for e in errors]
    cls = _class_for(response.status_code)
    common: dict[str, Any] = {
        "status": response.status_code,
        "code": code,
        "errors": errors,
        "method": method,
        "path": path,
        "maybe_applied": maybe_applied,
    }
    if cls is RateLimitedError:
        return RateLimitedError(message, retry_after=parse_ratelimit_reset(response.headers), **common)
    return cls(message, **common)
