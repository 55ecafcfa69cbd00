"""``alex mcp`` on the demo sandbox, in process, and the person answering its confirmations."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Literal

import mcp.types as types
import pytest
from mcp.client.session import ClientRequestContext

from bot.mcp.confirm import Confirmations
from bot.mcp.server import AlexMcp
from bot.sandbox import Sandbox
from bot.store.memory import MemoryState
from bot.terminal.session import Session, sandbox_session
from bot.tools.registry import ALL_TOOLS, READ_TOOLS

TTL_S = 600.0
MODES = ("legacy", "auto")
"""The SDK client's connect modes: the 2025 handshake (JSON-RPC in memory), and 2026-07-28's per-request envelope."""


class Clock:
    """The proposal store's clock: a test moves it on."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Served:
    alex: AlexMcp
    session: Session
    state: MemoryState
    clock: Clock

    @property
    def sandbox(self) -> Sandbox:
        assert self.session.sandbox is not None
        return self.session.sandbox

    def status(self, number: int) -> str:
        return next(i.status for i in self.sandbox.world.incidents.values() if i.number == number)


Serve = Callable[..., Served]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    """``serve(writes=False, as_email=None)``: an :class:`AlexMcp` on a fresh demo account."""
    made: list[Served] = []

    def make(*, writes: bool = False, as_email: str | None = None) -> Served:
        session = sandbox_session("demo", as_email=as_email)
        clock = Clock()
        state = MemoryState(proposal_ttl_s=TTL_S, clock=clock)
        confirmations = Confirmations(state.proposals, state, session.asker, TTL_S) if writes else None
        alex = AlexMcp(session, ALL_TOOLS if writes else READ_TOOLS, confirmations=confirmations, deadline_s=10.0)
        made.append(Served(alex, session, state, clock))
        return made[-1]

    yield make
    for served in made:
        await served.session.aclose()


@dataclass
class Person:
    """Answers alex's "Make this change?" the way a test says, and remembers what was asked."""

    answer: Literal["yes", "no", "decline", "cancel"] = "yes"
    asked: list[str] = field(default_factory=list)

    async def __call__(self, context: ClientRequestContext, params: types.ElicitRequestParams) -> types.ElicitResult:
        assert isinstance(params, types.ElicitRequestFormParams)
        self.asked.append(params.message)
        if self.answer in ("yes", "no"):
            return types.ElicitResult(action="accept", content={"confirm": self.answer == "yes"})
        return types.ElicitResult(action=self.answer)
