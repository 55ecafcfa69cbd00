"""The sandbox's V3 webhooks: subscriptions over REST, signed deliveries of every change it makes.

Receivers are plain functions behind ``httpx2.MockTransport`` (and, once, a real aiohttp server), so
each test checks what went over the wire: the payload against the shapes PagerDuty documents, the
headers, and the signature recomputed here from the raw body, independently of the sandbox's code.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx2
import pytest
from aiohttp import web

from bot.sandbox import DEFAULT_NOW, Sandbox, build_sandbox, default_token
from bot.sandbox.http import SandboxRequest
from bot.sandbox.model import Incident
from bot.sandbox.routes import ALL_ROUTES
from bot.sandbox.server import serve
from bot.sandbox.webhooks import DeliveryPolicy, WebhookRequest

ACTOR = "sam.rivera@acme-payments.example"
HOOK_URL = "https://alex.example/pagerduty/webhooks"

# Keys of PagerDuty's documented V3 examples (developer docs, "Webhooks v3 overview").
EVENT_KEYS = {"id", "event_type", "resource_type", "occurred_at", "agent", "client", "data"}
INCIDENT_KEYS = {"id", "type", "self", "html_url", "number", "status", "incident_key", "created_at", "title",
                 "service", "assignees", "escalation_policy", "teams", "priority", "urgency",
                 "conference_bridge", "resolve_reason"}
REFERENCE_KEYS = {"html_url", "id", "self", "summary", "type"}
NOTE_KEYS = {"incident", "id", "content", "trimmed", "type"}
STATUS_UPDATE_KEYS = {"incident", "id", "message", "trimmed", "type"}
RESPONDER_KEYS = {"incident", "user", "escalation_policy", "message", "state", "type"}


@dataclass
class Receiver:
    """A webhook endpoint: records every request; ``answers`` (statuses or exceptions) are used in turn."""

    answers: list[int | Exception] = field(default_factory=list)
    received: list[httpx2.Request] = field(default_factory=list)

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.received.append(request)
        answer = self.answers.pop(0) if self.answers else 202
        if isinstance(answer, Exception):
            raise answer
        return httpx2.Response(answer)

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(r.content)["event"] for r in self.received]

    def types(self) -> list[str]:
        return [e["event_type"] for e in self.events()]


@dataclass
class Box:
    sandbox: Sandbox
    api: httpx2.AsyncClient
    receiver: Receiver
    sleeps: list[float]

    @property
    def hub(self) -> Any:
        return self.sandbox.webhooks

    async def subscribe(self, **body: Any) -> dict[str, Any]:
        subscription = {"type": "webhook_subscription",
                        "delivery_method": {"type": "http_delivery_method", "url": HOOK_URL},
                        "events": ["incident.triggered", "incident.acknowledged", "incident.resolved"],
                        "filter": {"type": "account_reference"}, **body}
        response = await self.api.post("/webhook_subscriptions", json={"webhook_subscription": subscription})
        assert response.status_code == 200, response.text
        created: dict[str, Any] = response.json()["webhook_subscription"]
        return created

    async def put_incident(self, incident: Incident, **fields: Any) -> httpx2.Response:
        return await self.api.put(f"/incidents/{incident.id}",
                                  json={"incident": {"type": "incident_reference", **fields}})


def open_incident(sandbox: Sandbox, status: str = "triggered", service: str | None = None) -> Incident:
    return next(i for i in sandbox.world.incidents.values() if i.status == status
                and (service is None or sandbox.world.services[i.service_id].name == service))


def verifies(request: httpx2.Request, secret: str) -> bool:
    """PagerDuty's documented check: any ``v1=`` signature equal to the hex HMAC-SHA256 of the raw body."""
    expected = "v1=" + hmac.new(secret.encode(), request.content, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, s.strip())
               for s in request.headers["x-pagerduty-signature"].split(","))


