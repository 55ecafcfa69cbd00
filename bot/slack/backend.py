"""Which PagerDuty the Slack app talks to, and the client each person's requests go through.

* The real account: ``PAGERDUTY_USER_API_KEY`` for everyone, so PagerDuty applies *that token owner's*
  permissions and records the token owner as the actor. alex therefore enforces each person's own
  reach on top: their role (:func:`bot.tools.proposals.refusal`) and, for the people PagerDuty limits
  to their teams (Restricted Access, Limited Stakeholder), a :class:`~bot.pagerduty.scope.ScopedClient`
  that only reads and changes their teams' objects.
* A person who linked their own user token (``/alex connect``): their requests use it, so PagerDuty
  itself enforces their permissions and attributes their actions to them.
* The built-in sandbox (``alex serve --sandbox``): :class:`bot.slack.sandbox_backend.SandboxBackend`
  gives each person their own sandbox token, through the same ``connect``/``own_token`` seams.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx2
from pydantic import SecretStr

from bot.config import Settings, pagerduty_client
from bot.pagerduty import PagerDutyClient
from bot.pagerduty.scope import TEAM_SCOPED_ROLES
from bot.tools.base import Asker

Connect = Callable[[str | SecretStr, str | None], PagerDutyClient]
"""Build a client for a token; with a user id, a :class:`ScopedClient` limited to that person's teams."""


class PagerDutyBackend:
    """The directory client (user lookups, unmapped readers) and a client per PagerDuty user."""

    def __init__(self, directory: PagerDutyClient, *, where: str,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 connect: Connect | None = None, token: str | SecretStr | None = None,
                 own_token: Callable[[str], str] | None = None) -> None:
        """``connect`` and ``token`` (the shared token) build each person's client; ``own_token`` gives a
        person's own token where the backend has one (the sandbox). Without ``connect`` everyone shares
        ``directory``."""
        self.directory = directory
        self.where = where
        self._clock = clock
        self._connect = connect
        self._token = token
        self._own_token = own_token
        self._clients: dict[tuple[str, str], PagerDutyClient] = {}

    @classmethod
    def from_settings(cls, settings: Settings, *, now: datetime | None = None,
                      transport: httpx2.AsyncBaseTransport | None = None) -> PagerDutyBackend:
        """The account of ``PAGERDUTY_USER_API_KEY`` (raises MissingSettingError when it is unset)."""
        clock: Callable[[], datetime] = (lambda: now) if now is not None else (lambda: datetime.now(UTC))
        directory = pagerduty_client(settings, transport)

        def connect(token: str | SecretStr, scoped_user: str | None) -> PagerDutyClient:
            return pagerduty_client(settings, transport, token=token, scoped_user=scoped_user)

        return cls(directory, where=f"PagerDuty at {settings.pagerduty_api_url}", clock=clock, connect=connect,
                   token=settings.pagerduty_user_api_key)

    def now(self) -> datetime:
        return self._clock()

    async def find_user(self, email: str) -> dict[str, Any] | None:
        """The PagerDuty user whose e-mail is exactly ``email`` (case-insensitive), or None."""
        wanted = email.strip().lower()
        if not wanted:
            return None
        page = await self.directory.fetch("/users", "users", {"query": email.strip()}, max_items=100)
        return next((u for u in page.items if str(u.get("email", "")).strip().lower() == wanted), None)

    def client_for(self, asker: Asker, *, linked_token: SecretStr | None = None) -> PagerDutyClient:
        """The client ``asker``'s requests go through: their linked token, else their own (sandbox), else
        the shared one, limited to their teams when their role is team-scoped (unless the token is theirs
        and PagerDuty scopes it itself)."""
        if asker.user_id is None or self._connect is None:
            return self.directory
        token: str | SecretStr | None
        scoped: str | None
        if linked_token is not None:
            key, token, scoped = (asker.user_id, "linked"), linked_token, None
        else:
            token = self._own_token(asker.user_id) if self._own_token is not None else self._token
            if token is None:
                return self.directory
            scoped = asker.user_id if asker.role in TEAM_SCOPED_ROLES else None
            key = (asker.user_id, "scoped" if scoped else "own")
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = self._connect(token, scoped)
        return client

    async def forget(self, user_id: str) -> None:
        """Drop ``user_id``'s clients (their linked token changed, or their access must be read again)."""
        for key in [k for k in self._clients if k[0] == user_id]:
            await self._clients.pop(key).aclose()

    def client_with_token(self, token: SecretStr) -> PagerDutyClient:
        """A new client sending ``token`` as is, unscoped (``/alex connect`` checks a token with it); the
        caller closes it."""
        if self._connect is not None:
            return self._connect(token, None)
        return PagerDutyClient(token, base_url=self.directory.base_url)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
        await self.directory.aclose()
