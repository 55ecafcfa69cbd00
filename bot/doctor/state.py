"""State store check: the SQLite file (or Redis) that keeps dedupe, proposals, rate limits and the audit log.

A SQLite file that does not exist yet is fine (``alex serve`` creates it) when its directory can be
created or written; an existing one must pass ``PRAGMA quick_check``. Redis must answer ``PING``; its
URL (which may carry a password) is never printed.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from bot.config import Settings
from bot.doctor.report import Check

_MOVE_ASIDE = ("stop alex, move the file aside (alex starts an empty one: pending proposals and the audit log "
               "stay in the old file) or restore a backup; or point ALEX_STATE_PATH at another file")


async def check_state(settings: Settings) -> list[Check]:
    url = settings.state_url.get_secret_value().strip() if settings.state_url is not None else ""
    if url:
        return [await _check_redis(url)]
    if settings.state_path == ":memory:":
        return [Check("State", "state store", "ok", "in this process's memory (ALEX_STATE_PATH=:memory:): "
                      "nothing survives a restart and replicas share nothing")]
    return [await _check_sqlite(Path(settings.state_path))]


async def _check_sqlite(path: Path) -> Check:
    from bot.store.sqlite import LOCKED, SQLiteState

    if (before := await asyncio.to_thread(_before_opening, path)) is not None:
        return before
    store = SQLiteState(path)
    try:
        health = await store.health(thorough=True)
    finally:
        await store.aclose()
    if health.ok:
        return Check("State", "state store", "ok", f"SQLite file {path}: readable, integrity check passed")
    if health.detail.endswith(LOCKED):
        return Check("State", "state store", "warn", f"{health.detail} (checked while another process holds it)",
                     "if nothing else should hold the file, look for a stuck process using it")
    return Check("State", "state store", "fail", health.detail, _MOVE_ASIDE)


def _before_opening(path: Path) -> Check | None:
    """The verdict when there is no file to open (absent or not a regular file), else None."""
    if not path.exists():
        parent = _existing_parent(path)
        if not os.access(parent, os.W_OK | os.X_OK):
            return Check("State", "state store", "fail", f"cannot create the SQLite file {path}: {parent} is not "
                         "writable", "make the directory writable for alex, or set ALEX_STATE_PATH elsewhere")
        return Check("State", "state store", "ok", f"SQLite file {path} (created on first run)")
    if not path.is_file():
        return Check("State", "state store", "fail", f"{path} is not a file",
                     "set ALEX_STATE_PATH to a file path (e.g. alex-state.sqlite3)")
    return None


async def _check_redis(url: str) -> Check:
    from bot.store.redis import RedisState

    store = RedisState.from_url(url)
    try:
        health = await store.health()
    finally:
        await store.aclose()
    if health.ok:
        return Check("State", "state store", "ok", "Redis (ALEX_STATE_URL) answers PING")
    return Check("State", "state store", "fail", f"Redis (ALEX_STATE_URL) did not answer: {health.detail}",
                 "check ALEX_STATE_URL (host, port, password, database) and that the server is up")


def _existing_parent(path: Path) -> Path:
    parent = path.absolute().parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    return parent
