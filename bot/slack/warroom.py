"""War rooms: a channel or thread tied to one incident, where "ack this" means that incident.

A message is in a war room when

* its channel's name matches ``ALEX_WARROOM_PATTERN`` (default ``^inc-(\\d+)``: ``#inc-4521-db-latency``
  is incident 4521; the first group is the incident), or
* it is in a thread whose parent message mentions an incident: ``#4521``, ``incident 4521``,
  ``INC-4521`` or a PagerDuty incident link (the usual shape of PagerDuty's own Slack notifications,
  or of a first "@alex incident 4521").

There, "ack this" / "resolve it" / "add a note: …" are rewritten to the exact commands
``ack 4521`` / ``resolve 4521`` / ``note 4521 …`` (they run at once, as the person, within their
PagerDuty role), and the model is told the incident through :class:`~bot.agent.prompt.ChannelInfo`.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.agent.commands import parse_command
from bot.agent.prompt import DM, ChannelInfo

log = logging.getLogger("bot.slack.warroom")

DEFAULT_PATTERN = r"^inc-(\d+)"
CACHE_TTL_S = 600.0
CHANNEL = ChannelInfo("channel")

_NUMBER_REFS = (
    re.compile(r"(?<![\w&])#(\d{1,10})\b"),
    re.compile(r"\bincident\s*(?:number\s*)?#?\s*(\d{1,10})\b", re.IGNORECASE),
    re.compile(r"\binc-?(\d{1,10})\b", re.IGNORECASE),
)
_LINK_REF = re.compile(r"https://[\w.-]*pagerduty\.com/incidents/([A-Za-z0-9]{5,20})\b")

_THIS = r"(?:this\s+(?:one|incident)|the\s+incident|this|it)"
_PLEASE = r"(?:(?:please|pls)\s+)?"
_DASH = ":,\u2013\u2014-"
_ACK = re.compile(rf"{_PLEASE}(?:ack|acknowledge)(?:\s+{_THIS})?(?:\s+please)?[\s.!]*", re.IGNORECASE)
_RESOLVE = re.compile(rf"{_PLEASE}resolve(?:\s+{_THIS})?(?:\s+please)?[\s.!]*", re.IGNORECASE)
_RESOLVE_WITH = re.compile(rf"{_PLEASE}resolve\s+{_THIS}\s*(?:[{_DASH}]|with\s+(?:a\s+)?(?:resolution\s+)?note\s*:?)"
                           rf"\s*(?P<note>\S.*)", re.IGNORECASE | re.DOTALL)
_NOTE = re.compile(rf"{_PLEASE}(?:add\s+(?:a\s+)?note(?:\s+(?:to|on)\s+{_THIS})?\s*[{_DASH}]?"
                   rf"|note(?:\s+(?:to|on)\s+{_THIS})?\s*[{_DASH}])\s*(?P<text>\S.*)", re.IGNORECASE | re.DOTALL)


def incident_in(text: str) -> str | None:
    """The first incident ``text`` refers to: a number ("4521"), else a PagerDuty incident ID."""
    for pattern in _NUMBER_REFS:
        if match := pattern.search(text):
            return match.group(1)
    if match := _LINK_REF.search(text):
        return match.group(1)
    return None


def rewrite_for_war_room(text: str, channel: ChannelInfo) -> str:
    """``ack this`` → ``ack 4521`` (and resolve / note) in a numbered war room; anything else unchanged."""
    incident = str(channel.incident) if channel.incident is not None else ""
    said = text.strip()
    if channel.kind != "war_room" or not incident.isdigit() or parse_command(said) is not None:
        return text
    if _ACK.fullmatch(said):
        return f"ack {incident}"
    if _RESOLVE.fullmatch(said):
        return f"resolve {incident}"
    if resolve := _RESOLVE_WITH.fullmatch(said):
        return f"resolve {incident} {resolve.group('note').strip()}"
    if note := _NOTE.fullmatch(said):
        return f"note {incident} {note.group('text').strip()}"
    return text


class WarRooms:
    """Tells a DM, a channel and a war room apart (channel names and thread parents are cached)."""

    def __init__(self, slack: AsyncWebClient, pattern: str | re.Pattern[str] = DEFAULT_PATTERN, *,
                 ttl_s: float = CACHE_TTL_S, clock: Callable[[], float] = time.monotonic) -> None:
        self._slack = slack
        self._pattern = re.compile(pattern) if isinstance(pattern, str) else pattern
        self._ttl_s = ttl_s
        self._clock = clock
        self._names: dict[str, tuple[float, str | None]] = {}
        self._threads: dict[tuple[str, str], tuple[float, str | None]] = {}

    async def channel_info(self, channel: str, *, channel_type: str | None = None,
                           thread_ts: str | None = None) -> ChannelInfo:
        """Where a message in ``channel`` (inside the thread ``thread_ts``, if any) was written."""
        if channel_type == "im" or channel.startswith("D"):
            return DM
        name = await self.channel_name(channel)
        if name is not None and (match := self._pattern.search(name)):
            incident = next((g for g in match.groups() if g), None) or incident_in(name)
            if incident:
                return ChannelInfo("war_room", _as_number(incident))
        if thread_ts is not None:
            incident = await self.thread_incident(channel, thread_ts)
            if incident is not None:
                return ChannelInfo("war_room", _as_number(incident))
        return CHANNEL

    async def channel_name(self, channel: str) -> str | None:
        cached = self._names.get(channel)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        name: str | None = None
        try:
            response = await self._slack.conversations_info(channel=channel)
            info = response.get("channel")
            name = info.get("name") if isinstance(info, dict) else None
        except SlackApiError as exc:  # not_in_channel, missing_scope...: an ordinary channel
            log.warning("conversations.info failed for %s: %s", channel, exc.response.get("error"))
        self._names[channel] = (self._clock() + self._ttl_s, name)
        return name

    async def thread_incident(self, channel: str, thread_ts: str) -> str | None:
        """The incident the thread's parent message mentions, if any."""
        key = (channel, thread_ts)
        cached = self._threads.get(key)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        incident: str | None = None
        try:
            response = await self._slack.conversations_replies(channel=channel, ts=thread_ts, limit=1, inclusive=True)
            messages = response.get("messages") or []
            if messages and isinstance(messages[0], dict):
                incident = incident_in(_message_text(messages[0]))
        except SlackApiError as exc:
            log.warning("conversations.replies failed for %s: %s", channel, exc.response.get("error"))
        self._threads[key] = (self._clock() + self._ttl_s, incident)
        return incident


def _message_text(message: dict[str, Any]) -> str:
    """The parent's text, with its attachments' texts (PagerDuty's notifications use attachments)."""
    parts = [str(message.get("text") or "")]
    for attachment in message.get("attachments") or []:
        if isinstance(attachment, dict):
            parts += [str(attachment.get(k) or "") for k in ("pretext", "title", "title_link", "text", "fallback")]
    return "\n".join(p for p in parts if p)


def _as_number(incident: str) -> str | int:
    return int(incident) if incident.isdigit() else incident
