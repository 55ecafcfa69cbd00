"""``/alex <question>``: ask alex from any conversation, privately, and share the answer with one click.

Any ``/alex`` text that is not a linking sub-command (:mod:`bot.slack.linking`) is a question. Slack
waits 3 s for the command's acknowledgement, so alex acknowledges at once and answers afterwards through
the command's ``response_url``, ephemerally: only the person who asked sees it, and it works in any
conversation, also where alex is not a member. The question is answered as that person, exactly as a
DM would be (their PagerDuty identity and role, their time zone, a war room's incident, the same
commands), and ``/alex`` follow-ups in the same conversation share memory ("and next week?").

Under the answer a **Post to channel** button (``slash_post``) posts the same answer in the
conversation, headed by who asked, where the channel can read it and follow up in its thread. Where
alex is not a member Slack refuses the post, and the person is told so (nothing else changes). The
answer is kept in this process for :data:`KEPT_S` (a ``response_url``'s lifetime); a click that
reaches a process without it (a restart, another replica) asks the question again and posts the fresh
answer, saying so.

Buttons on an ephemeral answer work like everywhere else: a proposal's Confirm/Cancel (a change
needs the asker's click, runs as the clicker, is audited) and an incident card's Ack/Resolve.
Slack sends an ephemeral message's clicks without the message and refuses ``chat.update`` on it, so
:class:`EphemeralClicks` hands those listeners a Web client whose posts go to the click's
``response_url`` (:class:`ResponseUrlClient`): a card's replacement replaces the ephemeral message,
any other reply is one more ephemeral message. Nothing is ever posted in the channel by such a click.

Bounds: a question of at most :data:`MAX_QUESTION_CHARS`; the per-person and per-channel rate limits of
messages; the channel allowlist (outside it, the polite refusal mentions get, ephemerally).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.agent.prompt import ChannelInfo
from bot.agent.turn import Turn
from bot.present.kit.blocks import Block, actions, button, context
from bot.present.kit.escape import untrusted
from bot.present.kit.limits import MAX_BLOCKS, TEXT_BUDGET, text_size
from bot.slack.admission import Refused, admit
from bot.slack.buttons import CANCEL, CONFIRM, Click
from bot.slack.channels import channel_allowed
from bot.slack.conversation import GREETINGS, NOT_ALLOWED_HERE, greeting, pending, thread_id
from bot.slack.followups import AnsweredThreads
from bot.slack.identity import Identity
from bot.slack.render import SlackMessage, render_notice, render_turn
from bot.slack.runtime import RATE_LIMITED, SlackRuntime
from bot.slack.warroom import understand
from bot.tools.proposals import audit_scope

log = logging.getLogger("bot.slack.slash")

POST_ACTION = "slash_post"
"""The Post to channel (or Post in thread) button under an ephemeral answer; value: :func:`_post_value`."""
VIA = "slash_command"
"""How the audit log names a write typed as ``/alex <command>`` (its proposals' Confirm is ``button``)."""
MAX_QUESTION_CHARS = 2_000
SHOWN_QUESTION_CHARS = 300
KEPT_S = 30 * 60.0
"""How long an ephemeral answer can be posted: Slack's ``response_url`` lasts 30 minutes."""
KEPT_MAX = 500
VALUE_QUESTION_CHARS = 1_500
"""A question this short travels in the button, so a process without the answer can ask it again."""
NOT_A_MEMBER_ERRORS = frozenset({"not_in_channel", "channel_not_found", "is_archived", "restricted_action",
                                 "cannot_dm_bot", "messages_tab_disabled"})

TOO_LONG = ("That question is {n:,} characters; `/alex` takes up to {limit:,}. Ask something shorter, "
            "or mention @alex in a thread for a longer message.")
FAILED = "Something went wrong while answering, sorry. Try again, or use an exact command (`/alex help`)."
LINK_INSTEAD = ("To link your PagerDuty token, use `/alex connect <token>` in a DM with alex. Nothing was read "
                "or stored.")
POST_LABEL, THREAD_LABEL = "Post to channel", "Post in thread"
NOT_A_MEMBER = ("alex is not a member of this conversation, so it can't post there (only you saw the answer). "
                "Add it with `/invite @alex`, or mention @alex in a channel it is in.")
POST_FAILED = "Slack did not take the post ({error}); the answer is still here, only for you."
GONE = "That answer is no longer available to post (alex keeps it for 30 minutes). Ask again."
NOT_YOURS = "Only the person who asked can post this answer."
ASKED_AGAIN = "_Asked again: the earlier answer was no longer available._"


_PASTED_TOKEN = re.compile(r"(?:link|token)\s+\S{16,}", re.IGNORECASE)
"""``/alex link <token>``: meant ``connect``; the token never reaches the agent (or the model)."""


@dataclass(frozen=True, slots=True)
class Kept:
    """An ephemeral answer that its asker may still post: the public version and where it goes."""

    user: str
    channel: str
    thread_ts: str | None
    """The thread it is posted in (Ask about a message: the message's thread); None: the channel."""
    message: SlackMessage
    asked: str
    """The question as said (for the thread's memory)."""
    answered: str
    """The answer's text (for the thread's memory)."""


class KeptAnswers:
    """Ephemeral answers by a random key, for :data:`KEPT_S`, at most :data:`KEPT_MAX` (oldest dropped)."""

    def __init__(self, *, ttl_s: float = KEPT_S, max_items: int = KEPT_MAX,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s, self._max, self._clock = ttl_s, max_items, clock
        self._items: OrderedDict[str, tuple[float, Kept]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, kept: Kept) -> str:
        key = secrets.token_urlsafe(12)
        now = self._clock()
        with self._lock:
            while self._items and (len(self._items) >= self._max or next(iter(self._items.values()))[0] <= now):
                self._items.popitem(last=False)
            self._items[key] = (now + self._ttl_s, kept)
        return key

    def get(self, key: str) -> Kept | None:
        with self._lock:
            item = self._items.get(key)
        return item[1] if item is not None and item[0] > self._clock() else None


KEPT = KeptAnswers()
"""This process's postable answers (a module-level store: the ``/alex`` listener is linking's)."""


# ----------------------------------------------------------------------------- /alex <question>

async def question(rt: SlackRuntime, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
    """Answer ``/alex <question>``: refusals that need nothing looked up go with the acknowledgement;
    the answer follows on the ``response_url``."""
    text = str(command.get("text") or "").strip() or "help"
    user, channel = str(command.get("user_id") or ""), str(command.get("channel_id") or "")
    at_once = (TOO_LONG.format(n=len(text), limit=MAX_QUESTION_CHARS) if len(text) > MAX_QUESTION_CHARS else
               NOT_ALLOWED_HERE if not channel_allowed(rt.allowed_channels, channel) else
               LINK_INSTEAD if _PASTED_TOKEN.fullmatch(text) else None)
    if at_once is not None:
        await ack(text=at_once, response_type="ephemeral")
        return
    await ack()
    async with rt.working():
        try:
            message = await answer(rt, user=user, channel=channel, text=text)
        except Exception:
            log.exception("answering /alex failed")
            message = render_notice(FAILED)
        await send(respond, message)


async def answer(rt: SlackRuntime, *, user: str, channel: str, text: str) -> SlackMessage:
    """The ephemeral answer to ``text`` from ``user`` in ``channel``, with its Post to channel button."""
    refusal = await rt.over_limit(user, channel)
    if refusal is not None:
        return render_notice(refusal or RATE_LIMITED)
    identity = await admit(rt, user, reads=True)
    if isinstance(identity, Refused):
        return render_notice(identity.text)
    if text.lower().strip(" !.?") in GREETINGS:
        return render_notice(greeting(identity))
    where = await rt.war_rooms.channel_info(channel, channel_type="im" if channel.startswith("D") else None)
    request = understand(text, where)
    if request.question is not None:
        return render_notice(request.question)
    turn, ids = await ask(rt, identity, request.text, channel=channel, where=where, propose=request.propose)
    message = render_turn(turn, proposal_ids=ids)
    heading = f":speech_balloon: `/alex` {untrusted(text, SHOWN_QUESTION_CHARS)}"
    shared = f"<@{user}> asked alex: {untrusted(text, SHOWN_QUESTION_CHARS)}"
    return ephemeral(message, Kept(user, channel, None, framed(message, [context(shared)]), text, turn.reply),
                     heading=heading, label=POST_LABEL, question=text)


async def ask(rt: SlackRuntime, identity: Identity, text: str, *, channel: str, where: ChannelInfo,
              propose: bool = False) -> tuple[Turn, list[str]]:
    """The agent's turn for ``text`` as ``identity`` (memory: this person's ``/alex`` in ``channel``), and
    the ids of its proposals, kept for the asker's click."""
    ctx = await rt.context(identity.asker)
    memory = slash_thread(identity.slack_user_id)
    user = identity.slack_user_id
    with audit_scope(rt.audit, requested_by=user, confirmed_by=user, via=VIA, channel=channel):
        turn = await rt.agent.respond(text, ctx, thread_id=thread_id(channel, memory), channel=where,
                                      propose_writes=propose)  # a typed write command runs here, audited
    ids = [await rt.proposals.put(pending(turn, p, identity, channel, memory, prepared_at=ctx.now))
           for p in turn.proposals]
    return turn, ids


def slash_thread(user: str) -> str:
    """Where one person's ``/alex`` questions in a conversation are remembered (and their proposals filed):
    ``thread_id(channel, slash_thread(user))``; not a Slack ``ts``."""
    return f"slash-{user}"


# ----------------------------------------------------------------------------- the ephemeral answer

def ephemeral(message: SlackMessage, kept: Kept, *, heading: str, label: str, question: str | None) -> SlackMessage:
    """``message`` for its asker only: ``heading`` above, the post button below (``kept`` is what it posts;
    ``question``, when short, lets another process ask again)."""
    key = KEPT.put(kept)
    post = actions([button(label, POST_ACTION, _post_value(key, question))], block_id="slash:post")
    return framed(message, [context(heading)], [post])


def framed(message: SlackMessage, head: Sequence[Block], tail: Sequence[Block] = ()) -> SlackMessage:
    """``message``'s blocks between ``head`` and ``tail``, dropping its last blocks if all would not fit."""
    body = list(message.blocks)
    extra = list(head) + list(tail)
    while body and (len(body) + len(extra) > MAX_BLOCKS or text_size(body) + text_size(extra) > TEXT_BUDGET):
        body.pop()
    return SlackMessage(message.text, [*head, *body, *tail])


def _post_value(key: str, question: str | None) -> str:
    value: dict[str, str] = {"k": key}
    if question is not None and len(question) <= VALUE_QUESTION_CHARS:
        value["q"] = question
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


async def send(respond: AsyncRespond, message: SlackMessage, *, replace: bool = False,
               thread_ts: str | None = None) -> None:
    """``message`` to the person, on the interaction's ``response_url`` (ephemeral; in ``thread_ts``)."""
    try:
        sent = await respond(text=message.text, blocks=message.blocks, response_type="ephemeral",
                             replace_original=replace, thread_ts=thread_ts)
        if sent.status_code != 200:
            log.warning("the response_url refused an answer (%s %s)", sent.status_code, str(sent.body)[:100])
    except Exception as exc:  # expired (30 minutes, 5 uses) or Slack unreachable: nothing else to tell
        log.warning("could not answer on the response_url (%s)", type(exc).__name__)


# ----------------------------------------------------------------------------- Post to channel / in thread

async def share(rt: SlackRuntime, client: AsyncWebClient, body: dict[str, Any], respond: AsyncRespond) -> None:
    """The post button: the kept answer in the conversation (or the message's thread), as its asker asked."""
    click = Click(body)
    try:
        value = json.loads(click.value)
    except ValueError:
        value = None
    value = value if isinstance(value, dict) else {}
    kept = KEPT.get(str(value.get("k") or ""))
    if kept is not None and kept.user != click.user:
        await send(respond, render_notice(NOT_YOURS))
        return
    channel = kept.channel if kept is not None else click.channel
    if not channel_allowed(rt.allowed_channels, channel):
        await send(respond, render_notice(NOT_ALLOWED_HERE))
        return
    if kept is None:
        asked = value.get("q")
        if not isinstance(asked, str) or not asked.strip():
            await send(respond, render_notice(GONE))
            return
        kept = await _asked_again(rt, click.user, channel, asked)
        if kept is None:
            await send(respond, render_notice(FAILED))
            return
    message = kept.message
    try:
        posted = await client.chat_postMessage(channel=channel, thread_ts=kept.thread_ts, text=message.text,
                                               blocks=message.blocks, unfurl_links=False, unfurl_media=False)
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        log.info("posting an /alex answer was refused: %s", error)
        text = NOT_A_MEMBER if error in NOT_A_MEMBER_ERRORS else POST_FAILED.format(error=untrusted(error, 60))
        await send(respond, render_notice(text))
        return
    thread = kept.thread_ts or str(posted.get("ts") or "")
    if thread:
        await AnsweredThreads().remember(rt.state, channel, thread)  # follow-ups there need no mention
        await _remember(rt, thread_id(channel, thread), kept)
    try:
        await respond(delete_original=True)
    except Exception as exc:
        log.info("the ephemeral answer was not removed (%s)", type(exc).__name__)


async def _asked_again(rt: SlackRuntime, user: str, channel: str, asked: str) -> Kept | None:
    identity = await admit(rt, user, reads=True)
    if isinstance(identity, Refused):
        return None
    where = await rt.war_rooms.channel_info(channel, channel_type="im" if channel.startswith("D") else None)
    request = understand(asked, where)
    if request.question is not None:
        return None
    turn, ids = await ask(rt, identity, request.text, channel=channel, where=where, propose=request.propose)
    head = [context(f"<@{user}> asked alex: {untrusted(asked, SHOWN_QUESTION_CHARS)}"), context(ASKED_AGAIN)]
    return Kept(user, channel, None, framed(render_turn(turn, proposal_ids=ids), head), asked, turn.reply)


async def _remember(rt: SlackRuntime, thread: str, kept: Kept) -> None:
    memory = rt.agent.memory
    if memory is None or not kept.answered:
        return
    try:
        await memory.append(thread, [{"role": "user", "content": kept.asked},
                                     {"role": "assistant", "content": kept.answered}])
    except Exception as exc:
        log.warning("thread memory not saved (%s)", type(exc).__name__)


# ----------------------------------------------------------------------------- clicks on ephemeral messages

class ResponseUrlClient(AsyncWebClient):
    """A Web client whose messages go to one interaction's ``response_url``: ``chat.update`` replaces the
    ephemeral message clicked, ``chat.postMessage`` / ``chat.postEphemeral`` add one (or, with
    ``replace_posts``, replace it too). Every other method is the Web API, as the wrapped client calls it."""

    def __init__(self, client: AsyncWebClient, response_url: str, *, replace_posts: bool = False) -> None:
        super().__init__(token=client.token, base_url=client.base_url, timeout=client.timeout, ssl=client.ssl,
                         proxy=client.proxy, session=client.session, trust_env_in_session=client.trust_env_in_session,
                         headers=dict(client.headers), retry_handlers=list(client.retry_handlers))
        self._response_url = response_url
        self._replace_posts = replace_posts

    async def chat_postMessage(self, **kwargs: Any) -> AsyncSlackResponse:
        return await self._respond(kwargs, replace=self._replace_posts)

    async def chat_postEphemeral(self, **kwargs: Any) -> AsyncSlackResponse:
        return await self._respond(kwargs, replace=False)

    async def chat_update(self, **kwargs: Any) -> AsyncSlackResponse:
        return await self._respond(kwargs, replace=True)

    async def _respond(self, args: dict[str, Any], *, replace: bool) -> AsyncSlackResponse:
        message: dict[str, Any] = {"text": str(args.get("text") or ""), "response_type": "ephemeral",
                                   "replace_original": replace}
        if args.get("blocks") is not None:
            message["blocks"] = args["blocks"]
        sent = await AsyncWebhookClient(url=self._response_url, proxy=self.proxy, ssl=self.ssl).send_dict(message)
        ok = sent.status_code == 200
        data: dict[str, Any] = {"ok": ok} if ok else {"ok": False, "error": str(sent.body or sent.status_code)[:100]}
        response = AsyncSlackResponse(client=self, http_verb="POST", api_url="response_url", req_args={}, data=data,
                                      headers=dict(sent.headers or {}), status_code=sent.status_code)
        if not ok:
            raise SlackApiError("the response_url refused the message", response)  # type: ignore[no-untyped-call]
        return response


class EphemeralClicks(AsyncMiddleware):
    """Clicks on an ephemeral message get a :class:`ResponseUrlClient` as their ``client`` (except the
    ``exempt`` actions, which post in the conversation on purpose). A proposal's Confirm/Cancel replace
    their card: Slack does not send an ephemeral message's blocks, so the card's replacement is posted,
    and here that post replaces the ephemeral message."""

    def __init__(self, *, exempt: Collection[str] = ()) -> None:
        self._exempt = frozenset(exempt)

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse,
                            next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        body = req.body
        container = body.get("container") if body.get("type") == "block_actions" else None
        response_url = body.get("response_url")
        client = req.context.client
        if (isinstance(container, dict) and container.get("is_ephemeral") and isinstance(response_url, str)
                and response_url and client is not None):
            action = _action_id(body)
            if action not in self._exempt:
                req.context["client"] = ResponseUrlClient(client, response_url,
                                                          replace_posts=action in (CONFIRM, CANCEL))
        return await next()


def _action_id(body: dict[str, Any]) -> str | None:
    found = body.get("actions")
    first = found[0] if isinstance(found, list) and found else None
    action = first.get("action_id") if isinstance(first, dict) else None
    return action if isinstance(action, str) else None


def register(app: AsyncApp, rt: SlackRuntime) -> None:
    """The post button, and ephemeral clicks answered through their ``response_url``."""
    app.use(EphemeralClicks(exempt={POST_ACTION}))

    @app.action(POST_ACTION)
    async def on_post(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond) -> None:
        await ack()
        async with rt.working():
            await share(rt, client, body, respond)
