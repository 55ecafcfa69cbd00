"""The notification state on every backend (memory, SQLite, Redis): a card's one poster, changes applied in
PagerDuty's order (never back), a poster that vanished replaced, caps and TTLs, routes per channel, the
watermark, and all of it shared by instances and kept across a restart."""

from __future__ import annotations

import asyncio

import pytest

from bot.store.notify import CARD_TTL_S, MAX_CHANNEL_ROUTES, MAX_ROUTE_CHANNELS, POSTING_HOLD_S, StoredRoute
from tests.store.conftest import Backend


async def test_the_first_change_makes_one_poster_then_later_changes_update(backend: Backend) -> None:
    store = backend.open().notify
    first = await store.apply("PINC1", "C0PAY", 100.0, '{"s": "triggered"}', open=True)
    assert first.applied == "post" and first.card.ts is None and first.card.version == 1
    again = await store.apply("PINC1", "C0PAY", 101.0, '{"s": "acknowledged"}', open=True)
    assert again.applied == "update" and again.card.ts is None and again.card.version == 2
    posted = await store.posted("PINC1", "C0PAY", "1773151200.000001")
    assert posted is not None and posted.ts == "1773151200.000001" and posted.version == 2
    assert posted.data == '{"s": "acknowledged"}', "the poster sees the newer state and draws it"
    done = await store.apply("PINC1", "C0PAY", 160.0, '{"s": "resolved"}', open=False)
    assert done.applied == "update" and done.card.ts == "1773151200.000001" and not done.card.open


async def test_an_older_change_is_stale_and_an_equal_time_applies_in_arrival_order(backend: Backend) -> None:
    store = backend.open().notify
    await store.apply("PINC1", "C0PAY", 100.0, "triggered", open=True)
    await store.posted("PINC1", "C0PAY", "1.1")
    await store.apply("PINC1", "C0PAY", 300.0, "resolved", open=False)
    late = await store.apply("PINC1", "C0PAY", 200.0, "acknowledged", open=True)
    assert late.applied == "stale" and late.card.data == "resolved" and late.card.version == 2
    same = await store.apply("PINC1", "C0PAY", 300.0, "reopened", open=True)
    assert same.applied == "update" and same.card.data == "reopened"
    stored = await store.get("PINC1", "C0PAY")
    assert stored is not None and (stored.data, stored.at, stored.version) == ("reopened", 300.0, 3)


async def test_concurrent_first_changes_on_two_instances_make_exactly_one_poster(backend: Backend) -> None:
    one, two = backend.open().notify, backend.open().notify
    results = await asyncio.gather(*[(one if i % 2 else two).apply("PINC1", "C0PAY", 100.0 + i, f"v{i}", open=True)
                                     for i in range(10)])
    assert [r.applied for r in results].count("post") == 1
    stored = await two.get("PINC1", "C0PAY")
    applied = [r for r in results if r.applied != "stale"]
    assert stored is not None and stored.data == "v9", "the newest change wins, whatever the arrival order"
    versions = sorted(r.card.version for r in applied)
    assert stored.version == len(applied) and versions == list(range(1, len(applied) + 1))


async def test_a_poster_that_never_posted_is_replaced_and_release_frees_it_at_once(backend: Backend) -> None:
    store = backend.open().notify
    assert (await store.apply("PINC1", "C0PAY", 1.0, "a", open=True)).applied == "post"
    assert (await store.apply("PINC1", "C0PAY", 2.0, "b", open=True)).applied == "update"
    backend.clock.advance(POSTING_HOLD_S + 1)
    taken = await store.apply("PINC1", "C0PAY", 1.5, "older", open=True)
    assert taken.applied == "post" and taken.card.data == "b", "the newest state is posted, not the late one"
    await store.release("PINC1", "C0PAY")
    assert (await store.apply("PINC1", "C0PAY", 3.0, "c", open=True)).applied == "post"


async def test_cards_of_an_incident_and_the_open_ones(backend: Backend) -> None:
    store = backend.open().notify
    for channel in ("C0A", "C0B"):
        await store.apply("PINC1", channel, 1.0, "x", open=True)
        await store.posted("PINC1", channel, f"ts-{channel}")
    await store.apply("PINC2", "C0A", 1.0, "y", open=True)
    await store.apply("PINC2", "C0A", 2.0, "z", open=False)
    assert sorted(c.channel for c in await store.cards_of("PINC1")) == ["C0A", "C0B"]
    assert [(c.incident_id, c.channel) for c in await store.open_cards()] in (
        [("PINC1", "C0B"), ("PINC1", "C0A")], [("PINC1", "C0A"), ("PINC1", "C0B")])
    assert await store.cards_of("PNONE") == []


