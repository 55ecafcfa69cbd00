"""Bolt middleware: messages over the per-user / per-channel rate limit get a short reply and no answer.

Applied once, to the messages alex answers (mentions and DMs), before any listener: nothing over the
limit reaches the model, PagerDuty or a users.info look-up. The notice goes into the message's thread
once per window per user and channel (:meth:`~bot.slack.runtime.SlackRuntime.over_limit`); after that,
alex stays quiet. The count runs before the Events ack, so the shared state gets at most
:data:`~bot.slack.middleware.ACK_STATE_BOUND_S` to answer; past that, this process counts instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.slack.conversation import post, thread_of
from bot.slack.middleware import ACK_STATE_BOUND_S
from bot.slack.render import render_notice
from bot.slack.runtime import SlackRuntime


class RateLimitMessages(AsyncMiddleware):
    """Count each answered message once; over a limit, reply once per window and run no listener."""

    def __init__(self, rt: SlackRuntime, *, state_bound_s: float = ACK_STATE_BOUND_S) -> None:
        self._rt = rt
        self._bound_s = state_bound_s

    async def async_process(self, *, req: AsyncBoltRequest, resp: BoltResponse,
                            next: Callable[[], Awaitable[BoltResponse]]) -> BoltResponse:
        body = req.body
        event = (body.get("event") or {}) if body.get("type") == "event_callback" else {}
        answered = event.get("type") == "app_mention" or (
            event.get("type") == "message" and event.get("channel_type") == "im")
        if not answered or not event.get("ts"):
            return await next()
        user, channel = str(event.get("user") or ""), str(event.get("channel") or "")
        refusal = await self._rt.over_limit(user, channel, bound_s=self._bound_s)
        if refusal is None:
            return await next()
        client = req.context.client
        if refusal and client is not None:
            self._rt.spawn(post(client, channel, thread_of(event), render_notice(refusal)))
        return BoltResponse(status=200, body="")
