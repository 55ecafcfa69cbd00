"""Streamed answers: the reply grows in the thread while alex works (``chat.startStream`` / ``appendStream`` /
``stopStream``).

What the person sees: as soon as the model asks for PagerDuty data, a reply appears in the thread with one
task card per tool call ("Checking who is on call for payments-api", ticked when it is done, marked when it
failed), then the model's answer as it is written; at the end the result sections and any proposal cards
(with their Confirm / Cancel buttons) are attached to the same message, below the text. Slack shows a Stop
button while the answer streams.

How, and within what:

* **Lazy.** A stream starts with the first thing worth showing (a tool step or the model's text). An answer
  that needs neither (an exact command, a greeting, a question back) is posted as one message, as before.
* **Recipients.** Slack requires ``recipient_user_id`` and ``recipient_team_id`` outside DMs: the asker and
  their team (from the event). Without them there is no stream in a channel, only the single post.
* **Throttled.** One background task per stream sends what has accumulated, at most once every
  :data:`EVERY_S` seconds (``appendStream`` is Tier 4; a fast model never means a flood): the model and
  PagerDuty never wait for Slack. Each call gets :data:`CALL_TIMEOUT_S`.
* **Bounded.** At most :data:`MAX_TEXT_CHARS` characters of text in all (Slack takes 12,000 per call; past
  the bound a note says the rest was cut), :data:`MAX_APPENDS` calls, :data:`MAX_TASKS` task cards with
  titles of at most :data:`TITLE_CHARS`, :data:`MAX_STREAMS` streams in flight per process.
* **Safe.** The model's text is made safe exactly as the final answer's markdown block is
  (:func:`~bot.present.kit.prose.markdown_text`: escaped, only PagerDuty links kept), and only up to a
  space outside any ``<…>`` token or ``[label](url)`` link, so no token is ever split across two appends.
  Task titles are our phrases (:mod:`bot.slack.progress`) with the tool's subject stripped of markup.
* **Stop.** Slack sends ``agent_session_stopped`` when the person presses Stop (:func:`register`: the
  stream of that thread in this process is stopped at once), and answers ``stopped_by_user`` (or
  ``message_not_in_streaming_state``) to any later append, which stops it on whichever replica streams it.
  Either way the agent's loop is interrupted (:class:`~bot.agent.loop.Live` ``stop``), nothing more runs,
  no proposal is stored or shown, and the message ends with "Stopped".
* **Fallback.** With ``ALEX_SLACK_STREAM=false``, or when Slack refuses ``chat.startStream`` (any error: a
  workspace without it, or ``channel_type_not_supported``, reported for channels, after which this process
  streams only where it worked), the answer is the single post it always was. If a
  stream breaks halfway (an append or the stop failing), the message is replaced by the whole answer
  (``chat.update``), else posted again. Socket Mode and HTTP mode stream alike (the Web API does not care).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.agent.loop import Live, StepCall
from bot.agent.turn import Turn
from bot.present.kit.escape import clip, one_line
from bot.present.kit.prose import CUT_NOTE, cut, markdown_text
from bot.slack.progress import OTHER_TOOL, TOOL_PHRASES
from bot.slack.render import SlackMessage

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp

    from bot.slack.runtime import SlackRuntime

log = logging.getLogger("bot.slack.streaming")

EVERY_S = 0.4
"""The shortest gap between two Slack calls of one stream."""
CALL_TIMEOUT_S = 5.0
MAX_TEXT_CHARS = 11_000
"""Streamed text in all (Slack: 12,000 characters per ``markdown_text``; room is kept for the cut note)."""
MAX_APPENDS = 120
"""Calls per stream; past it the rest waits for the stop (which carries it)."""
MAX_TASKS = 20
TITLE_CHARS = 120
SUBJECT_CHARS = 48
HOLD_CHARS = 2_000
"""Unsent text with no safe place to cut is held back up to this long, then sent anyway."""
MAX_STREAMS = 500
"""Streams in flight in this process; past it an answer is posted as one message."""
REFUSED_KIND = frozenset({"channel_type_not_supported"})
"""Errors of ``chat.startStream`` meaning no stream of that kind (DM, channel) will work: not tried again."""
STOPPED = frozenset({"stopped_by_user", "message_not_in_streaming_state", "message_not_found"})
"""Errors meaning the stream is over on Slack's side: the person stopped it (or it is gone)."""
SUBJECT_KEYS = ("target", "service", "schedule", "policy", "escalation_policy", "schedules", "incident",
                "incidents", "team", "query")
