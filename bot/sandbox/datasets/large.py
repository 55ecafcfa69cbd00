"""The ``large`` account for benchmarks: thousands of everything, generated cheaply but plausibly.

At ``scale=1.0``: 5,000 users, 50 teams, 300 schedules, 500 services each with its own escalation policy,
10,000 open incidents and 2,000 resolved ones over 30 days. Every count scales linearly with ``scale``
(at least one of each). The realism rules of the demo account hold in a cheap form: incident load is
skewed (a few very noisy services), titles repeat, some services burst or flap, assignees are whoever
the level-1 rotation puts on call (worked out arithmetically, never by rendering schedules), and a few
schedules carry deliberate gaps. Same ``(now, seed, scale)`` -> identical world.
"""

from __future__ import annotations

import itertools
import random
from datetime import datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from bot.sandbox.datasets._build import (
    DAY,
    MONDAY,
    WEEKDAYS,
    EscalationPath,
    IncidentSpec,
    NoteSpec,
    Step,
    add_incident,
    add_priorities,
    add_user,
    last_weekday_local,
    require_utc,
    weekly,
)
from bot.sandbox.model import (
    EscalationPolicy,
    EscalationRule,
    IdFactory,
    Override,
    Role,
    Schedule,
    Service,
    Target,
    Team,
    TeamRole,
    TokenGrant,
    Urgency,
    World,
)
from bot.sandbox.schedule_engine import Layer

AdminStatus = Literal["active", "disabled", "maintenance"]

LARGE_TOKEN = "sandbox-large-manager-token"
"""Acts as the first Manager (account role ``user``), who also manages their team."""

LARGE_TOKENS: dict[str, str] = {
    LARGE_TOKEN: "the first Manager (role user), team manager: the default token, full read/write",
    "sandbox-large-responder-token": "a Responder (role limited_user)",
    "sandbox-large-observer-token": "an Observer (read-only role): writes get 403",
    "sandbox-large-restricted-token": "a Restricted Access user on a single team",
    "sandbox-large-readonly-token": "read-only API key (acts as the owner): writes get 403",
    "sandbox-large-revoked-token": "revoked key: every request gets 401",
}

SIZES: dict[str, int] = {
    "users": 5000, "teams": 50, "schedules": 300, "services": 500, "open_incidents": 10_000,
    "resolved_incidents": 2000,
}
"""Counts at ``scale=1.0``; escalation policies match services one to one."""

FIRST_INCIDENT_NUMBER = 50_001

_ZONES = ("America/New_York", "America/Chicago", "America/Los_Angeles", "Europe/London", "Europe/Berlin",
          "Europe/Paris", "Asia/Kolkata", "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney",
          "America/Sao_Paulo")
_CC = {"America": 1, "Europe": 44, "Asia": 91, "Australia": 61}
_FIRST = ("Ava", "Liam", "Olivia", "Noah", "Emma", "Ethan", "Sophia", "Mason", "Isabella", "Lucas", "Mia",
          "Aarav", "Ananya", "Wei", "Yuki", "Hana", "Mateo", "Lucia", "Finn", "Freya", "Omar", "Layla",
          "Kofi", "Amara", "Lars", "Ingrid", "Pierre", "Camille", "Diego", "Valentina", "Arjun", "Priya",
          "Chen", "Mei", "Kenji", "Sakura", "Jack", "Chloe", "Leo", "Zoe")
_LAST = ("Smith", "Johnson", "Garcia", "Martinez", "Brown", "Lee", "Patel", "Kim", "Nguyen", "Chen",
         "Müller", "Schmidt", "Dubois", "Rossi", "Silva", "Santos", "Tanaka", "Sato", "Khan", "Singh",
         "Okafor", "Mensah", "Andersson", "Nielsen", "Kowalski", "Novak", "Cohen", "Haddad", "O'Brien",
         "Walsh", "Murphy", "Taylor", "Wilson", "Clarke", "Iyer", "Rao", "Wong", "Park", "Ali", "Costa")
_DEVICES = ("iPhone 15", "iPhone 14", "Pixel 8", "Galaxy S23", "Pixel 7", "iPhone 13")
_AREAS = ("payments", "checkout", "search", "identity", "billing", "catalog", "orders", "shipping", "ledger",
          "notifications", "pricing", "inventory", "fraud", "reporting", "gateway", "media", "profile",
          "recommendations", "loyalty", "support", "analytics", "messaging", "storage", "compute", "network")
