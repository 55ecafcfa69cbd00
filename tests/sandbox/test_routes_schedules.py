"""Schedules (v2 and v3) and overrides of the sandbox, through httpx and PagerDuty's OpenAPI contract.

Every expected instant below is worked out by hand from :func:`build_world` (see its comments).
``now`` is Tue 2026-03-10 12:30Z; Europe/London is on GMT (= UTC) until 2026-03-29 and New York on
EDT (-04:00) since 2026-03-08, so London instants read as ``Z`` and New York ones as ``-04:00``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime, time
from typing import Any

import httpx2
import pytest

from bot.sandbox.app import Sandbox
from bot.sandbox.model import (
    EscalationPolicy,
    EscalationRule,
    IdFactory,
    Override,
    Schedule,
    Service,
    Target,
    Team,
    TokenGrant,
    User,
    World,
)
from bot.sandbox.routes.schedules import ROUTES
from bot.sandbox.schedule_engine import Layer, Restriction
from tests.helpers import sandbox_transport

NOW = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)
DAY = 86_400
WEEK = 7 * DAY
BASE_URL = "https://api.pagerduty.com"
ADMIN_TOKEN = "tok-admin"
RESTRICTED_TOKEN = "tok-rita"
HEADERS = {
    "Authorization": f"Token token={ADMIN_TOKEN}",
    "Accept": "application/vnd.pagerduty+json;version=2",
    "Content-Type": "application/json",
}
WRITE_HEADERS = {**HEADERS, "From": "alice@example.com"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def build_world() -> World:
    """A tiny account.

    * ``S1`` "Primary" (v2, Europe/London):
      - ``PL1`` (lowest): daily handoff at 00:00Z from Mon 2026-03-02 between UA and UB (Mar 2 UA, Mar 3
        UB, ... Mar 10 UA, Mar 11 UB; Mar 1 is turn -1, so UB); starts Mar 1, ends 2026-03-11T20:00Z.
      - ``PL2`` (highest): UC alone, weekly turns, daily restriction 09:00 for 8 h (09-17Z), from Mar 2.
      - overrides: ``POVFUT1`` UD 2026-03-11 12:00-14:00Z (future), ``POVPAST`` UB 2026-03-09 01:00-02:00Z.
    * ``S2`` "Secondary" (v2, Asia/Tokyo +09:00): UB, UC weekly from Mon 2026-03-02 00:00Z (Mar 9 week:
      UC).
    * ``S3`` "Follow the sun" (v3, UTC): rotation ``PR1`` UA 00-12Z daily, rotation ``PR2`` UB 10-14Z
      daily (concurrent with UA 10-12), override ``POV3`` UD on PR2 2026-03-10 11:00-12:00Z.
    * ``EP1`` (team T1): level 1 -> S1, level 2 -> UD directly. ``EP2``: S3. ``EP3``: S2.
    * Services ``SV1`` (team T1, EP1), ``SV2`` (EP2). Rita (``UR``, restricted_access) is in T1.
    """
    world = World(now=NOW, ids=IdFactory(7))
    for uid, name, tz, role in [
        ("UA", "Alice", "America/New_York", "admin"),
        ("UB", "Bob", "Europe/London", "user"),
        ("UC", "Carol", "Europe/London", "user"),
        ("UD", "Dave", "Asia/Tokyo", "limited_user"),
        ("UR", "Rita", "UTC", "restricted_access"),
    ]:
        world.users[uid] = User(uid, name, f"{name.lower()}@example.com", tz, role)  # type: ignore[arg-type]
    world.teams["T1"] = Team("T1", "Payments", members={"UA": "manager", "UR": "responder"})
    business_hours = Restriction("daily_restriction", time(9, 0), 8 * 3600)
    s1 = Schedule("S1", "Primary", "Europe/London", layers=[
        Layer("PL1", at("2026-03-01T00:00Z"), at("2026-03-11T20:00Z"), at("2026-03-02T00:00Z"), DAY,
              ("UA", "UB")),
        Layer("PL2", at("2026-03-02T00:00Z"), None, at("2026-03-02T00:00Z"), WEEK, ("UC",),
              (business_hours,)),
    ], layer_names=["Nights", "Business hours"], team_ids=["T1"], description="Payments primary")
    s1.overrides.append(Override("POVFUT1", at("2026-03-11T12:00Z"), at("2026-03-11T14:00Z"), "UD",
                                 world.new_override_order()))
    s1.overrides.append(Override("POVPAST", at("2026-03-09T01:00Z"), at("2026-03-09T02:00Z"), "UB",
                                 world.new_override_order()))
    s2 = Schedule("S2", "Secondary", "Asia/Tokyo", layers=[
        Layer("PL3", at("2026-03-02T00:00Z"), None, at("2026-03-02T00:00Z"), WEEK, ("UB", "UC")),
    ], layer_names=["Layer 1"])
    s3 = Schedule("S3", "Follow the sun", "UTC", kind="v3", layers=[
        Layer("PR1", at("2026-03-01T00:00Z"), None, at("2026-03-02T00:00Z"), DAY, ("UA",),
              (Restriction("daily_restriction", time(0, 0), 12 * 3600),)),
        Layer("PR2", at("2026-03-01T00:00Z"), None, at("2026-03-02T00:00Z"), DAY, ("UB",),
              (Restriction("daily_restriction", time(10, 0), 4 * 3600),)),
    ], layer_names=["Europe", "Americas"])
    s3.overrides.append(Override("POV3", at("2026-03-10T11:00Z"), at("2026-03-10T12:00Z"), "UD",
                                 world.new_override_order(), rotation_id="PR2"))
    for schedule in (s1, s2, s3):
        world.schedules[schedule.id] = schedule
    world.escalation_policies["EP1"] = EscalationPolicy("EP1", "Primary EP", [
        EscalationRule("R1", 30, [Target("schedule_reference", "S1")]),
        EscalationRule("R2", 30, [Target("user_reference", "UD")]),
    ], team_ids=["T1"])
    world.escalation_policies["EP2"] = EscalationPolicy("EP2", "Sun EP", [
        EscalationRule("R3", 30, [Target("schedule_v3_reference", "S3")]),
    ])
    world.escalation_policies["EP3"] = EscalationPolicy("EP3", "Secondary EP", [
        EscalationRule("R4", 30, [Target("schedule_reference", "S2")]),
    ])
    world.services["SV1"] = Service("SV1", "Checkout", "EP1", at("2026-01-01T00:00Z"), team_ids=["T1"])
    world.services["SV2"] = Service("SV2", "Ledger", "EP2", at("2026-01-01T00:00Z"))
    world.tokens[ADMIN_TOKEN] = TokenGrant("UA")
    world.tokens[RESTRICTED_TOKEN] = TokenGrant("UR")
    return world


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
def sandbox(world: World) -> Sandbox:
    return Sandbox(world, ROUTES, rate_limit_per_minute=None)


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[httpx2.AsyncClient]:
    """Every request and response is checked against PagerDuty's spec (when it is available)."""
    async with httpx2.AsyncClient(transport=sandbox_transport(sandbox), base_url=BASE_URL,
                                  headers=HEADERS) as http:
        yield http


