"""``X-PagerDuty-Signature``: how a V3 delivery proves it comes from PagerDuty.

PagerDuty signs the raw body with each of the subscription's secrets: ``v1=`` and the hex HMAC-SHA256, and
during a secret rotation several, comma-separated (``v1=ab…,v1=cd…``). A delivery is authentic when one of
its ``v1`` signatures is the HMAC of the body with one of alex's secrets (``ALEX_PAGERDUTY_WEBHOOK_SECRETS``,
comma-separated too, so old and new both verify while PagerDuty rotates). Every comparison is constant-time
(:func:`hmac.compare_digest`) and all of them are made, found or not.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from typing import Literal

HEADER = "X-PagerDuty-Signature"
MAX_SIGNATURES = 8
"""More than a rotation ever needs; a longer header is malformed."""
MAX_HEADER_CHARS = 1_000
_PART = re.compile(r"(v[0-9]{1,3})=([0-9A-Za-z]{1,128})")
_V1 = re.compile(r"[0-9a-f]{64}")

Verdict = Literal["ok", "malformed", "forged"]


def signatures(header: str | None) -> list[str] | None:
    """The header's ``v1`` signatures (lower-case hex); None when it is missing or malformed. A header with
    only other versions gives ``[]`` (well-formed, but nothing alex can check)."""
    if not header or len(header) > MAX_HEADER_CHARS:
        return None
    parts = [part.strip() for part in header.split(",")]
    if len(parts) > MAX_SIGNATURES:
        return None
    found: list[str] = []
    for part in parts:
        match = _PART.fullmatch(part)
        if match is None:
            return None
        version, value = match.groups()
        if version == "v1":
            if _V1.fullmatch(value.lower()) is None:
                return None
            found.append(value.lower())
    return found


def sign(body: bytes, secret: str) -> str:
    """``v1=<hex>``: the signature PagerDuty sends for ``body`` with ``secret`` (tests and the benchmark)."""
    return "v1=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(body: bytes, header: str | None, secrets: Sequence[str]) -> Verdict:
    """``ok`` when a signature of ``header`` is ``body``'s HMAC with one of ``secrets``; ``malformed`` when the
    header is missing or unreadable; ``forged`` otherwise (no secret configured included)."""
    given = signatures(header)
    if given is None:
        return "malformed"
    valid = False
    for secret in secrets:
        expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
        for signature in given:
            valid |= hmac.compare_digest(expected, signature)
    return "ok" if valid else "forged"
