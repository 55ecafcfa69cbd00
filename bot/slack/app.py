"""The Bolt app: thin listeners wired to :mod:`bot.slack.conversation` and :mod:`bot.slack.buttons`.

Events: ``app_mention`` (channels, threads, war rooms, group DMs), ``message`` in DMs (``message.im``)
and in channels, private channels and group DMs (``message.channels`` / ``.groups`` / ``.mpim``: only
follow-ups without a mention in threads alex answered or in war rooms, :mod:`bot.slack.followups`; a
message that mentions alex is answered as its ``app_mention``, never twice), ``app_home_opened`` (the
Messages tab: pinned suggested prompts, :mod:`bot.slack.home`; the Home tab: the person's on-call,
incidents and coverage gaps, :mod:`bot.slack.home_tab`) and ``assistant_thread_started`` (the
same prompts, when the legacy assistant view is configured). Buttons: ``proposal_confirm`` /
``proposal_cancel`` on proposal cards, ``incident_ack`` / ``incident_resolve`` on incident cards,
``suggested_prompt`` on the welcome, ``answer_feedback`` under model answers (:mod:`bot.slack.feedback`).

Bolt verifies request signatures (HTTP), acknowledges events at once and runs the listeners after the
acknowledgement. Before any listener, each applied once:
:class:`~bot.slack.followups.PlainMessages` drops channel traffic that cannot be a follow-up (reading
only the request); :class:`~bot.slack.middleware.IgnoreUnanswerable` drops retried deliveries
(deduplicated in the shared state, ``rt.state``, so across replicas), bots and edits;
:class:`~bot.slack.workspace.RefuseOtherWorkspaces`; the rate limit
(:class:`~bot.slack.rate_limit.RateLimitMessages`: a short reply and no answer, no LLM call); the channel
allowlist (:class:`~bot.slack.channels.AllowedChannelsOnly`). A follow-up is counted against the same
rate limit once its thread is checked, after the ack (:func:`~bot.slack.followups.admitted`). Who asks
is resolved after the ack, once per request (:func:`~bot.slack.admission.admit`).
Every write the listeners make (a Confirm click, an Ack/Resolve card button, a typed write command) is
recorded in the audit log: each listener runs inside :func:`~bot.tools.proposals.audit_scope` naming who
asked and who confirmed.

The Web API client is injected (``AsyncWebClient(token, base_url=SLACK_API_URL)``): tests point it at
a local fake Slack.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.web.async_client import AsyncWebClient

from bot.logsafe import guard_bolt_verification
from bot.slack import (
    buttons,
    conversation,
    feedback,
    followups,
    home,
    home_tab,
    linking,
    modals,
    shortcuts,
    slash,
    streaming,
    unfurls,
)
from bot.slack.channels import AllowedChannelsOnly
from bot.slack.followups import AnsweredThreads, PlainMessages
from bot.slack.middleware import IgnoreUnanswerable
from bot.slack.rate_limit import RateLimitMessages
from bot.slack.render import ASK_ACTION, render_notice
from bot.slack.runtime import SlackRuntime
from bot.slack.workspace import RefuseOtherWorkspaces
from bot.store import StateUnavailable
from bot.tools.proposals import audit_scope

log = logging.getLogger("bot.slack")


def build_app(rt: SlackRuntime, *, client: AsyncWebClient, signing_secret: str | None) -> AsyncApp:
    """The app for ``rt``; ``signing_secret`` is required for HTTP mode (Socket Mode needs none)."""
    guard_bolt_verification()  # a refused request's body never reaches a log, however the app is served
    if not any(isinstance(f, _SameTokenNotice) for f in log.filters):
        log.addFilter(_SameTokenNotice())
    app = AsyncApp(client=client, signing_secret=signing_secret or "", logger=log)
    app.use(PlainMessages(rt))
    app.use(IgnoreUnanswerable(ttl_s=rt.dedupe_ttl_s, first_delivery=rt.first_delivery))
    app.use(RefuseOtherWorkspaces())
    app.use(RateLimitMessages(rt))
    app.use(AllowedChannelsOnly(rt, gated_actions=(buttons.CONFIRM, buttons.CANCEL, buttons.INCIDENT_ACK,
                                                   buttons.INCIDENT_RESOLVE, *modals.GATED_ACTIONS)))

    threads = AnsweredThreads()
    messages_tab = home.MessagesTab(rt)
    home_view = home_tab.register(app, rt)  # the Home tab: its Refresh and Ack/Resolve buttons

    async def answer(event: dict[str, Any], client: AsyncWebClient, bot_user_id: str | None, *,
                     dm: bool = False) -> None:
        user, channel = str(event.get("user") or ""), str(event.get("channel") or "")
        thread_ts = conversation.thread_of(event)
        async with rt.working():
            with audit_scope(rt.audit, requested_by=user, confirmed_by=user, via="command", channel=channel,
                             thread_ts=thread_ts):
                answered = await conversation.answer(rt, client, event, bot_user_id=bot_user_id, dm=dm)
            if answered and not dm:
                await threads.remember(rt.state, channel, thread_ts)

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext) -> None:
        await answer(event, client, context.bot_user_id)

    @app.event("message")
    async def on_message(event: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext) -> None:
        if event.get("channel_type") == "im":
            await answer(event, client, context.bot_user_id, dm=True)
            return
        async with rt.working():  # a follow-up candidate (PlainMessages let it through)
            if await followups.admitted(rt, threads, client, event):
                await answer(event, client, context.bot_user_id)

    @app.event("app_home_opened")
    async def on_home_opened(event: dict[str, Any], client: AsyncWebClient) -> None:
        async with rt.working():
            await messages_tab.opened(client, event)
            await home_view.opened(client, event)  # tab == "home"

    @app.event("assistant_thread_started")
    async def on_assistant_thread_started(event: dict[str, Any], client: AsyncWebClient) -> None:
        async with rt.working():
            await messages_tab.thread_started(client, event)

    @app.action(ASK_ACTION)
    async def on_ask(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with rt.working():
            await home.ask(rt, client, body)

    @app.action(buttons.CONFIRM)
    async def on_confirm(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with _clicked(rt, client, body):
            click = buttons.Click(body)
            stored = await rt.proposals.get(click.value) if click.value else None
            with audit_scope(rt.audit, requested_by=stored.asker_slack_id if stored else None,
                             confirmed_by=click.user, via="button", channel=click.channel,
                             thread_ts=stored.thread_ts if stored else click.thread_ts):
                await buttons.confirm(rt, client, body)

    @app.action(buttons.CANCEL)
    async def on_cancel(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with _clicked(rt, client, body):
            await buttons.cancel(rt, client, body)

    @app.action(buttons.INCIDENT_ACK)
    async def on_incident_ack(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with _clicked(rt, client, body):
            with _card_scope(rt, body):
                await buttons.act_on_incident(rt, client, body, buttons.INCIDENT_ACK)

    @app.action(buttons.INCIDENT_RESOLVE)
    async def on_incident_resolve(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        async with _clicked(rt, client, body):
            with _card_scope(rt, body):
                await buttons.act_on_incident(rt, client, body, buttons.INCIDENT_RESOLVE)

    @app.command(linking.COMMAND)
    async def on_alex_command(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        await linking.slash_command(rt, ack, command, respond)  # acks first, then works

    slash.register(app, rt)  # /alex <question>'s Post to channel; clicks on ephemeral answers
    shortcuts.register(app, rt)  # Ask alex about this message, Page on-call from this message
    unfurls.register(app, rt)  # link_shared: PagerDuty incident links get their card
    streaming.register(app, rt)  # agent_session_stopped: the Stop button on a streamed answer
    feedback.register(app, rt)  # the feedback buttons under model answers
    modals.register(app, rt)  # incident cards' menu: reassign/escalate, responders, note, priority (modals)
    return app


class _SameTokenNotice(logging.Filter):
    """Bolt reads ``SLACK_BOT_TOKEN`` itself and warns that the client's token wins: it is the same token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


@contextlib.asynccontextmanager
async def _clicked(rt: SlackRuntime, client: AsyncWebClient, body: dict[str, Any]) -> AsyncIterator[None]:
    """A button click's work: counted as in flight; when the state store cannot serve it (locked, down),
    the clicker is told to try again (nothing ran: a claim or an audit record comes before any write)."""
    async with rt.working():
        try:
            yield
        except StateUnavailable as exc:
            log.warning("a click could not be served: the state store is unavailable (%s)", type(exc).__name__)
            click = buttons.Click(body)
            await conversation.post_ephemeral(client, click.channel, click.user, render_notice(buttons.STATE_DOWN),
                                              click.thread_ts)


def _card_scope(rt: SlackRuntime, body: dict[str, Any]) -> contextlib.AbstractContextManager[None]:
    """Audit scope of an Ack/Resolve click on an incident card: the clicker asked and confirmed."""
    click = buttons.Click(body)
    return audit_scope(rt.audit, requested_by=click.user, confirmed_by=click.user, via="incident_card",
                       channel=click.channel, thread_ts=click.thread_ts)