_KINDS = ("api", "worker", "web", "db", "queue", "cache", "cron", "stream", "gateway", "indexer")
_TEAM_WORDS = ("Aurora", "Borealis", "Cobalt", "Delta", "Ember", "Falcon", "Granite", "Harbor", "Indigo",
               "Juniper", "Kestrel", "Lumen", "Meridian", "Nimbus", "Onyx", "Polaris", "Quartz", "Raven",
               "Sierra", "Tundra", "Umbra", "Vertex", "Willow", "Xenon", "Yarrow", "Zephyr")
_TITLES = ("High CPU on {host}", "Elevated 5xx rate on {svc}", "p99 latency above 2s on {svc}",
           "Disk usage above 85% on {host}", "Memory pressure on {host}", "{svc} health check failing",
           "Queue depth above 10k on {svc}", "Error budget burn rate high for {svc}",
           "Certificate expiring soon for {svc}", "Pod crash looping in {svc}", "Replication lag on {host}",
           "Synthetic check failed for {svc}")


def _count(name: str, scale: float) -> int:
    return max(1, round(SIZES[name] * scale))


def build_large(now: datetime, seed: int = 11, scale: float = 1.0) -> World:
    """Build the benchmark account at ``now`` (aware); deterministic for ``(now, seed, scale)``."""
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale!r}")
    now = require_utc(now)
    rng = random.Random(seed)
    world = World(now=now, ids=IdFactory(seed), subdomain="acme-large")
    priority_ids = add_priorities(world)
    users = _users(world, rng, _count("users", scale))
    teams = _teams(world, rng, users, _count("teams", scale))
    schedules = _schedules(world, rng, teams, _count("schedules", scale))
    services = _services(world, rng, teams, schedules, _count("services", scale))
    _incidents(world, rng, services, priority_ids, _count("open_incidents", scale),
               _count("resolved_incidents", scale))
    _tokens(world, users, teams)
    return world


def _users(world: World, rng: random.Random, count: int) -> list[str]:
    ids: list[str] = []
    names = list(itertools.product(_FIRST, _LAST))
    for i in range(count):
        first, last = names[(i * 7919) % len(names)]
        if i == 0:
            role: Role = "owner"
        else:
            roll = rng.random()
            role = ("admin" if roll < 0.005 else "user" if roll < 0.30 else "observer" if roll < 0.32
                    else "restricted_access" if roll < 0.335 else "limited_user")
        zone = _ZONES[i % len(_ZONES)]
        local = f"{first}.{last}".lower().replace("'", "").replace("ü", "ue")
        user = add_user(world, rng, name=f"{first} {last}", email=f"{local}.{i}@large.example",
                        time_zone=zone, role=role, job_title="Engineer", country_code=_CC[zone.split("/")[0]],
                        phone=f"55501{i:05d}", device=_DEVICES[i % len(_DEVICES)])
        ids.append(user.id)
    return ids


def _teams(world: World, rng: random.Random, users: list[str], count: int) -> list[Team]:
    teams: list[Team] = []
    for t in range(count):
        word = _TEAM_WORDS[t % len(_TEAM_WORDS)]
        name = f"{word} {t // len(_TEAM_WORDS) + 1}" if t >= len(_TEAM_WORDS) else word
        teams.append(Team(world.ids.new(), name, f"Team {name}."))
    for i, user_id in enumerate(users):
        role = world.users[user_id].role
        homes = [teams[i % count]]
        if role != "restricted_access" and count > 1 and rng.random() < 0.1:
            homes.append(teams[(i + 1 + rng.randrange(count - 1)) % count])
        for team in homes:
            team_role: TeamRole = "observer" if role == "observer" else (
                "manager" if not team.members or (role in ("user", "admin") and rng.random() < 0.05)
                else "responder")
            team.members[user_id] = team_role
    for team in teams:
        world.teams[team.id] = team
    return teams


def _responders(world: World, team: Team) -> list[str]:
    """Team members who can take a page (observers cannot)."""
    found = [u for u in team.members if world.users[u].can_write]
    return found or list(team.members) or [next(iter(world.users))]


