""":class:`SQLiteState`: the state in one SQLite file (WAL), created on first use; survives restarts.

One connection, used from worker threads (``asyncio.to_thread``) under a lock, so the event loop never
waits on disk. Several processes may share the file: each statement is atomic, and the proposal claim
is a single ``UPDATE … WHERE state = 'pending' AND expires_at > now``. Thread memory reuses
:class:`~bot.store.thread_memory.SQLiteThreadMemory` on the same file.

Bounds: dedupe keys and rate-limit windows expire (purged as new ones arrive, with a hard cap),
proposals are deleted an hour after they expire, the audit log keeps the newest ``audit_max_rows``.

Faults: an operation waits at most its bound for a file locked by another process (``first_seen``,
on the Events ack path: :data:`~bot.store.base.DEDUPE_BOUND_S`; others:
:data:`~bot.store.base.OPERATION_BOUND_S`), then raises :class:`~bot.store.base.StateUnavailable`.
Reads do not wait for writers (WAL). Any other SQLite error drops the connection, so the next operation
reopens the file; a file deleted or replaced while alex runs is noticed at the next operation and
recreated (what it held is gone, and a warning says so). :meth:`SQLiteState.health` probes the file;
with ``thorough`` it runs ``PRAGMA quick_check`` (``alex serve`` does at start and refuses a damaged file).
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from bot.store.base import (
    AUDIT_MAX_ROWS,
    DEDUPE_BOUND_S,
    DEDUPE_MAX_KEYS,
    DEDUPE_TTL_S,
    HEALTH_BOUND_S,
    OPERATION_BOUND_S,
    ClaimTo,
    StateHealth,
    StateUnavailable,
    StoredFields,
    check_lease,
    decode_pending,
    encode_pending,
)
from bot.store.feedback import (
    MAX_RATED,
    MAX_UNRATED,
    MAX_VOTES,
    RATED_TTL_S,
    UNRATED_TTL_S,
    TurnRecord,
    Vote,
    Voted,
    decode_votes,
    encode_votes,
    vote_status,
)
from bot.store.notify_sqlite import SCHEMA as NOTIFY_SCHEMA
from bot.store.notify_sqlite import TABLES as NOTIFY_TABLES
from bot.store.notify_sqlite import SQLiteNotify
from bot.store.proposals import DEFAULT_TTL_S, KEEP_AFTER_EXPIRY_S, Claim, PendingProposal
from bot.store.thread_memory import MemoryLimits, SQLiteThreadMemory
from bot.tools.audit import AuditEntry

log = logging.getLogger("bot.store.sqlite")

T = TypeVar("T")
PURGE_EVERY = 200
"""Expired keys are deleted every this many writes."""
FAILURE_SHOWN_S = 60.0
"""``health()`` reports an operation's failure (other than a lock) for this long after it happened."""
SQLITE_HEADER = b"SQLite format 3\x00"
LOCKED = "locked by another process"
_TABLES = ("alex_seen", "alex_rate", "alex_proposals", "alex_audit", "alex_feedback", "alex_lease", *NOTIFY_TABLES)

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
CREATE TABLE IF NOT EXISTS alex_feedback (
    id TEXT PRIMARY KEY, rated INTEGER NOT NULL, expires_at REAL NOT NULL, data TEXT NOT NULL,
    votes TEXT NOT NULL DEFAULT '[]');
