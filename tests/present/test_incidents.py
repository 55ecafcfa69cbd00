"""list_incidents and get_incident: the typed results (wire JSON as the model reads it) and their
presenters' blocks and text."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.present.incidents import (
    ACK_ACTION,
    MORE_ACTION,
    MORE_OPTIONS,
    RESOLVE_ACTION,
    VIEW_ACTION,
    detail_blocks,
    detail_text,
    durations_text,
    incident_buttons,
    list_blocks,
    list_text,
)
from bot.present.kit.limits import Room
from bot.present.registry import presenter_for
from bot.present.results import result_blocks, result_text
from bot.sandbox import Sandbox
from bot.tools.base import ToolResult
from bot.tools.incidents import GetIncident, ListIncidents
from bot.tools.registry import TOOLS_BY_NAME
from bot.tools.results import WindowEcho
from bot.tools.results.incidents import (
    AckTimes,
    AlertCounts,
    Flap,
    IncidentDetail,
    IncidentFacts,
    IncidentList,
    IncidentNote,
    IncidentPatterns,
    IncidentRow,
    OldestOpen,
    ResolveTimes,
    Sample,
    StatusRead,
    TimelineEvent,
)
from bot.tools.runner import parse_arguments, run_parsed
from tests.tools.conftest import ContextFactory, demo, large, make_ctx

FIXTURES = (demo, large, make_ctx)
NY = ZoneInfo("America/New_York")
AT = datetime(2026, 3, 10, 9, 0, tzinfo=NY)
URL = "https://acme.pagerduty.com/incidents/PABC123"


def row(**changes: Any) -> IncidentRow:
    base = IncidentRow(number=1204, title="High CPU on db-primary-1", id="PABC123", url=URL, status="triggered",
                       urgency="high", service="platform-engineering", created=AT, age="1h 2m")
    return base.but(**changes)


def listing(rows: tuple[IncidentRow, ...] = (), **changes: Any) -> IncidentList:
    base = IncidentList(window=WindowEcho(label="any age", time_zone=NY.key), total=len(rows),
                        by_status={"triggered": len(rows), "acknowledged": 0}, shown=len(rows), more=False,
                        incidents=rows)
    return base.but(**changes)


def list_args(**values: Any) -> ListIncidents:
    return ListIncidents(**{"statuses": None, "service": None, "team": None, "urgency": None, "window": None,
                            "mine": None, "limit": None, **values})


def texts(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


async def answer(sandbox: Sandbox, make_ctx: ContextFactory, name: str, raw: dict[str, Any],
                 email: str | None = None) -> ToolResult[Any]:
    tool = TOOLS_BY_NAME[name]
    return await run_parsed(tool, parse_arguments(tool, raw), make_ctx(sandbox, email))


async def listed(sandbox: Sandbox, make_ctx: ContextFactory, raw: dict[str, Any],
                 email: str | None = None) -> tuple[ToolResult[Any], IncidentList]:
    result = await answer(sandbox, make_ctx, "list_incidents", raw, email)
    assert isinstance(result.value, IncidentList), result.error
    return result, result.value


async def one(sandbox: Sandbox, make_ctx: ContextFactory, ref: str,
              email: str | None = None) -> tuple[ToolResult[Any], IncidentDetail]:
    result = await answer(sandbox, make_ctx, "get_incident", {"incident": ref}, email)
    assert isinstance(result.value, IncidentDetail), result.error
    return result, result.value


# ----------------------------------------------------------------------------- the models


async def test_the_tools_answer_with_their_models_and_send_their_wire(demo: Sandbox, make_ctx: ContextFactory) -> None:
    assert TOOLS_BY_NAME["list_incidents"].result is IncidentList and presenter_for("list_incidents") is not None
    assert TOOLS_BY_NAME["get_incident"].result is IncidentDetail and presenter_for("get_incident") is not None
    result, value = await listed(demo, make_ctx, {})
    assert result.data == value.wire()
    assert list(result.data) == ["window", "total", "by_status", "shown", "more", "incidents", "patterns"]
    assert list(result.data["patterns"])[:2] == ["sample", "by_urgency"] and "by_status" not in result.data["patterns"]
    got, incident = await one(demo, make_ctx, "1148")
    assert got.data == incident.wire()
    assert list(got.data) == ["time_zone", "incident", "notes_total", "notes", "timeline"]
    assert got.data["incident"]["alerts"] == {"all": incident.incident.alerts.total,
                                              "triggered": incident.incident.alerts.triggered}


async def test_rows_hold_the_pagerduty_id_without_sending_it(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result, value = await listed(demo, make_ctx, {"limit": 100})
    by_number = {i.number: i.id for i in demo.world.incidents.values()}
    assert all(r.id == by_number[r.number] for r in value.incidents)
    assert all("id" not in r for r in result.data["incidents"])
    got, incident = await one(demo, make_ctx, "1148")
    assert incident.incident.id == by_number[1148] and "id" not in got.data["incident"]
    assert row().but(title="Renamed").id == "PABC123"  # a copy keeps it


async def test_the_id_costs_the_large_account_nothing(large: Sandbox, make_ctx: ContextFactory) -> None:
    """The ID is not sent, so the large account's list still fits the budget with as many rows."""
    result, value = await listed(large, make_ctx, {"limit": 100})
    assert value.shown == len(value.incidents) == 20
    assert value.wire_size() == len(json.dumps(result.data, separators=(",", ":"), ensure_ascii=False))
    assert len(result.to_json()) <= 7_800


