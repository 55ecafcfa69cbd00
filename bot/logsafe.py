"""Log records that cannot forge lines or flood the log, whatever text reached them.

Anything can end up in a log message: a Slack body, a PagerDuty error, an exception's text. A raw
newline there writes a line that looks like a record of its own (``… ERROR bot.audit: …``), an ANSI
escape rewrites the terminal, and a megabyte of text becomes one megabyte-long line.
:class:`SafeRecords` is a :class:`logging.Filter` for handlers: it escapes every control character of
the final message (``\\n`` becomes the two characters ``\\n``, ESC becomes ``\\x1b``), removes
bidi and invisible format characters, and caps the message at :data:`MAX_MESSAGE_CHARS`. Tracebacks
keep their lines, each indented with ``  | `` so no line of one can pass for a new record, and are
capped at :data:`MAX_TRACEBACK_CHARS`.

:func:`install` puts it on every handler of the root logger (``alex serve``, ``alex sandbox``), and
drops the body Bolt logs for a request whose signature is wrong (:class:`NoUnauthenticatedBodies`).
"""

from __future__ import annotations

import logging
import re
import traceback

MAX_MESSAGE_CHARS = 2_000
MAX_TRACEBACK_CHARS = 8_000
TRACEBACK_PREFIX = "  | "
BOLT_VERIFICATION_LOGGER = "slack_bolt.RequestVerification"
"""Bolt's signature check logs ``body: …`` of every refused request at INFO on this logger."""

_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
    "\U000e0000-\U000e007f]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_line(text: str) -> str:
    """``text`` on one line: control characters written as escapes, invisible and bidi characters as
    ``\\u…`` (so what the log shows is what was sent)."""

    def one(match: re.Match[str]) -> str:
        char = match.group(0)
        if char in _NAMED:
            return _NAMED[char]
        code = ord(char)
        return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"

    return _UNSAFE.sub(one, text)


def cap(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [{len(text) - limit} more characters not logged]"


def safe_message(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """One line, escaped, at most ``limit`` characters (plus a note saying how much was cut)."""
    return cap(escape_line(text), limit)


def safe_traceback(text: str, limit: int = MAX_TRACEBACK_CHARS) -> str:
    """A traceback's lines, each escaped and indented with :data:`TRACEBACK_PREFIX`, capped."""
    lines = [TRACEBACK_PREFIX + escape_line(line) for line in text.splitlines()]
    return cap("\n".join(lines), limit)


class SafeRecords(logging.Filter):
    """Rewrites each record passing a handler into its escaped, capped form (never drops one)."""

    def __init__(self, max_message_chars: int = MAX_MESSAGE_CHARS,
                 max_traceback_chars: int = MAX_TRACEBACK_CHARS) -> None:
        super().__init__()
        self.max_message_chars = max_message_chars
        self.max_traceback_chars = max_traceback_chars

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_alex_safe", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string in a library must not lose the record
            message = f"{record.msg!r} (unformattable arguments)"
        record.msg = safe_message(message, self.max_message_chars)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info))
        if record.exc_text:
            record.exc_text = safe_traceback(record.exc_text, self.max_traceback_chars)
        if record.stack_info:
            record.stack_info = safe_traceback(record.stack_info, self.max_traceback_chars)
        record.__dict__["_alex_safe"] = True  # several handlers share one record: rewrite it once
        return True


class NoUnauthenticatedBodies(logging.Filter):
    """Bolt's "Invalid request signature detected (signature: …, timestamp: …, body: …)" without any of
    the request: whoever sent it is unauthenticated, so nothing of theirs is written to the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Invalid request signature"):
            record.msg = "Invalid request signature: refused (401); the request is not logged"
            record.args = None
        return True


def guard_bolt_verification() -> None:
    """Attach :class:`NoUnauthenticatedBodies` to Bolt's signature-check logger (once)."""
    logger = logging.getLogger(BOLT_VERIFICATION_LOGGER)
    if not any(isinstance(f, NoUnauthenticatedBodies) for f in logger.filters):
        logger.addFilter(NoUnauthenticatedBodies())


def install(root: logging.Logger | None = None) -> None:
    """:class:`SafeRecords` on every handler of ``root`` (default: the root logger), and Bolt's refused
    request bodies dropped. Call it after ``logging.basicConfig``; calling it again changes nothing."""
    logger = root or logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(f, SafeRecords) for f in handler.filters):
            handler.addFilter(SafeRecords())
    guard_bolt_verification()
