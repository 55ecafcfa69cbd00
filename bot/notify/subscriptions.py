"""PagerDuty V3 webhook subscriptions through the REST API: what ``alex webhooks`` and ``alex doctor`` use.

A subscription (``/webhook_subscriptions``, PagerDuty's OpenAPI ``WebhookSubscription``) is an
``http_delivery_method`` (the URL PagerDuty POSTs to), the event types it sends and a filter: the whole
account (``account_reference``), one service (``service_reference``) or one team (``team_reference``). alex
asks for exactly the events its receiver acts on (:data:`ALEX_EVENTS`, from :mod:`bot.notify.events`).

The signing secret is in the create answer only; it is kept as a :class:`~pydantic.SecretStr` on
:class:`Created` (hidden from ``repr``) and nowhere else: the client logs method, path and status, never a
body. Every list is bounded (:data:`MAX_LISTED`) and every call takes the caller's ``deadline``.

These functions print nothing; :mod:`bot.notify.webhooks_cli` does. PagerDuty's errors
(:mod:`bot.pagerduty.errors`) go to the caller as they are; the ones found here are :class:`NameNotFound`,
:class:`AlreadySubscribed` and :class:`BadUrl`.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from dataclasses import dataclass, replace
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from pydantic import SecretStr

from bot.notify.events import HANDLED, WEBHOOK_PATH
from bot.pagerduty import InvalidInputError, MalformedResponseError, NotFoundError, PagerDutyClient
from bot.tools.resolve import looks_like_id, name_key

ALEX_EVENTS: tuple[str, ...] = tuple(sorted(HANDLED))
"""The event types a subscription made by alex asks for: those the receiver acts on, no more."""
MAX_LISTED = 500
"""Subscriptions read from one account at most (PagerDuty pages them 100 at a time)."""
MAX_URL_CHARS = 2_048
MAX_DESCRIPTION_CHARS = 1_024
DEFAULT_DESCRIPTION = "alex: live incident cards in Slack"
_NAMES_READ = 1_000
_ID = re.compile(r"[A-Za-z0-9]{1,64}")

FilterType = Literal["account_reference", "service_reference", "team_reference"]
_KINDS: dict[FilterType, str] = {"account_reference": "account", "service_reference": "service",
                                 "team_reference": "team"}


class BadUrl(ValueError):
    """A delivery URL alex refuses to subscribe (the message says why and what would do)."""


class NameNotFound(LookupError):
    """No service or team of that name (or ID) is visible to the token; ``close`` are the nearest names."""

    def __init__(self, kind: str, wanted: str, close: list[str]) -> None:
        self.kind, self.wanted, self.close = kind, wanted, close
        nearest = f" Closest: {', '.join(close)}." if close else ""
        super().__init__(f"no {kind} named {wanted!r} is visible to this PagerDuty token.{nearest}")


class AlreadySubscribed(Exception):
    """A subscription to the same URL with the same filter exists (``--force`` creates another anyway)."""

    def __init__(self, existing: WebhookSubscription) -> None:
        self.existing = existing
        super().__init__(f"subscription {existing.id} already delivers to {existing.url} "
                         f"({existing.filter.describe()})")


@dataclass(frozen=True, slots=True)
class Filter:
    """Which incidents a subscription sends: the account's, one service's or one team's."""

    type: FilterType = "account_reference"
    id: str | None = None
    name: str | None = None
    """The service's or team's name, when alex looked it up (PagerDuty's answers carry only the ID)."""

    @property
    def kind(self) -> str:
        return _KINDS[self.type]

    def describe(self) -> str:
        """``account``, ``service payments-api (PSVC001)`` or ``team PTEAM01``."""
        if self.type == "account_reference":
            return "account"
        return f"{self.kind} {self.name} ({self.id})" if self.name else f"{self.kind} {self.id}"

    def same(self, other: Filter) -> bool:
        return self.type == other.type and (self.type == "account_reference" or self.id == other.id)

    def body(self) -> dict[str, str]:
        return {"type": self.type} if self.id is None else {"type": self.type, "id": self.id}


