"""Issue 10, items 1, 2 and 12: a Confirm runs exactly what the card showed, whoever clicks it, and a
war-room "resolve it" names the right incident and waits for a click.

Black box: signed requests through Bolt's dispatch, the fake Slack, the demo sandbox, a scripted model.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.sandbox import Sandbox
from bot.store import StateUnavailable
from tests.fakes.scripted_llm import ScriptedModel, call, calls, say
from tests.slack.conftest import (
    AISHA,
    GENERAL,
    RESPONDER_EMAIL,
    SlackFactory,
    buttons,
    incident,
    message_text,
)

EMMA = "U0EMMA"
EMMA_EMAIL = "emma.clarke@acme-payments.example"
APPROVERS = "S0APPROVERS"


def user_id(sandbox: Sandbox, email: str) -> str:
    return next(u.id for u in sandbox.world.users.values() if u.email == email)


async def test_1_an_approvers_confirm_runs_the_change_the_card_showed(make_slack: SlackFactory,
                                                                      demo: Sandbox) -> None:
    """Aisha asks for "me"/"tomorrow"; Emma (an approver) confirms: Aisha goes on call and gets #1252,
    and the writes are sent as Emma (From), who confirmed."""
    model = ScriptedModel([
        calls(call("create_override", {"schedule": "Platform Primary", "user": "me", "start": None, "end": None,
                                       "window": "tomorrow"}),
              call("reassign_incident", {"incident": "1252", "to_user": "me", "escalation_level": None})),
        say("Prepared both: confirm below."),
    ])
    slack = await make_slack(model, approver_group=APPROVERS)
    slack.fake.add_user(EMMA, email=EMMA_EMAIL, tz="Asia/Tokyo", name="Emma Clarke")
    slack.fake.add_usergroup(APPROVERS, [EMMA])
    await slack.mention("put me on call tomorrow and give me 1252", user=AISHA)
    card = await slack.reply()
    shown = message_text(card)
    assert "Aisha Khan" in shown and "Emma" not in shown
    ids = buttons(card, "proposal_confirm")
    assert len(ids) == 2, shown
    schedule = next(s for s in demo.world.schedules.values() if s.name == "Platform Primary")
    overrides_before = {o.id for o in schedule.overrides}

    for count, pid in enumerate(ids, start=1):
        await slack.click("proposal_confirm", pid, user=EMMA, message=card)
        await slack.updated(count)

    aisha, emma = user_id(demo, RESPONDER_EMAIL), user_id(demo, EMMA_EMAIL)
    created = [o for o in schedule.overrides if o.id not in overrides_before]
    assert [o.user_id for o in created] == [aisha], "the override puts Aisha on call, not the approver"
    assert incident(demo, 1252).assigned_user_ids == [aisha]
    # Aisha's "tomorrow" (London), not Emma's (Tokyo).
    london = ZoneInfo("Europe/London")
    tomorrow = datetime.combine(demo.now.astimezone(london).date() + timedelta(days=1), time(0), london)
    assert created[0].start == tomorrow
    froms = {r.from_email for r in demo.requests if r.method != "GET"}
    assert froms == {EMMA_EMAIL}, "executed as the person who clicked"
    assert emma not in incident(demo, 1252).assigned_user_ids


async def test_2_resolve_it_in_a_thread_targets_the_incident_not_a_runbook_step(make_slack: SlackFactory,
                                                                              demo: Sandbox) -> None:
    """Parent: "incident 1252 … see runbook step #1200"; "resolve it: rolled back" proposes #1252 and
    changes nothing until the click."""
    slack = await make_slack()
    parent = slack.ts()
    slack.fake.add_thread(GENERAL, parent, "incident 1252 auth-service health check; see runbook step #1200")
    await slack.mention("resolve it: rolled back", thread_ts=parent, user=AISHA)
    card = await slack.reply()
    shown = message_text(card)
    assert "#1252" in shown and "#1200" not in shown
    assert [r for r in demo.requests if r.method != "GET"] == [], "never immediate"
    assert incident(demo, 1200).status == "triggered" and incident(demo, 1252).status == "triggered"
    [pid] = buttons(card, "proposal_confirm")
    await slack.click("proposal_confirm", pid, user=AISHA, message=card)
    await slack.updated()
    assert incident(demo, 1252).status == "resolved"
    assert incident(demo, 1200).status == "triggered"


async def test_2_a_thread_naming_two_incidents_asks_which_one(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    parent = slack.ts()
    slack.fake.add_thread(GENERAL, parent, "incident 1252 and incident 1200 look related")
    await slack.mention("ack this", thread_ts=parent, user=AISHA)
    reply = await slack.reply()
    text = message_text(reply)
    assert "#1252" in text and "#1200" in text and "which" in text.lower()
    assert buttons(reply, "proposal_confirm") == []
    assert [r for r in demo.requests if r.method != "GET"] == []


async def test_2_the_war_room_channels_number_comes_first(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    slack.fake.add_channel("C0INC1252", "inc-1252-auth")
    parent = slack.ts()
    slack.fake.add_thread("C0INC1252", parent, "customer report mentions incident 1200")
    await slack.mention("ack it", channel="C0INC1252", thread_ts=parent, user=AISHA)
    card = await slack.reply()
    assert "#1252" in message_text(card)
    assert buttons(card, "proposal_confirm")
    assert [r for r in demo.requests if r.method != "GET"] == []


async def test_2_an_explicit_typed_command_still_runs_at_once(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    parent = slack.ts()
    slack.fake.add_thread(GENERAL, parent, "incident 1252 auth-service health check")
    await slack.mention("ack 1252", thread_ts=parent, user=AISHA)
    await slack.reply()
    assert incident(demo, 1252).status == "acknowledged"


class LockedProposals:
    """A proposal store whose every call fails as a locked SQLite file / a Redis outage does."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.locked = False

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self.inner, name)
        if not callable(attribute) or name == "aclose":
            return attribute

        async def call(*args: Any, **kwargs: Any) -> Any:
            if self.locked:
                raise StateUnavailable("the state store is locked")
            return await attribute(*args, **kwargs)
        return call


async def test_8_a_click_while_the_store_is_locked_says_try_again(make_slack: SlackFactory, demo: Sandbox) -> None:
    model = ScriptedModel([calls(call("acknowledge_incidents", {"incidents": ["1252"]})), say("Confirm below.")])
    slack = await make_slack(model)
    locked = LockedProposals(slack.rt.proposals)
    slack.rt.proposals = locked  # type: ignore[assignment]
    await slack.mention("ack 1252 for me, please!", user=AISHA)
    card = await slack.reply()
    [pid] = buttons(card, "proposal_confirm")
    locked.locked = True
    await slack.click("proposal_confirm", pid, user=AISHA, message=card)
    notice = await slack.ephemeral()
    assert "Try again" in message_text(notice)
    assert [r for r in demo.requests if r.method != "GET"] == []
    locked.locked = False
    await slack.click("proposal_confirm", pid, user=AISHA, message=card)
    await slack.updated()
    assert incident(demo, 1252).status == "acknowledged", "the proposal was still pending: the retry works"
