"""who_is_on_call: the typed answers (wire JSON as the model reads it, times in the asker's zone) and
their presenter's blocks and text."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.present.kit.limits import Room
from bot.present.oncall import oncall_blocks, oncall_text, window_blocks_text
from bot.present.registry import presenter_for
from bot.present.results import result_text
from bot.sandbox import Sandbox
from bot.tools.base import ToolResult
from bot.tools.oncall import WhoIsOnCall
from bot.tools.registry import TOOLS_BY_NAME
from bot.tools.results import WindowEcho
from bot.tools.results.oncall import (
    Gap,
    Level,
    OnCallFor,
    OnCallPerson,
    OnSchedule,
    PersonOnCall,
    PoliciesOnCall,
    PolicyOnCall,
    ScheduleOnCall,
    Stint,
    Target,
    WhoIsOnCallResult,
)
from bot.tools.runner import parse_arguments, run_parsed
from tests.tools.conftest import ContextFactory, demo, make_ctx

FIXTURES = (demo, make_ctx)
NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
T0 = datetime(2026, 3, 10, 10, 0, tzinfo=NY)
NOW = WindowEcho(label="now", at=T0, time_zone=NY.key)
WEEK = WindowEcho(label="next week", start=T0, end=T0 + timedelta(days=7), time_zone=NY.key)
POLICY_URL = "https://acme.pagerduty.com/escalation_policies/P1"


def args(**values: Any) -> WhoIsOnCall:
    return WhoIsOnCall(**{"target": "platform-engineering", "target_type": None, "window": None, **values})


def texts(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def person(name: str = "Ben Carter", hours: int = 5, **changes: Any) -> OnCallPerson:
    fields: dict[str, Any] = {"name": name, "schedule": "Platform Primary", "start": T0 - timedelta(hours=3),
                              "end": T0 + timedelta(hours=hours)}
    return OnCallPerson(**(fields | changes))


def policies(*people: OnCallPerson, window: WindowEcho = NOW, **changes: Any) -> PoliciesOnCall:
    levels = [Level(level=1, on_call=list(people)),
              Level(level=2, on_call=[person("Priya Raman", schedule=None, start=None, end=None, permanent=True)])]
    value = PoliciesOnCall(target=Target(type="service", name="platform-engineering"), window=window,
                           policies=[PolicyOnCall(policy="Platform Engineering", url=POLICY_URL, levels=levels)])
    return value.model_copy(update=changes)


async def answer(demo: Sandbox, make_ctx: ContextFactory, raw: dict[str, Any],
                 email: str | None = None) -> ToolResult[WhoIsOnCallResult]:
    tool = TOOLS_BY_NAME["who_is_on_call"]
    return await run_parsed(tool, parse_arguments(tool, raw), make_ctx(demo, email))


# --------------------------------------------------------------------------- the models


async def test_each_mode_answers_with_its_model(demo: Sandbox, make_ctx: ContextFactory) -> None:
    tool = TOOLS_BY_NAME["who_is_on_call"]
    assert tool.result is WhoIsOnCallResult and presenter_for("who_is_on_call") is not None
    expected = {"platform-engineering": PoliciesOnCall, "Platform Primary": ScheduleOnCall, "me": PersonOnCall}
    for target, model in expected.items():
        result = await answer(demo, make_ctx, {"target": target})
        assert type(result.value) is model, target
        assert result.data == result.value.wire()
        assert result.value.shown_zone() == "America/New_York"


async def test_times_are_aware_and_in_the_askers_zone(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result = await answer(demo, make_ctx, {"target": "Platform Secondary", "window": "next 4 days"},
                          "aisha.khan@acme-payments.example")
    value = result.value
    assert isinstance(value, ScheduleOnCall) and value.gaps
    for moment in [value.gaps[0].start, value.gaps[0].end, *(p.end for p in value.on_call)]:
        assert moment is not None and moment.tzinfo == LONDON
    assert result.data["gaps"][0]["from"] == value.gaps[0].start.strftime("%Y-%m-%dT%H:%M") + "Z"
    assert value.shown_zone() == "Europe/London"


async def test_a_guessed_name_says_what_it_took_first_and_the_account_hint_comes_last(
        demo: Sandbox, make_ctx: ContextFactory) -> None:
    guessed = await answer(demo, make_ctx, {"target": "platform engineering"})
    assert list(guessed.data)[0] == "resolved" and isinstance(guessed.value, PoliciesOnCall)
    everyone = await answer(demo, make_ctx, {"target": None})
    assert isinstance(everyone.value, PoliciesOnCall) and everyone.value.target == Target(type="account")
    assert list(everyone.data)[-1] == "hint" and everyone.data["target"] == {"type": "account"}


def test_required_fields_always_sent_optional_ones_only_when_set() -> None:
    direct = OnCallPerson(name="Priya Raman", schedule=None, start=None, end=None, permanent=True)
    assert direct.wire() == {"name": "Priya Raman", "schedule": None, "from": None, "until": None, "permanent": True}
    shift = OnSchedule(name="Ben Carter", start=T0, end=T0 + timedelta(hours=8))
    assert shift.wire() == {"name": "Ben Carter", "from": "2026-03-10T10:00-04:00", "until": "2026-03-10T18:00-04:00"}
    level = Level(level=1, on_call=[])
    assert level.wire() == {"level": 1, "on_call": []}
    assert Gap(start=T0, end=T0).wire() == {"from": "2026-03-10T10:00-04:00", "until": "2026-03-10T10:00-04:00"}
    me = PersonOnCall(person="Sam Rivera", window=NOW, on_call_now=False, on_call=[], next=None)
    assert list(me.wire()) == ["person", "window", "on_call_now", "on_call", "next"]
    assert OnCallFor(target=Target(type="team", name="Data")).wire() == {"target": {"type": "team", "name": "Data"}}


# --------------------------------------------------------------------------- text


def test_policy_text_levels_gaps_and_the_policy_name_when_it_differs() -> None:
    gap = Gap(start=T0 + timedelta(days=3, hours=6), end=T0 + timedelta(days=3, hours=18))
    value = policies(person(also_via=["direct", "Platform Backup"]), window=WEEK)
    value = value.model_copy(update={"policies": [value.policies[0].model_copy(update={"levels": [
        value.policies[0].levels[0].model_copy(update={"gaps": [gap], "more": 2}), value.policies[0].levels[1]]})]})
    lines = oncall_text(ToolResult.ok(value), args(window="next week"))
    assert lines == [
        "On call for platform-engineering (Platform Engineering) next week (Tue 10 Mar 10:00 – Tue 17 Mar 10:00):",
        "• Level 1: Ben Carter (Platform Primary, and direct and Platform Backup), Tue 10 Mar 07:00–15:00 (+2 more)",
        "  nobody on call Fri 13 Mar 16:00 – Sat 14 Mar 04:00",
        "• Level 2: Priya Raman, always on call"]


def test_many_policies_are_one_line_each_and_the_account_has_no_name() -> None:
    one = policies(person(), person("Ben Carter", hours=30), target=Target(type="account"))
    two = one.model_copy(update={"policies": [*one.policies, PolicyOnCall(policy="Data", levels=[
        Level(level=1, on_call=[])])], "more_policies": 3, "nobody_on_call": ["Data level 1"]})
    assert oncall_text(ToolResult.ok(two), args(target=None)) == [
        "On call now, by escalation policy:", "• Platform Engineering: L1 Ben Carter; L2 Priya Raman",
        "• Data: L1 nobody", "…and 3 more.", "Nobody on call for: Data level 1."]
    assert oncall_text(ToolResult.ok(one), args(target=None))[0] == "On call now, by escalation policy:"


def test_schedule_text_people_nobody_gaps_and_what_it_pages_through() -> None:
    value = ScheduleOnCall(target=Target(type="schedule", name="Platform Secondary"), window=WEEK,
                           on_call=[], nobody_on_call=True, more=1, used_by=["Platform Engineering level 2"],
                           gaps=[Gap(start=T0, end=T0 + timedelta(hours=4))], note="A note.")
    assert oncall_text(ToolResult.ok(value), args(target="Platform Secondary")) == [
        "On call for Platform Secondary next week (Tue 10 Mar 10:00 – Tue 17 Mar 10:00):", "• nobody",
        "…and 1 more.", "Nobody on call Tue 10 Mar 10:00–14:00.", "Pages through: Platform Engineering level 2.",
        "A note."]


def test_person_text_says_you_for_me_and_the_name_otherwise() -> None:
    stint = Stint(policy="Payments", level=2, schedule=None, also_via=["Payments Secondary"], start=None, end=None,
                  permanent=True)
    nxt = Stint(policy="Payments", level=1, schedule="Payments Primary", start=T0 + timedelta(days=1),
                end=T0 + timedelta(days=2))
    value = PersonOnCall(person="Diego Alvarez", window=NOW, on_call_now=True, on_call=[stint], next=nxt)
    mine = oncall_text(ToolResult.ok(value), args(target="me"))
    assert mine == ["You are on call now:", "• Payments level 2 (direct, and Payments Secondary), always"]
    idle = value.model_copy(update={"on_call": [], "on_call_now": False})
    assert oncall_text(ToolResult.ok(idle), args(target="Diego Alvarez", target_type="user")) == [
        "Diego Alvarez is not on call now.",
        "Next: Payments level 1 (Payments Primary), Wed 11 Mar 10:00 – Thu 12 Mar 10:00."]
    assert result_text("who_is_on_call", args(target=None, target_type="me"), ToolResult.ok(idle)).endswith(
        "Times are in America/New_York.")


def test_nothing_found_is_the_tools_message() -> None:
    empty: ToolResult[WhoIsOnCallResult] = ToolResult.nothing(
        "Team 'Data' has no escalation policies, so nobody is on call for it.",
        OnCallFor(target=Target(type="team", name="Data")))
    assert result_text("who_is_on_call", args(target="Data"), empty) == (
        "Team 'Data' has no escalation policies, so nobody is on call for it.")
    assert "no escalation policies" in texts(oncall_blocks(empty, args(target="Data"), Room()))


# --------------------------------------------------------------------------- Block Kit


def test_window_in_mrkdwn_now_at_label_and_the_90_day_note() -> None:
    assert window_blocks_text(NOW) == "now"
    assert window_blocks_text(None) == ""
    at = WindowEcho(label="tomorrow 9am", at=T0, time_zone=NY.key)
    assert window_blocks_text(at) == "at <!date^1773151200^{date_short_pretty} {time}|Tue 10 Mar 10:00 -04:00>"
    cut = WEEK.model_copy(update={"label": "<!here> soon", "note": "cut at 90 days ahead (PagerDuty's limit)"})
    text = window_blocks_text(cut)
    assert text.startswith("&lt;!here&gt; soon (<!date^1773151200^") and text.endswith("(PagerDuty's limit))")
    iso = WEEK.model_copy(update={"label": "2026-03-10T10:00-04:00/2026-03-17T10:00-04:00"})
    assert window_blocks_text(iso).startswith("<!date^1773151200^")


def test_date_tokens_name_the_minute_the_model_read() -> None:
    odd = person(end=T0 + timedelta(hours=5, seconds=42, microseconds=5))
    blocks = oncall_blocks(ToolResult.ok(policies(odd)), args(), Room())
    assert "until <!date^1773169200^" in texts(blocks)  # 15:00, not 15:00:42


def test_policy_blocks_escape_pagerduty_text_and_clip_also_via() -> None:
    odd = person("<!channel> Ben", also_via=["A", "B", "C", "D", "E"], schedule="<b>")
    blocks = oncall_blocks(ToolResult.ok(policies(odd)), args(), Room())
    text = texts(blocks)
    assert blocks[0]["text"]["text"] == ":bust_in_silhouette: *On call for platform-engineering* now"
    assert "*Level 1*: &lt;!channel&gt; Ben (&lt;b&gt;, and A, B, C, D) until <!date^" in text
    assert f"*<{POLICY_URL}|Platform Engineering>*" in text and "*Level 2*: Priya Raman, always on call" in text


def test_schedule_and_person_blocks() -> None:
    value = ScheduleOnCall(target=Target(type="schedule", name="Platform Secondary"), window=NOW,
                           on_call=[OnSchedule(name="Emma Clarke", start=T0, end=T0 + timedelta(hours=6))],
                           used_by=["Platform Engineering level 2"])
    text = texts(oncall_blocks(ToolResult.ok(value), args(target="Platform Secondary"), Room()))
    assert "• Emma Clarke until <!date^" in text and "Pages through: Platform Engineering level 2" in text
    me = PersonOnCall(person="Sam <Rivera>", window=WEEK, on_call_now=False, on_call=[], next=Stint(
        policy="Platform Engineering", level=1, schedule="Platform Primary", start=T0, end=T0 + timedelta(days=6)),
        note="<!here>")
    blocks = oncall_blocks(ToolResult.ok(me), args(target="Sam Rivera", target_type="user"), Room())
    assert blocks[0]["text"]["text"].startswith(":bust_in_silhouette: *Sam &lt;Rivera&gt; is not on call next week (")
    assert texts(blocks[1:]).count("Next: Platform Engineering level 1 (Platform Primary), <!date^") == 1
    assert "&lt;!here&gt;" in texts(blocks[1:])
    mine = oncall_blocks(ToolResult.ok(me), args(target=None, target_type="me"), Room())
    assert mine[0]["text"]["text"].startswith(":bust_in_silhouette: *You are not on call next week")
