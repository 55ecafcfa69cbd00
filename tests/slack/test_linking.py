"""``/alex connect``: a person links their own PagerDuty token, through signed slash-command requests to
the Bolt app, answered from the demo sandbox. Only their own user token is stored, only from a DM, and
the token never shows up in a reply, a Slack payload, a log record or the audit log."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet, MultiFernet
from slack_bolt.response import BoltResponse

from bot.sandbox import Sandbox, TokenGrant
from bot.sandbox.datasets.demo import DEMO_TOKEN
from bot.sandbox.faults import Fault
from bot.slack import linking
from bot.store.linked_tokens import LinkedTokens, MemoryVault, SQLiteVault, TokenVault
from tests.fakes.fake_slack import ALL_PAYLOADS
from tests.fakes.scripted_llm import ScriptedModel
from tests.slack.conftest import AISHA, GENERAL, OLIVIA, SAM, VISITOR, SlackFactory, SlackHarness, message_text

KEY = Fernet.generate_key().decode()
REPO = Path(__file__).resolve().parents[2]
AISHA_TOKEN = "sandbox-responder-token"
OLIVIA_TOKEN = "sandbox-observer-token"
GARBAGE = "u+NOT-A-REAL-TOKEN-0c4f"
DM_AISHA, DM_OLIVIA, DM_VISITOR = "D0AISHA", "D0OLIVIA", "D0VISITOR"

Linked = Callable[..., Any]


def pd_user(sandbox: Sandbox, email: str) -> str:
    user = sandbox.world.user_by_email(email)
    assert user is not None
    return str(user.id)


SAM_EMAIL = "sam.rivera@acme-payments.example"
AISHA_EMAIL = "aisha.khan@acme-payments.example"


@pytest.fixture
async def linked(make_slack: SlackFactory, tmp_path: Path,
                 caplog: pytest.LogCaptureFixture) -> AsyncIterator[Callable[..., Any]]:
    """``await linked(storage="memory"|"sqlite", **make_slack_options)``: the Slack app with linking on.
    Every log record of the test is captured, at DEBUG, for the no-token checks."""
    caplog.set_level(logging.DEBUG)

    async def build(storage: str = "memory", **options: Any) -> SlackHarness:
        slack = await make_slack(**options)
        vault: TokenVault = SQLiteVault(tmp_path / "alex-state.sqlite3") if storage == "sqlite" else MemoryVault()
        slack.rt.linked_tokens = LinkedTokens(vault, MultiFernet([Fernet(KEY)]))
        return slack

    yield build


async def answer(slack: SlackHarness, text: str, **where: Any) -> str:
    """Type ``/alex <text>`` and return what alex answered (the ack's text, else the later response)."""
    before = len(slack.fake.responses)
    response = await slack.slash(text, **where)
    now = ack_text(response)
    if now:
        await slack.settle()
        assert len(slack.fake.responses) == before, "answered twice"
        return now
    reply = await slack.responded(before + 1)
    assert reply.get("response_type") == "ephemeral", reply
    return str(reply["text"])


def ack_text(response: BoltResponse) -> str:
    if not response.body:
        return ""
    body = json.loads(response.body)
    assert body.get("response_type") == "ephemeral", body
    return str(body.get("text") or "")


async def assert_nowhere(slack: SlackHarness, caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    """Not in any log record (any logger, DEBUG up), Slack payload, response or audit entry."""
    logged = "\n".join(f"{r.name}: {r.getMessage()}" for r in caplog.records)
    payloads = "\n".join(ALL_PAYLOADS) + json.dumps(slack.fake.responses)
    audit = json.dumps([e.to_dict() for e in await slack.rt.state.recent(1_000)])
    for secret in (*secrets, KEY):
        assert secret not in logged, f"in the logs: {secret[:6]}…"
        assert secret not in payloads, f"in a Slack payload: {secret[:6]}…"
        assert secret not in audit


async def audit_actions(slack: SlackHarness) -> list[tuple[str, str, str | None]]:
    return [(e.action, e.outcome, e.requested_by) for e in await slack.rt.state.recent()
            if "pagerduty_token" in e.action]


def disk_bytes(folder: Path, pattern: str) -> bytes:
    files = sorted(folder.glob(pattern))
    assert files
    return b"".join(path.read_bytes() for path in files)


def users_me_requests(slack: SlackHarness) -> int:
    return sum(1 for r in slack.sandbox.requests if r.path == "/users/me")


# -- connect ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("shared_token", [False, True], ids=["sandbox-tokens", "shared-token"])
async def test_connecting_your_own_token_in_a_dm_links_it(linked: Linked, caplog: pytest.LogCaptureFixture,
                                                          shared_token: bool) -> None:
    """Both ways alex reaches PagerDuty: per-person sandbox tokens, and one shared token (production)."""
    slack = await linked(shared_token=shared_token)
    reply = await answer(slack, f"connect {DEMO_TOKEN}")
    assert reply.startswith("Linked: alex now acts with your own PagerDuty token (Sam Rivera, Manager).")
    assert "`/alex disconnect`" in reply
    sam = pd_user(slack.sandbox, SAM_EMAIL)
    assert slack.rt.linked_tokens is not None
    stored = await slack.rt.linked_tokens.token_for(sam)
    assert stored is not None and stored.get_secret_value() == DEMO_TOKEN
    assert users_me_requests(slack) == 1  # checked with PagerDuty first
    assert await audit_actions(slack) == [("link_pagerduty_token", "ok", SAM)]
    assert "Linked since" in await answer(slack, "status")
    await assert_nowhere(slack, caplog, DEMO_TOKEN)


async def test_the_command_is_acknowledged_before_pagerduty_is_asked(linked: Linked) -> None:
    """Slack gives a slash command 3 s: the ack goes back at once, the answer follows on response_url."""
    slack = await linked()
    slack.sandbox.faults.add(Fault(path="/users/me", latency=1.0))
    response = await slack.slash(f"connect {DEMO_TOKEN}")
    assert response.status == 200 and not ack_text(response)
    assert slack.fake.responses == []  # PagerDuty has not answered yet
    assert (await slack.responded())["text"].startswith("Linked:")


async def test_someone_elses_token_is_refused_and_nothing_is_stored(linked: Linked,
                                                                    caplog: pytest.LogCaptureFixture) -> None:
    slack = await linked()
    reply = await answer(slack, f"connect {DEMO_TOKEN}", user=AISHA, channel=DM_AISHA)  # Sam's token
    assert "belongs to another PagerDuty user" in reply and "Sam" not in reply
    # the read-only key acts as the Account Owner: not Sam's either
    reply = await answer(slack, "connect sandbox-readonly-token")
    assert "belongs to another PagerDuty user" in reply
    tokens = slack.rt.linked_tokens
    assert tokens is not None
    for email in (SAM_EMAIL, AISHA_EMAIL):
        assert await tokens.status(pd_user(slack.sandbox, email)) is None
    assert await audit_actions(slack) == [("link_pagerduty_token", "refused", SAM),  # newest first
                                          ("link_pagerduty_token", "refused", AISHA)]
    await assert_nowhere(slack, caplog, DEMO_TOKEN, "sandbox-readonly-token")


@pytest.mark.parametrize(("token", "said"), [
    ("sandbox-revoked-token", "this API token has been revoked"),
    (GARBAGE, "PagerDuty rejected the API token: Authentication failed."),
])
async def test_a_revoked_or_unknown_token_gets_pagerdutys_message_and_a_hint(
        linked: Linked, caplog: pytest.LogCaptureFixture, token: str, said: str) -> None:
    slack = await linked()
    reply = await answer(slack, f"connect {token}")
    assert said in reply
    assert "Nothing was stored" in reply and "Create API User Token" in reply
    assert "PAGERDUTY_USER_API_KEY" not in reply  # the operator's hint is not the person's
    assert await audit_actions(slack) == [("link_pagerduty_token", "refused", SAM)]
    await assert_nowhere(slack, caplog, token)


async def test_an_account_key_is_refused(linked: Linked, caplog: pytest.LogCaptureFixture) -> None:
    """Account (general access) keys fail ``GET /users/me``: PagerDuty cannot say whose they are."""
    slack = await linked()
    slack.sandbox.faults.add(Fault(path="/users/me", status=400, code=2001,
                                   message="Requested an entity on behalf of a user, but no user was found"))
    reply = await answer(slack, f"connect {DEMO_TOKEN}")
    assert "account (general access) API key" in reply and "Nothing was stored" in reply
    assert "no user was found" in reply
    assert slack.rt.linked_tokens is not None
    assert await slack.rt.linked_tokens.status(pd_user(slack.sandbox, SAM_EMAIL)) is None
    await assert_nowhere(slack, caplog, DEMO_TOKEN)


@pytest.mark.parametrize("text", ["connect", "connect two words", "connect tab\tseparated x", "connect ünï"])
async def test_a_missing_or_malformed_token_gets_the_usage(linked: Linked, text: str) -> None:
    slack = await linked()
    reply = await answer(slack, text)
    assert "/alex connect <token>" in reply
    assert users_me_requests(slack) == 0


async def test_connect_outside_a_dm_is_refused_without_asking_pagerduty(
        linked: Linked, caplog: pytest.LogCaptureFixture) -> None:
    slack = await linked()
    for channel in (GENERAL, "G0PRIVATE", "C0INC1252"):
        reply = await answer(slack, f"connect {DEMO_TOKEN}", channel=channel)
        assert reply == linking.DM_ONLY
    assert users_me_requests(slack) == 0 and slack.fake.responses == []
    assert slack.rt.linked_tokens is not None
    assert await slack.rt.linked_tokens.status(pd_user(slack.sandbox, SAM_EMAIL)) is None
    await assert_nowhere(slack, caplog, DEMO_TOKEN)


async def test_someone_without_a_pagerduty_account_cannot_link(linked: Linked) -> None:
    slack = await linked()
    reply = await answer(slack, f"connect {DEMO_TOKEN}", user=VISITOR, channel=DM_VISITOR)
    assert "could not find your PagerDuty account" in reply and "Nothing was stored" in reply
    assert users_me_requests(slack) == 0


async def test_an_observer_links_their_own_token_and_stays_an_observer(linked: Linked) -> None:
    slack = await linked()
    reply = await answer(slack, f"connect {OLIVIA_TOKEN}", user=OLIVIA, channel=DM_OLIVIA)
    assert reply.startswith("Linked:") and "Observer" in reply


# -- disconnect, status -----------------------------------------------------------------------------

async def test_disconnect_removes_the_link(linked: Linked, caplog: pytest.LogCaptureFixture) -> None:
    slack = await linked()
    assert "nothing to remove" in await answer(slack, "disconnect")
    assert (await answer(slack, "status")).startswith("Not linked")
    await answer(slack, f"connect {AISHA_TOKEN}", user=AISHA, channel=DM_AISHA)
    assert (await answer(slack, "disconnect", user=AISHA, channel=DM_AISHA)).startswith("Disconnected")
    assert slack.rt.linked_tokens is not None
    assert await slack.rt.linked_tokens.token_for(pd_user(slack.sandbox, AISHA_EMAIL)) is None
    assert (await answer(slack, "status", user=AISHA, channel=DM_AISHA)).startswith("Not linked")
    assert await audit_actions(slack) == [("unlink_pagerduty_token", "ok", AISHA),
                                          ("link_pagerduty_token", "ok", AISHA)]
    await assert_nowhere(slack, caplog, AISHA_TOKEN)


async def test_status_says_when_pagerduty_no_longer_accepts_the_token(linked: Linked,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    slack = await linked()
    await answer(slack, f"connect {AISHA_TOKEN}", user=AISHA, channel=DM_AISHA)
    grant = slack.sandbox.world.tokens[AISHA_TOKEN]
    slack.sandbox.world.tokens[AISHA_TOKEN] = TokenGrant(grant.user_id, revoked=True)  # revoked in PagerDuty
    reply = await answer(slack, "status", user=AISHA, channel=DM_AISHA)
    assert "PagerDuty does not accept the token now" in reply and "revoked" in reply
    await assert_nowhere(slack, caplog, AISHA_TOKEN)


async def test_status_after_the_key_changed_says_to_link_again(linked: Linked) -> None:
    slack = await linked()
    await answer(slack, f"connect {DEMO_TOKEN}")
    tokens = slack.rt.linked_tokens
    assert tokens is not None
    slack.rt.linked_tokens = LinkedTokens(tokens._vault, MultiFernet([Fernet(Fernet.generate_key())]))
    reply = await answer(slack, "status")
    assert "can no longer decrypt it" in reply and "ALEX_TOKEN_KEY" in reply


# -- storage on disk --------------------------------------------------------------------------------

async def test_the_sqlite_file_holds_only_ciphertext(linked: Linked, tmp_path: Path,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    slack = await linked("sqlite")
    assert (await answer(slack, f"connect {AISHA_TOKEN}", user=AISHA, channel=DM_AISHA)).startswith("Linked:")
    raw = disk_bytes(tmp_path, "alex-state.sqlite3*")  # the database, its WAL and shared memory
    assert pd_user(slack.sandbox, AISHA_EMAIL).encode() in raw  # the row is on disk...
    assert AISHA_TOKEN.encode() not in raw and KEY.encode() not in raw  # ...the token is not
    await assert_nowhere(slack, caplog, AISHA_TOKEN)


# -- help, off, other text --------------------------------------------------------------------------

async def test_linking_off_says_so_and_how_to_enable_it(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    assert slack.rt.linked_tokens is None
    reply = await answer(slack, f"connect {DEMO_TOKEN}")
    assert reply == linking.DISABLED and "ALEX_TOKEN_KEY" in reply
    assert users_me_requests(slack) == 0


@pytest.mark.parametrize("text", ["", "help", "HELP me"])
async def test_help_lists_the_commands(linked: Linked, text: str) -> None:
    slack = await linked()
    reply = await answer(slack, text, channel=GENERAL)
    assert all(f"/alex {sub}" in reply for sub in ("connect", "status", "disconnect"))


@pytest.mark.parametrize("text", ["who is on call for payments?", "ack 1252?"])
async def test_other_text_is_a_question(linked: Linked, text: str) -> None:
    """Answered by bot/slack/slash.py (tests/slack/test_slash.py), not by the linking sub-commands."""
    slack = await linked()
    reply = await answer(slack, text)
    assert reply and "`/alex connect <token>`" not in reply
    assert slack.writes() == []


async def test_a_huge_command_is_refused_at_once(linked: Linked) -> None:
    slack = await linked()
    assert await answer(slack, "connect " + "x" * 5_000) == linking.TOO_LONG
    assert users_me_requests(slack) == 0


# -- alex serve ---------------------------------------------------------------------------------------

def run_serve(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PAGERDUTY_", "ALEX_", "SLACK_"))}
    clean |= {"PYTHONPATH": str(REPO), "PYTHONIOENCODING": "utf-8", "SLACK_BOT_TOKEN": "xoxb-DUMMY-SLACK-1234",
              "SLACK_SIGNING_SECRET": "DUMMY-SIGNING-SECRET-9b2c", "PORT": "1", **env}
    return subprocess.run([sys.executable, "-m", "bot.cli", "serve", "--sandbox"], capture_output=True, text=True,
                          encoding="utf-8", env=clean, cwd=tmp_path, timeout=120, check=False)


def test_alex_serve_refuses_a_malformed_key_naming_the_variable_not_the_value(tmp_path: Path) -> None:
    bad = "this-is-not-a-fernet-key-but-secret"
    done = run_serve(tmp_path, ALEX_TOKEN_KEY=bad)
    assert done.returncode == 2, done.stderr
    assert "ALEX_TOKEN_KEY is not a Fernet key" in done.stderr and "Fernet.generate_key" in done.stderr
    assert bad not in done.stderr + done.stdout and "Traceback" not in done.stderr


async def test_alex_serve_opens_the_linked_tokens_when_the_key_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.config import Settings
    from bot.slack.serve import build_runtime, slack_client

    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ALEX_STATE_URL"):
        monkeypatch.delenv(name, raising=False)
    on = Settings(_env_file=None, ALEX_TOKEN_KEY=KEY, SLACK_BOT_TOKEN="xoxb-DUMMY-SLACK-1234")  # type: ignore[call-arg]
    rt = build_runtime(on, slack_client(on), sandbox=True)
    assert rt.linked_tokens is not None and rt.linked_tokens.kind == "memory"  # the sandbox keeps it in memory
    await rt.aclose()
    off = on.model_copy(update={"token_key": None})
    rt = build_runtime(off, slack_client(off), sandbox=True)
    assert rt.linked_tokens is None
    await rt.aclose()


# -- the linked token is what the person's requests use --------------------------------------------

async def test_a_linked_token_is_used_for_that_persons_requests(linked: Linked) -> None:
    """Shared-token mode: after Aisha links her own token, her requests go with it: once PagerDuty revokes
    that token, her questions fail with PagerDuty's 401 while Sam (unlinked) still gets answers."""
    slack = await linked(shared_token=True)
    assert (await answer(slack, f"connect {AISHA_TOKEN}", user=AISHA, channel=DM_AISHA)).startswith("Linked")
    await slack.mention("services", user=AISHA)
    assert "payments-api" in message_text(await slack.reply())
    slack.sandbox.world.tokens[AISHA_TOKEN] = replace(slack.sandbox.world.tokens[AISHA_TOKEN], revoked=True)
    await slack.mention("services", user=AISHA)
    assert "rejected the API token" in message_text(await slack.reply(2))
    await slack.mention("services", user=SAM)
    assert "payments-api" in message_text(await slack.reply(3))
    assert (await answer(slack, "disconnect", user=AISHA, channel=DM_AISHA)).lower().startswith(("unlinked",
                                                                                                 "disconnected",
                                                                                                 "done"))
    await slack.mention("services", user=AISHA)
    assert "payments-api" in message_text(await slack.reply(4)), "back on the shared token"


async def test_a_token_typed_as_a_plain_message_is_not_passed_on(make_slack: SlackFactory) -> None:
    model = ScriptedModel([])
    slack = await make_slack(model)
    await slack.dm(f"connect {AISHA_TOKEN}-and-some-more")
    reply = await slack.reply()
    assert "/alex connect" in message_text(reply) and AISHA_TOKEN not in message_text(reply)
    assert model.calls == [], "the model never saw it"
