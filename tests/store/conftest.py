"""State-store fixtures: a real ``redis-server`` (session), every backend parametrized, Slack replicas.

``redis_server`` starts ``redis-server --port <free loopback port> --save '' --appendonly no`` once per
session and stops it at the end. Without ``redis-server`` on PATH the Redis tests skip, saying so; in
CI (``CI=true``) they fail instead: CI must run them (``.ci/run`` installs the Debian package).

``backend`` runs a test on each backend (``memory``, ``sqlite``, ``redis``): ``backend.open()`` opens a
:class:`~bot.store.base.StateStore` on the same underlying storage each time (a second replica, or the
process after a restart), ``backend.clock`` is the stores' clock.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from slack_sdk.web.async_client import AsyncWebClient

from bot.agent.agent import Agent
from bot.agent.llm import ChatModel
from bot.sandbox import Sandbox, default_token
from bot.slack.app import build_app
from bot.slack.identity import IdentityResolver
from bot.slack.runtime import RateLimits, SlackRuntime
from bot.slack.sandbox_backend import SandboxBackend
from bot.slack.warroom import WarRooms
from bot.store.base import StateStore
from bot.store.memory import MemoryState
from bot.store.redis import RedisState
from bot.store.sqlite import SQLiteState
from tests.fakes.fake_slack import FakeSlack
from tests.helpers import sandbox_transport
from tests.slack import conftest as slack_fixtures
from tests.slack.conftest import SECRET, Clock, SlackHarness
from tests.tools import conftest as tool_fixtures

REDIS_MISSING = ("redis-server is not installed: the Redis state tests need a real server "
                 "(apt-get install -y redis-server); CI installs it and fails instead of skipping")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """The URL of a throwaway redis-server on a free loopback port (no persistence)."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {REDIS_MISSING}")
        pytest.skip(REDIS_MISSING)
    port = _free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--protected-mode", "yes"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        try:
            deadline = time.monotonic() + 15
            while True:
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"redis-server did not start on port {port}") from None
                    time.sleep(0.05)
        finally:
            client.close()
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The server's URL, its database emptied for this test."""
    client = redis.Redis.from_url(redis_server)
    try:
        client.flushdb()
    finally:
        client.close()
    return redis_server


@dataclass
class Backend:
    """Opens stores of one kind on shared storage; closes them at the end of the test."""

    kind: str
    clock: Clock
    tmp_path: Path
    redis_url: str | None = None
    opened: list[StateStore] = field(default_factory=list)
    _memory: MemoryState | None = None

    def open(self, **options: Any) -> StateStore:
        store: StateStore
        if self.kind == "memory":  # one process: "another instance" is the same object
            if self._memory is None:
                self._memory = MemoryState(clock=self.clock, **options)
            return self._memory
        if self.kind == "sqlite":
            store = SQLiteState(self.tmp_path / "state" / "alex.sqlite3", clock=self.clock, **options)
        else:
            assert self.redis_url is not None
            store = RedisState.from_url(self.redis_url, clock=self.clock, **options)
        self.opened.append(store)
        return store

    async def expire(self, seconds: float) -> None:
        """Let ``seconds`` pass for TTLs: the store clock moves; Redis's own key TTLs need real time."""
        self.clock.advance(seconds)
        if self.kind == "redis":
            await asyncio.sleep(seconds)

    async def aclose(self) -> None:
        for store in [*self.opened, *([self._memory] if self._memory else [])]:
            await store.aclose()


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    made = Backend(request.param, Clock(), tmp_path, url)
    yield made
    await made.aclose()


# -- Slack app instances on shared state ----------------------------------------------------------

demo = slack_fixtures.demo
fake_slack = slack_fixtures.fake_slack

ReplicaFactory = Callable[..., Awaitable[SlackHarness]]


@pytest.fixture
async def make_replica(fake_slack: FakeSlack, demo: Sandbox) -> AsyncIterator[ReplicaFactory]:
    """``await make_replica(state, model=None, rate_limits=RateLimits())``: one Slack app instance (its own
    agent, PagerDuty client, identity cache) on ``state``; all instances share the fake Slack and the
    demo sandbox, as replicas share Slack and PagerDuty."""
    built: list[SlackRuntime] = []

    async def build(state: StateStore, model: ChatModel | None = None, *,
                    rate_limits: RateLimits | None = None) -> SlackHarness:
        client = AsyncWebClient(token="xoxb-test-token", base_url=fake_slack.api_url)
        backend = SandboxBackend(demo, default_token("demo"), transport=sandbox_transport(demo))
        rt = SlackRuntime(Agent(model, state.memory), backend, IdentityResolver(client, backend), WarRooms(client),
                          state.proposals, state=state, rate_limits=rate_limits or RateLimits())
        built.append(rt)
        return SlackHarness(fake_slack, demo, rt, build_app(rt, client=client, signing_secret=SECRET), Clock())

    yield build
    for rt in built:
        await rt.aclose()

make_ctx = tool_fixtures.make_ctx
