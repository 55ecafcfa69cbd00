"""Which PagerDuty the Slack app talks to, and the client each person's requests go through.

* The real account: ``PAGERDUTY_USER_API_KEY`` for everyone, so PagerDuty applies *that token owner's*
  permissions and records the token owner as the actor. alex therefore enforces each person's own
  reach on top: their role (:func:`bot.tools.proposals.refusal`) and, for the people PagerDuty limits
  to their teams (Restricted Access, Limited Stakeholder), a :class:`~bot.pagerduty.scope.ScopedClient`
  that only reads and changes their teams' objects.
* A person who linked their own user token (``/alex connect``): their requests use it, so PagerDuty
  itself enforces their permissions and attributes their actions to them.
* The built-in sandbox (``alex serve --sandbox``): each person mapped by e-mail gets a client with
  their own sandbox token (minted for them when the dataset has none), so their role and team scope
  apply exactly as PagerDuty would apply them (and alex's scope on top, as with a shared token).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx2
from pydantic import SecretStr

from bot.config import Settings, pagerduty_client
from bot.pagerduty import PagerDutyClient
from bot.pagerduty.scope import TEAM_SCOPED_ROLES, ScopedClient
from bot.sandbox import Sandbox, TokenGrant
from bot.tools.base import Asker

SANDBOX_TOKEN_PREFIX = "sandbox-slack-"


Connect = Callable[[str | SecretStr, str | None], PagerDutyClient]
"""Build a client for a token; with a user id, a :class:`ScopedClient` limited to that person's teams."""


class PagerDutyBackend:
    """The directory client (user lookups, unmapped readers) and a client per PagerDuty user."""

    def __init__(self, directory: PagerDutyClient, *, where: str,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 connect: Connect | None = None, token: str | SecretStr | None = None,
                 own_token: Callable[[str], str] | None = None, sandbox: Sandbox | None = None) -> None:
        """``connect`` and ``token`` (the shared token) build each person's client; ``own_token`` gives a
        person's own token where the backend has one (the sandbox). Without ``connect`` everyone shares
        ``directory``."""
        self.directory = directory
        self.where = where
        self.sandbox = sandbox
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

    @classmethod
    def for_sandbox(cls, sandbox: Sandbox, token: str, *, where: str = "the sandbox",
                    transport: httpx2.AsyncBaseTransport | None = None) -> PagerDutyBackend:
        """``token`` is the directory's (the dataset's Manager); people get their own tokens.

        ``transport`` defaults to the sandbox's in-process one (tests wrap it in a contract check).
        """
        transport = transport or sandbox.transport()

        def own_token(user_id: str) -> str:
            world = sandbox.world
            own = next((t for t, grant in world.tokens.items()
                        if grant.user_id == user_id and not grant.read_only and not grant.revoked), None)
            if own is None:  # most seeded people have no token: give them one acting as themselves
                own = f"{SANDBOX_TOKEN_PREFIX}{user_id}"
                world.tokens[own] = TokenGrant(user_id)
            return own

        def connect(person_token: str | SecretStr, scoped_user: str | None) -> PagerDutyClient:
            if scoped_user is not None:
                return ScopedClient(person_token, user_id=scoped_user, transport=transport)
            return PagerDutyClient(person_token, transport=transport)

        return cls(PagerDutyClient(token, transport=transport), where=where, clock=lambda: sandbox.now,
                   connect=connect, token=token, own_token=own_token, sandbox=sandbox)

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
        transport = self.sandbox.transport() if self.sandbox is not None else None
        return PagerDutyClient(token, base_url=self.directory.base_url, transport=transport)

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
        await self.directory.aclose()
