"""The webhook benchmark at a small size: every card right, figures filled, the table printed."""

from __future__ import annotations

from benchmarks.webhooks import burst, measure, table


def test_the_burst_has_the_asked_size_out_of_order_steps_and_redeliveries() -> None:
    events, final = burst(200, 20)
    assert len(events) == 200 and len(final) == 20
    assert len({e["event"]["id"] for e in events}) < 200, "some delivered twice"


async def test_a_small_burst_ends_with_every_card_right() -> None:
    figures = await measure(120, 12)
    assert figures.all_correct and figures.posts == 12
    assert figures.accepted == 120 and figures.duplicates > 0
    assert 0 < figures.to_card_p50_ms <= figures.to_card_p99_ms <= figures.to_card_max_ms
    assert "every card correct (12/12)" in table(figures)
