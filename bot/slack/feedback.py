"""Feedback buttons under every model answer, and what a click keeps.

When a model answer is posted, :func:`remember` stores what it was made of in the state store
(:mod:`bot.store.feedback`): the question, the thread's earlier messages the model saw, each tool call
(name, arguments, status), the answer, the model, who asked, where, and PagerDuty's time then. Its turn
id is carried by the buttons' values (``positive:<id>`` / ``negative:<id>``,
:mod:`bot.slack.render.feedback`). A command-mode answer gets no buttons (no model to judge), and neither
does an answer whose record the store could not take: the answer is posted all the same.

A click (:func:`clicked`) adds the clicker's vote to that stored turn (their second click replaces the
first) and tells them so, ephemerally. Anyone who sees the answer may rate it; a click is only counted in
the channel the answer was posted in. ``alex eval --from-feedback`` exports the rated turns as eval cases.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import time
from datetime import datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.agent.prompt import ChannelInfo
from bot.agent.turn import Turn
from bot.slack.identity import Identity
from bot.slack.render import render_notice
from bot.slack.render.feedback import FEEDBACK_ACTION, parse_feedback
from bot.slack.runtime import SlackRuntime
from bot.store import StateUnavailable
from bot.store.feedback import UNRATED_TTL_S, FeedbackCall, TurnRecord, Vote, VoteStatus
from bot.store.thread_memory import TRUNCATED, text_only

log = logging.getLogger("bot.slack.feedback")

THREAD_BOUND_S = 1.0
"""The longest :func:`remember` waits for the thread's earlier messages (the answer is waiting)."""
THANKS = {
    "positive": "Thanks! alex keeps this answer, with the question and what it looked up, as an example of a "
                "good answer for its evals.",
    "negative": "Thanks for saying so. alex keeps this answer, with the question and what it looked up, so it "
                "can be checked and become a test. If you still need an answer, ask again in other words.",
}
CHANGED = "Changed: you now rate this answer as {rating}."
SAME = "Already noted: you rated this answer as {rating}."
FULL = "Thanks. This answer already has as many ratings as alex keeps, so yours was not added."
GONE = (f"alex no longer has this answer (it keeps answers for rating {UNRATED_TTL_S / 86_400:g} days), so "
        "nothing was recorded.")
STATE_DOWN = "alex could not reach its state store just now, so your rating was not saved. Try again in a moment."
_WORDS = {"positive": "good", "negative": "bad"}
_SLACK_ID = re.compile(r"[UW][A-Z0-9]{1,31}")


async def remember(rt: SlackRuntime, turn: Turn, *, question: str, identity: Identity, now: datetime,
                   where: ChannelInfo, channel: str, thread_ts: str, memory_thread: str | None = None) -> str | None:
    """Store ``turn`` (a model answer about to be posted in ``channel``/``thread_ts``) for feedback; its turn
    id for the buttons, or None: a command-mode answer, or the store could not take it (logged, never
    raised: the answer matters more). ``memory_thread`` is the thread's memory id (its earlier messages)."""
    if turn.mode != "llm":
        return None
    turn_id = secrets.token_hex(8)
    try:
        record = TurnRecord(
            turn_id, question, turn.reply,
            tuple(FeedbackCall(c.name, _json(c.arguments), c.result.status) for c in turn.tool_calls),
            rt.agent.model_name, identity.slack_user_id, identity.asker.email, now.isoformat(), channel, thread_ts,
            where.kind, None if where.incident is None else str(where.incident),
            await _earlier(rt, memory_thread, question) if memory_thread else ())
        await rt.state.feedback.put(record)
    except Exception as exc:  # StateUnavailable, a Redis error...: no buttons on this answer
        log.warning("the answer could not be stored for feedback (%s): posting it without the buttons",
                    type(exc).__name__)
        return None
    return turn_id


async def clicked(rt: SlackRuntime, client: AsyncWebClient, body: dict[str, Any]) -> None:
    """A click on an answer's feedback buttons: the vote is stored with the turn; the clicker is thanked."""
    action = (body.get("actions") or [{}])[0]
    user = str((body.get("user") or {}).get("id") or "")
    container = body.get("container") or {}
    channel = str((body.get("channel") or {}).get("id") or container.get("channel_id") or "")
    message: dict[str, Any] = body["message"] if isinstance(body.get("message"), dict) else {}
    thread_ts = str(message.get("thread_ts") or container.get("thread_ts") or container.get("message_ts")
                    or message.get("ts") or "") or None
    parsed = parse_feedback(str(action.get("value") or "")) if isinstance(action, dict) else None
    if not _SLACK_ID.fullmatch(user) or not channel:
        return  # Slack always sends both: nothing to record, nobody to thank
    text = GONE
    try:
        stored = await rt.state.feedback.get(parsed[1]) if parsed is not None else None
        if parsed is not None and stored is not None and stored.channel == channel:
            rating, turn_id = parsed
            voted = await rt.state.feedback.vote(turn_id, Vote(rating, user, time.time()))
            log.info("feedback on turn %s: %s (%s)", turn_id, rating, voted.status)
            text = _thanks(voted.status, rating)
    except (StateUnavailable, ConnectionError, OSError) as exc:
        log.warning("a feedback click could not be stored: the state store is unavailable (%s)", type(exc).__name__)
        text = STATE_DOWN
    notice = render_notice(text)
    try:
        await client.chat_postEphemeral(channel=channel, user=user, text=notice.text, blocks=notice.blocks,
                                        thread_ts=thread_ts)
    except SlackApiError as exc:
        log.warning("chat.postEphemeral failed: %s", exc.response.get("error"))


def register(app: AsyncApp, rt: SlackRuntime) -> None:
    """The feedback buttons' listener (acknowledged at once, the vote stored after)."""

    @app.action(FEEDBACK_ACTION)
    async def on_feedback(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with rt.working():
            await clicked(rt, client, body)


def _thanks(status: VoteStatus, rating: str) -> str:
    if status == "recorded":
        return THANKS[rating]
    if status == "changed":
        return CHANGED.format(rating=_WORDS[rating])
    if status == "same":
        return SAME.format(rating=_WORDS[rating])
    return FULL if status == "full" else GONE


async def _earlier(rt: SlackRuntime, memory_thread: str, question: str) -> tuple[tuple[str, str], ...]:
    """What was said in the thread before ``question`` (text only), as the model saw it; empty when the
    memory is off or slow."""
    memory = rt.agent.memory
    if memory is None:
        return ()
    try:
        messages = await asyncio.wait_for(memory.load(memory_thread), THREAD_BOUND_S)
    except Exception as exc:  # the record is still worth keeping without them
        log.info("thread memory unavailable for a feedback record (%s)", type(exc).__name__)
        return ()
    said = [(str(m["role"]), str(m["content"])) for m in text_only(messages)]
    for index in range(len(said) - 1, -1, -1):  # the exchange just answered is the newest: cut it off
        role, text = said[index]
        if role == "user" and question.startswith(text.removesuffix(TRUNCATED)):
            return tuple(said[:index])
    return tuple(said)


def _json(arguments: dict[str, Any] | str) -> str:
    return arguments if isinstance(arguments, str) else json.dumps(arguments, ensure_ascii=False, default=str)
