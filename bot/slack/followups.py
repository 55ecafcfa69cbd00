"""Follow-ups without a mention: a plain reply in a thread alex answered, or in a war-room channel's thread.

alex receives every message of the public channels, private channels and group DMs it is a member of
(``message.channels``, ``message.groups``, ``message.mpim``). It answers one that does not mention it only
when the message is

* a reply in a thread, never a channel's (or group DM's) top-level traffic;
* in a thread alex answered in the last day (:data:`WINDOW_S`, at most two; :class:`AnsweredThreads`, in
  the shared state so that every replica and a restarted process know), or in the thread of a war-room
  channel (``#inc-4521-…``, :mod:`bot.slack.warroom`);
* from a person of this workspace, in a channel alex may answer in (``ALEX_ALLOWED_CHANNELS``);
* not also a mention of alex: that message arrives as ``app_mention`` too and is answered there, once;
* not addressed to someone else (it mentions another person, a user group, ``@here``…), and not a bare
  "thanks", "ok" or emoji.

:class:`PlainMessages` (Bolt middleware, first in line) drops every other channel message before the
dedupe, the rate limit or any refusal sees it: it reads only the request, so it costs the Events ack
nothing and never touches the state, and a guest from another organisation chatting in a thread is not
refused (they did not address alex). What remains is decided after the ack (:func:`admitted`): the
thread check, then the rate limit (:meth:`~bot.slack.runtime.SlackRuntime.over_limit`, the same
per-person and per-channel counts as mentions and DMs), then the answer.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.channels import channel_allowed
from bot.slack.conversation import post, thread_of
from bot.slack.render import render_notice
from bot.slack.runtime import SlackRuntime
from bot.slack.workspace import actor_team
from bot.store import StateStore

log = logging.getLogger("bot.slack.followups")

CHANNEL_TYPES = frozenset({"channel", "group", "mpim"})
"""``channel_type`` of ``message.channels`` / ``message.groups`` / ``message.mpim`` events."""
WINDOW_S = 24 * 3600.0
"""A thread stays answered for at least this long after alex's last answer there (at most twice as long)."""
WARN_EVERY_S = 60.0
ACKNOWLEDGEMENTS = frozenset({
    "ok", "okay", "k", "kk", "thanks", "thank you", "thanks alex", "thank you alex", "thx", "ty", "tyvm",
    "cheers", "great", "cool", "nice", "perfect", "got it", "makes sense", "will do", "+1", "lgtm"})
"""Replies that close an exchange rather than ask anything ("ack" is not one: in a war room it is a command)."""

_ADDRESSED = re.compile(r"<@[UWB][A-Z0-9]+(?:\|[^>]*)?>|<!(?:subteam\^[A-Z0-9]+|here|channel|everyone)\b[^>]*>")
_EMOJI_ONLY = re.compile(r"(?:\s*(?::[\w+\-']+:|[\u2190-\u2bff\u2600-\u27bf\U0001f000-\U0001faff\ufe0f\u200d]))+\s*")


def candidate(event: dict[str, Any]) -> bool:
    """Whether a channel message could be a follow-up for alex, from the event alone (no I/O).

    Any mention rules it out: alex's own means the message is answered as its ``app_mention``; anyone
    else's (a person, a user group, ``@here``) means it is addressed to them.
    """
    thread_ts, ts = event.get("thread_ts"), event.get("ts")
    if not thread_ts or not ts or thread_ts == ts:
        return False
    text = str(event.get("text") or "")
    if _ADDRESSED.search(text):
        return False
    said = text.strip().lower().strip(" !.?,;")
    return bool(said) and said not in ACKNOWLEDGEMENTS and not _EMOJI_ONLY.fullmatch(text)


class PlainMessages(AsyncMiddleware):
    """Acknowledge, and go no further for, channel messages that cannot be follow-ups (see the module)."""

    def __init__(self, rt: SlackRuntime) -> None:
        self._rt = rt

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse,
                            next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        body = req.body
        event = (body.get("event") or {}) if body.get("type") == "event_callback" else {}
        if event.get("type") != "message" or event.get("channel_type") == "im":
            return await next()
        if (event.get("channel_type") in CHANNEL_TYPES and candidate(event)
                and channel_allowed(self._rt.allowed_channels, str(event.get("channel") or ""))
                and _same_team(req, body)):
            return await next()
        return BoltResponse(status=200, body="")


def _same_team(req: AsyncBoltRequest, body: dict[str, Any]) -> bool:
    result = req.context.authorize_result
    home = (result.team_id if result is not None else None) or req.context.team_id
    actor = actor_team(body)
    return not home or not actor or actor == home


class AnsweredThreads:
    """The threads alex answered, kept in the shared state (:meth:`~bot.store.base.StateStore.first_seen`:
    bounded and expiring in every backend; no store method of its own).

    An answer marks its thread in the current window of :data:`WINDOW_S`
    (``answered:<channel>:<thread_ts>:<window>``, kept two windows); the thread counts as answered while
    the current or the previous window holds a mark, so it stays answered for a day after alex's last
    answer there and is forgotten within two. A mark is read with ``first_seen(key, ttl_s=0)``: a key that
    is there answers False and is left as it was; one that is not is "seen" for no time at all, so the
    read leaves nothing that lasts.
    """

    def __init__(self, *, window_s: float = WINDOW_S, clock: Callable[[], float] = time.time) -> None:
        self._window_s = window_s
        self._clock = clock
        self._warned_at: float | None = None

    async def remember(self, state: StateStore, channel: str, thread_ts: str) -> None:
        """Mark the thread answered; a state that cannot take it is logged (follow-ups then need a mention)."""
        try:
            await state.first_seen(self._key(channel, thread_ts, self._window()), 2 * self._window_s)
        except Exception as exc:  # StateUnavailable, a Redis error...: the answer was posted all the same
            self._warn("remembered", exc)

    async def answered(self, state: StateStore, channel: str, thread_ts: str) -> bool:
        """Whether alex answered in the thread lately (False when the state cannot say)."""
        window = self._window()
        try:
            for w in (window, window - 1):
                if not await state.first_seen(self._key(channel, thread_ts, w), 0.0):
                    return True
        except Exception as exc:
            self._warn("read", exc)
        return False

    def _window(self) -> int:
        return int(self._clock() // self._window_s)

    @staticmethod
    def _key(channel: str, thread_ts: str, window: int) -> str:
        return f"answered:{channel}:{thread_ts}:{window}"

    def _warn(self, what: str, exc: Exception) -> None:
        now = time.monotonic()
        if self._warned_at is None or now - self._warned_at >= WARN_EVERY_S:
            log.warning("answered threads could not be %s (%s): follow-ups there need a mention",
                        what, type(exc).__name__)
            self._warned_at = now


async def admitted(rt: SlackRuntime, threads: AnsweredThreads, client: AsyncWebClient,
                   event: dict[str, Any]) -> bool:
    """Whether alex answers this candidate (:func:`candidate`) follow-up: its thread is one alex answered or
    a war room's, and the asker is within the rate limits (over them, the notice is posted once a window)."""
    channel, thread_ts = str(event["channel"]), str(event["thread_ts"])
    if not await threads.answered(rt.state, channel, thread_ts):
        where = await rt.war_rooms.channel_info(channel, channel_type=event.get("channel_type"))
        if where.kind != "war_room":
            return False
    refusal = await rt.over_limit(str(event.get("user") or ""), channel)
    if refusal:
        await post(client, channel, thread_of(event), render_notice(refusal))
    return refusal is None
