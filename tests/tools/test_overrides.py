"""list_overrides on the demo account (docs/sandbox-dataset.md, "Overrides", at DEFAULT_NOW 2026-03-10 14:00Z).

Shown in the Manager's zone, America/New_York (-04:00 from 2026-03-08):

* Platform Primary: in progress from hour(now) - 3h to hour(now) + 5h = 11:00Z -> 19:00Z = 07:00 -> 15:00.
* Payments Primary: Marcus Johnson from next Monday 09:00 Pacific (16 Mar 16:00Z = 12:00) for two days.
* Payments Secondary: Hannah Schmidt exactly over gap 3: Mon 16 Mar 00:00 -> 08:00 New York.
"""

from __future__ import annotations

from typing import Any

from bot.sandbox import Sandbox
from bot.tools.overrides import TOOLS
from bot.tools.runner import run_tool
from bot.tools.schedules import TOOLS as SCHEDULE_TOOLS
from tests.tools.conftest import ContextFactory, schema_chars

(LIST,) = TOOLS


async def call(sandbox: Sandbox, make_ctx: ContextFactory, args: dict[str, Any]) -> tuple[dict[str, Any], int]:
    ctx = make_ctx(sandbox)
    before = len(sandbox.requests)
    result = await run_tool(LIST, args, ctx)
    assert len(result.to_json()) <= 8_000
    return result.to_model(), len(sandbox.requests) - before


def test_schema_is_small() -> None:
    assert schema_chars(LIST) <= 650  # besides the shared window grammar
    assert LIST.kind == "read" and LIST.name == "list_overrides"


async def test_in_progress_override_on_platform_primary(demo: Sandbox, make_ctx: ContextFactory) -> None:
    data, requests = await call(demo, make_ctx, {"schedule": "Platform Primary", "window": None})
    assert requests == 2  # the name, then the overrides
    assert data["status"] == "ok" and data["schedule"] == "Platform Primary"
    assert data["window"] == {"label": "next 14 days", "start": "Tue 2026-03-10 10:00", "end": "Tue 2026-03-24 10:00",
                              "time_zone": "America/New_York"}
    assert data["total"] == 1
    (override,) = data["overrides"]
    # Its real start (before the window) is shown, not the window's edge.
    assert (override["from"], override["to"]) == ("2026-03-10T07:00-04:00", "2026-03-10T15:00-04:00")
    assert override["in_progress"] is True
    owner = next(o for o in demo.world.schedules.values() if o.name == "Platform Primary")
    assert override["override_id"] in {o.id for o in owner.overrides}
    # The person covering is the one get_schedule shows on call now.
    ctx = make_ctx(demo)
    shown = (await run_tool(SCHEDULE_TOOLS[0], {"schedule": "Platform Primary", "window": None}, ctx)).to_model()
    assert shown["on_call_now"] == [override["who"]]


async def test_next_week_override_on_payments_primary(demo: Sandbox, make_ctx: ContextFactory) -> None:
    data, _ = await call(demo, make_ctx, {"schedule": "payments primary", "window": None})
    (override,) = data["overrides"]
    assert override["who"] == "Marcus Johnson"
    assert (override["from"], override["to"]) == ("2026-03-16T12:00-04:00", "2026-03-18T12:00-04:00")
    assert "in_progress" not in override and override["override_id"]
    # Tomorrow (Wed 11 Mar in New York) has none, and the tool says so.
    empty, _ = await call(demo, make_ctx, {"schedule": "Payments Primary", "window": "tomorrow"})
    assert empty["status"] == "no_data" and empty["overrides"] == [] and empty["total"] == 0


async def test_override_closing_the_payments_secondary_gap(demo: Sandbox, make_ctx: ContextFactory) -> None:
    data, _ = await call(demo, make_ctx, {"schedule": "Payments Secondary", "window": "next week"})
    assert [(o["who"], o["from"], o["to"]) for o in data["overrides"]] == [
        ("Hannah Schmidt", "2026-03-16T00:00-04:00", "2026-03-16T08:00-04:00")]


async def test_unknown_schedule_and_bad_input(demo: Sandbox, make_ctx: ContextFactory) -> None:
    data, _ = await call(demo, make_ctx, {"schedule": "Paymnets Primary", "window": None})
    assert data["status"] == "error" and "Payments Primary" in data["error"]
    data, requests = await call(demo, make_ctx, {"schedule": "<id>", "window": None})
    assert data["status"] == "error" and requests == 0
    data, requests = await call(demo, make_ctx, {"schedule": "Platform Primary", "window": "whenever"})
    assert data["status"] == "error" and requests == 0


async def test_shift_based_schedule_overrides_fail_cleanly(demo: Sandbox, make_ctx: ContextFactory) -> None:
    # Lukas Fischer's override on the "Day" rotation. While the sandbox has no
    # GET /v3/schedules/{id}/overrides, the tool says so (and where to look) instead of failing.
    search_id = next(s.id for s in demo.world.schedules.values() if s.name == "Search On-call")
    for ref in ("Search On-call", search_id):  # by ID, the v2 endpoint's 400 leads to the v3 one
        data, _ = await call(demo, make_ctx, {"schedule": ref, "window": None})
        if data["status"] == "error":
            assert "shift-based" in data["error"] and "get_schedule" in data["hint"]
        else:
            assert [o["who"] for o in data["overrides"]] == ["Lukas Fischer"] and data["overrides"][0]["rotation_id"]
