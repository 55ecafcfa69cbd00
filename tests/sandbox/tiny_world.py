"""A hand-made account small enough to reason about in assertions (directory and dispatch tests)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from bot.sandbox.model import (
    ContactMethod,
    EscalationPolicy,
    EscalationRule,
    IdFactory,
    Incident,
    LogEntry,
    NotificationRule,
    Schedule,
    Service,
    Target,
    Team,
    TokenGrant,
    User,
    World,
)
from bot.sandbox.schedule_engine import Layer, Restriction

NOW = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
MANAGER_TOKEN = "tok-manager"
OBSERVER_TOKEN = "tok-observer"
READONLY_TOKEN = "tok-readonly"
REVOKED_TOKEN = "tok-revoked"
RESTRICTED_TOKEN = "tok-restricted"


def tiny_world() -> World:
    world = World(now=NOW, ids=IdFactory(1))
    mia = User("PMIA001", "Mia Manager", "mia@example.com", "Europe/London", "user",
               contact_methods=[ContactMethod("PCM0001", "email_contact_method", "Work", "mia@example.com"),
                                ContactMethod("PCM0002", "sms_contact_method", "Mobile", "5550100", 1)],
               notification_rules=[NotificationRule("PNR0001", 0, "PCM0001", "high"),
                                   NotificationRule("PNR0002", 5, "PCM0002", "high"),
                                   NotificationRule("PNR0003", 0, "PCM0001", "low")])
    rob = User("PROB001", "Rob Responder", "rob@example.com", "America/New_York", "limited_user")
    olga = User("POLG001", "Olga Observer", "olga@example.com", "UTC", "observer")
    rita = User("PRIT001", "Rita Restricted", "rita@example.com", "UTC", "restricted_access")
    for user in (mia, rob, olga, rita):
        world.users[user.id] = user
    world.teams["PTEAMPL"] = Team("PTEAMPL", "Platform", members={"PMIA001": "manager", "PROB001": "responder"})
    world.teams["PTEAMPA"] = Team("PTEAMPA", "Payments", members={"PRIT001": "responder"})
    primary = Schedule("PSCHED1", "Platform Primary", "Europe/London", layer_names=["Layer 1"], layers=[
        Layer("PLAYER1", NOW - timedelta(days=30), None, datetime(2026, 1, 5, 9, tzinfo=UTC), 7 * 86400,
              ("PMIA001", "PROB001"),
              (Restriction("daily_restriction", time(8), 12 * 3600),))], team_ids=["PTEAMPL"])
    world.schedules[primary.id] = primary
    world.escalation_policies["PEPPLAT"] = EscalationPolicy("PEPPLAT", "Platform EP", [
        EscalationRule("PRULE01", 15, [Target("schedule_reference", "PSCHED1")]),
        EscalationRule("PRULE02", 30, [Target("user_reference", "PMIA001")]),
    ], num_loops=1, team_ids=["PTEAMPL"])
    world.escalation_policies["PEPPAY1"] = EscalationPolicy("PEPPAY1", "Payments EP", [
        EscalationRule("PRULE03", 10, [Target("user_reference", "PRIT001")])], team_ids=["PTEAMPA"])
    world.services["PSVCPLT"] = Service("PSVCPLT", "platform-engineering", "PEPPLAT", NOW - timedelta(days=400),
                                        team_ids=["PTEAMPL"])
    world.services["PSVCPAY"] = Service("PSVCPAY", "payments-api", "PEPPAY1", NOW - timedelta(days=300),
                                        team_ids=["PTEAMPA"])
    world.services["PSVCOLD"] = Service("PSVCOLD", "legacy-batch", "PEPPLAT", NOW - timedelta(days=900),
                                        admin_status="disabled")
    for number, (service, status) in enumerate(
            [("PSVCPAY", "triggered"), ("PSVCPAY", "acknowledged"), ("PSVCPLT", "acknowledged")], start=1):
        created = NOW - timedelta(hours=number)
        incident_id = f"PINC00{number}"
        world.add_incident(Incident(incident_id, number, f"Incident {number}", status, "high", service,
                                    world.services[service].escalation_policy_id, created, created,
                                    f"key-{number}", assigned_user_ids=["PMIA001"],
                                    log_entries=[LogEntry(f"PLOG00{number}", "trigger_log_entry", created,
                                                          incident_id, summary="Triggered through the API")]))
    world.tokens.update({
        MANAGER_TOKEN: TokenGrant("PMIA001"),
        OBSERVER_TOKEN: TokenGrant("POLG001"),
        READONLY_TOKEN: TokenGrant("PMIA001", read_only=True),
        REVOKED_TOKEN: TokenGrant("PROB001", revoked=True),
        RESTRICTED_TOKEN: TokenGrant("PRIT001"),
    })
    return world
