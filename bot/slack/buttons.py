"""What the buttons do (each listener has already called ``ack()``; clicks outside the allowed channels
were refused before, by :class:`~bot.slack.channels.AllowedChannelsOnly`).

Proposal cards (``proposal_confirm`` / ``proposal_cancel``, value = the proposal id):

* only the person who asked (or a member of ``ALEX_APPROVER_GROUP``) may click; anyone else gets an
  ephemeral refusal and the proposal stays pending;
* the click must *claim* the proposal in the store: concurrent or repeated clicks run it once;
* after ``ALEX_PROPOSAL_TTL_SECONDS`` (10 minutes) it has expired: nothing runs;
* Confirm runs exactly the operations the card showed (resolved IDs, absolute times), executed as the
  person who clicked (``From`` = their e-mail, within their PagerDuty role and teams), and replaces the
  buttons with the outcome. Before that it re-checks the current state: acknowledgements re-read each
  incident as they run; other changes are prepared again by their write tool *as the person who asked,
  at the time they asked* (so an approver's click never re-binds "me" or "tomorrow" to the approver):
  a different result refuses the click ("changed since"), never runs something else.

Incident cards (``incident_ack`` / ``incident_resolve``, value = the incident id) act at once as the
person who clicked: the click is their own instruction, prepared and executed with their identity.
An Observer (or anyone who cannot write) is refused. The outcome is posted in the thread and the card is
drawn again from the incident's fresh state (:func:`refresh_card`); the card's menu (reassign, responders,
note, priority) opens a modal that acts the same way (:mod:`bot.slack.modals`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.present.incidents import refresh_card as redrawn
from bot.slack.admission import Refused, admit
from bot.slack.conversation import post, post_ephemeral, thread_id
from bot.slack.render import SlackMessage, render_notice, render_outcome
from bot.slack.runtime import SlackRuntime
from bot.store.proposals import PendingProposal
from bot.tools.base import Asker, Proposal, ToolContext
from bot.tools.proposals import WRITE_ROLES_HINT, Outcome, recheck, record_refused, refusal
from bot.tools.registry import TOOLS_BY_NAME
from bot.tools.results.incidents import IncidentDetail
from bot.tools.runner import run_tool

log = logging.getLogger("bot.slack.buttons")

CONFIRM = "proposal_confirm"
CANCEL = "proposal_cancel"
INCIDENT_ACK = "incident_ack"
INCIDENT_RESOLVE = "incident_resolve"
CARD_ACTIONS: dict[str, Literal["acknowledge_incidents", "resolve_incidents"]] = {
    INCIDENT_ACK: "acknowledge_incidents", INCIDENT_RESOLVE: "resolve_incidents"}
DOUBLE_CLICK_S = 30.0
MAX_BLOCKS = 50

NOT_YOURS = "Only {asker} can confirm or cancel this: it was prepared for them. Ask alex yourself to do it as you."
GONE = "This proposal is no longer available (alex was restarted, or it was already handled). Ask again."
EXPIRED = "This proposal expired (the buttons work for {minutes} minutes); nothing was changed. Ask again."
TAKEN = "This proposal was already {state}."
ALREADY_CLICKED = ("You clicked this a moment ago: that click is being handled. Check the incident in PagerDuty "
                   "if nothing shows up here.")
STATE_DOWN = ("alex could not reach its state store just now, so it could not handle that click: nothing was "
              "changed. Try again in a moment.")
UNCONFIRMED = ("Something went wrong while making the change, so it may or may not have been applied: "
               "check in PagerDuty before trying again.")


class Click:
    """The parts of a ``block_actions`` payload the handlers use."""

    def __init__(self, body: dict[str, Any]) -> None:
        action = (body.get("actions") or [{}])[0]
        container = body.get("container") or {}
        self.value = str(action.get("value") or "")
        self.user = str((body.get("user") or {}).get("id") or "")
        self.channel = str((body.get("channel") or {}).get("id") or container.get("channel_id") or "")
        message = body.get("message")
        self.message: dict[str, Any] | None = message if isinstance(message, dict) else None
        self.message_ts = str(container.get("message_ts") or (self.message or {}).get("ts") or "")
        self.thread_ts = str((self.message or {}).get("thread_ts") or container.get("thread_ts") or self.message_ts)
        self.trigger_id = str(body.get("trigger_id") or "")
        self.in_message = container.get("type") == "message" and not container.get("is_ephemeral")
        """Clicked in a posted message (not an ephemeral one, a view or an unfurl): alex can update it."""


async def confirm(rt: SlackRuntime, client: AsyncWebClient, body: dict[str, Any]) -> None:
    """Run a proposal once, for the person who asked (or an approver), unless it expired."""
    click = Click(body)
    stored = await _allowed(rt, client, click)
    if stored is None:
        return
    identity = await admit(rt, click.user)
    if isinstance(identity, Refused):
        await post_ephemeral(client, click.channel, click.user, render_notice(identity.text), click.thread_ts)
        return
    claim = await rt.proposals.claim(click.value, click.user, "confirmed")
    if not await _claimed(client, click, claim.status, claim.pending):
        return
    ctx = await rt.context(identity.asker, with_deadline=True)
    try:
        proposal = await _recheck(stored, ctx)
        if isinstance(proposal, Outcome):
            outcome = proposal
        else:
            outcome = await rt.agent.confirm(proposal, ctx, thread_id=thread_id(stored.channel, stored.thread_ts))
    except Exception:
        log.exception("executing proposal %s failed", click.value)
        outcome = Outcome(False, UNCONFIRMED, maybe_applied=True)
    await _replace_buttons(client, click, render_outcome(outcome, actor_slack_id=click.user))


async def cancel(rt: SlackRuntime, client: AsyncWebClient, body: dict[str, Any]) -> None:
    """Drop a proposal: the buttons are replaced by "Cancelled"."""
    click = Click(body)
    if await _allowed(rt, client, click) is None:
        return
    claim = await rt.proposals.claim(click.value, click.user, "cancelled")
    if await _claimed(client, click, claim.status, claim.pending):
        await _replace_buttons(client, click, render_notice("Cancelled: nothing was changed."))


@dataclass(frozen=True, slots=True)
class Acted:
    """What an incident button did: nothing (``repeated``, or a ``notice`` saying why) or an ``outcome``."""

    repeated: bool = False
    notice: str | None = None
    outcome: Outcome | None = None
    ctx: ToolContext | None = None


async def act_as_clicker(rt: SlackRuntime, user: str, tool: Literal["acknowledge_incidents", "resolve_incidents"],
                         incident: str, *, thread: str | None = None) -> Acted:
    """Acknowledge or resolve ``incident`` at once, as ``user`` (a Slack user id) within their PagerDuty role:
    one run per person, incident and action within :data:`DOUBLE_CLICK_S`; refusals audited. The one write
    path of every incident button (cards, the Home tab)."""
    if not await rt.proposals.once(f"{tool}:{incident}:{user}", DOUBLE_CLICK_S):
        return Acted(repeated=True)
    identity = await admit(rt, user)
    if isinstance(identity, Refused):
        return Acted(notice=identity.text)
    refused = refusal(identity.asker, tool)
    if refused is not None:
        await record_refused(tool, refused, identity.asker, targets=(incident,))
        return Acted(notice=f"{refused} {WRITE_ROLES_HINT}")
    ctx = await rt.context(identity.asker, with_deadline=True)
    arguments: dict[str, Any] = {"incidents": [incident]}
    if tool == "resolve_incidents":
        arguments["resolution_note"] = None
    result = await run_tool(TOOLS_BY_NAME[tool], arguments, ctx)
    if result.proposal is None:
        return Acted(notice=" ".join(p for p in (result.error, result.hint) if p)
                     or "That change could not be prepared.", ctx=ctx)
    try:
        outcome = await rt.agent.confirm(result.proposal, ctx, thread_id=thread)
    except Exception:
        log.exception("%s on %s failed", tool, incident)
        outcome = Outcome(False, UNCONFIRMED, maybe_applied=True)
    return Acted(outcome=outcome, ctx=ctx)


async def act_on_incident(rt: SlackRuntime, client: AsyncWebClient, body: dict[str, Any], action_id: str) -> None:
    """Acknowledge or resolve the card's incident at once, as the person who clicked."""
    click = Click(body)
    if not click.value:
        return
    acted = await act_as_clicker(rt, click.user, CARD_ACTIONS[action_id], click.value,
                                 thread=thread_id(click.channel, click.thread_ts))
    if acted.outcome is None:
        notice = ALREADY_CLICKED if acted.repeated else acted.notice or "Nothing was changed."
        await post_ephemeral(client, click.channel, click.user, render_notice(notice), click.thread_ts)
        return
    await post(client, click.channel, click.thread_ts, render_outcome(acted.outcome, actor_slack_id=click.user))
    if click.in_message and click.message is not None and acted.ctx is not None:
        await refresh_card(client, acted.ctx, click.value, click.channel, click.message_ts, click.message)