@dataclass(frozen=True, slots=True)
class WebhookSubscription:
    """A subscription as PagerDuty lists it (never its secret)."""

    id: str
    url: str
    active: bool
    temporarily_disabled: bool
    events: tuple[str, ...]
    filter: Filter
    description: str = ""

    @property
    def enabled(self) -> bool:
        """Whether PagerDuty sends its events now: active, and not paused after failed deliveries."""
        return self.active and not self.temporarily_disabled

    @property
    def state(self) -> Literal["active", "disabled", "inactive"]:
        """``disabled``: paused by PagerDuty after repeated delivery failures; ``inactive``: turned off."""
        if not self.active:
            return "inactive"
        return "disabled" if self.temporarily_disabled else "active"

    @property
    def points_at_alex(self) -> bool:
        """Whether its URL ends with alex's receiver path."""
        return urlsplit(self.url).path.rstrip("/").endswith(WEBHOOK_PATH)

    @property
    def missing_events(self) -> tuple[str, ...]:
        """The events alex acts on that this subscription does not send."""
        return tuple(event for event in ALEX_EVENTS if event not in self.events)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "active": self.active,
                "temporarily_disabled": self.temporarily_disabled, "url": self.url,
                "filter": {**self.filter.body(), **({"name": self.filter.name} if self.filter.name else {})},
                "events": list(self.events), "description": self.description}

    @classmethod
    def from_api(cls, data: Any) -> WebhookSubscription:
        """One ``webhook_subscription`` object of PagerDuty's answer (bounded: texts cut, events capped)."""
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise MalformedResponseError("a webhook subscription without an id", status=200)
        method: dict[str, Any] = data["delivery_method"] if isinstance(data.get("delivery_method"), dict) else {}
        raw_filter: dict[str, Any] = data["filter"] if isinstance(data.get("filter"), dict) else {}
        kind = raw_filter.get("type")
        filter_type: FilterType = kind if kind in _KINDS else "account_reference"
        filter_id = raw_filter.get("id") if isinstance(raw_filter.get("id"), str) else None
        events: list[Any] = data["events"] if isinstance(data.get("events"), list) else []
        return cls(data["id"][:64], str(method.get("url") or "")[:MAX_URL_CHARS], data.get("active") is not False,
                   method.get("temporarily_disabled") is True,
                   tuple(str(e)[:100] for e in events[:100] if isinstance(e, str)),
                   Filter(filter_type, None if filter_type == "account_reference" else filter_id),
                   str(data.get("description") or "")[:MAX_DESCRIPTION_CHARS])


@dataclass(frozen=True, slots=True)
class Created:
    """A new subscription and its signing secret (shown by PagerDuty in this answer only)."""

    subscription: WebhookSubscription
    secret: SecretStr


@dataclass(frozen=True, slots=True)
class Listing:
    """The subscriptions read; ``more`` when the account has more than were read (:data:`MAX_LISTED`)."""

    subscriptions: list[WebhookSubscription]
    more: bool = False


