"""Proposals (what a write would do) and outcomes (what it did), as Block Kit and as plain text.

Write tools answer with a :class:`~bot.tools.base.Proposal`, not a result model, and execution with an
:class:`~bot.tools.proposals.Outcome`; this module is their one presenter.

A card shows in full every free text its operations would send (a note, a status update, a resolution
note, an incident's title and details): :func:`sent_texts` finds them in the operations' bodies, the
card renders them uncut and escaped (split over several sections when long), and then checks that each
one is in the card's text. When one is not (too long to show, or not among the proposal's lines), the
card says so and has no Confirm button: nobody confirms text they could not read.

The plain text (command mode, the terminal) says what a write that ran did, one sentence per target
("Acknowledged #1004 and #1007. #1010 was already acknowledged."), from the outcome's typed entries and
the proposal's typed fields; it never parses the proposal's or the outcome's prose.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.present.kit.blocks import Block, actions, button, context, section
from bot.present.kit.escape import times_in, untrusted
from bot.present.kit.limits import MAX_SECTION, TAIL_CHARS, Room, note, pack
from bot.present.words import ISO, bullets, clean, join_and, pretty_times
from bot.tools.base import Proposal, TargetOutcome
from bot.tools.proposals import FIRST_WENT_THROUGH, Outcome
from bot.tools.results.writes import WriteRan

CONFIRM_ACTION = "proposal_confirm"
CANCEL_ACTION = "proposal_cancel"
CARD_CHARS = 7_000
"""Text one proposal card may use: a 2,000-character note or a 1,024-character title with 2,000 characters
of details fit in full, with their incidents; a card that would need more is refused, never cut."""
CARD_BLOCKS = 12
LINE_CHARS = 400
"""A line that carries none of the sent text (an incident's current state) is cut at this."""
STRUCTURAL_KEYS = frozenset({"id", "type", "status", "urgency", "start", "end", "time_zone", "requester_id"})
"""Body keys whose string values are references, states or times, not text a person wrote."""
STATUS_ACTIONS = {"acknowledge_incidents": "Acknowledged", "resolve_incidents": "Resolved"}
"""The bulk status writes, and the word their plain-text outcome starts with."""
_SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,30}")
_ENTITY_CHARS = 5  # "&amp;" is the longest escape a cut must not split


# --------------------------------------------------------------------------- Block Kit: the card


def _text(value: str, limit: int) -> str:
    """Untrusted text with its ISO times shown as dates."""
    return times_in(untrusted(value, limit))


def sent_texts(proposal: Proposal) -> list[str]:
    """Every free-text string the proposal's operations send (all strings in their bodies but those
    under :data:`STRUCTURAL_KEYS`), each once, in order."""
    found: list[str] = []

    def walk(node: object, key: str | None) -> None:
        if isinstance(node, dict):
            for name, value in node.items():
                walk(value, str(name))
        elif isinstance(node, list):
            for value in node:
                walk(value, key)
        elif isinstance(node, str) and node.strip() and key not in STRUCTURAL_KEYS:
            found.append(node)

    for operation in proposal.operations:
        walk(operation.body, None)
    return list(dict.fromkeys(found))


def proposal_card(proposal: Proposal, proposal_id: str | None) -> list[Block]:
    """The card: what will change (every sent text in full), what is left alone, and (with an id and
    something to do) the buttons; a refusal with no buttons when the sent text cannot be shown in full."""
    doing = bool(proposal.operations)
    icon, word = (":pencil2:", "Proposed") if doing else (":information_source:", "Nothing to do")
    summary = _text(proposal.headline, 600)
    texts = sent_texts(proposal)
    lines = [f"• {_full(line) if any(t in line for t in texts) else _text(line, LINE_CHARS)}"
             for line in proposal.lines]
    out = [section(text) for text in _sections([f"{icon} *{word}:* {summary}", *lines])]
    room = Room(blocks=CARD_BLOCKS, chars=CARD_CHARS)
    room.take(out)
    buttons: list[Block] = []
    if doing and proposal_id:
        buttons = [actions([
            button("Confirm", CONFIRM_ACTION, proposal_id, style="primary"),
            button("Cancel", CANCEL_ACTION, proposal_id),
        ], block_id=f"proposal:{proposal_id[:200]}")]
        room.take(buttons)
    if doing and (room.blocks < 0 or room.chars < 0 or not shows_in_full(out, texts)):
        return _refused(summary, texts)
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


def shows_in_full(blocks: Sequence[Block], texts: Sequence[str]) -> bool:
    """Whether every one of ``texts`` appears, escaped and uncut, in the sections of ``blocks`` (a text
    split over consecutive sections counts: they are read as one)."""
    shown = "".join(str((b.get("text") or {}).get("text") or "") for b in blocks if b.get("type") == "section")
    return all(_full(text) in shown for text in texts)


def _full(text: str) -> str:
    return untrusted(text)


