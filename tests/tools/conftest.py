"""Fixtures: a tool context over the demo (and large) sandbox, acting as a chosen person; schema sizes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.analysis.windows import WINDOW_GRAMMAR
from bot.pagerduty import PagerDutyClient
from bot.sandbox import DEFAULT_NOW, Sandbox, build_sandbox, default_token
from bot.tools.base import Asker, Tool, ToolContext
from bot.tools.schema import openai_tool
from tests.helpers import sandbox_transport

MANAGER_EMAIL = "sam.rivera@acme-payments.example"
OBSERVER_EMAIL = "olivia.observer@acme-payments.example"


@pytest.fixture
def demo() -> Sandbox:
    return build_sandbox("demo", now=DEFAULT_NOW, rate_limit_per_minute=None)


@pytest.fixture(scope="module")
def large() -> Sandbox:
    """The large account (500 services, 10,000 open incidents); built once per test module."""
    return build_sandbox("large", now=DEFAULT_NOW, rate_limit_per_minute=None)


def asker_for(sandbox: Sandbox, email: str) -> Asker:
    user = sandbox.world.user_by_email(email)
    assert user is not None, email
    return Asker(user.id, user.email, user.name, ZoneInfo(user.time_zone), user.role)


ContextFactory = Callable[..., ToolContext]


@pytest.fixture
async def make_ctx() -> AsyncIterator[ContextFactory]:
    """``make_ctx(sandbox, email=..., validate=True)``: a ToolContext acting as that person."""
    clients: list[PagerDutyClient] = []

    def build(sandbox: Sandbox, email: str | None = None, *, validate: bool = True) -> ToolContext:
        world = sandbox.world
        token = default_token("large" if len(world.services) > 100 else "demo")
        if email is None:
            email = world.users[world.tokens[token].user_id].email
        # The person's own token when the account has one (their role and team scope apply).
        token = next((t for t, g in world.tokens.items() if not g.read_only and not g.revoked
                      and world.users[g.user_id].email == email), token)
        transport = sandbox_transport(sandbox) if validate else sandbox.transport()
        client = PagerDutyClient(token, transport=transport)
        clients.append(client)
        return ToolContext(client, asker_for(sandbox, email), world.now)

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
def manager_email() -> str:
    return MANAGER_EMAIL


def schema_chars(tool: Tool[Any]) -> int:
    """Characters of the tool's OpenAI entry, not counting the shared window grammar (one description
    for every ``window`` argument, budgeted once by the registry's size test)."""
    entry = json.dumps(openai_tool(tool.name, tool.description, tool.args), separators=(",", ":"))
    return len(entry) - entry.count(WINDOW_GRAMMAR) * len(WINDOW_GRAMMAR)
