"""Thread memory: what a follow-up in the same thread ("resolve the second one") needs to see.

Each answered message is stored as one *exchange*: the Chat Completions messages it added (the
person's message, the model's tool calls, compacted tool results, the reply). Loading gives the most
recent exchanges that fit a message count and a character budget: the newest in full, older ones as
text only (question and answer). Entries expire after a TTL.

:class:`SQLiteThreadMemory` (the default) keeps them in a file so they survive a restart;
:class:`InMemoryThreadMemory` is for tests and throwaway sessions. The Redis backend
(:class:`bot.store.redis.RedisThreadMemory`, for several replicas) implements the same
:class:`ThreadMemory` protocol with :func:`compact` and :func:`select`; :mod:`bot.store` picks one.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from bot.config import Settings

Message = dict[str, Any]
TRUNCATED = " …[truncated]"


class ThreadMemory(Protocol):
    """Per-thread conversation history, bounded and expiring."""

    async def load(self, thread_id: str) -> list[Message]:
        """The recent history of the thread, oldest first, ready to send to the model."""
        ...

    async def append(self, thread_id: str, messages: list[Message]) -> None:
        """Store one exchange (the messages one answered message added)."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class MemoryLimits:
    max_messages: int = 40
    """Messages handed back by ``load``."""
    max_chars: int = 24_000
    """Characters (of message JSON) handed back by ``load``."""
    tool_result_chars: int = 1_500
    """A stored tool result is cut to this; the model can call the tool again for more."""
    text_chars: int = 4_000
    ttl_s: float = 7 * 24 * 3600.0
    max_exchanges: int = 50
    """Exchanges kept per thread; older ones are deleted."""


def compact(messages: Iterable[Message], limits: MemoryLimits) -> list[Message]:
    """The messages as stored: only the keys the API needs, long texts and tool results cut."""
    out: list[Message] = []
    for message in messages:
        role = message.get("role")
        content = message.get("content")
        if role not in ("user", "assistant", "tool"):
            continue
        budget = limits.tool_result_chars if role == "tool" else limits.text_chars
        item: Message = {"role": role, "content": _cut(content, budget) if isinstance(content, str) else None}
        if role == "tool":
            item["tool_call_id"] = message.get("tool_call_id")
        elif role == "assistant" and message.get("tool_calls"):
            item["tool_calls"] = [
                {"id": c["id"], "type": "function",
                 "function": {"name": c["function"]["name"],
                              "arguments": _cut(c["function"].get("arguments") or "", 1_000)}}
                for c in message["tool_calls"]]
        out.append(item)
    return out


def select(exchanges_newest_first: Iterable[list[Message]], limits: MemoryLimits) -> list[Message]:
    """Recent exchanges within the budget: newest in full; an exchange that does not fit in full is
    kept as text only (question and answer); stop at the first that does not fit at all."""
    chosen: list[list[Message]] = []
    count = chars = 0
    for exchange in exchanges_newest_first:
        if not text_only(exchange):
            continue
        for version in (sanitize_history(exchange), text_only(exchange)):
            size = sum(len(json.dumps(m, ensure_ascii=False)) for m in version)
            if version and count + len(version) <= limits.max_messages and chars + size <= limits.max_chars:
                chosen.append(version)
                count += len(version)
                chars += size
                break
        else:
            break
    return [m for exchange in reversed(chosen) for m in exchange]


def text_only(messages: Iterable[Message]) -> list[Message]:
    """Just what was said: the person's messages and the replies, no tool traffic."""
    return [{"role": m["role"], "content": m["content"]} for m in messages
            if m.get("role") in ("user", "assistant") and isinstance(m.get("content"), str) and m["content"]]


def sanitize_history(messages: list[Message]) -> list[Message]:
    """History the API accepts: every tool result follows the call that asked for it, every call has
    its result, and it starts with the person's message."""
    out: list[Message] = []
    i = 0
    while i < len(messages):
        message = messages[i]
        role = message.get("role")
        if role == "assistant" and message.get("tool_calls"):
            ids = [c.get("id") for c in message["tool_calls"]]
            results = []
            j = i + 1
            while j < len(messages) and messages[j].get("role") == "tool":
                results.append(messages[j])
                j += 1
            if sorted(map(str, ids)) == sorted(str(r.get("tool_call_id")) for r in results):
                out.extend([message, *results])
            elif message.get("content"):
                out.append({"role": "assistant", "content": message["content"]})
            i = j
            continue
        if role in ("user", "assistant") and (role == "user" or message.get("content")):
            out.append(message)
        i += 1
    while out and out[0].get("role") != "user":
        out.pop(0)
    return out


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - len(TRUNCATED))] + TRUNCATED


