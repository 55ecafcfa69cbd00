"""Reading V3 deliveries: state events carry the incident, notes and responders a reference; bounds."""

from __future__ import annotations

import json

import pytest

from bot.notify.events import BadEvent, Ignored, IncidentState, WebhookEvent, read_delivery
from tests.notify.payloads import body, event, incident, note, responder


def read(payload: dict[str, object]) -> WebhookEvent:
    found = read_delivery(body(payload))
    assert isinstance(found, WebhookEvent)
    return found


def test_a_state_event_carries_the_incident_as_a_card_shows_it() -> None:
    got = read(event("incident.acknowledged", incident(status="acknowledged"), minutes=3, agent="Aisha Khan"))
    state = got.state
    assert state is not None and got.incident_id == "PINC001" and got.agent == "Aisha Khan"
    assert (state.number, state.status, state.urgency, state.priority) == (4242, "acknowledged", "high", "P2")
    assert (state.service_id, state.service, state.teams, state.team_ids) == (
        "P5SRVGG", "payments-api", ("Payments",), ("PR9BTF2",))
    assert state.assignees == ("Aisha Khan",) and state.url == "https://acme.pagerduty.com/incidents/PINC001"
    assert got.occurred_at.isoformat() == "2026-03-10T14:03:00+00:00"
    assert IncidentState.from_json(state.to_json()) == state


def test_a_resolved_event_stamps_when_it_was_resolved() -> None:
    got = read(event("incident.resolved", incident(status="resolved"), minutes=23))
    assert got.state is not None and got.state.resolved_at == "2026-03-10T14:23:00+00:00"


def test_notes_status_updates_and_responders_name_the_incident_by_reference() -> None:
    got = read(event("incident.annotated", note("PINC001", "Rolled back 4.2.1")))
    assert (got.incident_id, got.state, got.text) == ("PINC001", None, "Rolled back 4.2.1")
    update = read(event("incident.status_update_published",
                        note("PINC001", "Fix deploying", kind="incident_status_update")))
    assert update.text == "Fix deploying"
    asked = read(event("incident.responder.added", responder("PINC001", "Maeve")))
    assert asked.responder == "Maeve"


def test_other_event_types_are_ignored() -> None:
    assert read_delivery(body(event("service.updated", {"id": "PSVC"}))) == Ignored("service.updated")
    assert read_delivery(body(event("incident.delegated", incident()))) == Ignored("incident.delegated")


@pytest.mark.parametrize("raw", [b"", b"not json", b"[]", b'{"event": 1}',
                                 b'{"event": {"event_type": "incident.triggered"}}',
                                 json.dumps(event("incident.triggered", {"id": "bad id!"})).encode(),
                                 json.dumps(event("incident.triggered", incident(status="on fire"))).encode(),
                                 "\udcff".encode("utf-8", "surrogatepass")])
def test_what_is_no_v3_payload_is_a_bad_event(raw: bytes) -> None:
    with pytest.raises(BadEvent):
        read_delivery(raw)


def test_a_bad_time_is_a_bad_event() -> None:
    payload = event("incident.triggered", incident())
    payload["event"]["occurred_at"] = "yesterday"  # type: ignore[index]
    with pytest.raises(BadEvent, match="occurred_at"):
        read_delivery(body(payload))


def test_texts_and_people_are_bounded() -> None:
    huge = incident(title="x" * 50_000, assignees=tuple(f"Person {i}" for i in range(300)))
    state = read(event("incident.triggered", huge)).state
    assert state is not None and len(state.title) <= 1_024 and len(state.assignees) == 20
    long_note = read(event("incident.annotated", note("PINC001", "y" * 10_000)))
    assert long_note.text is not None and len(long_note.text) <= 2_000
