"""Incident cards' actions through Bolt's dispatch: the menu's modals (reassign or escalate, add responders,
add a note, priority and urgency) and the View in PagerDuty link; each change is made as the person who
submitted, within their PagerDuty role, audited, and the card is drawn again from the incident's fresh state
(Ack/Resolve too). The new write tools also work from the model, through a proposal card.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from jsonschema import Draft202012Validator

from bot.present.incidents import MORE_ACTION, VIEW_ACTION
from bot.sandbox import Sandbox
from bot.slack.modals import CALLBACK
from bot.slack.runtime import SlackRuntime
from bot.tools.incident_actions import MAX_TEXT
from tests.fakes.fake_slack import SlackCall
from tests.fakes.scripted_llm import ScriptedModel, call, calls, say
from tests.slack import blockkit
from tests.slack.conftest import (
    AISHA,
    BEN,
    GENERAL,
    MANAGER_EMAIL,
    OLIVIA,
    RESPONDER_EMAIL,
    SAM,
    VISITOR,
    SlackFactory,
    SlackHarness,
    block_actions,
    blocks_of,
    buttons,
    incident,
    message_text,
)
from tests.specs import BLOCK_KIT, missing

TRIGGERED = 1235
"""Triggered on platform-engineering, P2, high urgency, level 1 of Platform Engineering (Ben Carter)."""
ACKNOWLEDGED = 1204
"""Acknowledged on platform-engineering, P3, high urgency (Emma Clarke)."""


# -- helpers ----------------------------------------------------------------------------------------

async def listing(slack: SlackHarness) -> SlackCall:
    await slack.mention("incidents platform-engineering")
    return await slack.reply()


def card_elements(message: SlackCall, incident_id: str) -> list[dict[str, Any]]:
    block = next(b for b in blocks_of(message) if str(b.get("block_id", "")).split("~")[0] == f"incident:{incident_id}")
    return list(block["elements"])


async def choose(slack: SlackHarness, message: SlackCall, action: str, incident_id: str, *,
                 user: str) -> dict[str, Any]:
    """Pick ``action`` in the card's menu; returns the form the modal shows once it is read."""
    payload = block_actions(MORE_ACTION, "", user=user, message=message)
    payload["actions"] = [{"action_id": MORE_ACTION, "block_id": f"incident:{incident_id}", "type": "overflow",
                           "selected_option": {"text": {"type": "plain_text", "text": action},
                                               "value": f"{action}:{incident_id}"},
                           "action_ts": "1773151300.000002"}]
    response = await slack.send("payload=" + quote(json.dumps(payload)),
                                content_type="application/x-www-form-urlencoded")
    assert response.status == 200
    await slack.fake.wait_for("views.update")
    await slack.settle()
    (view_id,) = slack.fake.views
    return slack.fake.views[view_id]


async def submit(slack: SlackHarness, view: dict[str, Any], user: str, values: dict[str, dict[str, Any]]) -> Any:
    """Submit the modal ``view`` with ``values``; the ack's body (``{}`` when the modal simply closes)."""
    raw = "payload=" + quote(json.dumps(slack.fake.submission(view["id"], user, values)))
    response = await slack.send(raw, content_type="application/x-www-form-urlencoded")
    assert response.status == 200, response.body
    await slack.settle()
    return json.loads(response.body) if response.body else {}


def text(value: str | None) -> dict[str, Any]:
    return {"type": "plain_text_input", "value": value}


def selected(value: str | None) -> dict[str, Any]:
    return {"type": "static_select", "selected_option": {"value": value} if value else None}


