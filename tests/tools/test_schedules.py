"""get_schedule and find_coverage_gaps on the demo account (and the large one for the budget).

Expectations come from docs/sandbox-dataset.md at DEFAULT_NOW (Tue 2026-03-10 14:00Z), shown in the
Manager's zone (Sam Rivera, America/New_York, on daylight time -04:00 since 2026-03-08):

* Platform Secondary: nobody Fri 13 Mar 20:00Z -> Sat 08:00Z = 16:00-04:00 -> 04:00-04:00 (12 h).
* Checkout Primary: nobody Sat 14 Mar 19:00Z -> Sun 07:00Z = 15:00-04:00 -> 03:00-04:00 (12 h).
* Search On-call (v3): nobody Sat 14 Mar 02:00Z -> 14:00Z = Fri 22:00-04:00 -> Sat 10:00-04:00 (12 h).
* Payments Secondary: its 8 h gap is closed by Hannah Schmidt's override, so no gap.
* A 12 h gap in the 168 h after now leaves 156/168 = 92.86 % coverage.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.analysis.windows import WINDOW_GRAMMAR
from bot.sandbox import Sandbox
from bot.tools.runner import run_tool
from bot.tools.schedules import TOOLS, FindCoverageGaps, GetSchedule
from bot.tools.schema import openai_tool
from tests.tools.conftest import ContextFactory, schema_chars

GET, FIND = TOOLS
ROTATION = ["Sam Rivera", "Ben Carter", "Aisha Khan", "Emma Clarke"]  # Platform Primary, weekly
PLATFORM_SECONDARY_GAP = {"from": "2026-03-13T16:00-04:00", "to": "2026-03-14T04:00-04:00", "hours": 12.0}
CHECKOUT_GAP = {"from": "2026-03-14T15:00-04:00", "to": "2026-03-15T03:00-04:00", "hours": 12.0}
SEARCH_GAP = {"from": "2026-03-13T22:00-04:00", "to": "2026-03-14T10:00-04:00", "hours": 12.0}
NEXT_7_DAYS = {"label": "next 7 days", "start": "Tue 2026-03-10 10:00", "end": "Tue 2026-03-17 10:00",
               "time_zone": "America/New_York"}


async def call(sandbox: Sandbox, ctx_factory: ContextFactory, tool: Any, args: dict[str, Any],
               **ctx_kwargs: Any) -> tuple[dict[str, Any], int]:
    ctx = ctx_factory(sandbox, **ctx_kwargs)
    before = len(sandbox.requests)
    result = await run_tool(tool, args, ctx)
    assert len(result.to_json()) <= 8_000
    return result.to_model(), len(sandbox.requests) - before


def test_schemas_are_small_and_strict() -> None:
    for tool in TOOLS:
        entry = openai_tool(tool.name, tool.description, tool.args)
        assert schema_chars(tool) <= 650, (tool.name, schema_chars(tool))  # besides the window grammar
        assert entry["function"]["parameters"]["required"] == list(tool.args.model_fields)
    assert {t.name for t in TOOLS} == {"get_schedule", "find_coverage_gaps"}
    assert GetSchedule.__doc__ and FindCoverageGaps.__doc__


async def test_platform_primary_shifts_in_the_default_window(demo: Sandbox, make_ctx: ContextFactory) -> None:
    data, requests = await call(demo, make_ctx, GET, {"schedule": "platform primary", "window": None})
    assert requests == 1
    assert data["status"] == "ok" and data["schedule"] == "Platform Primary"
    assert data["schedule_time_zone"] == "America/New_York" and data["window"] == NEXT_7_DAYS
    schedule_id = next(s.id for s in demo.world.schedules.values() if s.name == "Platform Primary")
    assert data["url"].endswith("/schedules/" + schedule_id)
    assert data["coverage_pct"] == 100.0 and data["gaps"] == [] and data["gap_count"] == 0
    # The in-progress override (hour(now)-3h .. hour(now)+5h = 11:00Z..19:00Z) is someone other than the
    # rotation's current on-call; the rotation hands off Monday 16 Mar 09:00 New York to the next person.
    first, current, following = data["shifts"]
    assert (first["from"], first["to"]) == ("2026-03-10T10:00-04:00", "2026-03-10T15:00-04:00")
    assert (current["from"], current["to"]) == ("2026-03-10T15:00-04:00", "2026-03-16T09:00-04:00")
    assert (following["from"], following["to"]) == ("2026-03-16T09:00-04:00", "2026-03-17T10:00-04:00")
    assert first["who"] != current["who"] and current["who"] in ROTATION
    assert following["who"] == ROTATION[(ROTATION.index(current["who"]) + 1) % 4]
    assert data["shifts_total"] == 3 and data["on_call_now"] == [first["who"]]
    assert data["handoffs"] == [
        {"at": "2026-03-10T15:00-04:00", "from": first["who"], "to": current["who"]},
        {"at": "2026-03-16T09:00-04:00", "from": current["who"], "to": following["who"]},
    ]


async def test_window_across_the_dst_change_shows_both_offsets(demo: Sandbox, make_ctx: ContextFactory) -> None:
    # New York springs forward on Sunday 2026-03-08; Monday's 09:00 handoff is already -04:00.
    data, _ = await call(demo, make_ctx, GET, {"schedule": "Platform Primary", "window": "2026-03-07/2026-03-10"})
    assert data["window"]["start"] == "Sat 2026-03-07 00:00" and data["window"]["end"] == "Tue 2026-03-10 00:00"
    before, after = data["shifts"]
    assert (before["from"], before["to"]) == ("2026-03-07T00:00-05:00", "2026-03-09T09:00-04:00")
    assert (after["from"], after["to"]) == ("2026-03-09T09:00-04:00", "2026-03-10T00:00-04:00")
    assert before["who"] == ROTATION[(ROTATION.index(after["who"]) - 1) % 4]
    assert data["coverage_pct"] == 100.0 and "on_call_now" not in data


async def test_gap_across_the_dst_change(demo: Sandbox, make_ctx: ContextFactory) -> None:
    # Checkout Primary's Saturday night, 20:00 -> 08:00 Berlin (CET): 19:00Z Sat 7 Mar -> 07:00Z Sun 8 Mar,
    # which is 14:00 EST -> 03:00 EDT in New York. The window is 47 h long: 35/47 = 74.47 %.
    data, _ = await call(demo, make_ctx, FIND, {"schedules": ["Checkout Primary"], "escalation_policy": None,
                                                "window": "2026-03-07/2026-03-09"})
    (checkout,) = data["schedules"]
    assert checkout["gaps"] == [{"from": "2026-03-07T14:00-05:00", "to": "2026-03-08T03:00-04:00", "hours": 12.0}]
    assert checkout["coverage_pct"] == 74.47 and checkout["schedule_time_zone"] == "Europe/Berlin"


async def test_named_schedules_gaps_exact_boundaries(demo: Sandbox, make_ctx: ContextFactory) -> None:
    names = ["Platform Secondary", "Checkout Primary", "Payments Secondary", "Platform Primary"]
    data, requests = await call(demo, make_ctx, FIND, {"schedules": names, "escalation_policy": None,
                                                       "window": None})
    assert requests == len(names)  # one rendered list query per name
    assert data["window"] == NEXT_7_DAYS
    by_name = {s["schedule"]: s for s in data["schedules"]}
    assert by_name["Platform Secondary"]["gaps"] == [PLATFORM_SECONDARY_GAP]  # crosses local midnight
    assert by_name["Checkout Primary"]["gaps"] == [CHECKOUT_GAP]
    assert by_name["Platform Secondary"]["coverage_pct"] == by_name["Checkout Primary"]["coverage_pct"] == 92.86
    # Closed by Hannah Schmidt's override: no gap at all.
    assert by_name["Payments Secondary"]["gaps"] == [] and by_name["Payments Secondary"]["coverage_pct"] == 100.0
    assert by_name["Platform Primary"]["gap_count"] == 0


async def test_get_schedule_without_a_name_says_it_is_an_overview_without_shifts(
        demo: Sandbox, make_ctx: ContextFactory) -> None:
    entry = openai_tool(GET.name, GET.description, GET.args)["function"]
    assert "overview of all schedules (coverage and gaps each, no shifts)" in entry["description"]
    schedule = entry["parameters"]["properties"]["schedule"]
    assert schedule["description"] == "Schedule name or ID; null: overview, no shifts."
    data, _ = await call(demo, make_ctx, GET, {"schedule": None, "window": None})
    assert data["status"] == "ok" and "shifts" not in data and data["schedules_checked"] == 8
    assert data["overview"] == "coverage and gaps per schedule, no shifts: name a schedule for its shifts"
    gaps, _ = await call(demo, make_ctx, FIND, {"schedules": None, "escalation_policy": None, "window": None})
    assert "overview" not in gaps  # asking for gaps, an overview is what was asked


async def test_v3_schedule_gap_and_member_names(demo: Sandbox, make_ctx: ContextFactory) -> None:
    data, requests = await call(demo, make_ctx, GET, {"schedule": "Search On-call", "window": None})
    assert data["status"] == "ok" and data["schedule"] == "Search On-call"
    assert data["schedule_time_zone"] == "America/Los_Angeles" and data["kind"].startswith("shift-based")
    assert data["gaps"] == [SEARCH_GAP] and data["coverage_pct"] == 92.86
    # Lukas Fischer's override on the Day rotation: 07:00 -> 19:00 Pacific on Wed 11 Mar (10:00 -> 22:00 EDT).
    lukas = [s for s in data["shifts"] if s["who"] == "Lukas Fischer"]
    assert any(datetime.fromisoformat(s["from"]) <= datetime.fromisoformat("2026-03-11T10:00-04:00")
               and datetime.fromisoformat(s["to"]) >= datetime.fromisoformat("2026-03-11T22:00-04:00")
               for s in lukas)
    assert not any(s["who"].startswith("P") and " " not in s["who"] for s in data["shifts"])  # names, not ids
    assert requests <= 4  # list query, policies (to find a v3 schedule), the v3 schedule, /oncalls for names
    # Around the Friday night, the gap shows as handoffs to and from nobody.
    night, _ = await call(demo, make_ctx, GET, {"schedule": "Search On-call",
                                                "window": "2026-03-13T18:00/2026-03-14T12:00"})
    assert night["gaps"] == [SEARCH_GAP] and night["coverage_pct"] == round(100 * 6 / 18, 2)
    assert [(h["at"], h["to"]) for h in night["handoffs"] if h["to"] == "nobody"] == [(SEARCH_GAP["from"], "nobody")]
    assert [(h["at"], h["from"]) for h in night["handoffs"] if h["from"] == "nobody"] == [(SEARCH_GAP["to"], "nobody")]


async def test_overview_of_all_schedules_lists_gaps_first(demo: Sandbox, make_ctx: ContextFactory) -> None:
    data, requests = await call(demo, make_ctx, GET, {"schedule": None, "window": None})
    assert requests <= 3
    assert data["schedules_checked"] == 8 and data["schedules_with_gaps"] == 3
    assert [(s["schedule"], s["gaps"], s["coverage_pct"]) for s in data["with_gaps"]] == [
        ("Platform Secondary", [PLATFORM_SECONDARY_GAP], 92.86),  # soonest gap first
        ("Search On-call", [SEARCH_GAP], 92.86),
        ("Checkout Primary", [CHECKOUT_GAP], 92.86),
    ]
    assert data["fully_covered"] == ["Data Follow-the-Sun", "Mobile Primary", "Payments Primary",
                                     "Payments Secondary", "Platform Primary"]
    same, _ = await call(demo, make_ctx, FIND, {"schedules": None, "escalation_policy": None, "window": None})
    assert same["with_gaps"] == data["with_gaps"]


async def test_escalation_policy_level_with_a_gap(demo: Sandbox, make_ctx: ContextFactory) -> None:
    data, requests = await call(demo, make_ctx, FIND, {"schedules": None, "escalation_policy": "Platform Engineering",
                                                       "window": None})
    assert requests == 2  # the policy, then one /oncalls
    assert data["escalation_policy"] == "Platform Engineering" and data["levels_with_gaps"] == [2]
    one, two, three = data["levels"]
    assert one["targets"] == ["Platform Primary"] and one["covered_throughout"] is True
    assert two["targets"] == ["Platform Secondary"] and two["covered_throughout"] is False
    assert two["nobody_on_call"] == [PLATFORM_SECONDARY_GAP] and two["coverage_pct"] == 92.86
    assert three["always_on_call"] == ["Priya Raman"] and three["covered_throughout"] is True
    assert "nobody_at_any_level" not in data and "schedules" not in data


async def test_search_policy_v3_level_and_checkout_level(demo: Sandbox, make_ctx: ContextFactory) -> None:
    data, _ = await call(demo, make_ctx, FIND, {"schedules": None, "escalation_policy": "search", "window": None})
    assert data["levels_with_gaps"] == [1, 2]
    one, two, three = data["levels"]
    assert one["targets"] == ["Search On-call"] and one["nobody_on_call"] == [SEARCH_GAP]
    assert two["targets"] == ["Checkout Primary"] and two["nobody_on_call"] == [CHECKOUT_GAP]
    assert three["always_on_call"] == ["Jonas Weber"]
    # Payments L2 has a user target (Diego Alvarez) next to its schedule: always covered.
    payments, _ = await call(demo, make_ctx, FIND, {"schedules": None, "escalation_policy": "Payments",
                                                    "window": None})
    assert payments["levels_with_gaps"] == []
    assert "Diego Alvarez" in payments["levels"][1]["always_on_call"]


async def test_unknown_schedule_suggests_closest_names(demo: Sandbox, make_ctx: ContextFactory) -> None:
    data, _ = await call(demo, make_ctx, GET, {"schedule": "Platfrom Primry", "window": None})
    assert data["status"] == "error" and "Platform Primary" in data["error"]
    mixed, _ = await call(demo, make_ctx, FIND, {"schedules": ["Checkout Primary", "Chekout Primery"],
                                                 "escalation_policy": None, "window": None})
    assert mixed["status"] == "ok" and mixed["schedules"][0]["gaps"] == [CHECKOUT_GAP]
    assert "Checkout Primary" in mixed["not_found"][0]
    ambiguous, _ = await call(demo, make_ctx, GET, {"schedule": "Platform", "window": None})
    assert ambiguous["status"] == "error" and "Platform Secondary" in ambiguous["error"]


async def test_bad_windows_are_errors_the_model_can_fix(demo: Sandbox, make_ctx: ContextFactory) -> None:
    data, requests = await call(demo, make_ctx, GET, {"schedule": "Platform Primary", "window": "sometime soon"})
    assert data["status"] == "error" and WINDOW_GRAMMAR.removesuffix(".") in data["error"] and requests == 0
    data, _ = await call(demo, make_ctx, FIND, {"schedules": None, "escalation_policy": None, "window": "next 60 days"})
    assert data["status"] == "error" and "35 days" in data["error"]


async def test_next_week_overview_on_the_large_account_is_cheap(large: Sandbox, make_ctx: ContextFactory) -> None:
    for tool, args in ((GET, {"schedule": None, "window": "next week"}),
                       (FIND, {"schedules": None, "escalation_policy": None, "window": "next week"}),
                       (FIND, {"schedules": None, "escalation_policy": None, "window": None})):
        data, requests = await call(large, make_ctx, tool, args)
        assert data["status"] == "ok", data
        assert requests <= 3, (tool.name, requests)
        assert 290 <= data["schedules_checked"] <= 300  # 300 schedules, every 37th shift-based (not listed)
        assert data["schedules_with_gaps"] + data["fully_covered_total"] == data["schedules_checked"]
    # Every 20th schedule has a 6-hour gap two days out (some partly covered by another layer).
    assert data["schedules_with_gaps"] >= 10
    assert all(0 < g["hours"] <= 6.0 for s in data["with_gaps"] for g in s["gaps"])


async def test_overview_survives_a_shift_based_schedule_it_cannot_read(demo: Sandbox,
                                                                       make_ctx: ContextFactory) -> None:
    demo.faults.add(path="/v3/schedules/*", status=403)
    data, _ = await call(demo, make_ctx, GET, {"schedule": None, "window": None}, validate=False)
    assert data["status"] == "ok" and data["schedules_checked"] == 7
    assert [s["schedule"] for s in data["with_gaps"]] == ["Platform Secondary", "Checkout Primary"]
    assert "Shift-based" in data["note"]
