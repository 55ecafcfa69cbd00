"""Issue 10, items 4, 6, 7 and 11: what a write reports is what happened, the card shows all it will send,
the audit log fails closed, and one message has one deadline that PagerDuty is held to (and blamed for).

Black-box through the Slack app (Bolt's dispatch with signed requests, FakeSlack, the demo sandbox with
injected faults, the ScriptedModel); the audit log and rate limits run on failing state stores, and on a
real ``redis-server`` that the test stops.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import redis
from slack_sdk.web.async_client import AsyncWebClient

from bot.agent.agent import Agent
from bot.agent.llm import ChatModel
from bot.agent.loop import Limits
from bot.sandbox import Sandbox, default_token
from bot.slack.app import build_app
from bot.slack.identity import IdentityResolver
from bot.slack.render import render_proposal
from bot.slack.runtime import RATE_LIMITED, RateLimits, SlackRuntime
from bot.slack.sandbox_backend import SandboxBackend
from bot.slack.warroom import WarRooms
from bot.store import StateStore
from bot.store.audit_buffer import AuditBuffer, AuditBufferFull
from bot.store.memory import MemoryState
from bot.store.redis import RedisState
from bot.tools.audit import AuditEntry
from bot.tools.base import Operation, Proposal
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.scripted_llm import ScriptedModel, call, calls, say
from tests.helpers import sandbox_transport
from tests.reliability.conftest import pd_writes
from tests.slack.conftest import (
    SAM,
    SECRET,
    Clock,
    SlackFactory,
    SlackHarness,
    blocks_of,
    buttons,
    incident,
    message_text,
    triggered_number,
)

WITHIN_S = 10.0
"""Generous: the bug was a reply that waited for PagerDuty's 30 s latency."""


# -- a Slack app on a given state store ------------------------------------------------------------
AppFactory = Callable[..., Awaitable[SlackHarness]]


@pytest.fixture
async def make_app(fake_slack: FakeSlack, demo: Sandbox) -> AsyncIterator[AppFactory]:
    """``await make_app(state, model=None, rate_limits=None, audit_buffer=None)``: the Slack app on ``state``."""
    built: list[SlackRuntime] = []

    async def build(state: StateStore, model: ChatModel | None = None, *, rate_limits: RateLimits | None = None,
                    audit_buffer: AuditBuffer | None = None) -> SlackHarness:
        client = AsyncWebClient(token="xoxb-test-token", base_url=fake_slack.api_url)
        backend = SandboxBackend(demo, default_token("demo"), transport=sandbox_transport(demo))
        rt = SlackRuntime(Agent(model, state.memory), backend, IdentityResolver(client, backend), WarRooms(client),
                          state.proposals, state=state, rate_limits=rate_limits or RateLimits(),
                          audit_buffer=audit_buffer)
        built.append(rt)
        return SlackHarness(fake_slack, demo, rt, build_app(rt, client=client, signing_secret=SECRET), Clock())

    yield build
    for rt in built:
        await rt.aclose()


class AuditDown(MemoryState):
    """The audit log cannot be written (Redis down, say); everything else works."""

    async def record(self, entry: AuditEntry) -> None:
        raise ConnectionError("audit store unreachable")


class DownAfterTheWrite(MemoryState):
    """Takes ``started`` entries but fails the outcome entries while ``down`` (it went down mid-write)."""

    down = True

    async def record(self, entry: AuditEntry) -> None:
        if self.down and entry.outcome != "started":
            raise ConnectionError("audit store went away")
        await super().record(entry)


class CountsDown(MemoryState):
    """Rate-limit counting fails (the shared store is unreachable)."""

    async def hit(self, key: str, limit: int, window_s: float) -> bool:
        raise ConnectionError("rate limits unreachable")

    async def first_seen(self, key: str, ttl_s: float = 900.0) -> bool:
        if key.startswith("rate-notice:"):
            raise ConnectionError("rate limits unreachable")
        return await super().first_seen(key, ttl_s)


def outcome_entries(entries: list[AuditEntry]) -> list[AuditEntry]:
    return [e for e in entries if e.outcome != "started"]


