"""Plain-text pieces every text presenter shares: times, spans, windows, bullets, counts.

Times are the results' aware datetimes (already in the asker's zone) written as ``Fri 13 Mar 16:00``;
the zone is named once, at the end of a reply. Text that came from PagerDuty (titles, notes) is kept
to one line and clipped, so it cannot forge extra lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from bot.tools.results import WindowEcho

BULLET = "• "
MAX_TITLE = 100
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
ISO = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:\d{2})")


def when(moment: datetime | None) -> str:
    """``Fri 13 Mar 16:00``: the wall-clock time the result holds (``?`` for none)."""
    if moment is None:
        return "?"
    return f"{_DAYS[moment.weekday()]} {moment.day} {_MONTHS[moment.month - 1]} {moment:%H:%M}"


def span(start: datetime | None, end: datetime | None) -> str:
    """``Tue 10 Mar 07:00–15:00`` on one day, else ``Fri 13 Mar 16:00 – Sat 14 Mar 04:00``."""
    if start is None and end is None:
        return "open-ended"
    if start is not None and end is not None and start.date() == end.date():
        return f"{when(start)}–{end:%H:%M}"
    return f"{when(start) if start else 'until'} – {when(end) if end else 'open-ended'}"


def pretty_times(text: str) -> str:
    """Every ISO time in ``text`` (a proposal line) written as :func:`when` does; a time-like string that
    is no time (``2026-13-45T99:99Z`` in a note) is left as it is."""

    def pretty(match: re.Match[str]) -> str:
        try:
            return when(datetime.fromisoformat(match.group(0).replace("Z", "+00:00")))
        except ValueError:
            return match.group(0)

    return ISO.sub(pretty, text)


def said(window: WindowEcho | None) -> str:
    """A window as people said it ("next week (…)"), ``now``, ``at …``, or its span when it was given
    as times."""
    if window is None:
        return ""
    label = window.label
    if window.is_instant:
        return "now" if label == "now" else f"at {when(window.at)}"
    if not label or ISO.search(label) or re.search(r"\d{4}-\d{2}-\d{2}", label):
        return span(window.start, window.end)
    if re.match(r"(?:next|last|past|coming) \d", label):
        label = f"in the {label}"
    return f"{label} ({span(window.start, window.end)})"


def clean(value: object, limit: int = MAX_TITLE) -> str:
    """PagerDuty text as one clipped line."""
    text = " ".join(str(value or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else many or word + 's'}"


def join_and(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def bullets(lines: Iterable[str]) -> list[str]:
    return [BULLET + line for line in lines]


def more(count: int) -> list[str]:
    return [f"…and {count} more."] if count > 0 else []


def pct(value: float | None) -> str:
    return f"{value:g}%" if value is not None else "?%"
