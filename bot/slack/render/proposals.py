"""Proposal cards (Confirm / Cancel) and outcomes (what a confirmed change did)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.slack.render.blocks import Block, actions, button, context
from bot.slack.render.escape import times_in, untrusted
from bot.slack.render.limits import MAX_SECTION, TAIL_CHARS, Room, note, pack
from bot.tools.base import Proposal

CONFIRM_ACTION = "proposal_confirm"
CANCEL_ACTION = "proposal_cancel"
CARD_CHARS = 3_800
"""Text one proposal card may use (its changes are cut with "…and N more" beyond)."""
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,30}")


def _text(value: Any, limit: int) -> str:
    """Untrusted text with its ISO times shown as dates."""
    return times_in(untrusted(value, limit))


def proposal_card(proposal: Proposal, proposal_id: str | None) -> list[Block]:
    """The card: what will change, what is left alone, and (with an id and something to do) the buttons."""
    room = Room(blocks=6, chars=CARD_CHARS)
    doing = bool(proposal.operations)
    icon, word = (":pencil2:", "Proposed") if doing else (":information_source:", "Nothing to do")
    summary = _text(proposal.summary.removeprefix("Nothing to do: "), 600)
    buttons: list[Block] = []
    if doing and proposal_id:
        buttons = [actions([
            button("Confirm", CONFIRM_ACTION, proposal_id, style="primary"),
            button("Cancel", CANCEL_ACTION, proposal_id),
        ], block_id=f"proposal:{proposal_id[:200]}")]
        room.take(buttons)
    out: list[Block] = []
    lines = [f"• {_text(line, 400)}" for line in proposal.lines]
    out += pack(room, f"{icon} *{word}:* {summary}", lines, keep_chars=TAIL_CHARS + 200, keep_blocks=1)
    if proposal.noops:
        out += pack(room, "*Left alone*", [f"• {_text(line, 300)}" for line in proposal.noops], keep_blocks=1)
    if doing:
        footer = ("Nothing changes until you confirm. It runs as you, within your PagerDuty role."
                  if proposal_id else "This change cannot be confirmed from here.")
        out += note(room, footer)
    return out + buttons


def render_proposal(proposal: Proposal, proposal_id: str) -> list[Block]:
    """A proposal card with Confirm (``proposal_confirm``) and Cancel (``proposal_cancel``), both
    carrying ``proposal_id`` as their value. A proposal with nothing to do gets no buttons."""
    if not proposal_id or len(proposal_id) > 2_000:
        raise ValueError("proposal_id must be 1-2000 characters")
    return proposal_card(proposal, proposal_id)


def outcome_blocks(ok: bool, summary: str, lines: Sequence[str], *, maybe_applied: bool = False,
                   actor_slack_id: str | None = None, room: Room | None = None) -> list[Block]:
    room = room if room is not None else Room()
    icon = ":warning:" if maybe_applied else ":white_check_mark:" if ok else ":x:"
    by = f"By <@{actor_slack_id}>" if actor_slack_id and _SLACK_USER.fullmatch(actor_slack_id) else ""
    out = pack(room, f"{icon} {_text(summary, MAX_SECTION // 2)}", [f"• {_text(line, 400)}" for line in lines],
               keep_chars=TAIL_CHARS, keep_blocks=1)
    if by:
        room.add(out, context(by))
    return out


def render_executed(data: dict[str, Any], room: Room, args: dict[str, Any]) -> list[Block]:
    """A write that command mode already ran (the tool result carries ``executed``)."""
    done = data.get("executed") or {}
    lines = [str(line) for line in done.get("lines") or []] or [str(n) for n in data.get("no_ops") or []]
    return outcome_blocks(bool(done.get("ok")), str(done.get("summary") or data.get("summary") or "Done."), lines,
                          maybe_applied=bool(done.get("maybe_applied")), room=room)

