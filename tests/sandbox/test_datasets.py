"""Tests for the seeded sandbox accounts: determinism, sizes, patterns, on-call gaps, referential integrity.

The gap expectations are worked out here independently from the dataset code (the rules are the ones
docs/sandbox-dataset.md states), then checked against the schedule engine's rendering of the built world.
"""

from __future__ import annotations

import hashlib
import time as clock
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.sandbox.datasets.demo import (
    BURST_SERVICE,
    DEMO_TOKEN,
    DEMO_TOKENS,
    FLAPPING_KEY,
    FLAPPING_TITLE,
    INJECTION_TITLE,
    NOISY_SERVICE,
    REPEATED_TITLE,
    build_demo,
)
from bot.sandbox.datasets.large import LARGE_TOKEN, LARGE_TOKENS, SIZES, build_large
from bot.sandbox.model import Incident, Schedule, World
from bot.sandbox.schedule_engine import OverrideSpan, find_gaps, render_final, render_layer

NOW = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)  # a Tuesday afternoon
NOWS = [
    NOW,
    datetime(2026, 3, 28, 21, 7, 13, 500_000, tzinfo=UTC),  # Saturday 22:07 Berlin, EU DST starts overnight
    datetime(2026, 7, 4, 6, 30, tzinfo=UTC),  # Friday 23:30 Los Angeles: inside the v3 empty stretch
    datetime(2026, 10, 30, 3, 15, tzinfo=UTC),  # EU already on winter time, US not yet
]
WEEK = timedelta(days=7)


@pytest.fixture(scope="module")
def demo() -> World:
    return build_demo(NOW)


@pytest.fixture(scope="module")
def small_large() -> World:
    return build_large(NOW, scale=0.05)


def digest(world: World) -> str:
    """Everything a client could see (ids, names, times, links between objects), hashed."""
    content = repr((world.now, world.users, world.teams, world.services, world.escalation_policies,
                    world.schedules, world.incidents, world.priorities, world.tokens,
                    world.next_incident_number))
    return hashlib.sha256(content.encode()).hexdigest()


def by_name(world: World, name: str) -> str:
    return next(s.id for s in world.services.values() if s.name == name)


def schedule_named(world: World, name: str) -> Schedule:
    return next(s for s in world.schedules.values() if s.name == name)


def open_on(world: World, service_name: str) -> list[Incident]:
    service_id = by_name(world, service_name)
    return [i for i in world.open_incidents() if i.service_id == service_id]


# --------------------------------------------------------------------------- determinism and sizes


def test_demo_is_deterministic_for_seed_and_now() -> None:
    assert digest(build_demo(NOW)) == digest(build_demo(NOW))
    assert digest(build_demo(NOW, seed=8)) != digest(build_demo(NOW))
    assert digest(build_demo(NOW + timedelta(hours=1))) != digest(build_demo(NOW))


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        build_demo(datetime(2026, 3, 10, 14, 0))  # noqa: DTZ001 - the point of the test
    with pytest.raises(ValueError, match="aware"):
        build_large(datetime(2026, 3, 10, 14, 0), scale=0.01)  # noqa: DTZ001


def test_demo_now_in_another_zone_means_the_same_instant() -> None:
    assert digest(build_demo(NOW.astimezone(ZoneInfo("Asia/Kolkata")))) == digest(build_demo(NOW))


def test_demo_sizes(demo: World) -> None:
    assert 18 <= len(demo.users) <= 25
    assert len(demo.teams) == 5
    assert 8 <= len(demo.services) <= 12
    assert len(demo.escalation_policies) >= 5
    assert [p.name for p in demo.priorities] == ["P1", "P2", "P3", "P4", "P5"]
    assert [p.order for p in demo.priorities] == [1, 2, 3, 4, 5]
    assert all(p.description and p.color for p in demo.priorities)
    assert 35 <= len(demo.open_incidents()) <= 45
    resolved = [i for i in demo.incidents.values() if i.status == "resolved"]
    assert 150 <= len(resolved) <= 250
    assert all(NOW - i.created_at <= timedelta(days=30) for i in resolved)


