"""War rooms: a channel or thread tied to one incident, where "ack this" means that incident.

A message is in a war room when

* its channel's name matches ``ALEX_WARROOM_PATTERN`` (default ``^inc-(\\d+)``: ``#inc-4521-db-latency``
  is incident 4521; the first group is the incident), or
* it is in a thread whose parent message names one incident. References are weighed, most certain
  first: a PagerDuty incident link (the shape of PagerDuty's own Slack notifications), then
  "incident 4521" / "INC-4521", then a bare ``#4521``; within the most certain kind present, the parent
  must name exactly one incident. A parent naming two ("incident 1252 and incident 1200") makes the
  thread ambiguous: "resolve it" there gets a question, never a guess.

There, a deictic write ("ack this", "resolve it: rolled back", "add a note: …") becomes the command
``ack 4521`` / ``resolve 4521 rolled back`` / ``note 4521 …`` **as a proposal**: a card with a Confirm
button, because "it" is alex's reading of the thread, not the person's words. Only a fully explicit
typed command ("resolve 4521") runs at once. The model is told the incident through
:class:`~bot.agent.prompt.ChannelInfo`.

A channel that gets one service's incident notifications (:mod:`bot.notify.routes`) has it as its default:
``ChannelInfo.service`` (or ``.team``) tells the model, and a typed on-call or incidents command that names
nothing ("who's on call?", "oncall next week", "incidents") becomes that service's ("oncall payments-api").
"""

from __future__ import annotations

import dataclasses
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.agent.commands import parse_command
from bot.agent.commands.models import IncidentsCommand, OncallCommand
from bot.agent.prompt import DM, ChannelInfo

log = logging.getLogger("bot.slack.warroom")

DEFAULT_PATTERN = r"^inc-(\d+)"
CACHE_TTL_S = 600.0
CHANNEL = ChannelInfo("channel")

_LINK_REF = re.compile(r"https://[\w.-]*pagerduty\.com/incidents/([A-Za-z0-9]{5,20})\b")
_NAMED_REF = re.compile(r"\bincident\s*(?:number\s*)?#?\s*(\d{1,10})\b|\binc-?(\d{1,10})\b", re.IGNORECASE)
_HASH_REF = re.compile(r"(?<![\w&])#(\d{1,10})\b")
_REFERENCE_KINDS = (_LINK_REF, _NAMED_REF, _HASH_REF)
"""Most certain first: a runbook's "step #1200" never outweighs "incident 1252"."""

_THIS = r"(?:this\s+(?:one|incident)|the\s+incident|this|it)"
_PLEASE = r"(?:(?:please|pls)\s+)?"
_DASH = ":,\u2013\u2014-"
_ACK = re.compile(rf"{_PLEASE}(?:ack|acknowledge)(?:\s+{_THIS})?(?:\s+please)?[\s.!]*", re.IGNORECASE)
_RESOLVE = re.compile(rf"{_PLEASE}resolve(?:\s+{_THIS})?(?:\s+please)?[\s.!]*", re.IGNORECASE)
_RESOLVE_WITH = re.compile(rf"{_PLEASE}resolve\s+{_THIS}\s*(?:[{_DASH}]|with\s+(?:a\s+)?(?:resolution\s+)?note\s*:?)"
                           rf"\s*(?P<note>\S.*)", re.IGNORECASE | re.DOTALL)
_NOTE = re.compile(rf"{_PLEASE}(?:add\s+(?:a\s+)?note(?:\s+(?:to|on)\s+{_THIS})?\s*[{_DASH}]?"
                   rf"|note(?:\s+(?:to|on)\s+{_THIS})?\s*[{_DASH}])\s*(?P<text>\S.*)", re.IGNORECASE | re.DOTALL)


def incidents_in(text: str) -> tuple[str, ...]:
    """The incidents ``text`` names, in reading order, from the most certain kind of reference it has."""
    for pattern in _REFERENCE_KINDS:
        found = [next(g for g in match.groups() if g) for match in pattern.finditer(text)]
        if found:
            return tuple(dict.fromkeys(found))
    return ()


def incident_in(text: str) -> str | None:
    """The one incident ``text`` refers to (a number, else a PagerDuty incident ID); None if none or several."""
    found = incidents_in(text)
    return found[0] if len(found) == 1 else None


@dataclass(frozen=True, slots=True)
class WarRoomRequest:
    """What to do with a message written in a war room (or an ambiguous thread)."""

    text: str
    """What the agent is asked (a deictic write rewritten to its exact command)."""
    propose: bool = False
    """A deictic write: prepared as a proposal with a Confirm card, never run at once."""
    question: str | None = None
    """Asked back instead of answering: "it" could mean several incidents."""


def understand(text: str, channel: ChannelInfo) -> WarRoomRequest:
    """``resolve it`` → a ``resolve 4521`` proposal in a numbered war room; a question where "it" is
    ambiguous; anything else (explicit commands included) unchanged."""
    said = text.strip()
    if (routed := _with_default(said, channel)) is not None:
        return WarRoomRequest(routed)
    if channel.kind == "dm" or parse_command(said) is not None:
        return WarRoomRequest(text)
    command = _deictic_command(said)
    if command is None:
        return WarRoomRequest(text)
    if channel.candidates:
        named = " and ".join(f"#{c}" for c in channel.candidates[:5])
        example = f"`{command.format(incident=channel.candidates[0])}`".replace("  ", " ")
        return WarRoomRequest(text, question=f"This thread mentions {named}: which incident do you mean? "
                                             f"Say it with the number, e.g. {example}.")
    incident = str(channel.incident) if channel.incident is not None else ""
    if channel.kind != "war_room" or not incident.isdigit():
        return WarRoomRequest(text)
    return WarRoomRequest(command.format(incident=incident).strip(), propose=True)