@pytest.fixture
async def box() -> AsyncIterator[Box]:
    sandbox = build_sandbox("demo", now=DEFAULT_NOW, rate_limit_per_minute=None)
    receiver, sleeps = Receiver(), []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    sandbox.webhooks.sleep = sleep
    sandbox.webhooks.deliver_to(httpx2.MockTransport(receiver))
    headers = {"Authorization": f"Token token={default_token('demo')}", "From": ACTOR,
               "Accept": "application/vnd.pagerduty+json;version=2"}
    async with httpx2.AsyncClient(transport=sandbox.transport(), base_url="https://api.pagerduty.com",
                                  headers=headers) as api:
        yield Box(sandbox, api, receiver, sleeps)
    await sandbox.webhooks.aclose()


# -------------------------------------------------------------------------------------------------
# Subscribe, change, receive
# -------------------------------------------------------------------------------------------------
async def test_a_rest_write_delivers_a_signed_v3_event(box: Box) -> None:
    created = await box.subscribe()
    secret = created["delivery_method"]["secret"]
    assert isinstance(secret, str) and len(secret) >= 32
    shown = (await box.api.get(f"/webhook_subscriptions/{created['id']}")).json()["webhook_subscription"]
    assert shown["delivery_method"]["secret"] is None  # only the create answer carries it

    incident = open_incident(box.sandbox)
    assert (await box.put_incident(incident, status="acknowledged")).status_code == 200
    await box.hub.drain()

    [request] = box.receiver.received
    assert request.method == "POST" and str(request.url) == HOOK_URL
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "PagerDuty-Webhook/V3.0"
    assert request.headers["x-webhook-subscription"] == created["id"]
    assert request.headers["x-webhook-id"]
    assert verifies(request, secret)
    assert not verifies(request, secret + "x")

    event = json.loads(request.content)["event"]
    assert set(event) == EVENT_KEYS
    assert (event["event_type"], event["resource_type"]) == ("incident.acknowledged", "incident")
    assert event["occurred_at"] == "2026-03-10T14:00:00.000Z"
    sam = box.sandbox.world.user_by_email(ACTOR)
    assert sam is not None
    assert set(event["agent"]) == REFERENCE_KEYS and event["agent"]["id"] == sam.id
    assert event["client"] == {"name": "PagerDuty"}
    data = event["data"]
    assert set(data) == INCIDENT_KEYS
    assert (data["id"], data["type"], data["number"], data["status"]) == (
        incident.id, "incident", incident.number, "acknowledged")
    assert data["self"] == f"https://api.pagerduty.com/incidents/{incident.id}"
    assert [a["id"] for a in data["assignees"]] == [sam.id]
    for reference in [data["service"], data["escalation_policy"], *data["assignees"], *data["teams"]]:
        assert set(reference) == REFERENCE_KEYS
    assert data["service"]["type"] == "service_reference"
    assert data["resolve_reason"] is None


def test_deliveries_happen_after_the_request_not_inside_it() -> None:
    sandbox = build_sandbox("demo", now=DEFAULT_NOW)
    receiver = Receiver()
    sandbox.webhooks.deliver_to(httpx2.MockTransport(receiver))
    sandbox.webhooks.subscribe(HOOK_URL)
    incident = open_incident(sandbox)
    body = json.dumps({"incident": {"type": "incident_reference", "status": "resolved"}}).encode()
    response = sandbox.dispatch(SandboxRequest(
        "PUT", f"/incidents/{incident.id}", headers={"authorization": f"Token token={default_token('demo')}",
                                                    "from": ACTOR}, body=body))
    assert response.status == 200
    assert receiver.received == []  # the answer is out; the webhook waits for the loop
    assert [d.state for d in sandbox.webhooks.deliveries] == ["pending"]
    asyncio.run(sandbox.webhooks.drain())
    assert receiver.types() == ["incident.resolved"]


