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
An Observer (or anyone who cannot write) is refused.
"""

from __future__ import annotations

import logging
from typing import Any, Literal
from zoneinfo import ZoneInfo

from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.admission import Refused, admit
from bot.slack.conversation import post, post_ephemeral, thread_id
from bot.slack.render import SlackMessage, render_notice, render_outcome
from bot.slack.runtime import SlackRuntime
from bot.store.proposals import PendingProposal
from bot.tools.base import Asker, Proposal, ToolContext
from bot.tools.proposals import WRITE_ROLES_HINT, Outcome, record_refused, refusal
from bot.tools.registry import TOOLS_BY_NAME
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
EXECUTED_AS_READ = frozenset({"acknowledge_incidents"})
"""Proposals whose execution re-reads every target itself (no need to prepare them again)."""

NOT_YOURS = "Only {asker} can confirm or cancel this: it was prepared for them. Ask alex yourself to do it as you."
GONE = "This proposal is no longer available (alex was restarted, or it was already handled). Ask again."
EXPIRED = "This proposal expired (the buttons work for {minutes} minutes); nothing was changed. Ask again."
TAKEN = "This proposal was already {state}."
ALREADY_CLICKED = ("You clicked this a moment ago: that click is being handled. Check the incident in PagerDuty "
                   "if nothing shows up here.")
STATE_DOWN = ("alex could not reach its state store just now, so it could not handle that click: nothing was "
              "changed. Try again in a moment.")
CHANGED_SINCE = "Not done: PagerDuty changed since this was proposed, so nothing was run. Ask again."
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


async def act_on_incident(rt: SlackRuntime, client: AsyncWebClient, body: dict[str, Any], action_id: str) -> None:
    """Acknowledge or resolve the card's incident at once, as the person who clicked."""
    click = Click(body)
    tool = CARD_ACTIONS[action_id]
    if not click.value:
        return
    if not await rt.proposals.once(f"{tool}:{click.value}:{click.user}", DOUBLE_CLICK_S):
        await post_ephemeral(client, click.channel, click.user, render_notice(ALREADY_CLICKED), click.thread_ts)
        return
    identity = await admit(rt, click.user)
    if isinstance(identity, Refused):
        await post_ephemeral(client, click.channel, click.user, render_notice(identity.text), click.thread_ts)
        return
    refused = refusal(identity.asker, tool)
    if refused is not None:
        await record_refused(tool, refused, identity.asker, targets=(click.value,))
        await post_ephemeral(client, click.channel, click.user, render_notice(f"{refused} {WRITE_ROLES_HINT}"),
                             click.thread_ts)
        return
    ctx = await rt.context(identity.asker, with_deadline=True)
    arguments: dict[str, Any] = {"incidents": [click.value]}
    if tool == "resolve_incidents":
        arguments["resolution_note"] = None
    result = await run_tool(TOOLS_BY_NAME[tool], arguments, ctx)
    if result.proposal is None:
        problem = " ".join(p for p in (result.error, result.hint) if p) or "That change could not be prepared."
        await post_ephemeral(client, click.channel, click.user, render_notice(problem), click.thread_ts)
        return
    try:
        outcome = await rt.agent.confirm(result.proposal, ctx, thread_id=thread_id(click.channel, click.thread_ts))
    except Exception:
        log.exception("%s on %s failed", tool, click.value)
        outcome = Outcome(False, UNCONFIRMED, maybe_applied=True)
    await post(client, click.channel, click.thread_ts, render_outcome(outcome, actor_slack_id=click.user))


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
    """The stored proposal, unless PagerDuty changed since it was shown (then an Outcome refusing the click).

    The tool call is prepared again as the person it was prepared for, at the time it was prepared, reading
    the current state through the clicker's client: "me", "mine" and "tomorrow" keep the meaning the card
    showed, whoever clicks. Only an identical result runs, and what runs is the stored operations.
    """
    tool = TOOLS_BY_NAME.get(stored.tool or "")
    if (tool is None or stored.arguments is None or tool.name in EXECUTED_AS_READ or stored.asker is None
            or stored.prepared_at is None):
        return stored.proposal
    ctx = ToolContext(clicker.client, stored.asker, stored.prepared_at, clicker.deadline)
    result = await run_tool(tool, stored.arguments, ctx)
    if result.proposal is None:
        problem = " ".join(p for p in (result.error, result.hint) if p) or "It could not be prepared again."
        return Outcome(False, f"{CHANGED_SINCE} {problem}")
    if result.proposal.operations != stored.proposal.operations:
        now = "; ".join((result.proposal.summary, *result.proposal.noops))
        return Outcome(False, f"{CHANGED_SINCE} It would now be: {now}", list(result.proposal.lines))
    return stored.proposal


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
