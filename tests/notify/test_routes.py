"""ALEX_NOTIFY_ROUTES and the routes set from Slack: by service name or ID, team, default; filters."""

from __future__ import annotations

import pytest

from bot.notify.events import IncidentState
from bot.notify.routes import Route, RouteError, Routing, parse_routes
from bot.store.memory import MemoryState
from bot.store.notify import StoredRoute

ROUTES = "payments-api=C0123, team:Platform=C0456, P2FVMSA=C0SEARCH, *=C0789"


def state(**fields: object) -> IncidentState:
    base: dict[str, object] = {"id": "PINC001", "number": 1, "title": "t", "status": "triggered", "urgency": "high",
                               "service_id": "P5SRVGG", "service": "payments-api", "priority": "P2",
                               "team_ids": ("PR9BTF2",), "teams": ("Payments",)}
    base.update(fields)
    return IncidentState(**base)  # type: ignore[arg-type]


def routing(text: str = ROUTES, **options: object) -> Routing:
    return Routing(parse_routes(text, **options), MemoryState().notify)  # type: ignore[arg-type]


async def test_service_by_name_or_id_team_by_name_and_the_default_for_the_rest() -> None:
    routes = routing()
    assert await routes.channels_for(state()) == ["C0123"]
    assert await routes.channels_for(state(service="PAYMENTS-API", service_id="PX")) == ["C0123"], "names: any case"
    assert await routes.channels_for(state(service="search", service_id="P2FVMSA")) == ["C0SEARCH"], "by ID"
    platform = state(service="auth-service", service_id="PQHJ12Q", teams=("platform",), team_ids=("PY7GX2N",))
    assert await routes.channels_for(platform) == ["C0456"]
    assert await routes.channels_for(state(service="billing-worker", service_id="PGZ", teams=())) == ["C0789"]


async def test_several_routes_give_one_card_per_channel_and_no_default() -> None:
    routes = routing("payments-api=C0123,team:Payments=C0123,team:Payments=C0PAY,*=C0789")
    assert await routes.channels_for(state()) == ["C0123", "C0PAY"]


async def test_urgency_and_priority_filters() -> None:
    routes = routing("payments-api=C0123,*=C0789", min_urgency="high", priorities=["p1", "P2"])
    assert await routes.channels_for(state()) == ["C0123"]
    assert await routes.channels_for(state(urgency="low")) == [], "filtered, and not sent to the default either"
    assert await routes.channels_for(state(priority="P3")) == []
    assert await routes.channels_for(state(priority=None)) == []


@pytest.mark.parametrize(("text", "why"), [("payments-api", "target=channel"), ("payments-api=#payments", "channel ID"),
                                           ("=C0123", "target=channel"), ("team:=C0123", "name"),
                                           ("a<b>=C0123", "name")])
def test_a_bad_route_names_its_entry(text: str, why: str) -> None:
    with pytest.raises(RouteError, match=why):
        parse_routes(f"payments-api=C0123,{text}")


def test_routes_round_trip_through_the_store_and_describe_themselves() -> None:
    route = Route("team", "Platform", "C0456", "high", frozenset({"P1", "P2"}), "slack", "U0SAM")
    stored = StoredRoute("C0456", route.key, route.spec, "U0SAM", 1.0)
    assert Route.from_stored(stored) == route
    assert route.key == "team:platform"
    assert route.describe() == "team Platform (high urgency, P1 or P2)"
    assert Route("default", "*", "C0789").describe() == "every incident no other route names"


async def test_routes_set_from_slack_join_the_environment_and_give_the_channel_its_default() -> None:
    routes = routing("team:Platform=C0456")
    assert await routes.default_of("C0456") == ("team", "Platform")
    await routes.store.add_route(StoredRoute("C0PAY", "service:payments-api", "service:payments-api", "U0SAM", 1.0))
    assert await routes.channels_for(state()) == [], "read at most every few seconds"
    routes.forget()
    assert await routes.channels_for(state()) == ["C0PAY"]
    assert await routes.default_of("C0PAY") == ("service", "payments-api")
    await routes.store.add_route(StoredRoute("C0PAY", "service:checkout-web", "service:checkout-web", "U0SAM", 2.0))
    routes.forget()
    assert await routes.default_of("C0PAY") is None, "two services: no default"
    await routes.store.add_route(StoredRoute("C0ALL", "all", "all urgency:high", "U0SAM", 3.0))
    routes.forget()
    assert await routes.channels_for(state()) == ["C0PAY", "C0ALL"]
    assert await routes.channels_for(state(urgency="low")) == ["C0PAY"]
