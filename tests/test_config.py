"""Settings come from the environment; secrets never show; a missing key names the variable."""

from __future__ import annotations

import pytest

from bot.config import MissingSettingError, Settings, pagerduty_client
from bot.pagerduty import EU_BASE_URL
from tests.helpers import sandbox_transport
from tests.sandbox.tiny_world import MANAGER_TOKEN


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAGERDUTY_USER_API_KEY", raising=False)
    with pytest.raises(MissingSettingError, match="PAGERDUTY_USER_API_KEY"):
        pagerduty_client(Settings(_env_file=None))


def test_eu_host_and_secret_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGERDUTY_USER_API_KEY", "u+VERY-SECRET-1")
    monkeypatch.setenv("PAGERDUTY_API_URL", EU_BASE_URL)
    settings = Settings(_env_file=None)
    assert settings.pagerduty_api_url == EU_BASE_URL
    assert "VERY-SECRET" not in repr(settings) and "VERY-SECRET" not in str(settings.model_dump())


async def test_client_from_settings_talks_to_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.sandbox.app import Sandbox
    from bot.sandbox.routes import ALL_ROUTES
    from tests.sandbox.tiny_world import tiny_world

    monkeypatch.setenv("PAGERDUTY_USER_API_KEY", MANAGER_TOKEN)
    sandbox = Sandbox(tiny_world(), ALL_ROUTES)
    async with pagerduty_client(Settings(_env_file=None), transport=sandbox_transport(sandbox)) as pd:
        assert (await pd.me())["email"] == "mia@example.com"