"""Arguments naming what a tool call is about, in order of preference."""
_MARKUP = re.compile(r"[<>&`*_~|@\[\]]")
_TOKEN = re.compile(r"\[[^\]\n]*\]\([^)\n]*\)|<[^<>]*>")
"""A Markdown link or a Slack ``<…>`` token: never cut inside one."""
_SPACE = re.compile(r"[ \t\n]")

Outcome = Literal["streamed", "stopped", "unstreamed"]
"""What :meth:`Stream.finish` did: the answer is in the stream; the person had stopped it; nothing was
streamed, or the stream could not carry the answer (the caller posts it)."""
State = Literal["new", "live", "unavailable", "broken", "stopped", "done"]


def task_title(name: str, arguments: dict[str, Any] | str) -> str:
    """ "Checking who is on call for payments-api": our phrase for the tool, and what the call is about."""
    phrase = TOOL_PHRASES.get(name, OTHER_TOOL)
    title = phrase[:1].upper() + phrase[1:]
    subject = _subject(arguments)
    return clip(f"{title} for {subject}" if subject else title, TITLE_CHARS)


def _subject(arguments: dict[str, Any] | str) -> str:
    if not isinstance(arguments, dict):
        return ""
    for key in SUBJECT_KEYS:
        value = arguments.get(key)
        names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        shown = [_MARKUP.sub("", one_line(v, SUBJECT_CHARS)).strip() for v in names[:3] if isinstance(v, str)]
        shown = [s for s in shown if s]
        if shown:
            more = len(names) - len(shown)
            return ", ".join(shown) + (f" and {more} more" if more > 0 else "")
    return ""


def safe_length(text: str) -> int:
    """How much of ``text`` can be sent now: up to a whitespace outside any ``<…>`` token or ``[label](url)``
    link, and before one still open at the end (the rest may yet become one); all of a run longer than
    :data:`HOLD_CHARS` that has no such place."""
    limit = len(text)
    opened = text.rfind("<")
    if opened > text.rfind(">"):
        limit = opened
    bracket = text.rfind("[", 0, limit)
    if bracket >= 0:
        rest = text[bracket:limit]
        close = rest.find("]")
        after = rest[close + 1:close + 2] if close >= 0 else ""
        label_ends = close >= 0 or "\n" not in rest  # a label never spans lines
        if label_ends and (close < 0 or (after in ("", "(") and ")" not in rest[close + 1:].split("\n")[0])):
            limit = bracket
    spans = [m.span() for m in _TOKEN.finditer(text, 0, limit)]
    for space in reversed(list(_SPACE.finditer(text, 0, limit))):
        at = space.start()
        if not any(begin < at < end for begin, end in spans):
            return at + 1
    return len(text) if len(text) > HOLD_CHARS else 0


def safe_piece(raw: str) -> str:
    """``raw`` made safe like the final markdown block, keeping the spaces around it (the pieces are joined)."""
    core = markdown_text(raw)
    if not core:
        return "\n" if "\n" in raw else (" " if raw[:1].isspace() else "")
    lead = re.match(r"[ \t\n]*", raw)
    trail = re.search(r"[ \t\n]*$", raw)
    return (lead.group(0) if lead else "") + core + (trail.group(0) if trail else "")


