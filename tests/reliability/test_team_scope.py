"""Issue 10, items 3 and 10: through alex nobody reads or changes more than their own PagerDuty role and
teams allow, even when every request uses one shared token (the production set-up), and people of other
Slack workspaces are refused.

Black box: signed requests through Bolt's dispatch, the fake Slack, and the demo sandbox behind the
production backend (``PagerDutyBackend.from_settings`` with the Manager's token for everyone).
Riley Walsh is Restricted Access, a Responder on the Mobile team only (mobile-push).
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest
from pydantic import SecretStr
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.config import Settings
from bot.pagerduty import PagerDutyClient
from bot.sandbox import Sandbox
from bot.slack.app import build_app
from bot.slack.serve import build_runtime, slack_client
from tests.fakes.fake_slack import TEAM_ID, FakeSlack
from tests.fakes.scripted_llm import ScriptedModel, call, calls, say
from tests.helpers import sandbox_transport
from tests.slack.conftest import (
    AISHA,
    GENERAL,
    SECRET,
    VISITOR,
    SlackFactory,
    SlackHarness,
    block_actions,
    buttons,
    event_callback,
    incident,
    message_text,
    signed,
)

RILEY = "U0RILEY"
RILEY_EMAIL = "riley.walsh@acme-payments.example"
RILEY_TOKEN = "sandbox-restricted-token"


async def as_riley(make_slack: SlackFactory, model: ScriptedModel | None = None) -> SlackHarness:
    slack = await make_slack(model, shared_token=True)
    slack.fake.add_user(RILEY, email=RILEY_EMAIL, tz="Australia/Sydney", name="Riley Walsh")
    return slack


def writes(demo: Sandbox) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in demo.requests if r.method != "GET"]


def open_number(demo: Sandbox, service: str) -> int:
    ids = {s.id for s in demo.world.services.values() if s.name == service}
    return min(i.number for i in demo.world.incidents.values() if i.is_open and i.service_id in ids)


async def test_3_a_restricted_user_cannot_resolve_another_teams_incident(make_slack: SlackFactory,
                                                                         demo: Sandbox) -> None:
    slack = await as_riley(make_slack)
    number = open_number(demo, "payments-api")
    await slack.mention(f"resolve {number}", user=RILEY)
    reply = await slack.reply()
    assert writes(demo) == []
    assert incident(demo, number).status != "resolved"
    assert "find" in message_text(reply).lower() or "not allowed" in message_text(reply).lower()


async def test_3_a_restricted_user_cannot_note_another_teams_incident(make_slack: SlackFactory,
                                                                      demo: Sandbox) -> None:
    slack = await as_riley(make_slack)
    number = open_number(demo, "data-pipeline")
    notes_before = len(incident(demo, number).notes)
    await slack.mention(f"note {number} checked the dashboards", user=RILEY)
    await slack.reply()
    assert writes(demo) == []
    assert len(incident(demo, number).notes) == notes_before


async def test_3_a_restricted_user_acts_on_their_own_teams_incident_as_themselves(make_slack: SlackFactory,
                                                                                  demo: Sandbox) -> None:
    slack = await as_riley(make_slack)
    number = next(i.number for i in demo.world.incidents.values()
                  if i.status == "triggered" and demo.world.services[i.service_id].name == "mobile-push")
    await slack.mention(f"ack {number}", user=RILEY)
    await slack.reply()
    assert [(r.method, r.from_email) for r in demo.requests if r.method != "GET"] == [("PUT", RILEY_EMAIL)]
    assert incident(demo, number).status == "acknowledged"


async def test_3_reads_are_scoped_like_the_persons_own_token(make_slack: SlackFactory, demo: Sandbox) -> None:
    """Riley's incident list through alex (shared Manager token) is exactly what Riley's own PagerDuty
    token lists; another team's incident is "not found"."""
    slack = await as_riley(make_slack)
    await slack.mention("incidents", user=RILEY)
    shown = message_text(await slack.reply())
    async with PagerDutyClient(RILEY_TOKEN, transport=sandbox_transport(demo)) as own:
        mine = (await own.fetch("/incidents", "incidents", {"statuses[]": ["triggered", "acknowledged"]})).items
    assert mine, "the dataset gives Riley open incidents"
    for item in mine:
        assert f"#{item['incident_number']}" in shown
    others = [i.number for i in demo.world.incidents.values()
              if i.is_open and demo.world.services[i.service_id].name != "mobile-push"]
    assert not any(f"#{n}" in shown for n in others), "no other team's incident is listed"

    await slack.mention(f"incident {open_number(demo, 'payments-api')}", user=RILEY)
    refused = message_text(await slack.reply(2))
    assert f"no incident {open_number(demo, 'payments-api')}" in refused.lower()
    await slack.mention("services", user=RILEY)
    services = message_text(await slack.reply(3))
    assert "mobile-push" in services and "payments-api" not in services


