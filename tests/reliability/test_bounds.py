"""Issue #10 item 13: no input freezes the sandbox, and every range and count it accepts is bounded.

Black box: the real ``alex sandbox`` command in its own process, reached over loopback HTTP. Each refused
request must answer 400 with PagerDuty's error body naming the bound, and a normal request sent right
after must still be answered: the client's 5 s timeout is the "nothing froze" check (before the fix
``until=9999-12-31`` on a v3 schedule held the server's only thread for minutes and grew past 2 GB).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from bot.sandbox import DEFAULT_NOW, Sandbox, build_world
from bot.sandbox.datasets.demo import DEMO_TOKEN
from tests.slack.conftest import SlackFactory, message_text

MANAGER_EMAIL = "sam.rivera@acme-payments.example"
ANSWER_WITHIN = 5.0
"""Seconds: far longer than any bounded request takes, far shorter than the freeze."""

_WORLD = build_world("demo", now=DEFAULT_NOW)  # the same (dataset, now) as the served one: the same IDs
V2 = next(s.id for s in _WORLD.schedules.values() if s.name == "Platform Primary")
V3 = next(s.id for s in _WORLD.schedules.values() if s.kind == "v3")
SERVICE = next(s.id for s in _WORLD.services.values() if s.name == "platform-engineering")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def sandbox_url() -> Iterator[str]:
    """``alex sandbox`` on a free loopback port (demo account, now = DEFAULT_NOW), stopped afterwards."""
    port = _free_port()
    with subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "sandbox", "--port", str(port), "--now", "2026-03-10T14:00:00Z"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as process:
        try:
            assert process.stdout is not None
            banner = process.stdout.readline().decode()
            assert f"http://127.0.0.1:{port}" in banner, banner
            yield f"http://127.0.0.1:{port}"
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:  # a frozen server (the bug) does not stop on SIGTERM in time
                process.kill()
                process.wait(10)


@pytest.fixture
def client(sandbox_url: str) -> Iterator[httpx2.Client]:
    headers = {"Authorization": f"Token token={DEMO_TOKEN}", "Accept": "application/vnd.pagerduty+json;version=2"}
    with httpx2.Client(base_url=sandbox_url, headers=headers, timeout=ANSWER_WITHIN) as http:
        yield http


def _error(response: httpx2.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    return body


def _messages(error: dict[str, Any]) -> str:
    """The error details as one text; v3 endpoints key them by field (``{"until": [...]}``)."""
    details = error.get("errors") or []
    if isinstance(details, dict):
        details = [m for messages in details.values() for m in messages]
    return " ".join(details)


def _still_answers(http: httpx2.Client) -> None:
    """A normal request right after is answered (within the client's timeout): nothing froze."""
    week = http.get(f"/schedules/{V2}", params={"since": "2026-03-10T14:00:00Z", "until": "2026-03-17T14:00:00Z"})
    assert week.status_code == 200
    assert week.json()["schedule"]["final_schedule"]["rendered_schedule_entries"]


REFUSED_READS = [
    # (path, query, words the error must contain)
    pytest.param(f"/v3/schedules/{V3}", {"until": "9999-12-31", "include[]": "final_schedule"},
                 "between 1970 and 2099", id="v3-until-9999"),
    pytest.param(f"/v3/schedules/{V3}", {"since": "2026-03-10", "until": "9999-12-31",
                                         "include[]": "final_schedule"},
                 "between 1970 and 2099", id="v3-now-to-9999"),  # the freeze: 8,000 years of shifts
    pytest.param(f"/v3/schedules/{V3}", {"since": "2026-03-10", "until": "2099-12-31",
                                         "include[]": "final_schedule"},
                 "maximum of 366 days", id="v3-seventy-years"),
    pytest.param(f"/schedules/{V2}", {"until": "9999-12-31"}, "between 1970 and 2099", id="v2-until-9999"),
    pytest.param(f"/schedules/{V2}", {"since": "2026-03-10T00:00:00Z", "until": "2036-03-10T00:00:00Z"},
                 "maximum of 366 days", id="v2-ten-years"),
    pytest.param(f"/schedules/{V2}", {"since": "0001-01-01T00:00:00+05:00"}, "between 1970 and 2099",
                 id="v2-since-year-1"),
    pytest.param(f"/schedules/{V2}", {"since": "2026-03-10T00:00:00Z", "time_zone": "America"},
                 "not a valid time zone", id="v2-zone-directory"),
    pytest.param(f"/schedules/{V2}/users", {"since": "2026-01-01T00:00:00Z", "until": "2036-01-01T00:00:00Z"},
                 "maximum of 366 days", id="users-ten-years"),
    pytest.param(f"/schedules/{V2}/overrides", {"since": "0001-01-01", "until": "9999-12-31"},
                 "between 1970 and 2099", id="overrides-all-time"),
    pytest.param("/schedules", {"include[]": "final_schedule", "since": "2026-03-10T00:00:00Z",
                                "until": "2027-03-10T00:00:00Z"},
                 "maximum of 93 days", id="list-a-year"),
    pytest.param("/oncalls", {"since": "0001-01-01"}, "between 1970 and 2099", id="oncalls-since-year-1"),
    pytest.param("/oncalls", {"since": "2020-01-01T00:00:00Z"}, "maximum of 366 days", id="oncalls-six-years"),
    pytest.param("/oncalls", {"until": "2026-12-31T00:00:00Z"}, "90 days", id="oncalls-past-90-days"),
    pytest.param("/incidents", {"until": "0001-01-01"}, "between 1970 and 2099", id="incidents-until-year-1"),
    pytest.param("/incidents", {"since": "2025-01-01T00:00:00Z", "until": "2026-03-01T00:00:00Z"},
                 "maximum of 6 months", id="incidents-over-6-months"),
    pytest.param("/incidents", {"time_zone": "x" * 1000}, "longer than 64 characters", id="incidents-huge-zone"),
    pytest.param("/incidents", {"since": "2026-03-01T00:00:00Z" + " " * 100}, "longer than 64 characters",
                 id="incidents-huge-since"),
    pytest.param("/log_entries", {"until": "9999-12-31T23:59:59-05:00"}, "between 1970 and 2099",
                 id="log-entries-until-9999"),
]


@pytest.mark.parametrize(("path", "query", "says"), REFUSED_READS)
def test_13_ranges_past_their_bound_are_400_and_the_server_keeps_answering(
        client: httpx2.Client, path: str, query: dict[str, str], says: str) -> None:
    response = client.get(path, params=query)
    assert response.status_code == 400, response.text[:300]
    error = _error(response)
    assert error["message"] == "Invalid Input Provided"
    assert error["code"] in (2001, 2004)  # 2004: a since PagerDuty cannot read at all
    assert says in _messages(error)
    _still_answers(client)


def test_13_paging_past_the_offset_cap_is_400(client: httpx2.Client) -> None:
    response = client.get("/incidents", params={"date_range": "all", "limit": 100, "offset": 99_999})
    assert response.status_code == 400
    assert "10000" in _messages(_error(response))
    assert client.get("/incidents", params={"limit": "9" * 5000}).status_code == 400  # not an integer overflow
    _still_answers(client)


def test_13_override_writes_are_bounded(client: httpx2.Client) -> None:
    writes = {"From": MANAGER_EMAIL}
    user = next(u.id for u in _WORLD.users.values() if u.email == MANAGER_EMAIL)

    def override(start: str, end: str) -> dict[str, Any]:
        return {"start": start, "end": end, "user": {"id": user, "type": "user_reference"}}

    far = client.post(f"/schedules/{V2}/overrides", headers=writes, json={"overrides": [
        override("2026-03-20T09:00:00Z", "9999-12-31T23:00:00-05:00")]})
    assert far.status_code == 201  # PagerDuty's per-item results
    [item] = far.json()
    assert item["status"] == 400 and "between 1970 and 2099" in " ".join(item["errors"])

    many = client.post(f"/schedules/{V2}/overrides", headers=writes, json={"overrides": [
        override("2026-03-20T09:00:00Z", "2026-03-20T10:00:00Z")] * 101})
    assert many.status_code == 400
    assert "A maximum of 100 overrides" in _messages(_error(many))
    _still_answers(client)


def test_13_an_incident_title_is_bounded(client: httpx2.Client) -> None:
    body = {"incident": {"type": "incident", "title": "x" * 100_000,
                         "service": {"id": SERVICE, "type": "service_reference"}}}
    response = client.post("/incidents", headers={"From": MANAGER_EMAIL}, json=body)
    assert response.status_code == 400
    assert "longer than 1024 characters" in _messages(_error(response))
    _still_answers(client)


# --------------------------------------------------------------------------- alex's own windows


@pytest.mark.parametrize(("typed", "says"), [
    # These three crashed ("Something went wrong") on a calendar overflow before the fix.
    ("who is on call next 99999999 weeks", "longer than the longest window here, 366 days"),
    ("who is on call 0001-01-01T00:00+05:00", "more than 10 years from now"),
    ("who is on call 9999-12-31T23:59", "more than 10 years from now"),  # read in Sam's New York time
    # A tool's own, shorter limit is the one named.
    ("schedule Platform Primary next 10000 weeks", "longer than the longest window here, 35 days"),
])
async def test_13_a_typed_window_of_centuries_is_answered_with_the_limit(
        make_slack: SlackFactory, demo: Sandbox, typed: str, says: str) -> None:
    """The reply names the limit, and no on-call or schedule request reaches PagerDuty."""
    slack = await make_slack()
    await slack.mention(typed)
    reply = message_text(await slack.reply())
    assert says in reply, reply
    assert [r.path for r in demo.requests if r.path.startswith(("/oncalls", "/schedules", "/v3"))] == []