async def test_times_are_aware_to_the_minute_in_the_askers_zone(demo: Sandbox, make_ctx: ContextFactory) -> None:
    demo.advance(timedelta(seconds=37))  # "now" (and so "since" windows) off the minute
    london = "aisha.khan@acme-payments.example"
    result, value = await listed(demo, make_ctx, {"window": "since yesterday 9am"}, london)
    assert value.patterns is not None
    times = [r.created for r in value.incidents] + [value.window.start, value.window.end]
    times += [f.last for f in value.patterns.flapping] + [b.start for b in value.patterns.bursts]
    assert all(t is not None and t.tzinfo == ZoneInfo("Europe/London") for t in times)
    assert all(t is not None and t.second == 0 and t.microsecond == 0 for t in times)
    first = value.incidents[0].created
    assert first is not None and result.data["incidents"][0]["created"] == first.strftime("%Y-%m-%dT%H:%MZ")
    assert value.shown_zone() == "Europe/London"
    _, incident = await one(demo, make_ctx, "1148", london)
    assert incident.shown_zone() == "Europe/London"
    assert all(e.at is not None and e.at.tzinfo == ZoneInfo("Europe/London") for e in incident.timeline)


def test_optional_fields_left_out_required_ones_always_sent() -> None:
    bare = IncidentRow(number=7, title="t", id="P7", url=None, status="resolved", urgency="low", service=None)
    assert bare.wire() == {"number": 7, "title": "t", "url": None, "status": "resolved", "urgency": "low",
                           "service": None}
    nothing = listing(total=0, by_status={"triggered": 0, "acknowledged": 0})
    assert nothing.wire() == {"window": {"label": "any age", "time_zone": NY.key}, "total": 0,
                              "by_status": {"triggered": 0, "acknowledged": 0}, "shown": 0, "more": False,
                              "incidents": []}
    flap = Flap(title="t", service="s", count=3, last=AT)
    assert flap.wire() == {"title": "t", "service": "s", "count": 3, "last": "2026-03-10T09:00-04:00"}
    assert Flap(title="t", service="s", count=3, last=AT, open_now=False).wire()["open_now"] is False
    assert AckTimes(median=13.0, mean=20.5, count=26, still_open=0).wire() == {
        "median": 13.0, "mean": 20.5, "n": 26, "still_open": 0}
    assert AlertCounts(total=7, triggered=2).wire() == {"all": 7, "triggered": 2}
    event = TimelineEvent(at=None, what="triggered")
    assert event.wire() == {"at": None, "what": "triggered"}


