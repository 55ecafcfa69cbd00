"""Two alex instances on one real redis-server share the cards: whichever gets a delivery (and its
redeliveries), each incident's card is posted once and ends on the newest state; a restart mid-stream (SQLite
file) carries on with the same messages."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

from bot.store.redis import RedisState
from bot.store.sqlite import SQLiteState
from tests.notify.conftest import Notifier, NotifierFactory, messages
from tests.notify.payloads import changed, event, incident
from tests.store.conftest import redis_server, redis_url  # noqa: F401 (fixtures)

STATUSES = ("triggered", "acknowledged", "resolved")


def stream(incidents: int, seed: int = 7) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """Every incident triggered, acknowledged, then (most) resolved, the events a little out of order and
    some delivered twice; and the status each card must end on."""
    rng = random.Random(seed)
    events: list[dict[str, Any]] = []
    final: dict[str, str] = {}
    for n in range(incidents):
        data = incident(pd_id=f"PINC{n:03d}", number=1000 + n, title=f"Incident {n}")
        steps = STATUSES if n % 4 else STATUSES[:2]
        for minute, status in enumerate(steps):
            events.append(event(f"incident.{status}", changed(data, status=status), minutes=n + minute * 5))
        final[f"PINC{n:03d}"] = steps[-1]
    rng.shuffle(events)
    events += rng.sample(events, len(events) // 3)  # redeliveries
    return events, final


def check(notifier: Notifier, final: dict[str, str]) -> None:
    cards = {m.shown.split("incident_row:")[1][:7]: m for m in messages(notifier.fake).values()
             if m.channel == "C0PAY"}
    assert len(notifier.posted("C0PAY")) == len(final), "each card posted once"
    assert set(cards) == set(final)
    for incident_id, status in final.items():
        icon = {"triggered": ":red_circle:", "acknowledged": ":large_yellow_circle:", "resolved": ":white_check_mark:"}
        assert cards[incident_id].text.startswith(icon[status]), (incident_id, status, cards[incident_id].text)


async def test_two_instances_on_one_redis_post_each_card_once(make_notifier: NotifierFactory, redis_url: str) -> None:  # noqa: F811
    one = await make_notifier(state=RedisState.from_url(redis_url))
    two = await make_notifier(state=RedisState.from_url(redis_url))
    events, final = stream(12)
    rng = random.Random(3)
    answers = await asyncio.gather(*[rng.choice((one, two)).deliver(e) for e in events])
    assert {status for status, _ in answers} == {202}
    await one.settle()
    await two.settle()
    check(one, final)
    processed = one.receiver.counts.processed + two.receiver.counts.processed
    assert processed == len({e["event"]["id"] for e in events}), "every event processed once across both"
    for notifier in (one, two):
        await notifier.state.aclose()


async def test_a_restart_mid_stream_keeps_the_same_cards(make_notifier: NotifierFactory, tmp_path: Path) -> None:
    path = tmp_path / "alex.sqlite3"
    events, final = stream(8, seed=11)
    half = len(events) // 2
    first = await make_notifier(state=SQLiteState(path))
    for payload in events[:half]:
        assert (await first.deliver(payload))[0] == 202
    await first.settle()
    await first.receiver.aclose()
    await first.state.aclose()
    second = await make_notifier(state=SQLiteState(path))
    for payload in events[half - 5:]:  # PagerDuty redelivers what the first may not have answered
        assert (await second.deliver(payload))[0] == 202
    await second.settle()
    check(second, final)
    await second.state.aclose()
