"""PagerDuty user tokens that people linked with ``/alex connect``, encrypted at rest.

Each person may link their own PagerDuty User API token; alex then sends that person's requests with it,
so PagerDuty itself applies their role and team permissions and records their actions as theirs.
:class:`LinkedTokens` keeps one token per PagerDuty user id, encrypted with ``ALEX_TOKEN_KEY`` (a
Fernet key: AES-128-CBC and HMAC-SHA256). Only the ciphertext is stored. The plaintext names the
PagerDuty user id as well, so a ciphertext copied to another person's row does not decrypt as theirs.

To make a key::

    python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"

To rotate it, set ``ALEX_TOKEN_KEY=<new>,<old>``: new links use the first key, older ones still decrypt.
Once everyone has linked again (or is unlinked), drop the old key. A token that no key decrypts (for
example after the key changed) counts as not linked: alex logs a warning, without any secret, and
uses the shared token for that person until they link again.

The storage matches the state's (:func:`open_linked_tokens`): Redis with ``ALEX_STATE_URL`` (its own
client, keys ``alex:linked-token:<user id>``), in-process memory with ``ALEX_STATE_PATH=:memory:``,
else the table ``alex_linked_tokens`` in the SQLite file at ``ALEX_STATE_PATH`` (its own connection,
used from a worker thread). There is one row per PagerDuty user, and only after PagerDuty confirmed
that the token belongs to that user, so the account's size bounds it.

Failures to reach the storage raise :class:`TokenStoreError`, whose message names only the error type.
No token appears in a log record, an exception, a ``repr()`` or a reply.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr
from redis.exceptions import RedisError

from bot.config import MissingSettingError

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from bot.config import Settings

log = logging.getLogger("bot.store.linked_tokens")

T = TypeVar("T")
KEY_VARIABLE = "ALEX_TOKEN_KEY"
MAKE_A_KEY = 'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
MAX_TOKEN_CHARS = 512
MAX_USER_ID_CHARS = 64
SQLITE_TIMEOUT_S = 2.0
REDIS_TIMEOUT_S = 5.0
_PLAINTEXT_VERSION = 1


class InvalidTokenKeyError(MissingSettingError):
    """``ALEX_TOKEN_KEY`` is set but is not a Fernet key; the message names the variable, never the value."""


class TokenStoreError(RuntimeError):
    """The linked tokens could not be read or written (the storage is down, locked or broken)."""


@dataclass(frozen=True, slots=True)
class LinkStatus:
    """What is stored for one person: since when, and whether the current key still decrypts it."""

    slack_user_id: str
    linked_at: datetime
    readable: bool


@dataclass(frozen=True, slots=True)
class StoredLink:
    """One row: the ciphertext is all a backend ever sees of a token."""

    slack_user_id: str
    linked_at: float
    ciphertext: bytes

    def __repr__(self) -> str:
        return f"StoredLink(slack_user_id={self.slack_user_id!r}, linked_at={self.linked_at!r})"


class TokenVault(Protocol):
    """Where :class:`LinkedTokens` keeps its rows (memory, SQLite, Redis)."""

    kind: str

    async def put(self, pd_user_id: str, link: StoredLink) -> None: ...

    async def get(self, pd_user_id: str) -> StoredLink | None: ...

    async def delete(self, pd_user_id: str) -> bool: ...

    async def aclose(self) -> None: ...


class LinkedTokens:
    """Per-person PagerDuty tokens, encrypted with ``cipher`` before they reach ``vault``."""

    def __init__(self, vault: TokenVault, cipher: MultiFernet, *, clock: Callable[[], float] = time.time) -> None:
        self._vault = vault
        self._cipher = cipher
        self._clock = clock

    @property
    def kind(self) -> str:
        """The storage: ``memory``, ``sqlite`` or ``redis``."""
        return self._vault.kind

    def __repr__(self) -> str:
        return f"LinkedTokens(kind={self.kind!r})"

    async def link(self, *, pd_user_id: str, slack_user_id: str, token: SecretStr) -> None:
        """Store ``token`` as ``pd_user_id``'s (replacing any earlier one). The caller checked with
        PagerDuty (``GET /users/me``) that the token is that user's own."""
        user = _user_id(pd_user_id)
        value = token.get_secret_value()
        if not value or len(value) > MAX_TOKEN_CHARS or any(not (0x21 <= ord(ch) <= 0x7E) for ch in value):
            raise ValueError(f"a PagerDuty token is 1 to {MAX_TOKEN_CHARS} printable characters without spaces")
        plaintext = json.dumps({"v": _PLAINTEXT_VERSION, "user": user, "token": value}).encode()
        link = StoredLink(slack_user_id, self._clock(), self._cipher.encrypt(plaintext))
        await _guarded(self._vault.put(user, link))

    async def token_for(self, pd_user_id: str) -> SecretStr | None:
        """``pd_user_id``'s token; None when none is linked or no key decrypts it (a warning is logged)."""
        user = _user_id(pd_user_id)
        stored = await _guarded(self._vault.get(user))
        return None if stored is None else self._decrypt(user, stored)

    async def unlink(self, pd_user_id: str) -> bool:
        """Forget ``pd_user_id``'s token; False when none was linked."""
        return await _guarded(self._vault.delete(_user_id(pd_user_id)))

    async def linked(self, pd_user_id: str) -> bool:
        """Whether a token alex can use is linked for ``pd_user_id``."""
        return await self.token_for(pd_user_id) is not None

    async def status(self, pd_user_id: str) -> LinkStatus | None:
        """What is linked for ``pd_user_id`` (None: nothing), for ``/alex status``."""
        user = _user_id(pd_user_id)
        stored = await _guarded(self._vault.get(user))
        if stored is None:
            return None
        readable = self._decrypt(user, stored) is not None
        return LinkStatus(stored.slack_user_id, datetime.fromtimestamp(stored.linked_at, UTC), readable)

    async def aclose(self) -> None:
        await self._vault.aclose()

    def _decrypt(self, pd_user_id: str, stored: StoredLink) -> SecretStr | None:
        try:
            data = json.loads(self._cipher.decrypt(stored.ciphertext))
        except (InvalidToken, ValueError):
            data = None
        if not isinstance(data, dict) or data.get("user") != pd_user_id or not isinstance(data.get("token"), str):
            log.warning("the PagerDuty token linked for user %s cannot be decrypted with %s (was the key "
                        "changed?): treating it as not linked", _loggable(pd_user_id), KEY_VARIABLE)
            return None
        return SecretStr(data["token"])


