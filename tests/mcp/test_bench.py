"""The ``make bench`` row for ``alex mcp``: the seed prompts through the MCP server, beside PagerDuty's MCP."""

from __future__ import annotations

from benchmarks.mcp import measure, table


async def test_the_seed_prompts_take_four_calls_and_a_fraction_of_pagerduty_mcps_characters() -> None:
    figures = await measure()
    assert figures.seed_tool_calls == 4 and figures.seed_errors == 0
    assert 0 < figures.seed_structured_chars <= figures.pagerduty_seed_result_chars / 10
    assert 0 < figures.seed_text_chars < figures.seed_structured_chars
    assert figures.schema_chars_read_only < figures.schema_chars_with_writes < figures.pagerduty_schema_chars / 3
    text = table(figures)
    assert "| seed prompts: tool calls | 4 | 7 |" in text and "140,562" in text and "124,947" in text