def _sections(lines: Sequence[str]) -> list[str]:
    """``lines`` packed into section texts of at most :data:`MAX_SECTION` characters; a longer line
    continues in the next section (cut at a space, never inside an escape)."""
    out: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= MAX_SECTION:
            current = candidate
            continue
        if current:
            out.append(current)
        while len(line) > MAX_SECTION:
            cut = _cut_at(line, MAX_SECTION)
            out.append(line[:cut])
            line = line[cut:]
        current = line
    return [*out, current] if current else out


def _cut_at(text: str, limit: int) -> int:
    space = text.rfind(" ", limit // 2, limit)
    cut = space + 1 if space > 0 else limit
    amp = text.rfind("&", max(0, cut - _ENTITY_CHARS + 1), cut)
    return amp if amp > 0 and ";" not in text[amp:cut] else cut


def _refused(summary: str, texts: Sequence[str]) -> list[Block]:
    longest = max((len(_full(t)) for t in texts), default=0)
    return [
        section(f":no_entry: *Can't be confirmed here:* {summary}"),
        section("What this change would send is too long to show in full on one card (its longest text is "
                f"{longest:,} characters once made safe for Slack), and alex never asks anyone to confirm "
                "what they cannot read. Ask again with a shorter text, or make the change in PagerDuty itself."),
    ]


# --------------------------------------------------------------------------- Block Kit: the outcome


def outcome_blocks(ok: bool, summary: str, lines: Sequence[str], *, maybe_applied: bool = False,
                   actor_slack_id: str | None = None, room: Room | None = None) -> list[Block]:
    """What a write did: its summary, a bullet per line, and (``U…``) who confirmed it."""
    room = room if room is not None else Room()
    icon = ":warning:" if maybe_applied else ":white_check_mark:" if ok else ":x:"
    by = f"By <@{actor_slack_id}>" if actor_slack_id and _SLACK_USER.fullmatch(actor_slack_id) else ""
    out = pack(room, f"{icon} {_text(summary, MAX_SECTION // 2)}", [f"• {_text(line, 400)}" for line in lines],
               keep_chars=TAIL_CHARS, keep_blocks=1)
    if by:
        room.add(out, context(by))
    return out


def render_executed(outcome: Outcome, ran: WriteRan, room: Room) -> list[Block]:
    """A write that command mode already ran: its outcome (``ran``: the proposal it ran, as shown)."""
    lines = list(outcome.lines) or list(ran.no_ops)
    return outcome_blocks(outcome.ok, outcome.summary or ran.summary or "Done.", lines,
                          maybe_applied=outcome.maybe_applied, room=room)


# --------------------------------------------------------------------------- plain text


def proposal_text(proposal: Proposal) -> str:
    """A write waiting for a click, as text: what would change and what is left alone."""
    return "\n".join([f"{proposal.summary}: confirm below.", *proposal.lines, *proposal.noops])


def write_text(proposal: Proposal, outcome: Outcome, time_zone: str | None) -> str:
    """What an executed write did: "Acknowledged #1004 and #1007. #1010 was already acknowledged."; its
    times (from the proposal's and the outcome's lines) as ``Fri 13 Mar 16:00``, the zone named once."""
    done_word = STATUS_ACTIONS.get(proposal.action)
    if not outcome.ok:
        text = "\n".join([outcome.summary, *bullets(outcome.lines)])
    elif done_word is not None:
        text = _status_text(done_word, proposal, outcome)
    elif proposal.action == "add_incident_note":
        text = f"Added your note to {proposal.target_label or 'the incident'}."
    else:
        text = "\n".join([f"Done: {proposal.summary[:1].lower()}{proposal.summary[1:]}.",
                          *bullets(proposal.lines[1:]), *bullets(outcome.lines)])
    if time_zone and ISO.search(text):
        text = pretty_times(text) + f"\nTimes are in {time_zone}."
    return text


def _status_text(done_word: str, proposal: Proposal, outcome: Outcome) -> str:
    changed = [entry for entry in outcome.entries if entry.status == "done" and entry.incident_number is not None
               and entry.state in ("acknowledged", "resolved")]
    sentences: list[str] = []
    if changed:
        sentences.append(f"{done_word} {join_and([entry.target for entry in changed])}.")
    sentences += [_noop_sentence(entry) for entry in outcome.entries if entry not in changed]
    if any(entry.reason == "first_went_through" for entry in outcome.entries):
        sentences.append(FIRST_WENT_THROUGH)
    text = " ".join(sentences) or outcome.summary
    details = bullets(clean(entry.label or entry.target, 120) for entry in changed)
    if proposal.resolution_note and changed:
        details.append(f"Resolution note: {proposal.resolution_note}")
    return "\n".join([text, *details])


def _noop_sentence(entry: TargetOutcome) -> str:
    ref = entry.target if entry.incident_number is not None else None
    if ref and entry.reason == "would_reopen":
        return f"{ref} is resolved, so it was left alone (acknowledging would reopen it)."
    if ref and entry.reason == "changed_meanwhile":
        return f"{ref} was resolved in the meantime, so it was not reopened."
    if ref and entry.reason == "already" and entry.state in ("acknowledged", "resolved"):
        return f"{ref} was already {entry.state}."
    text = clean(entry.detail, 200)
    return text if text.endswith(".") else text + "."