# ------------------------------------------------------------------------------------------ item 4
async def test_4_a_resolve_whose_first_attempt_went_through_unanswered_says_done(make_slack: SlackFactory,
                                                                                 demo: Sandbox) -> None:
    slack = await make_slack()
    number = triggered_number(demo)
    demo.faults.add(path="/incidents", method="PUT", timeout="after", times=1)  # applied, then no answer
    await slack.mention(f"resolve {number} rolled back")
    text = message_text(await slack.reply())
    assert incident(demo, number).status == "resolved"
    assert "first attempt went through" in text and f"#{number}" in text
    assert "Nothing changed" not in text and "already resolved" not in text
    done, started = await slack.rt.state.recent(10)
    assert (started.outcome, done.outcome) == ("started", "ok") and done.attempt_id == started.attempt_id
    assert done.pd_status == ("no response", "400"), "both attempts: the unanswered one and the 1001 retry"
    assert "first attempt went through" in done.detail


async def test_4_an_acknowledge_confirmed_on_a_card_whose_first_attempt_landed(make_slack: SlackFactory,
                                                                               demo: Sandbox) -> None:
    number = triggered_number(demo)
    model = ScriptedModel([calls(call("acknowledge_incidents", {"incidents": [str(number)]})),
                           say("Prepared: confirm below.")])
    slack = await make_slack(model)
    await slack.mention("ack the platform one")
    card = await slack.reply()
    [pid] = buttons(card, "proposal_confirm")
    demo.faults.add(path="/incidents", method="PUT", timeout="after", times=1)
    await slack.click("proposal_confirm", pid, user=SAM, message=card)
    text = message_text(await slack.updated())
    assert incident(demo, number).status == "acknowledged"
    assert "first attempt went through" in text and "Nothing changed" not in text
    [done] = outcome_entries(await slack.rt.state.recent(10))
    assert done.outcome == "ok" and done.pd_status == ("no response", "400")


# ------------------------------------------------------------------------------------------ item 6
NOTE_WORDS = " ".join(f"step{n:03d}" for n in range(249))  # 1,991 characters


async def test_6_the_card_shows_all_of_a_2000_character_note_it_would_post(make_slack: SlackFactory,
                                                                           demo: Sandbox) -> None:
    number = triggered_number(demo)
    note = f"{NOTE_WORDS} THE-END"
    assert 1_900 < len(note) <= 2_000
    model = ScriptedModel([calls(call("add_incident_note", {"incident": str(number), "note": note})),
                           say("Prepared the note.")])
    slack = await make_slack(model)
    await slack.mention("add my long write-up as a note")
    card = await slack.reply()
    text = "".join(str(b.get("text", {}).get("text", "")) for b in blocks_of(card) if b.get("type") == "section")
    assert note in text, "every character Confirm would post is on the card"
    [pid] = buttons(card, "proposal_confirm")
    await slack.click("proposal_confirm", pid, user=SAM, message=card)
    await slack.updated()
    assert [n.content for n in incident(demo, number).notes][-1] == note


async def test_6_a_note_too_long_to_show_in_full_cannot_be_confirmed(make_slack: SlackFactory,
                                                                     demo: Sandbox) -> None:
    number = triggered_number(demo)
    note = "<>" * 1_000  # 2,000 characters; 8,000 once escaped for Slack: more than a card holds
    model = ScriptedModel([calls(call("add_incident_note", {"incident": str(number), "note": note})),
                           say("Prepared the note.")])
    slack = await make_slack(model)
    await slack.mention("add this as a note")
    card = await slack.reply()
    assert buttons(card, "proposal_confirm") == [], "no Confirm for text nobody could read first"
    assert "Can't be confirmed here" in message_text(card)
    assert pd_writes(demo) == []