async def test_every_incident_change_has_its_event(box: Box) -> None:
    box.hub.subscribe(HOOK_URL)  # in process: every incident event type
    world = box.sandbox.world
    incident = open_incident(box.sandbox)
    policy = world.escalation_policies[incident.escalation_policy_id]
    other_policy = next(p for p in world.escalation_policies.values() if p.id != policy.id)
    someone = next(u for u in world.users.values() if u.can_write and u.id not in incident.assigned_user_ids)
    priority = next(p for p in world.priorities if p.id != incident.priority_id)
    service = world.services[incident.service_id]
    steps: list[tuple[str, dict[str, Any], list[str]]] = [
        ("PUT", {"status": "acknowledged"}, ["incident.acknowledged"]),
        ("PUT", {"status": "triggered"}, ["incident.unacknowledged"]),
        ("PUT", {"escalation_level": 2}, ["incident.escalated"]),
        ("PUT", {"assignments": [{"assignee": {"id": someone.id, "type": "user_reference"}}]},
         ["incident.reassigned"]),
        ("PUT", {"escalation_policy": {"id": other_policy.id, "type": "escalation_policy_reference"}},
         ["incident.delegated"]),
        ("PUT", {"priority": {"id": priority.id, "type": "priority_reference"}}, ["incident.priority_updated"]),
        ("PUT", {"priority": {"id": priority.id, "type": "priority_reference"}}, []),  # no change, no event
        ("PUT", {"status": "resolved"}, ["incident.resolved"]),
        ("PUT", {"status": "acknowledged"}, ["incident.reopened", "incident.acknowledged"]),
    ]
    for _, fields, expected in steps:
        before = len(box.receiver.received)
        assert (await box.put_incident(incident, **fields)).status_code == 200, fields
        await box.hub.drain()
        assert box.receiver.types()[before:] == expected, fields

    before = len(box.receiver.received)
    noted = await box.api.post(f"/incidents/{incident.id}/notes", json={"note": {"content": "on it"}})
    assert noted.status_code == 201
    assert (await box.api.post(f"/incidents/{incident.id}/status_updates",
                               json={"message": "mitigated"})).status_code == 200
    created = await box.api.post("/incidents", json={"incident": {
        "type": "incident", "title": "Disk full", "service": {"id": service.id, "type": "service_reference"}}})
    assert created.status_code == 201
    sam = world.user_by_email(ACTOR)
    assert sam is not None
    mine = await box.api.post("/incidents", json={"incident": {
        "type": "incident", "title": "Mine", "service": {"id": service.id, "type": "service_reference"},
        "assignments": [{"assignee": {"id": sam.id, "type": "user_reference"}}]}})
    assert mine.status_code == 201
    await box.hub.drain()
    events = box.receiver.events()[before:]
    assert [e["event_type"] for e in events] == [
        "incident.annotated", "incident.status_update_published", "incident.triggered",
        "incident.triggered", "incident.acknowledged"]
    note, update = events[0]["data"], events[1]["data"]
    assert set(note) == NOTE_KEYS and (note["type"], note["content"], note["trimmed"]) == (
        "incident_note", "on it", False)
    assert set(update) == STATUS_UPDATE_KEYS and (update["type"], update["message"]) == (
        "incident_status_update", "mitigated")
    for data in (note, update):
        assert set(data["incident"]) == REFERENCE_KEYS and data["incident"]["id"] == incident.id
        assert data["incident"]["type"] == "incident_reference"
    assert events[2]["data"]["status"] == "triggered" and events[2]["data"]["title"] == "Disk full"
    assert [e["data"]["status"] for e in events[3:]] == ["triggered", "acknowledged"]

    stamps = [e["occurred_at"] for e in box.receiver.events()]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)  # frozen clock, still ordered


