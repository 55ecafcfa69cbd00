"""service_health: the typed result (wire JSON as the model reads it) and its presenter's blocks and text."""

from __future__ import annotations

import json
from typing import Any

from bot.present.kit.limits import Room
from bot.present.registry import presenter_for
from bot.present.results import result_blocks, result_text
from bot.present.services import health_blocks, health_text
from bot.sandbox import Sandbox
from bot.tools.base import ToolResult
from bot.tools.registry import TOOLS_BY_NAME
from bot.tools.results.services import HealthTotals, ServiceHealthReport, ServiceRow
from bot.tools.runner import parse_arguments, run_parsed
from bot.tools.services import ServiceHealth
from tests.tools.conftest import ContextFactory, demo, make_ctx

FIXTURES = (demo, make_ctx)
URL = "https://acme.pagerduty.com/service-directory/P1"
TOTALS = HealthTotals(services=3, critical=1, warning=0, active=1, maintenance=1, disabled=0, triggered=2,
                      acknowledged=1, high=2, low=1, open=3)


def report(**changes: Any) -> ServiceHealthReport:
    base = ServiceHealthReport(totals=TOTALS, services=[ServiceRow(name="payments-api", status="critical", triggered=2,
                                                                   acknowledged=1, high=2, low=1, url=URL)])
    return base.but(**changes)


def args(**values: Any) -> ServiceHealth:
    return ServiceHealth(**{"team": None, "only_active": None, **values})


def texts(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


async def test_the_tool_answers_with_its_model_and_sends_its_wire(demo: Sandbox, make_ctx: ContextFactory) -> None:
    tool = TOOLS_BY_NAME["service_health"]
    assert tool.result is ServiceHealthReport and presenter_for("service_health") is not None
    result = await run_parsed(tool, parse_arguments(tool, {"team": None, "only_active": None}), make_ctx(demo))
    assert isinstance(result.value, ServiceHealthReport)
    assert result.data == result.value.wire()
    assert list(result.data) == ["totals", "services", "maintenance", "disabled"]  # no team, sample or more
    assert "counted" not in result.data["totals"]


def test_optional_fields_left_out_required_ones_always_sent() -> None:
    quiet = ServiceHealthReport(team="Payments", totals=TOTALS, services=[])
    assert quiet.wire() == {"team": "Payments", "totals": TOTALS.wire(), "services": []}
    row = ServiceRow(name="a", status="active", triggered=0, acknowledged=0, high=0, low=0)
    assert row.wire() == {"name": "a", "status": "active", "triggered": 0, "acknowledged": 0, "high": 0, "low": 0}
    sampled = report(totals=TOTALS.but(counted=500), counts_note="a sample", more=4, maintenance=["status-page"])
    assert list(sampled.wire()) == ["totals", "counts_note", "services", "more", "maintenance"]
    assert sampled.wire()["totals"]["counted"] == 500 and sampled.shown_zone() is None


def test_text_says_all_or_with_open_incidents_and_the_paused_services() -> None:
    value = report(team="Payments", more=2, maintenance=["status-page"], disabled=["legacy"], counts_note="sampled")
    lines = health_text(ToolResult.ok(value), args())
    assert lines == ["3 services in Payments with open incidents (3 open: 2 triggered, 1 acknowledged):",
                     "• payments-api: critical, 2 triggered, 1 acknowledged (2 high urgency)",
                     "…and 2 more.", "In maintenance: status-page.", "Disabled: legacy.", "Counts: sampled."]
    assert health_text(ToolResult.ok(value), args(only_active=False))[0].startswith("3 services in Payments (")
    assert health_text(ToolResult.ok(report(services=[], team="Data")), args()) == [
        "No service in Data has open incidents."]


def test_nothing_visible_is_the_tools_message() -> None:
    empty = ToolResult.nothing("No services are visible to this PagerDuty user.", report(services=[]))
    assert result_text("service_health", args(only_active=False), empty) == (
        "No services are visible to this PagerDuty user.")
    assert "No services are visible" in texts(health_blocks(empty, args(only_active=False), Room()))


def test_blocks_are_a_table_or_escaped_lines_when_the_table_is_taken() -> None:
    value = report(more=3, services_note="only the first 5000 services were read")
    blocks = health_blocks(ToolResult.ok(value), args(), Room())
    assert [b["type"] for b in blocks] == ["section", "table", "context", "context"]
    assert blocks[0]["text"]["text"] == (":bar_chart: *4 services with open incidents* · 3 open (2 triggered, "
                                         "1 acknowledged)")
    assert "…and 3 more in <https://acme.pagerduty.com/service-directory|PagerDuty>" in texts(blocks)
    hostile = report(services=[ServiceRow(name="<!channel> pay\nments", status="critical", triggered=1,
                                          acknowledged=0, high=1, low=0, url="https://evil.example/x")])
    lines = texts(health_blocks(ToolResult.ok(hostile), args(), Room(tables=0)))
    assert "<!channel>" not in lines and "&lt;!channel&gt; pay ments: critical, 1 triggered" in lines
    assert "evil" not in lines


def test_no_open_incidents_and_the_sample_note() -> None:
    quiet = ToolResult.ok(report(services=[], team="Data & Co"), partial=True)
    blocks = result_blocks("service_health", args(), quiet, Room())
    assert blocks is not None
    assert blocks[0]["text"]["text"] == ":white_check_mark: *No service in Data &amp; Co has open incidents*"
    assert "some of this comes from a sample" in texts(blocks)


def test_text_keeps_pagerduty_names_on_one_line() -> None:
    forged = report(services=[ServiceRow(name="api\n• billing: healthy", status="critical", triggered=1,
                                         acknowledged=0, high=1, low=0)], maintenance=["status\npage"])
    lines = health_text(ToolResult.ok(forged), args())
    assert not any(line.startswith("• billing") for line in lines)
    assert "• api • billing: healthy: critical, 1 triggered, 0 acknowledged (1 high urgency)" in lines
    assert "In maintenance: status page." in lines