@pytest.fixture
async def raw_client(sandbox: Sandbox) -> AsyncIterator[httpx2.AsyncClient]:
    """No contract check: for requests that break the spec on purpose (a missing required parameter)."""
    async with httpx2.AsyncClient(transport=sandbox.transport(), base_url=BASE_URL, headers=HEADERS) as http:
        yield http


Params = Sequence[tuple[str, str]] | Mapping[str, str]
QueryPairs = list[tuple[str, str | int | float | bool | None]]


def query_pairs(params: Params | None) -> QueryPairs:
    if params is None:
        return []
    return list(params.items() if isinstance(params, Mapping) else params)


async def get_json(client: httpx2.AsyncClient, path: str, params: Params | None = None,
                   status: int = 200) -> Any:
    response = await client.get(path, params=query_pairs(params))
    assert response.status_code == status, response.text
    return response.json()


def entries(sub: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(e["start"], e["end"], e["user"]["id"]) for e in sub["rendered_schedule_entries"]]


WINDOW = {"since": "2026-03-10T00:00:00Z", "until": "2026-03-12T00:00:00Z"}


# --------------------------------------------------------------------------- GET /schedules/{id}


async def test_final_schedule_layers_and_overrides_for_a_window(client: httpx2.AsyncClient) -> None:
    schedule = (await get_json(client, "/schedules/S1", WINDOW))["schedule"]
    assert schedule["type"] == "schedule"
    assert schedule["summary"] == schedule["name"] == "Primary"
    assert schedule["self"] == "https://api.pagerduty.com/schedules/S1"
    assert schedule["html_url"] == "https://acme.pagerduty.com/schedules/S1"
    assert schedule["final_schedule"]["name"] == "Final Schedule"
    assert entries(schedule["final_schedule"]) == [
        ("2026-03-10T00:00:00Z", "2026-03-10T09:00:00Z", "UA"),
        ("2026-03-10T09:00:00Z", "2026-03-10T17:00:00Z", "UC"),
        ("2026-03-10T17:00:00Z", "2026-03-11T00:00:00Z", "UA"),
        ("2026-03-11T00:00:00Z", "2026-03-11T09:00:00Z", "UB"),
        ("2026-03-11T09:00:00Z", "2026-03-11T12:00:00Z", "UC"),
        ("2026-03-11T12:00:00Z", "2026-03-11T14:00:00Z", "UD"),  # the override
        ("2026-03-11T14:00:00Z", "2026-03-11T17:00:00Z", "UC"),
        ("2026-03-11T17:00:00Z", "2026-03-11T20:00:00Z", "UB"),  # PL1 ends at 20:00: a 4 h gap follows
    ]
    assert schedule["final_schedule"]["rendered_coverage_percentage"] == 91.67  # 44 h of 48
    assert schedule["final_schedule"]["rendered_schedule_entries"][0]["user"]["summary"] == "Alice"

    # Highest priority first.
    high, low = schedule["schedule_layers"]
    assert (high["id"], high["name"], low["id"], low["name"]) == ("PL2", "Business hours", "PL1", "Nights")
    assert entries(high) == [
        ("2026-03-10T09:00:00Z", "2026-03-10T17:00:00Z", "UC"),
        ("2026-03-11T09:00:00Z", "2026-03-11T17:00:00Z", "UC"),
    ]
    assert high["rendered_coverage_percentage"] == 33.33  # 16 h of 48
    assert high["restrictions"] == [
        {"type": "daily_restriction", "start_time_of_day": "09:00:00", "duration_seconds": 28800}]
    assert high["end"] is None
    assert high["rotation_turn_length_seconds"] == WEEK
    assert entries(low) == [
        ("2026-03-10T00:00:00Z", "2026-03-11T00:00:00Z", "UA"),
        ("2026-03-11T00:00:00Z", "2026-03-11T20:00:00Z", "UB"),
    ]
    assert low["rendered_coverage_percentage"] == 91.67
    assert [u["user"]["id"] for u in low["users"]] == ["UA", "UB"]
    assert (low["start"], low["end"], low["rotation_virtual_start"]) == (
        "2026-03-01T00:00:00Z", "2026-03-11T20:00:00Z", "2026-03-02T00:00:00Z")

    overrides = schedule["overrides_subschedule"]
    assert overrides["name"] == "Overrides"
    assert entries(overrides) == [("2026-03-11T12:00:00Z", "2026-03-11T14:00:00Z", "UD")]
    assert overrides["rendered_coverage_percentage"] == 4.17  # 2 h of 48

    assert [u["id"] for u in schedule["users"]] == ["UA", "UB", "UC"]
    assert [p["id"] for p in schedule["escalation_policies"]] == ["EP1"]
    assert [t["id"] for t in schedule["teams"]] == ["T1"]
    assert schedule["time_zone"] == "Europe/London"
    assert schedule["description"] == "Payments primary"


