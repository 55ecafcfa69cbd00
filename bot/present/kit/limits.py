"""Slack's message limits, and the budget every renderer draws from.

A message may hold 50 blocks, a section 3,000 characters, one table, 12,000 characters across markdown
blocks; Slack also rejects messages whose blocks carry more than about 12,000 characters of text in
all (``msg_blocks_too_long``, undocumented), so we keep to :data:`TEXT_BUDGET`. Renderers add blocks
through a :class:`Room` and end a list that does not fit with "…and N more" (a PagerDuty link).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from bot.present.kit.blocks import Block, context, section
from bot.present.kit.escape import is_pagerduty_url, url_attr

MAX_BLOCKS = 50
MAX_SECTION = 3_000
MAX_FIELD = 2_000
MAX_TABLES = 1
MARKDOWN_BUDGET = 12_000
TEXT_BUDGET = 11_000
"""Characters of text across all blocks of one message (Slack fails at ~12-13k)."""
TAIL_CHARS = 160
"""Room kept at the end of a list for its "…and N more" line."""


def text_size(blocks: Iterable[Any]) -> int:
    """Characters of text in ``blocks``: every ``text`` string (text objects, markdown, rich text, cells)."""
    total = 0

    def walk(node: Any) -> None:
        nonlocal total
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "text" and isinstance(value, str):
                    total += len(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(list(blocks))
    return total


def table_count(blocks: Iterable[Block]) -> int:
    return sum(1 for b in blocks if b.get("type") == "table")


@dataclass(slots=True)
class Room:
    """What is left of one message: blocks, text characters, tables."""

    blocks: int = MAX_BLOCKS
    chars: int = TEXT_BUDGET
    tables: int = MAX_TABLES

    def fits(self, blocks: Sequence[Block], *, keep_blocks: int = 0, keep_chars: int = 0) -> bool:
        return (len(blocks) + keep_blocks <= self.blocks and text_size(blocks) + keep_chars <= self.chars
                and table_count(blocks) <= self.tables)

    def take(self, blocks: Sequence[Block]) -> list[Block]:
        self.blocks -= len(blocks)
        self.chars -= text_size(blocks)
        self.tables -= table_count(blocks)
        return list(blocks)

    def add(self, out: list[Block], *blocks: Block, keep_blocks: int = 0, keep_chars: int = 0) -> bool:
        """Append ``blocks`` to ``out`` if they fit (leaving ``keep_*`` free); all or nothing."""
        if not blocks or not self.fits(blocks, keep_blocks=keep_blocks, keep_chars=keep_chars):
            return False
        out.extend(self.take(blocks))
        return True

    def copy(self) -> Room:
        return Room(self.blocks, self.chars, self.tables)


def more_line(count: int, url: str | None = None, what: str = "more") -> str:
    """``…and 12 more in PagerDuty`` (linked when ``url`` is a PagerDuty URL)."""
    text = f"…and {count} {what}"
    return text + (f" in <{url_attr(url)}|PagerDuty>" if url and is_pagerduty_url(url) else "")


def pack(room: Room, lead: str, lines: Sequence[str], *, total: int | None = None, url: str | None = None,
         what: str = "more", keep_chars: int = 0, keep_blocks: int = 0) -> list[Block]:
    """One section: ``lead`` and as many ``lines`` as fit (3,000 characters and the room), then
    "…and N more" for the rest of ``total``. Empty when not even the lead and one line fit."""
    total = len(lines) if total is None else max(total, len(lines))
    limit = min(MAX_SECTION, room.chars - keep_chars)
    text, shown = lead, 0
    for line in lines:
        candidate = f"{text}\n{line}" if text else line
        tail = TAIL_CHARS if shown + 1 < total else 0
        if len(candidate) + tail > limit:
            break
        text, shown = candidate, shown + 1
    if lines and not shown:
        return []
    if shown < total:
        tail_line = more_line(total - shown, url, what)
        text = f"{text}\n{tail_line}" if text else tail_line
    if not text or len(text) > limit or room.blocks - keep_blocks < 1:
        return []
    return room.take([section(text)])


def note(room: Room, *texts: str, keep_chars: int = 0) -> list[Block]:
    """A context line (small print) if it fits."""
    texts = tuple(t for t in texts if t)
    if not texts:
        return []
    out: list[Block] = []
    room.add(out, context(*texts), keep_chars=keep_chars)
    return out


def unique_block_ids(blocks: list[Block]) -> list[Block]:
    """Block IDs made unique within the message (``x``, ``x~2``…)."""
    seen: set[str] = set()
    for block in blocks:
        block_id = block.get("block_id")
        if not isinstance(block_id, str):
            continue
        candidate, n = block_id, 1
        while candidate in seen:
            n += 1
            suffix = f"~{n}"
            candidate = block_id[: 255 - len(suffix)] + suffix
        seen.add(candidate)
        block["block_id"] = candidate
    return blocks
