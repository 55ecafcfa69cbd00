"""The notification commands, typed in a channel (exact commands, read by code, no LLM):

* ``@alex notify this channel about payments-api`` (or ``… about team Platform``, ``… about everything``),
  optionally ``high urgency`` and priorities (``P1``, ``P1 or P2``): the channel gets that service's (team's)
  incident cards from now on. The target must be one the person can see in PagerDuty (looked up as them);
* ``@alex notifications``: what this channel gets, from ``ALEX_NOTIFY_ROUTES`` and from Slack, and its
  default service (a question here that names none is about it);
* ``@alex stop notifications for payments-api`` (``stop notifications`` alone: all those set from Slack);
* ``@alex post times in Europe/Berlin``: the zone of this channel's scheduled posts (:mod:`bot.notify.scheduled`:
  the weekly ones go out at ``ALEX_SCHEDULED_AT`` there); ``post times in default`` goes back to
  ``ALEX_SCHEDULED_TIMEZONE``.

Routes set from Slack are kept in the state store (:mod:`bot.store.notify`) and shared by every replica;
those of ``ALEX_NOTIFY_ROUTES`` can only be changed there. Setting one needs a PagerDuty account; anyone in
the channel (Slack only sends alex mentions from its members) may list or remove them.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any, Literal

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.analysis.due import parse_zone
from bot.notify.routes import MAX_TARGET_CHARS, Route, RouteError, Routing, Urgency, parse_priorities
from bot.pagerduty.errors import PagerDutyError
from bot.pagerduty.scope import TEAM_SCOPED_ROLES
from bot.present.kit.blocks import section
from bot.present.kit.escape import untrusted
from bot.slack.identity import Identity
from bot.slack.render import SlackMessage
from bot.slack.runtime import SlackRuntime
from bot.store.notify import MAX_CHANNEL_ROUTES, StoredRoute

log = logging.getLogger("bot.slack.notify_commands")

_END = r"[\s.!?]*"
_HERE = r"(?:this\s+channel|this\s+room|here|us)"
_ABOUT = r"(?:about|of|for|on)"
_NOTIFY = re.compile(rf"(?:please\s+)?notify\s+{_HERE}\s+{_ABOUT}\s+(?P<rest>\S.*?){_END}", re.IGNORECASE)
_LIST = re.compile(rf"(?:(?:list|show)\s+)?(?:the\s+)?notifications(?:\s+(?:here|in\s+this\s+channel))?{_END}",
                   re.IGNORECASE)
_STOP = re.compile(rf"(?:please\s+)?(?:stop|remove|cancel)\s+(?:(?:all\s+)?notifications|notifying\s+{_HERE})"
                   rf"(?:\s+(?:here|in\s+this\s+channel))?(?:\s+{_ABOUT}\s+(?P<rest>\S.*?))?{_END}", re.IGNORECASE)
_URGENCY = re.compile(r"(?:,?\s*(?:with|at|only|for)?\s*(?:(?P<a>high|any|all|low)[\s-]+urgenc(?:y|ies)"
                      r"|urgency\s+(?P<b>high|any|low)))\s*$", re.IGNORECASE)
_PRIORITIES = re.compile(r"(?:,?\s*(?:with|at|only|for)?\s*(?:priorit(?:y|ies)\s+(?P<named>[\w.-]+(?:\s*(?:,|/|\bor\b"
                         r"|\band\b)\s*[\w.-]+)*)|(?P<bare>P\d(?:\s*(?:,|/|\bor\b|\band\b)\s*P\d)*)))\s*$",
                         re.IGNORECASE)
_ZONE = re.compile(rf"(?:please\s+)?(?:set\s+)?(?:the\s+)?(?:post(?:ing)?\s+times?|scheduled\s+posts?|time\s*zone)"
                   rf"(?:\s+(?:here|for\s+this\s+channel))?\s+(?:in|to|=)\s+(?P<zone>[A-Za-z][\w+\-/]*){_END}",
                   re.IGNORECASE)
_SPLIT = re.compile(r"\s*(?:,|/|\bor\b|\band\b)\s*", re.IGNORECASE)
_EVERYTHING = frozenset({"everything", "all incidents", "every incident", "all services", "all"})
_MENTION = re.compile(r"<[@#!][^>]*>")
NO_SECRETS = ("alex receives no PagerDuty webhooks yet (ALEX_PAGERDUTY_WEBHOOK_SECRETS is unset): the route is "
              "kept, and cards come once an admin sets up the webhook (README, \"Incident notifications\").")


@dataclass(frozen=True, slots=True)
class Wanted:
    """What ``notify this channel about …`` asked for."""

    kind: Literal["service", "team", "all"]
    target: str
    urgency: Urgency | None
    priorities: frozenset[str]


def read_request(rest: str) -> Wanted | str:
    """The target and filters of ``rest`` (``payments-api high urgency P1``); a sentence saying what is
    wrong when it cannot be read."""
    text = " ".join(rest.split())
    urgency: Urgency | None = None
    priorities: frozenset[str] = frozenset()
    for _ in range(2):  # the two filters, in either order
        if (found := _URGENCY.search(text)) is not None:
            urgency = "high" if (found.group("a") or found.group("b") or "").lower() == "high" else None
            text = text[:found.start()].strip()
        elif (found := _PRIORITIES.search(text)) is not None and found.start() > 0:
            names = found.group("named") or found.group("bare") or ""
            try:
                priorities = parse_priorities(_SPLIT.split(names))
            except RouteError as exc:
                return str(exc)
            text = text[:found.start()].strip()
    text = text.removeprefix("the ").strip() if text.lower().startswith("the ") else text
    if text.lower() in _EVERYTHING:
        return Wanted("all", "everything", urgency, priorities)
    kind: Literal["service", "team"] = "service"
    lowered = text.lower()
    if lowered.startswith(("team:", "team ")):
        kind, text = "team", text[5:].strip()
    elif lowered.endswith(" team"):
        kind, text = "team", text[:-5].strip()
    elif lowered.startswith(("service:", "service ")):
        text = text[8:].strip()
    elif lowered.endswith(" service"):
        text = text[:-8].strip()
    if not text or len(text) > MAX_TARGET_CHARS or len(text.split()) > 6 or any(c in text for c in "<>=\n"):
        return ("Say which service or team, e.g. `@alex notify this channel about payments-api`, "
                "`… about team Platform high urgency` or `… about payments-api P1 or P2`.")
    return Wanted(kind, text, urgency, priorities)


async def answer(rt: SlackRuntime, client: AsyncWebClient, event: dict[str, Any], text: str,
                 identity: Identity) -> bool:
    """Answer ``text`` when it is a notification command (True); False for anything else."""
    said = _MENTION.sub(" ", text).strip()
    notify, listing, stop = _NOTIFY.fullmatch(said), _LIST.fullmatch(said), _STOP.fullmatch(said)
    zone = _ZONE.fullmatch(said)
    if notify is None and listing is None and stop is None and zone is None:
        return False
    channel = str(event["channel"])
    thread_ts = str(event.get("thread_ts") or event["ts"])
    if channel.startswith("D") or event.get("channel_type") in ("im", "mpim"):
        reply = "Notifications go to channels: ask me in the channel that should get the incident cards."
    elif rt.notify is None:
        reply = "Incident notifications are not set up in this alex (see README, \"Incident notifications\")."
    elif notify is not None:
        reply = await _add(rt, rt.notify, channel, identity, notify.group("rest"))
    elif stop is not None:
        reply = await _remove(rt.notify, channel, stop.group("rest"))
    elif zone is not None:
        reply = await _set_zone(rt.notify, channel, zone.group("zone"))
    else:
        reply = await _list(rt.notify, channel)
    await _post(client, channel, thread_ts, reply)
    return True


async def _add(rt: SlackRuntime, routing: Routing, channel: str, identity: Identity, rest: str) -> str:
    wanted = read_request(rest)
    if isinstance(wanted, str):
        return wanted
    if not identity.mapped:
        return "Setting notifications needs a PagerDuty account (the same e-mail as in Slack)."
    if wanted.kind == "all":
        if identity.asker.role in TEAM_SCOPED_ROLES:
            return "Your PagerDuty role sees only your teams' incidents: name one of your services or teams instead."
        name = "everything"
    else:
        found = await _look_up(rt, identity, wanted.kind, wanted.target)
        if found is None or found.startswith("!"):
            return found[1:] if found else (
                f"I can't find a {wanted.kind} called “{untrusted(wanted.target, 100)}” in PagerDuty (at least not "
                f"one you can see). Check the name with `services`, or use its PagerDuty ID.")
        name = found
    route = Route(wanted.kind, name, channel, wanted.urgency, wanted.priorities, "slack", identity.slack_user_id)
    stored = StoredRoute(channel, route.key, route.spec, identity.slack_user_id, _now(rt))
    if not await routing.store.add_route(stored):
        return (f"This channel has {MAX_CHANNEL_ROUTES} notification routes already (or alex holds as many as it "
                "keeps): remove one first with `stop notifications for &lt;name&gt;`.")
    routing.forget()
    lines = [f"This channel now gets the incident cards of *{untrusted(route.describe(), 200)}*: one card per "
             "incident, updated as it is acknowledged, escalated or resolved, with a thread reply for each change."]
    default = await routing.default_target(channel)
    if default is not None:
        lines.append(f"Questions here that name no service are about *{untrusted(default.name, 100)}*.")
    if not routing.receiving:
        lines.append(NO_SECRETS)
    return "\n".join(lines)


async def _remove(routing: Routing, channel: str, rest: str | None) -> str:
    key: str | None = None
    if rest:
        wanted = read_request(rest)
        if isinstance(wanted, str):
            return wanted
        key = Route(wanted.kind, wanted.target, channel).key
    mine = [r for r in await routing.slack_routes(fresh=True) if r.channel == channel]
    if key is not None:
        mine = [r for r in mine if r.key == key]
    gone = await routing.store.remove_routes(channel, key) if mine else 0
    routing.forget()
    env = [r for r in routing.env if r.channel == channel and (key is None or r.key == key)]
    lines = []
    if gone:
        named = ", ".join(untrusted(r.describe(), 100) for r in mine)
        lines.append(f"This channel no longer gets the incident cards of {named}. Cards already posted stay.")
    elif not env:
        lines.append("This channel had no such notification route. Type `notifications` to see what it gets.")
    if env:
        named = ", ".join(untrusted(r.describe(), 100) for r in env)
        lines.append(f"{named}: set in `ALEX_NOTIFY_ROUTES`, so only an alex admin can change it there.")
    return "\n".join(lines)


async def _list(routing: Routing, channel: str) -> str:
    env = [r for r in routing.env if r.channel == channel]
    slack = [r for r in await routing.slack_routes(fresh=True) if r.channel == channel]
    if not env and not slack:
        return ("This channel gets no incident notifications. To get a service's incident cards here: "
                "`@alex notify this channel about payments-api` (add `high urgency` or `P1 or P2` to filter; "
                "`… about team Platform` for a team's).")
    lines = ["*This channel gets the incident cards of:*"]
    lines += [f"• {untrusted(r.describe(), 200)} (set in `ALEX_NOTIFY_ROUTES`)" for r in env]
    lines += [f"• {untrusted(r.describe(), 200)} (set by <@{r.by}>)" if r.by and _SLACK_ID.fullmatch(r.by)
              else f"• {untrusted(r.describe(), 200)}" for r in slack]
    default = await routing.default_target(channel)
    if default is not None:
        lines.append(f"Questions here that name no service are about *{untrusted(default.name, 100)}*.")
    lines.append("Remove one with `stop notifications for &lt;name&gt;`.")
    lines.append(await _scheduled_line(routing, channel))
    if not routing.receiving:
        lines.append(NO_SECRETS)
    return "\n".join(lines)


async def _scheduled_line(routing: Routing, channel: str) -> str:
    zone = (await routing.store.zones()).get(channel)
    if not routing.scheduled:
        return "Scheduled posts are off in this alex (an admin turns them on with `ALEX_SCHEDULED_POSTS`)."
    chosen = f"{zone} time (chosen here)" if zone else f"{routing.default_zone} time (alex's default)"
    return (f"Scheduled posts: {untrusted(routing.scheduled, 200)}, in {untrusted(chosen, 100)}. "
            "`post times in Europe/Berlin` changes the zone.")


async def _set_zone(routing: Routing, channel: str, name: str) -> str:
    if name.lower() in ("default", "reset", "none"):
        await routing.store.set_zone(channel, None)
        return (f"This channel's scheduled posts keep alex's default zone again, "
                f"{untrusted(routing.default_zone, 64)}.")
    try:
        zone = str(parse_zone(name))
    except ValueError as exc:
        return untrusted(str(exc), 300)
    if not await routing.store.set_zone(channel, zone):
        return "alex keeps zones for as many channels as it can hold already: ask an alex admin."
    line = f"This channel's scheduled posts now keep {untrusted(zone, 64)} time."
    if routing.scheduled:
        return f"{line} They are: {untrusted(routing.scheduled, 200)}."
    return f"{line} Scheduled posts are off in this alex until an admin sets `ALEX_SCHEDULED_POSTS`."


_SLACK_ID = re.compile(r"[UW][A-Z0-9]{2,20}")


async def _look_up(rt: SlackRuntime, identity: Identity, kind: str, target: str) -> str | None:
    """PagerDuty's name of the service or team ``target`` names (by name or ID), read as the person; None when
    they cannot see one; ``"!<why>"`` when PagerDuty could not be asked."""
    ctx = await rt.context(identity.asker, with_deadline=True)
    path, key = ("/services", "services") if kind == "service" else ("/teams", "teams")
    try:
        page = await ctx.client.fetch(path, key, {"query": target}, max_items=100, deadline=ctx.deadline)
        items = [i for i in page.items if isinstance(i, dict)]
        if not items and re.fullmatch(r"P[A-Z0-9]{5,12}", target):
            body = await ctx.client.get(f"{path}/{target}", deadline=ctx.deadline)
            one = body.get(kind)
            items = [one] if isinstance(one, dict) else []
    except PagerDutyError as exc:
        if exc.status == 404:
            return None
        log.warning("looking up a %s for a notification route failed: %s", kind, type(exc).__name__)
        return "!PagerDuty could not be asked just now: try again in a moment."
    wanted = target.casefold()
    for item in items:
        name = item.get("name") or item.get("summary")
        if isinstance(name, str) and (name.casefold() == wanted or item.get("id") == target):
            return name
    return None


def _now(rt: SlackRuntime) -> float:
    return rt.backend.now().timestamp()


async def _post(client: AsyncWebClient, channel: str, thread_ts: str, text: str) -> None:
    """``text`` is mrkdwn already (PagerDuty and typed parts escaped)."""
    message = SlackMessage(text[:3_000], [section(text[:3_000])])
    try:
        await client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=message.text, blocks=message.blocks,
                                      unfurl_links=False, unfurl_media=False)
    except SlackApiError as exc:
        log.warning("a notification command's answer was not posted: %s", exc.response.get("error"))
