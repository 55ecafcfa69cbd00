"""A :class:`~bot.agent.turn.Turn` as terminal text: the reply, proposal boxes, the notice.

Pure functions (turn in, string out); colour is ANSI and only when asked for (:func:`use_color`: the
stream is a terminal and ``NO_COLOR`` is not set). Text from PagerDuty is shown as data: control
characters (a title carrying an escape sequence) are removed before anything reaches the terminal.

Replies are written for Slack too (mrkdwn), and a model may answer in Markdown: :func:`plain` turns both
into plain text (``*bold*`` and ``**bold**`` lose their stars, a code span is quoted, ``<url|label>`` is
"label (url)", ``<!date^…|fallback>`` its fallback, ``:emoji:`` shortcodes a character or nothing).
:func:`wrap` breaks long lines at word boundaries to the terminal's width, with hanging indents for
bullets and proposal boxes.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TextIO

from bot.agent.turn import Turn
from bot.tools.base import Proposal
from bot.tools.proposals import Outcome

CONFIRM_PROMPT = "confirm? [y/N]"

_RESET = "\033[0m"
BOLD, DIM, RED, GREEN, YELLOW, CYAN = "1", "2", "31", "32", "33", "36"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LABELLED_LINK = re.compile(r"<((?:https?|mailto):[^|>\s]+)\|([^>]+)>")
_BARE_LINK = re.compile(r"<((?:https?|mailto):[^|>\s]+)>")
_DATE = re.compile(r"<!date\^(\d{1,12})\^[^|>]*(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(here|channel|everyone)(?:\|[^>]*)?>")
_SUBTEAM = re.compile(r"<!subteam\^[A-Z0-9]+(?:\|([^>]*))?>")
_MENTION = re.compile(r"<([@#])([A-Z0-9]+)(?:\|([^>]*))?>")
_FENCE = re.compile(r"^[ \t]*```[a-z]*[ \t]*$\n?", re.MULTILINE)
_CODE = re.compile(r"`([^`\n]+)`")
_STRONG = re.compile(r"(?<![\w*])\*\*(?=\S)([^*\n]+?)(?<=\S)\*\*(?![\w*])")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")
_HEADING = re.compile(r"^#{1,6}[ \t]+", re.MULTILINE)
_SHORTCODE = re.compile(r"(?<![\w:]):([a-z][a-z0-9_+-]*):(?![\w:])( ?)")
_EMOJI = {
    "warning": "⚠", "white_check_mark": "✓", "heavy_check_mark": "✓", "ballot_box_with_check": "✓",
    "x": "✗", "heavy_multiplication_x": "✗", "no_entry": "⛔", "no_entry_sign": "⛔", "rotating_light": "🚨",
    "fire": "🔥", "eyes": "👀", "information_source": "ℹ", "hourglass": "⌛", "hourglass_flowing_sand": "⏳",
    "bell": "🔔", "red_circle": "●", "large_green_circle": "●", "large_yellow_circle": "●",
    "arrow_right": "→", "point_right": "→", "calendar": "📅", "pager": "📟", "memo": "📝",
}
"""The shortcodes alex's replies and models use; any other shortcode is left out (it is decoration)."""
_SGR = re.compile(r"\033\[[0-9;]*m")
_HANG = re.compile(r"^((?:\033\[[0-9;]*m)*[│┌└]?(?:\033\[[0-9;]*m)*[ \t]*(?:(?:[•\-–*]|\d{1,3}[.)])[ \t]+)?)")
MIN_WRAP_WIDTH = 24
"""Narrower than this, lines are left as they are (wrapping would only make it worse)."""


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


def clean(text: str, *, color: bool = False) -> str:
    """Text safe for a terminal, in plain text (:func:`plain`): no control characters, no mrkdwn."""
    return plain(_CONTROL.sub("", text.replace("\r\n", "\n")), color=color)


