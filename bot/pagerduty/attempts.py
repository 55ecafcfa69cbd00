"""What each try of one request got back: how a caller learns that an earlier attempt went unanswered.

A write's caller passes ``attempts=[]`` to :class:`~bot.pagerduty.client.PagerDutyClient` and reads one
:class:`Attempt` per try afterwards (retries included). After a retried idempotent PUT whose first try
timed out, "already resolved" (1001) from the retry usually means *our own* first try went through;
:func:`earlier_may_have_applied` says when that reading applies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Attempt", "earlier_may_have_applied"]


@dataclass(frozen=True, slots=True)
class Attempt:
    """One try of a request."""

    status: int | None
    """The HTTP status PagerDuty answered; None when no answer came (timeout, dropped connection)."""
    code: int | None = None
    """PagerDuty's error code (``1001`` already resolved…), when it answered with an error body."""
    sent: bool = True
    """False when the request never left (connect error, pool timeout): it cannot have applied."""
    may_have_applied: bool = False
    """A write that failed in a way PagerDuty may still have applied (no answer, 5xx, 408)."""

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def label(self) -> str:
        """For the audit log: ``2xx``, ``400``, ``503``, ``no response`` or ``not sent``."""
        if self.ok:
            return "2xx"
        if self.status is not None:
            return str(self.status)
        return "no response" if self.sent else "not sent"


def earlier_may_have_applied(attempts: Sequence[Attempt]) -> bool:
    """Whether a try before the last one may have been applied by PagerDuty without confirming it."""
    return any(attempt.may_have_applied for attempt in attempts[:-1])
