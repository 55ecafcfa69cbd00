"""A durable local buffer for audit entries the store could not take after a write already ran.

:func:`bot.tools.proposals.execute` writes a ``started`` entry before any PagerDuty write, so no write
runs while the audit store is down. The entry saying how the write *ended* can still fail (the store
went down mid-way): :class:`DurableAudit` then appends it to a JSON-lines file on local disk
(``ALEX_AUDIT_BUFFER_PATH``, by default next to the state file), bounded to :data:`MAX_BYTES`, and
replays the file into the store the next time a record succeeds. An entry neither place takes is
logged at ERROR with what it was about (never its bodies): never lost silently.

One file per process: replicas on one Redis each keep their own buffer on their own disk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from pathlib import Path

from bot.tools.audit import AuditEntry, AuditSink

log = logging.getLogger("bot.store.audit_buffer")

MAX_BYTES = 5_000_000
"""The buffer file's bound (a few thousand entries: each is at most a few KB)."""
DEFAULT_NAME = "alex-audit-buffer.jsonl"


class AuditBufferFull(Exception):
    """The buffer file is at :data:`MAX_BYTES`: the entry was not kept."""


def default_buffer_path(state_path: str) -> Path:
    """``alex-audit-buffer.jsonl`` in the state file's directory (the working directory for ``:memory:``)."""
    folder = Path(".") if state_path == ":memory:" else Path(state_path).parent
    return folder / DEFAULT_NAME


class AuditBuffer:
    """Audit entries waiting for the store, one JSON object per line, fsync'ed as they are added."""

    def __init__(self, path: str | Path, *, max_bytes: int = MAX_BYTES) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self._file_lock = threading.Lock()
        self._replaying = asyncio.Lock()

    async def add(self, entry: AuditEntry) -> None:
        """Append ``entry`` durably; :class:`AuditBufferFull` past the bound, ``OSError`` if the disk fails."""
        await asyncio.to_thread(self._append, [entry.to_json()])

    def pending(self) -> list[AuditEntry]:
        """The entries waiting, oldest first (unreadable lines are skipped)."""
        with self._file_lock:
            return [entry for entry in map(_parse, self._lines()) if entry is not None]

    async def replay(self, sink: AuditSink) -> int:
        """Record the waiting entries into ``sink``, oldest first, and drop them from the file; stops at
        the first failure (the rest wait for the next time). An entry is dropped only once recorded (a
        crash mid-way may record one twice, never lose one). Returns how many were recorded; never raises."""
        if self._replaying.locked() or not self.path.exists():
            return 0
        async with self._replaying:
            try:
                lines = await asyncio.to_thread(self._read)
            except OSError as exc:
                log.error("audit buffer %s unreadable: %s", self.path, type(exc).__name__)
                return 0
            consumed = done = 0
            for line in lines:
                entry = _parse(line)
                if entry is not None:
                    try:
                        await sink.record(entry)
                    except Exception as exc:
                        log.warning("audit buffer: replay stopped (%s); %d entries wait", type(exc).__name__,
                                    len(lines) - consumed)
                        break
                    done += 1
                else:
                    log.error("audit buffer: dropped an unreadable line")
                consumed += 1
            if consumed:
                try:
                    await asyncio.to_thread(self._drop_first, consumed)
                except OSError as exc:
                    log.error("audit buffer %s: replayed entries not removed: %s", self.path, type(exc).__name__)
            if done:
                log.info("audit buffer: %d entries replayed into the audit log", done)
            return done

    # -- the file (called in a worker thread) ---------------------------------------------------------
    def _lines(self) -> list[str]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        return [line for line in text.splitlines() if line.strip()]

    def _read(self) -> list[str]:
        with self._file_lock:
            return self._lines()

    def _append(self, lines: list[str]) -> None:
        data = "".join(f"{line}\n" for line in lines).encode()
        with self._file_lock:
            size = self.path.stat().st_size if self.path.exists() else 0
            if size + len(data) > self.max_bytes:
                raise AuditBufferFull(f"the audit buffer is full ({size} bytes)")
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)

    def _drop_first(self, count: int) -> None:
        """Remove the ``count`` oldest lines (appends only add at the end), atomically."""
        with self._file_lock:
            rest = self._lines()[count:]
            if not rest:
                self.path.unlink(missing_ok=True)
                return
            spare = self.path.with_name(self.path.name + ".tmp")
            fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, "".join(f"{line}\n" for line in rest).encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(spare, self.path)


def _parse(line: str) -> AuditEntry | None:
    with contextlib.suppress(ValueError, TypeError, KeyError):
        return AuditEntry.from_json(line)
    return None


class DurableAudit:
    """The audit sink of a deployment: ``store`` first, ``buffer`` when the store fails after a write.

    ``record`` is strict (it raises when the store fails: the caller must not write then);
    ``keep`` never drops an entry silently. Each successful record replays the buffer.
    """

    def __init__(self, store: AuditSink, buffer: AuditBuffer) -> None:
        self.store = store
        self.buffer = buffer

    async def record(self, entry: AuditEntry) -> None:
        await self.store.record(entry)
        await self.buffer.replay(self.store)

    async def keep(self, entry: AuditEntry) -> None:
        try:
            await self.record(entry)
            return
        except Exception as exc:
            reason = type(exc).__name__
        await self.buffer.add(entry)
        log.error("audit log unavailable (%s): %s (%s) kept in %s until it is back", reason, entry.action,
                  entry.outcome, self.buffer.path)
