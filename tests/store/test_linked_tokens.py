"""Linked PagerDuty tokens (``/alex connect``) on every backend: encrypted at rest, keyed per person,
revocable, unreadable without the key, and never shown in a log, an exception or a ``repr()``."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from cryptography.fernet import Fernet, MultiFernet
from pydantic import SecretStr

from bot.config import MissingSettingError, Settings
from bot.store import open_state
from bot.store.linked_tokens import (
    KEY_VARIABLE,
    InvalidTokenKeyError,
    LinkedTokens,
    MemoryVault,
    RedisVault,
    SQLiteVault,
    TokenStoreError,
    TokenVault,
    open_linked_tokens,
    token_cipher,
)
from bot.tools.audit import AuditEntry
from tests.store.conftest import _free_port

KEY = Fernet.generate_key().decode()
OTHER_KEY = Fernet.generate_key().decode()
TOKEN = "u+LINKED-DUMMY-TOKEN-5d1e"
"""A token as PagerDuty issues them (``u+…``); only the tests know it."""
SAM, AISHA = "PSAM001", "PAISHA1"


def cipher(*keys: str) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


@dataclass
class Vaults:
    """Opens vaults of one kind on the same storage (another replica, or alex after a restart)."""

    kind: str
    tmp_path: Path
    redis_url: str | None = None
    opened: list[TokenVault] = field(default_factory=list)
    _memory: MemoryVault | None = None

    @property
    def sqlite_path(self) -> Path:
        return self.tmp_path / "state" / "alex-state.sqlite3"

    def open(self, *keys: str) -> LinkedTokens:
        vault: TokenVault
        if self.kind == "memory":
            self._memory = self._memory or MemoryVault()
            vault = self._memory
        elif self.kind == "sqlite":
            vault = SQLiteVault(self.sqlite_path)
        else:
            assert self.redis_url is not None
            vault = RedisVault.from_url(self.redis_url)
        self.opened.append(vault)
        return LinkedTokens(vault, cipher(*(keys or (KEY,))))

    def stored_bytes(self) -> bytes:
        """Everything the storage holds, raw."""
        if self.kind == "memory":
            assert self._memory is not None
            return b"".join(repr(row).encode() + row.ciphertext for row in self._memory._rows.values())
        if self.kind == "sqlite":
            return b"".join(path.read_bytes() for path in sorted(self.sqlite_path.parent.iterdir()))
        client = redis.Redis.from_url(self.redis_url or "")
        try:
            return b"".join(bytes(k) + b"".join(bytes(x) for kv in client.hgetall(k).items() for x in kv)
                            for k in client.keys("*"))
        finally:
            client.close()

    async def aclose(self) -> None:
        for vault in self.opened:
            await vault.aclose()


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def vaults(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Vaults]:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    made = Vaults(request.param, tmp_path, url)
    yield made
    await made.aclose()


def no_secret_in(text: str) -> None:
    for secret in (TOKEN, KEY, OTHER_KEY):
        assert secret not in text


async def test_a_linked_token_is_returned_to_its_owner_until_unlinked(vaults: Vaults) -> None:
    tokens = vaults.open()
    assert await tokens.token_for(SAM) is None and not await tokens.linked(SAM)
    await tokens.link(pd_user_id=SAM, slack_user_id="U0SAM", token=SecretStr(TOKEN))
    got = await tokens.token_for(SAM)
    assert got is not None and got.get_secret_value() == TOKEN
    assert await tokens.linked(SAM) and not await tokens.linked(AISHA)
    status = await tokens.status(SAM)
    assert status is not None and status.readable and status.slack_user_id == "U0SAM"
    assert status.linked_at.tzinfo is not None
    assert await tokens.unlink(SAM) is True
    assert await tokens.token_for(SAM) is None and await tokens.status(SAM) is None
    assert await tokens.unlink(SAM) is False


async def test_only_the_ciphertext_is_stored_and_nothing_shows_the_token(vaults: Vaults) -> None:
    tokens = vaults.open()
    await tokens.link(pd_user_id=SAM, slack_user_id="U0SAM", token=SecretStr(TOKEN))
    raw = vaults.stored_bytes()
    assert SAM.encode() in raw or vaults.kind == "memory"  # the row is there...
    assert TOKEN.encode() not in raw and KEY.encode() not in raw  # ...but not the token, nor the key
    assert TOKEN[2:].encode() not in raw
    no_secret_in(repr(tokens) + repr(tokens._vault) + repr(await tokens._vault.get(SAM)))


async def test_another_instance_on_the_same_storage_reads_it(vaults: Vaults) -> None:
    """A second replica (Redis) or alex after a restart (SQLite) finds the link; ``unlink`` anywhere
    removes it everywhere."""
    first, second = vaults.open(), vaults.open()
    await first.link(pd_user_id=SAM, slack_user_id="U0SAM", token=SecretStr(TOKEN))
    got = await second.token_for(SAM)
    assert got is not None and got.get_secret_value() == TOKEN
    assert await second.unlink(SAM)
    assert await first.token_for(SAM) is None


async def test_a_changed_key_counts_as_not_linked_and_logs_no_secret(
        vaults: Vaults, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    await vaults.open(KEY).link(pd_user_id=SAM, slack_user_id="U0SAM", token=SecretStr(TOKEN))
    rekeyed = vaults.open(OTHER_KEY)
    assert await rekeyed.token_for(SAM) is None
    assert not await rekeyed.linked(SAM)
    status = await rekeyed.status(SAM)
    assert status is not None and not status.readable
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(SAM in w and KEY_VARIABLE in w for w in warnings), warnings
    no_secret_in(caplog.text)


async def test_rotating_the_key_keeps_old_links_readable(vaults: Vaults) -> None:
    await vaults.open(KEY).link(pd_user_id=SAM, slack_user_id="U0SAM", token=SecretStr(TOKEN))
    rotated = vaults.open(OTHER_KEY, KEY)  # ALEX_TOKEN_KEY=new,old
    old = await rotated.token_for(SAM)
    assert old is not None and old.get_secret_value() == TOKEN
    await rotated.link(pd_user_id=AISHA, slack_user_id="U0AISHA", token=SecretStr(TOKEN + "x"))
    new_only = vaults.open(OTHER_KEY)
    assert await new_only.token_for(SAM) is None  # linked under the old key only
    relinked = await new_only.token_for(AISHA)
    assert relinked is not None and relinked.get_secret_value() == TOKEN + "x"


async def test_a_ciphertext_copied_to_another_person_does_not_decrypt_as_theirs(tmp_path: Path) -> None:
    path = tmp_path / "alex.sqlite3"
    tokens = LinkedTokens(SQLiteVault(path), cipher(KEY))
    await tokens.link(pd_user_id=SAM, slack_user_id="U0SAM", token=SecretStr(TOKEN))
    with sqlite3.connect(path) as db:  # someone with write access to the file moves Sam's token to Aisha
        db.execute("INSERT INTO alex_linked_tokens SELECT ?, 'U0AISHA', linked_at, ciphertext "
                   "FROM alex_linked_tokens WHERE pd_user_id = ?", (AISHA, SAM))
    db.close()
    assert await tokens.token_for(AISHA) is None
    assert await tokens.token_for(SAM) is not None
    await tokens.aclose()


async def test_link_bounds_what_it_accepts(vaults: Vaults) -> None:
    tokens = vaults.open()
    for bad in ("", "a" * 513, "two words", "tab\there", "ünïcode"):
        with pytest.raises(ValueError) as refused:
            await tokens.link(pd_user_id=SAM, slack_user_id="U0SAM", token=SecretStr(bad))
        assert bad not in str(refused.value) or not bad
    for user in ("", "P" * 65, "P 1"):
        with pytest.raises(ValueError):
            await tokens.link(pd_user_id=user, slack_user_id="U0SAM", token=SecretStr(TOKEN))
    assert await tokens.status(SAM) is None


async def test_an_unreachable_store_raises_a_store_error_without_details() -> None:
    url = f"redis://:s3cret-pass@127.0.0.1:{_free_port()}/0"  # nothing listens there
    tokens = LinkedTokens(RedisVault.from_url(url), cipher(KEY))
    for attempt in (tokens.token_for(SAM), tokens.link(pd_user_id=SAM, slack_user_id="U0SAM",
                                                        token=SecretStr(TOKEN))):
        with pytest.raises(TokenStoreError) as failed:
            await attempt
        assert "s3cret-pass" not in str(failed.value) and "127.0.0.1" not in str(failed.value)
        no_secret_in(str(failed.value))
    await tokens.aclose()


async def test_a_locked_sqlite_file_fails_fast_with_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "alex.sqlite3"
    tokens = LinkedTokens(SQLiteVault(path, timeout_s=0.2), cipher(KEY))
    await tokens.link(pd_user_id=SAM, slack_user_id="U0SAM", token=SecretStr(TOKEN))
    locker = sqlite3.connect(path, isolation_level=None)
    try:
        locker.execute("BEGIN EXCLUSIVE")
        with pytest.raises(TokenStoreError, match="OperationalError"):
            await tokens.link(pd_user_id=AISHA, slack_user_id="U0AISHA", token=SecretStr(TOKEN))
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    await tokens.aclose()


# -- the key and the factory ------------------------------------------------------------------------

def settings(**env: Any) -> Settings:
    return Settings(_env_file=None, **env)


def test_no_key_means_linking_is_off() -> None:
    assert open_linked_tokens(settings()) is None
    assert open_linked_tokens(settings(ALEX_TOKEN_KEY="  ")) is None


@pytest.mark.parametrize("bad", ["not-a-key", KEY[:-4], f"{KEY},", "x" * 44, "ключ"])
def test_a_malformed_key_is_refused_naming_the_variable_never_the_value(bad: str) -> None:
    with pytest.raises(InvalidTokenKeyError) as refused:
        token_cipher(settings(ALEX_TOKEN_KEY=bad))
    message = str(refused.value)
    assert KEY_VARIABLE in message and "Fernet.generate_key" in message
    assert bad not in message
    assert isinstance(refused.value, MissingSettingError)  # `alex serve` reports it and exits 2
    assert refused.value.__cause__ is None and refused.value.__suppress_context__  # no chained key text


def test_settings_never_show_the_key() -> None:
    loaded = settings(ALEX_TOKEN_KEY=KEY)
    assert KEY not in repr(loaded) and KEY not in str(loaded.model_dump())


@pytest.mark.parametrize("kind", ["memory", "sqlite", "redis"])
async def test_the_factory_keeps_tokens_beside_the_state(kind: str, tmp_path: Path,
                                                         request: pytest.FixtureRequest) -> None:
    env: dict[str, Any] = {"ALEX_TOKEN_KEY": f"{KEY},{OTHER_KEY}"}
    if kind == "memory":
        env["ALEX_STATE_PATH"] = ":memory:"
    elif kind == "sqlite":
        env["ALEX_STATE_PATH"] = str(tmp_path / "alex-state.sqlite3")
    else:
        env["ALEX_STATE_URL"] = request.getfixturevalue("redis_url")
    loaded = settings(**env)
    tokens = open_linked_tokens(loaded)
    assert tokens is not None and tokens.kind == kind
    state = open_state(loaded)  # the state on the same file / server, used at the same time
    try:
        await state.record(AuditEntry(action="resolve_incidents", summary="s", outcome="ok"))
        await tokens.link(pd_user_id=SAM, slack_user_id="U0SAM", token=SecretStr(TOKEN))
        assert [e.action for e in await state.recent()] == ["resolve_incidents"]
        assert await tokens.linked(SAM)
    finally:
        await tokens.aclose()
        await state.aclose()
    if kind == "sqlite":
        reopened = open_linked_tokens(loaded)
        assert reopened is not None and await reopened.linked(SAM)  # survives a restart
        await reopened.aclose()


def test_the_sandbox_keeps_them_in_memory(tmp_path: Path) -> None:
    tokens = open_linked_tokens(settings(ALEX_TOKEN_KEY=KEY, ALEX_STATE_PATH=str(tmp_path / "s.sqlite3")),
                                in_memory=True)
    assert tokens is not None and tokens.kind == "memory"

