"""Patterns over hand-made incidents: counts, repeats, flapping, bursts, oldest, ack ratio, MTTA/MTTR."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.analysis.patterns import (
    Burst,
    Durations,
    IncidentFact,
    OldestOpen,
    bursts,
    compute_patterns,
    durations,
    flapping,
    normalize_title,
    repeated_titles,
)

NOW = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
NY = ZoneInfo("America/New_York")


def ago(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def fact(number: int, title: str, service: str = "api", *, status: str = "triggered", urgency: str = "high",
         created: float = 10, acked: float | None = None, resolved: float | None = None,
         key: str | None = None) -> IncidentFact:
    """``created``/``acked``/``resolved`` in minutes before NOW."""
    return IncidentFact(number, title, status, urgency, service, ago(created),
                        ago(acked) if acked is not None else None,
                        ago(resolved) if resolved is not None else None, key)


@pytest.mark.parametrize(("title", "normal"), [
    ("High CPU on db-primary-1", "high cpu on db-primary-"),
    ("High CPU on db-7 (10.0.0.4)", "high cpu on db- ()"),
    ("Job 3f2a9c1e-1b2c-4d5e-8f90-a1b2c3d4e5f6 failed", "job failed"),
    ("Deploy a1b2c3d4e5 failed  on   host-12", "deploy failed on host-"),
    ("Lock 0xDEADBEEF held", "lock held"),
    ("Decade facade", "decade facade"),  # hex-looking words without digits are words
])
def test_normalize_title(title: str, normal: str) -> None:
    assert normalize_title(title) == normal


def test_counts_are_ranked_and_deterministic() -> None:
    facts = [
        fact(1, "a", "payments", status="triggered"),
        fact(2, "b", "payments", status="acknowledged", urgency="low", acked=5),
        fact(3, "c", "payments", status="triggered"),
        fact(4, "d", "search", status="acknowledged", acked=5),
        fact(5, "e", "auth", status="triggered", urgency="low"),
        fact(6, "f", "web", status="triggered"),
    ]
    patterns = compute_patterns(facts, NOW, top=3)
    assert patterns.incidents == 6
    assert patterns.by_status == (("triggered", 4), ("acknowledged", 2))
    assert patterns.by_urgency == (("high", 4), ("low", 2))
    # Ties broken by name; only the top 3.
    assert patterns.top_services == (("payments", 3), ("auth", 1), ("search", 1))
    assert patterns.ack_ratio == 0.33


def test_repeated_titles_group_normalized_titles() -> None:
    facts = [
        fact(1, "High CPU on db-primary-1", "platform", created=300),
        fact(2, "High CPU on db-primary-1", "platform", created=30),
        fact(3, "High CPU on db-primary-2", "data", created=60),
        fact(4, "Disk full on 10.0.0.7", created=20),
        fact(5, "Disk full on 10.0.0.9", created=10),
        fact(6, "Unique problem", created=5),
    ]
    found = repeated_titles(facts)
    assert [(r.title, r.count, r.services, r.numbers) for r in found] == [
        ("High CPU on db-primary-1", 3, ("data", "platform"), (2, 3, 1)),
        ("Disk full on 10.0.0.9", 2, ("api",), (5, 4)),
    ]


def test_flapping_needs_three_triggers_in_48h_and_a_resolved_one() -> None:
    facts = [
        # A flapping check: same key, resolved twice, open again; 3 triggers within 48 h.
        fact(1, "healthz failing", "auth", status="resolved", created=40 * 60, resolved=40 * 60 - 5,
             key="auth-healthz"),
        fact(2, "healthz failing", "auth", status="resolved", created=20 * 60, resolved=20 * 60 - 5,
             key="auth-healthz"),
        fact(3, "healthz failing", "auth", created=6, key="auth-healthz"),
        # Same title on another service does not join the group.
        fact(4, "healthz failing", "web", created=50, key="web-1"),
        # Three open duplicates: a repeated title, not a flap (nothing resolved in between).
        fact(5, "Queue backlog", "billing", created=30, key="b-1"),
        fact(6, "Queue backlog", "billing", created=20, key="b-2"),
        fact(7, "Queue backlog", "billing", created=10, key="b-3"),
        # Unique keys fall back to the normalized title: 3 triggers, spread over 72 h -> at most 2 in 48 h.
        fact(8, "Cron 17 failed", "jobs", status="resolved", created=72 * 60, resolved=72 * 60 - 1, key="j-1"),
        fact(9, "Cron 18 failed", "jobs", status="resolved", created=36 * 60 - 1, resolved=36 * 60 - 2, key="j-2"),
        fact(10, "Cron 19 failed", "jobs", created=1, key="j-3"),
    ]
    found = flapping(facts)
    assert [(f.title, f.service, f.incident_key, f.count, f.last_trigger, f.open_now) for f in found] == [
        ("healthz failing", "auth", "auth-healthz", 3, ago(6), True),
    ]


def test_flapping_by_title_when_keys_are_unique() -> None:
    facts = [fact(n, f"Cron {n} failed", "jobs", status="resolved", created=60 * n, resolved=60 * n - 1,
                  key=f"k-{n}") for n in (1, 2, 3, 4)]
    [flap] = flapping(facts)
    assert (flap.title, flap.count, flap.incident_key, flap.last_trigger, flap.open_now) == (
        "Cron 1 failed", 4, None, ago(60), False)


def test_bursts_are_five_or_more_within_15_minutes() -> None:
    facts = [
        # web: 6 incidents within 9 minutes, then a straggler 30 minutes later.
        *(fact(n, f"w{n}", "web", created=40 - 1.5 * n) for n in range(6)),
        fact(20, "late", "web", created=1),
        # api: 5 incidents, but spread over 16 minutes.
        *(fact(30 + n, f"a{n}", "api", created=100 - 4 * n) for n in range(5)),
        # db: exactly 5 within 15 minutes.
        *(fact(40 + n, f"d{n}", "db", created=200 - 3.75 * n) for n in range(5)),
    ]
    assert bursts(facts) == (
        Burst("web", 6, ago(40), ago(32.5)),
        Burst("db", 5, ago(200), ago(185)),
    )


def test_oldest_open_and_durations() -> None:
    facts = [
        fact(1, "straggler", "data", status="acknowledged", created=9 * 1440 + 36, acked=9 * 1440 - 4),
        fact(2, "fresh", "api", created=10),
        fact(3, "done", "api", status="resolved", created=20 * 1440, acked=20 * 1440 - 10,
             resolved=20 * 1440 - 70),
    ]
    patterns = compute_patterns(facts, NOW)
    assert patterns.oldest_open == OldestOpen(1, "straggler", "data", 216.6)
    assert patterns.ack_ratio == 0.5
    # MTTA: 40 min and 10 min; MTTR: 70 min.
    assert patterns.mtta == Durations(25.0, 25.0, 2)
    assert patterns.mttr == Durations(70.0, 70.0, 1)
    # Each says which incidents it is over: 1 of the 2 acknowledged is open; the resolved one was acked.
    assert (patterns.acknowledged_still_open, patterns.resolved_never_acknowledged) == (1, 0)


def test_a_known_older_incident_is_the_oldest_open() -> None:
    """A sample of the newest incidents plus the oldest open one read apart: that one is the oldest."""
    newest = [fact(10, "fresh", created=5), fact(9, "fresh too", created=8)]
    straggler = fact(1, "forgotten", "data", status="acknowledged", created=3 * 1440, acked=3 * 1440 - 5)
    patterns = compute_patterns(newest, NOW, oldest=[straggler])
    assert patterns.oldest_open == OldestOpen(1, "forgotten", "data", 72.0)
    assert patterns.incidents == 2 and patterns.mtta is None  # it adds nothing else


def test_durations_median_and_mean() -> None:
    spans = [timedelta(minutes=m) for m in (1, 2, 3, 10)]
    assert durations(spans) == Durations(2.5, 4.0, 4)
    assert durations([]) is None


def test_history_feeds_flapping_and_times_but_not_counts() -> None:
    open_now = [fact(100, "healthz failing", "auth", created=5, key="hz")]
    history = [
        fact(90, "healthz failing", "auth", status="resolved", created=300, resolved=296, key="hz"),
        fact(91, "healthz failing", "auth", status="resolved", created=200, resolved=194, key="hz"),
        fact(100, "healthz failing", "auth", created=5, key="hz"),  # duplicates count once
    ]
    patterns = compute_patterns(open_now, NOW, history=history)
    assert patterns.incidents == 1
    assert patterns.top_services == (("auth", 1),)
    assert [(f.count, f.open_now) for f in patterns.flapping] == [(3, True)]
    assert patterns.mttr == Durations(5.0, 5.0, 2)
    assert patterns.mtta is None


def test_empty_and_a_burst_of_one_title() -> None:
    empty = compute_patterns([], NOW)
    assert (empty.by_status, empty.by_urgency, empty.top_services, empty.repeated_titles, empty.flapping,
            empty.bursts, empty.oldest_open) == ((), (), (), (), (), (), None)
    facts = [
        *(fact(n, "Checkout down", "web", created=30 - n, key=f"k{n}") for n in range(5)),
        fact(9, "Checkout down", "web", status="resolved", created=600, resolved=590, key="k9"),
    ]
    found = compute_patterns(facts, NOW, top=2)
    assert dict(found.by_status) == {"triggered": 5, "resolved": 1}
    assert dict(found.by_urgency) == {"high": 6} and dict(found.top_services) == {"web": 6}
    assert [(r.title, r.count, r.services) for r in found.repeated_titles] == [("Checkout down", 6, ("web",))]
    assert [(f.title, f.service, f.count, f.last_trigger.astimezone(NY).isoformat(timespec="minutes"), f.open_now)
            for f in found.flapping] == [("Checkout down", "web", 6, "2026-03-10T09:34-04:00", True)]
    assert [(b.service, b.count, b.start.astimezone(NY).isoformat(timespec="minutes"),
             round((b.end - b.start).total_seconds() / 60)) for b in found.bursts] == [
        ("web", 5, "2026-03-10T09:30-04:00", 4)]
    assert found.oldest_open == OldestOpen(0, "Checkout down", "web", 0.5)
    assert found.ack_ratio == 0.0 and found.mtta is None
    assert found.mttr == Durations(10.0, 10.0, 1) and found.resolved_never_acknowledged == 1
