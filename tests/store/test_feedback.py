"""Feedback records on every backend (memory, SQLite, Redis): stored when an answer is posted, votes per
person (a second click replaces the first), TTLs (longer once rated), caps on records and votes, bounded
record size, atomic votes across instances, survival across a restart."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest

from bot.store.feedback import (
    MAX_RECORD_CHARS,
    MAX_VOTES,
    RATED_TTL_S,
    UNRATED_TTL_S,
    FeedbackCall,
    FeedbackStore,
    TurnRecord,
    Vote,
)
from tests.store.conftest import Backend

NOW = "2026-03-10T10:00:00-04:00"


def record(turn_id: str = "t1", **changes: object) -> TurnRecord:
    base = TurnRecord(
        turn_id, "who is on call for platform-engineering?", "Emma Clarke is on call until Monday 09:00.",
        (FeedbackCall("who_is_on_call", '{"target": "platform-engineering"}', "ok"),), "gpt-test", "U0SAM",
        "sam.rivera@acme-payments.example", NOW, "C0GENERAL", "1773151200.000100", "channel",
        thread=(("user", "hi"), ("assistant", "Hi Sam!")))
    return replace(base, **changes)  # type: ignore[arg-type]


def vote(by: str = "U0SAM", rating: str = "positive", at: float = 1_773_151_300.0) -> Vote:
    return Vote(rating, by, at)  # type: ignore[arg-type]


def caps(store: FeedbackStore, *, unrated: int, rated: int) -> None:
    """Smaller caps for the test (every backend's store has these two attributes)."""
    assert hasattr(store, "max_unrated") and hasattr(store, "max_rated")
    store.max_unrated, store.max_rated = unrated, rated


async def test_a_stored_turn_comes_back_whole_without_votes(backend: Backend) -> None:
    store = backend.open().feedback
    await store.put(record())
    got = await store.get("t1")
    assert got is not None
    assert replace(got, created_at=0.0) == record()
    assert got.created_at == pytest.approx(backend.clock.now)
    assert got.votes == () and got.rating is None
    assert await store.get("nope") is None
    assert await store.rated() == [], "unrated turns are not exported"


async def test_votes_are_per_person_and_a_second_click_replaces_the_first(backend: Backend) -> None:
    store = backend.open().feedback
    await store.put(record())
    first = await store.vote("t1", vote("U0SAM", "positive", 1.0))
    assert first.status == "recorded" and first.record is not None and first.record.rating == "positive"
    assert (await store.vote("t1", vote("U0SAM", "positive", 2.0))).status == "same"
    changed = await store.vote("t1", vote("U0SAM", "negative", 3.0))
    assert changed.status == "changed"
    other = await store.vote("t1", vote("U0AISHA", "positive", 4.0))
    assert other.status == "recorded" and other.record is not None
    assert [(v.by, v.rating, v.at) for v in other.record.votes] == [("U0SAM", "negative", 3.0),
                                                                    ("U0AISHA", "positive", 4.0)]
    assert other.record.rating == "negative", "anyone's thumbs-down makes it a reported mis-step"
    [rated] = await store.rated()
    assert rated.turn_id == "t1" and len(rated.votes) == 2 and rated.question == record().question


async def test_a_vote_on_an_unknown_turn_is_missing(backend: Backend) -> None:
    store = backend.open().feedback
    voted = await store.vote("never-stored", vote())
    assert voted.status == "missing" and voted.record is None
    assert await store.rated() == []


async def test_an_unrated_turn_expires_a_rated_one_is_kept_longer(backend: Backend) -> None:
    store = backend.open().feedback
    await store.put(record("old"))
    await store.put(record("liked"))
    await store.vote("liked", vote())
    backend.clock.advance(UNRATED_TTL_S + 1)
    assert await store.get("old") is None
    assert (await store.vote("old", vote())).status == "missing", "too late to rate"
    assert (await store.get("liked")) is not None
    assert [r.turn_id for r in await store.rated()] == ["liked"]
    backend.clock.advance(RATED_TTL_S)
    assert await store.get("liked") is None
    assert await store.rated() == []


async def test_rated_turns_come_most_recently_rated_first(backend: Backend) -> None:
    store = backend.open().feedback
    for turn_id in ("a", "b", "c"):
        await store.put(record(turn_id))
    for turn_id in ("b", "a", "c"):
        backend.clock.advance(1)
        await store.vote(turn_id, vote())
    backend.clock.advance(1)
    await store.vote("b", vote(rating="negative"))
    assert [r.turn_id for r in await store.rated()] == ["b", "c", "a"]
    assert [r.turn_id for r in await store.rated(limit=2)] == ["b", "c"]
    assert await store.rated(limit=0) == []


async def test_the_oldest_go_beyond_the_caps(backend: Backend) -> None:
    store = backend.open().feedback
    caps(store, unrated=3, rated=2)
    for i in range(6):
        backend.clock.advance(1)
        await store.put(record(f"t{i}"))
    assert [await store.get(f"t{i}") is not None for i in range(6)] == [False] * 3 + [True] * 3
    for i in (3, 4, 5):
        backend.clock.advance(1)
        await store.vote(f"t{i}", vote())
    assert [r.turn_id for r in await store.rated()] == ["t5", "t4"]
    assert await store.get("t3") is None, "evicted, not just hidden"


async def test_at_most_max_votes_people_rate_one_turn(backend: Backend) -> None:
    store = backend.open().feedback
    await store.put(record())
    for i in range(MAX_VOTES):
        assert (await store.vote("t1", vote(f"U{i:04d}", at=float(i)))).status == "recorded"
    full = await store.vote("t1", vote("U9999", "negative", 99.0))
    assert full.status == "full" and full.record is not None and len(full.record.votes) == MAX_VOTES
    assert (await store.vote("t1", vote("U0000", "negative", 100.0))).status == "changed", "voters may change"
    [rated] = await store.rated()
    assert len(rated.votes) == MAX_VOTES and "U9999" not in {v.by for v in rated.votes}


async def test_a_huge_turn_is_stored_within_its_bound(backend: Backend) -> None:
    store = backend.open().feedback
    huge = record(question="q" * 50_000, answer="a" * 50_000, model="m" * 500,
                  calls=tuple(FeedbackCall("list_incidents", json.dumps({"x": "y" * 5_000}), "ok") for _ in range(40)),
                  thread=tuple(("user", "t" * 5_000) for _ in range(30)))
    await store.put(huge)
    got = await store.get("t1")
    assert got is not None
    assert len(got.to_json()) <= MAX_RECORD_CHARS
    assert len(got.calls) + got.calls_left_out == 40
    assert got.question.startswith("q") and got.question.endswith("…") and got.answer.endswith("…")


async def test_concurrent_votes_from_two_instances_are_all_kept(backend: Backend) -> None:
    one, two = backend.open(), backend.open()
    await one.feedback.put(record())
    results = await asyncio.gather(*(store.feedback.vote("t1", vote(f"U{i:04d}", at=float(i)))
                                     for i, store in enumerate([one, two] * 8)))
    assert {r.status for r in results} == {"recorded"}
    stored = await two.feedback.get("t1")
    assert stored is not None and len(stored.votes) == 16


async def test_rated_turns_survive_a_restart(backend: Backend) -> None:
    if backend.kind == "memory":
        pytest.skip("in-process memory does not survive a restart (by design)")
    first = backend.open()
    await first.feedback.put(record())
    await first.feedback.vote("t1", vote(rating="negative"))
    await first.aclose()
    backend.opened.remove(first)
    again = backend.open()
    [rated] = await again.feedback.rated()
    assert rated.turn_id == "t1" and rated.rating == "negative" and rated.calls == record().calls