async def test_time_zone_renders_offsets(client: httpx2.AsyncClient) -> None:
    params = {**WINDOW, "time_zone": "America/New_York"}
    schedule = (await get_json(client, "/schedules/S1", params))["schedule"]
    assert entries(schedule["final_schedule"])[:2] == [
        ("2026-03-09T20:00:00-04:00", "2026-03-10T05:00:00-04:00", "UA"),
        ("2026-03-10T05:00:00-04:00", "2026-03-10T13:00:00-04:00", "UC"),
    ]
    low = schedule["schedule_layers"][1]
    assert low["start"] == "2026-02-28T19:00:00-05:00"  # Mar 1 00:00Z is before the DST change
    # Restrictions stay in the schedule's own zone.
    assert schedule["schedule_layers"][0]["restrictions"][0]["start_time_of_day"] == "09:00:00"


async def test_default_time_zone_is_the_schedules(client: httpx2.AsyncClient) -> None:
    schedule = (await get_json(client, "/schedules/S2", {"since": "2026-03-10T00:00:00Z",
                                                         "until": "2026-03-10T06:00:00Z"}))["schedule"]
    assert entries(schedule["final_schedule"]) == [
        ("2026-03-10T09:00:00+09:00", "2026-03-10T15:00:00+09:00", "UC")]


