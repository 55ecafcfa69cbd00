"""G2. Startup with a missing or blank required secret fails fast, naming the variable, never a value."""

from __future__ import annotations

import argparse
import io
from typing import Any

import pytest

from bot.slack.serve import serve

VALUES = {"PAGERDUTY_USER_API_KEY": "pd-dummy-g2-value", "SLACK_SIGNING_SECRET": "sign-dummy-g2-value",
          "OPENAI_API_KEY": "sk-dummy-g2-value"}


@pytest.mark.parametrize("blank", ["", "   "])
async def test_G2_missing_or_blank_secret_names_the_variable_never_a_value(monkeypatch: pytest.MonkeyPatch,
                                                                           tmp_path: Any, blank: str) -> None:
    monkeypatch.chdir(tmp_path)  # no .env
    for name, value in VALUES.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SLACK_BOT_TOKEN", blank)
    monkeypatch.delenv("SLACK_APP_TOKEN", raising=False)
    err = io.StringIO()
    args = argparse.Namespace(sandbox=False, dataset="demo", now=None, as_email=None)
    assert await serve(args, err) != 0
    text = err.getvalue()
    assert "SLACK_BOT_TOKEN" in text
    assert not [v for v in VALUES.values() if v in text]
