"""Argument types shared by the ``alex`` subcommands."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime


def aware_time(text: str) -> datetime:
    """``--now``: an ISO-8601 instant with an offset (``2026-03-10T14:00:00Z``), as UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO-8601 time, e.g. 2026-03-10T14:00:00Z") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a UTC offset, e.g. 2026-03-10T14:00:00Z")
    return value.astimezone(UTC)