def test_people_roles_zones_and_contact(demo: World) -> None:
    roles = Counter(u.role for u in demo.users.values())
    assert roles["owner"] == 1 and roles["admin"] >= 2 and roles["user"] >= 4 and roles["limited_user"] >= 4
    observer = next(u for u in demo.users.values() if u.role == "observer")
    assert observer.name == "Olivia Observer"
    restricted = [u for u in demo.users.values() if u.role == "restricted_access"]
    assert len(restricted) == 1 and len(demo.team_ids_of_user(restricted[0].id)) == 1
    visible = demo.visible_service_ids(restricted[0]) or set()
    assert {demo.services[s].name for s in visible} == {"mobile-push"}
    assert len({u.time_zone for u in demo.users.values()}) >= 6
    for user in demo.users.values():
        assert {c.type for c in user.contact_methods} == {
            "email_contact_method", "phone_contact_method", "sms_contact_method",
            "push_notification_contact_method"}
        assert {r.urgency for r in user.notification_rules} == {"high", "low"}
        assert {r.start_delay_in_minutes for r in user.notification_rules} >= {0, 5, 10}
    assert len({u.email for u in demo.users.values()}) == len(demo.users)


def test_teams_have_every_team_role(demo: World) -> None:
    names = {t.name for t in demo.teams.values()}
    assert names == {"Platform", "Payments", "Checkout & Web", "Data", "Mobile"}
    roles = {role for team in demo.teams.values() for role in team.members.values()}
    assert roles == {"manager", "responder", "observer"}


def test_platform_engineering_and_policies(demo: World) -> None:
    service = demo.services[by_name(demo, "platform-engineering")]
    policy = demo.escalation_policies[service.escalation_policy_id]
    assert policy.rules[0].targets[0].type == "schedule_reference"
    assert 2 <= len(policy.rules) <= 3
    delays = {r.escalation_delay_in_minutes for p in demo.escalation_policies.values() for r in p.rules}
    assert delays == {15, 30}
    assert any(p.num_loops > 0 for p in demo.escalation_policies.values())
    # A direct user at level 2 or 3 is a permanent on-call.
    assert any(t.type == "user_reference" for p in demo.escalation_policies.values()
               for r in p.rules[1:] for t in r.targets)
    assert any(t.type == "schedule_v3_reference" for p in demo.escalation_policies.values()
               for r in p.rules for t in r.targets)
    assert {s.admin_status for s in demo.services.values()} == {"active", "maintenance", "disabled"}


def test_schedules_shapes(demo: World) -> None:
    kinds = Counter(s.kind for s in demo.schedules.values())
    assert kinds["v3"] == 1 and kinds["v2"] >= 6
    names = {s.name for s in demo.schedules.values()}
    assert {"Platform Primary", "Platform Secondary", "Payments Primary"} <= names
    layers = [layer for s in demo.schedules.values() for layer in s.layers]
    assert {layer.rotation_turn_length_seconds for layer in layers} == {86_400, 7 * 86_400}
    restriction_types = {r.type for layer in layers for r in layer.restrictions}
    assert restriction_types == {"daily_restriction", "weekly_restriction"}
    assert len({s.time_zone for s in demo.schedules.values()}) >= 5
    for schedule in demo.schedules.values():
        assert len(schedule.layers) == len(schedule.layer_names)
    # Weekly rotations hand off Monday 09:00 in the schedule's zone.
    primary = schedule_named(demo, "Platform Primary")
    handoff = primary.layers[0].rotation_virtual_start.astimezone(ZoneInfo(primary.time_zone))
    assert (handoff.isoweekday(), handoff.time()) == (1, time(9))
    fts = schedule_named(demo, "Data Follow-the-Sun")
    assert all(r.type == "daily_restriction" for layer in fts.layers for r in layer.restrictions)


def test_overrides_in_progress_and_upcoming(demo: World) -> None:
    overrides = [o for s in demo.schedules.values() for o in s.overrides]
    assert any(o.start <= NOW < o.end for o in overrides)
    assert any(o.start >= NOW for o in overrides)
    assert any(o.end <= NOW for o in overrides)
    assert len({o.created_order for o in overrides}) == len(overrides)
    v3 = next(s for s in demo.schedules.values() if s.kind == "v3")
    assert v3.overrides and all(o.rotation_id in {layer.id for layer in v3.layers} for o in v3.overrides)