async def test_responder_requests_announce_each_person_asked(box: Box) -> None:
    if "/incidents/{id}/responder_requests" not in {r.template for r in ALL_ROUTES}:
        pytest.skip("the sandbox has no responder requests")
    box.hub.subscribe(HOOK_URL, events=["incident.responder.added"])
    world = box.sandbox.world
    incident = open_incident(box.sandbox)
    sam = world.user_by_email(ACTOR)
    assert sam is not None
    asked = next(u for u in world.users.values() if u.id != sam.id)
    response = await box.api.post(f"/incidents/{incident.id}/responder_requests", json={
        "requester_id": sam.id, "message": "join the bridge", "responder_request_targets": [
            {"responder_request_target": {"id": asked.id, "type": "user_reference"}}]})
    assert response.status_code == 200, response.text
    await box.hub.drain()
    [event] = box.receiver.events()
    data = event["data"]
    assert event["event_type"] == "incident.responder.added"
    assert set(data) == RESPONDER_KEYS
    assert (data["type"], data["state"], data["message"], data["user"]["id"]) == (
        "incident_responder", "pending", "join the bridge", asked.id)
    assert event["agent"]["id"] == sam.id


# -------------------------------------------------------------------------------------------------
# Filters and events lists
# -------------------------------------------------------------------------------------------------
async def test_filters_and_event_lists_choose_the_subscriptions(box: Box) -> None:
    world = box.sandbox.world
    incident = open_incident(box.sandbox)
    service = world.services[incident.service_id]
    other_service = next(s for s in world.services.values() if s.id != service.id
                         and not set(s.team_ids) & set(service.team_ids))
    team = service.team_ids[0]
    other_team = next(t for t in world.teams if t not in service.team_ids)
    urls = {name: f"https://hooks.example/{name}" for name in
            ("account", "service", "other-service", "team", "other-team", "resolved-only", "inactive")}
    box.hub.subscribe(urls["account"])
    box.hub.subscribe(urls["service"], filter_type="service_reference", filter_id=service.id)
    box.hub.subscribe(urls["other-service"], filter_type="service_reference", filter_id=other_service.id)
    box.hub.subscribe(urls["team"], filter_type="team_reference", filter_id=team)
    box.hub.subscribe(urls["other-team"], filter_type="team_reference", filter_id=other_team)
    box.hub.subscribe(urls["resolved-only"], events=["incident.resolved"])
    box.hub.subscribe(urls["inactive"], active=False)

    await box.put_incident(incident, status="acknowledged")
    await box.hub.drain()
    got = {str(r.url) for r in box.receiver.received}
    assert got == {urls["account"], urls["service"], urls["team"]}

    listed = (await box.api.get("/webhook_subscriptions", params={"filter_type": "service",
                                                                    "filter_id": service.id})).json()
    assert [s["delivery_method"]["url"] for s in listed["webhook_subscriptions"]] == [urls["service"]]
    accounts = (await box.api.get("/webhook_subscriptions", params={"filter_type": "account"})).json()
    assert len(accounts["webhook_subscriptions"]) == 3


# -------------------------------------------------------------------------------------------------
# Retries, backoff, giving up, temporary disablement
# -------------------------------------------------------------------------------------------------
async def test_retries_with_backoff_on_500_then_success(box: Box) -> None:
    box.hub.subscribe(HOOK_URL)
    box.receiver.answers = [500, 503, 200]
    await box.put_incident(open_incident(box.sandbox), status="acknowledged")
    await box.hub.drain()
    assert len(box.receiver.received) == 3
    assert len({r.headers["x-webhook-id"] for r in box.receiver.received}) == 1  # one webhook, 3 attempts
    assert len({r.content for r in box.receiver.received}) == 1
    assert box.sleeps == [1.0, 4.0]
    [record] = box.hub.deliveries
    assert record.state == "delivered"
    assert [a.status for a in record.attempts] == [500, 503, 200]