# -- the key and the factory -----------------------------------------------------------------------

def token_cipher(settings: Settings) -> MultiFernet | None:
    """The cipher of ``ALEX_TOKEN_KEY`` (None when unset or blank); raises :class:`InvalidTokenKeyError`."""
    raw = settings.token_key.get_secret_value().strip() if settings.token_key is not None else ""
    if not raw:
        return None
    parts = [part.strip() for part in raw.split(",")]
    try:
        if not all(parts):
            raise ValueError("empty key")
        return MultiFernet([Fernet(part.encode("ascii")) for part in parts])
    except (ValueError, TypeError, UnicodeError):
        raise InvalidTokenKeyError(
            f"{KEY_VARIABLE} is not a Fernet key (32 url-safe base64-encoded bytes; to rotate, 'new,old'). "
            f"Make one with: {MAKE_A_KEY}") from None


def open_linked_tokens(settings: Settings, *, in_memory: bool = False) -> LinkedTokens | None:
    """Linked tokens stored beside the state, or None when ``ALEX_TOKEN_KEY`` is unset (linking is off).

    ``in_memory`` keeps them in this process (``alex serve --sandbox`` without ``ALEX_STATE_URL``).
    Raises :class:`InvalidTokenKeyError` for a malformed key, at start.
    """
    cipher = token_cipher(settings)
    if cipher is None:
        return None
    url = settings.state_url.get_secret_value().strip() if settings.state_url is not None else ""
    vault: TokenVault
    if url:
        vault = RedisVault.from_url(url)
    elif in_memory or settings.state_path == ":memory:":
        vault = MemoryVault()
    else:
        vault = SQLiteVault(settings.state_path)
    return LinkedTokens(vault, cipher)


# -- backends ----------------------------------------------------------------------------------------

class MemoryVault:
    """Rows in this process (tests, the sandbox); lost at exit."""

    kind = "memory"

    def __init__(self) -> None:
        self._rows: dict[str, StoredLink] = {}

    async def put(self, pd_user_id: str, link: StoredLink) -> None:
        self._rows[pd_user_id] = link

    async def get(self, pd_user_id: str) -> StoredLink | None:
        return self._rows.get(pd_user_id)

    async def delete(self, pd_user_id: str) -> bool:
        return self._rows.pop(pd_user_id, None) is not None

    async def aclose(self) -> None:
        return None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS alex_linked_tokens (
    pd_user_id TEXT PRIMARY KEY, slack_user_id TEXT NOT NULL, linked_at REAL NOT NULL, ciphertext BLOB NOT NULL)