def plain(text: str, *, color: bool = False) -> str:
    """Slack mrkdwn (and the Markdown a model may write) as plain text; bold stays bold with colour."""
    text = _DATE.sub(lambda m: m.group(2) or _epoch(m.group(1)), text)
    text = _SPECIAL.sub(lambda m: f"@{m.group(1)}", text)
    text = _SUBTEAM.sub(lambda m: m.group(1) or "@group", text)
    text = _MENTION.sub(lambda m: m.group(1) + (m.group(3) or m.group(2)).lstrip(m.group(1)), text)
    text = _LABELLED_LINK.sub(_link, text)
    text = _BARE_LINK.sub(lambda m: m.group(1).removeprefix("mailto:"), text)
    text = _FENCE.sub("", text)
    text = _CODE.sub(lambda m: paint(_quoted(m.group(1)), CYAN, color=color), text)
    text = _STRONG.sub(lambda m: paint(m.group(1), BOLD, color=color), text)
    text = _BOLD.sub(lambda m: paint(m.group(1), BOLD, color=color), text)
    text = _ITALIC.sub(lambda m: m.group(1), text)
    text = _STRIKE.sub(lambda m: m.group(1), text)
    text = _HEADING.sub("", text)
    text = _SHORTCODE.sub(lambda m: _EMOJI[m.group(1)] + m.group(2) if m.group(1) in _EMOJI else "", text)
    # Only Slack's own three entities: a general unescape could make control characters (&#27;).
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _quoted(code: str) -> str:
    """A code span as the words to type, in quotes that are not part of it."""
    if '"' not in code:
        return f'"{code}"'
    return f"'{code}'" if "'" not in code else code


def _link(match: re.Match[str]) -> str:
    url, label = match.group(1), match.group(2)
    address = url.removeprefix("mailto:")
    return address if label.strip() in (url, address) else f"{label} ({address})"


def _epoch(seconds: str) -> str:
    try:
        return datetime.fromtimestamp(int(seconds), UTC).strftime("%a %d %b %H:%M UTC")
    except (OverflowError, OSError, ValueError):
        return seconds


def terminal_width(stream: TextIO) -> int | None:
    """The width to wrap at: the terminal's (``shutil.get_terminal_size``); None when ``stream`` is no
    terminal (a pipe or a file gets lines whole, for scripts)."""
    isatty = getattr(stream, "isatty", None)
    if isatty is None or not isatty():
        return None
    return shutil.get_terminal_size().columns


def wrap(text: str, width: int | None) -> str:
    """``text`` with every line longer than ``width`` broken at spaces, never inside a word.

    A continued line keeps the line's indent, bullet (``•``, ``-``, ``1.``) and proposal box edge
    (``│``) as a hanging indent; colour codes take no width. A word longer than a line stays whole.
    """
    if width is None or width < MIN_WRAP_WIDTH:
        return text
    return "\n".join(_wrap_line(line, width) for line in text.split("\n"))


def _visible(text: str) -> int:
    return len(_SGR.sub("", text))


def _wrap_line(line: str, width: int) -> str:
    if _visible(line) <= width:
        return line
    lead = _HANG.match(line)
    prefix = lead.group(1) if lead else ""
    hang = "".join("│" if ch in "│┌└" else " " for ch in _SGR.sub("", prefix))
    if len(hang) > width // 2:
        hang = ""
    rows: list[str] = []
    current, length = prefix, _visible(prefix)
    fresh = True  # nothing but the prefix on the current row yet
    for word in line[len(prefix):].split(" "):
        size = _visible(word)
        if not fresh and length + 1 + size > width:
            rows.append(current.rstrip())
            current, length, fresh = hang + word, len(hang) + size, False
            continue
        current += word if fresh else " " + word
        length += size if fresh else 1 + size
        fresh = False
    rows.append(current.rstrip())
    return "\n".join(rows)


def render_turn(turn: Turn, *, color: bool = False, prompt: str | None = CONFIRM_PROMPT,
                proposals: bool = True) -> str:
    """The reply, a box for each proposal (ending in ``prompt``), then the notice, dimmed.

    ``proposals=False`` leaves the boxes out (the chat shows them one by one as it asks).
    """
    parts = [clean(turn.reply, color=color).rstrip()]
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
