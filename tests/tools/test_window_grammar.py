"""One window grammar for every tool that takes a window: the same description word for word, every
phrase it names accepted, and the resolved window echoed in one shape (weekdays, the asker's zone)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.analysis.windows import WINDOW_GRAMMAR
from bot.sandbox import Sandbox
from bot.tools.registry import ALL_TOOLS, TOOLS_BY_NAME
from bot.tools.runner import run_tool
from tests.tools.conftest import ContextFactory

# The demo clock: Tuesday 2026-03-10 10:00 in New York, where Sam Rivera (the default asker) lives.
WINDOWED = {"who_is_on_call", "list_incidents", "get_schedule", "find_coverage_gaps", "list_overrides",
            "create_override"}
READS: dict[str, dict[str, Any]] = {
    "who_is_on_call": {"target": "platform-engineering", "target_type": "service"},
    "get_schedule": {"schedule": "Platform Primary"},
    "find_coverage_gaps": {"schedules": ["Platform Primary"], "escalation_policy": None},
    "list_overrides": {"schedule": "Platform Primary"},
}
ZONE = "America/New_York"


def test_every_window_argument_is_the_one_grammar_word_for_word() -> None:
    with_window = {tool.name for tool in ALL_TOOLS if "window" in tool.args.model_fields}
    assert with_window == WINDOWED
    for name in WINDOWED:
        description = TOOLS_BY_NAME[name].args.model_fields["window"].description or ""
        assert description.startswith(WINDOW_GRAMMAR + " null: "), name
    for phrase in ("this/next/last weekend", "Saturday", "tomorrow 3am", "until/since an instant", "ISO"):
        assert phrase in WINDOW_GRAMMAR


@pytest.mark.parametrize("tool", sorted(READS))
@pytest.mark.parametrize(("window", "start", "end"), [
    ("this weekend", "Sat 2026-03-14 00:00", "Mon 2026-03-16 00:00"),
    ("Saturday", "Sat 2026-03-14 00:00", "Sun 2026-03-15 00:00"),
    ("until Friday 17:00", "Tue 2026-03-10 10:00", "Fri 2026-03-13 17:00"),
    ("Friday 17:00 to Monday 9am", "Fri 2026-03-13 17:00", "Mon 2026-03-16 09:00"),
])
async def test_windowed_reads_accept_the_grammar_and_echo_the_window(
        demo: Sandbox, make_ctx: ContextFactory, tool: str, window: str, start: str, end: str) -> None:
    result = await run_tool(TOOLS_BY_NAME[tool], {**READS[tool], "window": window}, make_ctx(demo))
    assert result.status in ("ok", "no_data"), result.to_model()
    assert result.data["window"] == {"label": window, "start": start, "end": end, "time_zone": ZONE}
    assert "time_zone" not in result.data  # said once, in the window


async def test_a_single_instant_is_a_moment_for_who_is_on_call_and_a_day_for_a_schedule(
        demo: Sandbox, make_ctx: ContextFactory) -> None:
    ctx = make_ctx(demo)
    who = await run_tool(TOOLS_BY_NAME["who_is_on_call"], {**READS["who_is_on_call"], "window": "tomorrow 3am"}, ctx)
    assert who.status == "ok" and who.data["window"] == {"label": "tomorrow 3am", "at": "Wed 2026-03-11 03:00",
                                                          "time_zone": ZONE}
    assert all("gaps" not in level for policy in who.data["policies"] for level in policy["levels"])
    shifts = await run_tool(TOOLS_BY_NAME["get_schedule"], {**READS["get_schedule"], "window": "tomorrow 3am"}, ctx)
    assert shifts.status == "ok" and shifts.data["window"] == {
        "label": "tomorrow 3am", "start": "Wed 2026-03-11 03:00", "end": "Thu 2026-03-12 03:00", "time_zone": ZONE}


@pytest.mark.parametrize(("window", "start", "end"), [
    ("last weekend", "Sat 2026-03-07 00:00", "Mon 2026-03-09 00:00"),
    ("since Monday 9am", "Mon 2026-03-09 09:00", "Tue 2026-03-10 10:00"),
    ("yesterday 3am", "Mon 2026-03-09 03:00", "Tue 2026-03-10 10:00"),  # an instant: created since then
])
async def test_list_incidents_reads_past_windows_of_the_grammar(demo: Sandbox, make_ctx: ContextFactory, window: str,
                                                               start: str, end: str) -> None:
    result = await run_tool(TOOLS_BY_NAME["list_incidents"], {"statuses": ["resolved"], "window": window},
                            make_ctx(demo))
    assert result.status in ("ok", "no_data"), result.to_model()
    echo = result.data["window"]
    assert (echo["start"], echo["end"], echo["time_zone"]) == (start, end, ZONE)


async def test_an_override_for_a_weekday(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result = await run_tool(TOOLS_BY_NAME["create_override"], {"schedule": "Platform Primary", "user": "me",
                                                               "window": "Saturday"}, make_ctx(demo))
    assert result.status == "proposal", result.to_model()
    assert result.proposal is not None
    assert "from 2026-03-14T00:00-04:00 to 2026-03-15T00:00-04:00" in result.proposal.lines[0]
