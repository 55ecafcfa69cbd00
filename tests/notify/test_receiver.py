"""POST /pagerduty/webhooks over HTTP: signed deliveries accepted at once and processed after; forged,
malformed and oversized ones refused before anything is processed or logged; duplicates processed once."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.notify.events import WEBHOOK_PATH
from bot.notify.receiver import MAX_BODY_BYTES
from tests.notify.conftest import NotifierFactory
from tests.notify.payloads import OLD_SECRET, SECRET, body, event, headers, incident


async def test_a_signed_delivery_is_answered_202_at_once_and_its_card_posted_after(
        make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier()
    gate = asyncio.Event()
    real = notifier.receiver._handle

    async def slow(event_: object) -> None:
        await gate.wait()
        await real(event_)  # type: ignore[arg-type]

    notifier.receiver._handle = slow  # the card is held back: the answer must not wait for it
    status, answer = await asyncio.wait_for(notifier.deliver(event("incident.triggered", incident())), 2)
    assert (status, answer["accepted"][:5]) == (202, "01EVT")
    assert notifier.posted() == []
    gate.set()
    await notifier.settle()
    [card] = notifier.posted("C0PAY")
    assert "#4242" in str(card.args["text"]) and "Checkout latency" in str(card.args["text"])


async def test_every_secret_of_a_rotation_verifies(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(secrets=(SECRET, OLD_SECRET))
    assert (await notifier.deliver(event("incident.triggered", incident(pd_id="PA")), OLD_SECRET))[0] == 202
    assert (await notifier.deliver(event("incident.triggered", incident(pd_id="PB")), SECRET, OLD_SECRET))[0] == 202
    await notifier.settle()
    assert len(notifier.posted()) == 2


async def test_forged_malformed_and_oversized_deliveries_are_refused_and_never_processed_or_logged(
        make_notifier: NotifierFactory, caplog: pytest.LogCaptureFixture) -> None:
    notifier = await make_notifier()
    payload = event("incident.triggered", incident(title="SECRET-TITLE-never-logged"))
    raw = body(payload)
    caplog.set_level(logging.DEBUG)
    cases = {
        "no header": (raw, {"Content-Type": "application/json"}, 400),
        "malformed header": (raw, {"X-PagerDuty-Signature": "sha256=abc"}, 400),
        "wrong secret": (raw, headers(raw, "not-the-secret"), 403),
        "body altered by one byte": (raw.replace(b"SECRET", b"SECRFT"), headers(raw), 403),
        "signed but not JSON": (b"not json SECRET-TITLE-never-logged", headers(b"not json SECRET-TITLE-never-logged"),
                                400),
        "signed but no event": (b'{"messages": []}', headers(b'{"messages": []}'), 400),
        "too large": (b"x" * (MAX_BODY_BYTES + 1), headers(b"x" * (MAX_BODY_BYTES + 1)), 413),
    }
    for name, (data, sent, expected) in cases.items():
        response = await notifier.http.post(WEBHOOK_PATH, data=data, headers=sent)
        assert response.status == expected, name
        assert set(await response.json()) == {"error"}, name
    await notifier.settle()
    assert notifier.fake.calls == [], "nothing processed"
    assert notifier.receiver.counts.accepted == 0 and notifier.receiver.counts.refused == len(cases)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "SECRET-TITLE" not in logged and SECRET not in logged and "v1=" not in logged
    assert logged.count("refused PagerDuty deliveries") <= 1, "one summary line, not one per request"


async def test_other_event_types_are_acknowledged_and_ignored(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier()
    status, answer = await notifier.deliver(event("service.updated", {"id": "P5SRVGG", "type": "service"}))
    assert (status, answer) == (200, {"ignored": "service.updated"})
    await notifier.settle()
    assert notifier.fake.calls == []


async def test_redeliveries_of_one_event_are_processed_once(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier()
    triggered = event("incident.triggered", incident(), event_id="01EVTSAME")
    answers = await asyncio.gather(*[notifier.deliver(triggered) for _ in range(5)])
    assert [status for status, _ in answers] == [202] * 5, "every delivery is acknowledged (PagerDuty stops retrying)"
    await notifier.settle()
    assert len(notifier.posted()) == 1
    assert notifier.receiver.counts.duplicates == 4


async def test_a_full_queue_answers_503_so_pagerduty_retries_later(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier(queue_size=2, workers=1)
    gate = asyncio.Event()

    async def stuck(event_: object) -> None:
        await gate.wait()

    notifier.receiver._handle = stuck
    statuses = [(await notifier.deliver(event("incident.triggered", incident(pd_id=f"P{i:04d}"))))[0]
                for i in range(5)]
    assert statuses[:3] == [202, 202, 202] and statuses[3:] == [503, 503], "one taken, two queued, then full"
    gate.set()
    await notifier.settle()


async def test_the_healthz_of_the_webhook_port_answers(make_notifier: NotifierFactory) -> None:
    notifier = await make_notifier()
    response = await notifier.http.get("/healthz")
    assert response.status == 200 and (await response.json())["ok"] is True
    assert (await notifier.http.post("/slack/events", data=b"{}")).status == 404, "Slack's route is not there"
