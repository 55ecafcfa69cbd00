"""Async PagerDuty REST API v2 client. See :class:`PagerDutyClient` and :mod:`.errors`."""

from .client import DEFAULT_BASE_URL, EU_BASE_URL, PagerDutyClient
from .errors import (
    AbilityError,
    AuthenticationError,
    ForbiddenError,
    InvalidInputError,
    MalformedResponseError,
    NotFoundError,
    PagerDutyConnectionError,
    PagerDutyError,
    PagerDutyTimeout,
    RateLimitedError,
    ServerError,
)
from .pagination import MAX_OFFSET_LIMIT, Page
from .params import format_datetime
from .retry import RetryPolicy
from .schedules import ScheduleResult

__all__ = [
    "DEFAULT_BASE_URL",
    "EU_BASE_URL",
    "MAX_OFFSET_LIMIT",
    "AbilityError",
    "AuthenticationError",
    "ForbiddenError",
    "InvalidInputError",
    "MalformedResponseError",
    "NotFoundError",
    "Page",
    "PagerDutyClient",
    "PagerDutyConnectionError",
    "PagerDutyError",
    "PagerDutyTimeout",
    "RateLimitedError",
    "RetryPolicy",
    "ScheduleResult",
    "ServerError",
    "format_datetime",
]
