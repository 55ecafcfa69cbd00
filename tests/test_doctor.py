"""``alex doctor``: each configuration problem is reported with its fix, offline.

Slack is a tiny local Web API (a real HTTP server on an ephemeral port: slack_sdk speaks aiohttp),
PagerDuty is the sandbox, the LLM endpoint is an ``httpx2.MockTransport``. No secret value ever
appears in the output.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2
import pytest

from bot.cli import main
from bot.config import Settings
from bot.doctor.command import run_doctor
from bot.doctor.llm import check_llm
from bot.doctor.pagerduty import region
from bot.doctor.report import Check, as_json, render_text
from bot.pagerduty import EU_BASE_URL
from bot.sandbox import DEFAULT_NOW, Sandbox, build_sandbox
from tests.helpers import sandbox_transport

BOT_TOKEN = "xoxb-DUMMY-SECRET-bot"
APP_TOKEN = "xapp-DUMMY-SECRET-app"
SIGNING_SECRET = "DUMMY-SECRET-signing"
PD_TOKEN = "DUMMY-SECRET-pagerduty"
OPENAI_KEY = "sk-DUMMY-SECRET-openai"
MANIFEST_SCOPES = ["app_mentions:read", "chat:write", "im:history", "users:read", "users:read.email"]
ENV_VARS = ["SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL", "PAGERDUTY_USER_API_KEY",
            "PAGERDUTY_API_URL", "OPENAI_API_KEY", "OPENAI_BASE_URL", "ALEX_MODEL"]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


# -- a fake Slack Web API -------------------------------------------------------------------------
class FakeSlack:
    """Answers ``auth.test`` per bot token: ``scopes`` (None: no x-oauth-scopes header) or an error."""

    def __init__(self) -> None:
        self.tokens: dict[str, dict[str, Any]] = {}
        self.calls: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                fake.calls.append(self.path)
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                grant = fake.tokens.get(token, {"error": "invalid_auth"})
                if "error" in grant:
                    body: dict[str, Any] = {"ok": False, "error": grant["error"]}
                else:
                    body = {"ok": True, "url": "https://acme.slack.com/", "team": "Acme Payments", "user": "alex",
                            "team_id": "T0ACME", "user_id": "U0ALEX", "bot_id": "B0ALEX"}
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                if grant.get("scopes") is not None:
                    self.send_header("x-oauth-scopes", ",".join(grant["scopes"]))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.tokens[BOT_TOKEN] = {"scopes": [*MANIFEST_SCOPES, "reactions:write"]}
    thread = threading.Thread(target=fake.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()
    thread.join()


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "manifest.yml"
    scopes = "".join(f"      - {scope}   # why\n" for scope in MANIFEST_SCOPES)
    path.write_text(f"oauth_config:\n  scopes:\n    bot:\n{scopes}settings:\n  socket_mode_enabled: true\n")
    return path


@pytest.fixture(scope="module")
def demo() -> Sandbox:
    """Doctor only reads, so one sandbox serves the module (fault tests clear their faults)."""
    return build_sandbox("demo", now=DEFAULT_NOW, token=PD_TOKEN, rate_limit_per_minute=None)


def models(*ids: str, status: int = 200) -> httpx2.MockTransport:
    """An endpoint listing ``ids`` (or failing with ``status``) whose chat completions answer "OK"."""
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/chat/completions"):
            return httpx2.Response(200, json={"id": "c", "object": "chat.completion", "created": 0, "model": "m",
                                              "choices": [{"index": 0, "finish_reason": "stop",
                                                           "message": {"role": "assistant", "content": "OK"}}]})
        assert request.url.path.endswith("/models")
        if status != 200:
            return httpx2.Response(status, json={"error": {"message": "nope"}})
        return httpx2.Response(200, json={"object": "list", "data": [{"id": i, "object": "model"} for i in ids]})

    return httpx2.MockTransport(handler)


def settings(pd_token: str | None = PD_TOKEN, **env: str) -> Settings:
    values: dict[str, Any] = {"_env_file": None, "ALEX_MODEL": "gpt-4.1-mini", **env}  # not the default: pinned
    if pd_token is not None:
        values["PAGERDUTY_USER_API_KEY"] = pd_token
    return Settings(**values)


SlackEnv = dict[str, Any]
"""The Slack fields of a Settings (read from these variables), to put on another Settings."""
SLACK_FIELDS = ("slack_bot_token", "slack_app_token", "slack_signing_secret", "slack_api_url")


def slack_env(fake: FakeSlack | None, **env: str) -> SlackEnv:
    values: dict[str, Any] = {"_env_file": None, "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": APP_TOKEN, **env}
    if fake is not None:
        values["SLACK_API_URL"] = fake.url
    read = Settings(**values)
    return {name: getattr(read, name) for name in SLACK_FIELDS}


Doctor = Callable[..., Any]


@pytest.fixture
def doctor(slack: FakeSlack, manifest: Path, demo: Sandbox) -> Doctor:
    """Run every check; keyword overrides: pd (Settings), env (its Slack fields), llm (transport), pd_transport."""

    async def run(*, pd: Settings | None = None, env: SlackEnv | None = None,
                  llm: httpx2.AsyncBaseTransport | None = None, pd_transport: httpx2.AsyncBaseTransport | None = None,
                  manifest_path: Path = manifest) -> list[Check]:
        configured = (pd or settings(OPENAI_API_KEY=OPENAI_KEY)).model_copy(update=env or slack_env(slack))
        checks = await run_doctor(
            configured, manifest_path=manifest_path, pagerduty_transport=pd_transport or sandbox_transport(demo),
            llm_transport=llm or models("gpt-4.1-mini"))
        assert_no_secrets(checks)
        return checks

    return run


def assert_no_secrets(checks: list[Check]) -> None:
    for text in (render_text(checks), json.dumps(as_json(checks), ensure_ascii=False)):
        assert "DUMMY-SECRET" not in text


def find(checks: list[Check], area: str, name: str) -> list[Check]:
    return [c for c in checks if c.area == area and c.name == name]


def one(checks: list[Check], area: str, name: str) -> Check:
    found = find(checks, area, name)
    assert len(found) == 1, found
    return found[0]


# -- everything fine ------------------------------------------------------------------------------
async def test_all_good(doctor: Doctor, slack: FakeSlack) -> None:
    checks = await doctor()
    assert [c.status for c in checks if c.status != "ok"] == []
    text = render_text(checks)
    assert "✓ auth.test: connected as @alex (U0ALEX) in Acme Payments (T0ACME)" in text
    assert "all 5 bot scopes of manifest.yml granted (also granted, not in manifest.yml: reactions:write)" in text
    assert "Socket Mode" in text
    assert "user token for Sam Rivera <sam.rivera@acme-payments.example>, role Manager (user); region US" in text
    assert one(checks, "PagerDuty", "services").message == "sees 10 services"
    assert "✓ api.openai.com reachable; model gpt-4.1-mini available" in text
    assert text.endswith("✓ alex is ready.")
    assert as_json(checks)["ok"] is True
    assert slack.calls == ["/api/auth.test"]


# -- Slack ----------------------------------------------------------------------------------------
async def test_missing_scope_says_reinstall(doctor: Doctor, slack: FakeSlack) -> None:
    slack.tokens[BOT_TOKEN] = {"scopes": ["app_mentions:read", "chat:write", "im:history", "users:read"]}
    check = one(await doctor(), "Slack", "scopes")
    assert check.status == "fail"
    assert check.message == "missing bot scopes: users:read.email"
    assert check.fix is not None and "reinstall the app" in check.fix


@pytest.mark.parametrize(("error", "expected"), [("invalid_auth", "copy the Bot User OAuth Token"),
                                                 ("token_revoked", "reinstall the app")])
async def test_refused_bot_token(doctor: Doctor, slack: FakeSlack, error: str, expected: str) -> None:
    slack.tokens[BOT_TOKEN] = {"error": error}
    checks = await doctor()
    check = one(checks, "Slack", "auth")
    assert check.status == "fail" and error in check.message
    assert check.fix is not None and expected in check.fix
    assert find(checks, "Slack", "scopes") == []


async def test_missing_bot_token_names_the_variable(doctor: Doctor, slack: FakeSlack) -> None:
    checks = await doctor(env=slack_env(slack, SLACK_BOT_TOKEN=" "))  # blank counts as unset
    check = one(checks, "Slack", "bot_token")
    assert (check.status, check.message) == ("fail", "SLACK_BOT_TOKEN is not set")
    assert slack.calls == []


async def test_user_token_instead_of_bot_token(doctor: Doctor, slack: FakeSlack) -> None:
    slack.tokens["xoxp-DUMMY-SECRET-user"] = {"scopes": MANIFEST_SCOPES}
    checks = await doctor(env=slack_env(slack, SLACK_BOT_TOKEN="xoxp-DUMMY-SECRET-user"))
    assert one(checks, "Slack", "bot_token").message == "SLACK_BOT_TOKEN is a user token (xoxp-)"


async def test_manifest_missing_or_no_scope_header(doctor: Doctor, slack: FakeSlack, tmp_path: Path) -> None:
    check = one(await doctor(manifest_path=tmp_path / "nope" / "manifest.yml"), "Slack", "scopes")
    assert check.status == "warn" and "manifest.yml not found" in check.message
    slack.tokens[BOT_TOKEN] = {"scopes": None}
    check = one(await doctor(), "Slack", "scopes")
    assert check.status == "warn" and "x-oauth-scopes" in check.message


async def test_event_modes(doctor: Doctor, slack: FakeSlack) -> None:
    bad = one(await doctor(env=slack_env(slack, SLACK_APP_TOKEN="xoxb-DUMMY-SECRET-not-app")), "Slack", "mode")
    assert bad.status == "fail" and "xapp-" in bad.message
    neither = one(await doctor(env=slack_env(slack, SLACK_APP_TOKEN="")), "Slack", "mode")
    assert neither.status == "fail" and "SLACK_SIGNING_SECRET" in neither.message
    http = find(await doctor(env=slack_env(slack, SLACK_APP_TOKEN="", SLACK_SIGNING_SECRET=SIGNING_SECRET)),
                "Slack", "mode")
    assert [c.status for c in http] == ["ok", "warn"]  # the manifest turns Socket Mode on
    assert "HTTP mode" in http[0].message and "Socket Mode" in http[1].message


@pytest.fixture
def manifest_socket_off(manifest: Path) -> Path:
    manifest.write_text(manifest.read_text().replace("socket_mode_enabled: true", "socket_mode_enabled: false"))
    return manifest


async def test_socket_mode_off_in_manifest(doctor: Doctor, manifest_socket_off: Path) -> None:
    mode = find(await doctor(manifest_path=manifest_socket_off), "Slack", "mode")
    assert [c.status for c in mode] == ["ok", "warn"] and "turns Socket Mode off" in mode[1].message


async def test_slack_unreachable(doctor: Doctor, slack: FakeSlack) -> None:
    slack.server.shutdown()
    slack.server.server_close()
    check = one(await doctor(), "Slack", "auth")
    assert check.status == "fail" and check.message.startswith("cannot reach Slack at http://127.0.0.1:")


# -- PagerDuty ------------------------------------------------------------------------------------
async def test_observer_reads_only(doctor: Doctor) -> None:
    checks = await doctor(pd=settings("sandbox-observer-token"))
    assert "Olivia Observer" in one(checks, "PagerDuty", "user").message
    role = one(checks, "PagerDuty", "role")
    assert role.status == "warn" and "reads only: writes will be refused" in role.message
    assert as_json(checks)["ok"] is True


async def test_restricted_user_sees_one_service(doctor: Doctor) -> None:
    checks = await doctor(pd=settings("sandbox-restricted-token"))
    assert one(checks, "PagerDuty", "role").status == "warn"
    assert one(checks, "PagerDuty", "services").message == "sees 1 service"


@pytest.mark.parametrize(("token", "what"), [("sandbox-revoked-token", "the token has been revoked"),
                                             ("DUMMY-SECRET-unknown", "the token is wrong or revoked")])
async def test_authentication_failed(doctor: Doctor, token: str, what: str) -> None:
    checks = await doctor(pd=settings(token))
    check = one(checks, "PagerDuty", "user")
    assert check.status == "fail" and check.message == f"Authentication failed (401): {what}"
    assert check.fix is not None
    for advice in ("verify PAGERDUTY_USER_API_KEY", "Create API User Token", "User API token, not a REST API key",
                   f"PAGERDUTY_API_URL={EU_BASE_URL}"):
        assert advice in check.fix
    assert find(checks, "PagerDuty", "services") == []


@pytest.mark.parametrize(("status", "expected"), [(400, "this is not a user token"), (404, "this is not a user token"),
                                                  (403, "Permission denied")])
async def test_users_me_refused(doctor: Doctor, demo: Sandbox, status: int, expected: str) -> None:
    demo.faults.add(path="/users/me", status=status)
    try:
        check = one(await doctor(pd_transport=demo.transport()), "PagerDuty", "user")
    finally:
        demo.faults.clear()
    assert check.status == "fail" and expected in check.message


async def test_missing_pagerduty_key(doctor: Doctor) -> None:
    check = one(await doctor(pd=settings(None)), "PagerDuty", "token")
    assert (check.status, check.message) == ("fail", "PAGERDUTY_USER_API_KEY is not set")


async def test_no_services_visible_is_team_scope(doctor: Doctor) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path == "/users/me":
            return httpx2.Response(200, json={"user": {"name": "Nia New", "email": "nia@example.com",
                                                       "role": "limited_user"}})
        if request.method == "PUT":  # the write probe
            return httpx2.Response(400, json={"error": {"message": "Invalid Input Provided", "code": 2001}})
        assert request.url.params["total"] == "true"
        return httpx2.Response(200, json={"services": [], "limit": 1, "offset": 0, "more": False, "total": 0})

    checks = await doctor(pd=settings(PAGERDUTY_API_URL=EU_BASE_URL), pd_transport=httpx2.MockTransport(handler))
    assert one(checks, "PagerDuty", "user").message.endswith("role Responder (limited_user); region EU "
                                                             "(api.eu.pagerduty.com)")
    check = one(checks, "PagerDuty", "services")
    assert check.status == "fail" and check.fix is not None and "team scope" in check.fix


def test_region() -> None:
    assert region("https://api.pagerduty.com") == "US (api.pagerduty.com)"
    assert region(EU_BASE_URL) == "EU (api.eu.pagerduty.com)"
    assert region("http://127.0.0.1:8765") == "custom host 127.0.0.1:8765, not PagerDuty's US or EU API"


# -- LLM ------------------------------------------------------------------------------------------
async def test_model_absent_lists_close_ones(doctor: Doctor) -> None:
    check = one(await doctor(llm=models("gpt-4.1", "gpt-4.1-nano", "o3", "text-embedding-3-small")), "LLM", "model")
    assert check.status == "fail"
    assert check.message == ("model gpt-4.1-mini is not offered by api.openai.com; it offers gpt-4.1-nano, gpt-4.1 "
                             "(and 2 more)")


async def test_key_refused(doctor: Doctor) -> None:
    check = one(await doctor(llm=models(status=401)), "LLM", "endpoint")
    assert (check.status, check.message) == ("fail", "api.openai.com refused the key (401)")


async def test_no_models_endpoint_is_a_warning(doctor: Doctor) -> None:
    check = one(await doctor(llm=models(status=404)), "LLM", "model")
    assert check.status == "warn"


async def test_local_server_without_key(doctor: Doctor) -> None:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json={"data": [{"id": "llama3.1:latest"}]})

    pd = settings(OPENAI_BASE_URL="http://localhost:11434/v1/", ALEX_MODEL="llama3.1")
    check = one(await doctor(pd=pd, llm=httpx2.MockTransport(handler)), "LLM", "model")
    assert (check.status, check.message) == ("ok", "localhost:11434 reachable; model llama3.1 available")
    assert str(seen[0].url) == "http://localhost:11434/v1/models"
    assert "authorization" not in seen[0].headers


async def test_llm_unreachable(doctor: Doctor) -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        raise httpx2.ConnectError("connection refused", request=request)

    check = one(await doctor(llm=httpx2.MockTransport(handler)), "LLM", "endpoint")
    assert check.status == "fail" and check.message.startswith("cannot reach api.openai.com")


async def test_no_llm_is_command_mode(doctor: Doctor) -> None:
    checks = await doctor(pd=settings())
    check = one(checks, "LLM", "endpoint")
    assert check.status == "info" and "command mode only" in check.message
    assert "· no LLM configured" in render_text(checks)


async def test_sent_bearer_key(doctor: Doctor) -> None:
    seen: list[str] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request.headers["authorization"])
        return httpx2.Response(200, json={"data": [{"id": "gpt-4.1-mini"}]})

    await doctor(llm=httpx2.MockTransport(handler))
    assert seen == [f"Bearer {OPENAI_KEY}"] * 2, "GET /models and the chat probe"


# -- the command ----------------------------------------------------------------------------------
def test_cli_json_exit_status(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                              manifest: Path) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    assert main(["doctor", "--json", "--manifest", str(manifest)]) == 1
    out = capsys.readouterr().out
    assert "DUMMY-SECRET" not in out
    report = json.loads(out)
    assert report["ok"] is False and report["problems"] == 2
    failing = {(c["area"], c["message"]) for c in report["checks"] if c["status"] == "fail"}
    assert failing == {("Slack", "SLACK_BOT_TOKEN is not set"), ("PagerDuty", "PAGERDUTY_USER_API_KEY is not set")}


def test_cli_text(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "✗ SLACK_BOT_TOKEN is not set" in out and "✗ 3 problems" in out


# -- the state store ------------------------------------------------------------------------------
def test_cli_checks_the_state_store(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                    tmp_path: Path) -> None:
    state = tmp_path / "state" / "alex-state.sqlite3"
    monkeypatch.setenv("ALEX_STATE_PATH", str(state))
    main(["doctor"])
    out = capsys.readouterr().out
    assert f"State\n  ✓ SQLite file {state} (created on first run)" in out
    assert not state.exists(), "doctor must not create the state file"
    state.parent.mkdir()
    state.write_bytes(b"not sqlite: PRIVATE-CONTENTS\n" * 64)
    assert main(["doctor", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    [check] = [c for c in report["checks"] if c["area"] == "State"]
    assert check["status"] == "fail" and check["name"] == "state store"
    assert str(state) in check["message"] and "PRIVATE" not in check["message"]
    assert "move the file aside" in check["fix"]


def test_cli_state_store_in_redis_never_prints_the_url(monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
        monkeypatch.setenv("ALEX_STATE_URL", f"redis://:DUMMY-SECRET-redis@127.0.0.1:{port}/0")
        assert main(["doctor"]) == 1
    out = capsys.readouterr().out
    assert "✗ Redis (ALEX_STATE_URL) did not answer" in out and "DUMMY-SECRET" not in out


async def test_llm_chat_probe_names_the_setting_a_reasoning_model_refuses() -> None:
    from tests.fakes.fake_openai import FakeOpenAI

    fake = FakeOpenAI("reasoning")
    checks = await check_llm(settings(OPENAI_API_KEY="sk-fake-key-1234", ALEX_MODEL="gpt-5.4-mini",
                                      ALEX_TEMPERATURE="0.2"), transport=httpx2.MockTransport(fake.handler))
    chat = next(c for c in checks if c.name == "chat")
    assert chat.status == "warn" and "temperature" in chat.message and "ALEX_TEMPERATURE" in (chat.fix or "")
    fine = await check_llm(settings(OPENAI_API_KEY="sk-fake-key-1234", ALEX_MODEL="gpt-5.4-mini"),
                           transport=httpx2.MockTransport(fake.handler))
    assert [c.status for c in fine] == ["ok", "ok"]


async def test_llm_chat_probe_reports_a_refused_request() -> None:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.endswith("/models"):
            return httpx2.Response(404, json={"error": {"message": "no listing"}})
        return httpx2.Response(404, json={"error": {"message": "The API deployment for this resource does not exist",
                                                    "code": "DeploymentNotFound"}})

    checks = await check_llm(settings(OPENAI_BASE_URL="https://res.openai.azure.com/openai/v1/", OPENAI_API_KEY="k1234",
                                      ALEX_MODEL="my-deploy"), transport=httpx2.MockTransport(handler))
    chat = next(c for c in checks if c.name == "chat")
    assert chat.status == "fail" and "refused the request" in chat.message and "deployment" in chat.message


async def test_a_read_only_token_is_detected_by_a_harmless_write_probe(doctor: Doctor, demo: Sandbox) -> None:
    before = len(demo.requests)
    checks = await doctor(pd=settings(pd_token="sandbox-readonly-token", OPENAI_API_KEY=OPENAI_KEY))
    writes = one(checks, "PagerDuty", "writes")
    assert writes.status == "warn" and "read-only" in writes.message and "ALEX_READ_ONLY" in (writes.fix or "")
    sent = list(demo.requests)[before:]
    assert [(r.method, r.status) for r in sent if r.method != "GET"] == [("PUT", 403)], "one probe, refused"
    assert find(await doctor(), "PagerDuty", "writes") == [], "a writable token gets no warning"
