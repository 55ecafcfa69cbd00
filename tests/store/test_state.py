"""Every state operation on every backend (memory, SQLite, Redis): dedupe, proposals (atomic claim,
expiry, once), rate limits, the audit log, thread memory; bounds; survival across a restart."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.store import open_state
from bot.store.memory import MemoryState
from bot.store.proposals import PendingProposal
from bot.store.redis import RedisState
from bot.store.sqlite import SQLiteState
from bot.store.thread_memory import MemoryLimits, SQLiteThreadMemory
from bot.tools.audit import AuditEntry
from bot.tools.base import Operation, Proposal
from tests.store.conftest import Backend

PROPOSAL = Proposal(
    "resolve_incidents", "Resolve #1004 checkout 5xx", ("#1004 checkout 5xx (acknowledged)",),
    (Operation("PUT", "/incidents", {"incidents": [{"id": "Q1004", "type": "incident_reference",
                                                     "status": "resolved"}]}, kind="bulk_status"),),
    noops=("#1005 is already resolved",), incident_ids=("Q1004",))


def pending() -> PendingProposal:
    return PendingProposal(PROPOSAL, "U0SAM", "C0GENERAL", "1773151200.000100", asker_name="Sam Rivera",
                           tool="resolve_incidents", arguments={"incidents": ["1004"], "resolution_note": None})


def entry(action: str = "resolve_incidents", **changes: Any) -> AuditEntry:
    base = AuditEntry(action, "Resolve #1004", "ok", targets=("Q1004",), pd_status=("2xx",),
                      requested_by="U0SAM", confirmed_by="U0SAM", at=1_773_151_300.5)
    return replace(base, **changes)


# -- dedupe ---------------------------------------------------------------------------------------

async def test_first_seen_once_per_key(backend: Backend) -> None:
    store = backend.open()
    assert await store.first_seen("event:Ev1", 60) is True
    assert await store.first_seen("event:Ev1", 60) is False
    assert await store.first_seen("event:Ev2", 60) is True


async def test_first_seen_forgets_after_the_ttl(backend: Backend) -> None:
    store = backend.open()
    assert await store.first_seen("event:Ev1", 0.2)
    assert not await store.first_seen("event:Ev1", 0.2)
    await backend.expire(0.35)
    assert await store.first_seen("event:Ev1", 0.2), "the key expired"


async def test_first_seen_is_shared_between_instances(backend: Backend) -> None:
    one, two = backend.open(), backend.open()
    results = await asyncio.gather(*(store.first_seen("event:EvX", 60) for store in [one, two] * 10))
    assert results.count(True) == 1


# -- leases ---------------------------------------------------------------------------------------

async def test_lease_is_held_by_one_owner_across_instances(backend: Backend) -> None:
    one, two = backend.open(), backend.open()
    results = await asyncio.gather(*(store.lease("scheduler", f"replica-{i % 2}", 60)
                                     for i, store in enumerate([one, two] * 5)))
    winners = {f"replica-{i % 2}" for i, won in enumerate(results) if won}
    assert len(winners) == 1, "one owner holds the lease; the same owner may renew it"
    owner = winners.pop()
    other = "replica-1" if owner == "replica-0" else "replica-0"
    assert await two.lease("scheduler", owner, 60), "the holder renews"
    assert not await one.lease("scheduler", other, 60)


async def test_lease_is_free_after_its_ttl_or_when_given_up(backend: Backend) -> None:
    store = backend.open()
    assert await store.lease("scheduler", "a", 0.2)
    assert not await store.lease("scheduler", "b", 0.2)
    await backend.expire(0.35)
    assert await store.lease("scheduler", "b", 60), "an expired lease is free"
    assert not await store.lease("scheduler", "a", 0), "only the holder gives it up"
    assert not await store.lease("scheduler", "a", 60)
    assert not await store.lease("scheduler", "b", 0)
    assert await store.lease("scheduler", "a", 60), "given up, it is free"


async def test_lease_arguments_are_bounded(backend: Backend) -> None:
    store = backend.open()
    for key, owner, ttl in [("", "a", 1), ("k", "", 1), ("k" * 201, "a", 1), ("k", "a", -1)]:
        with pytest.raises(ValueError):
            await store.lease(key, owner, ttl)


# -- proposals ------------------------------------------------------------------------------------

async def test_put_get_round_trip(backend: Backend) -> None:
    store = backend.open(proposal_ttl_s=600)
    pid = await store.proposals.put(pending())
    got = await store.proposals.get(pid)
    assert got is not None
    assert got.proposal == PROPOSAL
    assert (got.asker_slack_id, got.channel, got.thread_ts, got.asker_name) == (
        "U0SAM", "C0GENERAL", "1773151200.000100", "Sam Rivera")
    assert (got.tool, got.arguments) == ("resolve_incidents", {"incidents": ["1004"], "resolution_note": None})
    assert got.state == "pending" and got.handled_by is None
    assert got.expires_at - got.created_at == pytest.approx(600)
    assert got.created_at == pytest.approx(backend.clock.now)
    assert await store.proposals.get("nope") is None


async def test_claim_wins_once(backend: Backend) -> None:
    store = backend.open()
    pid = await store.proposals.put(pending())
    first = await store.proposals.claim(pid, "U0SAM", "confirmed")
    assert first.status == "claimed" and first.pending is not None
    assert (first.pending.state, first.pending.handled_by) == ("confirmed", "U0SAM")
    again = await store.proposals.claim(pid, "U0AISHA", "cancelled")
    assert again.status == "taken" and again.pending is not None and again.pending.state == "confirmed"
    assert (await store.proposals.claim("unknown", "U0SAM", "confirmed")).status == "missing"
    stored = await store.proposals.get(pid)
    assert stored is not None and stored.state == "confirmed" and stored.handled_by == "U0SAM"


async def test_cancel_then_confirm_is_taken(backend: Backend) -> None:
    store = backend.open()
    pid = await store.proposals.put(pending())
    assert (await store.proposals.claim(pid, "U0SAM", "cancelled")).status == "claimed"
    taken = await store.proposals.claim(pid, "U0SAM", "confirmed")
    assert taken.status == "taken" and taken.pending is not None and taken.pending.state == "cancelled"


async def test_claim_after_expiry(backend: Backend) -> None:
    store = backend.open(proposal_ttl_s=600)
    pid = await store.proposals.put(pending())
    backend.clock.advance(601)
    expired = await store.proposals.claim(pid, "U0SAM", "confirmed")
    assert expired.status == "expired" and expired.pending is not None
    assert expired.pending.expires_at - expired.pending.created_at == pytest.approx(600)
    assert (await store.proposals.claim(pid, "U0SAM", "confirmed")).status == "expired"


async def test_twenty_concurrent_claims_one_wins(backend: Backend) -> None:
    one, two = backend.open(), backend.open()
    pid = await one.proposals.put(pending())
    claims = await asyncio.gather(*(store.proposals.claim(pid, f"U{i}", "confirmed")
                                    for i, store in enumerate([one, two] * 10)))
    assert [c.status for c in claims].count("claimed") == 1
    assert {c.status for c in claims} == {"claimed", "taken"}
    winner = next(c for c in claims if c.status == "claimed")
    stored = await two.proposals.get(pid)
    assert stored is not None and winner.pending is not None and stored.handled_by == winner.pending.handled_by


async def test_once(backend: Backend) -> None:
    store = backend.open()
    assert await store.proposals.once("ack:Q1:U0SAM", 0.2)
    assert not await store.proposals.once("ack:Q1:U0SAM", 0.2)
    assert await store.proposals.once("ack:Q1:U0AISHA", 0.2)
    await backend.expire(0.35)
    assert await store.proposals.once("ack:Q1:U0SAM", 0.2)


# -- rate limits ----------------------------------------------------------------------------------

async def test_hit_counts_per_key_and_window(backend: Backend) -> None:
    store = backend.open()
    backend.clock.now = 60 * 16_667 + 20.0  # 20 s into a 60 s window
    assert [await store.hit("user:U0SAM", 3, 60) for _ in range(4)] == [True, True, True, False]
    assert await store.hit("user:U0AISHA", 3, 60), "other keys have their own count"
    backend.clock.advance(40)  # the next window
    assert await store.hit("user:U0SAM", 3, 60)


async def test_hit_is_shared_and_exact_under_concurrency(backend: Backend) -> None:
    one, two = backend.open(), backend.open()
    results = await asyncio.gather(*(store.hit("channel:C1", 5, 60) for store in [one, two] * 10))
    assert results.count(True) == 5


# -- audit log ------------------------------------------------------------------------------------

async def test_audit_record_and_recent(backend: Backend) -> None:
    store = backend.open()
    assert await store.recent() == []
    first = entry("acknowledge_incidents", via="button", channel="C0GENERAL", actor_email="sam@x.example")
    await store.record(first)
    await store.record(entry("add_incident_note", outcome="maybe_applied", pd_status=("no response",)))
    recent = await store.recent(10)
    assert [e.action for e in recent] == ["add_incident_note", "acknowledge_incidents"], "newest first"
    assert recent[1] == first
    assert recent[0].outcome == "maybe_applied" and recent[0].pd_status == ("no response",)
    assert [e.action for e in await store.recent(1)] == ["add_incident_note"]
    assert await backend.open().recent(10) == recent, "another instance sees the same log"


async def test_audit_log_is_bounded(backend: Backend) -> None:
    store = backend.open(audit_max_rows=5)
    for i in range(12):
        await store.record(entry(f"action_{i}"))
    assert [e.action for e in await store.recent(100)] == [f"action_{i}" for i in range(11, 6, -1)]


# -- thread memory --------------------------------------------------------------------------------

def exchange(i: int) -> list[dict[str, object]]:
    return [{"role": "user", "content": f"question {i}"}, {"role": "assistant", "content": f"answer {i}"}]


async def test_thread_memory_round_trip_and_bounds(backend: Backend) -> None:
    store = backend.open(memory_limits=MemoryLimits(max_exchanges=3, ttl_s=3600))
    for i in range(5):
        await store.memory.append("C1:1.0", exchange(i))
    await store.memory.append("C1:2.0", exchange(99))
    loaded = await backend.open(memory_limits=MemoryLimits(max_exchanges=3, ttl_s=3600)).memory.load("C1:1.0")
    assert [m["content"] for m in loaded] == [f"{kind} {i}" for i in (2, 3, 4) for kind in ("question", "answer")]
    backend.clock.advance(3601)
    assert await store.memory.load("C1:1.0") == [], "expired"


# -- restart survival, files ----------------------------------------------------------------------

async def test_sqlite_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "new-dir" / "alex.sqlite3"
    assert not path.exists()
    store = SQLiteState(path)
    assert await store.first_seen("event:Ev1")
    pid = await store.proposals.put(pending())
    claimed_pid = await store.proposals.put(pending())
    assert (await store.proposals.claim(claimed_pid, "U0SAM", "confirmed")).status == "claimed"
    await store.record(entry())
    await store.memory.append("C1:1.0", exchange(1))
    await store.hit("user:U0SAM", 1, 3600)
    await store.aclose()
    assert path.exists(), "created on first use"
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    again = SQLiteState(path)
    try:
        assert not await again.first_seen("event:Ev1"), "dedupe survives"
        stored = await again.proposals.get(pid)
        assert stored is not None and stored.proposal == PROPOSAL and stored.state == "pending"
        assert (await again.proposals.claim(claimed_pid, "U0SAM", "confirmed")).status == "taken"
        assert (await again.proposals.claim(pid, "U0SAM", "confirmed")).status == "claimed"
        assert await again.recent() == [entry()]
        assert [m["content"] for m in await again.memory.load("C1:1.0")] == ["question 1", "answer 1"]
        assert not await again.hit("user:U0SAM", 1, 3600), "rate counts survive"
    finally:
        await again.aclose()


async def test_sqlite_purges_expired_keys(tmp_path: Path) -> None:
    clock = [1_000_000.0]
    store = SQLiteState(tmp_path / "s.sqlite3", clock=lambda: clock[0], max_keys=50)
    try:
        for i in range(450):
            await store.first_seen(f"event:{i}", 10)
            await store.hit(f"user:{i}", 5, 10)
            clock[0] += 0.1
        with sqlite3.connect(tmp_path / "s.sqlite3") as db:
            seen = db.execute("SELECT COUNT(*) FROM alex_seen").fetchone()[0]
            rate = db.execute("SELECT COUNT(*) FROM alex_rate").fetchone()[0]
        assert seen <= 50 + 200 and rate <= 50 + 200, (seen, rate)
    finally:
        await store.aclose()


async def test_redis_keys_carry_ttls(redis_url: str) -> None:
    store = RedisState.from_url(redis_url)
    try:
        await store.first_seen("event:Ev1", 900)
        pid = await store.proposals.put(pending())
        await store.memory.append("C1:1.0", exchange(1))
        await store.hit("user:U0SAM", 5, 60)
        keys = [k async for k in store.client.scan_iter("alex:*")]
        without_ttl = [k for k in keys if await store.client.pttl(k) < 0 and not str(k).endswith("audit")]
        assert len(keys) == 4 and without_ttl == []
        assert 0 < await store.client.pttl(store.key("proposal", pid)) <= (600 + 3600) * 1000
    finally:
        await store.aclose()


def test_open_state_picks_the_backend(tmp_path: Path, redis_url: str) -> None:
    sqlite_state = open_state(Settings(_env_file=None, ALEX_STATE_PATH=str(tmp_path / "a.sqlite3")))  # type: ignore[call-arg]
    assert isinstance(sqlite_state, SQLiteState) and isinstance(sqlite_state.memory, SQLiteThreadMemory)
    assert isinstance(open_state(Settings(_env_file=None, ALEX_STATE_PATH=":memory:")), MemoryState)  # type: ignore[call-arg]
    settings = Settings(_env_file=None, ALEX_STATE_URL=redis_url, ALEX_PROPOSAL_TTL_SECONDS=120)  # type: ignore[call-arg]
    redis_state = open_state(settings)
    assert isinstance(redis_state, RedisState) and redis_state.proposals.ttl_s == 120
    assert redis_url not in repr(settings), "the URL (it may carry a password) is a secret"
    asyncio.run(redis_state.aclose())
