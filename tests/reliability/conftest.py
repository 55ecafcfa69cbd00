"""Shared fixtures for the reliability suite (reliability.md §6): the Slack harness of tests/slack (Bolt
dispatch, signed requests, FakeSlack, the demo sandbox), the tools' ``make_ctx``, and helpers to build a
PagerDuty client whose retries do not really sleep (the sleeps are recorded instead).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest

from bot.pagerduty import PagerDutyClient
from bot.sandbox import Sandbox
from bot.sandbox.faults import Fault
from bot.sandbox.http import SandboxRequest
from bot.tools.base import ToolContext
from tests.slack.conftest import SlackHarness, demo, fake_slack, make_slack  # noqa: F401
from tests.tools.conftest import asker_for, make_ctx  # noqa: F401

MANAGER_EMAIL = "sam.rivera@acme-payments.example"


async def quiet(slack: SlackHarness) -> None:
    """Nothing was posted (after giving the listeners time to run)."""
    await asyncio.sleep(0.2)
    await slack.settle()
    assert slack.fake.of("chat.postMessage") == []


def pd_writes(sandbox: Sandbox, since: int = 0) -> list[tuple[str, str]]:
    """Non-GET requests the sandbox recorded (``since``: an index into ``sandbox.requests``)."""
    return [(r.method, r.path) for r in list(sandbox.requests)[since:] if r.method != "GET"]


class Page2Fault(Fault):
    """A fault that fires only on later pages (``offset`` > 0) of a list request."""

    def matches(self, request: SandboxRequest) -> bool:
        return Fault.matches(self, request) and (request.query.get("offset") or ["0"])[0] != "0"


@dataclass
class Sleeps:
    """Records the waits a client asked for instead of waiting."""

    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


ClientFactory = Callable[..., tuple[ToolContext, Sleeps]]


@pytest.fixture
async def pd_ctx() -> AsyncIterator[ClientFactory]:
    """``pd_ctx(sandbox, email=MANAGER, token=None)`` -> (ToolContext, Sleeps): a client over the in-process
    transport (faults apply) whose retry waits are recorded, not slept."""
    clients: list[PagerDutyClient] = []

    def build(sandbox: Sandbox, email: str = MANAGER_EMAIL, *, token: str | None = None) -> tuple[ToolContext, Sleeps]:
        world = sandbox.world
        user = world.user_by_email(email)
        assert user is not None
        if token is None:
            token = next(t for t, g in world.tokens.items() if g.user_id == user.id and not g.read_only
                         and not g.revoked)
        sleeps = Sleeps()
        client = PagerDutyClient(token, transport=sandbox.transport(), sleep=sleeps)
        clients.append(client)
        return ToolContext(client, asker_for(sandbox, email), world.now), sleeps

    yield build
    for client in clients:
        await client.aclose()