async def test_since_only_defaults_until_two_weeks_later(client: httpx2.AsyncClient) -> None:
    final = (await get_json(client, "/schedules/S1", {"since": "2026-03-10T00:00:00Z"}))["schedule"][
        "final_schedule"]
    # Mar 10 (24 h) + Mar 11 until 20:00 (20 h) + Business hours Mar 12..23 (12 x 8 h) = 140 h of 336.
    assert final["rendered_coverage_percentage"] == 41.67
    assert len(final["rendered_schedule_entries"]) == 3 + 5 + 12
    assert entries(final)[-1] == ("2026-03-23T09:00:00Z", "2026-03-23T17:00:00Z", "UC")


async def test_until_only_defaults_since_two_weeks_earlier(client: httpx2.AsyncClient) -> None:
    final = (await get_json(client, "/schedules/S1", {"until": "2026-03-12T00:00:00Z"}))["schedule"][
        "final_schedule"]
    # Window Feb 26 -> Mar 12 (336 h); PL1 covers Mar 1 00:00 -> Mar 11 20:00 = 260 h.
    assert final["rendered_coverage_percentage"] == 77.38
    assert entries(final)[0] == ("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z", "UB")


async def test_no_window_renders_nothing(client: httpx2.AsyncClient) -> None:
    schedule = (await get_json(client, "/schedules/S1"))["schedule"]
    for sub in (schedule["final_schedule"], schedule["overrides_subschedule"], *schedule["schedule_layers"]):
        assert sub["rendered_schedule_entries"] == []
        assert sub["rendered_coverage_percentage"] is None


async def test_overflow_keeps_entries_unclipped(client: httpx2.AsyncClient) -> None:
    window = {"since": "2026-03-10T10:00:00Z", "until": "2026-03-10T12:00:00Z"}
    clipped = (await get_json(client, "/schedules/S1", window))["schedule"]
    assert entries(clipped["final_schedule"]) == [("2026-03-10T10:00:00Z", "2026-03-10T12:00:00Z", "UC")]
    full = (await get_json(client, "/schedules/S1", {**window, "overflow": "true"}))["schedule"]
    assert entries(full["final_schedule"]) == [("2026-03-10T09:00:00Z", "2026-03-10T17:00:00Z", "UC")]
    assert entries(full["schedule_layers"][1]) == [("2026-03-10T00:00:00Z", "2026-03-11T00:00:00Z", "UA")]
    assert full["final_schedule"]["rendered_coverage_percentage"] == 100.0


async def test_equal_since_and_until_ask_for_that_instant(client: httpx2.AsyncClient) -> None:
    instant = "2026-03-10T12:30:00Z"
    schedule = (await get_json(client, "/schedules/S1", {"since": instant, "until": instant}))["schedule"]
    assert entries(schedule["final_schedule"]) == [(instant, instant, "UC")]
    assert schedule["final_schedule"]["rendered_coverage_percentage"] == 100.0
    assert entries(schedule["schedule_layers"][1]) == [(instant, instant, "UA")]


async def test_until_before_since_is_refused(client: httpx2.AsyncClient) -> None:
    body = await get_json(client, "/schedules/S1", {"since": "2026-03-12T00:00:00Z",
                                                    "until": "2026-03-10T00:00:00Z"}, status=400)
    assert body["error"]["code"] == 2001


async def test_next_oncall_for_user(client: httpx2.AsyncClient) -> None:
    schedule = (await get_json(client, "/schedules/S1", {"include_next_oncall_for_user": "UB"}))["schedule"]
    assert schedule["next_oncall_for_user"] == {
        "start": "2026-03-11T00:00:00Z", "end": "2026-03-11T09:00:00Z",
        "user": {"id": "UB", "type": "user_reference", "summary": "Bob",
                 "self": "https://api.pagerduty.com/users/UB", "html_url": "https://acme.pagerduty.com/users/UB"},
    }


async def test_unknown_schedule_is_404(client: httpx2.AsyncClient) -> None:
    body = await get_json(client, "/schedules/PNOPE00", status=404)
    assert body["error"] == {"message": "Not Found", "code": 2100, "errors": ["Schedule not found"]}
    await get_json(client, "/v3/schedules/PNOPE00", status=404)


async def test_v2_endpoints_refuse_a_v3_schedule(client: httpx2.AsyncClient) -> None:
    body = await get_json(client, "/schedules/S3", WINDOW, status=400)
    assert "/v3/schedules/S3" in body["error"]["errors"][0]
    await get_json(client, "/schedules/S3/users", status=400)
    await get_json(client, "/schedules/S3/overrides", WINDOW, status=400)


# --------------------------------------------------------------------------- GET /schedules


