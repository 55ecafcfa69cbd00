"""Retry policy: which failures are retried, and how long to wait between attempts.

Rules (PagerDuty REST API v2):

* 429 is retried for every method — PagerDuty did not process the request. The wait is the
  ``ratelimit-reset`` header (seconds until reset) when present, else exponential backoff with
  full jitter (a 429 may come without headers or body).
* A request that was never sent (connect error / connect timeout / pool timeout) is retried for
  every method (such errors carry ``maybe_applied=False``).
* 5xx, 408, read/write timeouts and connections dropped mid-request are retried only for
  idempotent methods (GET, HEAD, PUT, DELETE). A POST (notes, incidents, status updates, snooze,
  overrides…) is never retried blindly after such a failure: the error is raised with
  ``maybe_applied=True`` and the caller must re-read state before trying again.
* Attempts are bounded by ``max_attempts``, and no wait is started that would end past the
  caller's deadline (the last error is raised instead).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .errors import (
    PagerDutyConnectionError,
    PagerDutyError,
    PagerDutyTimeout,
    RateLimitedError,
    ServerError,
)

__all__ = ["IDEMPOTENT_METHODS", "SAFE_METHODS", "RetryPolicy"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
IDEMPOTENT_METHODS = SAFE_METHODS | {"PUT", "DELETE"}


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to try a request and how long to back off between attempts.

    ``max_attempts`` counts the first try (1 = never retry). Backoff before retry *n* (1-based) is
    uniform in ``[0, min(max_delay, base_delay * 2**(n-1))]`` ("full jitter"). A 429 whose
    ``ratelimit-reset`` exceeds ``max_rate_limit_wait`` is raised instead of waited out.
    """

    max_attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_rate_limit_wait: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_rate_limit_wait < 0:
            raise ValueError("delays must be >= 0")

    def backoff(self, retry_number: int, rng: random.Random) -> float:
        """Full-jitter exponential backoff before retry ``retry_number`` (1 = first retry)."""
        ceiling = min(self.max_delay, self.base_delay * (2 ** max(0, retry_number - 1)))
        return rng.uniform(0.0, ceiling)

    def should_retry(self, method: str, error: PagerDutyError) -> bool:
        """Whether ``error`` (from a ``method`` request) may be retried at all (ignoring attempts)."""
        if isinstance(error, RateLimitedError):
            return True
        if isinstance(error, PagerDutyConnectionError | PagerDutyTimeout) and not error.maybe_applied:
            return True  # never sent (connect/pool failure), or a read-only method
        if method.upper() not in IDEMPOTENT_METHODS:
            return False
        return isinstance(error, ServerError | PagerDutyTimeout | PagerDutyConnectionError)

    def wait_before_retry(self, retry_number: int, error: PagerDutyError, rng: random.Random) -> float | None:
        """Seconds to wait before retry ``retry_number``; None means "do not retry, raise"."""
        if isinstance(error, RateLimitedError) and error.retry_after is not None:
            if error.retry_after > self.max_rate_limit_wait:
                return None
            return error.retry_after
        return self.backoff(retry_number, rng)
