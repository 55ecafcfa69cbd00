"""V3 webhook subscriptions: ``/webhook_subscriptions`` list, create, get, update, delete, enable and ping.

As PagerDuty's OpenAPI document describes them: create answers 200 and is the only answer that carries
``delivery_method.secret`` (null everywhere else); custom header values read back as ``-- redacted --``;
an update may change ``description``, ``events``, ``filter`` and ``active`` but never ``delivery_method``;
delete answers 204, ping 202 (it queues a ``pagey.ping``), enable lifts a temporary disablement. The list
takes ``filter_type`` (account, service, team) with ``filter_id`` and classic paging.

The subscriptions and their deliveries live in :class:`~bot.sandbox.webhooks.Webhooks`; bounds (the
sandbox's): URLs up to 2,048 characters, descriptions up to 1,024, at most 10 custom headers, at most
100 subscriptions.
"""

from __future__ import annotations

import re
from typing import Any

from bot.sandbox.app import Context, Route
from bot.sandbox.http import ApiError, SandboxRequest, SandboxResponse, invalid, not_found, paginate
from bot.sandbox.webhooks import FILTER_TYPES, FilterType, Subscription

URL_MAX_CHARS = 2048
DESCRIPTION_MAX_CHARS = 1024
CUSTOM_HEADERS_MAX = 10
HEADER_VALUE_MAX_CHARS = 1024
REDACTED = "-- redacted --"
_HEADER_NAME_RE = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$")
_RESERVED_HEADERS = frozenset({
    "content-type", "content-length", "host", "user-agent", "connection", "transfer-encoding",
    "x-pagerduty-signature", "x-webhook-id", "x-webhook-subscription",
})
"""Headers the delivery itself sets: a custom header may not replace them."""
_LIST_FILTERS = {"account": "account_reference", "service": "service_reference", "team": "team_reference"}


def render_subscription(sub: Subscription, *, reveal_secret: bool = False) -> dict[str, Any]:
    filter_body: dict[str, Any] = {"type": sub.filter_type}
    if sub.filter_id is not None:
        filter_body["id"] = sub.filter_id
    return {
        "id": sub.id,
        "type": "webhook_subscription",
        "active": sub.active,
        "delivery_method": {
            "id": sub.delivery_method_id,
            "secret": sub.secret if reveal_secret else None,
            "temporarily_disabled": sub.temporarily_disabled,
            "type": "http_delivery_method",
            "url": sub.url,
            "custom_headers": [{"name": name, "value": REDACTED} for name, _ in sub.custom_headers],
        },
        "description": sub.description,
        "events": list(sub.events),
        "filter": filter_body,
    }