def _schedules(world: World, rng: random.Random, teams: list[Team], count: int) -> list[Schedule]:
    now = world.now
    schedules: list[Schedule] = []
    for s in range(count):
        team = teams[s % len(teams)]
        zone = _ZONES[rng.randrange(len(_ZONES))]
        tz = ZoneInfo(zone)
        pool = _responders(world, team)
        size = min(len(pool), rng.randint(3, 7))
        offset = rng.randrange(len(pool))
        members = tuple(pool[(offset + k) % len(pool)] for k in range(size))
        turn = DAY if rng.random() < 0.3 else 7 * DAY
        origin = last_weekday_local(now - timedelta(weeks=8), MONDAY, time(9), tz)
        kind = "v3" if s % 37 == 5 else "v2"
        layers: list[Layer] = []
        names: list[str] = []
        if s % 20 == 7:
            # A deliberate gap: the rotation ends in 2 days and its successor starts 6 hours later.
            cut = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
            layers.append(Layer(world.ids.new(), origin, cut, origin, turn, members))
            layers.append(Layer(world.ids.new(), cut + timedelta(hours=6), None, origin, turn, members[::-1]))
            names += ["Rotation", "Rotation (new)"]
        else:
            layers.append(Layer(world.ids.new(), origin, None, origin, turn, members))
            names.append("Rotation")
        if rng.random() < 0.2:
            layers.append(Layer(world.ids.new(), origin, None, origin, 7 * DAY, members[:2],
                                weekly(WEEKDAYS, time(9), 8)))
            names.append("Business hours")
        schedule = Schedule(world.ids.new(), f"{team.name} On-call {s // len(teams) + 1}", zone, layers,
                            names, "v3" if kind == "v3" else "v2", f"On-call rotation for team {team.name}.",
                            [team.id])
        if rng.random() < 0.1:
            start = now + timedelta(hours=rng.randint(-12, 120))
            end = start + timedelta(hours=rng.choice((4, 8, 24)))
            schedule.overrides.append(Override(world.ids.new(), start, end, members[-1],
                                               world.new_override_order(),
                                               layers[0].id if kind == "v3" else None))
        world.schedules[schedule.id] = schedule
        schedules.append(schedule)
    return schedules