# --------------------------------------------------------------------------- coverage gaps


def local(day: date, hour: int, zone: str) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def first_local(after: datetime, hour: int, zone: str) -> datetime:
    """First instant at or after ``after`` that is ``hour``:00 local time in ``zone``."""
    day = after.astimezone(ZoneInfo(zone)).date()
    while local(day, hour, zone) < after:
        day += timedelta(days=1)
    return local(day, hour, zone)


Span = tuple[datetime, datetime]


def weekly_windows(now: datetime, zone: str, weekday: int, opens: int, closes: int) -> list[Span]:
    """Windows from ``weekday`` ``opens``:00 to the next day at ``closes``:00 local, clipped to the week."""
    start_day = now.astimezone(ZoneInfo(zone)).date() - timedelta(days=7)
    found = []
    for n in range(22):
        day = start_day + timedelta(days=n)
        if day.isoweekday() != weekday:
            continue
        lo = max(local(day, opens, zone), now)
        hi = min(local(day + timedelta(days=1), closes, zone), now + WEEK)
        if lo < hi:
            found.append((lo, hi))
    return found


def week_gaps(schedule: Schedule, now: datetime, *, overrides: bool = True) -> list[Span]:
    tz = ZoneInfo(schedule.time_zone)
    spans = schedule.override_spans() if overrides else []
    return find_gaps(render_final(schedule.layers, spans, tz, now, now + WEEK), now, now + WEEK)


@pytest.mark.parametrize("now", NOWS, ids=lambda n: n.strftime("%Y-%m-%dT%H:%M"))
def test_coming_week_gaps_are_exactly_where_documented(now: datetime) -> None:
    world = build_demo(now)
    # Platform Secondary: 12 h from the first 20:00 London time >= now + 3 days.
    gap1 = first_local(now + timedelta(days=3), 20, "Europe/London")
    assert week_gaps(schedule_named(world, "Platform Secondary"), now) == [(gap1, gap1 + timedelta(hours=12))]
    # Checkout Primary: Saturday 20:00 -> Sunday 08:00 Berlin wall clock, every week.
    expected = weekly_windows(now, "Europe/Berlin", 6, 20, 8)
    assert week_gaps(schedule_named(world, "Checkout Primary"), now) == expected
    # Payments Secondary: 8 h from the first New York midnight >= now + 5 days, closed by an override.
    payments = schedule_named(world, "Payments Secondary")
    gap3 = first_local(now + timedelta(days=5), 0, "America/New_York")
    assert week_gaps(payments, now, overrides=False) == [(gap3, gap3 + timedelta(hours=8))]
    assert week_gaps(payments, now) == []
    closing = [o for o in payments.overrides if o.start == gap3]
    assert len(closing) == 1 and closing[0].end == gap3 + timedelta(hours=8)
    # Every other v2 schedule is fully covered.
    for schedule in world.schedules.values():
        if schedule.kind == "v2" and schedule.name not in ("Platform Secondary", "Checkout Primary"):
            assert week_gaps(schedule, now) == [], schedule.name


@pytest.mark.parametrize("now", NOWS, ids=lambda n: n.strftime("%Y-%m-%dT%H:%M"))
def test_v3_schedule_has_its_friday_night_empty_stretch(now: datetime) -> None:
    world = build_demo(now)
    v3 = next(s for s in world.schedules.values() if s.kind == "v3")
    tz = ZoneInfo(v3.time_zone)
    entries = [e for layer in v3.layers for e in render_layer(layer, tz, now, now + WEEK)]
    assert find_gaps(entries, now, now + WEEK) == weekly_windows(now, "America/Los_Angeles", 5, 19, 7)
    # Rotations overlap: at some point two people are on call at once.
    day, shadow = (render_layer(layer, tz, now, now + WEEK) for layer in v3.layers[::2])
    assert any(a.start < b.end and b.start < a.end for a in day for b in shadow)


# --------------------------------------------------------------------------- incident patterns


def test_noisy_service_has_the_most_open_incidents(demo: World) -> None:
    counts = Counter(demo.services[i.service_id].name for i in demo.open_incidents())
    (top, top_count), (_, second_count) = counts.most_common(2)
    assert top == NOISY_SERVICE and top_count >= 10 and top_count > second_count