def check_url(url: str) -> list[str]:
    """Raise :class:`BadUrl` unless ``url`` is a URL PagerDuty may deliver to; return warnings to show.

    https only (PagerDuty's deliveries carry incident data), http for localhost and loopback addresses
    (the sandbox, a local tunnel); no ``user:password@`` (a subscription's URL is listed to every admin).
    """
    text = url.strip()
    if not text or len(text) > MAX_URL_CHARS:
        raise BadUrl(f"--url must be a URL of at most {MAX_URL_CHARS} characters")
    parts = urlsplit(text)
    try:
        host = parts.hostname
        _ = parts.port  # reading it validates it
    except ValueError:
        raise BadUrl("--url has an invalid host or port") from None
    if parts.scheme not in ("http", "https") or not host:
        raise BadUrl("--url must be an https:// URL, e.g. https://alex.example.com/pagerduty/webhooks")
    if parts.username is not None or parts.password is not None:
        raise BadUrl("--url must not carry a user name or password: every admin of the account can list it")
    if parts.scheme == "http" and not _loopback(host):
        raise BadUrl(f"--url must be https:// (plain http only for localhost or a loopback address), not "
                     f"http://{host}")
    warnings: list[str] = []
    if not parts.path.rstrip("/").endswith(WEBHOOK_PATH):
        warnings.append(f"the URL does not end with {WEBHOOK_PATH}, where `alex serve` receives webhooks: fine "
                        "only if a proxy in front of alex rewrites the path")
    return warnings


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_id(subscription_id: str) -> str:
    """A subscription ID as it goes into a path (letters and digits); ValueError otherwise."""
    text = subscription_id.strip()
    if not _ID.fullmatch(text):
        raise ValueError(f"{subscription_id[:80]!r} is not a webhook subscription ID (letters and digits, e.g. "
                         "PXYZ123; `alex webhooks list` shows them)")
    return text


async def resolve_filter(client: PagerDutyClient, *, service: str | None = None, team: str | None = None,
                         deadline: float | None = None) -> Filter:
    """The filter for ``--service`` or ``--team`` (a name or an ID), or the whole account.

    A name matches ignoring case, spaces and punctuation ("Payments API" is ``payments-api``); nothing
    less than that: a subscription for a guessed service would post the wrong incidents.
    """
    if service is not None and team is not None:
        raise ValueError("give --service or --team, not both")
    if service is not None:
        found = await _find_named(client, "service", "/services", "services", service, deadline)
        return Filter("service_reference", found[0], found[1])
    if team is not None:
        found = await _find_named(client, "team", "/teams", "teams", team, deadline)
        return Filter("team_reference", found[0], found[1])
    return Filter()


async def _find_named(client: PagerDutyClient, kind: str, path: str, key: str, wanted: str,
                      deadline: float | None) -> tuple[str, str]:
    text = wanted.strip()
    if not text or len(text) > 255:
        raise NameNotFound(kind, wanted[:80], [])
    if looks_like_id(text):
        try:
            body = await client.get(f"{path}/{quote(text, safe='')}", deadline=deadline)
        except (NotFoundError, InvalidInputError):
            body = {}
        item = body.get(kind)
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            return item["id"], str(item.get("name") or item.get("summary") or item["id"])
    wanted_key = name_key(text)
    queried = await client.fetch(path, key, {"query": text}, max_items=100, deadline=deadline)
    for item in queried.items:
        if isinstance(item, dict) and name_key(item.get("name")) == wanted_key and isinstance(item.get("id"), str):
            return item["id"], str(item.get("name"))
    everything = await client.fetch(path, key, max_items=_NAMES_READ, deadline=deadline)
    items = [i for i in everything.items if isinstance(i, dict) and isinstance(i.get("id"), str)]
    for item in items:
        if name_key(item.get("name")) == wanted_key:
            return item["id"], str(item.get("name"))
    names = [str(i.get("name") or "") for i in items if i.get("name")]
    partial = [n for n in names if wanted_key and wanted_key in name_key(n)]
    close = difflib.get_close_matches(text.lower(), [n.lower() for n in names], n=4, cutoff=0.5)
    by_lower = {n.lower(): n for n in names}
    nearest = list(dict.fromkeys([*partial[:4], *(by_lower[c] for c in close)]))[:5]
    raise NameNotFound(kind, text, nearest)


async def list_subscriptions(client: PagerDutyClient, *, deadline: float | None = None,
                             max_items: int = MAX_LISTED) -> Listing:
    """Every webhook subscription of the account, up to ``max_items``."""
    page = await client.fetch("/webhook_subscriptions", "webhook_subscriptions", max_items=max_items,
                              deadline=deadline)
    return Listing([WebhookSubscription.from_api(item) for item in page.items], more=page.more)