async def test_cards_are_capped_and_forgotten_after_their_ttl(backend: Backend) -> None:
    store = backend.open().notify
    store.max_cards = 3  # type: ignore[attr-defined]
    for i in range(5):
        await store.apply(f"PINC{i}", "C0A", float(i), "x", open=True)
        backend.clock.advance(1)
    kept = [i for i in range(5) if await store.get(f"PINC{i}", "C0A") is not None]
    assert kept == [2, 3, 4], "the least recently changed go first"
    backend.clock.advance(CARD_TTL_S + 1)
    assert await store.get("PINC4", "C0A") is None
    assert (await store.apply("PINC4", "C0A", 9.0, "new", open=True)).applied == "post", "a forgotten card starts over"


async def test_routes_per_channel_capped_replaced_by_key_and_removed(backend: Backend) -> None:
    store = backend.open().notify
    assert await store.add_route(StoredRoute("C0A", "service:payments-api", "service:payments-api", "U0SAM", 1.0))
    assert await store.add_route(StoredRoute("C0A", "service:payments-api", "service:payments-api urgency:high",
                                             "U0AISHA", 2.0)), "same key: replaced"
    routes = await store.routes("C0A")
    assert [(r.key, r.spec, r.by) for r in routes] == [("service:payments-api", "service:payments-api urgency:high",
                                                        "U0AISHA")]
    for i in range(MAX_CHANNEL_ROUTES - 1):
        assert await store.add_route(StoredRoute("C0A", f"service:s{i}", f"service:s{i}", "U0SAM", 3.0 + i))
    assert not await store.add_route(StoredRoute("C0A", "service:one-more", "service:one-more", "U0SAM", 99.0))
    assert await store.add_route(StoredRoute("C0B", "team:platform", "team:Platform", "U0SAM", 100.0))
    assert len(await store.routes()) == MAX_CHANNEL_ROUTES + 1
    assert await store.remove_routes("C0A", "service:payments-api") == 1
    assert await store.remove_routes("C0A", "service:payments-api") == 0
    assert await store.remove_routes("C0A") == MAX_CHANNEL_ROUTES - 1
    assert [r.channel for r in await store.routes()] == ["C0B"]


async def test_the_watermark_only_moves_forward(backend: Backend) -> None:
    store = backend.open().notify
    assert await store.last_seen() is None
    await store.seen_until(200.0)
    await store.seen_until(100.0)
    assert await store.last_seen() == 200.0


async def test_cards_routes_and_the_watermark_survive_a_restart(backend: Backend) -> None:
    if backend.kind == "memory":
        return  # in-process memory does not survive a restart (by design)
    before = backend.open()
    await before.notify.apply("PINC1", "C0A", 5.0, "data", open=True)
    await before.notify.posted("PINC1", "C0A", "1.5")
    await before.notify.add_route(StoredRoute("C0A", "all", "all", "U0SAM", 1.0))
    await before.notify.seen_until(5.0)
    await before.aclose()
    after = backend.open().notify
    card = await after.get("PINC1", "C0A")
    assert card is not None and (card.ts, card.data, card.at) == ("1.5", "data", 5.0)
    assert [r.key for r in await after.routes()] == ["all"] and await after.last_seen() == 5.0
    assert (await after.apply("PINC1", "C0A", 6.0, "newer", open=False)).applied == "update"


async def test_channel_zones_are_kept_replaced_removed_bounded_and_shared(backend: Backend) -> None:
    one, two = backend.open().notify, backend.open().notify
    assert await one.zones() == {}
    assert await one.set_zone("C0A", "Europe/Berlin")
    assert await one.set_zone("C0A", "Asia/Tokyo")
    assert await two.zones() == {"C0A": "Asia/Tokyo"}
    assert await one.set_zone("C0A", None)
    assert await two.zones() == {}
    with pytest.raises(ValueError):
        await one.set_zone("not a channel", "UTC")


async def test_channel_zones_are_capped_at_the_route_channel_bound(backend: Backend) -> None:
    store = backend.open().notify
    for n in range(MAX_ROUTE_CHANNELS):
        assert await store.set_zone(f"C{n:05d}", "UTC")
    assert not await store.set_zone("C0NEW", "UTC")
    assert await store.set_zone("C00000", "Europe/Berlin")  # a channel that has one may change it
    assert len(await store.zones()) == MAX_ROUTE_CHANNELS


async def test_channel_zones_survive_a_restart(backend: Backend) -> None:
    if backend.kind == "memory":
        return  # in-process memory does not survive a restart (by design)
    before = backend.open()
    await before.notify.set_zone("C0A", "Europe/Berlin")
    await before.aclose()
    assert await backend.open().notify.zones() == {"C0A": "Europe/Berlin"}
