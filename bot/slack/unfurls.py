"""Unfurls: a PagerDuty incident link pasted in Slack gets the incident's card under it.

Slack sends ``link_shared`` for links on the app's ``unfurl_domains`` (manifest.yml: ``pagerduty.com``),
in every conversation, alex a member or not. alex reads each incident link of the message (at most
:data:`MAX_LINKS`; the web domain is the PagerDuty API's, ``api.eu.pagerduty.com`` → ``eu.pagerduty.com``)
**as the person who shared it** (``get_incident`` through their own PagerDuty client: their role and
teams) and answers ``chat.unfurl`` with the incident card (the ``get_incident`` presenter's, cut to
:data:`CARD_BLOCKS` blocks, read-only: it sits on someone else's message, where a button's outcome
could not even be posted in a conversation alex is not in).

Nothing is unfurled, and PagerDuty is not asked, when the sharer has no PagerDuty account alex can act
as, or cannot see the incident (the card would leak what they cannot see themselves); in a conversation
shared with another organisation (Slack Connect: its guests would read the card) or outside the channel
allowlist; for a link still in the message composer (its conversation is not known yet: Slack sends the
event again once the message is posted); and beyond the per-person rate limit of messages.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any
from urllib.parse import urlsplit

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.present.kit.blocks import Block
from bot.present.kit.escape import is_pagerduty_url
from bot.present.kit.limits import Room
from bot.present.results import result_blocks
from bot.slack.admission import Refused, admit
from bot.slack.channels import channel_allowed
from bot.slack.runtime import SlackRuntime
from bot.tools.base import ToolContext
from bot.tools.incidents import GetIncident
from bot.tools.registry import TOOLS_BY_NAME
from bot.tools.runner import run_parsed

log = logging.getLogger("bot.slack.unfurls")

MAX_LINKS = 3
"""Incident links unfurled per message (the rest are left as links)."""
CARD_BLOCKS, CARD_CHARS = 6, 2_500
_INCIDENT_PATH = re.compile(r"/incidents/([A-Za-z0-9]{1,20})(?:/[A-Za-z0-9_/-]*)?")


def web_domain(api_url: str) -> str:
    """PagerDuty's web domain for an API base URL: ``https://api.pagerduty.com`` → ``pagerduty.com``."""
    host = (urlsplit(api_url).hostname or "").lower()
    host = host.removeprefix("api.")
    return host if host == "pagerduty.com" or host.endswith(".pagerduty.com") else "pagerduty.com"


def incident_ref(url: str, domain: str) -> str | None:
    """The incident ID (or number) of a PagerDuty incident link on ``domain``, else None."""
    if not is_pagerduty_url(url):
        return None
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host.endswith("." + domain):
        return None
    match = _INCIDENT_PATH.fullmatch(parts.path)
    return match.group(1) if match else None


def incident_links(event: dict[str, Any], domain: str) -> dict[str, str]:
    """The event's incident links (URL → incident), distinct incidents only, at most :data:`MAX_LINKS`."""
    found: dict[str, str] = {}
    links = event.get("links")
    for link in links if isinstance(links, list) else []:
        url = link.get("url") if isinstance(link, dict) else None
        ref = incident_ref(url, domain) if isinstance(url, str) else None
        if ref is not None and url not in found and ref not in found.values():
            found[str(url)] = ref
        if len(found) == MAX_LINKS:
            break
    return found


async def unfurl(rt: SlackRuntime, client: AsyncWebClient, body: dict[str, Any]) -> None:
    """Answer one ``link_shared`` event (see the module for when nothing is unfurled)."""
    event = body.get("event") or {}
    channel, user = str(event.get("channel") or ""), str(event.get("user") or "")
    if event.get("source") == "composer" or channel == "COMPOSER" or not channel or not user:
        return
    if body.get("is_ext_shared_channel") or not channel_allowed(rt.allowed_channels, channel):
        return
    links = incident_links(event, web_domain(rt.backend.directory.base_url))
    if not links or await rt.over_limit(user, channel) is not None:
        return
    identity = await admit(rt, user)
    if isinstance(identity, Refused) or not identity.mapped:
        log.info("no unfurl: the person who shared the link has no PagerDuty account alex can act as")
        return
    ctx = await rt.context(identity.asker, with_deadline=True)
    cards = await asyncio.gather(*(card(ctx, ref) for ref in links.values()))
    unfurls = {url: {"blocks": blocks} for url, blocks in zip(links, cards, strict=True) if blocks}
    if not unfurls:
        return
    where: dict[str, Any] = ({"unfurl_id": event["unfurl_id"], "source": event["source"]}
                             if event.get("unfurl_id") and event.get("source") else
                             {"channel": channel, "ts": str(event.get("message_ts") or "")})
    try:
        await client.chat_unfurl(unfurls=unfurls, **where)
    except SlackApiError as exc:
        log.info("chat.unfurl refused: %s", exc.response.get("error"))


async def card(ctx: ToolContext, ref: str) -> list[Block]:
    """The incident's card as ``ctx.asker`` sees it, without buttons; [] when they cannot see it."""
    args = GetIncident(incident=ref)
    result = await run_parsed(TOOLS_BY_NAME["get_incident"], args, ctx)
    if result.status != "ok" or result.value is None:
        return []
    blocks = result_blocks("get_incident", args, result, Room(blocks=CARD_BLOCKS + 2, chars=CARD_CHARS)) or []
    shown = [{k: v for k, v in b.items() if k != "accessory"} for b in blocks if b.get("type") != "actions"]
    return shown[:CARD_BLOCKS]


def register(app: AsyncApp, rt: SlackRuntime) -> None:
    """The ``link_shared`` listener."""

    @app.event("link_shared")
    async def on_link_shared(body: dict[str, Any], client: AsyncWebClient) -> None:
        async with rt.working():
            await unfurl(rt, client, body)
