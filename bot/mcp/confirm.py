"""Proposals made over MCP: kept in alex's state store, confirmed by the person, run as them.

A write tool's proposal is kept in the :class:`~bot.store.proposals.ProposalStore` Slack's cards use (SQLite
at ``ALEX_STATE_PATH``, Redis with ``ALEX_STATE_URL``, memory for ``--sandbox``), marked as MCP's: channel
``mcp``, the asker ``mcp:<PagerDuty user id>``, with the tool call and the time it was prepared. Confirming
one is what a Slack Confirm click is:

* only a proposal this server made for this person can be confirmed (a Slack card's id cannot);
* it is *claimed* first, so it runs at most once (a second confirmation gets "already confirmed"), and not
  after ``ALEX_PROPOSAL_TTL_SECONDS`` (10 minutes): it has expired;
* PagerDuty is checked again (:func:`~bot.tools.proposals.recheck`): a change that would now be different
  is refused ("PagerDuty changed since"), never replaced by another;
* the stored operations run as the person (:func:`~bot.tools.proposals.execute`: ``From`` is their e-mail,
  within their role), audited with ``via="mcp"``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.store.proposals import PendingProposal, ProposalStore
from bot.tools.audit import AuditSink
from bot.tools.base import Asker, Proposal, Tool, ToolContext
from bot.tools.proposals import AuditScope, Outcome, execute, recheck
from bot.tools.registry import TOOLS_BY_NAME

log = logging.getLogger("bot.mcp.confirm")

MCP_CHANNEL = "mcp"
VIA = "mcp"
GONE = ("Not done: there is no such proposal (alex was restarted, or the id is not one it gave); nothing was "
        "changed. Ask for the change again.")
EXPIRED = "Not done: this proposal expired (after {minutes} minutes); nothing was changed. Ask for it again."
TAKEN = "Not done again: this proposal was already {state}."
UNCONFIRMED = ("Something went wrong while making the change, so it may or may not have been applied: check in "
               "PagerDuty before trying again.")


@dataclass(frozen=True, slots=True)
class Confirmations:
    """The proposals of one MCP server's person: kept, then confirmed (or cancelled) by them."""

    store: ProposalStore
    audit: AuditSink
    asker: Asker
    ttl_s: float

    @property
    def marker(self) -> str:
        """Who asked, where the store and the audit log name a Slack user: ``mcp:<PagerDuty user id>``."""
        return f"mcp:{self.asker.user_id}"

    async def keep(self, tool: Tool[Any], arguments: dict[str, Any] | None, proposal: Proposal,
                   prepared_at: datetime) -> str:
        """Store ``proposal`` (prepared by ``tool`` on ``arguments``, the call's own) and return its id."""
        pending = PendingProposal(proposal, self.marker, MCP_CHANNEL, "", asker_name=self.asker.name, tool=tool.name,
                                  arguments=arguments, asker=self.asker, prepared_at=prepared_at)
        return await self.store.put(pending)

    async def find(self, proposal_id: str) -> PendingProposal | None:
        """The proposal, when it is one this server kept for this person."""
        stored = await self.store.get(proposal_id)
        if stored is None or stored.channel != MCP_CHANNEL or stored.asker_slack_id != self.marker:
            return None
        return stored

    async def cancel(self, proposal_id: str) -> None:
        if await self.find(proposal_id) is not None:
            await self.store.claim(proposal_id, self.marker, "cancelled")

    async def confirm(self, proposal_id: str, ctx: ToolContext) -> tuple[Proposal | None, Outcome]:
        """Claim, re-check and run the proposal as ``ctx.asker``; what ran (None: no such proposal) and its outcome."""
        stored = await self.find(proposal_id)
        if stored is None:
            return None, Outcome(False, GONE)
        claim = await self.store.claim(proposal_id, self.marker, "confirmed")
        if claim.status == "expired":
            return stored.proposal, Outcome(False, EXPIRED.format(minutes=max(1, round(self.ttl_s / 60))))
        if claim.status == "taken" and claim.pending is not None:
            return stored.proposal, Outcome(False, TAKEN.format(state=claim.pending.state))
        if claim.status != "claimed":
            return None, Outcome(False, GONE)
        try:
            checked = await recheck(stored.proposal, TOOLS_BY_NAME.get(stored.tool or ""), stored.arguments,
                                    stored.asker, stored.prepared_at, ctx)
            if isinstance(checked, Outcome):
                return stored.proposal, checked
            scope = AuditScope(self.audit, requested_by=self.marker, confirmed_by=self.marker, via=VIA,
                               channel=MCP_CHANNEL)
            return checked, await execute(checked, ctx.asker, ctx.client, deadline=ctx.deadline, audit=scope)
        except Exception:
            log.exception("executing proposal %s failed", proposal_id)
            return stored.proposal, Outcome(False, UNCONFIRMED, maybe_applied=True)
