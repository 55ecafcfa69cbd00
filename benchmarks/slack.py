"""The Slack path under load: Bolt's real dispatch, signed requests, a fake Slack Web API (tests/fakes).

* one mention, then ``concurrent`` mentions at once: wall time from the first delivery until every
  listener is idle (the answer posted), and where the CPU of the concurrent run went: the event loop's
  thread split into the in-process sandbox (its dispatch, timed), the scripted model and alex (the rest:
  Bolt, the agent, the PagerDuty client, rendering), and the fake Slack server's threads;
* a burst of ``deliveries`` events: how long each ``app.async_dispatch`` takes to return (the ack
  Slack waits for, 3 s at most).

The agent answers with the benchmark's scripted model (injected LLM latency) from the large sandbox
(injected PagerDuty latency). Needs the repository's tests/ (the fake Slack), not the installed package.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import statistics
import time
from collections.abc import Mapping
from dataclasses import dataclass

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from benchmarks.agent import SandboxCpu
from benchmarks.model import AlexScript, RoutedModel
from bot.agent.agent import Agent
from bot.sandbox import Sandbox, default_token
from bot.slack.app import build_app
from bot.slack.identity import IdentityResolver
from bot.slack.runtime import SlackRuntime
from bot.slack.sandbox_backend import SandboxBackend
from bot.slack.warroom import WarRooms
from bot.store.proposals import InMemoryProposalStore
from bot.store.thread_memory import InMemoryThreadMemory
from tests.fakes.fake_slack import BOT_USER_ID, TEAM_ID, FakeSlack

SECRET = "bench-signing-secret"
USER, CHANNEL = "U0BENCH", "C0BENCH"


@dataclass
class SlackFigures:
    one_mention_ms: float
    concurrent: int
    concurrent_ms: float
    deliveries: int
    ack_p50_ms: float
    ack_p99_ms: float
    ack_max_ms: float
    concurrent_cpu: CpuSplit
    one_cpu: CpuSplit


@dataclass
class CpuSplit:
    """CPU milliseconds one run used, by whom (the bench shares one process and one event loop)."""

    wall_ms: float
    alex_ms: float
    sandbox_ms: float
    model_ms: float
    fake_slack_ms: float
    """The fake Slack Web API's server threads (not alex's)."""

    @property
    def loop_busy(self) -> float:
        """Share of the wall time the event loop's thread was on a core (1.0: the run was CPU-bound)."""
        return round((self.alex_ms + self.sandbox_ms + self.model_ms) / self.wall_ms, 2) if self.wall_ms else 0.0


class _Harness:
    def __init__(self, fake: FakeSlack, sandbox: Sandbox, scripts: Mapping[str, AlexScript],
                 llm_latency_s: float) -> None:
        client = AsyncWebClient(token="xoxb-bench", base_url=fake.api_url)
        backend = SandboxBackend(sandbox, default_token("large"))
        self.model = RoutedModel(scripts, llm_latency_s)
        self.sandbox_cpu = SandboxCpu(sandbox)
        self.rt = SlackRuntime(Agent(self.model, InMemoryThreadMemory()), backend,
                               IdentityResolver(client, backend), WarRooms(client), InMemoryProposalStore(600.0),
                               None, allow_unmapped_reads=True)
        self.app = build_app(self.rt, client=client, signing_secret=SECRET)
        self._ids = itertools.count(1)
        self.signer = SignatureVerifier(SECRET)

    def _request(self, text: str) -> AsyncBoltRequest:
        n = next(self._ids)
        ts = f"1773151200.{n:06d}"
        event = {"type": "app_mention", "user": USER, "text": f"<@{BOT_USER_ID}> {text}", "ts": ts,
                 "event_ts": ts, "channel": CHANNEL, "team": TEAM_ID}
        body = json.dumps({
            "token": "legacy", "team_id": TEAM_ID, "api_app_id": "A0ALEX", "event": event, "type": "event_callback",
            "event_id": f"EvBench{n:06d}", "event_time": int(time.time()),
            "authorizations": [{"enterprise_id": None, "team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True,
                                "is_enterprise_install": False}], "is_ext_shared_channel": False})
        stamp = str(int(time.time()))
        headers = {"content-type": "application/json", "x-slack-request-timestamp": stamp,
                   "x-slack-signature": self.signer.generate_signature(timestamp=stamp, body=body)}
        return AsyncBoltRequest(body=body, headers=headers)

    async def deliver(self, text: str) -> float:
        """Dispatch one mention; the milliseconds until the ack."""
        request = self._request(text)
        started = time.perf_counter()
        response = await self.app.async_dispatch(request)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status != 200:
            raise RuntimeError(f"Slack delivery failed: {response.status} {response.body}")
        return elapsed

    async def settle(self) -> None:
        await asyncio.sleep(0.02)
        if not await self.rt.idle(within=240):
            raise RuntimeError("Slack listeners still running after 240 s")

    async def answered(self, texts: list[str]) -> float:
        """Deliver ``texts`` at once; the milliseconds until every answer is done."""
        started = time.perf_counter()
        await asyncio.gather(*(self.deliver(t) for t in texts))
        await self.settle()
        return (time.perf_counter() - started) * 1000

    async def profiled(self, texts: list[str]) -> CpuSplit:
        """:meth:`answered`, with where its CPU went."""
        process, thread = time.process_time(), time.thread_time()
        sandbox, model = self.sandbox_cpu.seconds, self.model.stats.cpu_s
        wall = await self.answered(texts)
        process, thread = time.process_time() - process, time.thread_time() - thread
        sandbox, model = self.sandbox_cpu.seconds - sandbox, self.model.stats.cpu_s - model
        return CpuSplit(round(wall, 1), round(max(0.0, thread - sandbox - model) * 1000, 1), round(sandbox * 1000, 1),
                        round(model * 1000, 1), round(max(0.0, process - thread) * 1000, 1))


def _percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p99 of 100 values is the 99th smallest)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


async def measure_slack(sandbox: Sandbox, prompt: str, script: AlexScript, *, llm_latency_s: float,
                        concurrent: int = 50, deliveries: int = 100, user_email: str, user_tz: str) -> SlackFigures:
    with FakeSlack() as fake:
        fake.add_user(USER, email=user_email, tz=user_tz, name="Bench User")
        fake.add_channel(CHANNEL, "bench")
        harness = _Harness(fake, sandbox, {prompt: script}, llm_latency_s)
        try:
            await harness.answered([prompt])  # warm-up: identity lookups are cached after the first
            one = await harness.profiled([prompt])
            many = await harness.profiled([prompt] * concurrent)
            acks: list[float] = []

            async def timed() -> None:
                acks.append(await harness.deliver(prompt))

            await asyncio.gather(*(timed() for _ in range(deliveries)))
            await harness.settle()
        finally:
            await harness.rt.aclose()
    return SlackFigures(one.wall_ms, concurrent, many.wall_ms, deliveries,
                        round(statistics.median(acks), 2), round(_percentile(acks, 99), 2), round(max(acks), 2),
                        many, one)

