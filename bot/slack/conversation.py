"""Answering one message: a mention in a channel or thread, or a DM.

The answer always goes into the thread of the message (``thread_ts`` = the thread's, or the
message's own ``ts`` to start one); a plain ``say()`` would not thread. Before any slow work the asker
sees that alex is working: the thread's status ("is looking into it…", ``assistant.threads.setStatus``),
or an :eyes: reaction where the status is not available; while tools run, the status says which
(:mod:`bot.slack.progress`). With streaming on (``ALEX_SLACK_STREAM``, :mod:`bot.slack.streaming`) a
model's answer instead grows in the thread as it is written, its tool steps as task cards, and the
result sections and proposal cards are attached when it ends; a Stop there ends the answer with nothing
proposed. Follow-ups in the same thread share memory
(thread id ``"<channel>:<thread_ts>"``), and in a thread alex answered they need no mention
(:mod:`bot.slack.followups`).

A greeting ("hi", "hello", or a bare "@alex") is answered with the suggested prompts
(``prompts/suggested.md``) instead of going to the agent: that is how a DM conversation (or the app's
Messages tab) starts. ``help`` lists the exact commands.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.agent.agent import STOPPED_REPLY
from bot.agent.loop import ToolStart
from bot.agent.prompt import suggested_prompts
from bot.agent.turn import Turn
from bot.slack import feedback, notify_commands
from bot.slack.admission import Refused, admit
from bot.slack.identity import Identity
from bot.slack.progress import Progress
from bot.slack.render import SlackMessage, render_notice, render_turn
from bot.slack.runtime import SlackRuntime
from bot.slack.streaming import Stream
from bot.slack.warroom import understand
from bot.store.proposals import PendingProposal
from bot.tools.base import Proposal

log = logging.getLogger("bot.slack.conversation")

WORKING_STATUS = "is looking into it…"
LOADING_MESSAGES = ["Reading PagerDuty…", "Checking who is on call…", "Looking at the incidents…"]
GREETINGS = frozenset({"", "hi", "hello", "hey", "hiya", "yo", "hallo", "start", "hi alex", "hello alex", "hey alex"})
FAILED = "Something went wrong while answering, sorry. Try again, or use an exact command (type `help`)."
BLOCKS_REJECTED = frozenset({"invalid_blocks", "invalid_blocks_format", "msg_blocks_too_long", "too_many_blocks",
                             "only_one_table_allowed", "invalid_attachments"})
NOT_ALLOWED_HERE = ("alex isn't enabled in this channel, sorry. Send me a direct message instead, or ask a Slack "
                    "admin to add this channel to alex's allowed channels.")
TEXT_ONLY_CHARS = 3_900
SHOWN_PROMPTS = 6
PASTED_TOKEN = ("That looks like a PagerDuty token typed as a message, so alex did not read it or pass it on. "
                "Use the `/alex connect` slash command in a DM with alex (its text is never posted), and since "
                "this message is now in Slack's history, consider revoking that token in PagerDuty.")
_PASTED_TOKEN = re.compile(r"\s*/?(?:alex\s+)?(?:connect|link)\s+\S{16,}\s*$", re.IGNORECASE)
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")


def strip_mention(text: str, bot_user_id: str | None) -> str:
    """The message without alex's own mention (every mention of alex, or the leading ones)."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    else:
        while match := _MENTION.match(text.lstrip()):
            text = text.lstrip()[match.end():]
    return re.sub(r"[ \t]+", " ", text).strip()


def thread_of(event: dict[str, Any]) -> str:
    """The thread an answer goes to: the message's thread, or a new one under the message."""
    return str(event.get("thread_ts") or event["ts"])


def thread_id(channel: str, thread_ts: str) -> str:
    return f"{channel}:{thread_ts}"


