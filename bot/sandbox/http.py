"""Transport-neutral request/response types and PagerDuty's error and paging conventions.

The same :class:`SandboxRequest` is built by the in-process httpx transport and by the HTTP server,
so every route behaves identically whichever way the sandbox is reached.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

T = TypeVar("T")

MAX_LIMIT = 100
DEFAULT_LIMIT = 25
OFFSET_CAP = 10_000
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
"""Every time the sandbox reads lies in ``[EARLIEST, LATEST)``: far from the ends of ``datetime``, so
no padding or calendar arithmetic on it can overflow, and far beyond anything a real client sends."""
MAX_TIME_CHARS = 64
MAX_ZONE_CHARS = 64
"""IANA zone names are at most about 30 characters."""


class ApiError(Exception):
    """An error answered with PagerDuty's body ``{"error": {"message", "code", "errors"}}``."""

    def __init__(self, status: int, code: int, message: str, errors: Sequence[str] = (),
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = list(errors)
        self.headers = dict(headers or {})
        """Sent with the error answer, e.g. ``Allow`` on a 405."""

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": self.message, "code": self.code}
        if self.errors:
            error["errors"] = self.errors
        return {"error": error}


def invalid(*errors: str, code: int = 2001, message: str = "Invalid Input Provided") -> ApiError:
    return ApiError(400, code, message, errors)


def not_found(what: str = "") -> ApiError:
    return ApiError(404, 2100, "Not Found", [f"{what} not found"] if what else [])


def forbidden(*errors: str) -> ApiError:
    return ApiError(403, 2010, "Access Denied", errors)


@dataclass(slots=True)
class SandboxRequest:
    method: str
    path: str
    """Path below the API base, e.g. ``/incidents/PABC123`` (no query string)."""
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    """Header names lower-cased."""
    body: bytes = b""
    base_url: str | None = None
    """Where the request came to (``scheme://host[:port]``), for ``self`` links; None: PagerDuty's own."""

    @property
    def is_write(self) -> bool:
        return self.method not in ("GET", "HEAD")

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def many(self, name: str) -> list[str]:
        """A set filter: PagerDuty spells them ``name[]``; plain ``name`` is accepted too."""
        return self.query.get(f"{name}[]", []) + self.query.get(name, [])

    def one(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def flag(self, name: str) -> bool:
        return (self.one(name) or "").lower() == "true"

    def json(self) -> Any:
        if not self.body:
            raise invalid("Request body is empty")
        try:
            return json.loads(self.body)
        except ValueError as exc:
            raise invalid("Request body is not valid JSON") from exc

    def object_body(self, root: str) -> dict[str, Any]:
        """The body's wrapped object, e.g. ``{"incident": {...}}`` -> the inner dict."""
        data = self.json()
        if not isinstance(data, dict) or not isinstance(data.get(root), dict):
            raise invalid(f"'{root}' is required and must be an object", code=2003,
                          message="Missing Arguments")
        inner: dict[str, Any] = data[root]
        return inner

    def time(self, name: str) -> datetime | None:
        """An optional time parameter: None when absent, a 400 when given but empty or malformed."""
        raw = self.one(name)
        if raw is None:
            return None
        if not raw.strip():
            raise empty_time(name)
        return parse_time(raw, name)

    def time_zone(self, default: str) -> ZoneInfo:
        return parse_zone(self.one("time_zone") or default)


@dataclass(slots=True)
class SandboxResponse:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    """Bytes sent as they are (fault injection of malformed JSON); overrides ``body``."""

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return b""
        return json.dumps(self.body, separators=(",", ":")).encode()


_OFFSET_RE = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$")


def parse_time(raw: str, name: str = "time") -> datetime:
    """Parse an ISO-8601 timestamp; one without an offset is taken as UTC (the account zone here).

    Past :data:`MAX_TIME_CHARS` or outside ``[EARLIEST, LATEST)`` it is a 400, like a malformed one."""
    code = 2004 if name == "since" else 2005 if name == "until" else 2001
    if len(raw) > MAX_TIME_CHARS:
        raise invalid(f"{name} is longer than {MAX_TIME_CHARS} characters: send an ISO-8601 date", code=code)
    text = raw.strip().replace(" ", "+") if "T" in raw else raw.strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise invalid(f"{name} is not a valid ISO-8601 date", code=code) from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo("UTC"))
    return check_time(value, name)


def empty_time(name: str) -> ApiError:
    """PagerDuty refuses a time parameter that is present but empty (``until=``) rather than ignoring it."""
    code = 2004 if name == "since" else 2005 if name == "until" else 2001
    return invalid(f"{name} is empty: send an ISO-8601 date, or leave {name} out", code=code)


def check_time(value: datetime, name: str) -> datetime:
    """``value`` when it lies in ``[EARLIEST, LATEST)``, else a 400 saying so."""
    if not EARLIEST <= value < LATEST:
        raise invalid(f"{name} must be between {EARLIEST.year} and {LATEST.year - 1}: "
                      f"{value.isoformat()} is outside the range the API accepts")
    return value


def check_span(since: datetime, until: datetime, longest: timedelta, what: str) -> None:
    """A 400 when ``since``..``until`` is longer than ``longest`` (in whole days)."""
    if until - since > longest:
        raise invalid(f"The range between since and until is over the maximum of {longest.days} days "
                      f"for {what}; it is {(until - since).days} days. Narrow it.")


def parse_zone(name: str, field_name: str = "time_zone") -> ZoneInfo:
    """An IANA zone by name, a 400 when it is unknown, malformed or longer than :data:`MAX_ZONE_CHARS`."""
    if len(name) > MAX_ZONE_CHARS:
        raise invalid(f"{field_name} is longer than {MAX_ZONE_CHARS} characters: send an IANA zone name "
                      "such as America/New_York")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: a directory such as "America"
        raise invalid(f"{field_name} '{name}' is not a valid time zone") from exc


def iso(value: datetime, tz: ZoneInfo | None = None) -> str:
    """Render like PagerDuty: seconds precision, ``Z`` in UTC, the offset in any other zone."""
    local = value.astimezone(tz or ZoneInfo("UTC")).replace(microsecond=0)
    text = local.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def paginate(request: SandboxRequest, items: Sequence[T], render: Callable[[T], Any],
             key: str, *, max_limit: int = MAX_LIMIT) -> dict[str, Any]:
    """Classic offset paging: ``limit`` (default 25, max 100), ``offset``, ``more``; ``total``
    is null unless ``total=true``. A ``limit`` below 1 and ``offset + limit`` over 10,000 are refused
    as PagerDuty does; a ``limit`` above the maximum is cut to it."""
    limit, offset = page_params(request, max_limit=max_limit)
    if offset + limit > OFFSET_CAP:
        raise ApiError(400, 2002, "Arguments Caused Error",
                       [f"Offset+limit exceeds maximum allowed value of {OFFSET_CAP}. "
                        "Try narrowing your search with filters."])
    page = items[offset:offset + limit]
    return {
        key: [render(item) for item in page],
        "limit": limit,
        "offset": offset,
        "more": offset + len(page) < len(items),
        "total": len(items) if request.flag("total") else None,
    }


def page_params(request: SandboxRequest, *, default_limit: int = DEFAULT_LIMIT,
                max_limit: int = MAX_LIMIT) -> tuple[int, int]:
    """``(limit, offset)``: a 400 when either is not an integer, ``limit`` is below 1 or ``offset`` is
    negative; ``limit`` above ``max_limit`` is cut to it."""
    limit = _int_param(request, "limit", default_limit)
    offset = _int_param(request, "offset", 0)
    if limit < 1:
        raise invalid(f"limit must be a positive integer (at most {max_limit}); got {limit}")
    if offset < 0:
        raise invalid("offset must be a non-negative integer")
    return min(limit, max_limit), offset


def _int_param(request: SandboxRequest, name: str, default: int) -> int:
    raw = request.one(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise invalid(f"{name} must be an integer") from exc
