"""Who the terminal front doors act as, and against which PagerDuty: the sandbox or the real one.

``--sandbox`` builds a seeded account in process (no keys, no network). Its clock is frozen at
``--now`` (default :data:`bot.sandbox.DEFAULT_NOW`, Tuesday 2026-03-10 14:00 UTC) so a demo answers the
same way every time. ``--as EMAIL`` picks the person (default: the dataset's Manager); requests use
that person's own sandbox token when the dataset has one, so their role and team scope apply.

Without ``--sandbox`` the PagerDuty token comes from ``PAGERDUTY_USER_API_KEY`` and the person is the
token's user (``GET /users/me``), or the user whose e-mail is ``--as EMAIL``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import httpx2

from bot.config import MissingSettingError, Settings, pagerduty_client
from bot.pagerduty import PagerDutyClient, PagerDutyError
from bot.sandbox import DEFAULT_NOW, Sandbox, build_sandbox, default_token
from bot.tools.base import Asker, ToolContext
from bot.tools.directory import role_name
from bot.tools.runner import explain_pagerduty_error

Dataset = Literal["demo", "large"]


class SessionError(Exception):
    """The session could not be set up; the message says why and what to do (never a secret)."""


@dataclass(slots=True)
class Session:
    """A PagerDuty client and the person it acts for; :meth:`context` gives each message its own context."""

    client: PagerDutyClient
    asker: Asker
    where: str
    """Which PagerDuty: "the demo sandbox (clock frozen at …)" or the API URL."""
    clock: Callable[[], datetime]
    sandbox: Sandbox | None = None

    def context(self) -> ToolContext:
        """A fresh context (current time, no deadline yet): the loop sets a per-message deadline on it."""
        return ToolContext(self.client, self.asker, self.clock())

    def describe(self) -> str:
        asker = self.asker
        role = f", role {role_name(asker.role)}" if asker.role else ""  # "Manager", not PagerDuty's "user"
        email = f" <{asker.email}>" if asker.email else ""
        return f"{asker.name}{email}{role}, time zone {asker.time_zone.key}"

    async def aclose(self) -> None:
        await self.client.aclose()


def sandbox_session(dataset: Dataset = "demo", *, now: datetime | None = None,
                    as_email: str | None = None) -> Session:
    """A session on a freshly built sandbox account, acting as ``as_email`` (default: its Manager)."""
    at = now or DEFAULT_NOW
    sandbox = build_sandbox(dataset, now=at)
    world = sandbox.world
    fallback = default_token(dataset)
    if as_email is None:
        user = world.users[world.tokens[fallback].user_id]
    else:
        found = world.user_by_email(as_email)
        if found is None:
            examples = ", ".join(u.email for u in list(world.users.values())[:4])
            raise SessionError(f"No user with the e-mail {as_email!r} in the {dataset} sandbox. "
                               f"Try one of: {examples} (all of them: docs/sandbox-dataset.md).")
        user = found
    # The person's own token when the account has one (their role and team scope apply).
    token = next((t for t, grant in world.tokens.items()
                  if grant.user_id == user.id and not grant.read_only and not grant.revoked), fallback)
    client = PagerDutyClient(token, transport=sandbox.transport())
    asker = Asker(user.id, user.email, user.name, _zone(user.time_zone), user.role)
    where = f"the {dataset} sandbox (clock frozen at {at.strftime('%a %Y-%m-%d %H:%M UTC')})"
    return Session(client, asker, where, lambda: sandbox.now, sandbox)


async def pagerduty_session(settings: Settings, *, as_email: str | None = None, now: datetime | None = None,
                            transport: httpx2.AsyncBaseTransport | None = None) -> Session:
    """A session on the PagerDuty account of ``PAGERDUTY_USER_API_KEY``.

    Raises :class:`SessionError` when the key is missing, PagerDuty refuses it, or ``as_email`` is
    nobody in the account. ``transport`` is the tests' seam.
    """
    key = settings.pagerduty_user_api_key
    if key is not None and not key.get_secret_value().strip():
        settings = settings.model_copy(update={"pagerduty_user_api_key": None})  # blank = not set
    try:
        client = pagerduty_client(settings, transport)
    except MissingSettingError as exc:
        raise SessionError(str(exc)) from None
    try:
        user = await (_find_user(client, as_email) if as_email else client.me())
    except PagerDutyError as exc:
        await client.aclose()
        problem = explain_pagerduty_error(exc)
        message, hint = problem.message, problem.hint
        raise SessionError(f"{message} {hint}") from None
    except SessionError:
        await client.aclose()
        raise
    asker = Asker(str(user.get("id") or "") or None, user.get("email"), str(user.get("name") or "unknown"),
                  _zone(str(user.get("time_zone") or "UTC")), user.get("role"))
    clock: Callable[[], datetime] = (lambda: now) if now is not None else (lambda: datetime.now(UTC))
    return Session(client, asker, f"PagerDuty at {settings.pagerduty_api_url}", clock)


async def _find_user(client: PagerDutyClient, email: str) -> dict[str, Any]:
    wanted = email.strip().lower()
    page = await client.fetch("/users", "users", {"query": email.strip()}, max_items=100)
    user: dict[str, Any] | None = next(
        (u for u in page.items if str(u.get("email", "")).lower() == wanted), None)
    if user is None:
        raise SessionError(f"No PagerDuty user has the e-mail {email!r} (or this token cannot see them).")
    return user


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