async def test_timeouts_and_connection_errors_are_retried_other_4xx_are_not(box: Box) -> None:
    box.hub.subscribe(HOOK_URL)
    incident = open_incident(box.sandbox)
    box.receiver.answers = [httpx2.ReadTimeout("slow"), httpx2.ConnectError("refused"), 429, 204, 404]
    await box.put_incident(incident, status="acknowledged")
    await box.put_incident(incident, status="resolved")
    await box.hub.drain()
    first, second = box.hub.deliveries
    assert first.state == "delivered"
    assert [a.status for a in first.attempts] == [None, None, 429, 204]
    assert first.attempts[0].error == "no answer within 5 s"
    assert (second.state, [a.status for a in second.attempts]) == ("failed", [404])
    assert "not retried" in (second.reason or "")


async def test_a_hanging_receiver_times_out() -> None:
    sandbox = build_sandbox("demo", now=DEFAULT_NOW)
    hub = sandbox.webhooks
    hub.policy = DeliveryPolicy(timeout=0.05, max_attempts=2, backoff=0.0)
    calls: list[WebhookRequest] = []

    async def hang(request: WebhookRequest) -> int:
        calls.append(request)
        await asyncio.sleep(10)
        return 200

    hub.deliver_with(hang)
    hub.subscribe(HOOK_URL)
    hub.fire(open_incident(sandbox).id)
    await hub.drain(max_wait=5)
    [record] = hub.deliveries
    assert record.state == "failed" and len(calls) == 2
    assert calls[0].timeout == 0.05


async def test_gives_up_after_max_attempts_then_disables_after_three(box: Box) -> None:
    created = await box.subscribe()
    box.receiver.answers = [500] * 15
    incident = open_incident(box.sandbox)
    for status in ("acknowledged", "resolved", "acknowledged", "resolved"):
        await box.put_incident(incident, status=status)
    await box.hub.drain()
    states = [d.state for d in box.hub.deliveries]
    assert states[:3] == ["failed", "failed", "failed"]
    assert all(len(d.attempts) == 5 for d in list(box.hub.deliveries)[:3])
    assert box.sleeps[:4] == [1.0, 4.0, 16.0, 64.0]
    assert states[3:] == ["dropped"] * (len(states) - 3)  # the queue behind them goes too
    shown = (await box.api.get(f"/webhook_subscriptions/{created['id']}")).json()["webhook_subscription"]
    assert shown["delivery_method"]["temporarily_disabled"] is True

    await box.put_incident(incident, status="resolved" if incident.status != "resolved" else "acknowledged")
    assert box.hub.deliveries[-1].state == "dropped"
    enabled = await box.api.post(f"/webhook_subscriptions/{created['id']}/enable")
    assert enabled.json()["webhook_subscription"]["delivery_method"]["temporarily_disabled"] is False
    box.receiver.answers = []
    await box.put_incident(incident, status="resolved" if incident.status != "resolved" else "acknowledged")
    await box.hub.drain()
    assert box.hub.deliveries[-1].state == "delivered"


def test_the_queue_is_bounded() -> None:
    sandbox = build_sandbox("demo", now=DEFAULT_NOW)
    hub = sandbox.webhooks
    hub.policy = DeliveryPolicy(queue_limit=3)
    receiver = Receiver()
    hub.deliver_to(httpx2.MockTransport(receiver))
    hub.subscribe(HOOK_URL)
    incident = open_incident(sandbox)
    for _ in range(5):
        hub.fire(incident.id)  # no loop runs: all wait
    assert [d.state for d in hub.deliveries] == ["pending"] * 3 + ["dropped"] * 2
    assert "queue is full" in (hub.deliveries[-1].reason or "")
    asyncio.run(hub.drain())
    assert len(receiver.received) == 3


def test_the_log_is_bounded() -> None:
    sandbox = build_sandbox("demo", now=DEFAULT_NOW)
    hub = sandbox.webhooks
    hub.deliveries = type(hub.deliveries)(maxlen=4)
    hub.subscribe(HOOK_URL)
    hub.policy = DeliveryPolicy(queue_limit=100)
    for _ in range(6):
        hub.fire(open_incident(sandbox).id)
    assert len(hub.deliveries) == 4