async def answer(rt: SlackRuntime, client: AsyncWebClient, event: dict[str, Any], *,
                 bot_user_id: str | None, dm: bool = False) -> bool:
    """Answer ``event`` (an ``app_mention``, a ``message`` in a DM, or a follow-up in a thread alex
    answered, :mod:`bot.slack.followups`) in its thread.

    The channel allowlist and the rate limit were applied before (:mod:`bot.slack.channels`,
    :mod:`bot.slack.rate_limit`, :func:`bot.slack.followups.admitted`); who asks is resolved here, once
    (:func:`~bot.slack.admission.admit`). True when alex answered the thread (an answer, a question back,
    the greeting, or "something went wrong"); False when it only refused (who asks may not, a pasted
    token): follow-ups without a mention are answered in the threads where this returned True.
    """
    channel = str(event["channel"])
    thread_ts = thread_of(event)
    text = strip_mention(str(event.get("text") or ""), bot_user_id)
    status_shown = await show_working(client, channel, thread_ts, str(event["ts"]))
    identity = await admit(rt, str(event["user"]), reads=True)
    if isinstance(identity, Refused):
        await post(client, channel, thread_ts, render_notice(identity.text))
        return False
    if _PASTED_TOKEN.match(text):
        await post(client, channel, thread_ts, render_notice(PASTED_TOKEN))
        return False
    if await notify_commands.answer(rt, client, event, text, identity):  # "notify this channel about …"
        return True
    if text.lower().strip(" !.?") in GREETINGS:
        await post(client, channel, thread_ts, render_notice(greeting(identity)))
        return True
    progress = Progress(client, channel, thread_ts, every_s=rt.status_every_s) if status_shown else None
    team = event.get("user_team") or event.get("team")
    stream = rt.streaming.open(client, channel, thread_ts, asker=identity.slack_user_id,
                               team=str(team) if team else None, dm=dm or channel.startswith("D"))
    try:
        where = await rt.war_rooms.channel_info(channel, channel_type="im" if dm else event.get("channel_type"),
                                                thread_ts=event.get("thread_ts"))
        request = understand(text, where)
        if request.question is not None:
            await post(client, channel, thread_ts, render_notice(request.question))
            return True
        ctx = await rt.context(identity.asker)
        turn = await rt.agent.respond(request.text, ctx, thread_id=thread_id(channel, thread_ts), channel=where,
                                      on_tool_start=_progress(progress, stream), propose_writes=request.propose,
                                      live=stream.live if stream is not None else None)
        if stream is not None and stream.stopped:
            await _stopped(client, stream)
            return True
        ids = [await rt.proposals.put(pending(turn, p, identity, channel, thread_ts, prepared_at=ctx.now))
               for p in turn.proposals]
        feedback_id = await feedback.remember(rt, turn, question=request.text, identity=identity, now=ctx.now,
                                              where=where, channel=channel, thread_ts=thread_ts,
                                              memory_thread=thread_id(channel, thread_ts))
        message = render_turn(turn, proposal_ids=ids, feedback_id=feedback_id)
        if stream is not None:
            final = message if not stream.carried(turn) else render_turn(turn, proposal_ids=ids, with_prose=False,
                                                                         feedback_id=feedback_id)
            outcome = await stream.finish(final, message)
            if outcome == "stopped":  # Stop came as the answer was attached: nothing of it stays proposed
                await _withdraw(rt, ids, identity.slack_user_id)
                await _stopped(client, stream)
            if outcome != "unstreamed":
                return True
    except Exception:
        log.exception("answering a message failed")
        message = render_notice(FAILED)
        if stream is not None and await stream.finish(message, message) != "unstreamed":
            return True
    finally:
        if stream is not None:
            stream.discard()
    await post(client, channel, thread_ts, message)
    return True


def _progress(progress: Progress | None, stream: Stream | None) -> Progress | ToolStart | None:
    """The thread's status follows the tools, unless a stream shows them (its task cards)."""
    if progress is None or stream is None:
        return progress

    async def unless_streamed(names: list[str]) -> None:
        if stream.failed:
            await progress(names)

    return unless_streamed


