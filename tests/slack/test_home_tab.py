"""The Home tab: each person's on-call, open incidents (Acknowledge / Resolve in the tab) and their teams'
coverage gaps, published with views.publish, cached briefly, refreshed on request. Through Bolt's dispatch
with signed requests, the fake Slack Web API and the demo sandbox; every published view is checked against
the Block Kit schema's ``home_view``."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from slack_sdk.web.async_client import AsyncWebClient

from bot.present.home import HOME_ACK_ACTION, HOME_RESOLVE_ACTION, MAX_VIEW_BLOCKS, REFRESH_ACTION
from bot.present.incidents import ACK_ACTION, MORE_ACTION, RESOLVE_ACTION
from bot.sandbox import Sandbox
from bot.sandbox.faults import Fault
from bot.slack.home_tab import GAPS_WINDOW, NO_TEAMS, HomeTab
from tests.fakes.fake_slack import TEAM_ID
from tests.slack import blockkit
from tests.slack.conftest import (
    AISHA,
    DM_SAM,
    MANAGER_EMAIL,
    OLIVIA,
    SAM,
    VISITOR,
    SlackFactory,
    SlackHarness,
    incident,
    triggered_number,
)
from tests.specs import BLOCK_KIT, missing

REPO = Path(__file__).resolve().parents[2]


# -- helpers ----------------------------------------------------------------------------------------

@functools.cache
def _home_validator(path: str) -> Draft202012Validator:
    schema = json.loads(Path(path).read_text(encoding="utf-8"))
    return Draft202012Validator({"$defs": schema["$defs"], "$ref": "#/$defs/home_view"},
                                format_checker=FormatChecker())


def view_problems(view: dict[str, Any]) -> list[str]:
    """Our message rules (links, broadcasts, sizes; a view may hold 100 blocks, not 50), then the schema's
    ``home_view`` (the test skips, with a message, where the schema file is absent)."""
    blocks = view.get("blocks") or []
    problems = [p for p in blockkit.message_problems(blocks) if not p.endswith(f"(max {blockkit.MAX_BLOCKS})")]
    if len(blocks) > MAX_VIEW_BLOCKS:
        problems.append(f"{len(blocks)} blocks (max {MAX_VIEW_BLOCKS})")
    path = blockkit.schema_path()
    if path is None:
        missing(BLOCK_KIT)
    errors = sorted(_home_validator(str(path)).iter_errors(view), key=lambda e: list(e.absolute_path))
    return problems + [f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in errors]


def opened(slack: SlackHarness, user: str = SAM, *, tab: str = "home", seen: bool = False) -> dict[str, Any]:
    """An ``app_home_opened`` event (``seen``: Slack already shows the person a view of ours)."""
    event: dict[str, Any] = {"type": "app_home_opened", "user": user, "channel": DM_SAM, "tab": tab,
                             "event_ts": slack.ts()}
    if seen:
        event["view"] = {"id": "VHOME000001", "team_id": TEAM_ID, "type": "home", "blocks": [],
                         "callback_id": "alex_home", "hash": "1773151200.000001"}
    return event


async def open_home(slack: SlackHarness, user: str = SAM, *, seen: bool = False) -> None:
    response = await slack.event(opened(slack, user, seen=seen))
    assert response.status == 200, response.body


async def published(slack: SlackHarness, count: int = 1) -> dict[str, Any]:
    """The ``count``-th published Home view (waits for it), checked."""
    call = await slack.nth("views.publish", count)
    view: dict[str, Any] = call.args["view"]
    problems = view_problems(view)
    assert not problems, f"invalid Home view: {problems}"
    return view


async def click(slack: SlackHarness, action_id: str, value: str, *, user: str = SAM) -> None:
    """A click in the Home tab: the container is the view (no channel, no message)."""
    payload = {"type": "block_actions", "user": {"id": user, "username": user.lower(), "team_id": TEAM_ID},
               "api_app_id": "A0ALEX", "token": "legacy-token", "trigger_id": "1.2.3",
               "container": {"type": "view", "view_id": "VHOME000001"}, "team": {"id": TEAM_ID, "domain": "acme"},
               "view": {"id": "VHOME000001", "team_id": TEAM_ID, "type": "home", "blocks": [],
                        "callback_id": "alex_home", "hash": "1773151200.000001", "state": {"values": {}}},
               "actions": [{"action_id": action_id, "block_id": "b1", "value": value, "type": "button",
                            "text": {"type": "plain_text", "text": "x"}, "action_ts": "1773151300.000001"}]}
    response = await slack.send("payload=" + quote(json.dumps(payload)),
                                content_type="application/x-www-form-urlencoded")
    assert response.status == 200, response.body


def text_of(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def action_ids(view: dict[str, Any]) -> list[str]:
    found: list[str] = []
    for block in view["blocks"]:
        elements = list(block.get("elements") or []) + ([block["accessory"]] if block.get("accessory") else [])
        found += [str(e["action_id"]) for e in elements if isinstance(e, dict) and e.get("action_id")]
    return found


def values(view: dict[str, Any], action_id: str) -> list[str]:
    return [str(e.get("value")) for b in view["blocks"] for e in b.get("elements") or []
            if isinstance(e, dict) and e.get("action_id") == action_id]


def pd_id(sandbox: Sandbox, email: str) -> str:
    return next(u.id for u in sandbox.world.users.values() if u.email.lower() == email.lower())


# -- the view ---------------------------------------------------------------------------------------

async def test_opening_the_home_tab_publishes_the_persons_on_call_incidents_and_gaps(
        make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    await open_home(slack)
    view = await published(slack)
    call = slack.fake.of("views.publish")[0]
    assert call.args["user_id"] == SAM and view["type"] == "home"
    said = text_of(view)
    assert "Sam Rivera" in said and "Your on-call" in said and "You are not on call now" in said
    assert "Next: Platform Engineering level 1" in said, "now and next"
    assert "open incident assigned to you" in said and "#1232" in said
    assert f"Your teams' coverage gaps, {GAPS_WINDOW}" in said and "Platform Secondary" in said
    assert "has 1 coverage gap" in said, "the gaps of the schedules of Sam's team"
    mine = [r for r in demo.requests if r.path == "/incidents"]
    assert mine and all(r.query.get("user_ids[]") == [pd_id(demo, MANAGER_EMAIL)] for r in mine), "as Sam"
    assert slack.writes() == [] and slack.fake.of("chat.postMessage") == []
    assert slack.fake.home_views[SAM] == view


async def test_incident_cards_in_the_tab_act_from_the_tab(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    await open_home(slack)
    view = await published(slack)
    ids = action_ids(view)
    assert HOME_RESOLVE_ACTION in ids and REFRESH_ACTION in ids
    assert not {ACK_ACTION, RESOLVE_ACTION, MORE_ACTION} & set(ids), "card actions that answer in a message"
    assert values(view, HOME_RESOLVE_ACTION) == [incident(demo, 1232).id]


async def test_each_person_sees_their_own_home(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    await open_home(slack, AISHA)
    await open_home(slack, OLIVIA)
    await slack.fake.wait_for("views.publish", 2)
    await slack.settle()
    for user in (AISHA, OLIVIA):
        problems = view_problems(slack.fake.home_views[user])
        assert not problems, problems
    assert "Aisha Khan" in text_of(slack.fake.home_views[AISHA])
    assert "Olivia Observer" in text_of(slack.fake.home_views[OLIVIA])
    assert SAM not in slack.fake.home_views


async def test_the_messages_tab_gets_no_home_view(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    await slack.event(opened(slack, tab="messages"))
    await slack.fake.wait_for("assistant.threads.setSuggestedPrompts")
    await slack.settle()
    assert slack.fake.of("views.publish") == []
    await open_home(slack)
    await published(slack)
    assert len(slack.fake.of("assistant.threads.setSuggestedPrompts")) == 1, "the Home tab pins nothing"


async def test_someone_without_a_pagerduty_account_is_told_how_to_fix_it(make_slack: SlackFactory,
                                                                          demo: Sandbox) -> None:
    slack = await make_slack()
    await open_home(slack, VISITOR)
    view = await published(slack)
    said = text_of(view)
    assert "could not find a PagerDuty account" in said and "visitor@elsewhere.example" in said
    assert "Ask a PagerDuty admin to add you" in said and REFRESH_ACTION in action_ids(view)
    assert {r.path for r in demo.requests} <= {"/users"}, "only the e-mail look-up: nothing of theirs is read"


async def test_pagerduty_errors_show_in_their_section(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    demo.faults.add(Fault(path="/incidents", status=500))
    await open_home(slack)
    view = await published(slack)
    said = text_of(view)
    assert ":warning: PagerDuty failed" in said and "What to do" in said
    assert "You are not on call now" in said and "Platform Secondary" in said, "the other sections still show"


async def test_a_person_on_no_team_is_told_so(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    sam = pd_id(demo, MANAGER_EMAIL)
    for team in demo.world.teams.values():
        team.members.pop(sam, None)
    await open_home(slack)
    assert NO_TEAMS in text_of(await published(slack))


async def test_a_view_slack_rejects_is_replaced_by_a_short_one(make_slack: SlackFactory) -> None:
    slack = await make_slack()
    slack.fake.fail("views.publish", "invalid_blocks")
    await open_home(slack)
    await slack.fake.wait_for("views.publish", 2)
    await slack.settle()
    short = slack.fake.of("views.publish")[1].args["view"]
    assert "Slack could not show your Home tab just now (invalid_blocks)" in text_of(short)
    assert REFRESH_ACTION in action_ids(short) and not view_problems(short)
    await open_home(slack, seen=True)
    await slack.fake.wait_for("views.publish", 3)  # nothing was published: not cached


# -- cache and refresh ------------------------------------------------------------------------------

async def test_opening_again_soon_reads_and_publishes_nothing(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    await open_home(slack)
    await published(slack)
    reads = len(demo.requests)
    await open_home(slack, seen=True)
    await slack.settle()
    assert len(slack.fake.of("views.publish")) == 1 and len(demo.requests) == reads
    await open_home(slack, seen=False)  # Slack shows nothing of ours (another workspace session, a reset)
    await published(slack, 2)


async def test_refresh_reads_pagerduty_again(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    await click(slack, REFRESH_ACTION, "refresh")
    await published(slack)
    reads = len(demo.requests)
    await click(slack, REFRESH_ACTION, "refresh")  # a second later: the same data, nothing read
    await slack.settle()
    assert len(slack.fake.of("views.publish")) == 1 and len(demo.requests) == reads


async def test_the_cache_expires_refresh_bypasses_it_and_it_stays_bounded(make_slack: SlackFactory,
                                                                        demo: Sandbox) -> None:
    slack = await make_slack()
    now = [1_000.0]
    tab = HomeTab(slack.rt, ttl_s=60.0, max_cached=2, clock=lambda: now[0])
    client = AsyncWebClient(token="xoxb-test-token", base_url=slack.fake.api_url)
    await tab.opened(client, opened(slack, SAM))
    now[0] += 10
    await tab.opened(client, opened(slack, SAM, seen=True))
    assert len(slack.fake.of("views.publish")) == 1, "cached"
    reads = len(demo.requests)
    await tab.refresh(client, SAM)
    assert len(slack.fake.of("views.publish")) == 2 and len(demo.requests) > reads, "Refresh reads again"
    now[0] += 61
    await tab.opened(client, opened(slack, SAM, seen=True))
    assert len(slack.fake.of("views.publish")) == 3, "expired"
    await tab.opened(client, opened(slack, AISHA))
    await tab.opened(client, opened(slack, OLIVIA))  # Sam, the oldest, is forgotten
    await tab.opened(client, opened(slack, SAM, seen=True))
    assert [c.args["user_id"] for c in slack.fake.of("views.publish")] == [SAM, SAM, SAM, AISHA, OLIVIA, SAM]


async def test_when_pagerduty_cannot_say_who_someone_is_the_tab_says_so(make_slack: SlackFactory,
                                                                        demo: Sandbox) -> None:
    slack = await make_slack()
    demo.faults.add(Fault(path="/users", status=500))
    await open_home(slack)
    view = await published(slack)
    assert "alex could not look you up in PagerDuty" in text_of(view) and REFRESH_ACTION in action_ids(view)


# -- Acknowledge / Resolve in the tab ---------------------------------------------------------------

async def test_resolve_in_the_tab_acts_as_the_clicker_and_shows_the_outcome(make_slack: SlackFactory,
                                                                           demo: Sandbox) -> None:
    slack = await make_slack()
    target = incident(demo, 1232)
    await click(slack, HOME_RESOLVE_ACTION, target.id)
    view = await published(slack)
    assert slack.writes() == [("PUT", "/incidents", MANAGER_EMAIL)]
    assert target.status == "resolved"
    said = text_of(view)
    on_top = said.split("Your on-call")[0]
    assert "Done as Sam Rivera: resolve #1232" in on_top and "<@U0SAM>" in on_top, "the outcome on top"
    assert "No open incidents assigned to you" in said, "read again after the change"
    entries = await slack.rt.state.recent()
    assert any(e.via == "home_tab" and e.confirmed_by == SAM and e.outcome == "ok" for e in entries)
    assert slack.fake.of("chat.postMessage") == [] and slack.fake.of("chat.postEphemeral") == []


async def test_acknowledge_in_the_tab(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    target = incident(demo, triggered_number(demo))
    await click(slack, HOME_ACK_ACTION, target.id, user=AISHA)
    await published(slack)
    assert target.status == "acknowledged"
    assert slack.writes() == [("PUT", "/incidents", "aisha.khan@acme-payments.example")]


async def test_an_observer_is_refused_in_the_tab(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    target = incident(demo, triggered_number(demo))
    await click(slack, HOME_ACK_ACTION, target.id, user=OLIVIA)
    view = await published(slack)
    assert slack.writes() == [] and target.status == "triggered"
    assert "has the observer role in PagerDuty, which can't acknowledge" in text_of(view)
    entries = await slack.rt.state.recent()
    assert any(e.via == "home_tab" and e.outcome == "refused" for e in entries)


async def test_a_double_click_in_the_tab_writes_once(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    target = incident(demo, triggered_number(demo))
    await click(slack, HOME_ACK_ACTION, target.id)
    await click(slack, HOME_ACK_ACTION, target.id)
    await published(slack)
    await slack.settle()
    assert slack.writes() == [("PUT", "/incidents", MANAGER_EMAIL)]
    assert len(slack.fake.of("views.publish")) == 1


async def test_someone_without_an_account_cannot_act_from_the_tab(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    await click(slack, HOME_ACK_ACTION, incident(demo, triggered_number(demo)).id, user=VISITOR)
    view = await published(slack)
    assert slack.writes() == [] and "no PagerDuty account" in text_of(view)


# -- the manifest -----------------------------------------------------------------------------------

def test_the_manifest_enables_the_home_tab() -> None:
    manifest = yaml.safe_load((REPO / "manifest.yml").read_text(encoding="utf-8"))
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]
