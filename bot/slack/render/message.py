"""A whole answer as one Slack message: prose, a section per tool result, proposal cards, the notice.

Everything draws from one :class:`~bot.present.kit.limits.Room`, in this order of priority: the
notice and the proposal cards (they carry the buttons), then the prose and the structured results
sharing what is left (long prose is cut so the results keep at least half), then a line saying what
was left out. Command-mode replies are the same facts as the structured sections, so their text is
shown only when a result has no section of its own (``help``, for instance). A model answer stored for
feedback ends with the feedback buttons (:mod:`bot.slack.render.feedback`), whose room is kept first.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.agent.turn import ToolCallRecord, Turn
from bot.present.kit.blocks import Block, context, section
from bot.present.kit.escape import untrusted
from bot.present.kit.limits import Room, text_size, unique_block_ids
from bot.present.kit.prose import prose_blocks, summary_text
from bot.present.proposals import outcome_blocks, proposal_card, render_executed
from bot.present.results import result_blocks
from bot.slack.render.feedback import feedback_block
from bot.tools.proposals import Outcome
from bot.tools.results.writes import WriteRan

FALLBACK_CHARS = 300
PAD_BLOCKS, PAD_CHARS = 3, 1_500
LEFT_OUT = "_Some results were left out to fit in one Slack message; ask about one of them for the rest._"


@dataclass(frozen=True)
class SlackMessage:
    """A message to post: ``text`` is the notification/fallback summary, ``blocks`` the layout."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def as_kwargs(self) -> dict[str, Any]:
        """``text`` and ``blocks`` for ``chat.postMessage`` / ``chat.update``."""
        return {"text": self.text, "blocks": self.blocks}


def render_result(record: ToolCallRecord, room: Room) -> list[Block] | None:
    """The blocks for one tool call's result (a write command mode ran at once: what it did), or None
    when it has no structured form (the reply carries it)."""
    result = record.result
    if result.status == "proposal":
        return []  # its card is rendered from turn.proposals
    if record.outcome is not None and isinstance(result.value, WriteRan):
        return render_executed(record.outcome, result.value, room)
    return result_blocks(record.name, record.typed_args(), result, room)


def _arguments(record: ToolCallRecord) -> dict[str, Any]:
    if isinstance(record.arguments, dict):
        return record.arguments
    try:
        parsed = json.loads(record.arguments or "{}")
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def shown_calls(turn: Turn) -> list[ToolCallRecord]:
    """The calls worth a section: repeats dropped; in LLM mode, errors the model fixed by calling the
    same tool again successfully, and errors about its own malformed calls, are left to the prose."""
    seen: set[tuple[str, str]] = set()
    calls: list[ToolCallRecord] = []
    records = list(turn.tool_calls)
    for index, record in enumerate(records):
        key = (record.name, json.dumps(_arguments(record), sort_keys=True, default=str))
        if key in seen:
            continue
        seen.add(key)
        result = record.result
        if turn.mode == "llm" and result.status == "error" and record.outcome is None:
            if result.about_the_call:  # the model deals with errors about its own calls
                continue
            if any(r.name == record.name and r.result.status in ("ok", "no_data") for r in records[index + 1:]):
                continue
        calls.append(record)
    return calls


def _need(blocks: list[Block] | None) -> tuple[int, int] | None:
    return None if blocks is None else (len(blocks), text_size(blocks))


def fair_share(needs: Sequence[int], available: int) -> int:
    """What the first of ``needs`` gets of ``available`` when shared by water-filling: small needs are
    met in full, the big ones split the rest equally."""
    if not needs:
        return available
    left, pending = available, sorted(needs)
    while pending:
        fair = left // len(pending)
        if pending[0] > fair:
            return min(needs[0], fair)
        left -= pending.pop(0)
    return needs[0]


def _first_line(blocks: Sequence[Block]) -> str:
    """The first line of the first section: already safe mrkdwn, cut outside any ``<…>`` token."""
    for block in blocks:
        text = (block.get("text") or {}).get("text") if block.get("type") == "section" else None
        if isinstance(text, str) and text.strip():
            line = text.strip().split("\n", 1)[0]
            if len(line) > FALLBACK_CHARS:
                line = line[:FALLBACK_CHARS]
                if line.rfind("<") > line.rfind(">"):
                    line = line[: line.rfind("<")]
                line = line.rstrip() + "…"
            return line
    return ""


