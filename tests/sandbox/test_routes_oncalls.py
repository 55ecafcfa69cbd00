"""``GET /oncalls`` of the sandbox, on the small account of :mod:`tests.sandbox.test_routes_schedules`.

Hand-computed facts used below (``now`` = Tue 2026-03-10 12:30Z):

* S1's final schedule: UA 10T00-09, UC 10T09-17, UA 10T17-11T00, UB 11T00-09, UC 11T09-12,
  UD 11T12-14 (override), UC 11T14-17, UB 11T17-20, then only UC 09-17 each day.
* S3 (v3): UA 00-12 on rotation PR1; UB 10-11, UD 11-12 (override), UB 12-14 on PR2: at 12:30 UB,
  whose period is 12:00-14:00 (the override splits UB's shift).
* S2: UB the week of Mar 2, UC the week of Mar 9 (Mon 00:00Z handoffs).
* EP1: level 1 S1, level 2 UD directly (permanent). EP2: S3. EP3: S2.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx2
import pytest

from bot.sandbox.app import Sandbox
from bot.sandbox.http import SandboxRequest
from bot.sandbox.model import (
    EscalationPolicy,
    EscalationRule,
    IdFactory,
    Schedule,
    Target,
    TokenGrant,
    User,
    World,
)
from bot.sandbox.routes.schedules import ROUTES
from bot.sandbox.schedule_engine import Layer, Restriction
from tests.helpers import sandbox_transport
from tests.sandbox.test_routes_schedules import (
    BASE_URL,
    HEADERS,
    NOW,
    RESTRICTED_TOKEN,
    build_world,
    get_json,
)


@pytest.fixture
async def client() -> AsyncIterator[httpx2.AsyncClient]:
    """The account of :func:`build_world`, every exchange checked against PagerDuty's spec."""
    sandbox = Sandbox(build_world(), ROUTES, rate_limit_per_minute=None)
    async with httpx2.AsyncClient(transport=sandbox_transport(sandbox), base_url=BASE_URL,
                                  headers=HEADERS) as http:
        yield http

Row = tuple[str, int, str, str | None, str | None, str | None]


def rows(body: dict[str, Any]) -> list[Row]:
    """(policy, level, user, schedule, start, end) of each on-call."""
    return [
        (o["escalation_policy"]["id"], o["escalation_level"], o["user"]["id"],
         o["schedule"]["id"] if o["schedule"] else None, o["start"], o["end"])
        for o in body["oncalls"]
    ]


WINDOW = [("since", "2026-03-10T12:30:00Z"), ("until", "2026-03-12T00:00:00Z")]


async def test_who_is_on_call_now(client: httpx2.AsyncClient) -> None:
    body = await get_json(client, "/oncalls")
    assert rows(body) == [
        ("EP1", 1, "UC", "S1", "2026-03-10T09:00:00Z", "2026-03-10T17:00:00Z"),  # real bounds, not clipped
        ("EP1", 2, "UD", None, None, None),
        ("EP2", 1, "UB", "S3", "2026-03-10T12:00:00Z", "2026-03-10T14:00:00Z"),
        ("EP3", 1, "UC", "S2", "2026-03-09T00:00:00Z", "2026-03-16T00:00:00Z"),
    ]
    assert (body["limit"], body["offset"], body["more"], body["total"]) == (25, 0, False, None)
    first, _, v3, _ = body["oncalls"]
    assert first["schedule"]["type"] == "schedule_reference"
    assert first["user"] == {"id": "UC", "type": "user_reference", "summary": "Carol",
                             "self": "https://api.pagerduty.com/users/UC",
                             "html_url": "https://acme.pagerduty.com/users/UC"}
    assert first["escalation_policy"]["summary"] == "Primary EP"
    assert v3["schedule"]["type"] == "schedule_v3_reference"
    assert v3["schedule"]["self"] == "https://api.pagerduty.com/v3/schedules/S3"


async def test_a_window_lists_every_period(client: httpx2.AsyncClient) -> None:
    body = await get_json(client, "/oncalls", [("escalation_policy_ids[]", "EP1"), *WINDOW])
    assert rows(body) == [
        ("EP1", 1, "UC", "S1", "2026-03-10T09:00:00Z", "2026-03-10T17:00:00Z"),
        ("EP1", 1, "UA", "S1", "2026-03-10T17:00:00Z", "2026-03-11T00:00:00Z"),
        ("EP1", 1, "UB", "S1", "2026-03-11T00:00:00Z", "2026-03-11T09:00:00Z"),
        ("EP1", 1, "UC", "S1", "2026-03-11T09:00:00Z", "2026-03-11T12:00:00Z"),
        ("EP1", 1, "UD", "S1", "2026-03-11T12:00:00Z", "2026-03-11T14:00:00Z"),
        ("EP1", 1, "UC", "S1", "2026-03-11T14:00:00Z", "2026-03-11T17:00:00Z"),
        ("EP1", 1, "UB", "S1", "2026-03-11T17:00:00Z", "2026-03-11T20:00:00Z"),
        ("EP1", 2, "UD", None, None, None),
    ]


