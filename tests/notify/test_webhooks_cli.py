"""``alex webhooks`` against the sandbox (every request checked against PagerDuty's OpenAPI file)."""

from __future__ import annotations

import argparse
import io
import logging

import pytest

from bot.config import Settings
from bot.notify.subscriptions import ALEX_EVENTS
from bot.notify.webhooks_cli import Console, add_webhooks_parser, run_webhooks_command
from bot.sandbox import Sandbox, build_sandbox, default_token
from tests.helpers import sandbox_transport

URL = "https://alex.example.com/pagerduty/webhooks"


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_webhooks_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["webhooks", *argv])


def _run(sandbox: Sandbox, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_webhooks_command(_args(*argv), settings=Settings(_env_file=None),
                                transport=sandbox_transport(sandbox),
                                console=Console(out=out, err=err, stdin=io.StringIO()))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    monkeypatch.setenv("PAGERDUTY_USER_API_KEY", default_token("demo"))
    return build_sandbox("demo")


def test_setup_creates_a_listed_subscription_and_prints_its_secret_once(
        sandbox: Sandbox, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    code, out, _ = _run(sandbox, "setup", "--url", URL, "--service", "payments-api", "--json")
    assert code == 0
    import json

    created = json.loads(out)
    secret = created["secret"]
    assert secret and out.count(secret) == 2  # the secret and the export line of next_step
    assert secret not in caplog.text
    assert created["webhook_subscription"]["events"] == list(ALEX_EVENTS)
    assert created["webhook_subscription"]["filter"]["type"] == "service_reference"

    code, listed, _ = _run(sandbox, "list", "--json")
    assert code == 0
    rows = json.loads(listed)
    assert [r["id"] for r in rows if r["url"] == URL] == [created["webhook_subscription"]["id"]]
    assert secret not in listed


def test_duplicate_is_refused_without_force(sandbox: Sandbox) -> None:
    assert _run(sandbox, "setup", "--url", URL)[0] == 0
    code, _, err = _run(sandbox, "setup", "--url", URL)
    assert code == 1 and "--force" in err
    assert _run(sandbox, "setup", "--url", URL, "--force")[0] == 0


def test_plain_http_is_refused(sandbox: Sandbox) -> None:
    code, out, err = _run(sandbox, "setup", "--url", "http://alex.example.com/pagerduty/webhooks")
    assert code == 2 and "https://" in err and out == ""


def test_unknown_service_names_the_close_match(sandbox: Sandbox) -> None:
    code, _, err = _run(sandbox, "setup", "--url", URL, "--service", "payments-apj")
    assert code == 2 and "payments-api" in err


def test_delete_without_yes_and_no_terminal_refuses(sandbox: Sandbox) -> None:
    code, _, err = _run(sandbox, "delete", "PXYZ123")
    assert code == 2 and "--yes" in err


def test_enable_ping_and_delete_a_subscription(sandbox: Sandbox) -> None:
    import json

    code, out, _ = _run(sandbox, "setup", "--url", URL, "--json")
    sub_id = json.loads(out)["webhook_subscription"]["id"]
    assert _run(sandbox, "enable", sub_id)[0] == 0
    assert _run(sandbox, "ping", sub_id)[0] == 0
    code, out, _ = _run(sandbox, "delete", sub_id, "--yes")
    assert code == 0 and sub_id in out
    assert sub_id not in _run(sandbox, "list", "--json")[1]


@pytest.mark.parametrize("status", [401, 403, 404])
def test_pagerduty_refusals_are_one_line_without_the_token(monkeypatch: pytest.MonkeyPatch, status: int) -> None:
    import httpx2

    token = "u+SECRETTOKENVALUE123"
    monkeypatch.setenv("PAGERDUTY_USER_API_KEY", token)
    transport = httpx2.MockTransport(
        lambda request: httpx2.Response(status, json={"error": {"message": "no", "code": 2000 + status}}))
    out, err = io.StringIO(), io.StringIO()
    code = run_webhooks_command(_args("list"), settings=Settings(_env_file=None), transport=transport,
                                console=Console(out=out, err=err, stdin=io.StringIO()))
    assert code == 1
    assert err.getvalue().count("\n") == 1 and str(status) in err.getvalue()
    assert token not in out.getvalue() + err.getvalue()


def test_the_sandbox_signs_deliveries_with_the_printed_secret(sandbox: Sandbox) -> None:
    import asyncio
    import json

    import httpx2

    from bot.notify.signature import verify

    code, out, _ = _run(sandbox, "setup", "--url", URL, "--service", "payments-api", "--json")
    secret = json.loads(out)["secret"]
    received: list[httpx2.Request] = []

    def answer(request: httpx2.Request) -> httpx2.Response:
        received.append(request)
        return httpx2.Response(202)

    incident = next(i for i in sandbox.world.incidents.values()
                    if sandbox.world.services[i.service_id].name == "payments-api")

    async def deliver() -> None:
        sandbox.webhooks.deliver_to(httpx2.MockTransport(answer))
        sandbox.webhooks.fire(incident.id, "incident.acknowledged")
        await sandbox.webhooks.drain()
        await sandbox.webhooks.aclose()

    asyncio.run(deliver())
    mine = [r for r in received if str(r.url) == URL]
    assert mine, "no delivery to the subscription"
    for request in mine:
        assert verify(request.content, request.headers.get("x-pagerduty-signature"), [secret]) == "ok"
        assert verify(request.content, request.headers.get("x-pagerduty-signature"), ["other"]) == "forged"


class Terminal(io.StringIO):
    """A terminal: what it holds is what the person types."""

    def isatty(self) -> bool:
        return True


def _created_id(sandbox: Sandbox) -> str:
    import json

    code, out, _ = _run(sandbox, "setup", "--url", URL, "--json")
    assert code == 0
    return str(json.loads(out)["webhook_subscription"]["id"])


@pytest.mark.parametrize(("typed", "code", "kept"), [("y\n", 0, False), ("\n", 1, True), ("no\n", 1, True)])
def test_delete_on_a_terminal_asks_and_only_yes_deletes(sandbox: Sandbox, typed: str, code: int, kept: bool) -> None:
    subscription = _created_id(sandbox)
    out, err = io.StringIO(), io.StringIO()
    result = run_webhooks_command(_args("delete", subscription), settings=Settings(_env_file=None),
                                  transport=sandbox_transport(sandbox),
                                  console=Console(out=out, err=err, stdin=Terminal(typed)))
    assert result == code and f"Delete webhook subscription {subscription} ({URL}" in err.getvalue()
    _, listed, _ = _run(sandbox, "list")
    assert (subscription in listed) is kept


def test_setup_while_a_secret_is_set_says_to_put_the_new_one_in_front(sandbox: Sandbox,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALEX_PAGERDUTY_WEBHOOK_SECRETS", "the-old-secret")
    out, err = io.StringIO(), io.StringIO()
    code = run_webhooks_command(_args("setup", "--url", URL), settings=Settings(_env_file=None),
                                transport=sandbox_transport(sandbox), console=Console(out=out, err=err))
    shown = out.getvalue()
    assert code == 0 and "is already set" in shown and "in front of the current ones" in shown
    assert 'ALEX_PAGERDUTY_WEBHOOK_SECRETS="' in shown and ',$ALEX_PAGERDUTY_WEBHOOK_SECRETS"' in shown
    assert "the-old-secret" not in shown + err.getvalue(), "the current secret is never printed"