def _fallback(turn: Turn, blocks: Sequence[Block]) -> str:
    if turn.reply.strip():
        summary = summary_text if turn.mode == "llm" else untrusted
        parts = [summary(turn.reply, FALLBACK_CHARS)]
    else:
        parts = [_first_line(blocks)]
    parts = [p for p in parts if p]
    waiting = [p for p in turn.proposals if p.operations]
    if waiting:
        parts.append("Waiting for confirmation: " + untrusted("; ".join(p.summary for p in waiting), 200))
    if not parts and turn.notice:
        parts.append(untrusted(turn.notice, FALLBACK_CHARS))
    return " · ".join(parts) or "alex answered."


def render_turn(turn: Turn, *, proposal_ids: Sequence[str] = (), with_prose: bool = True,
                feedback_id: str | None = None) -> SlackMessage:
    """The whole answer to one message, within Slack's limits (see the module docstring).
    ``with_prose=False``: without the reply's prose (a streamed answer already shows it), possibly no blocks.
    ``feedback_id``: a model answer stored for feedback under that turn id gets the feedback buttons last."""
    room = Room()
    room.take([context(LEFT_OUT)])  # kept free for the left-out line
    feedback = [feedback_block(feedback_id)] if feedback_id and turn.mode == "llm" else []
    room.take(feedback)
    notice = [context(f":information_source: {untrusted(turn.notice, 1_000)}")] if turn.notice else []
    room.take(notice)
    cards: list[Block] = []
    cards_left_out = 0
    for index, proposal in enumerate(turn.proposals):
        card = proposal_card(proposal, proposal_ids[index] if index < len(proposal_ids) else None)
        if not room.add(cards, *card):
            cards_left_out += 1

    calls = shown_calls(turn)
    needs = [_need(render_result(call, room.copy())) for call in calls]
    structured_chars = min(sum(n[1] for n in needs if n is not None), room.chars)
    show_reply = with_prose and bool(turn.reply.strip()) and (turn.mode == "llm" or not calls or None in needs)
    prose: list[Block] = []
    if show_reply:
        limit = room.chars if not calls else max(room.chars - structured_chars, room.chars // 2)
        prose = prose_blocks(turn.reply, limit=limit, as_markdown=turn.mode == "llm")
        while prose and not room.fits(prose):
            prose.pop()
        room.take(prose)

    sections: list[Block] = []
    left_out = cards_left_out > 0
    for index, call in enumerate(calls):
        if needs[index] is None:
            continue
        # Each result gets what it needs if it can, else a fair share of what is left. A renderer
        # keeps some room free while it adds rows (for its "…and N more"): the pad, never used up.
        pending = [n for n in needs[index:] if n is not None]
        share = room
        if sum(n[0] for n in pending) > room.blocks or sum(n[1] for n in pending) > room.chars:
            share = Room(min(room.blocks, fair_share([n[0] for n in pending], room.blocks) + PAD_BLOCKS),
                         min(room.chars, fair_share([n[1] for n in pending], room.chars) + PAD_CHARS),
                         room.tables)
        blocks = render_result(call, share.copy()) or []
        if not blocks and call.result.status != "proposal":
            left_out = True
        sections += room.take(blocks)
    tail = [context(LEFT_OUT)] if left_out else []
    blocks = prose + sections + cards + tail + notice
    if not blocks and with_prose:
        blocks = [section(untrusted(turn.reply, 2_000) or "Done.")]
    return SlackMessage(_fallback(turn, blocks), unique_block_ids(blocks + feedback))


def render_outcome(outcome: Outcome, *, actor_slack_id: str | None = None) -> SlackMessage:
    """What a confirmed proposal did; replaces the card's buttons. ``actor_slack_id`` (``U…``) is
    mentioned as the person who confirmed."""
    blocks = outcome_blocks(outcome.ok, outcome.summary, outcome.lines, maybe_applied=outcome.maybe_applied,
                            actor_slack_id=actor_slack_id)
    return SlackMessage(untrusted(outcome.summary, FALLBACK_CHARS) or "Done.",
                        unique_block_ids(blocks or [section("Done.")]))


def render_notice(text: str) -> SlackMessage:
    """A short notice (a refusal, an expired confirmation), escaped."""
    safe = untrusted(text, 2_000) or "…"
    return SlackMessage(untrusted(text, FALLBACK_CHARS) or "…", [section(f":information_source: {safe}")])
