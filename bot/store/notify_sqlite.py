""":class:`SQLiteNotify`: the :class:`~bot.store.notify.NotifyStore` of a :class:`~bot.store.sqlite.SQLiteState`.

Tables ``alex_cards`` (one row per incident and channel), ``alex_routes`` and ``alex_marks`` in the state's
file (:data:`SCHEMA`, created with the others). :meth:`SQLiteNotify.apply` reads and writes the row in one
``BEGIN IMMEDIATE`` transaction, so it is atomic across the processes sharing the file.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

from bot.store.notify import (
    CARD_TTL_S,
    MAX_CARDS,
    MAX_CARDS_LISTED,
    MAX_CHANNEL_ROUTES,
    MAX_ROUTE_CHANNELS,
    Card,
    Change,
    StoredRoute,
    check_data,
    check_key,
    check_route,
    check_zone,
    decide,
)

if TYPE_CHECKING:
    from bot.store.sqlite import SQLiteState

TABLES = ("alex_cards", "alex_routes", "alex_marks", "alex_zones")
SCHEMA = """
CREATE TABLE IF NOT EXISTS alex_cards (
    incident TEXT NOT NULL, channel TEXT NOT NULL, ts TEXT, at REAL NOT NULL, data TEXT NOT NULL,
    version INTEGER NOT NULL, open INTEGER NOT NULL, hold_until REAL NOT NULL, updated REAL NOT NULL,
    PRIMARY KEY (incident, channel));
CREATE INDEX IF NOT EXISTS alex_cards_updated ON alex_cards (updated);
CREATE TABLE IF NOT EXISTS alex_routes (
    channel TEXT NOT NULL, key TEXT NOT NULL, spec TEXT NOT NULL, by TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (channel, key));