async def refresh_card(client: AsyncWebClient, ctx: ToolContext, incident_id: str, channel: str, message_ts: str,
                       message: dict[str, Any]) -> bool:
    """Draw the incident's card in ``message`` (its ``blocks`` and ``text`` as posted) again from the incident's
    state now, read as ``ctx``'s person: ``chat.update`` of the message. False (and nothing sent) when the
    message shows no card of it or the incident cannot be read; a failure is logged, never raised."""
    blocks = message.get("blocks")
    if not isinstance(blocks, list) or not message_ts:
        return False
    detail = (await run_tool(TOOLS_BY_NAME["get_incident"], {"incident": incident_id}, ctx)).value
    if not isinstance(detail, IncidentDetail):
        return False
    incident = detail.incident
    updated = redrawn(blocks, incident)
    if updated is None:
        return False
    try:
        await client.chat_update(channel=channel, ts=message_ts, text=str(message.get("text") or incident.label),
                                 blocks=updated[:MAX_BLOCKS])
    except SlackApiError as exc:
        log.warning("the card of %s was not redrawn: %s", incident_id, exc.response.get("error"))
        return False
    return True


async def _allowed(rt: SlackRuntime, client: AsyncWebClient, click: Click) -> PendingProposal | None:
    """The stored proposal when ``click.user`` may act on it; otherwise say why (and return None)."""
    stored = await rt.proposals.get(click.value) if click.value else None
    if stored is None:
        await _replace_buttons(client, click, render_notice(GONE))
        return None
    if click.user != stored.asker_slack_id and not await rt.may_approve(click.user):
        refusal_text = NOT_YOURS.format(asker=stored.asker_name)
        clicker = Asker(None, None, f"Slack user {click.user}", ZoneInfo("UTC"))
        await record_refused(stored.proposal.action, refusal_text, clicker, targets=stored.proposal.incident_ids)
        await post_ephemeral(client, click.channel, click.user, render_notice(refusal_text), click.thread_ts)
        return None
    return stored