async def test_earliest_keeps_one_per_policy_level_and_user(client: httpx2.AsyncClient) -> None:
    body = await get_json(client, "/oncalls", [("escalation_policy_ids[]", "EP1"), ("earliest", "true"),
                                               *WINDOW])
    assert rows(body) == [
        ("EP1", 1, "UC", "S1", "2026-03-10T09:00:00Z", "2026-03-10T17:00:00Z"),
        ("EP1", 1, "UA", "S1", "2026-03-10T17:00:00Z", "2026-03-11T00:00:00Z"),
        ("EP1", 1, "UB", "S1", "2026-03-11T00:00:00Z", "2026-03-11T09:00:00Z"),
        ("EP1", 1, "UD", "S1", "2026-03-11T12:00:00Z", "2026-03-11T14:00:00Z"),
        ("EP1", 2, "UD", None, None, None),
    ]


async def test_null_in_schedule_ids_selects_permanent_oncalls(client: httpx2.AsyncClient) -> None:
    assert rows(await get_json(client, "/oncalls", [("schedule_ids[]", "null")])) == [
        ("EP1", 2, "UD", None, None, None)]
    both = await get_json(client, "/oncalls", [("schedule_ids[]", "null"), ("schedule_ids[]", "S3")])
    assert [r[:4] for r in rows(both)] == [("EP1", 2, "UD", None), ("EP2", 1, "UB", "S3")]
    assert [r[:4] for r in rows(await get_json(client, "/oncalls", [("schedule_ids[]", "S3")]))] == [
        ("EP2", 1, "UB", "S3")]


async def test_user_ids_filter(client: httpx2.AsyncClient) -> None:
    body = await get_json(client, "/oncalls", [("user_ids[]", "UD"), *WINDOW])
    assert rows(body) == [
        ("EP1", 1, "UD", "S1", "2026-03-11T12:00:00Z", "2026-03-11T14:00:00Z"),
        ("EP1", 2, "UD", None, None, None),
    ]


async def test_period_boundaries_are_half_open(client: httpx2.AsyncClient) -> None:
    instant = [("since", "2026-03-10T12:00:00Z"), ("until", "2026-03-10T12:00:00Z")]
    body = await get_json(client, "/oncalls", [("escalation_policy_ids[]", "EP2"), *instant])
    # UA's 00:00-12:00 and UD's 11:00-12:00 end exactly then: only UB is on call.
    assert rows(body) == [("EP2", 1, "UB", "S3", "2026-03-10T12:00:00Z", "2026-03-10T14:00:00Z")]
    window = [("since", "2026-03-10T09:00:00Z"), ("until", "2026-03-10T11:30:00Z")]
    concurrent = await get_json(client, "/oncalls", [("escalation_policy_ids[]", "EP2"), *window])
    assert rows(concurrent) == [
        ("EP2", 1, "UA", "S3", "2026-03-10T00:00:00Z", "2026-03-10T12:00:00Z"),
        ("EP2", 1, "UB", "S3", "2026-03-10T10:00:00Z", "2026-03-10T11:00:00Z"),
        ("EP2", 1, "UD", "S3", "2026-03-10T11:00:00Z", "2026-03-10T12:00:00Z"),
    ]


async def test_time_zone_renders_offsets(client: httpx2.AsyncClient) -> None:
    body = await get_json(client, "/oncalls", [("escalation_policy_ids[]", "EP1"),
                                               ("time_zone", "America/New_York")])
    assert rows(body)[0] == ("EP1", 1, "UC", "S1", "2026-03-10T05:00:00-04:00", "2026-03-10T13:00:00-04:00")


async def test_until_must_not_precede_since(client: httpx2.AsyncClient) -> None:
    window = [("since", "2026-03-11T00:00:00Z"), ("until", "2026-03-10T00:00:00Z")]
    body = await get_json(client, "/oncalls", window, status=400)
    assert body["error"]["code"] == 2001
    assert body["error"]["errors"] == ["The until parameter must not be before since"]


async def test_at_most_90_days_ahead(client: httpx2.AsyncClient) -> None:
    too_far = (NOW + timedelta(days=90, seconds=1)).isoformat()
    body = await get_json(client, "/oncalls", [("until", too_far)], status=400)
    assert "90 days" in body["error"]["errors"][0]
    limit = (NOW + timedelta(days=90)).isoformat()
    ok = await get_json(client, "/oncalls", [("schedule_ids[]", "S2"), ("until", limit)])
    # S2 alternates UC / UB weekly: Mar 9, 16 (UB), ... 13 weeks and a bit -> 14 periods.
    assert len(ok["oncalls"]) == 14


async def test_include_expands_references(client: httpx2.AsyncClient) -> None:
    body = await get_json(client, "/oncalls", [
        ("escalation_policy_ids[]", "EP1"), ("escalation_policy_ids[]", "EP2"),
        ("include[]", "users"), ("include[]", "schedules"), ("include[]", "escalation_policies")])
    first, permanent, v3 = body["oncalls"]
    assert (first["user"]["type"], first["user"]["email"]) == ("user", "carol@example.com")
    assert first["schedule"]["type"] == "schedule"
    assert first["schedule"]["time_zone"] == "Europe/London"
    policy = first["escalation_policy"]
    assert (policy["type"], policy["name"]) == ("escalation_policy", "Primary EP")
    assert [[t["id"] for t in rule["targets"]] for rule in policy["escalation_rules"]] == [["S1"], ["UD"]]
    assert [s["id"] for s in policy["services"]] == ["SV1"]
    assert permanent["schedule"] is None
    assert v3["schedule"]["type"] == "schedule_v3"