CREATE INDEX IF NOT EXISTS alex_feedback_expires ON alex_feedback (rated, expires_at);
CREATE TABLE IF NOT EXISTS alex_lease (key TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS alex_lease_expires ON alex_lease (expires_at);
""" + NOTIFY_SCHEMA


class FileLocked(StateUnavailable):
    """Another connection holds the file's lock past the bound (transient: once it lets go, all is well)."""


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
        self._file_id: tuple[int, int] | None = None
        self._failure: tuple[float, str] | None = None  # (monotonic time, why) of the last failed operation
        self._writes = 0
        self._proposals = SQLiteProposals(self)
        self._feedback = SQLiteFeedback(self)
        self._notify = SQLiteNotify(self)
        self._memory = SQLiteThreadMemory(self.path, memory_limits, clock=clock)

    @property
    def proposals(self) -> SQLiteProposals:
        return self._proposals

    @property
    def memory(self) -> SQLiteThreadMemory:
        return self._memory

    @property
    def feedback(self) -> SQLiteFeedback:
        return self._feedback

    @property
    def notify(self) -> SQLiteNotify:
        return self._notify

    # -- dedupe, rate limits ----------------------------------------------------------------------
    async def first_seen(self, key: str, ttl_s: float = DEDUPE_TTL_S) -> bool:
        now = self._clock()

        def run(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                "INSERT INTO alex_seen (key, expires_at) VALUES (?, ?) ON CONFLICT (key) DO UPDATE "
                "SET expires_at = excluded.expires_at WHERE alex_seen.expires_at <= ?", (key, now + ttl_s, now))
            self._maybe_purge(db, now)
            return cursor.rowcount == 1

        return await self._run(run, bound_s=DEDUPE_BOUND_S)

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

    async def lease(self, key: str, owner: str, ttl_s: float) -> bool:
        check_lease(key, owner, ttl_s)
        now = self._clock()

        def run(db: sqlite3.Connection) -> bool:
            if ttl_s <= 0:
                db.execute("DELETE FROM alex_lease WHERE key = ? AND owner = ?", (key, owner))
                return False
            cursor = db.execute(
                "INSERT INTO alex_lease (key, owner, expires_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE "
                "SET owner = excluded.owner, expires_at = excluded.expires_at "
                "WHERE alex_lease.owner = excluded.owner OR alex_lease.expires_at <= ?", (key, owner, now + ttl_s, now))
            self._maybe_purge(db, now)
            return cursor.rowcount == 1

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

        return [AuditEntry.from_json(text) for text in await self._run(run, write=False)]

    # -- health --------------------------------------------------------------------------------------
    @property
    def where(self) -> str:
        """How messages name this store: its kind and file (never anything it holds)."""
        return f"sqlite {self.path}"

    async def health(self, *, thorough: bool = False) -> StateHealth:
        def probe(db: sqlite3.Connection) -> None:
            with open(self.path, "rb") as file:
                if file.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                    raise sqlite3.DatabaseError("file is not a database")
            if thorough:
                problems = [str(row[0]) for row in db.execute("PRAGMA quick_check(3)").fetchall()]
                if problems != ["ok"]:
                    raise sqlite3.DatabaseError(f"integrity check failed: {'; '.join(problems)}")
            for table in _TABLES:
                db.execute(f"SELECT 1 FROM {table} LIMIT 1").fetchall()  # noqa: S608 (fixed names)

        try:
            await self._run(probe, write=False, bound_s=HEALTH_BOUND_S, record_failure=False)
        except StateUnavailable as exc:
            return StateHealth(False, str(exc))
        failure = self._failure
        if failure is not None and time.monotonic() - failure[0] < FAILURE_SHOWN_S:
            return StateHealth(False, failure[1])
        return StateHealth(True, f"{self.where}: ok")

    async def aclose(self) -> None:
        await self._memory.aclose()
        with self._lock:
            self._drop_connection()

    # -- plumbing ----------------------------------------------------------------------------------
    async def _run(self, work: Callable[[sqlite3.Connection], T], *, write: bool = True,
                   bound_s: float = OPERATION_BOUND_S, record_failure: bool = True) -> T:
        """``work`` in one transaction in a worker thread, waiting at most ``bound_s`` for the lock."""
        deadline = time.monotonic() + bound_s
        try:
            result = await asyncio.to_thread(self._locked, work, write, deadline)
        except FileLocked:
            raise
        except StateUnavailable as exc:
            if record_failure:
                self._failure = (time.monotonic(), str(exc))
            raise
        if write:
            self._failure = None
        return result

    def _locked(self, work: Callable[[sqlite3.Connection], T], write: bool, deadline: float) -> T:
        # The deadline is checked here, not with asyncio.wait_for: a thread cannot be cancelled, and a
        # write finishing after its caller gave up (a claim nobody acts on) would be worse than waiting.
        if not self._lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise FileLocked(f"{self.where}: busy with other operations of this process")
        try:
            db = self._connect(deadline)
            remaining_ms = int((deadline - time.monotonic()) * 1000)
            if remaining_ms <= 0:
                raise FileLocked(f"{self.where}: {LOCKED}")
            db.execute(f"PRAGMA busy_timeout = {remaining_ms}")
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                result = work(db)
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return result
        except sqlite3.OperationalError as exc:
            if _is_locked(exc):
                self._rollback()
                raise FileLocked(f"{self.where}: {LOCKED}") from None
            self._drop_connection()
            raise StateUnavailable(f"{self.where}: {_reason(exc)}") from None
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.IntegrityError):
                self._rollback()
                raise
            self._drop_connection()
            raise StateUnavailable(f"{self.where}: {_reason(exc)}") from None
        except OSError as exc:  # the directory vanished, the disk is full...
            self._drop_connection()
            raise StateUnavailable(f"{self.where}: {exc.strerror or type(exc).__name__}") from None
        finally:
            self._lock.release()

    def _connect(self, deadline: float) -> sqlite3.Connection:
        if self._db is not None and self._file_id != _file_id(self.path):
            log.warning("the state file %s was deleted or replaced while alex was running: opening it again "
                        "(dedupe, proposals and the audit log it held are not in the new file)", self.path)
            self._drop_connection()
            # The thread memory shares the file and creates its table once: make it create it again.
            self._memory._ready = False
        if self._db is None:
            if _file_id(self.path) is None or os.path.getsize(self.path) == 0:
                # A new file: other instances may be switching it to WAL at once, which takes a moment.
                deadline = max(deadline, time.monotonic() + OPERATION_BOUND_S)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=max(0.0, deadline - time.monotonic()), isolation_level=None,
                                 check_same_thread=False)
            try:
                _initialise(db, deadline)
            except BaseException:
                db.close()
                raise
            self._db = db
            self._file_id = _file_id(self.path)
        return self._db

    def _rollback(self) -> None:
        if self._db is not None and self._db.in_transaction:
            try:
                self._db.execute("ROLLBACK")
            except sqlite3.Error:
                self._drop_connection()

    def _drop_connection(self) -> None:
        if self._db is not None:
            try:
                self._db.close()
            except sqlite3.Error:
                pass
        self._db = None
        self._file_id = None

    def _maybe_purge(self, db: sqlite3.Connection, now: float) -> None:
        self._writes += 1
        if self._writes % PURGE_EVERY:
            return
        for table in ("alex_seen", "alex_rate", "alex_lease"):
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
    """The :class:`~bot.store.proposals.ProposalStore` of a :class:`SQLiteState`."""

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
        row = await self._state._run(lambda db: self._state._proposal_row(db, proposal_id), write=False)
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