async def _claimed(client: AsyncWebClient, click: Click, status: str, stored: PendingProposal | None) -> bool:
    """True when this click won the proposal; otherwise tell the clicker (or update the card) why not."""
    if status == "claimed":
        return True
    if status == "expired":
        ttl_s = (stored.expires_at - stored.created_at) if stored is not None else 600.0
        minutes = max(1, round(ttl_s / 60))
        await _replace_buttons(client, click, render_notice(EXPIRED.format(minutes=minutes)))
    elif status == "taken" and stored is not None:
        await post_ephemeral(client, click.channel, click.user,
                             render_notice(TAKEN.format(state=stored.state)), click.thread_ts)
    else:
        await _replace_buttons(client, click, render_notice(GONE))
    return False


async def _recheck(stored: PendingProposal, clicker: ToolContext) -> Proposal | Outcome:
    """The stored proposal, unless PagerDuty changed since it was shown (:func:`bot.tools.proposals.recheck`):
    prepared again as the person it was prepared for, at the time it was prepared, through the clicker's client."""
    return await recheck(stored.proposal, TOOLS_BY_NAME.get(stored.tool or ""), stored.arguments, stored.asker,
                         stored.prepared_at, clicker)


async def _replace_buttons(client: AsyncWebClient, click: Click, replacement: SlackMessage) -> None:
    """Swap the proposal's buttons for ``replacement`` in the clicked message (or reply in the thread)."""
    blocks = (click.message or {}).get("blocks")
    if not click.message or not isinstance(blocks, list) or not click.message_ts:
        await post(client, click.channel, click.thread_ts, replacement)
        return
    updated = swap_buttons(blocks, click.value, replacement.blocks)
    await client.chat_update(channel=click.channel, ts=click.message_ts, text=replacement.text, blocks=updated)


def swap_buttons(blocks: list[dict[str, Any]], proposal_id: str,
                 replacement: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``blocks`` with the proposal's Confirm/Cancel buttons replaced by ``replacement`` (≤ 50 blocks)."""
    result: list[dict[str, Any]] = []
    swapped = False
    for block in blocks:
        if block.get("type") == "actions" and any(_is_ours(e, proposal_id) for e in block.get("elements") or []):
            others = [e for e in block.get("elements") or [] if not _is_ours(e, proposal_id)]
            if others:
                result.append({**block, "elements": others})
            if not swapped:
                result.extend(replacement)
                swapped = True
        elif block.get("type") == "section" and _is_ours(block.get("accessory") or {}, proposal_id):
            result.append({k: v for k, v in block.items() if k != "accessory"})
            if not swapped:
                result.extend(replacement)
                swapped = True
        else:
            result.append(block)
    if not swapped:
        result.extend(replacement)
    if len(result) > MAX_BLOCKS:
        result = result[:MAX_BLOCKS - len(replacement)] + replacement if len(replacement) < MAX_BLOCKS else replacement
    return result[:MAX_BLOCKS]


def _is_ours(element: dict[str, Any], proposal_id: str) -> bool:
    return element.get("action_id") in (CONFIRM, CANCEL) and element.get("value") == proposal_id
