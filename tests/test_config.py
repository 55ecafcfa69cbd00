"""Settings come from the environment; secrets never show; a missing key names the variable."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import ValidationError
from slack_sdk.web.async_client import AsyncWebClient

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


@pytest.mark.parametrize(("given", "used"), [
    ("https://slack.com/api/", "https://slack.com/api/"),
    ("https://slack.com/api", "https://slack.com/api/"),
    ("https://slack-gov.com", "https://slack-gov.com/api/"),
    ("https://slack-gov.com/", "https://slack-gov.com/api/"),
    (" https://slack.com/api// ", "https://slack.com/api/"),
    ("http://127.0.0.1:8080/proxy/slack/", "http://127.0.0.1:8080/proxy/slack/api/"),
])
def test_slack_api_url_gets_its_api_suffix(given: str, used: str) -> None:
    assert Settings(_env_file=None, SLACK_API_URL=given).slack_api_url == used


@pytest.mark.parametrize("wrong", ["slack.com/api", "ftp://slack.com/api/", "https:///api/", "https://x/api/?a=1"])
def test_a_slack_api_url_that_is_no_url_is_refused_by_name(wrong: str) -> None:
    with pytest.raises(ValidationError, match="SLACK_API_URL") as raised:
        Settings(_env_file=None, SLACK_API_URL=wrong)
    assert "e.g. https://slack.com/api/" in str(raised.value)


class _SlackRoot(BaseHTTPRequestHandler):
    """Like slack.com: the Web API answers under /api/ only (anything else is a 404 page)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length") or 0))
        found = self.path.split("?")[0] == "/api/auth.test"
        body = b'{"ok": true, "user_id": "UALEX", "team": "Acme"}' if found else b"<html>not found</html>"
        self.send_response(200 if found else 404)
        self.send_header("content-type", "application/json" if found else "text/html")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def slack_root() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _SlackRoot)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("suffix", ["", "/", "/api", "/api//"])
async def test_a_slack_api_url_without_the_api_suffix_still_reaches_the_web_api(slack_root: str, suffix: str) -> None:
    settings = Settings(_env_file=None, SLACK_API_URL=slack_root + suffix)
    response = await AsyncWebClient(token="xoxb-test", base_url=settings.slack_api_url).auth_test()
    assert response["user_id"] == "UALEX"