def shown(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def assert_valid_modal(view: dict[str, Any]) -> None:
    """The view (as sent: what alex built) against the Block Kit schema's ``modal_view``."""
    path = blockkit.schema_path()
    if path is None:
        missing(BLOCK_KIT)
    schema = json.loads(path.read_text(encoding="utf-8"))
    sent = {k: v for k, v in view.items() if k not in ("id", "team_id", "hash", "state")}
    errors = [f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in Draft202012Validator(
        {"$ref": "#/$defs/modal_view", "$defs": schema["$defs"]}).iter_errors(sent)]
    assert not errors, errors


async def audit(rt: SlackRuntime) -> list[Any]:
    return await rt.state.recent(20)


# -- the card ---------------------------------------------------------------------------------------

async def test_an_open_card_offers_ack_resolve_the_link_and_the_menu(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    message = await listing(slack)
    target = incident(demo, TRIGGERED)
    elements = card_elements(message, target.id)
    assert [e.get("action_id") for e in elements] == ["incident_ack", "incident_resolve", VIEW_ACTION, MORE_ACTION]
    assert elements[2]["url"] == f"https://acme.pagerduty.com/incidents/{target.id}"
    assert [o["value"] for o in elements[3]["options"]] == [
        f"{a}:{target.id}" for a in ("reassign", "responders", "note", "priority")]
    # The link's click only needs its acknowledgement: nothing is read, posted or written.
    await slack.click(VIEW_ACTION, target.id, user=SAM, message=message)
    await slack.settle()
    assert len(slack.fake.of("chat.postMessage")) == 1 and slack.writes() == []


async def test_ack_redraws_the_card_from_the_fresh_state(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    message = await listing(slack)
    target = incident(demo, TRIGGERED)
    await slack.click("incident_ack", target.id, user=AISHA, message=message)
    update = await slack.updated()
    assert (update.args["channel"], update.args["ts"]) == (GENERAL, message.answer["ts"])
    assert target.status == "acknowledged"
    after = card_elements(update, target.id)
    assert "incident_ack" not in [e.get("action_id") for e in after], "no Acknowledge once acknowledged"
    row = next(b for b in blocks_of(update) if b.get("block_id") == f"incident_row:{target.id}")
    assert "acknowledged" in row["text"]["text"] and "Aisha Khan" in row["text"]["text"]
    # Every other card is as it was.
    others = [b for b in blocks_of(message) if target.id not in str(b.get("block_id", ""))]
    assert [b for b in blocks_of(update) if target.id not in str(b.get("block_id", ""))] == others


async def test_resolve_removes_the_buttons(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    message = await listing(slack)
    target = incident(demo, TRIGGERED)
    await slack.click("incident_resolve", target.id, user=SAM, message=message)
    update = await slack.updated()
    assert not [b for b in blocks_of(update) if b.get("block_id") == f"incident:{target.id}"]
    assert ":white_check_mark:" in next(b for b in blocks_of(update)
                                         if b.get("block_id") == f"incident_row:{target.id}")["text"]["text"]


# -- add a note -------------------------------------------------------------------------------------

async def test_a_note_is_bounded_in_the_modal_then_added_as_the_submitter(make_slack: SlackFactory,
                                                                           demo: Sandbox) -> None:
    slack = await make_slack()
    message = await listing(slack)
    target = incident(demo, ACKNOWLEDGED)
    form = await choose(slack, message, "note", target.id, user=AISHA)
    loading = slack.fake.of("views.open")[0].args
    assert loading["trigger_id"] == "1.2.3" and "Reading the incident" in json.dumps(loading["view"])
    assert form["callback_id"] == f"{CALLBACK}note" and form["submit"]["text"] == "Add note"
    assert "#1204" in shown(form)
    note_input = next(b for b in form["blocks"] if b.get("block_id") == "note")
    assert note_input["element"]["max_length"] == MAX_TEXT
    assert_valid_modal(form)

    assert await submit(slack, form, AISHA, {"note": text("   ")}) == {
        "response_action": "errors", "errors": {"note": "Write the note first."}}
    too_long = await submit(slack, form, AISHA, {"note": text("x" * (MAX_TEXT + 1))})
    assert too_long["errors"]["note"] == "The note is 2,001 characters; the limit is 2,000."
    assert slack.writes() == []

    assert await submit(slack, form, AISHA, {"note": text("Failing over to the replica")}) == {}
    outcome = await slack.reply(2)
    assert outcome.args["thread_ts"] == message.args["thread_ts"]
    assert slack.writes() == [("POST", f"/incidents/{target.id}/notes", RESPONDER_EMAIL)]
    assert target.notes[-1].content == "Failing over to the replica"
    assert "Aisha" in message_text(outcome) or AISHA in message_text(outcome)
    update = await slack.updated()
    assert update.args["ts"] == message.answer["ts"], "the card's message, read back, is redrawn"
    entry = (await audit(slack.rt))[0]
    assert (entry.action, entry.outcome, entry.via, entry.confirmed_by) == (
        "add_incident_note", "ok", "incident_card", AISHA)


# -- reassign or escalate ---------------------------------------------------------------------------

async def test_escalate_to_a_level_of_the_policy(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    message = await listing(slack)
    target = incident(demo, TRIGGERED)
    form = await choose(slack, message, "reassign", target.id, user=SAM)
    assert_valid_modal(form)
    level = next(b for b in form["blocks"] if b.get("block_id") == "level")
    assert [o["value"] for o in level["element"]["options"]] == ["1", "2", "3"]
    assert level["element"]["options"][0]["text"]["text"].startswith("Level 1: ")

    both = await submit(slack, form, SAM, {"level": selected("2"),
                                           "person": {"type": "users_select", "selected_user": AISHA}})
    assert both["errors"] == {"person": "Choose a level or a person, not both."}
    neither = await submit(slack, form, SAM, {"level": selected(None), "person": {"type": "users_select"}})
    assert neither["errors"] == {"level": "Choose a level of the policy, or a person."}
    assert slack.writes() == []

    await submit(slack, form, SAM, {"level": selected("2"), "person": {"type": "users_select", "selected_user": None}})
    await slack.reply(2)
    assert slack.writes() == [("PUT", f"/incidents/{target.id}", MANAGER_EMAIL)]
    assert target.escalation_level == 2
    update = await slack.updated()
    row = next(b for b in blocks_of(update) if b.get("block_id") == f"incident_row:{target.id}")
    names = ", ".join(demo.world.users[u].name for u in target.assigned_user_ids)
    assert names and names.split(",")[0] in row["text"]["text"]


async def test_reassign_to_a_person_picked_in_slack(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    message = await listing(slack)
    target = incident(demo, TRIGGERED)
    form = await choose(slack, message, "reassign", target.id, user=SAM)
    nobody = await submit(slack, form, SAM, {"level": selected(None),
                                             "person": {"type": "users_select", "selected_user": VISITOR}})
    assert nobody["errors"] == {"person": "Vic Visitor has no PagerDuty account with their Slack e-mail address."}
    await submit(slack, form, SAM, {"level": selected(None),
                                    "person": {"type": "users_select", "selected_user": AISHA}})
    await slack.reply(2)
    aisha = demo.world.user_by_email(RESPONDER_EMAIL)
    assert aisha is not None and target.assigned_user_ids == [aisha.id]
    assert slack.writes() == [("PUT", f"/incidents/{target.id}", MANAGER_EMAIL)]


# -- add responders ---------------------------------------------------------------------------------

async def test_add_responders_people_and_a_policy(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    message = await listing(slack)
    target = incident(demo, ACKNOWLEDGED)
    form = await choose(slack, message, "responders", target.id, user=SAM)
    assert_valid_modal(form)
    people = next(b for b in form["blocks"] if b.get("block_id") == "people")
    assert people["element"]["type"] == "multi_users_select" and people["element"]["max_selected_items"] == 10
    policy = next(b for b in form["blocks"] if b.get("block_id") == "policy")
    payments = next(p for p in demo.world.escalation_policies.values() if p.name == "Payments")
    assert payments.id in [o["value"] for o in policy["element"]["options"]]

    empty = await submit(slack, form, SAM, {"people": {"type": "multi_users_select", "selected_users": []},
                                            "policy": selected(None), "message": text(None)})
    assert empty["errors"] == {"people": "Choose at least one person, or an escalation policy."}
    stranger = await submit(slack, form, SAM, {"people": {"type": "multi_users_select",
                                                          "selected_users": [BEN, VISITOR]},
                                               "policy": selected(None), "message": text(None)})
    assert stranger["errors"] == {"people": "Vic Visitor has no PagerDuty account with their Slack e-mail address."}
    long = await submit(slack, form, SAM, {"people": {"type": "multi_users_select", "selected_users": [BEN]},
                                           "policy": selected(None), "message": text("x" * (MAX_TEXT + 5))})
    assert long["errors"] == {"message": "The message is 2,005 characters; the limit is 2,000."}
    assert slack.writes() == []
    await submit(slack, form, SAM, {"people": {"type": "multi_users_select", "selected_users": [BEN, AISHA]},
                                    "policy": selected(payments.id), "message": text("Join the bridge")})
    outcome = await slack.reply(2)
    assert slack.writes() == [("POST", f"/incidents/{target.id}/responder_requests", MANAGER_EMAIL)]
    (request,) = target.responder_requests
    sam = demo.world.user_by_email(MANAGER_EMAIL)
    assert sam is not None and request.requester_id == sam.id and request.message == "Join the bridge"
    names = {demo.world.users[u].name for kind, u in request.targets if kind == "user"}
    assert names == {"Ben Carter", "Aisha Khan"} and ("escalation_policy", payments.id) in request.targets
    assert "Done as Sam Rivera" in message_text(outcome)


# -- priority and urgency ---------------------------------------------------------------------------

async def test_priority_and_urgency(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    message = await listing(slack)
    target = incident(demo, TRIGGERED)
    form = await choose(slack, message, "priority", target.id, user=SAM)
    assert_valid_modal(form)
    priority = next(b for b in form["blocks"] if b.get("block_id") == "priority")
    assert [o["text"]["text"] for o in priority["element"]["options"]] == ["P1", "P2", "P3", "P4", "P5"]
    assert priority["element"]["initial_option"]["text"]["text"] == "P2"
    urgency = next(b for b in form["blocks"] if b.get("block_id") == "urgency")
    assert urgency["element"]["initial_option"]["value"] == "high"
    p1 = next(p.id for p in demo.world.priorities if p.name == "P1")
    same = await submit(slack, form, SAM, {"priority": selected(target.priority_id),
                                           "urgency": {"type": "radio_buttons", "selected_option": {"value": "high"}}})
    assert "already" in same["errors"]["priority"]
    await submit(slack, form, SAM, {"priority": selected(p1),
                                    "urgency": {"type": "radio_buttons", "selected_option": {"value": "low"}}})
    await slack.reply(2)
    assert slack.writes() == [("PUT", f"/incidents/{target.id}", MANAGER_EMAIL)]
    assert (target.priority_id, target.urgency) == (p1, "low")
    update = await slack.updated()
    row = next(b for b in blocks_of(update) if b.get("block_id") == f"incident_row:{target.id}")
    assert "low urgency" in row["text"]["text"] and "P1" in row["text"]["text"]


# -- who may, and where -----------------------------------------------------------------------------

async def test_an_observer_is_refused_in_the_modal_and_it_is_audited(make_slack: SlackFactory,
                                                                     demo: Sandbox) -> None:
    slack = await make_slack()
    message = await listing(slack)
    target = incident(demo, TRIGGERED)
    view = await choose(slack, message, "note", target.id, user=OLIVIA)
    assert "observer" in shown(view) and "submit" not in view
    assert_valid_modal(view)
    entry = (await audit(slack.rt))[0]
    assert (entry.action, entry.outcome, entry.via) == ("add_incident_note", "refused", "incident_card")
    assert slack.writes() == []


async def test_the_menu_is_refused_outside_the_allowed_channels(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack(allowed_channels=frozenset({"C0ALLOWED"}))
    target = incident(demo, TRIGGERED)
    payload = block_actions(MORE_ACTION, "", user=SAM, message=None)
    payload["actions"] = [{"action_id": MORE_ACTION, "type": "overflow", "block_id": "x",
                           "selected_option": {"value": f"note:{target.id}"}}]
    await slack.send("payload=" + quote(json.dumps(payload)), content_type="application/x-www-form-urlencoded")
    notice = await slack.ephemeral()
    assert "isn't enabled in this channel" in message_text(notice)
    assert slack.fake.of("views.open") == []


async def test_a_tampered_menu_value_opens_nothing(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    message = await listing(slack)
    for value in ("delete:PABC123", "note:../../users", "note:"):
        payload = block_actions(MORE_ACTION, "", user=SAM, message=message)
        payload["actions"] = [{"action_id": MORE_ACTION, "type": "overflow", "block_id": "x",
                               "selected_option": {"value": value}}]
        await slack.send("payload=" + quote(json.dumps(payload)), content_type="application/x-www-form-urlencoded")
    await slack.settle()
    assert slack.fake.of("views.open") == [] and slack.writes() == []


async def test_a_card_in_an_ephemeral_message_shows_the_outcome_in_the_modal(make_slack: SlackFactory,
                                                                             demo: Sandbox) -> None:
    slack = await make_slack()
    target = incident(demo, ACKNOWLEDGED)
    payload = block_actions(MORE_ACTION, "", user=AISHA, message=None)
    payload["container"]["is_ephemeral"] = True
    payload.pop("message")
    payload["actions"] = [{"action_id": MORE_ACTION, "type": "overflow", "block_id": "x",
                           "selected_option": {"value": f"note:{target.id}"}}]
    await slack.send("payload=" + quote(json.dumps(payload)), content_type="application/x-www-form-urlencoded")
    await slack.fake.wait_for("views.update")
    await slack.settle()
    (view_id,) = slack.fake.views
    working = await submit(slack, slack.fake.views[view_id], AISHA, {"note": text("on it")})
    assert working["response_action"] == "update" and "Working on it" in json.dumps(working["view"])
    await slack.fake.wait_for("views.update", 2)
    await slack.settle()
    assert "Done as Aisha Khan" in shown(slack.fake.views[view_id])
    assert slack.writes() == [("POST", f"/incidents/{target.id}/notes", RESPONDER_EMAIL)]
    assert slack.fake.of("chat.postMessage") == [] and slack.fake.of("chat.update") == []


# -- the new write tools from the model -------------------------------------------------------------

@pytest.mark.parametrize(("tool", "arguments", "path"), [
    ("add_responders", {"incident": str(ACKNOWLEDGED), "responders": ["Aisha Khan"], "message": None},
     "/responder_requests"),
    ("set_incident_priority", {"incident": str(ACKNOWLEDGED), "priority": "P1", "urgency": None}, ""),
])
async def test_the_model_proposes_and_only_a_click_writes(make_slack: SlackFactory, demo: Sandbox, tool: str,
                                                          arguments: dict[str, Any], path: str) -> None:
    model = ScriptedModel([calls(call(tool, arguments)), say("Prepared: confirm below.")])
    slack = await make_slack(model)
    await slack.mention("please do it")
    reply = await slack.reply()
    (pid,) = buttons(reply, "proposal_confirm")
    assert slack.writes() == []
    await slack.click("proposal_confirm", pid, user=SAM, message=reply)
    await slack.updated()
    target = incident(demo, ACKNOWLEDGED)
    assert slack.writes() == [("POST" if path else "PUT", f"/incidents/{target.id}{path}", MANAGER_EMAIL)]
