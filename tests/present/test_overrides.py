"""list_overrides: the typed result (wire JSON as the model reads it, times in the asker's zone) and its
presenter's blocks and text, including the empty answer that still names the schedule and window."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.present.kit.limits import Room
from bot.present.overrides import overrides_blocks, overrides_text
from bot.present.registry import presenter_for
from bot.present.results import result_blocks, result_text
from bot.sandbox import Sandbox
from bot.tools.base import ToolResult
from bot.tools.overrides import ListOverrides
from bot.tools.registry import TOOLS_BY_NAME
from bot.tools.results import WindowEcho
from bot.tools.results.overrides import Override, OverrideList
from bot.tools.runner import parse_arguments, run_parsed
from tests.tools.conftest import ContextFactory, demo, make_ctx

FIXTURES = (demo, make_ctx)
NY = ZoneInfo("America/New_York")
URL = "https://acme.pagerduty.com/schedules/PYHYQ1D"
ARGS = ListOverrides(schedule="Search On-call", window=None)
WEEK = WindowEcho(label="next week", start=datetime(2026, 3, 16, tzinfo=NY), end=datetime(2026, 3, 23, tzinfo=NY),
                  time_zone=NY.key)
LUKAS = Override(who="Lukas Fischer", start=datetime(2026, 3, 16, 10, tzinfo=NY),
                 end=datetime(2026, 3, 16, 22, tzinfo=NY), override_id="PO1", replaces="Noah Kim", rotation_id="R1")


def texts(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def shift_based(*rows: Override, total: int | None = None) -> OverrideList:
    return OverrideList(schedule="Search On-call", url=URL, window=WEEK, overrides=list(rows),
                        total=len(rows) if total is None else total,
                        kind="shift-based: each override replaces one rotation's member")


async def run(demo: Sandbox, make_ctx: ContextFactory, raw: dict[str, Any]) -> ToolResult[OverrideList]:
    tool = TOOLS_BY_NAME["list_overrides"]
    return await run_parsed(tool, parse_arguments(tool, raw), make_ctx(demo))


async def test_the_tool_answers_with_its_model(demo: Sandbox, make_ctx: ContextFactory) -> None:
    assert TOOLS_BY_NAME["list_overrides"].result is OverrideList and presenter_for("list_overrides") is not None
    result = await run(demo, make_ctx, {"schedule": "Platform Primary", "window": None})
    assert isinstance(result.value, OverrideList) and result.data == result.value.wire()
    (override,) = result.value.overrides
    assert override.in_progress and override.start.tzinfo == NY and result.value.shown_zone() == NY.key
    assert list(result.data["overrides"][0]) == ["who", "from", "to", "override_id", "in_progress"]
    assert result.data["overrides"][0]["from"] == "2026-03-10T07:00-04:00" and "kind" not in result.data


async def test_none_is_shown_with_its_schedule_and_zone(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result = await run(demo, make_ctx, {"schedule": "Mobile Primary", "window": None})
    assert result.status == "no_data" and isinstance(result.value, OverrideList)
    assert result.data["overrides"] == [] and result.data["total"] == 0
    args = ListOverrides(schedule="Mobile Primary", window=None)
    assert result_text("list_overrides", args, result) == (
        "No overrides on Mobile Primary in the next 14 days (Tue 10 Mar 10:00 – Tue 24 Mar 10:00).\n"
        "Times are in America/New_York.")
    blocks = result_blocks("list_overrides", args, result, Room())
    assert blocks is not None and len(blocks) == 1 and blocks[0]["type"] == "context"
    body = texts(blocks)
    assert "No overrides on <https://acme.pagerduty.com/schedules/" in body
    assert "|Mobile Primary> next 14 days (" in body


def test_wire_leaves_out_what_was_not_said() -> None:
    plain = Override(who="Ben", start=LUKAS.start, end=LUKAS.end, override_id=None)
    assert plain.wire() == {"who": "Ben", "from": "2026-03-16T10:00-04:00", "to": "2026-03-16T22:00-04:00",
                            "override_id": None}
    assert plain.but(ended=True).wire()["ended"] is True and "in_progress" not in plain.but(ended=True).wire()
    assert LUKAS.wire()["replaces"] == "Noah Kim" and LUKAS.wire()["rotation_id"] == "R1"
    wire = shift_based(LUKAS).wire()
    assert list(wire) == ["schedule", "url", "window", "overrides", "total", "kind"]


def test_shift_based_overrides_as_text_and_blocks() -> None:
    value = shift_based(LUKAS, LUKAS.but(override_id="PO2", ended=True, replaces=None), total=5)
    result = ToolResult.ok(value)
    assert overrides_text(result, ARGS) == [
        "5 overrides on Search On-call next week (Mon 16 Mar 00:00 – Mon 23 Mar 00:00):",
        "• Lukas Fischer: Mon 16 Mar 10:00–22:00, instead of Noah Kim [id PO1]",
        "• Lukas Fischer: Mon 16 Mar 10:00–22:00 (ended) [id PO2]",
        "…and 3 more.",
        "(shift-based: each override replaces one rotation's member)",
    ]
    assert result_text("list_overrides", ARGS, result).endswith("member)\nTimes are in America/New_York.")
    body = texts(overrides_blocks(result, ARGS, Room()))
    assert f"*5 overrides on <{URL}|Search On-call>* next week (<!date^" in body
    assert ", instead of Noah Kim · id `PO1`" in body and " (ended) · id `PO2`" in body
    assert f"…and 3 more in <{URL}|PagerDuty>" in body and "_shift-based: each override" in body


def test_pagerduty_text_is_escaped_in_blocks() -> None:
    value = shift_based(LUKAS.but(who="<!here> Mallory", replaces="<@U123>"))
    body = texts(overrides_blocks(ToolResult.ok(value), ARGS, Room()))
    assert "<!here>" not in body and "&lt;!here&gt; Mallory" in body and "&lt;@U123&gt;" in body


def test_an_empty_answer_without_a_schedule_falls_back_to_the_message() -> None:
    nameless = OverrideList(schedule=None, url=None, window=WEEK, overrides=[], total=0)
    result = ToolResult.nothing("No overrides on None in next week.", nameless)
    assert "No overrides on None in next week." in texts(overrides_blocks(result, ARGS, Room()))
