"""``/alex connect``: a person links their own PagerDuty User API token, used for their requests.

Sub-commands of the ``/alex`` slash command (every reply is ephemeral: only the person sees it):

* ``connect <token>``: in a DM with alex only. alex asks PagerDuty ``GET /users/me`` with the token:
  account (general access) keys fail it and are refused, and so is a token whose user is not the asker
  (same PagerDuty user id and e-mail as the Slack user's mapped account). Then it is stored encrypted
  (:mod:`bot.store.linked_tokens`) and the audit log records who linked, never the token.
* ``disconnect``: alex forgets the token (revoking it in PagerDuty as well is the person's choice).
* ``status``: whether a token is linked, since when, and whether PagerDuty still accepts it.
* ``help`` (or nothing): the above.

The token is never echoed: not in a reply, a log line, the audit log or an exception. Slack shows a
slash command's text to nobody else and does not post it in the conversation. Anything else after
``/alex`` is a question, answered by :mod:`bot.slack.slash` (ephemerally, with a Post to channel button).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from pydantic import SecretStr
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.pagerduty import PagerDutyError
from bot.pagerduty.errors import (
    AbilityError,
    AuthenticationError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
)
from bot.present.kit.escape import untrusted, when
from bot.slack import slash
from bot.slack.admission import Refused, admit
from bot.slack.identity import Identity
from bot.slack.runtime import RATE_LIMITED, SlackRuntime
from bot.store.linked_tokens import MAX_TOKEN_CHARS, TokenStoreError
from bot.tools.audit import AuditEntry, AuditOutcome
from bot.tools.directory import ROLES
from bot.tools.runner import explain_pagerduty_error

log = logging.getLogger("bot.slack.linking")

COMMAND = "/alex"
SUBCOMMANDS = frozenset({"connect", "disconnect", "status", "help"})
MAX_TEXT_CHARS = 1_000
CHECK_SECONDS = 15.0
"""How long PagerDuty may take to answer ``GET /users/me`` for a token being linked."""
VIA = "slash_command"

CREATE_TOKEN = "In PagerDuty: My Profile → User Settings → Create API User Token."
HELP = ("*`/alex` commands* (only you see the answers)\n"
        "• `/alex connect <token>`: in a DM with me, link your own PagerDuty User API token. alex then uses it "
        "for your requests, so PagerDuty applies your own permissions and records your actions as yours. "
        f"{CREATE_TOKEN}\n"
        "• `/alex status`: whether a token is linked.\n"
        "• `/alex disconnect`: remove it (revoking it in PagerDuty, under User Settings, stops it everywhere).\n"
        "• `/alex <question>`: ask anything (`/alex who is on call for payments-api?`, `/alex incidents`), in any "
        "conversation; only you see the answer, and its Post to channel button shares it.\n"
        "You can also mention @alex in a channel or send me a DM.")
DM_ONLY = ("For your safety `/alex connect` works only in a DM with me: open alex in Slack and type it there. "
           "Nothing was stored, and Slack showed that command to nobody else.")
DISABLED = ("Linking your own PagerDuty token is not enabled here, so alex uses the shared PagerDuty token "
            "for everyone, within each person's PagerDuty role and teams. An operator enables linking by "
            "setting ALEX_TOKEN_KEY to a Fernet key (README: \"Linking your own PagerDuty token\").")
USAGE = f"Send `/alex connect <token>` here, with your own PagerDuty User API token. {CREATE_TOKEN}"
NOT_A_TOKEN = (f"That is not a PagerDuty token: a token is one word of up to {MAX_TOKEN_CHARS} printable "
               f"characters. Nothing was stored. {USAGE}")
TOO_LONG = "That is too long for an `/alex` command. Nothing was stored. `/alex help` lists the commands."
NO_ACCOUNT = ("alex could not find your PagerDuty account (it matches your Slack e-mail address exactly), so "
              "it cannot check that a token is yours. Nothing was stored. Ask a PagerDuty admin to give your "
              "PagerDuty user the same e-mail as in Slack.")
NOT_YOURS = ("That token belongs to another PagerDuty user, not to you, so alex did not store it. Link your "
             f"own User API token: {CREATE_TOKEN}")
ACCOUNT_KEY = ("That looks like an account (general access) API key, not a personal token: PagerDuty does "
               "not say whose it is ({detail}). alex links only your own User API token, so that PagerDuty "
               f"applies your permissions. Nothing was stored. {CREATE_TOKEN}")
REJECTED = ("{message} Nothing was stored. Use your own, current User API token: {create} If you revoked "
            "it, create a new one.")
STORE_DOWN = "alex could not reach its token storage just now ({detail}). Try again in a minute."
FAILED = "Something went wrong, sorry: nothing was changed. Try again in a minute."


async def slash_command(rt: SlackRuntime, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
    """Handle one ``/alex`` command: acknowledge at once (Slack waits 3 s), then do the work and
    answer through ``respond`` (the command's ``response_url``)."""
    text = str(command.get("text") or "")
    words = text.split()
    sub = words[0].lower() if words else "help"
    if sub not in SUBCOMMANDS:  # a question
        await slash.question(rt, ack, command, respond)
        return
    at_once = (TOO_LONG if len(text) > MAX_TEXT_CHARS else
               HELP if sub == "help" else
               DM_ONLY if not str(command.get("channel_id") or "").startswith("D") else
               DISABLED if rt.linked_tokens is None else None)
    if at_once is not None:
        await ack(text=at_once, response_type="ephemeral")
        return
    await ack()
    async with rt.working():
        user, channel = str(command.get("user_id") or ""), str(command.get("channel_id") or "")
        try:
            reply = await _run(rt, sub, words[1:], user=user, channel=channel)
        except Exception as exc:
            log.warning("/alex %s failed (%s)", sub, type(exc).__name__)
            reply = FAILED
        try:
            await respond(text=reply, response_type="ephemeral")
        except Exception as exc:  # the response_url expired or Slack is unreachable: nothing else to tell
            log.warning("could not answer /alex %s (%s)", sub, type(exc).__name__)


async def _run(rt: SlackRuntime, sub: str, args: list[str], *, user: str, channel: str) -> str:
    tokens = rt.linked_tokens
    assert tokens is not None  # checked before the ack
    refusal = await rt.over_limit(user, channel)
    if refusal is not None:
        return refusal or RATE_LIMITED
    identity = await admit(rt, user)
    if isinstance(identity, Refused):
        return f"{identity.text} Nothing was changed."
    if not _own_account(identity):
        return NO_ACCOUNT if sub == "connect" else "alex has no PagerDuty account for you, so nothing is linked."
    assert identity.asker.user_id is not None
    pd_user = identity.asker.user_id
    try:
        if sub == "connect":
            return await _connect(rt, identity, args, channel=channel)
        if sub == "disconnect":
            removed = await tokens.unlink(pd_user)
            await rt.backend.forget(pd_user)  # no cached client keeps using the token
            if removed:
                log.info("unlinked the PagerDuty token of user %s (Slack %s)", pd_user, user)
                await _audit(rt, identity, "unlink_pagerduty_token", "ok", "Removed the linked token.", channel)
                return ("Disconnected: alex forgot your PagerDuty token and uses the shared token for your "
                        "requests again. To stop the token everywhere, revoke it in PagerDuty (User Settings).")
            return "No PagerDuty token of yours is linked, so there was nothing to remove."
        return await _status(rt, identity)
    except TokenStoreError as exc:
        log.warning("/alex %s: %s", sub, exc)
        return STORE_DOWN.format(detail=exc)


async def _connect(rt: SlackRuntime, identity: Identity, args: list[str], *, channel: str) -> str:
    tokens = rt.linked_tokens
    assert tokens is not None and identity.asker.user_id is not None
    if not args:
        return USAGE
    raw = args[0]
    if len(args) > 1 or len(raw) > MAX_TOKEN_CHARS or any(not (0x21 <= ord(ch) <= 0x7E) for ch in raw):
        return NOT_A_TOKEN
    token = SecretStr(raw)
    del raw, args
    try:
        me = await _whoami(rt, token)
    except PagerDutyError as exc:
        await _audit(rt, identity, "link_pagerduty_token", "refused", type(exc).__name__, channel)
        return _scrub(_explain_refusal(exc), token)
    asker = identity.asker
    if str(me.get("id") or "") != asker.user_id or _folded(me.get("email")) != _folded(asker.email):
        log.warning("Slack user %s offered a PagerDuty token of another user: not stored", identity.slack_user_id)
        await _audit(rt, identity, "link_pagerduty_token", "refused", "the token is another user's", channel)
        return NOT_YOURS
    await tokens.link(pd_user_id=asker.user_id, slack_user_id=identity.slack_user_id, token=token)
    await rt.backend.forget(asker.user_id)
    log.info("linked a PagerDuty token for user %s (Slack %s)", asker.user_id, identity.slack_user_id)
    await _audit(rt, identity, "link_pagerduty_token", "ok", "Linked the person's own token.", channel)
    who = untrusted(me.get("name") or asker.name, 80)
    role = ROLES.get(str(me.get("role") or ""), untrusted(me.get("role") or "unknown role", 40))
    return (f"Linked: alex now acts with your own PagerDuty token ({who}, {role}). "
            "`/alex disconnect` removes it.")


async def _status(rt: SlackRuntime, identity: Identity) -> str:
    tokens = rt.linked_tokens
    assert tokens is not None and identity.asker.user_id is not None
    status = await tokens.status(identity.asker.user_id)
    if status is None:
        return ("Not linked: alex uses the shared PagerDuty token for your requests, within your PagerDuty role "
                "and teams. `/alex connect <token>` here links your own.")
    since = when(status.linked_at.isoformat())
    token = await tokens.token_for(identity.asker.user_id) if status.readable else None
    if token is None:
        return (f"A token was linked on {since}, but alex can no longer decrypt it (ALEX_TOKEN_KEY changed), so "
                "it uses the shared token for you. `/alex connect <token>` links yours again; "
                "`/alex disconnect` removes it.")
    try:
        await _whoami(rt, token)
    except PagerDutyError as exc:
        message = explain_pagerduty_error(exc).message
        return _scrub(f"Linked since {since}, but PagerDuty does not accept the token now: {untrusted(message, 300)} "
                      "`/alex connect <token>` links a new one; `/alex disconnect` removes it.", token)
    return f"Linked since {since}: alex uses your own PagerDuty token for your requests. `/alex disconnect` removes it."


async def _whoami(rt: SlackRuntime, token: SecretStr) -> dict[str, Any]:
    async with rt.backend.client_with_token(token) as client:
        return await client.me(deadline=time.monotonic() + CHECK_SECONDS)


def _explain_refusal(exc: PagerDutyError) -> str:
    problem = explain_pagerduty_error(exc)
    message, hint = problem.message, problem.hint
    if isinstance(exc, AuthenticationError):
        return REJECTED.format(message=untrusted(message, 300), create=CREATE_TOKEN)
    if isinstance(exc, InvalidInputError | NotFoundError) or (
            isinstance(exc, ForbiddenError) and not isinstance(exc, AbilityError)):
        return ACCOUNT_KEY.format(detail=untrusted(exc.message, 200))
    return f"{untrusted(message, 300)} {untrusted(hint, 200)} Nothing was stored."


def _own_account(identity: Identity) -> bool:
    """Mapped by the person's own Slack e-mail (a sandbox stand-in, ``--as``, links nothing)."""
    asker = identity.asker
    return asker.user_id is not None and bool(asker.email) and _folded(identity.slack_email) == _folded(asker.email)


def _folded(value: Any) -> str:
    return value.strip().casefold() if isinstance(value, str) else ""


def _scrub(text: str, token: SecretStr) -> str:
    """``text`` without the token, should PagerDuty ever quote it back."""
    value = token.get_secret_value()
    return text.replace(value, "[token]") if value else text


async def _audit(rt: SlackRuntime, identity: Identity, action: str, outcome: AuditOutcome, detail: str,
                 channel: str) -> None:
    summary = "Link a PagerDuty token" if action.startswith("link") else "Unlink a PagerDuty token"
    entry = AuditEntry(action=action, summary=summary, outcome=outcome, detail=detail,
                       requested_by=identity.slack_user_id, confirmed_by=identity.slack_user_id,
                       actor_name=identity.asker.name, actor_email=identity.asker.email, via=VIA, channel=channel)
    try:
        await rt.audit.record(entry)
    except Exception as exc:
        log.warning("could not audit %s (%s)", action, type(exc).__name__)
