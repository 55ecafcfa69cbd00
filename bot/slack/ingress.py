"""The HTTP front door of ``POST /slack/events``: what a request must be before Bolt sees it.

In this order, each step answering before the next runs:

1. **Size**: a body over :data:`MAX_BODY_BYTES` is ``413`` (never read past the limit).
2. **Signature** (`Slack's scheme <https://docs.slack.dev/authentication/verifying-requests-from-slack/>`_),
   on the raw bytes: ``x-slack-request-timestamp`` is digits within five minutes of now and
   ``x-slack-signature`` is ``v0=`` + HMAC-SHA256 of ``v0:{timestamp}:{body}`` with the signing secret;
   anything else is ``401``. Nothing of an unauthenticated request is logged (not its body, not its
   headers): one line per refusal at most every :data:`REFUSAL_LOG_EVERY_S`, with a count.
3. **Shape**: the (now authenticated) body is UTF-8 and a JSON object, or form-encoded with a
   ``payload`` that is a JSON object; anything else is ``400``.

Every refusal is a short JSON body (``{"error": "…"}``) and no traceback, in the response or the log.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.request.async_request import AsyncBoltRequest

log = logging.getLogger("bot.slack.ingress")

MAX_BODY_BYTES = 512 * 1024
"""Slack's largest payloads (a block_actions carrying a 50-block message, form-encoded) stay well under this."""
MAX_SKEW_S = 300
"""Slack's replay window: a timestamp further than five minutes from now is refused."""
REFUSAL_LOG_EVERY_S = 60.0

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Refusal:
    """What to answer instead of dispatching: ``status`` and a body naming the problem in general terms."""

    status: int
    error: str

    def body(self) -> dict[str, str]:
        return {"error": self.error}


UNAUTHENTICATED = Refusal(401, "invalid request")
TOO_LARGE = Refusal(413, f"request body over {MAX_BODY_BYTES // 1024} KiB")
MALFORMED = Refusal(400, "malformed request body")


class SlackIngress:
    """Checks requests for ``/slack/events`` (see the module docstring); :meth:`admit` returns the Bolt
    request to dispatch, or the :class:`Refusal` to answer."""

    def __init__(self, signing_secret: str, *, clock: Callable[[], float] = time.time) -> None:
        self._secret = signing_secret.encode()
        self._clock = clock
        self._refusals: dict[str, int] = {}
        self._logged_at: float | None = None

    def admit(self, raw: bytes, headers: Mapping[str, str], query: str = "") -> AsyncBoltRequest | Refusal:
        if len(raw) > MAX_BODY_BYTES:
            return self._refuse(TOO_LARGE, "body too large")
        if not self._authentic(raw, headers):
            return self._refuse(UNAUTHENTICATED, "bad or missing signature")
        try:
            text = raw.decode("utf-8")
            if not isinstance(_parse(text, headers.get("content-type")), dict):
                raise ValueError("not a JSON object")
            return AsyncBoltRequest(body=text, query=query, headers=dict(headers))
        except (ValueError, TypeError, KeyError, AttributeError, IndexError, RecursionError):
            return self._refuse(MALFORMED, "malformed body (signed)")

    def _authentic(self, raw: bytes, headers: Mapping[str, str]) -> bool:
        timestamp = headers.get("x-slack-request-timestamp") or ""
        signature = headers.get("x-slack-signature") or ""
        if _TIMESTAMP.fullmatch(timestamp) is None or _SIGNATURE.fullmatch(signature) is None:
            return False
        if abs(self._clock() - int(timestamp)) > MAX_SKEW_S:
            return False
        expected = hmac.new(self._secret, b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
        return hmac.compare_digest("v0=" + expected, signature)

    def _refuse(self, refusal: Refusal, why: str) -> Refusal:
        # Fixed words only, and few lines: a flood of bad requests must not become a flood of log lines.
        self._refusals[why] = self._refusals.get(why, 0) + 1
        now = self._clock()
        if self._logged_at is None or now - self._logged_at >= REFUSAL_LOG_EVERY_S:
            counts = ", ".join(f"{count} × {reason}" for reason, count in sorted(self._refusals.items()))
            log.warning("refused Slack requests (%s in the last %d s or less): %s", sum(self._refusals.values()),
                        int(REFUSAL_LOG_EVERY_S), counts)
            self._refusals.clear()
            self._logged_at = now
        return refusal


def _parse(text: str, content_type: str | None) -> Any:
    """The body as Bolt will read it (:func:`slack_bolt.request.internals.parse_body`), strictly."""
    if not text:
        return None
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "application/json" or text.startswith("{"):
        return json.loads(text)
    fields = dict(parse_qsl(text, keep_blank_values=True, strict_parsing=True))
    return json.loads(fields["payload"]) if "payload" in fields else fields
