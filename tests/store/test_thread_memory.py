"""Thread memory: persisted across restarts, bounded, compacted, expiring, always valid to send."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.store.thread_memory import (
    InMemoryThreadMemory,
    MemoryLimits,
    SQLiteThreadMemory,
    ThreadMemory,
    open_thread_memory,
    sanitize_history,
)


def exchange(n: int, *, tool_result: str = '{"status":"ok"}') -> list[dict[str, Any]]:
    return [
        {"role": "user", "content": f"question {n}"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": f"c{n}", "type": "function", "function": {"name": "list_incidents", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": f"c{n}", "content": tool_result},
        {"role": "assistant", "content": f"answer {n}"},
    ]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "memory"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path]:
    return request.param, tmp_path / "state" / "alex.sqlite3"


def open_memory(backend: tuple[str, Path], limits: MemoryLimits | None = None, clock: Clock | None = None
                ) -> ThreadMemory:
    kind, path = backend
    if kind == "sqlite":
        return SQLiteThreadMemory(path, limits, clock=clock or Clock())
    return InMemoryThreadMemory(limits, clock=clock or Clock())


async def test_history_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "alex.sqlite3"
    await SQLiteThreadMemory(path).append("T1", exchange(1))
    await SQLiteThreadMemory(path).append("T2", exchange(9))

    restarted = SQLiteThreadMemory(path)

    assert await restarted.load("T1") == exchange(1)
    assert await restarted.load("unknown") == []
    assert (await restarted.load("T2"))[0]["content"] == "question 9"


async def test_exchanges_come_back_in_order_per_thread(backend: tuple[str, Path]) -> None:
    memory = open_memory(backend)
    for n in (1, 2):
        await memory.append("T", exchange(n))
    await memory.append("other", exchange(3))

    loaded = await memory.load("T")

    assert [m["content"] for m in loaded if m["role"] == "user"] == ["question 1", "question 2"]
    assert loaded == exchange(1) + exchange(2)


async def test_tool_results_and_long_texts_are_stored_cut(backend: tuple[str, Path]) -> None:
    memory = open_memory(backend, MemoryLimits(tool_result_chars=100, text_chars=50))
    messages = exchange(1, tool_result="x" * 5_000)
    messages[0]["content"] = "q" * 500
    messages.append({"role": "system", "content": "never stored"})

    await memory.append("T", messages)
    user, call, tool, answer = await memory.load("T")

    assert len(tool["content"]) == 100 and tool["content"].endswith("[truncated]")
    assert len(user["content"]) == 50 and call["tool_calls"][0]["id"] == tool["tool_call_id"] == "c1"
    assert answer == {"role": "assistant", "content": "answer 1"}


async def test_budget_keeps_recent_exchanges_in_full_and_older_as_text(backend: tuple[str, Path]) -> None:
    limits = MemoryLimits(max_chars=700, max_messages=40)
    memory = open_memory(backend, limits)
    big = '{"status":"ok","items":"' + "i" * 150 + '"}'
    for n in range(1, 6):
        await memory.append("T", exchange(n, tool_result=big))

    loaded = await memory.load("T")

    assert loaded[-4:] == exchange(5, tool_result=big)
    older = loaded[:-4]
    assert older and all(m["role"] in ("user", "assistant") and "tool_calls" not in m for m in older)
    assert sum(len(json.dumps(m, ensure_ascii=False)) for m in loaded) <= limits.max_chars
    assert older[0]["role"] == "user" and sanitize_history(loaded) == loaded
    assert "question 1" not in [m["content"] for m in loaded]  # the oldest fell out


async def test_message_count_is_bounded(backend: tuple[str, Path]) -> None:
    memory = open_memory(backend, MemoryLimits(max_messages=6, max_exchanges=3))
    for n in range(1, 10):
        await memory.append("T", exchange(n))

    loaded = await memory.load("T")

    assert len(loaded) <= 6 and loaded[-1]["content"] == "answer 9" and loaded[0]["role"] == "user"


async def test_entries_expire_after_the_ttl(backend: tuple[str, Path]) -> None:
    clock = Clock()
    memory = open_memory(backend, MemoryLimits(ttl_s=3600), clock)
    await memory.append("old", exchange(1))
    clock.now += 1800
    await memory.append("T", exchange(2))
    clock.now += 2400

    assert await memory.load("old") == []
    assert await memory.load("T") == exchange(2)


async def test_sqlite_rows_are_pruned(tmp_path: Path) -> None:
    import sqlite3

    clock = Clock()
    memory = SQLiteThreadMemory(tmp_path / "m.sqlite3", MemoryLimits(max_exchanges=2, ttl_s=10), clock=clock)
    for n in range(5):
        await memory.append("T", exchange(n))
    await memory.append("gone", exchange(9))
    clock.now += 11
    await memory.append("new", exchange(10))

    db = sqlite3.connect(tmp_path / "m.sqlite3")
    try:
        rows = db.execute("SELECT thread_id FROM thread_exchanges").fetchall()
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        db.close()
    assert rows == [("new",)] and mode == "wal"


def test_sanitize_drops_orphans_and_unanswered_calls() -> None:
    call = {"role": "assistant", "content": "checking", "tool_calls": [
        {"id": "a", "type": "function", "function": {"name": "x", "arguments": "{}"}}]}
    history = [{"role": "tool", "tool_call_id": "z", "content": "{}"}, {"role": "assistant", "content": "hi"},
               {"role": "user", "content": "q"}, call, {"role": "user", "content": "q2"}]

    assert sanitize_history(history) == [{"role": "user", "content": "q"}, {"role": "assistant", "content": "checking"},
                                         {"role": "user", "content": "q2"}]


def test_settings_pick_the_backend(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ALEX_STATE_PATH", str(tmp_path / "x.sqlite3"))
    memory = open_thread_memory(Settings(_env_file=None))
    assert isinstance(memory, SQLiteThreadMemory) and memory.path == tmp_path / "x.sqlite3"
    monkeypatch.setenv("ALEX_STATE_PATH", ":memory:")
    assert isinstance(open_thread_memory(Settings(_env_file=None)), InMemoryThreadMemory)
