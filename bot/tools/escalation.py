"""``get_escalation_policy``: a policy's levels, delays, loops and targets, who is on call at each
level now, optionally how each of them gets notified (masked), and which services use it.

A ``policy`` that names no escalation policy but a service ("payments-api") is that service's policy,
and the result says so (``service``, ``note``).

Requests: the policy (or the service with its policy embedded), one ``/oncalls`` call, and with
``notification_rules`` one ``/users/{id}/notification_rules`` per on-call person, concurrently.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from pydantic import Field

from bot.analysis.oncall import group_levels, parse_oncalls
from bot.tools.base import DEFAULT_LIST, Tool, ToolArgs, ToolContext, ToolResult
from bot.tools.errors import ToolError
from bot.tools.oncall import fetch_oncalls, policy_of_service
from bot.tools.resolve import resolve_policy, resolve_service
from bot.tools.results import in_zone
from bot.tools.results.escalation import EscalationLevel, EscalationPolicy, NotificationRules, OnCallNow

MAX_PEOPLE_RULES = 10
"""Notification rules are fetched for at most this many on-call people."""

_CHANNEL = {"push_notification_contact_method": "push", "sms_contact_method": "SMS",
            "phone_contact_method": "phone call", "email_contact_method": "email"}
_DIGITS = re.compile(r"\+?\d[\d\s().-]{3,}\d")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+")


class GetEscalationPolicy(ToolArgs):
    """An escalation policy (or a service's): levels, delays, loops, targets, who is on call per level
    now, services; optionally their notification rules. repeats_after_last_level: extra passes (2 = 3 in
    all). For a window use who_is_on_call."""

    policy: str | None = Field(description="Policy name.")
    service: str | None = Field(description="Or a service name.")
    notification_rules: bool | None = Field(description="Add on-call people's notification rules.")


def mask(label: str) -> str:
    """A contact label without phone numbers or e-mail addresses (labels are free text)."""
    return _EMAIL.sub("***", _DIGITS.sub("***", label)).strip()


def rule_json(rule: dict[str, Any]) -> str:
    """``"5 min: SMS (Mobile)"``: delay, channel and label only; never the address or number."""
    method = rule.get("contact_method") or {}
    kind = str(method.get("type", "")).removesuffix("_reference")
    channel = _CHANNEL.get(kind, kind.removesuffix("_contact_method").replace("_", " ") or "contact")
    label = mask(str(method.get("label") or method.get("summary") or ""))
    delay = rule.get("start_delay_in_minutes", 0)
    return f"{delay} min: {channel}" + (f" ({label})" if label else "")


async def _rules_of(ctx: ToolContext, user_id: str) -> dict[str, list[str]]:
    body = await ctx.client.get(f"/users/{user_id}/notification_rules",
                                {"urgency": "all", "include[]": ["contact_methods"]}, deadline=ctx.deadline)
    rules = sorted(body.get("notification_rules") or [], key=lambda r: r.get("start_delay_in_minutes", 0))
    by_urgency: dict[str, list[str]] = {}
    for rule in rules:
        by_urgency.setdefault(str(rule.get("urgency", "high")), []).append(rule_json(rule))
    return by_urgency


def _targets(rule: dict[str, Any]) -> list[str]:
    named: list[str] = []
    for target in rule.get("targets") or []:
        kind = str(target.get("type", ""))
        name = target.get("summary") or target.get("name") or target.get("id")
        named.append(f"{'schedule' if 'schedule' in kind else 'user'}: {name}")
    return named


async def _policy_or_services(ctx: ToolContext, name: str) -> tuple[dict[str, Any], str | None]:
    """The policy named ``name``, else the policy of the service named ``name`` (and that service's
    name); when neither exists, the policy lookup's error (with the closest policy names)."""
    try:
        return await resolve_policy(ctx, name), None
    except ToolError as no_policy:
        try:
            service = await resolve_service(ctx, name, with_policy=True)
        except ToolError:
            raise no_policy from None
    return await policy_of_service(ctx, service), str(service.get("name") or name)


async def get_escalation_policy(args: GetEscalationPolicy, ctx: ToolContext) -> ToolResult[EscalationPolicy]:
    note = None
    if args.policy and args.policy.strip():
        policy, via = await _policy_or_services(ctx, args.policy)
        if via:
            note = f"No escalation policy is named {args.policy.strip()!r}; {via} is a service, and this is its policy."
    elif args.service and args.service.strip():
        service = await resolve_service(ctx, args.service, with_policy=True)
        policy = await policy_of_service(ctx, service)
        via = service.get("name")
    else:
        raise ToolError("Name an escalation policy or a service.", "Ask the user which one they mean.")
    page = await fetch_oncalls(ctx, {"escalation_policy_ids[]": [policy["id"]]}, ctx.now, ctx.now)
    rules = list(policy.get("escalation_rules") or [])
    grouped = group_levels(parse_oncalls(page.items), {str(policy["id"]): len(rules)})
    levels_now = {level.level: level.entries for group in grouped for level in group.levels}

    levels: list[EscalationLevel] = []
    nobody: list[int] = []
    for number, rule in enumerate(rules, start=1):
        entries = levels_now.get(number, ())
        if not entries:
            nobody.append(number)
        levels.append(EscalationLevel(
            level=number, escalates_after_min=rule.get("escalation_delay_in_minutes"), targets=_targets(rule),
            on_call_now=[OnCallNow(name=e.user_name, schedule=e.schedule_name, also_via=list(e.also_via),
                                   end=in_zone(e.end, ctx.tz), permanent=e.permanent) for e in entries]))
    services = [str(s.get("summary") or s.get("name")) for s in policy.get("services") or []]
    notification: NotificationRules | None = None
    if args.notification_rules:
        people: dict[str, str] = {}
        for group in grouped:
            for level in group.levels:
                for entry in level.entries:
                    people.setdefault(entry.user_id, entry.user_name)
        chosen = list(people.items())[:MAX_PEOPLE_RULES]
        found = await asyncio.gather(*(_rules_of(ctx, user_id) for user_id, _ in chosen))
        notification = {name: rules_of for (_, name), rules_of in zip(chosen, found, strict=True)}
    loops = policy.get("num_loops") or 0
    value = EscalationPolicy(
        policy=policy.get("name"), url=policy.get("html_url"), service=via or None, note=note,
        repeats_after_last_level=loops, passes_in_all=loops + 1,
        teams=[str(t.get("summary") or t.get("name")) for t in policy.get("teams") or []], time_zone=ctx.tz.key,
        levels=levels, services=services[:DEFAULT_LIST], more_services=max(len(services) - DEFAULT_LIST, 0),
        nobody_on_call_at_levels=nobody, notification_rules=notification,
        notification_note=(None if notification is None
                           else "Delay after being paged, channel and label; addresses are not shown."))
    return ToolResult.ok(value, partial=page.more)


TOOLS: list[Tool[Any]] = [Tool("get_escalation_policy", GetEscalationPolicy, get_escalation_policy, "read",
                               result=EscalationPolicy)]
