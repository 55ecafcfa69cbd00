"""Making text safe for Slack: escaping, broadcasts, links and times.

Everything that did not come from our own code (incident titles, notes, names, the model's prose) is
untrusted. In Slack mrkdwn only ``& < >`` are control characters, so escaping them turns ``<!channel>``,
``<@U123>`` and ``<http://evil.example|click here>`` into plain text. Links are written only for
PagerDuty URLs (``https://*.pagerduty.com``); other URLs in untrusted text are defanged
(``hxxp://evil[.]example``) so Slack does not auto-link them. Times become ``<!date^…>`` tokens so
every reader sees their own local time.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

_CONTROL = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f"  # C0 and C1 controls but tab and newline
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"  # bidi marks, embeddings, overrides and isolates
    "\u00ad\u180e\u200b-\u200d\u2060-\u2064\ufeff\ufff9-\ufffb"  # invisible: soft hyphen, zero-width…
    "\U000e0000-\U000e007f]")  # tag characters (invisible ASCII look-alikes)
_BROADCAST = re.compile(r"@(?=(?:here|channel|everyone)\b)", re.IGNORECASE)
_WORD_JOINER = "\u2060"
_URL = re.compile(r"(?i)(?:\b[a-z][a-z0-9+.-]{1,15}://|\bwww\.)[^\s<>|\"'`]+")
_TRAILING = ".,;:!?)]}*_~"
_UNSAFE_URL_CHARS = frozenset('<>|"\'` \\\t\r\n')
ISO_TIME = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DATE_FORMAT = "{date_short_pretty} {time}"


def escape(text: str) -> str:
    """``&``, ``<`` and ``>`` escaped (so no ``<…>`` token survives) and bare ``@here``/``@channel``/
    ``@everyone`` broken with a word joiner, so nothing in ``text`` can ping or link."""
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BROADCAST.sub("@" + _WORD_JOINER, out)


def strip_controls(text: str) -> str:
    """Without control (but tab and newline), bidi, zero-width and other invisible characters: they can hide,
    reorder or disguise text (``"\u202egnp.exe"`` shows as ``exe.png``)."""
    return _CONTROL.sub("", text.replace("\r\n", "\n"))


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def one_line(value: Any, limit: int | None = None) -> str:
    """``value`` as text on one line (so it cannot forge extra lines), clipped to ``limit``."""
    text = " ".join(strip_controls(str(value if value is not None else "")).split())
    return clip(text, limit) if limit else text


def is_pagerduty_url(url: Any) -> bool:
    """True only for ``https://pagerduty.com/…`` or ``https://<sub>.pagerduty.com/…`` (no credentials,
    no unusual port, nothing that could end a Slack link token)."""
    if not isinstance(url, str) or not url or len(url) > 2_000 or not url.isascii():
        return False
    if any(ch in _UNSAFE_URL_CHARS for ch in url):
        return False
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    host = parts.hostname or ""
    return (parts.scheme == "https" and parts.username is None and parts.password is None
            and port in (None, 443) and re.fullmatch(r"[a-z0-9.-]+", host) is not None
            and (host == "pagerduty.com" or host.endswith(".pagerduty.com")))


def defang(text: str) -> str:
    """Every URL in raw ``text`` that is not a PagerDuty URL made unclickable: ``hxxp://evil[.]example``."""

    def one(match: re.Match[str]) -> str:
        url = match.group(0)
        tail = ""
        while url and url[-1] in _TRAILING:
            url, tail = url[:-1], url[-1] + tail
        if is_pagerduty_url(url):
            return url + tail
        scheme, sep, rest = url.partition("://")
        if not sep:
            return url.replace(".", "[.]") + tail
        scheme = {"http": "hxxp", "https": "hxxps"}.get(scheme.lower(), scheme)
        host, slash, path = rest.partition("/")
        return f"{scheme}[://]{host.replace('.', '[.]')}{slash}{path}{tail}"

    return _URL.sub(one, text)


def untrusted(value: Any, limit: int | None = None) -> str:
    """Text from PagerDuty or elsewhere, safe inside mrkdwn: one line, clipped, links defanged, escaped."""
    return escape(defang(one_line(value, limit)))


def url_attr(url: str) -> str:
    """A (PagerDuty) URL inside a Slack token or Markdown link: ``&`` escaped as Slack asks."""
    return url.replace("&", "&amp;")


def link(url: Any, label: Any, limit: int = 150) -> str:
    """``<url|label>`` when ``url`` is a PagerDuty URL, else just the (escaped) label."""
    text = untrusted(label, limit) or "link"
    return f"<{url_attr(url)}|{text}>" if is_pagerduty_url(url) else text


def pagerduty_base(*urls: Any) -> str | None:
    """``https://acme.pagerduty.com`` from the first PagerDuty URL given."""
    for url in urls:
        if is_pagerduty_url(url):
            parts = urlsplit(url)
            return f"https://{parts.hostname}"
    return None


def parse_time(value: Any) -> datetime | None:
    """An aware datetime as it is, or from an ISO-8601 string with an offset (times in proposal lines)."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else None
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def date_token(value: Any) -> str | None:
    """``<!date^EPOCH^{date_short_pretty} {time}|Tue 10 Mar 15:00 -04:00>``: shown in each reader's zone."""
    moment = parse_time(value)
    if moment is None:
        return None
    offset = moment.strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}" if offset else ""
    fallback = f"{_DAYS[moment.weekday()]} {moment.day} {_MONTHS[moment.month - 1]} {moment:%H:%M} {offset}"
    return f"<!date^{int(moment.timestamp())}^{DATE_FORMAT}|{fallback.strip()}>"


def when(value: Any) -> str:
    """A time for mrkdwn: the date token, or the value escaped when it is not a time."""
    return date_token(value) or (untrusted(value, 40) if value else "?")


def span(start: Any, end: Any) -> str:
    if not start and not end:
        return "open-ended"
    return f"{when(start) if start else 'until'} – {when(end) if end else 'open-ended'}"


def times_in(text: str) -> str:
    """Every ISO time in already-escaped ``text`` replaced by its date token."""
    return ISO_TIME.sub(lambda m: date_token(m.group(0)) or m.group(0), text)