# -------------------------------------------------------------------------------------------------
# Ping, delete, the REST rules
# -------------------------------------------------------------------------------------------------
async def test_ping_sends_pagey_ping(box: Box) -> None:
    created = await box.subscribe(events=["incident.resolved"])
    response = await box.api.post(f"/webhook_subscriptions/{created['id']}/ping")
    assert (response.status_code, response.content) == (202, b"")
    await box.hub.drain()
    [request] = box.receiver.received
    event = json.loads(request.content)["event"]
    assert (event["event_type"], event["resource_type"], event["agent"], event["client"]) == (
        "pagey.ping", "pagey", None, None)
    assert event["data"] == {"message": "Hello from your friend Pagey!", "type": "ping"}
    assert verifies(request, created["delivery_method"]["secret"])
    assert (await box.api.post("/webhook_subscriptions/PNOPE00/ping")).status_code == 404


async def test_delete_stops_deliveries_and_drops_the_queue(box: Box) -> None:
    created = await box.subscribe()
    box.receiver.answers = [500]
    waiting, release = asyncio.Event(), asyncio.Event()

    async def held_sleep(seconds: float) -> None:
        waiting.set()
        await release.wait()

    box.hub.sleep = held_sleep
    incident = open_incident(box.sandbox)
    await box.put_incident(incident, status="acknowledged")
    await asyncio.wait_for(waiting.wait(), 5)  # the first attempt failed; the webhook waits for its retry
    response = await box.api.delete(f"/webhook_subscriptions/{created['id']}")
    assert (response.status_code, response.content) == (204, b"")
    release.set()
    await box.put_incident(incident, status="resolved")
    await box.hub.drain()
    assert box.receiver.types() == ["incident.acknowledged"]
    assert [d.state for d in box.hub.deliveries] == ["dropped"]
    assert (await box.api.get(f"/webhook_subscriptions/{created['id']}")).status_code == 404
    assert (await box.api.delete(f"/webhook_subscriptions/{created['id']}")).status_code == 404


async def test_update_changes_events_filter_and_active_not_the_delivery_method(box: Box) -> None:
    created = await box.subscribe(description="alex")
    path = f"/webhook_subscriptions/{created['id']}"
    service = next(iter(box.sandbox.world.services.values()))
    updated = await box.api.put(path, json={"webhook_subscription": {
        "events": ["incident.resolved"], "filter": {"type": "service_reference", "id": service.id},
        "active": False}})
    body = updated.json()["webhook_subscription"]
    assert (body["events"], body["filter"], body["active"], body["description"]) == (
        ["incident.resolved"], {"type": "service_reference", "id": service.id}, False, "alex")
    assert body["delivery_method"]["secret"] is None
    refused = await box.api.put(path, json={"webhook_subscription": {
        "delivery_method": {"type": "http_delivery_method", "url": "https://elsewhere.example"}}})
    assert refused.status_code == 400
    assert "delivery_method cannot be updated" in refused.json()["error"]["errors"][0]