def list_subscriptions(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``GET /webhook_subscriptions``: optionally only those with one filter (``filter_type``/``filter_id``)."""
    wanted_type, wanted_id = req.one("filter_type"), req.one("filter_id")
    if wanted_type is not None and wanted_type not in _LIST_FILTERS:
        raise invalid("filter_type must be account, service or team")
    if wanted_type in ("service", "team") and not wanted_id:
        raise invalid(f"filter_id is required when filter_type is {wanted_type}")
    subs = [s for s in ctx.webhooks.subscriptions.values()
            if (wanted_type is None or s.filter_type == _LIST_FILTERS[wanted_type])
            and (wanted_id is None or wanted_type == "account" or s.filter_id == wanted_id)]
    return SandboxResponse(200, paginate(req, subs, render_subscription, "webhook_subscriptions"))


def create_subscription(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``POST /webhook_subscriptions``: the answer is the only time the signing secret is shown."""
    data = req.object_body("webhook_subscription")
    missing = [name for name in ("type", "delivery_method", "events", "filter") if data.get(name) in (None, "")]
    if missing:
        raise invalid(*(f"{name} is required" for name in missing), code=2003, message="Missing Arguments")
    if data["type"] != "webhook_subscription":
        raise invalid("type must be 'webhook_subscription'")
    _no_oauth_client(data)
    method = data["delivery_method"]
    if not isinstance(method, dict):
        raise invalid("delivery_method must be an object with a type and a url")
    if method.get("type", "http_delivery_method") != "http_delivery_method":
        raise invalid("delivery_method.type must be 'http_delivery_method'")
    url = method.get("url")
    if not isinstance(url, str) or not url.strip():
        raise invalid("delivery_method.url is required", code=2003, message="Missing Arguments")
    if len(url) > URL_MAX_CHARS:
        raise invalid(f"delivery_method.url is longer than {URL_MAX_CHARS} characters")
    filter_type, filter_id = _filter(data["filter"])
    _check_scope(ctx, filter_type, filter_id)
    try:
        sub = ctx.webhooks.subscribe(
            url.strip(), events=_events(data["events"]), filter_type=filter_type, filter_id=filter_id,
            description=_description(data.get("description", "")),
            custom_headers=_custom_headers(method.get("custom_headers", [])), active=_active(data, True))
    except ValueError as error:
        raise invalid(str(error)) from error
    return SandboxResponse(200, {"webhook_subscription": render_subscription(sub, reveal_secret=True)})


def get_subscription(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    return SandboxResponse(200, {"webhook_subscription": render_subscription(_find(ctx, params["id"]))})


def update_subscription(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``PUT /webhook_subscriptions/{id}``: description, events, filter and active; not delivery_method."""
    sub = _find(ctx, params["id"])
    data = req.object_body("webhook_subscription")
    if "delivery_method" in data:
        raise invalid("delivery_method cannot be updated: delete the subscription and create a new one")
    _no_oauth_client(data)
    events = _events(data["events"]) if "events" in data else sub.events
    filter_type, filter_id = _filter(data["filter"]) if "filter" in data else (sub.filter_type, sub.filter_id)
    try:
        ctx.webhooks.check_events(events)
        ctx.webhooks.check_filter(filter_type, filter_id)
    except ValueError as error:
        raise invalid(str(error)) from error
    _check_scope(ctx, filter_type, filter_id)
    sub.events = list(events)
    sub.filter_type = filter_type
    sub.filter_id = None if filter_type == "account_reference" else filter_id
    if "description" in data:
        sub.description = _description(data["description"])
    sub.active = _active(data, sub.active)
    return SandboxResponse(200, {"webhook_subscription": render_subscription(sub)})


def delete_subscription(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``DELETE /webhook_subscriptions/{id}``: 204; its waiting webhooks are dropped."""
    if not ctx.webhooks.unsubscribe(params["id"]):
        raise not_found(f"Webhook subscription {params['id']}")
    return SandboxResponse(204)


def enable_subscription(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    sub = ctx.webhooks.enable(_find(ctx, params["id"]).id)
    return SandboxResponse(200, {"webhook_subscription": render_subscription(sub)})


def ping_subscription(ctx: Context, req: SandboxRequest, params: dict[str, str]) -> SandboxResponse:
    """``POST /webhook_subscriptions/{id}/ping``: 202; a ``pagey.ping`` goes out after the answer."""
    ctx.webhooks.ping(_find(ctx, params["id"]).id)
    return SandboxResponse(202)


def _find(ctx: Context, subscription_id: str) -> Subscription:
    sub = ctx.webhooks.subscriptions.get(subscription_id)
    if sub is None:
        raise not_found(f"Webhook subscription {subscription_id}")
    return sub


def _check_scope(ctx: Context, filter_type: str, filter_id: str | None) -> None:
    """A restricted-access user may only filter on a service they can see (as incidents are scoped)."""
    visible = ctx.world.visible_service_ids(ctx.token_user)
    if visible is None or (filter_type == "service_reference" and filter_id in visible):
        return
    if filter_type == "service_reference":
        raise ApiError(400, 5002, "Service Not Found", [f"Service {filter_id} not found"])
    raise ApiError(403, 2010, "Access Denied",
                   [f"{ctx.token_user.name} has restricted access: filter on one of your services"])


def _no_oauth_client(data: dict[str, Any]) -> None:
    if data.get("oauth_client_id") is not None:
        raise invalid("oauth_client_id: the sandbox has no OAuth clients; leave it out")


def _filter(value: Any) -> tuple[FilterType, str | None]:
    if not isinstance(value, dict):
        raise invalid("filter must be an object with a type (and an id, except for account_reference)")
    kind, filter_id = value.get("type"), value.get("id")
    found = next((t for t in FILTER_TYPES if t == kind), None)
    if found is None:
        raise invalid(f"filter.type must be one of {', '.join(FILTER_TYPES)}")
    if filter_id is not None and not isinstance(filter_id, str):
        raise invalid("filter.id must be a string")
    return found, filter_id


def _events(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(e, str) for e in value):
        raise invalid("events must be an array of event type names")
    return list(value)


def _description(value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise invalid("description must be a string")
    if len(value) > DESCRIPTION_MAX_CHARS:
        raise invalid(f"description is longer than {DESCRIPTION_MAX_CHARS} characters")
    return value


def _active(data: dict[str, Any], default: bool) -> bool:
    value = data.get("active", default)
    if not isinstance(value, bool):
        raise invalid("active must be true or false")
    return value


def _custom_headers(value: Any) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise invalid("delivery_method.custom_headers must be an array of {name, value}")
    if len(value) > CUSTOM_HEADERS_MAX:
        raise invalid(f"at most {CUSTOM_HEADERS_MAX} custom headers")
    headers: list[tuple[str, str]] = []
    for item in value:
        name = item.get("name") if isinstance(item, dict) else None
        text = item.get("value") if isinstance(item, dict) else None
        if not isinstance(name, str) or not _HEADER_NAME_RE.match(name):
            raise invalid("each custom header needs a name made of letters, digits and -_. (at most 128)")
        if not isinstance(text, str) or len(text) > HEADER_VALUE_MAX_CHARS or any(c in text for c in "\r\n\0"):
            raise invalid(f"custom header {name}: the value must be one line of at most "
                          f"{HEADER_VALUE_MAX_CHARS} characters")
        if name.lower() in _RESERVED_HEADERS:
            raise invalid(f"custom header {name} is set by the delivery itself")
        if any(name.lower() == seen.lower() for seen, _ in headers):
            raise invalid(f"custom header {name} appears twice: header names must be unique")
        headers.append((name, text))
    return headers


ROUTES: list[Route] = [
    Route("GET", "/webhook_subscriptions", list_subscriptions),
    Route("POST", "/webhook_subscriptions", create_subscription),
    Route("GET", "/webhook_subscriptions/{id}", get_subscription),
    Route("PUT", "/webhook_subscriptions/{id}", update_subscription),
    Route("DELETE", "/webhook_subscriptions/{id}", delete_subscription),
    Route("POST", "/webhook_subscriptions/{id}/enable", enable_subscription),
    Route("POST", "/webhook_subscriptions/{id}/ping", ping_subscription),
]