def _services(world: World, rng: random.Random, teams: list[Team], schedules: list[Schedule],
              count: int) -> list[Service]:
    by_team: dict[str, list[Schedule]] = {}
    for schedule in schedules:
        by_team.setdefault(schedule.team_ids[0], []).append(schedule)
    services: list[Service] = []
    for k in range(count):
        team = teams[k % len(teams)]
        own = by_team.get(team.id) or schedules
        first = own[k // len(teams) % len(own)]
        second = own[(k // len(teams) + 1) % len(own)]
        manager = next((u for u, r in team.members.items() if r == "manager"), _responders(world, team)[0])

        def target(schedule: Schedule) -> Target:
            return Target("schedule_v3_reference" if schedule.kind == "v3" else "schedule_reference",
                          schedule.id)

        rules = [EscalationRule(world.ids.new(), rng.choice((15, 30)), [target(first)])]
        if second is not first:
            rules.append(EscalationRule(world.ids.new(), 30, [target(second)]))
        rules.append(EscalationRule(world.ids.new(), 30, [Target("user_reference", manager)]))
        name = f"{_AREAS[k % len(_AREAS)]}-{_KINDS[k // len(_AREAS) % len(_KINDS)]}"
        if k >= len(_AREAS) * len(_KINDS):
            name += f"-{k // (len(_AREAS) * len(_KINDS)) + 1}"
        policy = EscalationPolicy(world.ids.new(), f"{name} escalation", rules, f"Escalation for {name}.",
                                  rng.choice((0, 0, 1, 2)), team_ids=[team.id])
        world.escalation_policies[policy.id] = policy
        status: AdminStatus = "disabled" if k % 97 == 96 else "maintenance" if k % 89 == 88 else "active"
        service = Service(world.ids.new(), name, policy.id, world.now - timedelta(days=30 + k % 700),
                          f"The {name} service.", [team.id], status,
                          acknowledgement_timeout=None, auto_resolve_timeout=None)
        world.services[service.id] = service
        services.append(service)
    return services


def _on_call(world: World, service: Service, at: datetime) -> str:
    """Level-1 on-call by rotation arithmetic on the first layer (restrictions and DST ignored: cheap)."""
    target = world.escalation_policies[service.escalation_policy_id].rules[0].targets[0]
    if target.type == "user_reference":
        return target.id
    layer = world.schedules[target.id].layers[0]
    k = int((at - layer.rotation_virtual_start).total_seconds() // layer.rotation_turn_length_seconds)
    return layer.user_ids[k % len(layer.user_ids)]


def _incidents(world: World, rng: random.Random, services: list[Service], priority_ids: dict[str, str],
               open_count: int, resolved_count: int) -> None:
    now = world.now
    active = [s for s in services if s.admin_status == "active"] or services
    # Zipf-like load: the first few services are very noisy, the long tail sees little.
    weights = list(itertools.accumulate(1.0 / (rank + 1) ** 1.1 for rank in range(len(active))))
    hosts = [f"{area}-db-{n}" for area in _AREAS[:8] for n in (1, 2)]

    def spec(service: Service, created: datetime, *, title: str | None = None, key: str | None = None,
             resolve: timedelta | None = None, by_user: bool = True) -> IncidentSpec:
        urgency: Urgency = "high" if rng.random() < 0.65 else "low"
        roll = rng.random()
        acked = by_user if resolve is not None else roll < 0.4
        ack = timedelta(minutes=rng.uniform(1, 40)) if acked else None
        if ack is not None and resolve is not None and ack >= resolve:
            resolve = ack + timedelta(minutes=rng.uniform(5, 240))
        if ack is not None and resolve is None and created + ack > now:
            ack = (now - created) / 2
        text = title or rng.choice(_TITLES).format(host=rng.choice(hosts), svc=service.name)
        return IncidentSpec(
            service.id, text, created, urgency, key or f"{service.name}-{rng.randrange(16 ** 8):08x}",
            ack_after=ack, resolve_after=resolve, resolved_by_user=by_user,
            priority=rng.choice(("P1", "P2", "P3", "P3", "P4")) if roll < 0.15 else None,
            notes=[NoteSpec("Looking into it.", timedelta(minutes=3))] if ack and roll < 0.05 else [])

    special = max(1, len(active) // 50)
    opened: list[IncidentSpec] = []
    resolved: list[IncidentSpec] = []
    for b in range(special):
        # A burst: six incidents within ten minutes on one service.
        service, start = active[(b * 13) % len(active)], now - timedelta(minutes=rng.uniform(20, 600))
        opened += [spec(service, start + timedelta(minutes=1.7 * n)) for n in range(6)]
    for f in range(special):
        # A flapping check: the same key triggered and auto-resolved every few hours, one open now.
        service = active[(f * 17 + 5) % len(active)]
        key, title = f"{service.name}-healthz", f"{service.name} health check flapping"
        resolved += [spec(service, now - timedelta(hours=47 - 5.5 * n), title=title, key=key,
                          resolve=timedelta(minutes=rng.uniform(2, 6)), by_user=False) for n in range(8)]
        opened.append(spec(service, now - timedelta(minutes=rng.uniform(1, 30)), title=title, key=key))
    opened, resolved = opened[:open_count], resolved[:resolved_count // 2]
    while len(opened) < open_count:
        service = rng.choices(active, cum_weights=weights)[0]
        age = timedelta(days=7 * rng.random() ** 2, seconds=rng.uniform(60, 600))
        opened.append(spec(service, now - age))
    while len(resolved) < resolved_count:
        service = rng.choices(active, cum_weights=weights)[0]
        fix = timedelta(minutes=rng.lognormvariate(3.5, 1.0))
        created = now - timedelta(days=rng.uniform(0.1, 30))
        resolved.append(spec(service, min(created, now - fix - timedelta(hours=5)), resolve=fix,
                             by_user=rng.random() < 0.85))
    specs = sorted(opened + resolved, key=lambda s: (s.created_at, s.title))
    for offset, item in enumerate(specs):
        service = world.services[item.service_id]
        path = EscalationPath((Step(0, item.created_at, (_on_call(world, service, item.created_at),)),))
        add_incident(world, item, FIRST_INCIDENT_NUMBER + offset, path, priority_ids)


def _tokens(world: World, users: list[str], teams: list[Team]) -> None:
    def first(role: str, fallback: str) -> str:
        return next((u for u in users if world.users[u].role == role), fallback)

    owner = users[0]
    manager = first("user", owner)
    # The default token's user manages their first team, whatever the dice said.
    home = next((t for t in teams if manager in t.members), None)
    if home is not None:
        home.members[manager] = "manager"
    world.tokens.update({
        LARGE_TOKEN: TokenGrant(manager),
        "sandbox-large-responder-token": TokenGrant(first("limited_user", owner)),
        "sandbox-large-observer-token": TokenGrant(first("observer", owner)),
        "sandbox-large-restricted-token": TokenGrant(first("restricted_access", owner)),
        "sandbox-large-readonly-token": TokenGrant(owner, read_only=True),
        "sandbox-large-revoked-token": TokenGrant(manager, revoked=True),
    })
