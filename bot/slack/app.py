"""The Bolt app: thin listeners wired to :mod:`bot.slack.conversation` and :mod:`bot.slack.buttons`.

Events: ``app_mention`` (channels, threads, war rooms), ``message`` in DMs (``message.im``; the app
does not subscribe to channel messages, so a mention is never answered twice) and ``app_home_opened``
(the Messages tab welcome, :mod:`bot.slack.home`). Buttons: ``proposal_confirm`` / ``proposal_cancel``
on proposal cards, ``incident_ack`` / ``incident_resolve`` on incident cards, ``suggested_prompt`` on
the welcome. Bolt verifies request signatures (HTTP), acknowledges events at once and runs
the listeners after the acknowledgement; :class:`~bot.slack.middleware.IgnoreUnanswerable` drops
retried deliveries, bots and edits first.

The Web API client is injected (``AsyncWebClient(token, base_url=SLACK_API_URL)``): tests point it at
a local fake Slack.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import buttons, conversation, home
from bot.slack.middleware import IgnoreUnanswerable
from bot.slack.render import ASK_ACTION
from bot.slack.runtime import SlackRuntime

log = logging.getLogger("bot.slack")


def build_app(rt: SlackRuntime, *, client: AsyncWebClient, signing_secret: str | None) -> AsyncApp:
    """The app for ``rt``; ``signing_secret`` is required for HTTP mode (Socket Mode needs none)."""
    app = AsyncApp(client=client, signing_secret=signing_secret or "", logger=log)
    app.use(IgnoreUnanswerable())

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext) -> None:
        async with rt.working():
            await conversation.answer(rt, client, event, bot_user_id=context.bot_user_id)

    @app.event("message")
    async def on_message(event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext) -> None:
        if event.get("channel_type") != "im":  # only DMs: channel messages come as app_mention
            return
        async with rt.working():
            await conversation.answer(rt, client, event, bot_user_id=context.bot_user_id, dm=True)

    @app.event("app_home_opened")
    async def on_home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        async with rt.working():
            await home.welcome(rt, client, event)

    @app.action(ASK_ACTION)
    async def on_ask(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with rt.working():
            await home.ask(rt, client, body)

    @app.action(buttons.CONFIRM)
    async def on_confirm(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with rt.working():
            await buttons.confirm(rt, client, body)

    @app.action(buttons.CANCEL)
    async def on_cancel(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with rt.working():
            await buttons.cancel(rt, client, body)

    @app.action(buttons.INCIDENT_ACK)
    async def on_incident_ack(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with rt.working():
            await buttons.act_on_incident(rt, client, body, buttons.INCIDENT_ACK)

    @app.action(buttons.INCIDENT_RESOLVE)
    async def on_incident_resolve(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with rt.working():
            await buttons.act_on_incident(rt, client, body, buttons.INCIDENT_RESOLVE)

    return app
