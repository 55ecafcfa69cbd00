""":class:`SQLiteState`: the state in one SQLite file (WAL), created on first use; survives restarts.

One connection, used from worker threads (``asyncio.to_thread``) under a lock, so the event loop never
waits on disk. Several processes may share the file: each statement is atomic, and the proposal claim
is a single ``UPDATE … WHERE state = 'pending' AND expires_at > now``. Thread memory reuses
:class:`~bot.agent.memory.SQLiteThreadMemory` on the same file.

Bounds: dedupe keys and rate-limit windows expire (purged as new ones arrive, with a hard cap),
proposals are deleted an hour after they expire, the audit log keeps the newest ``audit_max_rows``.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from bot.agent.memory import MemoryLimits, SQLiteThreadMemory
from bot.slack.proposals_store import DEFAULT_TTL_S, KEEP_AFTER_EXPIRY_S, Claim, PendingProposal
from bot.store.audit import AuditEntry
from bot.store.base import (
    AUDIT_MAX_ROWS,
    DEDUPE_MAX_KEYS,
    DEDUPE_TTL_S,
    ClaimTo,
    StoredFields,
    decode_pending,
    encode_pending,
)

T = TypeVar("T")
PURGE_EVERY = 200
"""Expired keys are deleted every this many writes."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alex_seen (key TEXT PRIMARY KEY, expires_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS alex_seen_expires ON alex_seen (expires_at);
CREATE TABLE IF NOT EXISTS alex_rate (key TEXT PRIMARY KEY, expires_at REAL NOT NULL, count INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS alex_rate_expires ON alex_rate (expires_at);
CREATE TABLE IF NOT EXISTS alex_proposals (
    id TEXT PRIMARY KEY, state TEXT NOT NULL, created_at REAL NOT NULL, expires_at REAL NOT NULL,
    handled_by TEXT, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS alex_proposals_expires ON alex_proposals (expires_at);
CREATE TABLE IF NOT EXISTS alex_audit (id INTEGER PRIMARY KEY AUTOINCREMENT, at REAL NOT NULL, entry TEXT NOT NULL);
"""


class SQLiteState:
    kind = "sqlite"

    def __init__(self, path: str | Path, *, proposal_ttl_s: float = DEFAULT_TTL_S,
                 memory_limits: MemoryLimits | None = None, audit_max_rows: int = AUDIT_MAX_ROWS,
                 max_keys: int = DEDUPE_MAX_KEYS, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self.proposal_ttl_s = proposal_ttl_s
        self.audit_max_rows = audit_max_rows
        self.max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._writes = 0
        self._proposals = SQLiteProposals(self)
        self._memory = SQLiteThreadMemory(self.path, memory_limits, clock=clock)

    @property
    def proposals(self) -> SQLiteProposals:
        return self._proposals

    @property
    def memory(self) -> SQLiteThreadMemory:
        return self._memory

    # -- dedupe, rate limits ----------------------------------------------------------------------
    async def first_seen(self, key: str, ttl_s: float = DEDUPE_TTL_S) -> bool:
        now = self._clock()

        def run(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                "INSERT INTO alex_seen (key, expires_at) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                "SET expires_at = excluded.expires_at WHERE alex_seen.expires_at <= ?", (key, now + ttl_s, now))
            self._maybe_purge(db, now)
            return cursor.rowcount == 1

        return await self._run(run)

    async def hit(self, key: str, limit: int, window_s: float) -> bool:
        now = self._clock()
        window = int(now // window_s)
        slot = f"{key}\x00{window_s}\x00{window}"

        def run(db: sqlite3.Connection) -> bool:
            row = db.execute(
                "INSERT INTO alex_rate (key, expires_at, count) VALUES (?, ?, 1) ON CONFLICT (key) DO UPDATE "
                "SET count = count + 1 RETURNING count", (slot, (window + 1) * window_s)).fetchone()
            self._maybe_purge(db, now)
            return int(row[0]) <= limit

        return await self._run(run)

    # -- audit log ---------------------------------------------------------------------------------
    async def record(self, entry: AuditEntry) -> None:
        def run(db: sqlite3.Connection) -> None:
            cursor = db.execute("INSERT INTO alex_audit (at, entry) VALUES (?, ?)", (entry.at, entry.to_json()))
            newest = cursor.lastrowid or 0
            db.execute("DELETE FROM alex_audit WHERE id <= ?", (newest - self.audit_max_rows,))

        await self._run(run)

    async def recent(self, limit: int = 50) -> list[AuditEntry]:
        def run(db: sqlite3.Connection) -> list[str]:
            rows = db.execute("SELECT entry FROM alex_audit ORDER BY id DESC LIMIT ?", (max(0, limit),))
            return [str(row[0]) for row in rows.fetchall()]

        return [AuditEntry.from_json(text) for text in await self._run(run)]

    async def aclose(self) -> None:
        await self._memory.aclose()
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    # -- plumbing ----------------------------------------------------------------------------------
    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(self._locked, work)

    def _locked(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            db = self._connect()
            db.execute("BEGIN IMMEDIATE")
            try:
                result = work(db)
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return result

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=5.0, isolation_level=None, check_same_thread=False)
            _initialise(db)
            self._db = db
        return self._db

    def _maybe_purge(self, db: sqlite3.Connection, now: float) -> None:
        self._writes += 1
        if self._writes % PURGE_EVERY:
            return
        for table in ("alex_seen", "alex_rate"):
            db.execute(f"DELETE FROM {table} WHERE expires_at <= ?", (now,))  # noqa: S608 (fixed names)
            db.execute(f"DELETE FROM {table} WHERE rowid IN (SELECT rowid FROM {table} "  # noqa: S608
                       "ORDER BY expires_at DESC LIMIT -1 OFFSET ?)", (self.max_keys,))
        db.execute("DELETE FROM alex_proposals WHERE expires_at <= ?", (now - KEEP_AFTER_EXPIRY_S,))

    def _proposal_row(self, db: sqlite3.Connection, proposal_id: str) -> tuple[Any, ...] | None:
        row: tuple[Any, ...] | None = db.execute(
            "SELECT state, created_at, expires_at, handled_by, data FROM alex_proposals WHERE id = ?",
            (proposal_id,)).fetchone()
        return row


class SQLiteProposals:
    """The :class:`~bot.slack.proposals_store.ProposalStore` of a :class:`SQLiteState`."""

    def __init__(self, state: SQLiteState) -> None:
        self._state = state

    async def put(self, pending: PendingProposal) -> str:
        now = self._state._clock()
        proposal_id = secrets.token_urlsafe(12)
        data = encode_pending(pending)

        def run(db: sqlite3.Connection) -> None:
            db.execute("INSERT INTO alex_proposals (id, state, created_at, expires_at, handled_by, data) "
                       "VALUES (?, 'pending', ?, ?, NULL, ?)", (proposal_id, now, now + self._state.proposal_ttl_s,
                                                                data))
            db.execute("DELETE FROM alex_proposals WHERE expires_at <= ?", (now - KEEP_AFTER_EXPIRY_S,))

        await self._state._run(run)
        return proposal_id

    async def get(self, proposal_id: str) -> PendingProposal | None:
        row = await self._state._run(lambda db: self._state._proposal_row(db, proposal_id))
        return None if row is None else _decode(row)

    async def claim(self, proposal_id: str, by: str, state: ClaimTo) -> Claim:
        now = self._state._clock()

        def run(db: sqlite3.Connection) -> Claim:
            cursor = db.execute("UPDATE alex_proposals SET state = ?, handled_by = ? WHERE id = ? "
                                "AND state = 'pending' AND expires_at > ?", (state, by, proposal_id, now))
            won = cursor.rowcount == 1
            if not won:
                db.execute("UPDATE alex_proposals SET state = 'expired' WHERE id = ? AND state = 'pending' "
                           "AND expires_at <= ?", (proposal_id, now))
            row = self._state._proposal_row(db, proposal_id)
            if row is None:
                return Claim("missing")
            pending = _decode(row)
            if won:
                return Claim("claimed", pending)
            return Claim("expired" if pending.state == "expired" else "taken", pending)

        return await self._state._run(run)

    async def once(self, key: str, ttl_s: float) -> bool:
        return await self._state.first_seen(f"once:{key}", ttl_s)

    async def aclose(self) -> None:
        return None  # the state owns the connection


def _decode(row: tuple[Any, ...]) -> PendingProposal:
    state, created_at, expires_at, handled_by, data = row
    return decode_pending(str(data), StoredFields(str(state), float(created_at), float(expires_at),
                                                  None if handled_by is None else str(handled_by)))


def _initialise(db: sqlite3.Connection, attempts: int = 50) -> None:
    """WAL mode and the schema. Switching a new file to WAL needs an exclusive lock for which SQLite does
    not wait (the busy timeout does not apply), so instances opening the same file at once retry briefly."""
    for attempt in range(attempts):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(0.05)