def _with_default(said: str, channel: ChannelInfo) -> str | None:
    """``oncall`` / "who's on call this week?" / ``incidents`` naming nothing, in a channel with a default
    service (or team, for on-call): the same command for it; None otherwise."""
    name = channel.service or channel.team
    command = parse_command(said) if name and channel.kind != "dm" else None
    if command is None or name is None:
        return None
    args = command.args
    if isinstance(args, OncallCommand) and args.target is None:
        text = f"oncall {name}" + (f" {args.window}" if args.window else "")
        wanted: object = OncallCommand(target=name, window=args.window)
    elif isinstance(args, IncidentsCommand) and args.service is None and not args.mine and channel.service:
        text, wanted = f"incidents {channel.service}", IncidentsCommand(mine=False, service=channel.service)
    else:
        return None
    parsed = parse_command(text)
    return text if parsed is not None and parsed.args == wanted else None


def _deictic_command(said: str) -> str | None:
    """The command template ("resolve {incident} rolled back") a deictic write stands for, or None."""
    if _ACK.fullmatch(said):
        return "ack {incident}"
    if _RESOLVE.fullmatch(said):
        return "resolve {incident}"
    if resolve := _RESOLVE_WITH.fullmatch(said):
        return "resolve {incident} " + _braces(resolve.group("note").strip())
    if note := _NOTE.fullmatch(said):
        return "note {incident} " + _braces(note.group("text").strip())
    return None


def _braces(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


ChannelDefault = Callable[[str], Awaitable[tuple[str, str] | None]]
"""A channel's default target: ``("service", "payments-api")``, ``("team", "Platform")`` or None."""


class WarRooms:
    """Tells a DM, a channel and a war room apart (channel names and thread parents are cached)."""

    def __init__(self, slack: AsyncWebClient, pattern: str | re.Pattern[str] = DEFAULT_PATTERN, *,
                 ttl_s: float = CACHE_TTL_S, clock: Callable[[], float] = time.monotonic,
                 defaults: ChannelDefault | None = None) -> None:
        """``defaults``: each channel's default service or team (the notification routes), if any."""
        self._slack = slack
        self.defaults = defaults
        self._pattern = re.compile(pattern) if isinstance(pattern, str) else pattern
        self._ttl_s = ttl_s
        self._clock = clock
        self._names: dict[str, tuple[float, str | None]] = {}
        self._threads: dict[tuple[str, str], tuple[float, tuple[str, ...]]] = {}

    async def channel_info(self, channel: str, *, channel_type: str | None = None,
                           thread_ts: str | None = None) -> ChannelInfo:
        """Where a message in ``channel`` (inside the thread ``thread_ts``, if any) was written."""
        if channel_type == "im" or channel.startswith("D"):
            return DM
        found = await self._where(channel, thread_ts)
        default = await self._default(channel)
        if default is None:
            return found
        kind, target = default
        return dataclasses.replace(found, service=target) if kind == "service" else dataclasses.replace(
            found, team=target)

    async def _where(self, channel: str, thread_ts: str | None) -> ChannelInfo:
        name = await self.channel_name(channel)
        if name is not None and (match := self._pattern.search(name)):
            incident = next((g for g in match.groups() if g), None) or incident_in(name)
            if incident:
                return ChannelInfo("war_room", _as_number(incident))
        if thread_ts is not None:
            named = await self.thread_incidents(channel, thread_ts)
            if len(named) == 1:
                return ChannelInfo("war_room", _as_number(named[0]))
            if named:
                return ChannelInfo("channel", candidates=tuple(_as_number(n) for n in named))
        return CHANNEL

    async def _default(self, channel: str) -> tuple[str, str] | None:
        if self.defaults is None:
            return None
        try:
            return await self.defaults(channel)
        except Exception as exc:  # the answer matters more than its default
            log.warning("the default service of %s could not be read (%s)", channel, type(exc).__name__)
            return None

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

    async def thread_incidents(self, channel: str, thread_ts: str) -> tuple[str, ...]:
        """The incidents the thread's parent message names (:func:`incidents_in`), if any."""
        key = (channel, thread_ts)
        cached = self._threads.get(key)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        named: tuple[str, ...] = ()
        try:
            response = await self._slack.conversations_replies(channel=channel, ts=thread_ts, limit=1, inclusive=True)
            messages = response.get("messages") or []
            if messages and isinstance(messages[0], dict):
                named = incidents_in(_message_text(messages[0]))
        except SlackApiError as exc:
            log.warning("conversations.replies failed for %s: %s", channel, exc.response.get("error"))
        self._threads[key] = (self._clock() + self._ttl_s, named)
        return named


def _message_text(message: dict[str, Any]) -> str:
    """The parent's text, with its attachments' texts (PagerDuty's notifications use attachments)."""
    parts = [str(message.get("text") or "")]
    for attachment in message.get("attachments") or []:
        if isinstance(attachment, dict):
            parts += [str(attachment.get(k) or "") for k in ("pretext", "title", "title_link", "text", "fallback")]
    return "\n".join(p for p in parts if p)


def _as_number(incident: str) -> str | int:
    return int(incident) if incident.isdigit() else incident