async def get_subscription(client: PagerDutyClient, subscription_id: str, *,
                           deadline: float | None = None) -> WebhookSubscription:
    body = await client.get(f"/webhook_subscriptions/{check_id(subscription_id)}", deadline=deadline)
    return WebhookSubscription.from_api(body.get("webhook_subscription"))


async def create_subscription(client: PagerDutyClient, url: str, subscription_filter: Filter, *,
                              description: str = DEFAULT_DESCRIPTION, force: bool = False,
                              deadline: float | None = None) -> Created:
    """``POST /webhook_subscriptions`` for :data:`ALEX_EVENTS` to ``url``; :class:`AlreadySubscribed` when
    one with the same URL and filter exists, unless ``force``. Check the URL with :func:`check_url` first."""
    url = url.strip()
    check_url(url)
    if len(description) > MAX_DESCRIPTION_CHARS:
        raise ValueError(f"--description is longer than {MAX_DESCRIPTION_CHARS} characters")
    if not force:
        existing = await list_subscriptions(client, deadline=deadline)
        for subscription in existing.subscriptions:
            if _same_url(subscription.url, url) and subscription.filter.same(subscription_filter):
                raise AlreadySubscribed(subscription)
    body = {"webhook_subscription": {
        "type": "webhook_subscription",
        "delivery_method": {"type": "http_delivery_method", "url": url},
        "description": description,
        "events": list(ALEX_EVENTS),
        "filter": subscription_filter.body(),
    }}
    answer = await client.post("/webhook_subscriptions", body, deadline=deadline)
    data = answer.get("webhook_subscription") if isinstance(answer, dict) else None
    method = data.get("delivery_method") if isinstance(data, dict) else None
    secret = method.get("secret") if isinstance(method, dict) else None
    subscription = WebhookSubscription.from_api(data)
    if not isinstance(secret, str) or not secret:
        raise MalformedResponseError(f"PagerDuty created subscription {subscription.id} but sent no signing "
                                     "secret: delete it and try again", status=200, method="POST",
                                     path="/webhook_subscriptions")
    named = Filter(subscription.filter.type, subscription.filter.id,
                   subscription_filter.name if subscription.filter.same(subscription_filter) else None)
    return Created(replace(subscription, filter=named), SecretStr(secret))


async def delete_subscription(client: PagerDutyClient, subscription_id: str, *,
                              deadline: float | None = None) -> None:
    await client.delete(f"/webhook_subscriptions/{check_id(subscription_id)}", deadline=deadline)


async def enable_subscription(client: PagerDutyClient, subscription_id: str, *,
                              deadline: float | None = None) -> WebhookSubscription:
    """Lift PagerDuty's temporary disablement (``POST …/enable``) and, when it was turned off, turn it on
    (``PUT`` ``active: true``): afterwards PagerDuty sends its events again."""
    path = f"/webhook_subscriptions/{check_id(subscription_id)}"
    body = await client.post(f"{path}/enable", None, deadline=deadline)
    subscription = WebhookSubscription.from_api(body.get("webhook_subscription") if isinstance(body, dict) else None)
    if not subscription.active:
        body = await client.put(path, {"webhook_subscription": {"type": "webhook_subscription", "active": True}},
                                deadline=deadline)
        subscription = WebhookSubscription.from_api(
            body.get("webhook_subscription") if isinstance(body, dict) else None)
    return subscription


async def ping_subscription(client: PagerDutyClient, subscription_id: str, *,
                            deadline: float | None = None) -> None:
    """``POST …/ping``: PagerDuty queues a ``pagey.ping`` event to the subscription's URL (alex answers 2xx
    and ignores it; PagerDuty's delivery log shows whether it arrived)."""
    await client.post(f"/webhook_subscriptions/{check_id(subscription_id)}/ping", None, deadline=deadline)


def _same_url(a: str, b: str) -> bool:
    return a.strip().rstrip("/") == b.strip().rstrip("/")

