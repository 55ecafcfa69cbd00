"""Soak (reliability.md §6 F3): a steady stream of mentions with ~10 % faults, through Bolt's real
dispatch, watching memory, the bounded stores and unhandled errors.

Duration: ``ALEX_SOAK_SECONDS`` (default 10; ``make soak`` runs 1800) or ``ALEX_SOAK_MENTIONS``
(default 300 for the short run, unlimited when ALEX_SOAK_SECONDS is set), whichever ends first, at
``ALEX_SOAK_RATE`` mentions a second (default 30). The mix: LLM reads (~55 %), exact commands (~20 %),
writes the model turns into proposals (~10 %), repeated deliveries of an earlier event (~5 %), and the
faults: PagerDuty 5xx / 429 / timeouts and model failures (~10 %).

The stores run on a fake clock that moves 60 s per mention (so one short run covers hours of TTLs):
proposals expire after 60 s, thread memory after 10 min, deliveries are remembered 15 min, and the
dedupe holds at most ``DEDUPE_MAX_KEYS`` keys.

Pass criteria: every first delivery answered once (repeats not), none with the "something went wrong"
message; RSS growth after the warm-up < ``ALEX_SOAK_MAX_RSS_GROWTH_MB`` (default 50); every store at or
under its configured maximum, and expired entries gone; no exception reached the event loop's handler
and no ERROR log record with a traceback.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import random
import re
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.agent.agent import Agent
from bot.agent.llm import ModelReply, ModelUnavailable
from bot.sandbox import DEFAULT_NOW, Fault, Sandbox, build_sandbox, default_token
from bot.slack.app import build_app
from bot.slack.conversation import FAILED
from bot.slack.identity import IdentityResolver
from bot.slack.runtime import SlackRuntime
from bot.slack.sandbox_backend import SandboxBackend
from bot.slack.warroom import WarRooms
from bot.store.memory import MemoryState
from bot.store.proposals import KEEP_AFTER_EXPIRY_S
from bot.store.thread_memory import MemoryLimits
from tests.fakes.fake_slack import BOT_USER_ID, TEAM_ID, FakeSlack, SlackCall
from tests.fakes.scripted_llm import call, calls, say
from tests.slack.conftest import (
    AISHA,
    GENERAL,
    MANAGER_EMAIL,
    RESPONDER_EMAIL,
    SAM,
    SECRET,
    Clock,
    block_problems,
    event_callback,
    signed,
)

SHORT_SECONDS, SHORT_MENTIONS = 10.0, 300
SOAK_TS_SECONDS = "1773151200"
TICK_S = 60.0
"""Fake-clock seconds per mention."""
PROPOSAL_TTL_S = 60.0
MEMORY_TTL_S = 600.0
DEDUPE_TTL_S = 900.0
DEDUPE_MAX_KEYS = 128
WARM_UP = 0.2
"""The share of the run before the RSS baseline is taken."""
TARGETS = ("platform-engineering", "auth-service", "payments-api", "checkout-web", "billing-worker")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
_COVERS = re.compile(r"who covers ([a-z-]+) right now")
_ACK = re.compile(r"acknowledge incident (\d+)")


def rss_bytes() -> int:
    """Resident set size of this process (/proc/self/statm, no psutil)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE_SIZE


@dataclass(frozen=True)
class Plan:
    seconds: float
    mentions: int | None
    rate: float
    max_growth_mb: float

    @classmethod
    def from_env(cls) -> Plan:
        seconds = os.environ.get("ALEX_SOAK_SECONDS")
        mentions = os.environ.get("ALEX_SOAK_MENTIONS")
        return cls(float(seconds) if seconds else SHORT_SECONDS,
                   int(mentions) if mentions else (None if seconds else SHORT_MENTIONS),
                   float(os.environ.get("ALEX_SOAK_RATE", "30")),
                   float(os.environ.get("ALEX_SOAK_MAX_RSS_GROWTH_MB", "50")))