async def test_list_filters_by_name_and_team_and_omits_v3(client: httpx2.AsyncClient) -> None:
    listed = await get_json(client, "/schedules", {"total": "true"})
    assert [s["id"] for s in listed["schedules"]] == ["S1", "S2"]  # S3 is shift-based: /v3/schedules
    assert (listed["limit"], listed["offset"], listed["more"], listed["total"]) == (25, 0, False, 2)
    assert "schedule_layers" not in listed["schedules"][0]
    assert [s["id"] for s in (await get_json(client, "/schedules", {"query": "PRIM"}))["schedules"]] == ["S1"]
    by_team = await get_json(client, "/schedules", [("team_ids[]", "T1")])
    assert [s["id"] for s in by_team["schedules"]] == ["S1"]
    page = await get_json(client, "/schedules", {"limit": "1"})
    assert ([s["id"] for s in page["schedules"]], page["more"], page["total"]) == (["S1"], True, None)


async def test_list_includes_rendered_parts(client: httpx2.AsyncClient) -> None:
    listed = await get_json(client, "/schedules", [
        ("query", "primary"), ("include[]", "final_schedule"), ("include[]", "schedule_layers"),
        ("since", "2026-03-11T12:00:00Z"), ("until", "2026-03-11T15:00:00Z"), ("time_zone", "UTC")])
    schedule = listed["schedules"][0]
    assert "overrides_subschedule" not in schedule
    assert entries(schedule["final_schedule"]) == [
        ("2026-03-11T12:00:00Z", "2026-03-11T14:00:00Z", "UD"),
        ("2026-03-11T14:00:00Z", "2026-03-11T15:00:00Z", "UC"),
    ]
    assert [layer["id"] for layer in schedule["schedule_layers"]] == ["PL2", "PL1"]


async def test_list_renders_in_the_current_users_zone(client: httpx2.AsyncClient) -> None:
    listed = await get_json(client, "/schedules", [
        ("query", "primary"), ("include[]", "final_schedule"),
        ("since", "2026-03-11T12:00:00Z"), ("until", "2026-03-11T13:00:00Z")])
    # The token acts as Alice, whose zone is America/New_York.
    assert entries(listed["schedules"][0]["final_schedule"]) == [
        ("2026-03-11T08:00:00-04:00", "2026-03-11T09:00:00-04:00", "UD")]


# --------------------------------------------------------------------------- GET /schedules/{id}/users


async def test_users_on_call_in_a_window(client: httpx2.AsyncClient) -> None:
    users = (await get_json(client, "/schedules/S1/users", {"since": "2026-03-11T00:00:00Z",
                                                            "until": "2026-03-11T13:00:00Z"}))["users"]
    assert [u["id"] for u in users] == ["UB", "UC", "UD"]
    assert users[0]["type"] == "user"
    assert users[0]["email"] == "bob@example.com"


async def test_users_without_a_window_are_all_layer_users(client: httpx2.AsyncClient) -> None:
    users = (await get_json(client, "/schedules/S1/users"))["users"]
    assert [u["id"] for u in users] == ["UA", "UB", "UC"]
    instant = {"since": "2026-03-10T12:30:00Z", "until": "2026-03-10T12:30:00Z"}
    assert (await get_json(client, "/schedules/S1/users", instant))["users"] == []


# --------------------------------------------------------------------------- overrides


async def test_list_overrides_needs_since_and_until(raw_client: httpx2.AsyncClient) -> None:
    body = await get_json(raw_client, "/schedules/S1/overrides", {"since": "2026-03-10T00:00:00Z"},
                          status=400)
    assert body["error"]["errors"] == ["until is required"]


async def test_list_overrides_clips_unless_overflow(client: httpx2.AsyncClient) -> None:
    wide = await get_json(client, "/schedules/S1/overrides", {"since": "2026-03-09T00:00:00Z",
                                                              "until": "2026-03-12T00:00:00Z"})
    assert wide["overrides"] == [
        {"id": "POVPAST", "start": "2026-03-09T01:00:00Z", "end": "2026-03-09T02:00:00Z",
         "user": {"id": "UB", "type": "user_reference", "summary": "Bob",
                  "self": "https://api.pagerduty.com/users/UB",
                  "html_url": "https://acme.pagerduty.com/users/UB"}},
        {"id": "POVFUT1", "start": "2026-03-11T12:00:00Z", "end": "2026-03-11T14:00:00Z",
         "user": {"id": "UD", "type": "user_reference", "summary": "Dave",
                  "self": "https://api.pagerduty.com/users/UD",
                  "html_url": "https://acme.pagerduty.com/users/UD"}},
    ]
    narrow = {"since": "2026-03-11T13:00:00Z", "until": "2026-03-12T00:00:00Z"}
    clipped = (await get_json(client, "/schedules/S1/overrides", narrow))["overrides"]
    assert [(o["id"], o["start"], o["end"]) for o in clipped] == [
        ("POVFUT1", "2026-03-11T13:00:00Z", "2026-03-11T14:00:00Z")]
    full = (await get_json(client, "/schedules/S1/overrides", {**narrow, "overflow": "true"}))["overrides"]
    assert [(o["start"], o["end"]) for o in full] == [("2026-03-11T12:00:00Z", "2026-03-11T14:00:00Z")]
    editable = await get_json(client, "/schedules/S1/overrides", {"since": "2026-03-01T00:00:00Z",
                                                                  "until": "2026-03-31T00:00:00Z",
                                                                  "editable": "true"})
    assert [o["id"] for o in editable["overrides"]] == ["POVFUT1"]