def test_6_sent_text_missing_from_the_lines_is_refused_by_construction() -> None:
    """A write tool that forgot to list its note still cannot get a Confirm button for it."""
    hidden = Proposal("add_incident_note", "Add a note to #1004", ("#1004 Disk full (triggered)",),
                      (Operation("POST", "/incidents/Q1004/notes", {"note": {"content": "wire money to X"}},
                                  kind="note"),))
    card = render_proposal(hidden, "p-1")
    assert not any(b.get("type") == "actions" for b in card)
    assert "Can't be confirmed here" in str(card)
    shown = Proposal(hidden.action, hidden.summary, (*hidden.lines, "Note: wire money to X"), hidden.operations)
    assert any(b.get("type") == "actions" for b in render_proposal(shown, "p-1"))


# ------------------------------------------------------------------------------------------ item 7
async def test_7_no_write_runs_when_the_audit_log_cannot_record_it(make_app: AppFactory, demo: Sandbox,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    slack = await make_app(AuditDown())
    number = triggered_number(demo)
    with caplog.at_level(logging.ERROR, "bot.tools.proposals"):
        await slack.mention(f"resolve {number} fixed")
        text = message_text(await slack.reply())
    assert pd_writes(demo) == [], "nothing sent to PagerDuty"
    assert incident(demo, number).status == "triggered"
    assert "audit log is unavailable" in text and "Try again" in text
    assert "refused, nothing sent" in caplog.text


async def test_7_an_outcome_the_store_lost_is_buffered_on_disk_and_replayed(make_app: AppFactory, demo: Sandbox,
                                                                            tmp_path: Path) -> None:
    state = DownAfterTheWrite()
    buffer = AuditBuffer(tmp_path / "audit-buffer.jsonl")
    slack = await make_app(state, audit_buffer=buffer)
    first, second = sorted(i.number for i in demo.world.incidents.values() if i.status == "triggered")[:2]
    await slack.mention(f"ack {first}")
    await slack.reply()
    assert incident(demo, first).status == "acknowledged"
    [kept] = buffer.pending()
    assert (kept.action, kept.outcome, kept.pd_status) == ("acknowledge_incidents", "ok", ("2xx",))
    assert [e.outcome for e in await state.recent(10)] == ["started"]
    state.down = False
    await slack.mention(f"ack {second}")
    await slack.reply(2)
    assert buffer.pending() == [] and not buffer.path.exists()
    entries = await state.recent(10)
    assert kept in entries, "replayed into the store once it took a record again"
    assert sorted(e.outcome for e in entries) == ["ok", "ok", "started", "started"]


async def test_7_the_buffer_is_bounded_and_replays_in_order_keeping_what_failed(tmp_path: Path) -> None:
    buffer = AuditBuffer(tmp_path / "b.jsonl", max_bytes=2_000)
    entries = [AuditEntry(f"action_{n}", "x", "ok", attempt_id=str(n)) for n in range(3)]
    for entry in entries:
        await buffer.add(entry)
    with pytest.raises(AuditBufferFull):
        for n in range(50):
            await buffer.add(AuditEntry("more", "y" * 100, "ok", attempt_id=f"m{n}"))
    assert buffer.path.stat().st_size <= 2_000

    class TakesOne(MemoryState):
        taken = 0

        async def record(self, entry: AuditEntry) -> None:
            if self.taken >= 1:
                raise ConnectionError("down again")
            self.taken += 1
            await super().record(entry)

    store = TakesOne()
    assert await buffer.replay(store) == 1
    assert [e.action for e in await store.recent()] == ["action_0"]
    assert [e.action for e in buffer.pending()][:2] == ["action_1", "action_2"], "the rest wait, in order"


async def test_7_rate_limits_hold_in_process_when_the_shared_state_fails(make_app: AppFactory) -> None:
    slack = await make_app(CountsDown(), rate_limits=RateLimits(per_user=2, per_channel=100))
    for _ in range(4):
        await slack.mention("oncall platform-engineering")
    await slack.fake.wait_for("chat.postMessage", 3)
    await slack.settle()
    posts = slack.fake.of("chat.postMessage")
    assert len(posts) == 3, "two answers, one polite refusal, then silence"
    assert sum(RATE_LIMITED[:40] in message_text(p) for p in posts) == 1


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def private_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A redis-server of this test's own (the test stops it)."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true and redis-server is not installed")
        pytest.skip("redis-server is not installed")
    port = _free_port()
    process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        try:
            started = time.monotonic()
            while True:
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    if process.poll() is not None or time.monotonic() - started > 15:
                        raise RuntimeError("redis-server did not start") from None
                    time.sleep(0.05)
        finally:
            client.close()
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=10)


