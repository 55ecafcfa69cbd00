"""Session-wide secrets check (reliability G1): across the WHOLE suite, no dummy secret reaches a log record
or a Slack payload. Every token the sandbox accepts and every Slack/LLM dummy the tests use is a secret here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from bot.sandbox.datasets.demo import DEMO_TOKENS
from bot.sandbox.datasets.large import LARGE_TOKENS
from tests.fakes.fake_slack import ALL_PAYLOADS

DUMMY_SECRETS = (*DEMO_TOKENS, *LARGE_TOKENS, "xoxb-test-token", "test-signing-secret",
                 "u+DUMMY-PD-TOKEN-7f3a", "xoxb-DUMMY-SLACK-1234", "DUMMY-SIGNING-SECRET-9b2c", "sk-DUMMYOPENAIKEY")


class _SecretSpotter(logging.Handler):
    """Keeps every log record, from any logger and any test, that contains a dummy secret."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.hits: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage() + (self.format(record) if record.exc_info else "")
        except Exception:  # a record that cannot format is not a leak we can see
            return
        if any(secret in text for secret in DUMMY_SECRETS):
            self.hits.append(f"{record.name}: {text[:200]}")


@pytest.fixture(scope="session", autouse=True)
def no_secret_anywhere() -> Iterator[None]:
    spotter = _SecretSpotter()
    root = logging.getLogger()
    root.addHandler(spotter)
    try:
        yield
    finally:
        root.removeHandler(spotter)
    leaked_payloads = [p[:200] for p in ALL_PAYLOADS if any(secret in p for secret in DUMMY_SECRETS)]
    assert not spotter.hits, f"dummy secrets in log records: {spotter.hits[:5]}"
    assert not leaked_payloads, f"dummy secrets in Slack payloads: {leaked_payloads[:5]}"