class SQLiteFeedback:
    """The :class:`~bot.store.feedback.FeedbackStore` of a :class:`SQLiteState` (table ``alex_feedback``:
    the record's JSON, its votes' JSON list, whether it is rated, when it expires)."""

    def __init__(self, state: SQLiteState, *, max_unrated: int = MAX_UNRATED, max_rated: int = MAX_RATED) -> None:
        self._state = state
        self.max_unrated = max_unrated
        self.max_rated = max_rated

    async def put(self, record: TurnRecord) -> None:
        now = self._state._clock()
        data = replace(record.bounded(), created_at=now).to_json()

        def run(db: sqlite3.Connection) -> None:
            db.execute("INSERT OR REPLACE INTO alex_feedback (id, rated, expires_at, data, votes) "
                       "VALUES (?, 0, ?, ?, '[]')", (record.turn_id, now + UNRATED_TTL_S, data))
            self._trim(db, 0, self.max_unrated, now)

        await self._state._run(run)

    async def get(self, turn_id: str) -> TurnRecord | None:
        now = self._state._clock()

        def run(db: sqlite3.Connection) -> tuple[str, str] | None:
            row = db.execute("SELECT data, votes FROM alex_feedback WHERE id = ? AND expires_at > ?",
                             (turn_id, now)).fetchone()
            return None if row is None else (str(row[0]), str(row[1]))

        row = await self._state._run(run, write=False)
        return None if row is None else TurnRecord.from_json(row[0], decode_votes(row[1]))

    async def vote(self, turn_id: str, vote: Vote) -> Voted:
        now = self._state._clock()

        def run(db: sqlite3.Connection) -> Voted:
            row = db.execute("SELECT data, votes FROM alex_feedback WHERE id = ? AND expires_at > ?",
                             (turn_id, now)).fetchone()
            if row is None:
                return Voted("missing")
            votes = {v.by: v for v in decode_votes(str(row[1]))}
            before = votes.get(vote.by)
            if before is None and len(votes) >= MAX_VOTES:
                return Voted("full", TurnRecord.from_json(str(row[0]), votes.values()))
            votes[vote.by] = vote
            db.execute("UPDATE alex_feedback SET rated = 1, expires_at = ?, votes = ? WHERE id = ?",
                       (now + RATED_TTL_S, encode_votes(votes.values()), turn_id))
            self._trim(db, 1, self.max_rated, now)
            return Voted(vote_status(before, vote), TurnRecord.from_json(str(row[0]), votes.values()))

        return await self._state._run(run)

    async def rated(self, limit: int = MAX_RATED) -> list[TurnRecord]:
        now = self._state._clock()

        def run(db: sqlite3.Connection) -> list[tuple[str, str]]:
            rows = db.execute("SELECT data, votes FROM alex_feedback WHERE rated = 1 AND expires_at > ? "
                              "ORDER BY expires_at DESC LIMIT ?", (now, max(0, limit))).fetchall()
            return [(str(data), str(votes)) for data, votes in rows]

        rows = await self._state._run(run, write=False)
        return [TurnRecord.from_json(data, decode_votes(votes)) for data, votes in rows]

    async def aclose(self) -> None:
        return None  # the state owns the connection

    @staticmethod
    def _trim(db: sqlite3.Connection, rated: int, keep: int, now: float) -> None:
        db.execute("DELETE FROM alex_feedback WHERE rated = ? AND expires_at <= ?", (rated, now))
        db.execute("DELETE FROM alex_feedback WHERE rated = ? AND id IN (SELECT id FROM alex_feedback "
                   "WHERE rated = ? ORDER BY expires_at DESC LIMIT -1 OFFSET ?)", (rated, rated, keep))


def _decode(row: tuple[Any, ...]) -> PendingProposal:
    state, created_at, expires_at, handled_by, data = row
    return decode_pending(str(data), StoredFields(str(state), float(created_at), float(expires_at),
                                                  None if handled_by is None else str(handled_by)))


def _file_id(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


def _is_locked(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _reason(exc: sqlite3.Error) -> str:
    """SQLite's own words for what is wrong (fixed texts such as "file is not a database"), one line."""
    text = " ".join(str(exc).split())[:200] or type(exc).__name__
    if any(word in text for word in ("not a database", "malformed", "integrity check")):
        return f"not a usable SQLite database ({text})"
    return text


def _initialise(db: sqlite3.Connection, deadline: float) -> None:
    """WAL mode and the schema. Switching a new file to WAL needs an exclusive lock for which SQLite does
    not wait (the busy timeout does not apply), so instances opening the same file at once retry briefly
    (until ``deadline``)."""
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(_SCHEMA)
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + 0.05 >= deadline:
                raise
            time.sleep(0.05)
