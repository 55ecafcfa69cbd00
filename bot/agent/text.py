"""A :class:`~bot.agent.turn.Turn` as terminal text: the reply, proposal boxes, the notice.

Pure functions (turn in, string out); colour is ANSI and only when asked for (:func:`use_color`: the
stream is a terminal and ``NO_COLOR`` is not set). Text from PagerDuty is shown as data: control
characters (a title carrying an escape sequence) are removed before anything reaches the terminal.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import TextIO

from bot.agent.turn import Turn
from bot.tools.base import Proposal
from bot.tools.proposals import Outcome

CONFIRM_PROMPT = "confirm? [y/N]"

_RESET = "\033[0m"
BOLD, DIM, RED, GREEN, YELLOW, CYAN = "1", "2", "31", "32", "33", "36"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LABELLED_LINK = re.compile(r"<(https?://[^|>\s]+)\|([^>]+)>")
_BARE_LINK = re.compile(r"<(https?://[^|>\s]+)>")


def use_color(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set (https://no-color.org)."""
    env = os.environ if environ is None else environ
    if env.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


def paint(text: str, *codes: str, color: bool) -> str:
    if not color or not codes or not text:
        return text
    return f"\033[{';'.join(codes)}m{text}{_RESET}"


def clean(text: str) -> str:
    """Text safe for a terminal, with Slack-style links (``<url|label>``) written out."""
    text = _CONTROL.sub("", text.replace("\r\n", "\n"))
    text = _LABELLED_LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", text)
    return _BARE_LINK.sub(lambda m: m.group(1), text)


def render_turn(turn: Turn, *, color: bool = False, prompt: str | None = CONFIRM_PROMPT,
                proposals: bool = True) -> str:
    """The reply, a box for each proposal (ending in ``prompt``), then the notice, dimmed.

    ``proposals=False`` leaves the boxes out (the chat shows them one by one as it asks).
    """
    parts = [clean(turn.reply).rstrip()]
    if proposals:
        parts += [render_proposal(p, color=color, prompt=prompt) for p in turn.proposals]
    if turn.notice:
        parts.append(paint(f"note: {clean(turn.notice)}", DIM, color=color))
    return "\n\n".join(part for part in parts if part)


def render_proposal(proposal: Proposal, *, color: bool = False, prompt: str | None = CONFIRM_PROMPT) -> str:
    """A box: the summary, what will change, what is left alone, and the confirmation prompt."""
    def edge(char: str) -> str:
        return paint(char, YELLOW, color=color)

    rows = [f"{edge('┌')} {paint(clean(proposal.summary), BOLD, color=color)}"]
    rows += [f"{edge('│')}   {clean(line)}" for line in proposal.lines]
    rows += [f"{edge('│')}   {paint('no change: ' + clean(line), DIM, color=color)}" for line in proposal.noops]
    if not proposal.operations:
        footer = "nothing to confirm"
    else:
        footer = prompt or "not done yet: it needs your confirmation"
    rows.append(f"{edge('└')} {paint(footer, YELLOW, color=color)}")
    return "\n".join(rows)


def render_outcome(outcome: Outcome, *, color: bool = False) -> str:
    """What executing a confirmed proposal did."""
    if outcome.maybe_applied:
        head = paint(f"? {clean(outcome.summary)}", YELLOW, BOLD, color=color)
    elif outcome.ok:
        head = paint(f"✓ {clean(outcome.summary)}", GREEN, color=color)
    else:
        head = paint(f"✗ {clean(outcome.summary)}", RED, color=color)
    return "\n".join([head, *(f"  {clean(line)}" for line in outcome.lines)])


def render_stats(turn: Turn, *, color: bool = False) -> str:
    """One dim line on how the answer was made: mode, PagerDuty requests, LLM calls, tokens, time."""
    mode = "LLM" if turn.mode == "llm" else "command mode"
    parts = [mode, f"{turn.pd_requests} PagerDuty request{'s' * (turn.pd_requests != 1)}",
             f"{turn.llm_calls} LLM call{'s' * (turn.llm_calls != 1)}"]
    if turn.usage.total:
        parts.append(f"{turn.usage.total} tokens")
    if "total" in turn.timings:
        parts.append(f"{turn.timings['total']:.0f} ms")
    return paint("(" + " · ".join(parts) + ")", DIM, color=color)