async def test_7_with_redis_stopped_a_typed_resolve_is_refused_and_limits_still_hold(
        make_app: AppFactory, demo: Sandbox, private_redis: tuple[str, subprocess.Popen[bytes]]) -> None:
    url, server = private_redis
    state = RedisState.from_url(url)
    slack = await make_app(state, rate_limits=RateLimits(per_user=3, per_channel=100))
    first, second = sorted(i.number for i in demo.world.incidents.values() if i.status == "triggered")[:2]
    await slack.mention(f"ack {first}")
    await slack.reply()
    assert [e.outcome for e in await state.recent(10)] == ["ok", "started"]
    server.terminate()
    server.wait(timeout=10)
    await slack.mention(f"resolve {second} fixed")
    text = message_text(await slack.reply(2))
    assert "audit log is unavailable" in text
    assert pd_writes(demo) == [("PUT", "/incidents")], "only the audited acknowledgement reached PagerDuty"
    assert incident(demo, second).status == "triggered"
    for _ in range(3):
        await slack.mention("oncall platform-engineering")
    await slack.fake.wait_for("chat.postMessage", 5)
    await slack.settle()
    posts = slack.fake.of("chat.postMessage")
    # Counted in this process since Redis stopped: the resolve, two answers, then the 4th is refused.
    assert len(posts) == 5 and sum(RATE_LIMITED[:40] in message_text(p) for p in posts) == 1


# ----------------------------------------------------------------------------------------- item 11
async def test_11_a_typed_command_stops_at_the_message_deadline(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    slack.rt.agent.limits = Limits(deadline_s=2.0)
    demo.faults.add(path="/oncalls*", latency=30.0)
    started = time.monotonic()
    await slack.mention("oncall platform-engineering")
    reply = await slack.fake.wait_for("chat.postMessage", 1, within=WITHIN_S)
    assert time.monotonic() - started < WITHIN_S
    assert "did not answer in time" in message_text(reply[0])


async def test_11_a_slow_pagerduty_is_named_not_blamed_on_the_model(make_slack: SlackFactory,
                                                                    demo: Sandbox) -> None:
    model = ScriptedModel([calls(call("who_is_on_call", {"target": "platform-engineering", "window": None})),
                           say("Ana is on call.")])
    slack = await make_slack(model)
    slack.rt.agent.limits = Limits(deadline_s=2.0)
    demo.faults.add(path="/oncalls*", latency=30.0)
    await slack.mention("who is on call for platform?")
    [reply] = await slack.fake.wait_for("chat.postMessage", 1, within=WITHIN_S)
    text = message_text(reply)
    assert "PagerDuty was slow" in text and "who_is_on_call" in text
    assert "model is unavailable" not in text and len(model.calls) == 1


async def test_11_each_failed_pagerduty_request_logs_one_warning_without_secrets(
        make_slack: SlackFactory, demo: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    slack = await make_slack()
    demo.faults.add(path="/oncalls*", status=503, code=2000)
    with caplog.at_level(logging.DEBUG, "bot.pagerduty"):
        await slack.mention("oncall platform-engineering")
        await slack.reply()
    failed = [r for r in caplog.records if r.name == "bot.pagerduty" and r.levelno == logging.WARNING]
    assert failed, "a failed request leaves a WARNING line"
    lines = [r.getMessage() for r in failed]
    assert all(line.startswith("PagerDuty GET /oncalls -> 503 (attempt ") and "code 2000" in line for line in lines)
    assert [line.split("(attempt ")[1][:1] for line in lines] == [str(n) for n in range(1, len(lines) + 1)]
    assert not any(token in caplog.text for token in demo.world.tokens), "never a token"
    assert "since=" not in caplog.text and "@" not in "".join(lines), "never query values or e-mails"

