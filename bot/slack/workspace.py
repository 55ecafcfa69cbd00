"""Bolt middleware: alex answers only people of the workspace it is installed in.

Slack Connect channels and guests from other organisations deliver events and clicks whose user belongs
to another ``team_id`` (``event.user_team``, ``user.team_id``). Such a person is nobody alex can map to
this PagerDuty account, and a shared channel is exactly where incident data must not leak: their
messages get a short refusal (no PagerDuty request, no model call) and their clicks an ephemeral one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.render import render_notice

log = logging.getLogger("bot.slack.workspace")

OTHER_WORKSPACE = ("alex answers members of this Slack workspace only, so it can't help people from other "
                   "organisations here (Slack Connect or guests).")


class RefuseOtherWorkspaces(AsyncMiddleware):
    """Stop, with a polite refusal, any message or click from a user of another Slack team."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[None]] = set()

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse,
                            next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        home = _home_team(req)
        body = req.body
        actor = actor_team(body)
        if home is None or actor is None or actor == home:
            return await next()
        client = req.context.client
        if client is not None:
            self._spawn(_refuse(client, body))
        log.info("refused a request from another Slack team")
        return BoltResponse(status=200, body="")

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def actor_team(body: dict[str, Any]) -> str | None:
    """The Slack team of the person behind a message event or an interaction, when Slack says."""
    if body.get("type") == "event_callback":
        event = body.get("event") or {}
        if event.get("type") not in ("app_mention", "message"):
            return None
        team = event.get("user_team") or event.get("team")
        return team if isinstance(team, str) and team else None
    user = body.get("user")
    team = user.get("team_id") if isinstance(user, dict) else None
    return team if isinstance(team, str) and team else None


def _home_team(req: AsyncBoltRequest) -> str | None:
    result = req.context.authorize_result
    team = (result.team_id if result is not None else None) or req.context.team_id
    return team if isinstance(team, str) and team else None


async def _refuse(client: AsyncWebClient, body: dict[str, Any]) -> None:
    notice = render_notice(OTHER_WORKSPACE)
    try:
        if body.get("type") == "event_callback":
            event = body.get("event") or {}
            await client.chat_postMessage(channel=str(event.get("channel")), text=notice.text, blocks=notice.blocks,
                                          thread_ts=str(event.get("thread_ts") or event.get("ts")))
            return
        channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
        user = (body.get("user") or {}).get("id")
        if channel and user:
            await client.chat_postEphemeral(channel=str(channel), user=str(user), text=notice.text,
                                            blocks=notice.blocks)
    except Exception as exc:  # the refusal is a courtesy: nothing else runs either way
        log.info("could not post the other-workspace refusal: %s", type(exc).__name__)