"""


class SQLiteVault:
    """The table ``alex_linked_tokens`` in the state's SQLite file, on a connection of its own."""

    kind = "sqlite"

    def __init__(self, path: str | Path, *, timeout_s: float = SQLITE_TIMEOUT_S) -> None:
        self.path = Path(path)
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    async def put(self, pd_user_id: str, link: StoredLink) -> None:
        await self._run(lambda db: db.execute(
            "INSERT INTO alex_linked_tokens (pd_user_id, slack_user_id, linked_at, ciphertext) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (pd_user_id) DO UPDATE SET slack_user_id = excluded.slack_user_id, "
            "linked_at = excluded.linked_at, ciphertext = excluded.ciphertext",
            (pd_user_id, link.slack_user_id, link.linked_at, link.ciphertext)))

    async def get(self, pd_user_id: str) -> StoredLink | None:
        row = await self._run(lambda db: db.execute(
            "SELECT slack_user_id, linked_at, ciphertext FROM alex_linked_tokens WHERE pd_user_id = ?",
            (pd_user_id,)).fetchone())
        return None if row is None else StoredLink(str(row[0]), float(row[1]), bytes(row[2]))

    async def delete(self, pd_user_id: str) -> bool:
        cursor = await self._run(lambda db: db.execute(
            "DELETE FROM alex_linked_tokens WHERE pd_user_id = ?", (pd_user_id,)))
        return cursor.rowcount > 0

    async def aclose(self) -> None:
        await asyncio.to_thread(self._close)

    def _close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    async def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await asyncio.to_thread(self._locked, work)

    def _locked(self, work: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            if self._db is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self.path, timeout=self._timeout_s, isolation_level=None,
                                     check_same_thread=False)
                try:
                    db.execute(_SCHEMA)
                except BaseException:
                    db.close()
                    raise
                self._db = db
            return work(self._db)  # autocommit: each statement is its own transaction


class RedisVault:
    """One hash per person, ``<prefix>linked-token:<user id>``, on a Redis client of its own."""

    kind = "redis"

    def __init__(self, client: Redis, *, prefix: str = "alex:") -> None:
        self.client = client
        self.prefix = prefix

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "alex:") -> RedisVault:
        from redis.asyncio import Redis

        client = Redis.from_url(url, decode_responses=True, socket_timeout=REDIS_TIMEOUT_S,
                                socket_connect_timeout=REDIS_TIMEOUT_S, health_check_interval=30)
        return cls(client, prefix=prefix)

    def key(self, pd_user_id: str) -> str:
        return f"{self.prefix}linked-token:{pd_user_id}"

    async def put(self, pd_user_id: str, link: StoredLink) -> None:
        await self.client.hset(self.key(pd_user_id), mapping={
            "slack_user_id": link.slack_user_id, "linked_at": repr(link.linked_at),
            "ciphertext": link.ciphertext.decode("ascii")})

    async def get(self, pd_user_id: str) -> StoredLink | None:
        raw = await self.client.hgetall(self.key(pd_user_id))
        row = {_text(name): _text(value) for name, value in raw.items()}
        if not row or "ciphertext" not in row:
            return None
        return StoredLink(row.get("slack_user_id", ""), float(row.get("linked_at") or 0.0),
                          row["ciphertext"].encode("ascii"))

    async def delete(self, pd_user_id: str) -> bool:
        return bool(await self.client.delete(self.key(pd_user_id)))

    async def aclose(self) -> None:
        await self.client.aclose()


# -- helpers -------------------------------------------------------------------------------------------

async def _guarded(work: Awaitable[T]) -> T:
    """Await ``work``; storage failures become :class:`TokenStoreError` naming the error type only (a
    driver's message may carry a path or a host, which the person who asked does not need)."""
    try:
        return await work
    except (sqlite3.Error, RedisError, OSError) as exc:
        raise TokenStoreError(f"the linked PagerDuty tokens are unavailable ({type(exc).__name__})") from None


def _user_id(pd_user_id: str) -> str:
    user = pd_user_id.strip()
    if not user or len(user) > MAX_USER_ID_CHARS or any(not (0x21 <= ord(ch) <= 0x7E) for ch in user):
        raise ValueError("a PagerDuty user id is 1 to 64 printable characters")
    return user


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _loggable(value: str) -> str:
    return "".join(ch if 0x21 <= ord(ch) <= 0x7E else "?" for ch in value[:MAX_USER_ID_CHARS])
