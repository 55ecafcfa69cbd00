"""``alex serve --sandbox``'s PagerDuty: the built-in sandbox, each Slack user acting with their own token.

Each person mapped by e-mail gets a client with their own sandbox token (minted for them when the dataset
has none), so their role and team scope apply exactly as PagerDuty would apply them (and alex's scope on
top, as with a shared token). This and :mod:`bot.slack.serve` are the only Slack modules that know the
sandbox (``tests/test_layers.py`` holds them to it).
"""

from __future__ import annotations

import httpx2
from pydantic import SecretStr

from bot.pagerduty import PagerDutyClient
from bot.pagerduty.scope import ScopedClient
from bot.sandbox import Sandbox, TokenGrant
from bot.slack.backend import PagerDutyBackend

SANDBOX_TOKEN_PREFIX = "sandbox-slack-"


class SandboxBackend(PagerDutyBackend):
    """A :class:`PagerDutyBackend` on ``sandbox``; :attr:`sandbox` stays reachable (tests inspect its world)."""

    def __init__(self, sandbox: Sandbox, token: str, *, where: str = "the sandbox",
                 transport: httpx2.AsyncBaseTransport | None = None) -> None:
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

        super().__init__(PagerDutyClient(token, transport=transport), where=where, clock=lambda: sandbox.now,
                         connect=connect, token=token, own_token=own_token)
        self.sandbox = sandbox
