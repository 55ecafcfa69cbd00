"""The sandbox's ``/webhook_subscriptions`` endpoints, called by our client, against the official spec.

Like :mod:`tests.contract.test_sandbox_contract`: one scenario walks every operation through
:class:`ValidatingTransport`, then checks each operation of ``ENDPOINTS`` went through it. Errors the
spec documents for these operations (400, 404) are validated too.
"""

from __future__ import annotations

import httpx2
import pytest

from bot.pagerduty import InvalidInputError, NotFoundError, PagerDutyClient
from bot.sandbox import DEFAULT_NOW, build_sandbox, default_token
from tests.contract.openapi_contract import Contract, ValidatingTransport

ENDPOINTS: frozenset[tuple[str, str]] = frozenset({
    ("GET", "/webhook_subscriptions"), ("POST", "/webhook_subscriptions"),
    ("GET", "/webhook_subscriptions/{id}"), ("PUT", "/webhook_subscriptions/{id}"),
    ("DELETE", "/webhook_subscriptions/{id}"), ("POST", "/webhook_subscriptions/{id}/enable"),
    ("POST", "/webhook_subscriptions/{id}/ping"),
})


async def test_webhook_subscription_endpoints_speak_the_official_contract(contract: Contract) -> None:
    sandbox = build_sandbox("demo", now=DEFAULT_NOW, rate_limit_per_minute=None)
    sandbox.webhooks.deliver_to(httpx2.MockTransport(lambda request: httpx2.Response(202)))
    transport = ValidatingTransport(sandbox.transport(), contract)
    service = next(iter(sandbox.world.services.values()))
    team = next(iter(sandbox.world.teams))
    body = {"webhook_subscription": {
        "type": "webhook_subscription",
        "delivery_method": {"type": "http_delivery_method", "url": "https://alex.example/pagerduty/webhooks",
                            "custom_headers": [{"name": "X-Alex", "value": "1"}]},
        "description": "alex cards",
        "events": ["incident.triggered", "incident.acknowledged", "incident.resolved"],
        "filter": {"type": "service_reference", "id": service.id},
    }}

    async with PagerDutyClient(default_token("demo"), transport=transport) as pd:
        created = (await pd.post("/webhook_subscriptions", body))["webhook_subscription"]
        assert created["delivery_method"]["secret"]
        account = await pd.post("/webhook_subscriptions", {"webhook_subscription": {
            **body["webhook_subscription"], "filter": {"type": "account_reference"}}})
        await pd.fetch("/webhook_subscriptions", "webhook_subscriptions")
        await pd.get("/webhook_subscriptions", {"filter_type": "service", "filter_id": service.id, "total": True})
        await pd.get(f"/webhook_subscriptions/{created['id']}")
        await pd.put(f"/webhook_subscriptions/{created['id']}", {"webhook_subscription": {
            "events": ["incident.resolved"], "filter": {"type": "team_reference", "id": team}, "active": True}})
        await pd.post(f"/webhook_subscriptions/{created['id']}/ping", None)
        await pd.post(f"/webhook_subscriptions/{created['id']}/enable", None)
        with pytest.raises(InvalidInputError):
            await pd.post("/webhook_subscriptions", {"webhook_subscription": {
                **body["webhook_subscription"], "events": ["incident.exploded"]}})
        await pd.delete(f"/webhook_subscriptions/{account['webhook_subscription']['id']}")
        with pytest.raises(NotFoundError):
            await pd.get(f"/webhook_subscriptions/{account['webhook_subscription']['id']}")
    await sandbox.webhooks.drain()
    await sandbox.webhooks.aclose()

    missing = ENDPOINTS - transport.checked_paths
    assert not missing, f"endpoints not exercised through the contract check: {sorted(missing)}"
    assert not transport.violations
    assert [d.event_type for d in sandbox.webhooks.deliveries] == ["pagey.ping"]