async def test_3_a_model_proposal_for_another_team_is_never_offered(make_slack: SlackFactory,
                                                                    demo: Sandbox) -> None:
    number = open_number(demo, "payments-api")
    model = ScriptedModel([calls(call("resolve_incidents", {"incidents": [str(number)], "resolution_note": None})),
                           say("Could not prepare that.")])
    slack = await as_riley(make_slack, model)
    await slack.mention(f"resolve {number} for me, it is fixed now!", user=RILEY)
    reply = await slack.reply()
    assert buttons(reply, "proposal_confirm") == []
    assert writes(demo) == []


async def test_3_an_unscoped_responder_keeps_account_wide_access(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack(shared_token=True)
    number = open_number(demo, "payments-api")
    await slack.mention(f"ack {number}", user=AISHA)
    await slack.reply()
    assert [r.method for r in demo.requests if r.method != "GET"] == ["PUT"]
    assert incident(demo, number).status == "acknowledged"


# -- item 10: guests and other workspaces -----------------------------------------------------------

async def test_10_people_of_another_slack_workspace_are_refused(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    event = {"type": "app_mention", "user": "U0GUEST", "user_team": "T0OTHERORG", "team": "T0OTHERORG",
             "text": "<@UALEX> incidents", "ts": slack.ts(), "channel": GENERAL}
    event["event_ts"] = event["ts"]
    response = await slack.event(event)
    assert response.status == 200
    reply = await slack.reply()
    assert "other organisations" in message_text(reply)
    assert list(demo.requests) == [], "nothing is read from PagerDuty for them"
    assert slack.fake.of("users.info") == []


async def test_10_a_click_from_another_workspace_writes_nothing(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    number = open_number(demo, "platform-engineering")
    payload = block_actions("incident_ack", incident(demo, number).id, user="U0GUEST", message=None)
    payload["user"]["team_id"] = "T0OTHERORG"
    response = await slack.send("payload=" + quote(json.dumps(payload)),
                                content_type="application/x-www-form-urlencoded")
    assert response.status == 200
    notice = await slack.ephemeral()
    assert "other organisations" in message_text(notice)
    assert writes(demo) == []


async def test_10_people_without_a_pagerduty_account_are_refused_by_default(
        fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    """`alex serve --sandbox` with default settings: a Slack user with no PagerDuty account reads nothing."""
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ALEX_ALLOW_UNMAPPED_READS"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None).model_copy(update={  # type: ignore[call-arg]
        "slack_bot_token": SecretStr("xoxb-1"), "slack_api_url": fake_slack.api_url})
    rt = build_runtime(settings, slack_client(settings), sandbox=True)
    try:
        app = build_app(rt, client=slack_client(settings), signing_secret=SECRET)
        box = rt.backend.sandbox
        assert box is not None
        event = {"type": "app_mention", "user": VISITOR, "team": TEAM_ID, "text": "<@UALEXBOT> incidents",
                 "ts": "1773151200.000100", "channel": GENERAL}
        raw = json.dumps(event_callback(event, "Ev-unmapped"))
        response = await app.async_dispatch(AsyncBoltRequest(body=raw, headers=signed(raw)))
        assert response.status == 200
        [reply] = await fake_slack.wait_for("chat.postMessage", 1)
        assert "PagerDuty account" in message_text(reply)
        assert [r.path for r in box.requests] == ["/users"], "only the look-up of who they are"
    finally:
        await rt.aclose()


async def test_3_on_call_and_schedules_are_scoped_too(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await as_riley(make_slack)
    await slack.mention("oncall", user=RILEY)
    shown = message_text(await slack.reply())
    assert "Mobile" in shown and "Payments" not in shown and "Platform" not in shown
    await slack.mention("schedule Platform Primary", user=RILEY)
    assert "No schedule named 'Platform Primary'" in message_text(await slack.reply(2))
    await slack.mention("oncall payments-api", user=RILEY)
    assert "is visible to this user" in message_text(await slack.reply(3))
    await slack.mention("override Platform Primary me tomorrow", user=RILEY)
    await slack.reply(4)
    assert writes(demo) == [], "no override on another team's schedule"


async def test_3_riley_may_cover_their_own_teams_schedule(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await as_riley(make_slack)
    await slack.mention("override Mobile Primary me tomorrow", user=RILEY)
    await slack.reply()
    assert [m for m, _ in writes(demo)] == ["POST"]
