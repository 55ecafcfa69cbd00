"""Who a Slack user is in PagerDuty: Slack user → e-mail (``users.info``) → PagerDuty user, cached.

The e-mail must match exactly (case-insensitive); nothing is guessed from names. The PagerDuty user's
e-mail is the ``From`` of every write made for them and their PagerDuty role decides what they may do.
Someone with no PagerDuty account (or no e-mail visible to alex) gets ``Asker(user_id=None)``: they
may read when ``ALEX_ALLOW_UNMAPPED_READS`` is on, and every write is refused.

Time windows ("today", "next week") use the time zone of the person's Slack profile (``tz``), then
their PagerDuty time zone, then UTC.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.pagerduty import PagerDutyError
from bot.slack.backend import PagerDutyBackend
from bot.tools.base import Asker
from bot.tools.runner import explain_pagerduty_error

log = logging.getLogger("bot.slack.identity")

DEFAULT_TTL_S = 900.0
UNMAPPED_TTL_S = 300.0
"""Unmapped people are looked up again sooner (they may have just been given a PagerDuty account)."""


class IdentityError(Exception):
    """PagerDuty could not be asked who someone is; the message says why (never a secret)."""


@dataclass(frozen=True, slots=True)
class Identity:
    """A Slack user and the PagerDuty person alex acts as for them."""

    slack_user_id: str
    asker: Asker
    slack_email: str | None = None

    @property
    def mapped(self) -> bool:
        return self.asker.user_id is not None


class IdentityResolver:
    """Resolves and caches identities (per Slack user, ``ttl_s``); concurrent look-ups share one call."""

    def __init__(self, slack: AsyncWebClient, backend: PagerDutyBackend, *, ttl_s: float = DEFAULT_TTL_S,
                 stand_in_email: str | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        """``stand_in_email`` (sandbox demos only): the person someone with no PagerDuty account acts as."""
        self._slack = slack
        self._stand_in = stand_in_email
        self._backend = backend
        self._ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[str, tuple[float, Identity]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def resolve(self, slack_user_id: str) -> Identity:
        """The identity of ``slack_user_id``; raises :class:`IdentityError` when PagerDuty fails."""
        cached = self._cache.get(slack_user_id)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        lock = self._locks.setdefault(slack_user_id, asyncio.Lock())
        async with lock:
            cached = self._cache.get(slack_user_id)
            if cached is not None and cached[0] > self._clock():
                return cached[1]
            identity = await self._lookup(slack_user_id)
            ttl = self._ttl_s if identity.mapped else min(self._ttl_s, UNMAPPED_TTL_S)
            self._cache[slack_user_id] = (self._clock() + ttl, identity)
            return identity

    def forget(self, slack_user_id: str) -> None:
        self._cache.pop(slack_user_id, None)

    async def _lookup(self, slack_user_id: str) -> Identity:
        profile = await self._slack_profile(slack_user_id)
        email = _text(profile.get("profile", {}).get("email")) if profile else None
        slack_name = _slack_name(profile) or slack_user_id
        slack_tz = _zone(_text(profile.get("tz")) if profile else None)
        person = await self._find(email) if email else None
        if person is None and self._stand_in:
            person = await self._find(self._stand_in)
        if person is None:
            asker = Asker(None, email, slack_name, slack_tz or ZoneInfo("UTC"), None)
            return Identity(slack_user_id, asker, email)
        zone = slack_tz or _zone(_text(person.get("time_zone"))) or ZoneInfo("UTC")
        asker = Asker(str(person["id"]), _text(person.get("email")) or email, _text(person.get("name")) or slack_name,
                      zone, _text(person.get("role")))
        return Identity(slack_user_id, asker, email)

    async def _find(self, email: str) -> dict[str, Any] | None:
        try:
            return await self._backend.find_user(email)
        except PagerDutyError as exc:
            problem = explain_pagerduty_error(exc)
            message, hint = problem.message, problem.hint
            raise IdentityError(f"alex could not look you up in PagerDuty: {message} {hint}") from None

    async def _slack_profile(self, slack_user_id: str) -> dict[str, Any] | None:
        try:
            response = await self._slack.users_info(user=slack_user_id)
        except SlackApiError as exc:  # user_not_found, missing_scope...: treated as unmapped
            log.warning("users.info failed for %s: %s", slack_user_id, exc.response.get("error"))
            return None
        user = response.get("user")
        return user if isinstance(user, dict) else None


def _text(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def _slack_name(user: dict[str, Any] | None) -> str | None:
    if not user:
        return None
    profile = user.get("profile", {})
    for value in (profile.get("real_name"), profile.get("display_name"), user.get("real_name"), user.get("name")):
        if text := _text(value):
            return text
    return None


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