CREATE TABLE IF NOT EXISTS alex_marks (name TEXT PRIMARY KEY, value REAL NOT NULL);
CREATE TABLE IF NOT EXISTS alex_zones (channel TEXT PRIMARY KEY, zone TEXT NOT NULL);
"""
_COLUMNS = "incident, channel, ts, at, data, version, open, hold_until, updated"


class SQLiteNotify:
    def __init__(self, state: SQLiteState, *, max_cards: int = MAX_CARDS) -> None:
        self._state = state
        self.max_cards = max_cards

    async def apply(self, incident_id: str, channel: str, at: float, data: str, *, open: bool) -> Change:
        check_key(incident_id, channel)
        check_data(data)
        now = self._state._clock()

        def run(db: sqlite3.Connection) -> Change:
            old = _row(db, incident_id, channel)
            change = decide(old, incident_id, channel, at, data, open, now)
            if change.card is not old:
                c = change.card
                db.execute(f"INSERT OR REPLACE INTO alex_cards ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                           (c.incident_id, c.channel, c.ts, c.at, c.data, c.version, int(c.open), c.hold_until,
                            c.updated))
                db.execute("DELETE FROM alex_cards WHERE updated <= ?", (now - CARD_TTL_S,))
                db.execute("DELETE FROM alex_cards WHERE rowid IN (SELECT rowid FROM alex_cards "
                           "ORDER BY updated DESC LIMIT -1 OFFSET ?)", (self.max_cards,))
            return change

        return await self._state._run(run)

    async def posted(self, incident_id: str, channel: str, ts: str) -> Card | None:
        def run(db: sqlite3.Connection) -> Card | None:
            db.execute("UPDATE alex_cards SET ts = ?, hold_until = 0 WHERE incident = ? AND channel = ?",
                       (ts, incident_id, channel))
            return _row(db, incident_id, channel)

        return await self._state._run(run)

    async def release(self, incident_id: str, channel: str) -> None:
        await self._state._run(lambda db: db.execute(
            "UPDATE alex_cards SET hold_until = 0 WHERE incident = ? AND channel = ? AND ts IS NULL",
            (incident_id, channel)))

    async def get(self, incident_id: str, channel: str) -> Card | None:
        now = self._state._clock()
        card = await self._state._run(lambda db: _row(db, incident_id, channel), write=False)
        return card if card is not None and card.updated + CARD_TTL_S > now else None

    async def cards_of(self, incident_id: str) -> list[Card]:
        return await self._select("incident = ? AND updated > ? ORDER BY updated LIMIT ?",
                                  (incident_id, self._state._clock() - CARD_TTL_S, MAX_CHANNEL_ROUTES))

    async def open_cards(self, limit: int = MAX_CARDS_LISTED) -> list[Card]:
        return await self._select("open = 1 AND updated > ? ORDER BY updated DESC LIMIT ?",
                                  (self._state._clock() - CARD_TTL_S, max(0, min(limit, MAX_CARDS_LISTED))))

    async def seen_until(self, at: float) -> None:
        await self._state._run(lambda db: db.execute(
            "INSERT INTO alex_marks (name, value) VALUES ('seen', ?) ON CONFLICT (name) DO UPDATE "
            "SET value = max(value, excluded.value)", (at,)))

    async def last_seen(self) -> float | None:
        row = await self._state._run(
            lambda db: db.execute("SELECT value FROM alex_marks WHERE name = 'seen'").fetchone(), write=False)
        return None if row is None else float(row[0])

    async def add_route(self, route: StoredRoute) -> bool:
        check_route(route)

        def run(db: sqlite3.Connection) -> bool:
            if db.execute("SELECT 1 FROM alex_routes WHERE channel = ? AND key = ?",
                          (route.channel, route.key)).fetchone() is None:
                mine = db.execute("SELECT count(*) FROM alex_routes WHERE channel = ?", (route.channel,)).fetchone()[0]
                if mine >= MAX_CHANNEL_ROUTES:
                    return False
                channels = db.execute("SELECT count(DISTINCT channel) FROM alex_routes").fetchone()[0]
                if not mine and channels >= MAX_ROUTE_CHANNELS:
                    return False
            db.execute("INSERT OR REPLACE INTO alex_routes (channel, key, spec, by, at) VALUES (?, ?, ?, ?, ?)",
                       (route.channel, route.key, route.spec, route.by, route.at))
            return True

        return await self._state._run(run)

    async def remove_routes(self, channel: str, key: str | None = None) -> int:
        def run(db: sqlite3.Connection) -> int:
            if key is None:
                return db.execute("DELETE FROM alex_routes WHERE channel = ?", (channel,)).rowcount
            return db.execute("DELETE FROM alex_routes WHERE channel = ? AND key = ?", (channel, key)).rowcount

        return int(await self._state._run(run))

    async def routes(self, channel: str | None = None) -> list[StoredRoute]:
        def run(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
            if channel is None:
                query = db.execute("SELECT channel, key, spec, by, at FROM alex_routes ORDER BY at")
            else:
                query = db.execute("SELECT channel, key, spec, by, at FROM alex_routes WHERE channel = ? ORDER BY at",
                                   (channel,))
            return query.fetchall()

        rows = await self._state._run(run, write=False)
        return [StoredRoute(str(c), str(k), str(s), str(b), float(a)) for c, k, s, b, a in rows]

    async def set_zone(self, channel: str, zone: str | None) -> bool:
        check_zone(channel, zone)

        def run(db: sqlite3.Connection) -> bool:
            if zone is None:
                db.execute("DELETE FROM alex_zones WHERE channel = ?", (channel,))
                return True
            if db.execute("SELECT 1 FROM alex_zones WHERE channel = ?", (channel,)).fetchone() is None and \
                    db.execute("SELECT count(*) FROM alex_zones").fetchone()[0] >= MAX_ROUTE_CHANNELS:
                return False
            db.execute("INSERT OR REPLACE INTO alex_zones (channel, zone) VALUES (?, ?)", (channel, zone))
            return True

        return bool(await self._state._run(run))

    async def zones(self) -> dict[str, str]:
        rows = await self._state._run(lambda db: db.execute("SELECT channel, zone FROM alex_zones").fetchall(),
                                      write=False)
        return {str(c): str(z) for c, z in rows}

    async def aclose(self) -> None:
        return None  # the state owns the connection

    async def _select(self, where: str, args: tuple[Any, ...]) -> list[Card]:
        rows = await self._state._run(
            lambda db: db.execute(f"SELECT {_COLUMNS} FROM alex_cards WHERE {where}", args).fetchall(),  # noqa: S608
            write=False)
        return [_card(row) for row in rows]


def _row(db: sqlite3.Connection, incident_id: str, channel: str) -> Card | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM alex_cards WHERE incident = ? AND channel = ?",  # noqa: S608
                     (incident_id, channel)).fetchone()
    return None if row is None else _card(row)


def _card(row: tuple[Any, ...]) -> Card:
    incident, channel, ts, at, data, version, open_, hold_until, updated = row
    return Card(str(incident), str(channel), None if ts is None else str(ts), float(at), str(data), int(version),
                bool(open_), float(hold_until), float(updated))
