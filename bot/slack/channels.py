"""Bolt middleware: alex answers and acts only in allowlisted channels (``ALEX_ALLOWED_CHANNELS``).

Applied once, before any listener: a mention in a channel that is not on the list gets a polite refusal
in its thread, and a click on a proposal or incident card there an ephemeral one; nobody is looked up and
PagerDuty is not asked anything. DMs are always allowed; an empty list allows every channel. The check
reads only the request, so it costs the Events ack nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from typing import Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.buttons import Click
from bot.slack.conversation import NOT_ALLOWED_HERE, post, post_ephemeral, thread_of
from bot.slack.render import render_notice
from bot.slack.runtime import SlackRuntime


def channel_allowed(allowed: Collection[str], channel: str, *, dm: bool = False) -> bool:
    """Whether alex may answer (and act) in ``channel``: DMs always, channels when allowlisted (or no list)."""
    if dm or channel.startswith("D"):
        return True
    return not allowed or channel in allowed


class AllowedChannelsOnly(AsyncMiddleware):
    """Stop, with a polite refusal, mentions and the clicks in ``gated_actions`` outside allowed channels."""

    def __init__(self, rt: SlackRuntime, *, gated_actions: Collection[str]) -> None:
        self._rt = rt
        self._gated = frozenset(gated_actions)

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse,
                            next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        allowed = self._rt.allowed_channels
        client = req.context.client
        body = req.body
        if not allowed or client is None:
            return await next()
        if body.get("type") == "event_callback":
            event = body.get("event") or {}
            channel = str(event.get("channel") or "")
            if event.get("type") != "app_mention" or channel_allowed(
                    allowed, channel, dm=event.get("channel_type") == "im") or not event.get("ts"):
                return await next()
            self._rt.spawn(post(client, channel, thread_of(event), render_notice(NOT_ALLOWED_HERE)))
            return BoltResponse(status=200, body="")
        if body.get("type") == "block_actions" and _action_id(body) in self._gated:
            click = Click(body)
            if channel_allowed(allowed, click.channel):
                return await next()
            self._rt.spawn(_refuse_click(client, click))
            return BoltResponse(status=200, body="")
        return await next()


async def _refuse_click(client: AsyncWebClient, click: Click) -> None:
    await post_ephemeral(client, click.channel, click.user, render_notice(NOT_ALLOWED_HERE), click.thread_ts)


def _action_id(body: dict[str, Any]) -> str | None:
    actions = body.get("actions")
    first = actions[0] if isinstance(actions, list) and actions else None
    action_id = first.get("action_id") if isinstance(first, dict) else None
    return action_id if isinstance(action_id, str) else None
