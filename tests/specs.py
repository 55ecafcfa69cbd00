"""The third-party spec files the contract and Block Kit tests need, and what a test does without one.

They are not in the repository (third-party data): tests find them through an environment variable or in
``../shared/specs`` next to the checkout. Without a file a test **skips**, naming the file, the variable
and where to get it, so a fresh clone's ``make test`` says exactly what it did not check. CI has the files:
``.ci/run`` sets ``ALEX_REQUIRE_SPECS=1``, which turns every such skip into a **failure**.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_ENV = "ALEX_REQUIRE_SPECS"

BLOCK_KIT = ("slack-block-kit.schema.json not found: set SLACK_SPECS_DIR to the folder holding it, or put shared/specs "
             "next to the repository (the Slack Block Kit JSON Schema, https://tightknit.com/schemas/"
             "slack-block-kit.schema.json, MIT licensed)")
WEB_METHODS = ("slack-web-methods.json not found: set SLACK_SPECS_DIR to the folder holding it, or put shared/specs "
               "next to the repository (Slack's Web API method list from github.com/smstoslack/slack_kit, "
               "priv/docs/methods, MIT licensed)")


def required() -> bool:
    """True where the spec files must be present (CI)."""
    return os.environ.get(REQUIRE_ENV) == "1"


def missing(message: str) -> NoReturn:
    """Skip the calling test with ``message``, or fail it where the specs are required."""
    if required():
        pytest.fail(f"{message}. {REQUIRE_ENV}=1 (CI) requires every spec file.", pytrace=False)
    pytest.skip(message)