def test_the_sample_is_sent_as_one_sentence_and_read_as_parts() -> None:
    everything = Sample(statuses=(StatusRead(status="triggered", read=20, total=20),
                                  StatusRead(status="acknowledged", read=20, total=20)), history=22)
    assert everything.complete and everything.read_words == "all 40"
    assert everything.label == "all 40 (+22 resolved in the last 48h for flapping/MTTA/MTTR)"
    newest = Sample(statuses=(StatusRead(status="triggered", read=100, total=6_140),
                              StatusRead(status="acknowledged", read=50, total=50)), history=100, history_capped=True)
    assert not newest.complete
    assert newest.read_words == "the 100 newest of 6,140 triggered and the 50 acknowledged"
    patterns = IncidentPatterns(sample=newest, by_urgency={}, top_services={}, repeated_titles=(), flapping=(),
                                bursts=())
    assert patterns.sampled and patterns.wire()["sample"] == (
        "the 100 newest of 6,140 triggered and the 50 acknowledged (+the newest 100 resolved in the last 48h "
        "for flapping/MTTA/MTTR)")
    assert patterns.but(ack_ratio=0.5).sample == newest


# ----------------------------------------------------------------------------- presenters


def test_buttons_carry_the_typed_id_not_one_read_from_the_link() -> None:
    elsewhere = row(url="https://example.com/whatever/PNOTME1")
    [block] = incident_buttons(elsewhere)
    buttons = [e for e in block["elements"] if e["type"] == "button"]
    assert [(e["action_id"], e["value"]) for e in buttons] == [(ACK_ACTION, "PABC123"), (RESOLVE_ACTION, "PABC123")]
    assert not any("url" in e for e in block["elements"]), "no link to anything but PagerDuty"
    [menu] = [e for e in block["elements"] if e["type"] == "overflow"]
    assert [o["value"] for o in menu["options"]] == [f"{key}:PABC123" for key, _ in MORE_OPTIONS]
    assert block["block_id"] == "incident:PABC123"
    acked = incident_buttons(row(status="acknowledged", url="https://acme.pagerduty.com/incidents/PABC123"))
    assert [e["action_id"] for e in acked[0]["elements"]] == [RESOLVE_ACTION, VIEW_ACTION, MORE_ACTION]
    assert acked[0]["elements"][1]["url"] == "https://acme.pagerduty.com/incidents/PABC123"
    assert incident_buttons(row(status="resolved", age=None, resolved=AT)) == []


def test_nothing_open_says_the_scope_in_both_outputs() -> None:
    result: ToolResult[IncidentList] = ToolResult.nothing("No incidents match.", listing())
    assert list_text(result, list_args(service="search")) == ["No open incidents on search."]
    assert list_text(result, list_args(mine=True, service="search")) == ["No open incidents assigned to you."]
    assert list_text(result, list_args(team="Checkout & Web")) == ["No open incidents for team Checkout & Web."]
    assert list_text(result, list_args(statuses=["resolved"])) == ["No incidents match."]
    assert result_text("list_incidents", list_args(), result) == "No open incidents."  # no zone line
    blocks = list_blocks(result, list_args(team="Checkout & Web"), Room())
    assert texts(blocks) == texts([{"type": "context", "elements": [
        {"type": "mrkdwn", "text": ":white_check_mark: No open incidents for team Checkout &amp; Web."}]}])
    resolved = list_blocks(result, list_args(statuses=["resolved"]), Room())
    assert ":information_source: No incidents match." in texts(resolved)