async def test_paging(client: httpx2.AsyncClient) -> None:
    page = await get_json(client, "/oncalls", [("limit", "2"), ("offset", "1"), ("total", "true")])
    assert [r[:3] for r in rows(page)] == [("EP1", 2, "UD"), ("EP2", 1, "UB")]
    assert (page["limit"], page["offset"], page["more"], page["total"]) == (2, 1, True, 4)


async def test_restricted_access_sees_only_its_teams_policies(client: httpx2.AsyncClient) -> None:
    body = await get_json_as(client, RESTRICTED_TOKEN, "/oncalls")
    assert [r[:3] for r in rows(body)] == [("EP1", 1, "UC"), ("EP1", 2, "UD")]


async def get_json_as(client: httpx2.AsyncClient, token: str, path: str) -> Any:
    response = await client.get(path, headers={"Authorization": f"Token token={token}"})
    assert response.status_code == 200, response.text
    return response.json()


# --------------------------------------------------------------------------- speed on a large account


def large_world(schedules: int = 300, policies: int = 500) -> World:
    """300 schedules (one in five shift-based) of 2-3 layers, 500 policies of 3 levels, 400 users."""
    start = datetime(2025, 1, 6, tzinfo=UTC)
    world = World(now=NOW, ids=IdFactory(11))
    users = [f"PU{i:05d}" for i in range(400)]
    for uid in users:
        world.users[uid] = User(uid, f"User {uid}", f"{uid.lower()}@example.com", "UTC", "user")
    zones = ["UTC", "Europe/London", "America/New_York", "Asia/Tokyo", "Australia/Sydney"]
    for n in range(schedules):
        members = tuple(users[(n * 7 + k) % len(users)] for k in range(5))
        layers = [
            Layer(f"PLA{n:04d}", start, None, start, 7 * 86_400, members),
            Layer(f"PLB{n:04d}", start, None, start + timedelta(hours=n % 24), 86_400, members[::-1],
                  (Restriction("daily_restriction", time(9, 0), 9 * 3600),)),
        ]
        if n % 3 == 0:
            layers.append(Layer(f"PLC{n:04d}", start, None, start, 12 * 3600, members[1:3],
                                (Restriction("weekly_restriction", time(18, 0), 60 * 3600, 5),)))
        sid = f"PS{n:05d}"
        world.schedules[sid] = Schedule(sid, f"Schedule {n}", zones[n % len(zones)], layers,
                                        [f"Layer {i + 1}" for i in range(len(layers))],
                                        kind="v3" if n % 5 == 0 else "v2")
    ids = list(world.schedules)
    for n in range(policies):
        first, second = world.schedules[ids[n % len(ids)]], world.schedules[ids[(n * 13 + 1) % len(ids)]]
        world.escalation_policies[f"PE{n:05d}"] = EscalationPolicy(f"PE{n:05d}", f"Policy {n}", [
            EscalationRule(f"PR{n:05d}A", 30, [Target(
                "schedule_v3_reference" if first.kind == "v3" else "schedule_reference", first.id)]),
            EscalationRule(f"PR{n:05d}B", 30, [Target(
                "schedule_v3_reference" if second.kind == "v3" else "schedule_reference", second.id)]),
            EscalationRule(f"PR{n:05d}C", 30, [Target("user_reference", users[n % len(users)])]),
        ])
    world.tokens["tok"] = TokenGrant(users[0])
    return world


def _oncalls_request(query: dict[str, list[str]]) -> SandboxRequest:
    return SandboxRequest("GET", "/oncalls", query, {"authorization": "Token token=tok"})


def test_who_is_on_call_now_for_one_policy_in_a_large_account() -> None:
    sandbox = Sandbox(large_world(), ROUTES, rate_limit_per_minute=None)
    request = _oncalls_request({"escalation_policy_ids[]": ["PE00123"]})
    first = sandbox.dispatch(request)
    assert first.status == 200
    assert [o["escalation_level"] for o in first.body["oncalls"]] == [1, 2, 3]


@pytest.mark.slow
def test_whole_account_now_and_a_week() -> None:
    sandbox = Sandbox(large_world(), ROUTES, rate_limit_per_minute=None)
    now = sandbox.dispatch(_oncalls_request({"limit": ["100"], "total": ["true"]}))
    week = sandbox.dispatch(_oncalls_request({
        "until": [(NOW + timedelta(days=7)).isoformat()], "limit": ["100"], "total": ["true"]}))
    assert now.status == week.status == 200
    assert now.body["total"] >= 1000  # 500 policies x 2 schedule levels (v3 may add concurrent ones) + 500
    assert week.body["total"] > now.body["total"]