@pytest.mark.parametrize(("change", "message"), [
    ({"events": []}, "at least one event type"),
    ({"events": ["incident.exploded"]}, "unknown event types"),
    ({"events": ["incident.resolved", "incident.resolved"]}, "must not repeat"),
    ({"filter": {"type": "service_reference", "id": "PNOPE00"}}, "service PNOPE00 not found"),
    ({"filter": {"type": "team_reference"}}, "filter.id is required"),
    ({"filter": {"type": "schedule_reference", "id": "P1"}}, "filter.type must be one of"),
    ({"delivery_method": {"type": "http_delivery_method", "url": "ftp://x.example"}}, "http:// or https://"),
    ({"delivery_method": {"type": "http_delivery_method", "url": HOOK_URL,
                          "custom_headers": [{"name": "X-PagerDuty-Signature", "value": "v1=0"}]}},
     "set by the delivery itself"),
    ({"delivery_method": {"type": "http_delivery_method", "url": HOOK_URL,
                          "custom_headers": [{"name": "X-Evil", "value": "a\r\nInjected: 1"}]}}, "one line"),
    ({"type": "webhook"}, "type must be 'webhook_subscription'"),
])
async def test_create_validation(box: Box, change: dict[str, Any], message: str) -> None:
    body = {"type": "webhook_subscription",
            "delivery_method": {"type": "http_delivery_method", "url": HOOK_URL},
            "events": ["incident.triggered"], "filter": {"type": "account_reference"}, **change}
    response = await box.api.post("/webhook_subscriptions", json={"webhook_subscription": body})
    assert response.status_code == 400
    assert message in " ".join(response.json()["error"]["errors"])
    assert box.hub.subscriptions == {}


async def test_custom_headers_are_sent_but_read_back_redacted(box: Box) -> None:
    created = await box.subscribe(delivery_method={
        "type": "http_delivery_method", "url": HOOK_URL,
        "custom_headers": [{"name": "X-Alex-Token", "value": "hunter2"}]})
    assert created["delivery_method"]["custom_headers"] == [{"name": "X-Alex-Token", "value": "-- redacted --"}]
    await box.api.post(f"/webhook_subscriptions/{created['id']}/ping")
    await box.hub.drain()
    assert box.receiver.received[0].headers["x-alex-token"] == "hunter2"


async def test_read_only_roles_cannot_subscribe(box: Box) -> None:
    observer = {"Authorization": "Token token=sandbox-observer-token", "From": "olivia.observer@acme-payments.example"}
    response = await box.api.post("/webhook_subscriptions", headers=observer, json={"webhook_subscription": {
        "type": "webhook_subscription", "delivery_method": {"type": "http_delivery_method", "url": HOOK_URL},
        "events": ["incident.triggered"], "filter": {"type": "account_reference"}}})
    assert response.status_code == 403
    listed = await box.api.get("/webhook_subscriptions", headers=observer)
    assert listed.status_code == 200


