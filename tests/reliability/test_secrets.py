"""Secrets (reliability.md §6 G1, G2): recognisable dummy tokens never show up anywhere they could leak.

G1 runs representative flows with the dummy PagerDuty token, Slack bot token, signing secret and OpenAI
key, capturing every log record of every logger at DEBUG, every Slack Web API payload (arguments and
answers; the ``Authorization`` header is where the Slack token belongs), every tool result and Turn
JSON, and exception texts; none may contain any of the tokens (nor their distinctive middle part, which
catches masked forms like ``u+DUMMY-PD…7f3a``):

* a mention answered by the model with a tool call, then a proposal confirmed with a click (a write);
* PagerDuty answering 401 (a revoked token), 403 and 500;
* the model failing (OpenAI client over a fake server answering 401, a 400 that echoes the key, 500);
* ``alex doctor`` (text and JSON) with PagerDuty and the model rejecting the credentials.

G2 runs ``alex serve``, ``alex ask`` (no sandbox) and ``alex doctor`` through ``bot.cli.main`` with a
required secret missing or blank: the output names the variable and never a value.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.agent.agent import Agent
from bot.agent.llm import ChatModel, ModelReply, OpenAIChatModel
from bot.agent.turn import Turn
from bot.cli import main
from bot.config import Settings
from bot.doctor.command import run_doctor
from bot.doctor.report import as_json, render_text
from bot.pagerduty import PagerDutyClient, PagerDutyError
from bot.sandbox import DEFAULT_NOW, Fault, Sandbox, build_sandbox
from bot.slack.app import build_app
from bot.slack.backend import PagerDutyBackend
from bot.slack.identity import IdentityResolver
from bot.slack.runtime import SlackRuntime
from bot.slack.warroom import WarRooms
from bot.store.proposals import InMemoryProposalStore
from bot.store.thread_memory import InMemoryThreadMemory
from tests.fakes.fake_slack import FakeSlack
from tests.fakes.scripted_llm import call, calls, say
from tests.slack import conftest as slack_fixtures
from tests.slack.conftest import SAM, Clock, SlackHarness, buttons, triggered_number

PD_TOKEN = "u+DUMMY-PD-TOKEN-7f3a"
SLACK_TOKEN = "xoxb-DUMMY-SLACK-1234"
SIGNING_SECRET = "DUMMY-SIGNING-SECRET-9b2c"
OPENAI_KEY = "sk-DUMMYOPENAIKEY0123456789abcdef"
SECRETS = {
    "PagerDuty token": (PD_TOKEN, "DUMMY-PD-TOKEN"),
    "Slack bot token": (SLACK_TOKEN, "DUMMY-SLACK"),
    "signing secret": (SIGNING_SECRET, "DUMMY-SIGNING"),
    "OpenAI key": (OPENAI_KEY, "DUMMYOPENAIKEY"),
}
SECRET_ENV = ("PAGERDUTY_USER_API_KEY", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN",
              "OPENAI_API_KEY", "OPENAI_BASE_URL", "ALEX_STATE_URL", "SLACK_API_URL", "PAGERDUTY_API_URL")

fake_slack = slack_fixtures.fake_slack


def leaks(text: str) -> list[str]:
    """The secrets (or their distinctive parts) found in ``text``."""
    return [name for name, parts in SECRETS.items() if any(p in text for p in parts)]


def log_text(records: list[logging.LogRecord]) -> list[str]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return [formatter.format(r) for r in records]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[pytest.MonkeyPatch]:
    """No real secret from the environment or a .env file; state files in a temporary directory."""
    for name in SECRET_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ALEX_STATE_PATH", str(tmp_path / "state.sqlite3"))
    yield monkeypatch


class FlowModel:
    """Reads → who_is_on_call; "acknowledge incident N" → a proposal; then a short answer."""

    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> ModelReply:
        last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
        text = str(messages[last_user]["content"])
        if any(m["role"] == "tool" for m in messages[last_user:]):
            return say("Done: see the details below.")
        if "acknowledge incident" in text:
            return calls(call("acknowledge_incidents", {"incidents": [text.rsplit(" ", 1)[-1]]}))
        return calls(call("who_is_on_call", {"target": "payments-api", "target_type": None, "window": None}))

    async def aclose(self) -> None:
        return None


def openai_server(request: httpx2.Request) -> httpx2.Response:
    """A model server that rejects the key (401), echoes it back in a 400, or fails (500)."""
    body = json.loads(request.content or b"{}")
    said = str(body.get("messages", [{}])[-1].get("content", ""))
    if "status 400" in said:
        return httpx2.Response(400, json={"error": {"message": f"Invalid request for key {OPENAI_KEY}",
                                                    "type": "invalid_request_error", "code": None}})
    if "status 500" in said:
        return httpx2.Response(500, json={"error": {"message": "The server had an error", "type": "server_error"}})
    return httpx2.Response(401, json={"error": {"message": f"Incorrect API key provided: {OPENAI_KEY}.",
                                                "type": "invalid_request_error", "code": "invalid_api_key"}})


class SignedHarness(SlackHarness):
    """tests/slack's harness, signing requests with the dummy signing secret."""

    async def send(self, raw: str, *, content_type: str = "application/json", timestamp: int | None = None,
                   secret: str = SIGNING_SECRET) -> BoltResponse:
        return await super().send(raw, content_type=content_type, timestamp=timestamp, secret=secret)


