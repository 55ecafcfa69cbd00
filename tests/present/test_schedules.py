"""get_schedule and find_coverage_gaps: the typed results (wire JSON as the model reads it, times in the
asker's zone) and their presenters' blocks and text."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.present.kit.limits import Room
from bot.present.oncall import window_blocks_text
from bot.present.registry import presenter_for
from bot.present.results import result_blocks, result_text
from bot.present.schedules import (
    detail_blocks,
    detail_text,
    gaps_blocks,
    gaps_text,
    overview_blocks,
    overview_text,
)
from bot.sandbox import Sandbox
from bot.tools.base import ToolResult
from bot.tools.registry import TOOLS_BY_NAME
from bot.tools.results import WindowEcho
from bot.tools.results.schedules import (
    CoverageGap,
    CoverageGaps,
    GapsAnswer,
    Handoff,
    LevelCoverage,
    ScheduleAnswer,
    ScheduleCoverage,
    ScheduleDetail,
    ScheduleGaps,
    ScheduleOverview,
    Shift,
)
from bot.tools.runner import parse_arguments, run_parsed
from bot.tools.schedules import FindCoverageGaps, GetSchedule
from tests.tools.conftest import ContextFactory, demo, make_ctx

FIXTURES = (demo, make_ctx)
NY = ZoneInfo("America/New_York")
URL = "https://acme.pagerduty.com/schedules/PQKTE4M"
WEEK = WindowEcho(label="next week", start=datetime(2026, 3, 16, tzinfo=NY), end=datetime(2026, 3, 23, tzinfo=NY),
                  time_zone=NY.key)
GAP = CoverageGap(start=datetime(2026, 3, 13, 16, tzinfo=NY), end=datetime(2026, 3, 14, 4, tzinfo=NY), hours=12.0)
GAP_WIRE = {"from": "2026-03-13T16:00-04:00", "to": "2026-03-14T04:00-04:00", "hours": 12.0}


def texts(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


async def run(demo: Sandbox, make_ctx: ContextFactory, name: str, raw: dict[str, Any]) -> ToolResult[Any]:
    tool = TOOLS_BY_NAME[name]
    return await run_parsed(tool, parse_arguments(tool, raw), make_ctx(demo))


def detail(**changes: Any) -> ScheduleDetail:
    value = ScheduleDetail(
        schedule="Platform Secondary", schedule_time_zone="Europe/London", url=URL, window=WEEK, coverage_pct=92.86,
        gap_count=1, gaps=[GAP], shifts=[Shift(who="Emma Clarke", start=datetime(2026, 3, 16, tzinfo=NY),
                                                end=datetime(2026, 3, 16, 9, tzinfo=NY))],
        shifts_total=3, handoffs=[], handoffs_total=0)
    return value.but(**changes)


# --------------------------------------------------------------------------- the models


async def test_the_tools_answer_with_their_models(demo: Sandbox, make_ctx: ContextFactory) -> None:
    assert TOOLS_BY_NAME["get_schedule"].result is ScheduleAnswer
    assert TOOLS_BY_NAME["find_coverage_gaps"].result is GapsAnswer
    assert presenter_for("get_schedule") is not None and presenter_for("find_coverage_gaps") is not None
    one = await run(demo, make_ctx, "get_schedule", {"schedule": "Platform Secondary", "window": None})
    assert isinstance(one.value, ScheduleDetail) and one.data == one.value.wire()
    assert one.value.gaps[0].start.tzinfo == NY and one.value.gaps[0].start.utcoffset() is not None
    assert one.data["gaps"] == [GAP_WIRE] and list(one.data["gaps"][0]) == ["from", "to", "hours"]
    assert all(s.start.tzinfo == NY for s in one.value.shifts) and one.value.shown_zone() == NY.key
    every = await run(demo, make_ctx, "get_schedule", {"schedule": None, "window": None})
    assert isinstance(every.value, ScheduleOverview) and list(every.data)[0] == "overview"
    gaps = await run(demo, make_ctx, "find_coverage_gaps", {"schedules": None, "escalation_policy": None,
                                                            "window": None})
    assert isinstance(gaps.value, ScheduleOverview) and "overview" not in gaps.data
    assert gaps.value.wire() == every.value.but(overview=None).wire()


async def test_a_policy_alone_leaves_out_the_schedule_fields(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result = await run(demo, make_ctx, "find_coverage_gaps", {"schedules": None, "window": None,
                                                              "escalation_policy": "Platform Engineering"})
    value = result.value
    assert isinstance(value, CoverageGaps) and value.shown_zone() == NY.key
    assert list(result.data) == ["window", "escalation_policy", "url", "levels_with_gaps", "levels"]
    one, two, three = result.data["levels"]
    assert "always_on_call" not in one and "nobody_on_call" not in one and two["nobody_on_call"] == [GAP_WIRE]
    assert three["always_on_call"] == ["Priya Raman"]
    named = await run(demo, make_ctx, "find_coverage_gaps", {"schedules": ["Nope"], "window": None,
                                                             "escalation_policy": "Payments"})
    assert named.data["schedules"] == [] and "Nope" in named.data["not_found"][0]  # named, none found


def test_wire_sends_required_fields_even_when_empty() -> None:
    assert GAP.wire() == GAP_WIRE
    assert Handoff(at=GAP.start, before="Emma Clarke", after="nobody").wire() == {
        "at": "2026-03-13T16:00-04:00", "from": "Emma Clarke", "to": "nobody"}
    wire = detail(schedule_time_zone=None, url=None).wire()
    assert wire["schedule_time_zone"] is None and wire["url"] is None and wire["handoffs"] == []
    assert "kind" not in wire and "on_call_now" not in wire  # optional: only when said
    assert detail(on_call_now=["nobody"]).wire()["on_call_now"] == ["nobody"]
    row = ScheduleGaps(schedule="X", coverage_pct=100.0, gap_count=0, gaps=[], schedule_time_zone=None, url=None)
    assert row.wire() == {"schedule": "X", "coverage_pct": 100.0, "gap_count": 0, "gaps": [],
                          "schedule_time_zone": None, "url": None}
    assert CoverageGaps(window=WEEK).wire() == {"window": WEEK.wire()}
    level = LevelCoverage(level=1, targets=[], on_call=[], covered_throughout=True, coverage_pct=100.0)
    assert set(level.wire()) == {"level", "targets", "on_call", "covered_throughout", "coverage_pct"}


# --------------------------------------------------------------------------- text


def test_one_schedule_as_text() -> None:
    assert detail_text(detail(on_call_now=["Emma Clarke"], kind="shift-based: shifts can overlap")) == [
        "Platform Secondary, next week (Mon 16 Mar 00:00 – Mon 23 Mar 00:00): 92.86% covered, 1 gap.",
        "(shift-based: shifts can overlap)",
        "On call now: Emma Clarke.",
        "Shifts:", "• Emma Clarke: Mon 16 Mar 00:00–09:00", "…and 2 more.",
        "Gaps:", "• nobody on call Fri 13 Mar 16:00 – Sat 14 Mar 04:00 (12 h)",
    ]
    text = result_text("get_schedule", GetSchedule(schedule="x", window=None), ToolResult.ok(detail()))
    assert text.endswith("\nTimes are in America/New_York.") and text.count("Times are in") == 1


def test_nothing_visible_says_so_without_a_zone() -> None:
    empty: ToolResult[ScheduleAnswer] = ToolResult.nothing("No schedules are visible to this PagerDuty user.")
    args = GetSchedule(schedule=None, window=None)
    assert result_text("get_schedule", args, empty) == "No schedules are visible to this PagerDuty user."
    blocks = result_blocks("get_schedule", args, empty, Room())
    assert blocks is not None and "No schedules are visible" in texts(blocks)


def test_overview_as_text_and_blocks() -> None:
    rows = [ScheduleCoverage(schedule="Platform Secondary", coverage_pct=92.86, gap_count=2, gaps=[GAP], url=URL)]
    value = ScheduleOverview(window=WEEK, schedules_checked=8, schedules_with_gaps=2, with_gaps=rows,
                             fully_covered=["Mobile Primary"], fully_covered_total=3, note="Shift-based (v3)…")
    assert overview_text(value) == [
        "2 of 8 schedules have coverage gaps next week (Mon 16 Mar 00:00 – Mon 23 Mar 00:00):",
        "• Platform Secondary (92.86% covered): nobody on call Fri 13 Mar 16:00 – Sat 14 Mar 04:00 (12 h); "
        "and 1 more",
        "…and 1 more.", "Fully covered: Mobile Primary and 2 more.", "Shift-based (v3)…",
    ]
    body = texts(overview_blocks(value, Room()))
    assert "*2 of 8 schedules have coverage gaps* next week (<!date^" in body
    assert "…and 1 more schedules with gaps in <https://acme.pagerduty.com/schedules|PagerDuty>" in body
    assert "Fully covered: Mobile Primary and 2 more" in body
    covered = value.but(schedules_with_gaps=0, with_gaps=[], note=None)
    assert overview_text(covered)[0].startswith("All 8 schedules are fully covered next week (")
    assert ":white_check_mark: *All 8 schedules are fully covered*" in texts(overview_blocks(covered, Room()))


def test_a_policy_is_shown_in_text_too() -> None:
    level = LevelCoverage(level=2, targets=["Platform Secondary"], on_call=["Emma Clarke"], covered_throughout=False,
                          coverage_pct=92.86, nobody_on_call=[GAP])
    value = CoverageGaps(window=WEEK, escalation_policy="Platform Engineering", url=None, levels_with_gaps=[2],
                         levels=[level], nobody_at_any_level=[GAP])
    assert gaps_text(value) == [
        "Platform Engineering next week (Mon 16 Mar 00:00 – Mon 23 Mar 00:00): nobody on call at times at level 2:",
        "• Level 2 (Platform Secondary): 92.86% covered, Emma Clarke",
        "  nobody on call Fri 13 Mar 16:00 – Sat 14 Mar 04:00 (12 h)",
        "Nobody at any level:", "• nobody on call Fri 13 Mar 16:00 – Sat 14 Mar 04:00 (12 h)",
    ]
    body = texts(gaps_blocks(value, Room()))
    assert "*Platform Engineering* next week (" in body and "*Level 2* (Platform Secondary): 92.86% covered" in body
    assert ":rotating_light: *Nobody at any level*" in body


# --------------------------------------------------------------------------- blocks


def test_times_in_blocks_name_the_minute_people_read() -> None:
    with_seconds = WindowEcho(label="next 7 days", start=datetime(2026, 3, 10, 10, 0, 37, tzinfo=NY),
                              end=datetime(2026, 3, 17, 10, 0, 37, tzinfo=NY), time_zone=NY.key)
    start = int(datetime(2026, 3, 10, 10, tzinfo=NY).timestamp())
    assert f"<!date^{start}^" in window_blocks_text(with_seconds)
    assert window_blocks_text(with_seconds).startswith("next 7 days (<!date^")
    iso = WindowEcho(label="2026-03-13T16:00-04:00/2026-03-14T04:00-04:00", start=GAP.start, end=GAP.end,
                     time_zone=NY.key)
    assert window_blocks_text(iso).startswith("<!date^")  # a label of times (with offsets) is not repeated


def test_pagerduty_text_is_escaped_in_blocks() -> None:
    value = detail(schedule="<!channel> rota", on_call_now=["@here Ben"], url="https://evil.example/x")
    body = texts(detail_blocks(value, Room()))
    assert "<!channel>" not in body and "&lt;!channel&gt; rota" in body and "evil.example/x|" not in body
    assert "@\u2060here Ben" in body
    named = CoverageGaps(window=WEEK, schedules=[], not_found=["No schedule named '<@U1>'."])
    assert "&lt;@U1&gt;" in texts(gaps_blocks(named, Room()))


def test_blocks_fit_the_room_they_are_given() -> None:
    many = detail(gaps=[GAP] * 40, gap_count=60)
    blocks = detail_blocks(many, Room(chars=1_500))
    assert blocks and len(json.dumps(blocks)) < 3_000 and "more gaps in <https://acme.pagerduty.com" in texts(blocks)
    assert detail_blocks(many, Room(blocks=0)) == []
    args = FindCoverageGaps(schedules=["x"], escalation_policy=None, window=None)
    partial = result_blocks("find_coverage_gaps", args, ToolResult.ok(CoverageGaps(window=WEEK, schedules=[
        ScheduleGaps(schedule="X", coverage_pct=100.0, gap_count=0, gaps=[], schedule_time_zone=None, url=None)]),
        partial=True), Room())
    assert partial is not None and "*X* has no coverage gaps next week (" in texts(partial)
    assert "comes from a sample" in texts(partial)