async def test_the_secret_never_reaches_a_log_or_a_repr(box: Box, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    created = await box.subscribe(delivery_method={
        "type": "http_delivery_method", "url": "https://user:pa55word@alex.example/hooks"})
    secret = created["delivery_method"]["secret"]
    box.receiver.answers = [500, 500, 500, 500, 500]
    await box.put_incident(open_incident(box.sandbox), status="acknowledged")
    await box.hub.drain()
    subscription = box.hub.subscriptions[created["id"]]
    dumped = json.dumps([d.as_dict() for d in box.hub.deliveries])
    texts = [caplog.text, repr(subscription), dumped, repr(list(box.sandbox.requests))]
    assert all(secret not in text for text in texts)
    assert "pa55word" not in dumped and "https://alex.example/hooks" in dumped


# -------------------------------------------------------------------------------------------------
# In process on demand, and over real HTTP
# -------------------------------------------------------------------------------------------------
async def test_fire_publishes_one_event_for_an_incident(box: Box) -> None:
    box.hub.subscribe(HOOK_URL, events=["incident.annotated", "incident.responder.added", "incident.escalated"])
    incident = open_incident(box.sandbox)
    quiet = next(i for i in box.sandbox.world.incidents.values() if not i.notes)
    with pytest.raises(ValueError, match="no notes"):
        box.hub.fire(quiet.id, "incident.annotated")
    fired = box.hub.fire(str(incident.number), "incident.escalated")
    assert fired.event.event_type == "incident.escalated" and len(fired.deliveries) == 1
    responder = box.hub.fire(incident.id, "incident.responder.added", message="help")
    assert responder.event.payload()["event"]["data"]["message"] == "help"
    with pytest.raises(LookupError):
        box.hub.fire("PNOPE00")
    with pytest.raises(ValueError):
        box.hub.fire(incident.id, "service.updated")
    await box.hub.drain()
    assert box.receiver.types() == ["incident.escalated", "incident.responder.added"]


@pytest.fixture
async def receiver_server() -> AsyncIterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    got: list[tuple[dict[str, str], bytes]] = []

    async def handle(request: web.Request) -> web.Response:
        got.append((dict(request.headers), await request.read()))
        return web.Response(status=202)

    app = web.Application()
    app.router.add_post("/pagerduty/webhooks", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}/pagerduty/webhooks", got
    finally:
        await runner.cleanup()


async def test_over_real_http_events_endpoint_and_delivery_log(
        receiver_server: tuple[str, list[tuple[dict[str, str], bytes]]]) -> None:
    url, got = receiver_server
    sandbox = build_sandbox("demo", now=DEFAULT_NOW)
    runner = await serve(sandbox, "127.0.0.1", 0)
    host, port = runner.addresses[0][:2]
    base = f"http://{host}:{port}"
    headers = {"Authorization": f"Token token={default_token('demo')}", "From": ACTOR}
    try:
        async with httpx2.AsyncClient(base_url=base, headers=headers) as client:
            created = (await client.post("/webhook_subscriptions", json={"webhook_subscription": {
                "type": "webhook_subscription", "delivery_method": {"type": "http_delivery_method", "url": url},
                "events": ["incident.triggered", "incident.acknowledged"],
                "filter": {"type": "account_reference"}}})).json()["webhook_subscription"]
            incident = open_incident(sandbox)
            fired = await client.post("/_sandbox/events", json={"incident_id": incident.id})
            assert fired.status_code == 202
            assert fired.json()["event"]["data"]["self"] == f"{base}/incidents/{incident.id}"
            await client.put(f"/incidents/{incident.id}", json={"incident": {
                "type": "incident_reference", "status": "acknowledged"}})
            assert (await client.post("/_sandbox/events", json={"incident_id": "PNOPE00"})).status_code == 404
            assert (await client.post("/_sandbox/events", json={"incident_id": incident.id,
                                                                 "event_type": "nope"})).status_code == 400
            await sandbox.webhooks.drain()
            log = (await client.get("/_sandbox/webhook_deliveries")).json()["deliveries"]
    finally:
        await runner.cleanup()
    assert [json.loads(body)["event"]["event_type"] for _, body in got] == [
        "incident.triggered", "incident.acknowledged"]
    for received_headers, body in got:
        lowered = {k.lower(): v for k, v in received_headers.items()}
        expected = "v1=" + hmac.new(created["delivery_method"]["secret"].encode(), body, hashlib.sha256).hexdigest()
        assert lowered["x-pagerduty-signature"] == expected
        assert lowered["x-webhook-subscription"] == created["id"]
    assert [(d["event_type"], d["state"], [a["status"] for a in d["attempts"]]) for d in log] == [
        ("incident.triggered", "delivered", [202]), ("incident.acknowledged", "delivered", [202])]
    assert created["delivery_method"]["secret"] not in json.dumps(log)


async def test_running_clock_stamps_events_with_sandbox_time() -> None:
    ticks = [0.0]
    sandbox = Sandbox(build_sandbox("demo", now=DEFAULT_NOW).world, [], monotonic=lambda: ticks[0],
                      clock_running=True)
    sandbox.webhooks.subscribe(HOOK_URL)
    incident = open_incident(sandbox)
    ticks[0] = 90.5
    first = sandbox.webhooks.fire(incident.id).event
    second = sandbox.webhooks.fire(incident.id).event
    assert first.occurred_at == DEFAULT_NOW + timedelta(seconds=90.5)
    assert second.occurred_at == first.occurred_at + timedelta(milliseconds=1)
    await sandbox.webhooks.aclose()
