"""``alex doctor``'s webhook check against the sandbox's subscriptions."""

from __future__ import annotations

import httpx2
import pytest

from bot.config import Settings
from bot.doctor.webhooks import check_webhooks
from bot.sandbox import Sandbox, build_sandbox, default_token
from tests.helpers import sandbox_transport

URL = "https://alex.example.com/pagerduty/webhooks"


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    monkeypatch.setenv("PAGERDUTY_USER_API_KEY", default_token("demo"))
    return build_sandbox("demo")


def _settings(**env: str) -> Settings:
    return Settings(_env_file=None, **env)  # type: ignore[arg-type]


async def test_not_configured_means_no_check(sandbox: Sandbox) -> None:
    assert await check_webhooks(_settings(), transport=sandbox_transport(sandbox)) == []


async def test_routes_without_secrets_fail(sandbox: Sandbox) -> None:
    [check] = await check_webhooks(_settings(ALEX_NOTIFY_ROUTES="*=C0ALL"), transport=sandbox_transport(sandbox))
    assert check.status == "fail" and "ALEX_PAGERDUTY_WEBHOOK_SECRETS" in check.message


async def test_no_subscription_fails_with_the_setup_command(sandbox: Sandbox) -> None:
    [check] = await check_webhooks(_settings(ALEX_PAGERDUTY_WEBHOOK_SECRETS="s1"),
                                   transport=sandbox_transport(sandbox))
    assert check.status == "fail" and check.fix and "alex webhooks setup" in check.fix


async def test_active_subscription_is_ok_and_disabled_fails(sandbox: Sandbox) -> None:
    sub = sandbox.webhooks.subscribe(URL)
    [check] = await check_webhooks(_settings(ALEX_PAGERDUTY_WEBHOOK_SECRETS="s1"),
                                   transport=sandbox_transport(sandbox))
    assert check.status == "ok"
    sub.temporarily_disabled = True
    [check] = await check_webhooks(_settings(ALEX_PAGERDUTY_WEBHOOK_SECRETS="s1"),
                                   transport=sandbox_transport(sandbox))
    assert check.status == "fail" and check.fix == f"`alex webhooks enable {sub.id}`"


async def test_forbidden_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGERDUTY_USER_API_KEY", "u+tokentokentoken")
    transport = httpx2.MockTransport(lambda r: httpx2.Response(403, json={"error": {"message": "no", "code": 2010}}))
    [check] = await check_webhooks(_settings(ALEX_PAGERDUTY_WEBHOOK_SECRETS="s1"), transport=transport)
    assert check.status == "warn" and "403" in check.message