async def _stopped(client: AsyncWebClient, stream: Stream) -> None:
    """The person pressed Stop: the stream ends saying so (or, where it cannot, a short reply does)."""
    notice = render_notice(STOPPED_REPLY)
    if not await stream.end_stopped(notice):
        await post(client, stream.channel, stream.thread_ts, notice)


async def _withdraw(rt: SlackRuntime, ids: list[str], user: str) -> None:
    """Cancel stored proposals whose card the person never saw (they stopped the answer)."""
    for proposal_id in ids:
        try:
            await rt.proposals.claim(proposal_id, user, "cancelled")
        except Exception as exc:  # it expires anyway; its card was never shown
            log.warning("could not withdraw a stopped proposal: %s", type(exc).__name__)


def greeting(identity: Identity) -> str:
    name = identity.asker.name.split()[0] if identity.asker.name else "there"
    lines = [f"Hi {name}! I'm alex: ask me about PagerDuty incidents, on-call, schedules and escalation "
             "policies. I can also acknowledge, resolve and add notes for you, as you. For example:"]
    lines += [f"• {prompt}" for prompt in suggested_prompts()[:SHOWN_PROMPTS]]
    lines.append("Type `help` for the exact commands (they work without AI).")
    return "\n".join(lines)


def pending(turn: Turn, proposal: Proposal, identity: Identity, channel: str, thread_ts: str, *,
            prepared_at: datetime) -> PendingProposal:
    """What is kept of a proposal until someone clicks: it, who asked and when, and the tool call behind it."""
    call = next((c for c in turn.tool_calls if c.result.proposal is proposal), None)
    arguments: dict[str, Any] | None = None
    if call is not None:
        raw = call.arguments
        try:
            parsed = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            parsed = None
        arguments = parsed if isinstance(parsed, dict) else None
    return PendingProposal(proposal, identity.slack_user_id, channel, thread_ts, asker_name=identity.asker.name,
                           tool=call.name if call is not None and arguments is not None else None,
                           arguments=arguments, asker=identity.asker, prepared_at=prepared_at)


async def show_working(client: AsyncWebClient, channel: str, thread_ts: str, message_ts: str) -> bool:
    """The thread's "is looking into it…" status (True), or an :eyes: reaction when that is refused."""
    try:
        await client.assistant_threads_setStatus(channel_id=channel, thread_ts=thread_ts, status=WORKING_STATUS,
                                                 loading_messages=LOADING_MESSAGES)
        return True
    except Exception as exc:  # the answer matters more than the status
        log.info("assistant.threads.setStatus refused (%s): reacting instead", _error(exc))
    try:
        await client.reactions_add(channel=channel, timestamp=message_ts, name="eyes")
    except Exception as exc:
        log.info("reactions.add refused: %s", _error(exc))
    return False


async def post(client: AsyncWebClient, channel: str, thread_ts: str, message: SlackMessage) -> None:
    """Post ``message`` in the thread (links and media never unfurl).

    Should Slack reject the blocks, the fallback text is posted alone rather than no answer at all.
    """
    try:
        await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=message.text,
                                      blocks=message.blocks, unfurl_links=False, unfurl_media=False)
    except SlackApiError as exc:
        if _error(exc) not in BLOCKS_REJECTED:
            raise
        log.error("Slack rejected the answer's blocks (%s): posting its text only", _error(exc))
        await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=message.text[:TEXT_ONLY_CHARS],
                                      unfurl_links=False, unfurl_media=False)


async def post_ephemeral(client: AsyncWebClient, channel: str, user: str, message: SlackMessage,
                         thread_ts: str | None = None) -> None:
    """Only ``user`` sees it (refusals, "already handled")."""
    try:
        await client.chat_postEphemeral(channel=channel, user=user, text=message.text, blocks=message.blocks,
                                        thread_ts=thread_ts)
    except SlackApiError as exc:
        log.warning("chat.postEphemeral failed: %s", exc.response.get("error"))


def _error(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error"))
    return type(exc).__name__