async def test_create_overrides_answers_one_result_per_item(client: httpx2.AsyncClient, world: World) -> None:
    response = await client.post("/schedules/S1/overrides", headers=WRITE_HEADERS, json={"overrides": [
        # 09:00 in New York (EDT, -04:00) is 13:00Z.
        {"start": "2026-03-12T09:00:00-04:00", "end": "2026-03-12T11:00:00-04:00",
         "time_zone": "America/New_York", "user": {"id": "UB", "type": "user_reference"}},
        {"start": "2026-03-12T14:00:00Z", "end": "2026-03-12T14:00:00Z",
         "user": {"id": "UB", "type": "user_reference"}},
        {"start": "2026-03-12T14:00:00Z", "end": "2026-03-12T15:00:00Z",
         "user": {"id": "PNOPE00", "type": "user_reference"}},
    ]})
    assert response.status_code == 201, response.text
    created, same_instant, unknown_user = response.json()
    assert created["status"] == 201
    assert "errors" not in created
    assert (created["override"]["start"], created["override"]["end"]) == (
        "2026-03-12T13:00:00Z", "2026-03-12T15:00:00Z")
    assert created["override"]["user"]["summary"] == "Bob"
    assert same_instant == {
        "status": 400, "errors": ["Override must end after its start"],
        "override": {"start": "2026-03-12T14:00:00Z", "end": "2026-03-12T14:00:00Z",
                     "user": {"id": "UB", "type": "user_reference", "summary": "Bob",
                              "self": "https://api.pagerduty.com/users/UB",
                              "html_url": "https://acme.pagerduty.com/users/UB"}},
    }
    assert unknown_user["status"] == 400
    assert unknown_user["errors"] == ["User PNOPE00 not found"]
    assert unknown_user["override"]["user"] == {"id": "PNOPE00", "type": "user_reference"}
    assert [o.id for o in world.schedules["S1"].overrides][-1] == created["override"]["id"]
    assert len(world.schedules["S1"].overrides) == 3

    # A later override wins where they overlap.
    later = await client.post("/schedules/S1/overrides", headers=WRITE_HEADERS, json={"overrides": [
        {"start": "2026-03-12T14:00:00Z", "end": "2026-03-12T16:00:00Z",
         "user": {"id": "UD", "type": "user_reference"}}]})
    assert later.status_code == 201
    final = (await get_json(client, "/schedules/S1", {"since": "2026-03-12T12:00:00Z",
                                                      "until": "2026-03-12T18:00:00Z"}))["schedule"]
    assert entries(final["final_schedule"]) == [
        ("2026-03-12T12:00:00Z", "2026-03-12T13:00:00Z", "UC"),
        ("2026-03-12T13:00:00Z", "2026-03-12T14:00:00Z", "UB"),
        ("2026-03-12T14:00:00Z", "2026-03-12T16:00:00Z", "UD"),
        ("2026-03-12T16:00:00Z", "2026-03-12T17:00:00Z", "UC"),
    ]


async def test_create_override_legacy_single_body(client: httpx2.AsyncClient) -> None:
    response = await client.post("/schedules/S1/overrides", headers=WRITE_HEADERS, json={"override": {
        "start": "2026-03-13T00:00:00+01:00", "end": "2026-03-13T02:00:00+01:00",
        "user": {"id": "UC", "type": "user_reference"}}})
    assert response.status_code == 201
    [result] = response.json()
    assert (result["status"], result["override"]["start"], result["override"]["end"]) == (
        201, "2026-03-12T23:00:00Z", "2026-03-13T01:00:00Z")


