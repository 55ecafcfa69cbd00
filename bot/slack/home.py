"""The app's Messages tab: suggested prompts pinned above the composer, or a welcome where Slack refuses them.

With the agent view (``features.agent_view`` in manifest.yml), opening the Messages tab
(``app_home_opened``, ``tab == "messages"``) pins the first :data:`MAX_PINNED` suggested prompts
(``prompts/suggested.md``) with ``assistant.threads.setSuggestedPrompts`` and posts nothing. The call has
no ``thread_ts``: with the agent view one makes it fail silently. Clicking a prompt sends its text as the
person's own message, answered like any DM. With the legacy assistant view (``features.assistant_view``
and the ``assistant_thread_started`` event), the same prompts are set on each new assistant thread.

Where Slack refuses the pinned prompts (an app made from an older manifest: no ``assistant:write`` or no
agent view), alex posts a welcome with the suggested prompts and Ask buttons instead, once per person
across replicas and restarts (marked in the shared state, ``rt.state``, for :data:`WELCOME_TTL_S`). After
such a refusal this process goes straight to the welcome for :data:`PIN_RETRY_S` before asking Slack
again. An Ask button asks its prompt as if the clicker had typed it: the answer goes into the welcome's
thread.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Literal

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.agent.prompt import suggested_prompts
from bot.slack.conversation import SHOWN_PROMPTS, answer
from bot.slack.render import render_welcome
from bot.slack.runtime import SlackRuntime

log = logging.getLogger("bot.slack.home")

MAX_PINNED = 4
"""Slack shows at most four suggested prompts (setSuggestedPrompts; the manifest's ``suggested_prompts``)."""
PROMPTS_TITLE = "Ask alex about PagerDuty"
WELCOME_TTL_S = 365 * 24 * 3600.0
PIN_RETRY_S = 3600.0
TITLE_CHARS = 75
TRANSIENT = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})
"""Errors after which the prompts are simply tried again at the next opening (no welcome instead)."""

Pinned = Literal["pinned", "refused", "failed"]


def pinned_prompts() -> list[dict[str, str]]:
    """The prompts pinned in the Messages tab: ``title`` shown, ``message`` sent when clicked.

    manifest.yml's ``features.agent_view.suggested_prompts`` lists the same ones (a test keeps them equal).
    """
    return [{"title": _title(prompt), "message": prompt} for prompt in suggested_prompts()[:MAX_PINNED]]


def _title(prompt: str) -> str:
    title = prompt[:1].upper() + prompt[1:]
    return title if len(title) <= TITLE_CHARS else title[: TITLE_CHARS - 1].rsplit(" ", 1)[0] + "…"


class MessagesTab:
    """The Messages tab and the legacy assistant threads of one app (see the module)."""

    def __init__(self, rt: SlackRuntime, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._rt = rt
        self._clock = clock
        self._refused_until: float | None = None

    async def opened(self, client: AsyncWebClient, event: dict[str, Any]) -> None:
        """``app_home_opened``: pin the prompts in the person's DM with alex; the welcome where refused."""
        channel, user = str(event.get("channel") or ""), str(event.get("user") or "")
        if event.get("tab") != "messages" or not channel or not user:
            return
        if self._refused_until is None or self._clock() >= self._refused_until:
            pinned = await self._pin(client, channel)
            if pinned != "refused":
                return
            self._refused_until = self._clock() + PIN_RETRY_S
        await self._welcome(client, channel, user)

    async def thread_started(self, client: AsyncWebClient, event: dict[str, Any]) -> None:
        """``assistant_thread_started`` (legacy assistant view): the prompts, on that thread."""
        thread = event.get("assistant_thread") or {}
        channel, thread_ts = thread.get("channel_id"), thread.get("thread_ts")
        if isinstance(channel, str) and channel and isinstance(thread_ts, str) and thread_ts:
            await self._pin(client, channel, thread_ts)

    async def _pin(self, client: AsyncWebClient, channel: str, thread_ts: str | None = None) -> Pinned:
        try:
            await client.assistant_threads_setSuggestedPrompts(channel_id=channel, thread_ts=thread_ts,
                                                               title=PROMPTS_TITLE, prompts=pinned_prompts())
            return "pinned"
        except SlackApiError as exc:
            error = str(exc.response.get("error"))
            if error in TRANSIENT:
                log.info("suggested prompts not set (%s): trying again at the next opening", error)
                return "failed"
            log.info("suggested prompts refused (%s): the Messages tab gets a welcome message instead", error)
            return "refused"
        except Exception as exc:  # Slack unreachable: the next opening tries again
            log.info("suggested prompts not set (%s)", type(exc).__name__)
            return "failed"

    async def _welcome(self, client: AsyncWebClient, channel: str, user: str) -> None:
        """The welcome message, once per person: this process remembers, and so does the shared state."""
        if not self._rt.welcomed.first(user):
            return
        try:
            if not await self._rt.state.first_seen(f"welcome:{user}", WELCOME_TTL_S):
                return
        except Exception as exc:  # a missing welcome is harmless; a repeated one is what this prevents
            log.warning("Messages tab welcome skipped: the state store is unavailable (%s)", type(exc).__name__)
            return
        message = render_welcome(suggested_prompts()[:SHOWN_PROMPTS])
        try:
            await client.chat_postMessage(channel=channel, text=message.text, blocks=message.blocks,
                                          unfurl_links=False, unfurl_media=False)
        except SlackApiError as exc:
            log.warning("Messages tab welcome not posted: %s", exc.response.get("error"))


async def ask(rt: SlackRuntime, client: AsyncWebClient, body: dict[str, Any]) -> None:
    """An Ask button: answer its prompt in the welcome's thread, for the person who clicked."""
    container = body["container"]
    event = {"channel": container["channel_id"], "user": body["user"]["id"], "text": body["actions"][0]["value"],
             "ts": container["message_ts"]}
    await answer(rt, client, event, bot_user_id=None, dm=True)