def test_flapping_check(demo: World) -> None:
    flaps = [i for i in demo.incidents.values() if i.incident_key == FLAPPING_KEY]
    assert all(i.title == FLAPPING_TITLE for i in flaps)
    assert len(flaps) >= 10
    assert all(NOW - i.created_at <= timedelta(hours=48) for i in flaps)
    still_open = [i for i in flaps if i.is_open]
    assert len(still_open) == 1
    for incident in flaps:
        if not incident.is_open:
            # Auto-resolved by the monitor: no acknowledgement, the service (no user) resolved it.
            assert incident.acknowledgements == [] and incident.last_status_change_by is None
            assert incident.resolved_at is not None
            assert incident.resolved_at - incident.created_at < timedelta(minutes=10)


def test_repeated_titles_burst_and_old_incident(demo: World) -> None:
    assert sum(1 for i in demo.open_incidents() if i.title == REPEATED_TITLE) >= 3
    times = sorted(i.created_at for i in open_on(demo, BURST_SERVICE))
    assert any(times[k + 5] - times[k] <= timedelta(minutes=10) for k in range(len(times) - 5))
    oldest = min(i.created_at for i in demo.open_incidents())
    assert NOW - oldest >= timedelta(days=9)


def test_open_incident_mix(demo: World) -> None:
    opened = demo.open_incidents()
    assert {i.status for i in opened} == {"triggered", "acknowledged"}
    assert {i.urgency for i in opened} == {"high", "low"}
    assert 0 < sum(1 for i in opened if i.priority_id) < len(opened)
    for incident in opened:
        assert incident.assigned_user_ids
        if incident.status == "acknowledged":
            (ack,) = incident.acknowledgements
            assert ack.user_id in incident.assigned_user_ids and incident.created_at < ack.at <= NOW
        else:
            assert incident.acknowledgements == []
    assert any(i.notes for i in opened) and any(i.status_updates for i in opened)


def test_injection_attempt_is_present(demo: World) -> None:
    (incident,) = [i for i in demo.incidents.values() if i.title == INJECTION_TITLE]
    assert incident.is_open and "<!channel>" in incident.title
    assert any("<http://evil.example|" in note.content for note in incident.notes)


def test_log_entries_tell_the_same_story(demo: World) -> None:
    for incident in demo.incidents.values():
        entries = incident.log_entries
        assert entries[0].type == "trigger_log_entry" and entries[0].created_at == incident.created_at
        assert [e.created_at for e in entries] == sorted(e.created_at for e in entries)
        assert entries[-1].created_at <= NOW and incident.updated_at == entries[-1].created_at
        assert all(e.incident_id == incident.id for e in entries)
        types = Counter(e.type for e in entries)
        assert types["notify_log_entry"] >= 1
        assert types["annotate_log_entry"] == len(incident.notes)
        if incident.acknowledgements:
            ack = incident.acknowledgements[0]
            assert any(e.type == "acknowledge_log_entry" and e.agent_user_id == ack.user_id
                       and e.created_at == ack.at for e in entries)
        else:
            assert types["acknowledge_log_entry"] == 0
        if incident.status == "resolved":
            (resolve,) = [e for e in entries if e.type == "resolve_log_entry"]
            assert resolve.created_at == incident.resolved_at == entries[-1].created_at
            assert incident.assigned_user_ids == []
            assert all(a.status == "resolved" for a in incident.alerts)
        else:
            assert types["resolve_log_entry"] == 0 and incident.resolved_at is None
            assert all(a.status == "triggered" for a in incident.alerts)
        assert incident.alerts and all(incident.created_at <= a.created_at <= NOW for a in incident.alerts)
    assert max(len(i.alerts) for i in open_on(demo, NOISY_SERVICE)) >= 5
    resolves = [e for i in demo.incidents.values() for e in i.log_entries if e.type == "resolve_log_entry"]
    assert any(e.note for e in resolves), "some resolutions carry a resolution note"