async def test_create_override_reads_times_without_offset_in_its_time_zone(
        raw_client: httpx2.AsyncClient) -> None:
    # Not RFC 3339 (hence no contract check), but the override's time_zone gives the missing offset.
    response = await raw_client.post("/schedules/S1/overrides", headers=WRITE_HEADERS, json={"overrides": [
        {"start": "2026-03-12T09:00:00", "end": "2026-03-12T11:00:00", "time_zone": "America/New_York",
         "user": {"id": "UB", "type": "user_reference"}},
        {"start": "2026-03-12T09:00:00", "end": "2026-03-12T11:00:00",
         "user": {"id": "UB", "type": "user_reference"}},
        {"start": "2026-03-12T09:00:00", "end": "2026-03-12T11:00:00", "time_zone": "Mars/Olympus",
         "user": {"id": "UB", "type": "user_reference"}},
    ]})
    assert response.status_code == 201
    new_york, utc, bad_zone = response.json()
    assert (new_york["override"]["start"], new_york["override"]["end"]) == (
        "2026-03-12T13:00:00Z", "2026-03-12T15:00:00Z")
    assert (utc["override"]["start"], utc["override"]["end"]) == (
        "2026-03-12T09:00:00Z", "2026-03-12T11:00:00Z")
    assert bad_zone["status"] == 400
    assert bad_zone["errors"] == ["time_zone 'Mars/Olympus' is not a valid time zone"]


async def test_create_overrides_needs_items(client: httpx2.AsyncClient) -> None:
    response = await client.post("/schedules/S1/overrides", headers=WRITE_HEADERS, json={"overrides": []})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 2003


async def test_delete_future_override(client: httpx2.AsyncClient, world: World) -> None:
    response = await client.delete("/schedules/S1/overrides/POVFUT1")
    assert response.status_code == 204
    assert [o.id for o in world.schedules["S1"].overrides] == ["POVPAST"]


async def test_delete_in_progress_override_truncates_it(client: httpx2.AsyncClient) -> None:
    created = await client.post("/schedules/S1/overrides", json={"overrides": [
        {"start": "2026-03-10T11:30:00Z", "end": "2026-03-10T13:30:00Z",
         "user": {"id": "UD", "type": "user_reference"}}]})
    override_id = created.json()[0]["override"]["id"]
    response = await client.delete(f"/schedules/S1/overrides/{override_id}")
    assert response.status_code == 200
    listed = await get_json(client, "/schedules/S1/overrides", {"since": "2026-03-10T00:00:00Z",
                                                                "until": "2026-03-11T00:00:00Z"})
    assert [(o["id"], o["start"], o["end"]) for o in listed["overrides"]] == [
        (override_id, "2026-03-10T11:30:00Z", "2026-03-10T12:30:00Z")]  # ends at now


async def test_delete_past_or_unknown_override_is_refused(client: httpx2.AsyncClient, world: World) -> None:
    past = await client.delete("/schedules/S1/overrides/POVPAST")
    assert past.status_code == 400
    assert past.json()["error"]["errors"] == ["You cannot remove an override that has ended"]
    assert len(world.schedules["S1"].overrides) == 2
    assert (await client.delete("/schedules/S1/overrides/PNOPE00")).status_code == 404


# --------------------------------------------------------------------------- GET /v3/schedules/{id}


async def test_v3_final_schedule_has_concurrent_shifts_and_explicit_gaps(client: httpx2.AsyncClient) -> None:
    schedule = (await get_json(client, "/v3/schedules/S3", [
        ("since", "2026-03-10T00:00:00Z"), ("until", "2026-03-11T00:00:00Z"),
        ("include[]", "final_schedule")]))["schedule"]
    assert (schedule["type"], schedule["name"], schedule["self"], schedule["html_url"]) == (
        "schedule_v3", "Follow the sun", "https://api.pagerduty.com/v3/schedules/S3",
        "https://acme.pagerduty.com/schedules/S3")
    final = schedule["final_schedule"]
    assert final["type"] == "final_schedule"
    assert final["rendered_coverage_percentage"] == 58.33  # 00:00-14:00 covered: 14 h of 24
    rotation = {"type": "schedule_rotation"}
    assert [(a["start_time"], a["end_time"], a["member"], a["source"])
            for a in final["computed_shift_assignments"]] == [
        ("2026-03-10T00:00:00Z", "2026-03-10T12:00:00Z", {"type": "user_member", "user_id": "UA"},
         {**rotation, "rotation_id": "PR1"}),
        ("2026-03-10T10:00:00Z", "2026-03-10T11:00:00Z", {"type": "user_member", "user_id": "UB"},
         {**rotation, "rotation_id": "PR2"}),
        ("2026-03-10T11:00:00Z", "2026-03-10T12:00:00Z", {"type": "user_member", "user_id": "UD"},
         {"type": "schedule_rotation_override", "rotation_id": "PR2", "override_id": "POV3"}),
        ("2026-03-10T12:00:00Z", "2026-03-10T14:00:00Z", {"type": "user_member", "user_id": "UB"},
         {**rotation, "rotation_id": "PR2"}),
        ("2026-03-10T14:00:00Z", "2026-03-11T00:00:00Z", {"type": "empty_member"}, rotation),
    ]
    assert {a["type"] for a in final["computed_shift_assignments"]} == {"computed_shift_assignment"}
    assert [p["id"] for p in schedule["escalation_policies"]] == ["EP2"]


