"""Free text as blocks: the model's Markdown in a ``markdown`` block, plain replies in mrkdwn sections.

The model's prose is untrusted like any tool data (it may echo an incident title). Links survive only
when they point at PagerDuty (as ``[label](url)``); other links keep their label and show the URL
defanged. ``& < >`` are escaped everywhere but in link destinations: Slack parses its ``<…>`` tokens
inside markdown blocks too, shows ``&lt;`` as ``<`` without re-reading it as a token, and does not
decode entities in a link destination. A quote marker (``>`` at the start of a line) is kept.
"""

from __future__ import annotations

import re

from bot.present.kit.blocks import Block, markdown, section
from bot.present.kit.escape import defang, escape, is_pagerduty_url, strip_controls, url_attr
from bot.present.kit.limits import MAX_SECTION

_SLACK_LINK = re.compile(r"<([a-zA-Z][a-zA-Z0-9+.-]*:[^|>\s]+)(?:\|([^>\n]*))?>")
_MD_LINK = re.compile(r"\[([^\]\n]{0,300})\]\(\s*<?([^()\s<>]+)>?\s*\)")
_HELD = re.compile("\x00(\\d+)\x00")
_QUOTE = re.compile(r"^(\s{0,3})>")
_FENCE = "```"
CUT_NOTE = "_…the rest of this answer was cut: it is too long for one Slack message._"
CUT_NOTE_MRKDWN = "_…the rest was cut: too long for one Slack message._"


def _safe(text: str, *, slack_links: bool) -> str:
    """Escaped text keeping only PagerDuty links: as ``[label](url)`` for a markdown block, or as
    ``<url|label>`` for mrkdwn (``slack_links``)."""
    held: list[str] = []

    def hold(value: str) -> str:
        held.append(value)
        return f"\x00{len(held) - 1}\x00"

    def labelled(url: str, label: str) -> str:
        label = " ".join(label.replace("[", "(").replace("]", ")").split())
        if is_pagerduty_url(url):
            shown = escape(label or url)
            if slack_links:
                return hold(f"<{url_attr(url)}|{shown}>")
            # Slack does not decode entities in a Markdown link destination: the URL goes as is.
            return hold(f"[{shown}]({url.replace('(', '%28').replace(')', '%29')})")
        return f"{label} ({url})" if label and label != url else url

    text = strip_controls(text)
    text = _SLACK_LINK.sub(lambda m: labelled(m.group(1), m.group(2) or ""), text)
    text = _MD_LINK.sub(lambda m: labelled(m.group(2), m.group(1)), text)
    lines = []
    for line in defang(text).split("\n"):
        quote = _QUOTE.match(line)
        if quote:
            lines.append(quote.group(1) + ">" + escape(line[quote.end():]))
        else:
            lines.append(escape(line))
    return _HELD.sub(lambda m: held[int(m.group(1))], "\n".join(lines)).strip()


def markdown_text(text: str) -> str:
    """The model's Markdown made safe for a ``markdown`` block."""
    return _safe(text, slack_links=False)


def summary_text(text: str, limit: int) -> str:
    """The model's prose as one line of mrkdwn (the notification text), at most ``limit`` characters."""
    line = " ".join(_safe(text, slack_links=True).replace("**", "*").split())
    if len(line) <= limit:
        return line
    return cut(line, limit, "…").replace("\n\n…", "…")


def mrkdwn_text(text: str) -> str:
    """Plain reply text (command mode) safe for mrkdwn: escaped, links defanged, lines kept."""
    return "\n".join(escape(defang(line)) for line in strip_controls(text).split("\n")).strip()


def cut(text: str, limit: int, note: str) -> str:
    """``text`` within ``limit`` characters: cut at a paragraph or line end, open code fences closed,
    ``note`` appended. Never inside an entity (``&amp;``) or a ``<…>`` token."""
    if len(text) <= limit:
        return text
    room = max(limit - len(note) - len(_FENCE) - 4, 0)
    head = text[:room]
    for boundary in ("\n\n", "\n", " "):
        at = head.rfind(boundary)
        if at >= room // 2:
            head = head[:at]
            break
    head = re.sub(r"&[a-z]*$", "", head)
    opened = head.rfind("<")
    if opened > head.rfind(">"):
        head = head[:opened]
    head = head.rstrip()
    if head.count(_FENCE) % 2:
        head += "\n" + _FENCE
    return (head + "\n\n" + note).strip() if head else note


def split_lines(text: str, limit: int = MAX_SECTION) -> list[str]:
    """``text`` in chunks of at most ``limit`` characters, split at line ends (long lines cut)."""
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            piece = cut(line, limit, "…")
            chunks.append(piece)
            line = ""
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            if current:
                chunks.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        chunks.append(current)
    return [c for c in chunks if c.strip()]


def prose_blocks(text: str, *, limit: int, as_markdown: bool) -> list[Block]:
    """The blocks for ``text`` using at most ``limit`` characters of block text."""
    if as_markdown:
        safe = markdown_text(text)
        return [markdown(cut(safe, limit, CUT_NOTE))] if safe and limit > len(CUT_NOTE) else []
    safe = mrkdwn_text(text)
    if not safe or limit <= len(CUT_NOTE_MRKDWN):
        return []
    return [section(chunk) for chunk in split_lines(cut(safe, limit, CUT_NOTE_MRKDWN))]
