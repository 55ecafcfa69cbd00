"""Which PagerDuty the Slack app talks to, and the client each person's requests go through.

* The real account: one client with ``PAGERDUTY_USER_API_KEY`` for everyone; writes carry the
  person's e-mail as ``From`` (see :mod:`bot.tools.proposals`).
* The built-in sandbox (``alex serve --sandbox``): each person mapped by e-mail gets a client with
  their own sandbox token (minted for them when the dataset has none), so their role and team scope
  apply exactly as PagerDuty would apply them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx2

from bot.config import Settings, pagerduty_client
from bot.pagerduty import PagerDutyClient
from bot.sandbox import Sandbox, TokenGrant
from bot.tools.base import Asker

SANDBOX_TOKEN_PREFIX = "sandbox-slack-"


class PagerDutyBackend:
    """The directory client (user lookups, unmapped readers) and a client per PagerDuty user."""

    def __init__(self, directory: PagerDutyClient, *, where: str,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 client_for_user: Callable[[str], PagerDutyClient] | None = None,
                 sandbox: Sandbox | None = None) -> None:
        self.directory = directory
        self.where = where
        self.sandbox = sandbox
        self._clock = clock
        self._client_for_user = client_for_user
        self._clients: dict[str, PagerDutyClient] = {}

    @classmethod
    def from_settings(cls, settings: Settings, *, now: datetime | None = None) -> PagerDutyBackend:
        """The account of ``PAGERDUTY_USER_API_KEY`` (raises MissingSettingError when it is unset)."""
        clock: Callable[[], datetime] = (lambda: now) if now is not None else (lambda: datetime.now(UTC))
        return cls(pagerduty_client(settings), where=f"PagerDuty at {settings.pagerduty_api_url}", clock=clock)

    @classmethod
    def for_sandbox(cls, sandbox: Sandbox, token: str, *, where: str = "the sandbox",
                    transport: httpx2.AsyncBaseTransport | None = None) -> PagerDutyBackend:
        """``token`` is the directory's (the dataset's Manager); people get their own tokens.

        ``transport`` defaults to the sandbox's in-process one (tests wrap it in a contract check).
        """
        transport = transport or sandbox.transport()

        def client_for_user(user_id: str) -> PagerDutyClient:
            world = sandbox.world
            own = next((t for t, grant in world.tokens.items()
                        if grant.user_id == user_id and not grant.read_only and not grant.revoked), None)
            if own is None:  # most seeded people have no token: give them one acting as themselves
                own = f"{SANDBOX_TOKEN_PREFIX}{user_id}"
                world.tokens[own] = TokenGrant(user_id)
            return PagerDutyClient(own, transport=transport)

        return cls(PagerDutyClient(token, transport=transport), where=where, clock=lambda: sandbox.now,
                   client_for_user=client_for_user, sandbox=sandbox)

    def now(self) -> datetime:
        return self._clock()

    async def find_user(self, email: str) -> dict[str, Any] | None:
        """The PagerDuty user whose e-mail is exactly ``email`` (case-insensitive), or None."""
        wanted = email.strip().lower()
        if not wanted:
            return None
        page = await self.directory.fetch("/users", "users", {"query": email.strip()}, max_items=100)
        return next((u for u in page.items if str(u.get("email", "")).strip().lower() == wanted), None)

    def client_for(self, asker: Asker) -> PagerDutyClient:
        """The client ``asker``'s requests go through."""
        if asker.user_id is None or self._client_for_user is None:
            return self.directory
        client = self._clients.get(asker.user_id)
        if client is None:
            client = self._clients[asker.user_id] = self._client_for_user(asker.user_id)
        return client

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
        await self.directory.aclose()