class SoakModel:
    """Answers each conversation from its own messages after ``latency_s``; fails on "(model-fault)"."""

    def __init__(self, latency_s: float = 0.05) -> None:
        self.latency_s = latency_s
        self.calls = 0
        self.failures = 0

    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelReply:
        self.calls += 1
        await asyncio.sleep(self.latency_s)
        last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
        text = str(messages[last_user]["content"])
        done = any(m["role"] == "tool" for m in messages[last_user:])
        if "(model-fault)" in text:
            self.failures += 1
            if self.failures % 2:
                raise ModelUnavailable("simulated: the model answered 503")
            raise RuntimeError("simulated: the model client crashed")
        if done:
            return say("Here is what I found.")
        if covers := _COVERS.search(text):
            return calls(call("who_is_on_call", {"target": covers.group(1), "target_type": None, "window": None}))
        if ack := _ACK.search(text):
            return calls(call("acknowledge_incidents", {"incidents": [ack.group(1)]}))
        return say("I can help with PagerDuty questions.")

    async def aclose(self) -> None:
        return None


@dataclass
class Soak:
    fake: FakeSlack
    sandbox: Sandbox
    state: MemoryState
    rt: SlackRuntime
    app: Any
    clock: Clock
    model: SoakModel
    first_deliveries: bytearray = field(default_factory=bytearray)
    """1 at index i when mention i was a first delivery (compact: a long soak has ~50,000)."""
    answered: bytearray = field(default_factory=bytearray)
    """Answers posted in the thread of mention i (saturating at 255)."""
    stray_answers: int = 0
    failed_answers: int = 0
    pd_requests: int = 0
    faults: list[Fault] = field(default_factory=list)
    last_posts: list[SlackCall] = field(default_factory=list)

    def drain(self) -> None:
        """Tally what the fakes recorded and forget it (a long soak measures alex's memory, not the fakes').

        One-shot faults not fired yet are dropped too: the next ones replace them."""
        self.pd_requests += len(self.sandbox.requests)
        self.sandbox.requests.clear()
        self.sandbox.faults.clear()
        with self.fake._lock:
            taken, self.fake.calls = self.fake.calls, []
        posts = [c for c in taken if c.method == "chat.postMessage"]
        for post in posts:
            index = mention_index(str(post.args.get("thread_ts")))
            if index is None or index >= len(self.answered):
                self.stray_answers += 1
            else:
                self.answered[index] = min(255, self.answered[index] + 1)
        self.failed_answers += sum(FAILED in str(c.args.get("text")) for c in posts)
        self.last_posts = (self.last_posts + posts)[-20:]


@pytest.fixture
def soak_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        fake.add_user(SAM, email=MANAGER_EMAIL, tz="America/New_York", name="Sam Rivera")
        fake.add_user(AISHA, email=RESPONDER_EMAIL, tz="Europe/London", name="Aisha Khan")
        fake.add_channel(GENERAL, "general")
        yield fake


def build(fake: FakeSlack) -> Soak:
    sandbox = build_sandbox("demo", now=DEFAULT_NOW, rate_limit_per_minute=None)
    clock = Clock()
    state = MemoryState(proposal_ttl_s=PROPOSAL_TTL_S, memory_limits=MemoryLimits(ttl_s=MEMORY_TTL_S),
                        max_keys=DEDUPE_MAX_KEYS, clock=clock)
    model = SoakModel()
    client = AsyncWebClient(token="xoxb-test-token", base_url=fake.api_url)
    # The in-process sandbox transport (not the OpenAPI-checking one: it would dominate the CPU profile).
    backend = SandboxBackend(sandbox, default_token("demo"))
    rt = SlackRuntime(Agent(model, state.memory), backend, IdentityResolver(client, backend), WarRooms(client),
                      state.proposals, state=state, dedupe_ttl_s=DEDUPE_TTL_S)
    app = build_app(rt, client=client, signing_secret=SECRET)
    return Soak(fake, sandbox, state, rt, app, clock, model)


def inject(soak: Soak, rng: random.Random) -> str | None:
    """A one-shot PagerDuty fault for the next request (~7 %), or None."""
    roll = rng.random()
    if roll < 0.03:
        kind, fault = "pd-5xx", Fault(path="*", method="GET", status=rng.choice([500, 502, 503]), times=1)
    elif roll < 0.05:
        kind, fault = "pd-429", Fault(path="*", method="GET", status=429, headers={"ratelimit-reset": "1"}, times=1)
    elif roll < 0.07:
        kind, fault = "pd-timeout", Fault(path="*", method="GET", timeout="before", times=1)
    else:
        return None
    soak.faults.append(soak.sandbox.faults.add(fault))
    return kind


