"""PagerDuty V3 webhook deliveries for tests, in the shape PagerDuty documents ("Webhook Payload",
developer.pagerduty.com/docs/webhooks/overview): ``{"event": {"id", "event_type", "resource_type",
"occurred_at", "agent", "client", "data"}}``, ``data`` the incident (``number``, ``assignees``…) for state
events, an ``incident_note`` / ``incident_status_update`` / ``incident_responder`` for the others; signed
with ``X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the raw body>``."""

from __future__ import annotations

import copy
import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.notify.signature import sign

SECRET = "pd-webhook-DUMMY-secret-3f9a"
OLD_SECRET = "pd-webhook-DUMMY-old-secret-77c1"
BASE = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
_ids = itertools.count(1)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def ref(kind: str, pd_id: str, summary: str) -> dict[str, Any]:
    path = {"service": "service-directory", "user": "users", "team": "teams", "priority": "account/incident_priorities",
            "escalation_policy": "escalation_policies", "incident": "incidents"}[kind]
    return {"html_url": f"https://acme.pagerduty.com/{path}/{pd_id}", "id": pd_id,
            "self": f"https://api.pagerduty.com/{kind}s/{pd_id}", "summary": summary, "type": f"{kind}_reference"}


def incident(*, pd_id: str = "PINC001", number: int = 4242, title: str = "Checkout latency over 2 s",
             status: str = "triggered", urgency: str = "high", service: tuple[str, str] = ("P5SRVGG", "payments-api"),
             priority: str | None = "P2", assignees: tuple[str, ...] = ("Aisha Khan",),
             teams: tuple[tuple[str, str], ...] = (("PR9BTF2", "Payments"),),
             created: datetime = BASE) -> dict[str, Any]:
    """``event.data`` of a state event: an ``incident``."""
    return {
        "id": pd_id, "type": "incident", "self": f"https://api.pagerduty.com/incidents/{pd_id}",
        "html_url": f"https://acme.pagerduty.com/incidents/{pd_id}", "number": number, "status": status,
        "incident_key": f"key-{pd_id}", "created_at": iso(created), "title": title,
        "service": ref("service", *service),
        "assignees": [ref("user", f"PUSER{i:02d}", name) for i, name in enumerate(assignees)],
        "escalation_policy": ref("escalation_policy", "PPOLICY", "Payments"),
        "teams": [ref("team", team_id, name) for team_id, name in teams],
        "priority": ref("priority", f"PPRIO{priority}", priority) if priority else None,
        "urgency": urgency, "conference_bridge": None, "resolve_reason": None,
    }


def from_rest(rest: dict[str, Any]) -> dict[str, Any]:
    """A sandbox (REST) incident as a V3 event's ``data``: ``incident_number`` → ``number``, assignments →
    ``assignees``."""
    data = {k: copy.deepcopy(rest.get(k)) for k in ("id", "self", "html_url", "status", "incident_key", "created_at",
                                                    "title", "service", "escalation_policy", "teams", "priority",
                                                    "urgency", "conference_bridge", "resolve_reason")}
    data.update(type="incident", number=rest["incident_number"],
                assignees=[a["assignee"] for a in rest.get("assignments") or []])
    return data


def changed(data: dict[str, Any], **fields: Any) -> dict[str, Any]:
    out = copy.deepcopy(data)
    out.update(fields)
    return out


def note(incident_id: str, content: str, *, kind: str = "incident_note") -> dict[str, Any]:
    data: dict[str, Any] = {"incident": ref("incident", incident_id, "Checkout latency over 2 s"), "id": "PNOTE01",
                            "trimmed": False, "type": kind}
    data["content" if kind == "incident_note" else "message"] = content
    return data


def responder(incident_id: str, who: str) -> dict[str, Any]:
    return {"incident": ref("incident", incident_id, "Checkout latency over 2 s"), "user": ref("user", "PRESP01", who),
            "escalation_policy": ref("escalation_policy", "PPOLICY", "Payments"), "message": "Please help",
            "state": "pending", "type": "incident_responder"}


def event(event_type: str, data: dict[str, Any], *, at: datetime | None = None, minutes: float = 0,
          event_id: str | None = None, agent: str | None = "Sam Rivera") -> dict[str, Any]:
    return {"event": {
        "id": event_id or f"01EVT{next(_ids):020d}", "event_type": event_type, "resource_type": "incident",
        "occurred_at": iso((at or BASE) + timedelta(minutes=minutes)),
        "agent": ref("user", "PSAM001", agent) if agent else None, "client": {"name": "PagerDuty"}, "data": data}}


def body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def headers(raw: bytes, *secrets: str) -> dict[str, str]:
    """PagerDuty's headers: one ``v1=`` signature per secret (several during a rotation)."""
    return {"Content-Type": "application/json",
            "X-PagerDuty-Signature": ",".join(sign(raw, s) for s in (secrets or (SECRET,))),
            "X-Webhook-Id": "PWEBHOOK1", "User-Agent": "PagerDuty-Webhook/V3.0"}
