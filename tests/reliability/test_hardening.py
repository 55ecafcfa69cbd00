"""Issue 10, items 5, 8, 9 and 11 (ingress part): the HTTP front door and the state store under attack.

Black-box: requests go over HTTP to the real aiohttp app of ``alex serve`` (:func:`bot.slack.serve.web_app`
on aiohttp's test server, or the real ``alex serve`` process on a loopback port), with FakeSlack and the
demo sandbox behind it; the state store is a real SQLite file that another connection locks, deletes or
overwrites, as an operator or a stuck process would.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import io
import json
import logging
import os
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from slack_bolt.async_app import AsyncApp

from bot.config import Settings
from bot.doctor.state import check_state
from bot.slack.serve import serve, web_app
from bot.store import StateHealth
from bot.store.sqlite import SQLiteState
from tests.fakes.fake_slack import BOT_USER_ID, TEAM_ID, FakeSlack
from tests.slack.conftest import GENERAL, SAM, SECRET, SlackHarness, event_callback, signed
from tests.store import conftest as store_fixtures
from tests.store.conftest import ReplicaFactory

make_replica = store_fixtures.make_replica
REPO_ROOT = Path(__file__).resolve().parents[2]

FORGED = "2001-01-01 00:00:00,000 ERROR bot.tools.audit: audit log unavailable, writes unaudited FORGED-LINE"
"""What an attacker wants to appear as a line of its own in alex's log."""
FORM = "application/x-www-form-urlencoded"


@asynccontextmanager
async def over_http(app: AsyncApp, health: Callable[[], Awaitable[StateHealth]] | None = None) -> AsyncIterator[
        TestClient[Any, Any]]:
    """``POST /slack/events`` and ``GET /healthz`` of ``alex serve``'s web app, on a loopback port."""
    async with TestClient(TestServer(web_app(app, signing_secret=SECRET, health=health, health_cache_s=0))) as client:
        yield client


def sign_bytes(raw: bytes, *, timestamp: int | None = None, content_type: str = "application/json") -> dict[str, str]:
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{stamp}:".encode() + raw, hashlib.sha256).hexdigest()
    return {"content-type": content_type, "x-slack-request-timestamp": stamp, "x-slack-signature": f"v0={digest}"}


def mention(text: str, ts: str) -> dict[str, Any]:
    return {"type": "app_mention", "user": SAM, "text": f"<@{BOT_USER_ID}> {text}", "ts": ts, "event_ts": ts,
            "channel": GENERAL, "team": TEAM_ID}


def no_traceback(records: list[logging.LogRecord]) -> None:
    bad = [r.getMessage()[:200] for r in records
           if r.exc_info or r.levelno >= logging.ERROR or "Traceback" in r.getMessage()]
    assert not bad, f"errors or tracebacks logged: {bad}"


