"""Presenters of get_escalation_policy: a policy's levels (targets, who is on call now, the delay), its
loops, teams and services, and how the people on call are notified, as Block Kit and as plain text."""

from __future__ import annotations

from bot.present import words
from bot.present.base import AnyPresenter, Presenter, nothing_blocks
from bot.present.kit.blocks import Block
from bot.present.kit.escape import link, untrusted
from bot.present.kit.limits import TAIL_CHARS, Room, note, pack
from bot.present.oncall import PLAIN, SLACK, person_line
from bot.tools.base import ToolResult
from bot.tools.escalation import GetEscalationPolicy
from bot.tools.results.escalation import EscalationLevel, EscalationPolicy

# --------------------------------------------------------------------------- Block Kit


def _head(policy: EscalationPolicy) -> str:
    head = f":rotating_light: *Escalation policy {link(policy.url, policy.policy)}*"
    facts = []
    if policy.service:
        facts.append(f"used by {untrusted(policy.service, 80)}")
    if policy.teams:
        facts.append("team " + ", ".join(untrusted(t, 60) for t in policy.teams[:5]))
    loops = policy.repeats_after_last_level
    if loops:
        facts.append(f"repeats {loops} time{'s' if loops != 1 else ''} after the last level")
    return head + (" · " + " · ".join(facts) if facts else "")


def _level_line(level: EscalationLevel) -> str:
    targets = ", ".join(untrusted(t, 80) for t in level.targets[:6]) or "nobody"
    people = "; ".join(person_line(p, SLACK, at_now=True) for p in level.on_call_now)
    delay = level.escalates_after_min
    return (f"*Level {untrusted(level.level, 4)}* → {targets}\n    on call now: {people or 'nobody'}"
            + (f" · escalates after {untrusted(delay, 6)} min" if delay is not None else ""))


def policy_blocks(result: ToolResult[EscalationPolicy], args: GetEscalationPolicy, room: Room) -> list[Block]:
    policy = result.value
    if result.status == "no_data" or policy is None:
        return nothing_blocks(result, room)
    out = pack(room, _head(policy), [_level_line(level) for level in policy.levels], url=policy.url,
               what="more levels", keep_chars=TAIL_CHARS)
    if not out:
        return out
    if policy.notification_rules:
        rule_lines = []
        for name, by_urgency in policy.notification_rules.items():
            parts = [f"{untrusted(urgency, 10)}: " + "; ".join(untrusted(r, 80) for r in steps[:6])
                     for urgency, steps in by_urgency.items()]
            rule_lines.append(f"• *{untrusted(name, 60)}*: " + (" · ".join(parts) or "no rules"))
        out += pack(room, "*How they are notified*", rule_lines, keep_chars=TAIL_CHARS)
        if policy.notification_note:
            out += note(room, untrusted(policy.notification_note, 200))
    extra = []
    if policy.nobody_on_call_at_levels:
        extra.append(":warning: Nobody is on call now at level "
                     + ", ".join(str(n) for n in policy.nobody_on_call_at_levels))
    services = [untrusted(s, 60) for s in policy.services[:20]]
    if services:
        more = policy.more_services
        extra.append("Services: " + ", ".join(services) + (f" and {more} more" if more else ""))
    out += note(room, *extra)
    return out


# --------------------------------------------------------------------------- plain text


def policy_text(result: ToolResult[EscalationPolicy], args: GetEscalationPolicy) -> list[str]:
    policy = result.value
    if result.status == "no_data" or policy is None:
        return [result.error or "Nothing found."]
    head = f"Escalation policy {policy.policy}"
    if policy.teams:
        head += f" (team {', '.join(policy.teams)})"
    if policy.service:  # asked by the service's name
        head += f", the policy of the service {policy.service}"
    lines = [head + ":"]
    for level in policy.levels:
        people = "; ".join(person_line(p, PLAIN, at_now=True) for p in level.on_call_now)
        lines.append(f"{words.BULLET}Level {level.level}: {', '.join(level.targets) or 'nobody'}; "
                     f"on call now: {people or 'nobody'}; escalates after {level.escalates_after_min} min")
    loops = policy.repeats_after_last_level
    if loops:
        lines.append(f"After the last level it starts again ({words.plural(loops, 'time')}).")
    if policy.nobody_on_call_at_levels:
        lines.append("Nobody is on call now at level "
                     + words.join_and([str(n) for n in policy.nobody_on_call_at_levels]) + ".")
    if policy.services:
        lines.append("Services: " + ", ".join(policy.services)
                     + (f" and {policy.more_services} more" if policy.more_services else "") + ".")
    if policy.url:
        lines.append(policy.url)
    return lines


PRESENTERS: tuple[AnyPresenter, ...] = (
    Presenter(result=EscalationPolicy, args=GetEscalationPolicy, blocks=policy_blocks, text=policy_text),
)