class InMemoryThreadMemory:
    """:class:`ThreadMemory` in a dict (tests, one-off terminal sessions)."""

    def __init__(self, limits: MemoryLimits | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self.limits = limits or MemoryLimits()
        self._clock = clock
        self._threads: dict[str, list[tuple[float, list[Message]]]] = {}

    async def load(self, thread_id: str) -> list[Message]:
        cutoff = self._clock() - self.limits.ttl_s
        entries = [m for at, m in self._threads.get(thread_id, []) if at >= cutoff]
        return select(reversed(entries), self.limits)

    async def append(self, thread_id: str, messages: list[Message]) -> None:
        now = self._clock()
        cutoff = now - self.limits.ttl_s
        for key in list(self._threads):
            self._threads[key] = [(at, m) for at, m in self._threads[key] if at >= cutoff]
            if not self._threads[key]:
                del self._threads[key]
        entries = self._threads.setdefault(thread_id, [])
        entries.append((now, compact(messages, self.limits)))
        del entries[: -self.limits.max_exchanges]

    async def aclose(self) -> None:
        self._threads.clear()


_SCHEMA = """
CREATE TABLE IF NOT EXISTS thread_exchanges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    thread_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    messages TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS thread_exchanges_thread ON thread_exchanges (thread_id, id);
CREATE INDEX IF NOT EXISTS thread_exchanges_created ON thread_exchanges (created_at);
"""


class SQLiteThreadMemory:
    """:class:`ThreadMemory` in a SQLite file (WAL), created on first use; survives restarts.

    Each operation opens its own short connection in a worker thread (``asyncio.to_thread``), so the
    event loop never blocks on disk and several processes can share the file.
    """

    def __init__(self, path: str | Path, limits: MemoryLimits | None = None, *,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.limits = limits or MemoryLimits()
        self._clock = clock
        self._ready = False

    async def load(self, thread_id: str) -> list[Message]:
        rows = await asyncio.to_thread(self._load, thread_id, self._clock() - self.limits.ttl_s)
        return select((json.loads(row) for row in rows), self.limits)

    async def append(self, thread_id: str, messages: list[Message]) -> None:
        body = json.dumps(compact(messages, self.limits), ensure_ascii=False, separators=(",", ":"))
        await asyncio.to_thread(self._append, thread_id, body, self._clock())

    async def aclose(self) -> None:
        return None

    def _connect(self) -> sqlite3.Connection:
        if not self._ready:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=5.0)
        if not self._ready:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            self._ready = True
        return db

    def _load(self, thread_id: str, cutoff: float) -> list[str]:
        db = self._connect()
        try:
            rows = db.execute(
                "SELECT messages FROM thread_exchanges WHERE thread_id = ? AND created_at >= ? "
                "ORDER BY id DESC LIMIT ?", (thread_id, cutoff, self.limits.max_messages)).fetchall()
        finally:
            db.close()
        return [row[0] for row in rows]

    def _append(self, thread_id: str, body: str, now: float) -> None:
        db = self._connect()
        try:
            with db:
                db.execute("INSERT INTO thread_exchanges (thread_id, created_at, messages) VALUES (?, ?, ?)",
                           (thread_id, now, body))
                db.execute("DELETE FROM thread_exchanges WHERE thread_id = ? AND id NOT IN "
                           "(SELECT id FROM thread_exchanges WHERE thread_id = ? ORDER BY id DESC LIMIT ?)",
                           (thread_id, thread_id, self.limits.max_exchanges))
                db.execute("DELETE FROM thread_exchanges WHERE created_at < ?", (now - self.limits.ttl_s,))
        finally:
            db.close()


def open_thread_memory(settings: Settings, limits: MemoryLimits | None = None) -> ThreadMemory:
    """The configured memory: the SQLite file at ALEX_STATE_PATH (``:memory:`` keeps it in-process)."""
    if settings.state_path == ":memory:":
        return InMemoryThreadMemory(limits)
    return SQLiteThreadMemory(settings.state_path, limits)