def message_for(i: int, rng: random.Random, triggered: list[int]) -> tuple[str, str]:
    """(kind, text) of mention ``i``."""
    target = TARGETS[i % len(TARGETS)]
    roll = rng.random()
    if roll < 0.03:
        return "model-fault", f"who covers {target} right now, please? (model-fault)"
    if roll < 0.13:
        return "proposal", f"please acknowledge incident {rng.choice(triggered)} for me"
    if roll < 0.33:
        return "command", rng.choice([f"oncall {target}", "services", f"incidents {target}"])
    return "llm", f"who covers {target} right now, please?"


async def deliver(soak: Soak, raw: str, *, retry: int = 0) -> int:
    from slack_bolt.request.async_request import AsyncBoltRequest

    headers = signed(raw)
    if retry:
        headers |= {"x-slack-retry-num": str(retry), "x-slack-retry-reason": "http_timeout"}
    response = await soak.app.async_dispatch(AsyncBoltRequest(body=raw, headers=headers))
    return response.status


@pytest.mark.slow
async def test_f3_soak_memory_and_stores_stay_bounded_with_no_unhandled_errors(
        soak_slack: FakeSlack, caplog: pytest.LogCaptureFixture) -> None:
    plan = Plan.from_env()
    soak = build(soak_slack)
    rng = random.Random(6)
    triggered = sorted(i.number for i in soak.sandbox.world.incidents.values() if i.status == "triggered")
    loop = asyncio.get_running_loop()
    loop_errors: list[dict[str, Any]] = []
    previous_handler = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: loop_errors.append(context))
    caplog.set_level(logging.WARNING)

    kinds: Counter[str] = Counter()
    statuses: Counter[int] = Counter()
    sent: list[str] = []  # raw bodies of first deliveries, for repeats
    tasks: set[asyncio.Task[None]] = set()
    max_sizes: Counter[str] = Counter()
    baseline = start_rss = rss_bytes()
    started = time.monotonic()
    i = 0

    async def one(raw: str, retry: int = 0) -> None:
        statuses[await deliver(soak, raw, retry=retry)] += 1

    try:
        while time.monotonic() - started < plan.seconds and (plan.mentions is None or i < plan.mentions):
            due = started + i / plan.rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            soak.clock.advance(TICK_S)
            if sent and rng.random() < 0.05:  # Slack delivers an earlier event again
                kinds["repeat"] += 1
                soak.first_deliveries.append(0)
                soak.answered.append(0)
                task = asyncio.create_task(one(rng.choice(sent[-10:]), retry=rng.choice([0, 1, 2])))
            else:
                if fault := inject(soak, rng):
                    kinds[fault] += 1
                kind, text = message_for(i, rng, triggered)
                kinds[kind] += 1
                ts = f"{SOAK_TS_SECONDS}.{i:06d}"
                event = {"type": "app_mention", "user": SAM if i % 2 else AISHA, "text": f"<@{BOT_USER_ID}> {text}",
                         "ts": ts, "event_ts": ts, "channel": GENERAL, "team": TEAM_ID}
                raw = json.dumps(event_callback(event, f"EvSOAK{i:07d}"))
                sent.append(raw)
                soak.first_deliveries.append(1)
                soak.answered.append(0)
                task = asyncio.create_task(one(raw))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            i += 1
            if i % 50 == 0:
                soak.drain()
                sizes = soak.state.sizes() | {"proposals": proposal_count(soak), "threads": thread_count(soak)}
                max_sizes |= Counter({k: max(v, max_sizes[k]) for k, v in sizes.items()})
                del sent[:-10]
            if baseline == start_rss and (time.monotonic() - started >= plan.seconds * WARM_UP
                                          or (plan.mentions and i >= plan.mentions * WARM_UP)):
                await settle(soak, tasks)
                gc.collect()
                baseline = rss_bytes()
        await settle(soak, tasks)
        soak.drain()
        gc.collect()
        end_rss = rss_bytes()
        elapsed = time.monotonic() - started

        # Every first delivery answered exactly once, none with the generic failure; repeats never.
        assert statuses == Counter({200: i}), statuses
        assert soak.stray_answers == 0, "answers in threads nobody asked in"
        unanswered = [n for n, first in enumerate(soak.first_deliveries) if first and not soak.answered[n]]
        assert not unanswered, f"{len(unanswered)} mentions never answered, e.g. {unanswered[:5]}"
        twice = {n: count for n, count in enumerate(soak.answered) if count > 1}
        assert not twice, f"answered more than once: {twice}"
        assert soak.failed_answers == 0
        assert not [p for c in soak.last_posts if (p := block_problems(c))]

        # Memory and stores.
        growth_mb = (end_rss - baseline) / 2**20
        assert growth_mb < plan.max_growth_mb, f"RSS grew {growth_mb:.1f} MB after the warm-up"
        sizes = soak.state.sizes()
        assert sizes["dedupe"] <= DEDUPE_MAX_KEYS and max_sizes["dedupe"] <= DEDUPE_MAX_KEYS, (sizes, max_sizes)
        retention = PROPOSAL_TTL_S + KEEP_AFTER_EXPIRY_S
        assert max_sizes["proposals"] <= kinds["proposal"]
        # TTLs: an hour and more later (fake clock), one more message evicts what expired.
        soak.clock.advance(retention + MEMORY_TTL_S + DEDUPE_TTL_S)
        last = json.dumps(event_callback(
            {"type": "app_mention", "user": SAM, "text": f"<@{BOT_USER_ID}> please acknowledge incident "
             f"{triggered[0]} for me", "ts": "1773159999.000001", "event_ts": "1773159999.000001",
             "channel": GENERAL, "team": TEAM_ID}, "EvSOAKLAST"))
        assert await deliver(soak, last) == 200
        await settle(soak, tasks)
        assert proposal_count(soak) == 1, "expired proposals were evicted; only the new one is left"
        assert thread_count(soak) == 1, "expired thread memory was evicted"
        assert await deliver(soak, sent[-1], retry=1) == 200, "an event repeated after the dedupe TTL"
        await settle(soak, tasks)

        # No unhandled exception anywhere.
        assert not loop_errors, loop_errors
        tracebacks = [f"{r.name}: {r.getMessage()}" for r in caplog.records
                      if r.levelno >= logging.ERROR or r.exc_info]
        assert not tracebacks, tracebacks[:5]
    finally:
        loop.set_exception_handler(previous_handler)
        await soak.rt.aclose()

    warnings = Counter(r.name for r in caplog.records if r.levelno == logging.WARNING)
    figures = (f"F3: {i} mentions in {elapsed:.1f} s ({i / elapsed:.1f}/s) {dict(kinds)}; model calls "
               f"{soak.model.calls} ({soak.model.failures} failed); PagerDuty requests {soak.pd_requests} "
               f"({sum(f.fired for f in soak.faults)} faults fired); RSS start {start_rss / 2**20:.1f} MB, after "
               f"warm-up {baseline / 2**20:.1f} MB, end {end_rss / 2**20:.1f} MB (growth {growth_mb:+.1f} MB); "
               f"max sizes {dict(max_sizes)}; warnings by logger {dict(warnings)}")
    print("\n" + figures)  # noqa: T201 -- the measured figures, shown with -s


async def settle(soak: Soak, tasks: set[asyncio.Task[None]]) -> None:
    if tasks:
        await asyncio.gather(*list(tasks))
    await asyncio.sleep(0.05)
    assert await soak.rt.idle(within=60), "listeners still running"


def mention_index(thread_ts: str) -> int | None:
    """Mention i was sent with ts ``1773151200.<i>`` (see the loop above)."""
    seconds, _, fraction = thread_ts.partition(".")
    return int(fraction) if seconds == SOAK_TS_SECONDS and fraction.isdigit() else None


def proposal_count(soak: Soak) -> int:
    return len(soak.state.proposals._items)


def thread_count(soak: Soak) -> int:
    return len(soak.state.memory._threads)