def _on_call_between(world: World, schedule: Schedule, since: datetime, until: datetime) -> set[str]:
    tz = ZoneInfo(schedule.time_zone)
    if schedule.kind == "v2":
        return {e.user_id for e in render_final(schedule.layers, schedule.override_spans(), tz, since, until)}
    found: set[str] = set()
    for layer in schedule.layers:
        spans = [OverrideSpan(o.start, o.end, o.user_id, o.created_order)
                 for o in schedule.overrides if o.rotation_id == layer.id]
        found |= {e.user_id for e in render_final([layer], spans, tz, since, until)}
    return found


def test_assignees_are_on_call_for_the_policy(demo: World) -> None:
    for incident in demo.open_incidents():
        policy = demo.escalation_policies[incident.escalation_policy_id]
        assert 1 <= incident.escalation_level <= len(policy.rules)
        rule = policy.rules[incident.escalation_level - 1]
        allowed: set[str] = set()
        for target in rule.targets:
            if target.type == "user_reference":
                allowed.add(target.id)
            else:
                allowed |= _on_call_between(demo, demo.schedules[target.id], incident.created_at, NOW)
        assert set(incident.assigned_user_ids) <= allowed, incident.title


def test_incident_numbers_follow_creation(demo: World) -> None:
    ordered = sorted(demo.incidents.values(), key=lambda i: i.number)
    assert [i.created_at for i in ordered] == sorted(i.created_at for i in ordered)
    assert len({i.number for i in ordered}) == len(ordered)
    assert demo.next_incident_number == ordered[-1].number + 1
    assert demo.find_incident(str(ordered[0].number)) is ordered[0]


def test_history_gives_distinct_mtta_and_mttr_per_service(demo: World) -> None:
    def mean_minutes(service: str, field: str) -> float:
        values = []
        for i in demo.incidents.values():
            if i.service_id != by_name(demo, service) or i.status != "resolved" or not i.acknowledgements:
                continue
            end = i.acknowledgements[0].at if field == "ack" else i.resolved_at
            assert end is not None
            values.append((end - i.created_at).total_seconds() / 60)
        assert len(values) >= 5
        return sum(values) / len(values)

    assert mean_minutes("payments-api", "ack") * 3 < mean_minutes("data-pipeline", "ack")
    assert mean_minutes("payments-api", "resolve") * 2 < mean_minutes("data-pipeline", "resolve")
    per_service = Counter(demo.services[i.service_id].name for i in demo.incidents.values()
                          if i.status == "resolved")
    assert len(per_service) == len(demo.services)


def test_tokens_of_every_kind(demo: World) -> None:
    assert set(DEMO_TOKENS) == set(demo.tokens)
    grant = demo.tokens[DEMO_TOKEN]
    assert demo.users[grant.user_id].role == "user" and not grant.read_only and not grant.revoked
    roles = {demo.users[g.user_id].role for g in demo.tokens.values() if not g.read_only and not g.revoked}
    assert {"user", "limited_user", "observer", "restricted_access"} <= roles
    assert sum(g.read_only for g in demo.tokens.values()) == 1
    assert sum(g.revoked for g in demo.tokens.values()) == 1


# --------------------------------------------------------------------------- referential integrity


