"""The app's Messages tab: a welcome with the suggested prompts, and their Ask buttons.

The first time someone opens the tab (``app_home_opened``, ``tab == "messages"``) in this process,
alex posts the suggested prompts (``prompts/suggested.md``) in that DM. An Ask button asks its prompt
as if the clicker had typed it: the answer goes into the welcome's thread.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.agent.prompt import suggested_prompts
from bot.slack.conversation import SHOWN_PROMPTS, answer
from bot.slack.render import render_welcome
from bot.slack.runtime import SlackRuntime

log = logging.getLogger("bot.slack.home")


async def welcome(rt: SlackRuntime, client: AsyncWebClient, event: dict[str, Any]) -> None:
    """Greet ``event["user"]`` in the Messages tab, once per process."""
    if event.get("tab") != "messages" or not event.get("channel") or not rt.welcomed.first(str(event.get("user"))):
        return
    message = render_welcome(suggested_prompts()[:SHOWN_PROMPTS])
    try:
        await client.chat_postMessage(channel=str(event["channel"]), text=message.text, blocks=message.blocks,
                                      unfurl_links=False, unfurl_media=False)
    except SlackApiError as exc:
        log.warning("Messages tab welcome not posted: %s", exc.response.get("error"))


async def ask(rt: SlackRuntime, client: AsyncWebClient, body: dict[str, Any]) -> None:
    """An Ask button: answer its prompt in the welcome's thread, for the person who clicked."""
    container = body["container"]
    event = {"channel": container["channel_id"], "user": body["user"]["id"], "text": body["actions"][0]["value"],
             "ts": container["message_ts"]}
    await answer(rt, client, event, bot_user_id=None, dm=True)