class Stream:
    """One streamed answer; hand :attr:`live` to the agent, then call :meth:`finish` (or :meth:`end_stopped`)."""

    def __init__(self, client: AsyncWebClient, channel: str, thread_ts: str, *, asker: str,
                 team: str | None, every_s: float = EVERY_S, clock: Callable[[], float] = time.monotonic,
                 on_done: Callable[[Stream], None] | None = None,
                 on_refused: Callable[[Stream, str], None] | None = None) -> None:
        self.channel = channel
        self.thread_ts = thread_ts
        self.asker = asker
        self.ts: str | None = None
        """The streamed message's ``ts`` once Slack started it."""
        self.state: State = "new"
        self.stop = asyncio.Event()
        self.live = Live(on_tools=self._tools, on_text=self._text, stop=self.stop)
        self._client = client
        self._recipient = {"recipient_user_id": asker, "recipient_team_id": team} if asker and team else {}
        self._every_s = every_s
        self._clock = clock
        self._on_done = on_done
        self._on_refused = on_refused
        self._queue: list[dict[str, Any] | str] = []
        """What waits to be sent, in order: raw text (str) and task chunks."""
        self._heard = ""
        self._sent_chars = 0
        self._cut = False
        self._calls = 0
        self._last_call: float | None = None
        self._tasks: dict[str, tuple[str, str]] = {}
        self._task_count = 0
        self._wake = asyncio.Event()
        self._closing = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None

    # -- what the agent tells ----------------------------------------------------------------------
    @property
    def stopped(self) -> bool:
        return self.stop.is_set()

    @property
    def failed(self) -> bool:
        """Slack refused the stream (or it broke): the thread's status shows progress instead."""
        return self.state in ("unavailable", "broken")

    async def _text(self, piece: str) -> None:
        if not piece or self._cut or self.state not in ("new", "live") or len(self._heard) > 2 * MAX_TEXT_CHARS:
            return
        self._heard += piece
        last = self._queue[-1] if self._queue else None
        if isinstance(last, str):
            self._queue[-1] = last + piece
        else:
            self._queue.append(piece)
        self._kick()

    async def _tools(self, calls: list[StepCall]) -> None:
        if self.state not in ("new", "live"):
            return
        for call in calls:
            chunk = self._task(call)
            if chunk is not None:
                self._queue.append(chunk)
        self._kick()

    def _task(self, call: StepCall) -> dict[str, Any] | None:
        if call.status is None:
            if self._task_count >= MAX_TASKS:
                return None
            self._task_count += 1
            self._tasks[call.id] = (f"task_{self._task_count}", task_title(call.name, call.arguments))
        known = self._tasks.get(call.id)
        if known is None:
            return None
        status = "in_progress" if call.status is None else "error" if call.status == "error" else "complete"
        return {"type": "task_update", "id": known[0], "title": known[1], "status": status}

    def carried(self, turn: Turn) -> bool:
        """Whether the streamed text already shows ``turn``'s reply (else the final blocks must carry it)."""
        reply = turn.reply.strip()
        will_cut = self._cut or len(self._heard) > MAX_TEXT_CHARS
        return turn.mode == "llm" and bool(reply) and (will_cut or self._heard.strip().endswith(reply))

    # -- sending ------------------------------------------------------------------------------------
    def _kick(self) -> None:
        if self._pump is None:
            self._pump = asyncio.ensure_future(self._run())
        self._wake.set()

    async def _run(self) -> None:
        try:
            while self.state in ("new", "live") and not self._closing.is_set() and not self.stopped:
                await self._wake.wait()
                self._wake.clear()
                if self._last_call is not None:
                    gap = self._last_call + self._every_s - self._clock()
                    if gap > 0 and await self._closed_within(gap):
                        return
                if self._closing.is_set() or self.stopped or self._calls >= MAX_APPENDS:
                    return
                chunks = self._take(final=False)
                if chunks:
                    await self._send(chunks)
        except Exception as exc:  # the answer matters more than the stream
            log.warning("streaming failed (%s): the answer is posted whole", type(exc).__name__)
            self.state = "broken"

    async def _closed_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._closing.wait(), seconds)
        except TimeoutError:
            return False
        return True

    def _take(self, *, final: bool) -> list[dict[str, Any]]:
        """The chunks to send now; unsafe trailing text stays queued unless ``final``."""
        queue, self._queue = self._queue, []
        chunks: list[dict[str, Any]] = []
        for index, item in enumerate(queue):
            if isinstance(item, dict):
                chunks.append(item)
                continue
            if index == len(queue) - 1 and not final:
                keep = safe_length(item)
                item, rest = item[:keep], item[keep:]
                if rest:
                    self._queue.append(rest)
            text = self._bounded(safe_piece(item)) if item else ""
            if text:
                chunks.append({"type": "markdown_text", "text": text})
        return chunks

    def _bounded(self, text: str) -> str:
        if self._cut:
            return ""
        room = MAX_TEXT_CHARS - self._sent_chars
        if len(text) > room:
            text = "\n\n" + CUT_NOTE if room < len(CUT_NOTE) + 40 else cut(text, room, CUT_NOTE)
            self._cut = True
        self._sent_chars += len(text)
        return text

    async def _send(self, chunks: list[dict[str, Any]]) -> None:
        self._calls += 1
        self._last_call = self._clock()
        if self.ts is None:
            try:
                answer = await asyncio.wait_for(self._client.chat_startStream(
                    channel=self.channel, thread_ts=self.thread_ts, chunks=chunks, task_display_mode="timeline",
                    **self._recipient), CALL_TIMEOUT_S)
            except (SlackApiError, TimeoutError) as exc:
                log.info("chat.startStream refused (%s): the answer is posted as one message", _error(exc))
                self.state = "unavailable"
                if self._on_refused is not None:
                    self._on_refused(self, _error(exc))
                return
            ts = answer.get("ts")
            if not ts:
                self.state = "unavailable"
                return
            self.ts, self.state = str(ts), "live"
            return
        try:
            await asyncio.wait_for(self._client.chat_appendStream(channel=self.channel, ts=self.ts, chunks=chunks),
                                   CALL_TIMEOUT_S)
        except (SlackApiError, TimeoutError) as exc:
            self._failed("chat.appendStream", exc)

    def _failed(self, method: str, exc: Exception) -> None:
        if _error(exc) in STOPPED:
            log.info("%s: the stream was stopped on Slack's side (%s)", method, _error(exc))
            self.state = "stopped"
            self.stop.set()
        else:
            log.warning("%s failed (%s): the answer will replace the stream", method, _error(exc))
            self.state = "broken"

    async def _close_pump(self) -> None:
        self._closing.set()
        self._wake.set()
        if self._pump is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._pump), CALL_TIMEOUT_S + self._every_s)
            except TimeoutError:
                self._pump.cancel()
                self.state = "broken" if self.state == "live" else self.state

    # -- the end ------------------------------------------------------------------------------------
    async def finish(self, final: SlackMessage, whole: SlackMessage) -> Outcome:
        """End the stream with ``final``'s blocks attached (the prose already streamed); should the stream
        not carry it, replace the message with ``whole`` (the answer as one message)."""
        try:
            await self._close_pump()
            if self.stopped:
                return "stopped"
            if self.state in ("new", "unavailable") or self.ts is None:
                return "unstreamed"
            if self.state == "live":
                try:
                    await asyncio.wait_for(self._client.chat_stopStream(
                        channel=self.channel, ts=self.ts, chunks=self._take(final=True) or None,
                        blocks=final.blocks or None), CALL_TIMEOUT_S)
                    self.state = "done"
                    return "streamed"
                except (SlackApiError, TimeoutError) as exc:
                    self._failed("chat.stopStream", exc)
                    if self.stopped:
                        return "stopped"
            return await self._replace(whole)
        finally:
            self._done()

    async def _replace(self, whole: SlackMessage) -> Outcome:
        """A broken stream: end it (quietly) and put the whole answer in its place, else have it posted."""
        assert self.ts is not None
        try:
            await asyncio.wait_for(self._client.chat_stopStream(channel=self.channel, ts=self.ts), CALL_TIMEOUT_S)
        except (SlackApiError, TimeoutError) as exc:
            log.info("chat.stopStream after a failure: %s", _error(exc))
        try:
            await asyncio.wait_for(self._client.chat_update(channel=self.channel, ts=self.ts, text=whole.text,
                                                            blocks=whole.blocks), CALL_TIMEOUT_S)
        except (SlackApiError, TimeoutError) as exc:
            log.warning("chat.update of a broken stream failed (%s): posting the answer", _error(exc))
            return "unstreamed"
        self.state = "done"
        return "streamed"

    async def end_stopped(self, notice: SlackMessage) -> bool:
        """The person stopped it: end the stream with ``notice`` (Slack leaves the session "processing" until
        the app stops the stream). False when there was no stream to end, or Slack refused: post it."""
        try:
            await self._close_pump()
            if self.ts is None:
                return False
            try:
                await asyncio.wait_for(self._client.chat_stopStream(channel=self.channel, ts=self.ts,
                                                                    blocks=notice.blocks), CALL_TIMEOUT_S)
            except (SlackApiError, TimeoutError) as exc:
                log.info("chat.stopStream after Stop: %s", _error(exc))
                return False
            return True
        finally:
            self.state = "done"
            self._done()

    def discard(self) -> None:
        """Forget the stream without ending it (the caller failed before :meth:`finish`)."""
        if self._pump is not None and not self._pump.done():
            self._pump.cancel()
        self._done()

    def _done(self) -> None:
        if self._on_done is not None:
            self._on_done(self)
            self._on_done = None


