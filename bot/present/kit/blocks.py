"""Block Kit constructors: small dicts, never an empty text (Slack rejects those)."""

from __future__ import annotations

from typing import Any

Block = dict[str, Any]

MAX_BUTTON_TEXT = 75
MAX_CONTEXT_ELEMENTS = 10


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text or " "}


def plain(text: str, limit: int = 3_000) -> dict[str, Any]:
    text = text.strip() or " "
    return {"type": "plain_text", "text": text if len(text) <= limit else text[: limit - 1] + "…", "emoji": True}


def section(text: str, *, fields: list[str] | None = None, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if fields:
        block["fields"] = [mrkdwn(f) for f in fields[:10]]
    if block_id:
        block["block_id"] = block_id
    return block


def context(*texts: str) -> Block:
    return {"type": "context", "elements": [mrkdwn(t) for t in texts[:MAX_CONTEXT_ELEMENTS] if t] or [mrkdwn(" ")]}


def markdown(text: str) -> Block:
    return {"type": "markdown", "text": text or " "}


def confirm(title: str, text: str, yes: str, no: str = "Cancel") -> dict[str, Any]:
    return {"title": plain(title, 100), "text": plain(text, 300), "confirm": plain(yes, 30), "deny": plain(no, 30)}


def button(text: str, action_id: str, value: str, *, style: str | None = None,
           ask: dict[str, Any] | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "button", "text": plain(text, MAX_BUTTON_TEXT), "action_id": action_id,
                               "value": value[:2_000]}
    if style:
        element["style"] = style
    if ask:
        element["confirm"] = ask
    return element


def actions(elements: list[dict[str, Any]], block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": elements[:25]}
    if block_id:
        block["block_id"] = block_id[:255]
    return block


def table(rows: list[list[dict[str, Any]]], align: list[str | None] | None = None) -> Block:
    block: Block = {"type": "table", "rows": rows[:100]}
    if align:
        block["column_settings"] = [{"align": a} if a else None for a in align[:20]]
    return block


def cell(text: str) -> dict[str, Any]:
    return {"type": "raw_text", "text": text}


def link_cell(url: str, text: str) -> dict[str, Any]:
    """A table cell holding a link (``url`` must already be checked)."""
    return {"type": "rich_text", "elements": [
        {"type": "rich_text_section", "elements": [{"type": "link", "url": url, "text": text}]}]}
