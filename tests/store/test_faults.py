"""The state store when its storage misbehaves: a SQLite file locked by another process, deleted, or
damaged; Redis unreachable. Operations answer within their bound (raising ``StateUnavailable`` rather
than hanging), recover when the storage does, and ``health()`` tells the truth."""

from __future__ import annotations

import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.store import StateUnavailable
from bot.store.base import DEDUPE_BOUND_S, OPERATION_BOUND_S
from bot.store.redis import RedisState
from bot.store.sqlite import SQLiteState
from tests.store.conftest import Backend
from tests.store.test_state import pending

SLACK = 1.0
"""Room above a bound for a loaded CI machine (the bug was 5 s per operation, every operation)."""


@pytest.fixture
async def state(tmp_path: Path) -> AsyncIterator[SQLiteState]:
    store = SQLiteState(tmp_path / "alex-state.sqlite3")
    yield store
    await store.aclose()


def lock(path: Path, *, readers_too: bool = False) -> sqlite3.Connection:
    """Another process's connection holding the write lock (``readers_too``: every lock, as a connection in
    ``locking_mode=EXCLUSIVE`` that wrote does)."""
    other = sqlite3.connect(path, isolation_level=None, timeout=0)
    if readers_too:
        other.execute("PRAGMA locking_mode=EXCLUSIVE")
        other.execute("BEGIN EXCLUSIVE")
        other.execute("INSERT INTO alex_seen (key, expires_at) VALUES ('other-process', 0)")
        other.execute("COMMIT")  # the exclusive lock stays until the connection closes
    else:
        other.execute("BEGIN EXCLUSIVE")
    return other


def remove_state_files(path: Path) -> None:
    """``rm alex-state.sqlite3*``."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def timed(operation: object) -> tuple[object, float]:
    started = time.monotonic()
    try:
        result: object = await operation  # type: ignore[misc]
    except StateUnavailable as exc:
        result = exc
    return result, time.monotonic() - started


async def test_a_locked_file_fails_writes_within_their_bound_and_reads_go_on(state: SQLiteState) -> None:
    pid = await state.proposals.put(pending())
    other = lock(state.path)
    try:
        seen, took = await timed(state.first_seen("event:Ev1"))
        assert isinstance(seen, StateUnavailable) and took < DEDUPE_BOUND_S + SLACK, (seen, took)
        assert "locked" in str(seen) and str(state.path) in str(seen)
        claim, took = await timed(state.proposals.claim(pid, "U0SAM", "confirmed"))
        assert isinstance(claim, StateUnavailable) and took < OPERATION_BOUND_S + SLACK, (claim, took)
        stored = await state.proposals.get(pid)  # WAL: a reader does not wait for the writer
        assert stored is not None and stored.state == "pending"
    finally:
        other.close()
    won = await state.proposals.claim(pid, "U0SAM", "confirmed")
    assert won.status == "claimed", "the claim that failed during the lock must have changed nothing"
    assert await state.first_seen("event:Ev1")
    assert (await state.health()).ok


async def test_a_file_locked_for_readers_too_fails_get_and_health_within_their_bound(state: SQLiteState) -> None:
    pid = await state.proposals.put(pending())
    await state.aclose()  # its connection would hold a shared lock; reopened below
    other = lock(state.path, readers_too=True)
    try:
        got, took = await timed(state.proposals.get(pid))
        assert isinstance(got, StateUnavailable) and took < OPERATION_BOUND_S + SLACK, (got, took)
        started = time.monotonic()
        health = await state.health()
        assert not health.ok and "locked" in health.detail and time.monotonic() - started < 1.0 + SLACK
    finally:
        other.close()
    stored = await state.proposals.get(pid)
    assert stored is not None and (await state.health()).ok


async def test_a_deleted_file_is_recreated_at_the_next_operation(state: SQLiteState,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    assert await state.first_seen("event:before")
    await state.memory.append("thread-1", [{"role": "user", "content": "hello"}])
    remove_state_files(state.path)
    assert await state.first_seen("event:after")
    assert state.path.exists()
    assert await state.first_seen("event:before"), "the new file starts empty"
    assert not await state.first_seen("event:after")
    await state.memory.append("thread-1", [{"role": "user", "content": "again"}])  # its table is back too
    assert [m["content"] for m in await state.memory.load("thread-1")] == ["again"]
    assert "deleted or replaced" in caplog.text and (await state.health()).ok


async def test_a_damaged_file_is_unavailable_then_recovers_once_replaced(state: SQLiteState) -> None:
    assert await state.first_seen("event:one")
    await state.aclose()
    state.path.write_bytes(b"PRIVATE " * 512)
    failed, _ = await timed(state.first_seen("event:two"))
    assert isinstance(failed, StateUnavailable) and "not a usable SQLite database" in str(failed)
    assert "PRIVATE" not in str(failed)
    health = await state.health(thorough=True)
    assert not health.ok and str(state.path) in health.detail
    state.path.unlink()  # the operator moves it aside
    assert await state.first_seen("event:two")
    assert (await state.health(thorough=True)).ok


async def test_every_backend_reports_health(backend: Backend) -> None:
    store = backend.open()
    health = await store.health(thorough=True)
    assert health.ok and health.detail.startswith(backend.kind)


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])  # bound, never listening: connections are refused


async def test_unreachable_redis_is_unavailable_within_the_bound_and_unhealthy(closed_port: int) -> None:
    store = RedisState.from_url(f"redis://:hunter2-password@127.0.0.1:{closed_port}/0")
    try:
        for operation in (store.first_seen("event:Ev1"), store.proposals.get("p1"),
                          store.proposals.claim("p1", "U0SAM", "confirmed"), store.hit("user:U0SAM", 5, 60)):
            failed, took = await timed(operation)
            assert isinstance(failed, StateUnavailable) and took < OPERATION_BOUND_S + SLACK, (failed, took)
            assert "hunter2" not in str(failed) and str(closed_port) not in str(failed)
        health = await store.health()
        assert not health.ok and "hunter2" not in health.detail
    finally:
        await store.aclose()
