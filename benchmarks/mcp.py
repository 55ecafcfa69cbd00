"""``alex mcp`` beside PagerDuty's own MCP server: schema size, and the seed prompts' tool calls and results.

alex's figures are measured through its MCP server (the SDK's client, in process, over JSON-RPC) on the
demo account: the ``tools/list`` JSON (read-only, and with the write tools), and for each of the seed's
four prompts the tool calls its script makes and the characters of what comes back (``structuredContent``
as compact JSON, and the text content). PagerDuty's figures are the ones issue #16 measured on the same
account with PagerDuty's MCP server (``pagerduty-mcp-server``, about 100 raw CRUD tools).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import mcp.types as types
from mcp import Client

from benchmarks.prompts import build_prompts
from bot.mcp.confirm import Confirmations
from bot.mcp.server import AlexMcp
from bot.store.memory import MemoryState
from bot.terminal.session import sandbox_session
from bot.tools.registry import ALL_TOOLS, READ_TOOLS

PAGERDUTY_MCP_SCHEMA_CHARS = 140_562
"""PagerDuty's MCP server's tool list, write tools included (issue #16)."""
PAGERDUTY_MCP_SEED_CALLS = 7
PAGERDUTY_MCP_SEED_RESULT_CHARS = 124_947
"""Its results for the four seed prompts on the demo account (issue #16)."""


@dataclass(frozen=True)
class McpFigures:
    schema_chars_read_only: int
    schema_chars_with_writes: int
    seed_tool_calls: int
    seed_structured_chars: int
    seed_text_chars: int
    seed_errors: int
    pagerduty_schema_chars: int = PAGERDUTY_MCP_SCHEMA_CHARS
    pagerduty_seed_tool_calls: int = PAGERDUTY_MCP_SEED_CALLS
    pagerduty_seed_result_chars: int = PAGERDUTY_MCP_SEED_RESULT_CHARS


def _chars(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def _listing_chars(tools: types.ListToolsResult) -> int:
    return _chars([tool.model_dump(mode="json", by_alias=True, exclude_none=True) for tool in tools.tools])


async def measure() -> McpFigures:
    session = sandbox_session("demo")
    state = MemoryState()
    try:
        confirmations = Confirmations(state.proposals, state, session.asker, 600.0)
        with_writes = AlexMcp(session, ALL_TOOLS, confirmations=confirmations).server()
        async with Client(with_writes, mode="legacy") as client:
            writes_chars = _listing_chars(await client.list_tools())
        calls = structured = text = errors = 0
        async with Client(AlexMcp(session, READ_TOOLS).server(), mode="legacy") as client:
            read_chars = _listing_chars(await client.list_tools())
            assert session.sandbox is not None
            for prompt in (p for p in build_prompts(session.sandbox, session.asker.time_zone) if p.seed):
                for name, arguments in prompt.alex:
                    reply = await client.call_tool(name, arguments)
                    calls += 1
                    errors += reply.is_error
                    structured += _chars(reply.structured_content) if reply.structured_content is not None else 0
                    text += sum(len(block.text) for block in reply.content if isinstance(block, types.TextContent))
    finally:
        await state.aclose()
        await session.aclose()
    return McpFigures(read_chars, writes_chars, calls, structured, text, errors)


def table(figures: McpFigures) -> str:
    f = figures
    return "\n".join([
        "| `alex mcp` (demo account) | alex | PagerDuty's MCP server | × |", "|---|---:|---:|---:|",
        f"| tools/list schema, chars (with writes; read-only) | {f.schema_chars_with_writes:,} "
        f"({f.schema_chars_read_only:,}) | {f.pagerduty_schema_chars:,} | "
        f"{f.pagerduty_schema_chars / f.schema_chars_with_writes:.1f}× |",
        f"| seed prompts: tool calls | {f.seed_tool_calls} | {f.pagerduty_seed_tool_calls} | "
        f"{f.pagerduty_seed_tool_calls / max(1, f.seed_tool_calls):.1f}× |",
        f"| seed prompts: result chars (structuredContent; text) | {f.seed_structured_chars:,} "
        f"({f.seed_text_chars:,}) | {f.pagerduty_seed_result_chars:,} | "
        f"{f.pagerduty_seed_result_chars / max(1, f.seed_structured_chars):.1f}× |",
    ])
