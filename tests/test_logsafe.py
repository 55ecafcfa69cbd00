"""Log records through :class:`bot.logsafe.SafeRecords`: one line each, escaped, capped; tracebacks indented."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot import logsafe
from bot.logsafe import MAX_MESSAGE_CHARS, TRACEBACK_PREFIX, SafeRecords

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing through a SafeRecords-filtered handler into a string."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(SafeRecords())
    logger = logging.getLogger("tests.logsafe")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        yield logger, out
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def test_newlines_ansi_and_bidi_are_escaped_not_written(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = captured
    logger.warning("user said %s", "hi\n2001-01-01 00:00:00,000 ERROR bot.audit: forged\r\x1b[2J\u202eevil")
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert "hi\\n2001-01-01 00:00:00,000 ERROR bot.audit: forged\\r\\x1b[2J\\u202eevil" in lines[0]


def test_each_record_is_capped(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, out = captured
    logger.info("body: %s", "A" * 1_000_000)
    line = out.getvalue().rstrip("\n")
    assert "\n" not in line and len(line) < MAX_MESSAGE_CHARS + 200
    assert line.endswith("more characters not logged]")


def test_a_traceback_keeps_its_lines_each_marked_as_a_continuation(captured: tuple[logging.Logger,
                                                                                     io.StringIO]) -> None:
    logger, out = captured
    try:
        raise ValueError("bad input\n2001-01-01 00:00:00,000 ERROR bot.audit: forged")
    except ValueError:
        logger.exception("handling failed")
    first, *rest = out.getvalue().rstrip("\n").split("\n")
    assert first.endswith("handling failed") and rest
    assert all(line.startswith(TRACEBACK_PREFIX) for line in rest), rest
    assert not any(line.startswith("2001") for line in rest)


def test_install_covers_every_root_handler_once_and_hides_bolts_refused_bodies() -> None:
    root = logging.getLogger("tests.logsafe.root")
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    root.addHandler(handler)
    try:
        logsafe.install(root)
        logsafe.install(root)
        assert sum(isinstance(f, SafeRecords) for f in handler.filters) == 1
        bolt = logging.getLogger(logsafe.BOLT_VERIFICATION_LOGGER)
        record = bolt.makeRecord(bolt.name, logging.INFO, __file__, 1, "Invalid request signature detected "
                                 "(signature: x, timestamp: 0, body: SECRET-BODY)", None, None)
        assert all(f.filter(record) for f in bolt.filters)
        assert "SECRET-BODY" not in record.getMessage()
    finally:
        root.removeHandler(handler)
