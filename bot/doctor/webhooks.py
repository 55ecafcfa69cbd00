"""``alex doctor``'s webhook check: a subscription delivers to alex's receiver when notifications are set up.

Runs only when ``ALEX_PAGERDUTY_WEBHOOK_SECRETS`` or ``ALEX_NOTIFY_ROUTES`` is set; otherwise it returns no
check at all (a bot without notifications needs no subscription).
"""

from __future__ import annotations

import time

import httpx2

from bot.config import Settings, pagerduty_client
from bot.doctor.report import Check
from bot.pagerduty import ForbiddenError, PagerDutyError

_SETUP = "alex webhooks setup --url https://<alex's host>/pagerduty/webhooks"


async def check_webhooks(settings: Settings, *, transport: httpx2.AsyncBaseTransport | None = None,
                         timeout_s: float = 10.0) -> list[Check]:
    """One check of the account's subscriptions to a ``/pagerduty/webhooks`` URL (none when not configured)."""
    from bot.notify import subscriptions as subs
    from bot.notify.events import WEBHOOK_PATH

    secrets = settings.webhook_secrets
    if not secrets and not settings.notify_routes.strip():
        return []
    if not secrets:
        return [Check("Webhooks", "secrets", "fail", "ALEX_NOTIFY_ROUTES is set but ALEX_PAGERDUTY_WEBHOOK_SECRETS "
                      "is not: alex refuses every delivery", f"`{_SETUP}` prints the secret to set")]
    try:
        async with pagerduty_client(settings, transport) as client:
            listing = await subs.list_subscriptions(client, deadline=time.monotonic() + timeout_s)
    except ForbiddenError:
        return [Check("Webhooks", "subscription", "warn", "this PagerDuty token may not list webhook "
                      "subscriptions (403): cannot check that PagerDuty delivers to alex")]
    except (PagerDutyError, ValueError) as exc:
        return [Check("Webhooks", "subscription", "warn", f"could not list webhook subscriptions: "
                      f"{type(exc).__name__}")]
    ours = [s for s in listing.subscriptions if s.points_at_alex]
    if not ours:
        return [Check("Webhooks", "subscription", "fail",
                      f"no webhook subscription delivers to a {WEBHOOK_PATH} URL", f"`{_SETUP}`")]
    if not any(s.enabled for s in ours):
        first = ours[0]
        return [Check("Webhooks", "subscription", "fail", f"webhook subscription {first.id} is {first.state}",
                      f"`alex webhooks enable {first.id}`")]
    live = next(s for s in ours if s.enabled)
    return [Check("Webhooks", "subscription", "ok", f"subscription {live.id} delivers to {live.url}")]