def check_references(world: World) -> None:
    users, teams, schedules = world.users, world.teams, world.schedules
    priorities = {p.id for p in world.priorities}
    ids: list[str] = []
    for user in users.values():
        methods = {c.id for c in user.contact_methods}
        assert all(r.contact_method_id in methods for r in user.notification_rules)
        ids += [user.id, *methods, *(r.id for r in user.notification_rules)]
    for team in teams.values():
        assert set(team.members) <= set(users)
        ids.append(team.id)
    for schedule in schedules.values():
        assert set(schedule.team_ids) <= set(teams)
        layer_ids = {layer.id for layer in schedule.layers}
        for layer in schedule.layers:
            assert layer.user_ids and set(layer.user_ids) <= set(users)
        for override in schedule.overrides:
            assert override.user_id in users and override.start < override.end
            if schedule.kind == "v3":
                assert override.rotation_id in layer_ids
            else:
                assert override.rotation_id is None
        ids += [schedule.id, *layer_ids, *(o.id for o in schedule.overrides)]
    for policy in world.escalation_policies.values():
        assert policy.rules and set(policy.team_ids) <= set(teams)
        for rule in policy.rules:
            ids.append(rule.id)
            for target in rule.targets:
                if target.type == "user_reference":
                    assert target.id in users
                else:
                    kind = "v3" if target.type == "schedule_v3_reference" else "v2"
                    assert schedules[target.id].kind == kind
        ids.append(policy.id)
    for service in world.services.values():
        assert service.escalation_policy_id in world.escalation_policies
        assert service.team_ids and set(service.team_ids) <= set(teams)
        ids.append(service.id)
    for incident in world.incidents.values():
        service = world.services[incident.service_id]
        assert incident.escalation_policy_id == service.escalation_policy_id
        assert set(incident.assigned_user_ids) <= set(users)
        assert all(a.user_id in users for a in incident.acknowledgements)
        assert all(n.user_id in users for n in incident.notes)
        assert all(s.user_id in users for s in incident.status_updates)
        assert incident.priority_id is None or incident.priority_id in priorities
        assert incident.last_status_change_by is None or incident.last_status_change_by in users
        for entry in incident.log_entries:
            assert entry.agent_user_id is None or entry.agent_user_id in users
            assert set(entry.assigned_user_ids) <= set(users)
        ids += [incident.id, *(e.id for e in incident.log_entries), *(a.id for a in incident.alerts),
                *(n.id for n in incident.notes), *(s.id for s in incident.status_updates)]
        assert world.find_incident(str(incident.number)) is incident
    for grant in world.tokens.values():
        assert grant.user_id in users
    ids += list(priorities)
    assert len(ids) == len(set(ids)), "ids are unique across the account"
    assert all(len(i) == 7 and i.startswith("P") for i in ids)


def test_demo_references_resolve(demo: World) -> None:
    check_references(demo)


# --------------------------------------------------------------------------- large


def test_large_counts_at_small_scale(small_large: World) -> None:
    world = small_large
    expected = {name: max(1, round(count * 0.05)) for name, count in SIZES.items()}
    assert len(world.users) == expected["users"]
    assert len(world.teams) == expected["teams"]
    assert len(world.schedules) == expected["schedules"]
    assert len(world.services) == len(world.escalation_policies) == expected["services"]
    assert len(world.open_incidents()) == expected["open_incidents"]
    assert len(world.incidents) - len(world.open_incidents()) == expected["resolved_incidents"]
    check_references(world)


def test_large_is_deterministic_and_realistic(small_large: World) -> None:
    assert digest(build_large(NOW, scale=0.05)) == digest(small_large)
    assert digest(build_large(NOW, seed=12, scale=0.05)) != digest(small_large)
    counts = Counter(i.service_id for i in small_large.open_incidents()).most_common()
    assert counts[0][1] >= 5 * counts[len(counts) // 2][1], "load is skewed towards a few noisy services"
    ordered = sorted(small_large.incidents.values(), key=lambda i: i.number)
    assert [i.created_at for i in ordered] == sorted(i.created_at for i in ordered)
    assert small_large.next_incident_number == ordered[-1].number + 1
    assert {i.status for i in ordered} == {"triggered", "acknowledged", "resolved"}
    assert any(s.kind == "v3" for s in small_large.schedules.values())


def test_large_tokens(small_large: World) -> None:
    assert set(LARGE_TOKENS) == set(small_large.tokens)
    assert small_large.users[small_large.tokens[LARGE_TOKEN].user_id].role == "user"
    assert any(g.read_only for g in small_large.tokens.values())
    assert any(g.revoked for g in small_large.tokens.values())


def test_large_tiny_scale_still_builds() -> None:
    world = build_large(NOW, scale=0.0001)
    assert len(world.users) == len(world.services) == len(world.schedules) == 1
    assert len(world.open_incidents()) == 1 and len(world.incidents) == 2
    check_references(world)


@pytest.mark.slow
def test_large_full_scale_builds_in_time() -> None:
    started = clock.perf_counter()
    world = build_large(NOW)
    elapsed = clock.perf_counter() - started
    assert len(world.open_incidents()) == SIZES["open_incidents"]
    assert len(world.users) == SIZES["users"] and len(world.services) == SIZES["services"]
    assert elapsed < 60, f"build took {elapsed:.1f}s (target: a few seconds, hard limit 15 s in benchmarks)"