def harness(fake: FakeSlack, sandbox: Sandbox, model: ChatModel, turns: list[Turn]) -> SlackHarness:
    """The Slack app with every dummy secret in place: one PagerDuty token for everyone (production shape)."""
    client = AsyncWebClient(token=SLACK_TOKEN, base_url=fake.api_url)
    backend = PagerDutyBackend(PagerDutyClient(PD_TOKEN, transport=sandbox.transport()), where="PagerDuty",
                               clock=lambda: sandbox.now)
    agent = Agent(model, InMemoryThreadMemory())
    respond = agent.respond

    async def recorded(*args: Any, **kwargs: Any) -> Turn:
        turn = await respond(*args, **kwargs)
        turns.append(turn)
        return turn

    agent.respond = recorded  # type: ignore[method-assign]
    clock = Clock()
    rt = SlackRuntime(agent, backend, IdentityResolver(client, backend), WarRooms(client),
                      InMemoryProposalStore(600, clock=clock))
    return SignedHarness(fake, sandbox, rt, build_app(rt, client=client, signing_secret=SIGNING_SECRET), clock)


async def test_g1_no_dummy_secret_in_logs_payloads_tool_results_or_errors(
        fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture, clean_env: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("slack_bolt", "slack_sdk", "openai", "httpx", "httpx2", "httpcore", "aiohttp", "bot"):
        caplog.set_level(logging.DEBUG, logger=name)  # restored after the test
    sandbox = build_sandbox("demo", now=DEFAULT_NOW, token=PD_TOKEN, rate_limit_per_minute=None)
    turns: list[Turn] = []
    errors: list[str] = []
    posts = 0

    async def asked(slack: SlackHarness, text: str) -> None:
        nonlocal posts
        await slack.mention(text, user=SAM)
        posts += 1
        await slack.reply(posts)

    # A mention answered with a tool call, a proposal, and its confirmation (a write with From).
    slack = harness(fake_slack, sandbox, FlowModel(), turns)
    await asked(slack, "who covers payments-api right now, please?")
    number = triggered_number(sandbox)
    await asked(slack, f"please acknowledge incident {number}")
    card = slack.fake.of("chat.postMessage")[-1]
    await slack.click("proposal_confirm", buttons(card, "proposal_confirm")[0], user=SAM, message=card)
    await slack.settle()
    assert any(m == "PUT" for m, _, _ in slack.writes()), "the confirmed write ran"
    # PagerDuty failing: 401, 403, 500 on a tool's request, then the token revoked (401 from the start).
    for status in (401, 403, 500):
        rule = sandbox.faults.add(Fault(path="/oncalls*", status=status))
        await asked(slack, "who covers payments-api right now, please?")
        sandbox.faults.clear()
        assert rule.fired
    grant = sandbox.world.tokens[PD_TOKEN]
    sandbox.world.tokens[PD_TOKEN] = replace(grant, revoked=True)
    slack.rt.identities.forget(SAM)
    await asked(slack, "who covers payments-api right now, please?")
    try:
        await PagerDutyClient(PD_TOKEN, transport=sandbox.transport()).get("/users/me")
    except PagerDutyError as exc:
        errors += [str(exc), repr(exc), repr(exc.__dict__)]
    sandbox.world.tokens[PD_TOKEN] = grant
    await slack.rt.aclose()

    # The model failing: the OpenAI client over a fake server (401, a 400 echoing the key, 500).
    openai_model = OpenAIChatModel(model="gpt-test", api_key=SecretStr(OPENAI_KEY), base_url="http://llm.test/v1",
                                   max_retries=0, http_client=httpx2.AsyncClient(
                                       transport=httpx2.MockTransport(openai_server)))
    errors.append(repr(openai_model))
    slack = harness(fake_slack, sandbox, openai_model, turns)
    for text in ("what is open? status 401", "what is open? status 400", "what is open? status 500"):
        await asked(slack, text)
    await slack.rt.aclose()

    # alex doctor, with PagerDuty rejecting the token and the model rejecting the key.
    for name, value in (("PAGERDUTY_USER_API_KEY", PD_TOKEN), ("SLACK_BOT_TOKEN", SLACK_TOKEN),
                        ("SLACK_SIGNING_SECRET", SIGNING_SECRET), ("OPENAI_API_KEY", OPENAI_KEY),
                        ("OPENAI_BASE_URL", "http://llm.test/v1"), ("SLACK_API_URL", fake_slack.api_url)):
        clean_env.setenv(name, value)
    settings = Settings()
    errors += [repr(settings), str(settings), settings.model_dump_json()]
    sandbox.world.tokens[PD_TOKEN] = replace(grant, revoked=True)
    checks = await run_doctor(settings, pagerduty_transport=sandbox.transport(),
                              llm_transport=httpx2.MockTransport(openai_server), timeout_s=5)
    doctor_output = [render_text(checks), json.dumps(as_json(checks))]
    assert any("401" in line or "rejected" in line.lower() for line in doctor_output[0].splitlines())

    # Everything captured, checked for every secret.
    assert turns and any(t.tool_calls for t in turns) and any(t.mode == "llm" for t in turns)
    assert sum(c.result.status == "error" for t in turns for c in t.tool_calls) >= 3, "the PagerDuty errors"
    assert sum(t.notice is not None and "Model unavailable" in t.notice for t in turns) == 3, "the model errors"
    assert [c for c in fake_slack.calls if c.token == SLACK_TOKEN], "the app used the dummy Slack token"
    found: dict[str, list[str]] = {}
    places = {
        "log": log_text(caplog.records),
        "Slack payload": [json.dumps({"method": c.method, "args": c.args, "answer": c.answer}, default=str)
                          for c in fake_slack.calls],
        "Turn JSON": [json.dumps(t.as_json(), default=str) for t in turns],
        "tool result": [c.result.to_json() for t in turns for c in t.tool_calls],
        "exception text": errors,
        "doctor output": doctor_output,
    }
    for place, texts in places.items():
        for text in texts:
            for secret in leaks(text):
                found.setdefault(f"{secret} in {place}", []).append(text[:300])
    assert not found, json.dumps(found, indent=1)
    assert len(caplog.records) > 50, "DEBUG logging was captured"


# -- G2: startup with a missing or blank secret -------------------------------------------------------------

def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("blank", ["", "   "], ids=["missing", "blank"])
def test_g2_serve_without_a_required_secret_names_it_and_shows_no_value(
        blank: str, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    if blank:
        clean_env.setenv("SLACK_BOT_TOKEN", blank)
    clean_env.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    clean_env.setenv("PAGERDUTY_USER_API_KEY", PD_TOKEN)
    clean_env.setenv("OPENAI_API_KEY", OPENAI_KEY)
    code, output = run_cli(["serve"], capsys)
    assert code != 0
    assert "SLACK_BOT_TOKEN" in output
    assert not leaks(output), output

    clean_env.setenv("SLACK_BOT_TOKEN", SLACK_TOKEN)
    clean_env.setenv("PAGERDUTY_USER_API_KEY", blank) if blank else clean_env.delenv("PAGERDUTY_USER_API_KEY")
    code, output = run_cli(["serve"], capsys)
    assert code != 0
    assert "PAGERDUTY_USER_API_KEY" in output
    assert not leaks(output), output


@pytest.mark.parametrize("blank", ["", "   "], ids=["missing", "blank"])
def test_g2_ask_without_the_pagerduty_token_names_it_and_shows_no_value(
        blank: str, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    if blank:
        clean_env.setenv("PAGERDUTY_USER_API_KEY", blank)
    clean_env.setenv("OPENAI_API_KEY", OPENAI_KEY)
    clean_env.setenv("SLACK_BOT_TOKEN", SLACK_TOKEN)
    code, output = run_cli(["ask", "incidents"], capsys)
    assert code != 0
    assert "PAGERDUTY_USER_API_KEY" in output
    assert not leaks(output), output


def test_g2_doctor_with_a_blank_secret_names_it_and_shows_no_value(
        fake_slack: FakeSlack, clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    clean_env.setenv("PAGERDUTY_USER_API_KEY", "  ")
    clean_env.setenv("SLACK_BOT_TOKEN", SLACK_TOKEN)
    clean_env.setenv("SLACK_SIGNING_SECRET", SIGNING_SECRET)
    clean_env.setenv("SLACK_API_URL", fake_slack.api_url)
    clean_env.setenv("OPENAI_API_KEY", OPENAI_KEY)
    clean_env.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # nothing listens: fails fast
    code, output = run_cli(["doctor", "--timeout", "3"], capsys)
    assert code == 1
    assert "PAGERDUTY_USER_API_KEY" in output
    assert not leaks(output), output
    code, output = run_cli(["doctor", "--json", "--timeout", "3"], capsys)
    assert code == 1 and "PAGERDUTY_USER_API_KEY" in output and not leaks(output), output
