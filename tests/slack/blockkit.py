"""Validate Block Kit payloads: the JSON Schema in shared/specs plus the message-level rules it leaves out.

    from tests.slack.blockkit import assert_valid
    assert_valid(message.blocks, text=message.text)

The schema (``slack-block-kit.schema.json``, JSON Schema 2020-12) is found through ``$SLACK_SPECS_DIR``,
else ``<repo>/../shared/specs``; when it is absent the schema part skips the test with a message, after
our own checks have run. Our checks (:func:`message_problems`), for a message:

* at most 50 blocks, unique ``block_id``\\ s, at most one ``table``;
* markdown blocks at most 12,000 characters together; section text at most 3,000;
* all text at most 11,000 characters (Slack's undocumented ``msg_blocks_too_long`` is ~12-13k);
* action IDs unique within a block; a non-empty fallback ``text`` when given;
* no live broadcast (``<!here>``, ``<!channel>``, ``<!everyone>``) and every link, button URL and
  rich-text link pointing at ``https://*.pagerduty.com``.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from tests.specs import BLOCK_KIT, missing

SPEC_ENV_VAR = "SLACK_SPECS_DIR"
SCHEMA_FILENAME = "slack-block-kit.schema.json"
_REPO_ROOT = Path(__file__).resolve().parents[2]

MAX_BLOCKS = 50
MAX_TABLES = 1
MAX_MARKDOWN_TOTAL = 12_000
MAX_SECTION_TEXT = 3_000
MAX_TOTAL_TEXT = 11_000

_TOKEN = re.compile(r"<([^<>]*)>")
_MARKDOWN_LINK = re.compile(r"\]\(([^()\s]+)\)")
_PAGERDUTY = re.compile(r"https://(?:[a-z0-9-]+\.)*pagerduty\.com(?:[/?#][^\s|<>]*)?")


def schema_path() -> Path | None:
    """``$SLACK_SPECS_DIR/slack-block-kit.schema.json``, else ``<repo>/../shared/specs/…``; None if absent."""
    configured = os.environ.get(SPEC_ENV_VAR)
    folder = Path(configured) if configured else _REPO_ROOT.parent / "shared" / "specs"
    candidate = folder / SCHEMA_FILENAME
    return candidate if candidate.is_file() else None


@functools.cache
def _validator(path: str) -> Draft202012Validator:
    schema = json.loads(Path(path).read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=FormatChecker())


def schema_problems(blocks: Sequence[dict[str, Any]]) -> list[str] | None:
    """The schema's complaints about ``blocks`` (None when the schema file is absent)."""
    path = schema_path()
    if path is None:
        return None
    errors = sorted(_validator(str(path)).iter_errors(list(blocks)), key=lambda e: list(e.absolute_path))
    return [f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in errors]


def _strings(node: Any, key: str | None = None) -> Iterator[tuple[str | None, str]]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, k)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item, key)
    elif isinstance(node, str):
        yield key, node


def text_size(blocks: Sequence[dict[str, Any]]) -> int:
    """Characters in every ``text`` string (text objects, markdown blocks, rich text, table cells)."""
    return sum(len(value) for key, value in _strings(list(blocks)) if key == "text")


def _nodes(node: Any) -> Iterator[dict[str, Any]]:
    """Every object in a blocks tree, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for item in node:
            yield from _nodes(item)


def _mrkdwn_texts(blocks: Sequence[dict[str, Any]]) -> Iterator[str]:
    """Texts Slack parses for ``<…>`` tokens: mrkdwn objects and markdown blocks."""
    return (n["text"] for n in _nodes(list(blocks))
            if n.get("type") in ("mrkdwn", "markdown") and isinstance(n.get("text"), str))


def _urls(blocks: Sequence[dict[str, Any]]) -> Iterator[str]:
    """URLs of buttons and rich-text links."""
    return (n["url"] for n in _nodes(list(blocks))
            if n.get("type") in ("button", "link") and isinstance(n.get("url"), str))


def link_problems(text: str) -> list[str]:
    """Live broadcasts and links to anything but PagerDuty in one mrkdwn/markdown text."""
    problems: list[str] = []
    for token in _TOKEN.findall(text):
        target = token.split("|", 1)[0]
        if target.startswith("!") and not target.startswith("!date^"):
            problems.append(f"live special token <{token[:60]}>")
        elif target.startswith(("@", "#")):
            if not re.fullmatch(r"@[UW][A-Z0-9]+", target):
                problems.append(f"mention token <{token[:60]}>")
        elif not target.startswith("!date^") and not _PAGERDUTY.fullmatch(target.replace("&amp;", "&")):
            problems.append(f"link to something other than PagerDuty: <{token[:80]}>")
    for url in _MARKDOWN_LINK.findall(text):
        if not _PAGERDUTY.fullmatch(url.replace("&amp;", "&")):
            problems.append(f"markdown link to something other than PagerDuty: {url[:80]}")
    if re.search(r"(?<![\w\u2060])@(?:here|channel|everyone)\b", text, re.IGNORECASE):
        problems.append("bare @here/@channel/@everyone")
    return problems


def message_problems(blocks: Sequence[dict[str, Any]], text: str | None = None) -> list[str]:
    """Our own message-level checks (see the module docstring)."""
    problems: list[str] = []
    if not blocks:
        problems.append("no blocks")
    if len(blocks) > MAX_BLOCKS:
        problems.append(f"{len(blocks)} blocks (max {MAX_BLOCKS})")
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        problems.append(f"duplicate block_id: {duplicates}")
    tables = sum(1 for b in blocks if b.get("type") == "table")
    if tables > MAX_TABLES:
        problems.append(f"{tables} tables (max {MAX_TABLES})")
    markdown = sum(len(b.get("text", "")) for b in blocks if b.get("type") == "markdown")
    if markdown > MAX_MARKDOWN_TOTAL:
        problems.append(f"{markdown} characters of markdown (max {MAX_MARKDOWN_TOTAL})")
    for index, block in enumerate(blocks):
        if block.get("type") == "section":
            size = len((block.get("text") or {}).get("text", ""))
            if size > MAX_SECTION_TEXT:
                problems.append(f"/{index}: section text of {size} characters (max {MAX_SECTION_TEXT})")
        action_ids = [e.get("action_id") for e in block.get("elements", []) if isinstance(e, dict)
                      and e.get("action_id")]
        if len(action_ids) != len(set(action_ids)):
            problems.append(f"/{index}: repeated action_id {action_ids}")
    total = text_size(blocks)
    if total > MAX_TOTAL_TEXT:
        problems.append(f"{total} characters of text (max {MAX_TOTAL_TEXT})")
    texts = list(_mrkdwn_texts(blocks))
    if text is not None:
        if not text.strip():
            problems.append("empty fallback text")
        texts.append(text)
    for value in texts:
        problems += link_problems(value)
    for url in _urls(blocks):
        if not _PAGERDUTY.fullmatch(url):
            problems.append(f"URL to something other than PagerDuty: {url[:80]}")
    return problems


def assert_valid(blocks: Sequence[dict[str, Any]], text: str | None = None) -> None:
    """Our checks, then the schema (the test is skipped, with a message, when the schema file is absent)."""
    problems = message_problems(blocks, text)
    assert not problems, "Block Kit message problems:\n" + "\n".join(problems)
    found = schema_problems(blocks)
    if found is None:
        missing(BLOCK_KIT)
    assert not found, "Block Kit schema errors:\n" + "\n".join(found)


assert_valid_message = assert_valid
"""The name the app's tests look for."""