def test_list_text_and_blocks_from_a_model() -> None:
    rows = (row(), row(number=1203, id="PDEF456", status="acknowledged", priority="P2", assignees=("Ben Carter",)))
    patterns = IncidentPatterns(
        sample=Sample(statuses=(StatusRead(status="triggered", read=1, total=1),
                                StatusRead(status="acknowledged", read=1, total=1))),
        by_urgency={"high": 2}, top_services={"platform-engineering": 2}, repeated_titles=(), flapping=(), bursts=(),
        oldest_open=OldestOpen(number=1203, title="High CPU on db-primary-1", service="platform-engineering",
                               age_hours=50.0),
        mtta=AckTimes(median=12.0, mean=12.0, count=1, still_open=1))
    value = listing(rows, by_status={"triggered": 1, "acknowledged": 1}, patterns=patterns)
    result = ToolResult.ok(value)
    assert list_text(result, list_args(service="platform-engineering")) == [
        "2 open incidents on platform-engineering (1 triggered, 1 acknowledged):",
        "• #1204 High CPU on db-primary-1 (platform-engineering, triggered, high urgency, open 1h 2m)",
        "• #1203 High CPU on db-primary-1 (platform-engineering, acknowledged, high urgency, P2, open 1h 2m, "
        "Ben Carter)"]  # two incidents: no patterns
    assert result_text("list_incidents", list_args(), result).endswith("\nTimes are in America/New_York.")
    blocks = result_blocks("list_incidents", list_args(), result, Room())
    assert blocks is not None
    assert blocks[0]["text"]["text"] == "*2 open incidents* (1 triggered, 1 acknowledged) · 2 high urgency"
    assert f"<{URL}|#1204>" in texts(blocks) and "open 1h 2m" in texts(blocks)


def test_durations_say_which_incidents_they_are_over() -> None:
    assert durations_text(AckTimes(median=13.0, mean=20.0, count=26, still_open=20),
                          ResolveTimes(median=4.8, mean=9.0, count=22, never_acknowledged=16)) == (
        "Median time to acknowledge 13 min (26 acknowledged, 20 of them still open), to resolve 4.8 min "
        "(22 resolved, 16 never acknowledged)")
    assert durations_text(None, ResolveTimes(median=120.0, mean=9.0, count=1, never_acknowledged=0)) == (
        "Median time to resolve 2.0 h (1 resolved)")
    assert durations_text(None, None) == ""


def detail(**changes: Any) -> IncidentDetail:
    facts = IncidentFacts(number=1148, title="Nightly export <!here>", id="PQRS789", url=URL, status="acknowledged",
                          urgency="low", priority="P4", service="data-pipeline", escalation_policy="Data",
                          assignees=("Priya Raman",), acknowledgers=("Priya Raman",), created=AT, acknowledged=AT,
                          resolved=None, age="9d 0h", alerts=AlertCounts(total=1, triggered=0))
    base = IncidentDetail(time_zone=NY.key, incident=facts, notes_total=1,
                          notes=(IncidentNote(at=AT, by=None, text="Still waiting"),),
                          timeline=(TimelineEvent(at=AT, what="triggered", by="Datadog (integration)"),
                                    TimelineEvent(at=AT, what="acknowledged", by="Priya Raman")))
    return base.but(**changes)


def test_one_incident_text_and_blocks_from_a_model() -> None:
    result = ToolResult.ok(detail())
    args = GetIncident(incident="1148")
    assert detail_text(result, args) == [
        "#1148 Nightly export <!here>", "acknowledged, low urgency, P4, service data-pipeline, policy Data",
        "Assigned to Priya Raman",
        "Created Tue 10 Mar 09:00 (9d 0h ago); acknowledged Tue 10 Mar 09:00 by Priya Raman",
        "Alerts: 1 (0 triggered)", "Notes (1):", "• Tue 10 Mar 09:00 someone: Still waiting", "Timeline:",
        "• Tue 10 Mar 09:00 triggered by Datadog (integration)", "• Tue 10 Mar 09:00 acknowledged by Priya Raman",
        URL]
    blocks = detail_blocks(result, args, Room())
    body = texts(blocks)
    assert "Nightly export &lt;!here&gt;" in body and "<!here>" not in body
    assert "*Notes* (1)" in body and "*Timeline*" in body and "<!date^1773147600^" in body
    assert blocks[-1]["type"] == "actions" and {e.get("value") for e in blocks[-1]["elements"]
                                                if e["type"] == "button"} == {"PQRS789"}
    assert detail_blocks(ToolResult.nothing("Gone.", None), args, Room())[0]["type"] == "context"
    assert detail_text(ToolResult.nothing("Gone.", None), args) == ["Gone."]