async def test_v3_rotations_are_described_as_events(client: httpx2.AsyncClient) -> None:
    schedule = (await get_json(client, "/v3/schedules/S3"))["schedule"]
    assert "final_schedule" not in schedule
    europe, americas = schedule["rotations"]
    assert (europe["id"], europe["type"], americas["id"]) == ("PR1", "schedule_rotation", "PR2")
    [event] = americas["events"]
    assert event["type"] == "schedule_event"
    assert event["name"] == "Americas"
    assert event["start_time"] == {"date_time": "2026-03-02T10:00:00Z", "time_zone": "UTC"}
    assert event["end_time"] == {"date_time": "2026-03-02T14:00:00Z", "time_zone": "UTC"}
    assert (event["effective_since"], event["effective_until"]) == ("2026-03-01T00:00:00Z", None)
    assert event["recurrence"] == ["RRULE:FREQ=DAILY"]
    assert event["assignment_strategy"] == {"type": "rotating_member_assignment_strategy",
                                            "shifts_per_member": 1,
                                            "members": [{"type": "user_member", "user_id": "UB"}]}


async def test_v3_time_zone_and_single_rotation_gap_source(client: httpx2.AsyncClient, world: World) -> None:
    world.schedules["S3"].layers.pop()  # only PR1 (UA 00-12Z) is left
    final = (await get_json(client, "/v3/schedules/S3", [
        ("since", "2026-03-10T06:00:00Z"), ("until", "2026-03-10T18:00:00Z"), ("time_zone", "Asia/Tokyo"),
        ("include[]", "final_schedule")]))["schedule"]["final_schedule"]
    assert [(a["start_time"], a["end_time"], a["member"]["type"], a["source"])
            for a in final["computed_shift_assignments"]] == [
        ("2026-03-10T15:00:00+09:00", "2026-03-10T21:00:00+09:00", "user_member",
         {"type": "schedule_rotation", "rotation_id": "PR1"}),
        ("2026-03-10T21:00:00+09:00", "2026-03-11T03:00:00+09:00", "empty_member",
         {"type": "schedule_rotation", "rotation_id": "PR1"}),
    ]
    assert final["rendered_coverage_percentage"] == 50.0


async def test_v3_endpoint_refuses_a_v2_schedule(client: httpx2.AsyncClient) -> None:
    body = await get_json(client, "/v3/schedules/S1", status=400)
    assert body["error"]["code"] == 2001
    assert "/schedules/S1" in body["error"]["errors"]["schedule"][0]


def test_routes_are_exported() -> None:
    assert {(r.method, r.template) for r in ROUTES} == {
        ("GET", "/schedules"), ("GET", "/schedules/{id}"), ("GET", "/schedules/{id}/users"),
        ("GET", "/schedules/{id}/overrides"), ("POST", "/schedules/{id}/overrides"),
        ("DELETE", "/schedules/{id}/overrides/{override_id}"), ("GET", "/v3/schedules"),
        ("GET", "/v3/schedules/{id}"), ("GET", "/oncalls"),
    }



async def test_v3_errors_map_fields_to_messages(client: httpx2.AsyncClient,
                                                raw_client: httpx2.AsyncClient) -> None:
    reversed_window = {"since": "2026-03-11T00:00:00Z", "until": "2026-03-10T00:00:00Z"}
    body = await get_json(client, "/v3/schedules/S3", reversed_window, status=400)
    assert body["error"]["errors"] == {"until": ["The until parameter must not be before since"]}
    bad = await get_json(raw_client, "/v3/schedules/S3", {"since": "yesterday"}, status=400)
    assert bad["error"]["errors"] == {"since": ["since is not a valid ISO-8601 date"]}