@dataclass
class Streaming:
    """Whether answers stream (``ALEX_SLACK_STREAM``), and the streams in flight in this process (for Stop)."""

    enabled: bool = False
    """Off unless set: ``alex serve`` sets it from ALEX_SLACK_STREAM (default on)."""
    every_s: float = EVERY_S
    _active: dict[tuple[str, str], list[Stream]] = field(default_factory=dict)
    _refused: set[str] = field(default_factory=set)
    """``"dm"`` / ``"channel"``: where Slack said streams are not supported (not tried again by this process)."""

    def open(self, client: AsyncWebClient, channel: str, thread_ts: str, *, asker: str, team: str | None,
             dm: bool) -> Stream | None:
        """A stream for an answer in ``channel``'s thread, or None: streaming is off, there are too many,
        or Slack would refuse it (no recipient outside a DM)."""
        if not self.enabled or not asker or (not dm and not team) or _kind(dm) in self._refused:
            return None
        if sum(len(streams) for streams in self._active.values()) >= MAX_STREAMS:
            log.warning("too many streams in flight: answering with one message")
            return None
        stream = Stream(client, channel, thread_ts, asker=asker, team=team, every_s=self.every_s,
                        on_done=self._forget, on_refused=lambda _, error: self._refuse(_kind(dm), error))
        self._active.setdefault((channel, thread_ts), []).append(stream)
        return stream

    def stop(self, channel: str, thread_ts: str | None, *, user: str, streaming_ts: list[str]) -> int:
        """The person pressed Stop in ``channel``'s thread: stop their streams there. How many were stopped."""
        streams = [s for key, found in self._active.items() if key[0] == channel for s in found
                   if s.thread_ts == thread_ts or (s.ts is not None and s.ts in streaming_ts)]
        stopped = 0
        for stream in streams:
            if stream.asker != user:
                log.info("Stop from someone other than the asker: ignored")
                continue
            stream.stop.set()
            stopped += 1
        return stopped

    def _refuse(self, kind: str, error: str) -> None:
        if error in REFUSED_KIND and kind not in self._refused:
            log.warning("Slack does not stream answers in %ss here (%s): they are posted as one message", kind, error)
            self._refused.add(kind)

    def _forget(self, stream: Stream) -> None:
        key = (stream.channel, stream.thread_ts)
        streams = [s for s in self._active.get(key, []) if s is not stream]
        if streams:
            self._active[key] = streams
        else:
            self._active.pop(key, None)

    @property
    def in_flight(self) -> int:
        return sum(len(streams) for streams in self._active.values())


def register(app: AsyncApp, rt: SlackRuntime) -> None:
    """The Stop button: ``agent_session_stopped`` stops that thread's answer (when this process streams it;
    another replica notices on its next append)."""

    @app.event("agent_session_stopped")
    async def on_stopped(event: dict[str, Any]) -> None:
        raw = event.get("streaming_message_ts")
        streaming_ts = [str(ts) for ts in raw[:20]] if isinstance(raw, list) else []
        thread_ts = event.get("thread_ts")
        stopped = rt.streaming.stop(str(event.get("channel") or ""), str(thread_ts) if thread_ts else None,
                                    user=str(event.get("user") or ""), streaming_ts=streaming_ts)
        log.info("Stop pressed: %d answer(s) stopped in this process", stopped)


def _kind(dm: bool) -> str:
    return "dm" if dm else "channel"


def _error(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error"))
    return type(exc).__name__