# -- item 5: unauthenticated requests forge log lines and amplify ---------------------------------------------
async def test_5_an_unauthenticated_body_is_never_logged(make_slack: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    slack: SlackHarness = await make_slack()
    # Valid JSON (so Bolt reaches its signature check) with a raw newline before a forged record.
    forging = ('{"type": "event_callback", "event_id": "Ev5",\n"note": "' + FORGED + '"}').encode()
    flood = ('{"type": "event_callback", "padding": "' + "A" * 900_000 + '"}').encode()
    async with over_http(slack.app) as http:
        refused = await http.post("/slack/events", data=forging, headers={"content-type": "application/json"})
        wrong = await http.post("/slack/events", data=forging, headers={**sign_bytes(forging),
                                                                        "x-slack-signature": "v0=" + "0" * 64})
        big = await http.post("/slack/events", data=flood, headers={"content-type": "application/json"})
        statuses = [refused.status, wrong.status, big.status]
    logged = [r.getMessage() for r in caplog.records]
    assert not [m for m in logged if "FORGED-LINE" in m or "Ev5" in m or "AAAA" in m], "a refused body was logged"
    assert all(len(m) <= 2_000 and "\n" not in m for m in logged), [m[:100] for m in logged if len(m) > 2_000]
    assert statuses == [401, 401, 413]
    await asyncio.sleep(0.1)
    assert slack.fake.of("chat.postMessage") == [] and not slack.sandbox.requests


async def _drain(stream: asyncio.StreamReader, into: list[str], ready: asyncio.Event) -> None:
    while line := await stream.readline():
        text = line.decode("utf-8", "replace")
        into.append(text)
        if "HTTP mode on port" in text:
            ready.set()


async def test_5_alex_serve_writes_each_log_record_on_one_capped_line(fake_slack: FakeSlack, tmp_path: Path,
                                                                    unused_tcp_port: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ALEX_", "OPENAI_", "PAGERDUTY_"))}
    env |= {"SLACK_BOT_TOKEN": "xoxb-test-token", "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": fake_slack.api_url,
            "PORT": str(unused_tcp_port), "PYTHONPATH": str(REPO_ROOT)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main(sys.argv[1:]))", "serve",
        "--sandbox", cwd=tmp_path, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    assert process.stderr is not None
    lines: list[str] = []
    ready = asyncio.Event()
    reader = asyncio.ensure_future(_drain(process.stderr, lines, ready))
    try:
        await asyncio.wait_for(ready.wait(), 60)
        import httpx2

        async with httpx2.AsyncClient(base_url=f"http://127.0.0.1:{unused_tcp_port}", timeout=30) as http:
            # Form-encoded without a payload: Bolt parses anything, then logs the refused body as it came.
            forging = ("team_id=T1\n" + FORGED + " \x1b[2J").encode()
            unsigned = await http.post("/slack/events", content=forging, headers={"content-type": FORM})
            assert unsigned.status_code == 401
            # Signed, so it reaches Bolt, which logs what it cannot handle, event type and body included: the
            # type carries a newline and a forged record, the body 20,000 characters.
            odd = json.dumps(event_callback({"type": "odd\n" + FORGED, "blob": "B" * 20_000}, "Ev5b"))
            handled = await http.post("/slack/events", content=odd.encode(), headers=signed(odd))
            assert handled.status_code < 500
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
        await asyncio.wait_for(reader, 10)
    text = "".join(lines)
    assert "Unhandled request" in text, "Bolt's warning about the odd event should be in the log (escaped)"
    assert not [line for line in lines if line.startswith("2001-01-01")], "a forged line starts a log line"
    assert "\x1b" not in text
    assert max(len(line) for line in lines) <= 2_200, "a log record longer than the cap"
    assert "FORGED-LINE \\x1b" not in text, "the unauthenticated body reached the log"


# -- item 11: malformed bodies answer 400/401, never 500 with a traceback ------------------------------------
@pytest.mark.parametrize(("raw", "content_type", "sign", "status"), [
    (b"not json at all", "application/json", False, 401),
    (b"not json at all", "application/json", True, 400),
    (b"payload=%ZZ%", FORM, False, 401),
    (b"payload=%ZZ%", FORM, True, 400),
    (b"payload=not-json", FORM, True, 400),
    (b"payload=%5B1%2C2%5D", FORM, True, 400),  # a JSON array, not an object
    (b"[1, 2, 3]", "application/json", True, 400),
    (b"\"a string\"", "application/json", True, 400),
    (b"\xff\xfe{\"type\": 1}", "application/json", False, 401),
    (b"\xff\xfe{\"type\": 1}", "application/json", True, 400),
    (b"[" * 50_000, "application/json", True, 400),
    (b"", "application/json", True, 400),
])
async def test_11_malformed_bodies_are_refused_with_400_or_401_and_no_traceback(
        make_slack: Any, caplog: pytest.LogCaptureFixture, raw: bytes, content_type: str, sign: bool,
        status: int) -> None:
    caplog.set_level(logging.DEBUG)
    slack: SlackHarness = await make_slack()
    headers = sign_bytes(raw, content_type=content_type) if sign else {"content-type": content_type}
    async with over_http(slack.app) as http:
        response = await http.post("/slack/events", data=raw, headers=headers)
        body = await response.text()
    assert response.status == status, body
    assert "Traceback" not in body and json.loads(body).keys() == {"error"}
    no_traceback(caplog.records)


@pytest.mark.parametrize("headers", [
    {},
    {"x-slack-request-timestamp": "not-a-number", "x-slack-signature": "v0=" + "0" * 64},
    {"x-slack-request-timestamp": "1e9", "x-slack-signature": "v0=" + "0" * 64},
    {"x-slack-request-timestamp": "-5", "x-slack-signature": "v0=" + "0" * 64},
    {"x-slack-request-timestamp": "9" * 40, "x-slack-signature": "v0=" + "0" * 64},
    {"x-slack-request-timestamp": str(int(time.time())), "x-slack-signature": "garbage\u202e"},
    {"x-slack-request-timestamp": str(int(time.time()))},
], ids=["none", "non-numeric", "exponent", "negative", "huge", "bad-signature-format", "no-signature"])
async def test_11_missing_or_invalid_headers_are_401_and_no_traceback(
        make_slack: Any, caplog: pytest.LogCaptureFixture, headers: dict[str, str]) -> None:
    caplog.set_level(logging.DEBUG)
    slack: SlackHarness = await make_slack()
    raw = json.dumps(event_callback(mention("services", slack.ts()), "Ev11h"))
    async with over_http(slack.app) as http:
        response = await http.post("/slack/events", data=raw.encode(),
                                   headers={"content-type": "application/json", **headers})
        body = await response.text()
        assert response.status == 401 and "Traceback" not in body
        # A well-formed signed request is still served.
        challenge = json.dumps({"type": "url_verification", "challenge": "c-11", "token": "t"})
        verified = await http.post("/slack/events", data=challenge.encode(), headers=signed(challenge))
        assert verified.status == 200 and "c-11" in await verified.text()
    no_traceback(caplog.records)
    await asyncio.sleep(0.1)
    assert slack.fake.of("chat.postMessage") == []


# -- item 8: a locked SQLite file must not stall the Events ack ------------------------------------------------
@pytest.fixture
async def sqlite_state(tmp_path: Path) -> AsyncIterator[SQLiteState]:
    state = SQLiteState(tmp_path / "state" / "alex-state.sqlite3")
    yield state
    await state.aclose()


async def test_8_a_locked_state_file_does_not_stall_the_ack_and_the_event_is_answered_once(
        make_replica: ReplicaFactory, sqlite_state: SQLiteState) -> None:
    slack = await make_replica(sqlite_state)
    assert await sqlite_state.first_seen("event:Ev8-earlier")  # the file exists, as after any earlier event
    raw = json.dumps(event_callback(mention("services", slack.ts()), "Ev8"))
    locker = sqlite3.connect(sqlite_state.path, isolation_level=None, timeout=0)
    try:
        async with over_http(slack.app) as http:
            locker.execute("BEGIN EXCLUSIVE")
            acks = []
            for retry in (None, "1"):
                headers = signed(raw) | ({"x-slack-retry-num": retry, "x-slack-retry-reason": "http_timeout"}
                                         if retry else {})
                started = time.monotonic()
                response = await http.post("/slack/events", data=raw.encode(), headers=headers)
                acks.append((response.status, time.monotonic() - started))
            locker.execute("ROLLBACK")
            # Slack's last retry arrives after the lock is gone: the first delivery was answered already.
            late = await http.post("/slack/events", data=raw.encode(),
                                   headers=signed(raw) | {"x-slack-retry-num": "2"})
            assert late.status == 200
            await slack.reply()
            await asyncio.sleep(0.2)
            await slack.settle()
    finally:
        locker.close()
    assert [status for status, _ in acks] == [200, 200]
    assert max(took for _, took in acks) < 2.0, f"the ack waited for the locked file: {acks}"
    assert len(slack.fake.of("chat.postMessage")) == 1


# -- item 9: a corrupted or deleted SQLite file ------------------------------------------------------------------
def _serve_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, state_path: Path, port: int) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_APP_TOKEN", "ALEX_STATE_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test-token")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SECRET)
    monkeypatch.setenv("PAGERDUTY_USER_API_KEY", "u+DUMMY-PD-TOKEN-7f3a")
    monkeypatch.setenv("ALEX_STATE_PATH", str(state_path))
    monkeypatch.setenv("PORT", str(port))


async def _damaged_page_file(path: Path) -> None:
    """A real state file whose pages in the middle were overwritten (a torn write, a bad disk)."""
    state = SQLiteState(path)
    await state.first_seen("event:Ev0")
    await state.aclose()
    db = sqlite3.connect(path)
    with db:
        db.executemany("INSERT INTO alex_seen (key, expires_at) VALUES (?, 0)",
                       [(f"event:Ev{n:05d}-" + "x" * 200,) for n in range(3_000)])
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    _overwrite(path, b"\x00\xffGARBAGE-CONTENTS" * 600, middle=True)


def _overwrite(path: Path, chunk: bytes, *, middle: bool = False) -> None:
    """``chunk`` written over the second half of the file (``middle``), or repeated over all of it: the same
    file damaged in place, as a bad disk or a stray write would."""
    size = path.stat().st_size
    with open(path, "r+b") as file:
        if middle:
            file.seek(size // 2)
            file.write(chunk)
        else:
            file.write(chunk * (size // len(chunk) + 1))


def _remove_state_files(path: Path) -> None:
    """``rm alex-state.sqlite3*``."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@pytest.mark.parametrize("damage", ["not-a-database", "damaged-pages"])
async def test_9_a_corrupted_state_file_stops_alex_serve_at_start(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                 unused_tcp_port: int, damage: str) -> None:
    path = tmp_path / "alex-state.sqlite3"
    if damage == "not-a-database":
        path.write_bytes(b"PRIVATE-CONTENTS of something that is not SQLite\n" * 100)
    else:
        await _damaged_page_file(path)
    _serve_env(monkeypatch, tmp_path, path, unused_tcp_port)
    err = io.StringIO()
    args = argparse.Namespace(sandbox=False, dataset="demo", now=None, as_email=None)
    assert await asyncio.wait_for(serve(args, err), 30) == 2, "alex serve started on a corrupted state file"
    text = err.getvalue()
    assert str(path) in text and "state store" in text and "not a usable SQLite database" in text, text
    assert "CONTENTS" not in text and "u+DUMMY" not in text


async def test_9_a_deleted_state_file_is_recreated_while_serving(make_replica: ReplicaFactory,
                                                                 sqlite_state: SQLiteState) -> None:
    slack = await make_replica(sqlite_state)
    async with over_http(slack.app, health=sqlite_state.health) as http:
        health = await http.get("/healthz")
        assert (health.status, (await health.json())["ok"]) == (200, True)
        await _deliver(http, "Ev9-before", slack)
        await slack.reply()
        _remove_state_files(sqlite_state.path)
        await _deliver(http, "Ev9-after", slack)
        await slack.reply(2)
        assert sqlite_state.path.exists(), "the state file was not recreated"
        with sqlite3.connect(sqlite_state.path) as db:
            keys = [row[0] for row in db.execute("SELECT key FROM alex_seen")]
        assert "event:Ev9-after" in keys, "dedupe went to the deleted file"
        health = await http.get("/healthz")
        assert health.status == 200 and (await health.json())["state"].endswith(": ok")


async def _deliver(http: TestClient[Any, Any], event_id: str, slack: SlackHarness) -> None:
    raw = json.dumps(event_callback(mention("services", slack.ts()), event_id))
    response = await http.post("/slack/events", data=raw.encode(), headers=signed(raw))
    assert response.status == 200


async def test_9_a_file_corrupted_while_serving_fails_healthz(make_replica: ReplicaFactory,
                                                              sqlite_state: SQLiteState) -> None:
    slack = await make_replica(sqlite_state)
    async with over_http(slack.app, health=sqlite_state.health) as http:
        await _deliver(http, "Ev9c", slack)
        await slack.reply()
        _overwrite(sqlite_state.path, b"SECRET-ISH CONTENTS ")
        health = await http.get("/healthz")
        body = await health.json()
    assert health.status == 503 and body["ok"] is False, body
    assert str(sqlite_state.path) in body["state"] and "CONTENTS" not in body["state"]


@pytest.mark.parametrize("damage", ["not-a-database", "damaged-pages", "missing", "healthy"])
async def test_9_doctor_checks_the_state_store(tmp_path: Path, damage: str) -> None:
    path = tmp_path / "alex-state.sqlite3"
    if damage == "not-a-database":
        path.write_bytes(b"PRIVATE-CONTENTS " * 100)
    elif damage == "damaged-pages":
        await _damaged_page_file(path)
    elif damage == "healthy":
        state = SQLiteState(path)
        await state.first_seen("event:Ev9d")
        await state.aclose()
    checks = await check_state(Settings(_env_file=None, ALEX_STATE_PATH=str(path)))
    assert [(c.area, c.name) for c in checks] == [("State", "state store")]
    check = checks[0]
    assert str(path) in check.message and "CONTENTS" not in check.message
    if damage in ("missing", "healthy"):
        assert check.status == "ok", check
        assert not path.exists() or damage == "healthy", "doctor created the state file"
    else:
        assert check.status == "fail" and "not a usable SQLite database" in check.message, check
        assert check.fix and "move the file aside" in check.fix
