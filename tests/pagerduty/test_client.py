"""PagerDutyClient: headers, params, bodies, typed errors, token hygiene, schedules."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx2
import pytest
from pydantic import SecretStr

from bot.pagerduty import (
    EU_BASE_URL,
    AbilityError,
    AuthenticationError,
    ForbiddenError,
    InvalidInputError,
    MalformedResponseError,
    NotFoundError,
    PagerDutyClient,
    PagerDutyError,
    RetryPolicy,
)

TOKEN = "u+DUMMYTOKEN-abc123"
ACCEPT = "application/vnd.pagerduty+json;version=2"

Handler = Callable[[httpx2.Request], httpx2.Response]


async def _no_sleep(_: float) -> None:
    return None


def make_client(handler: Handler, **kwargs: Any) -> PagerDutyClient:
    kwargs.setdefault("sleep", _no_sleep)
    kwargs.setdefault("rng", random.Random(0))
    return PagerDutyClient(kwargs.pop("token", TOKEN), transport=httpx2.MockTransport(handler), **kwargs)


def recording(
    response: httpx2.Response | Callable[[httpx2.Request], httpx2.Response],
) -> tuple[Handler, list[httpx2.Request]]:
    seen: list[httpx2.Request] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return response(request) if callable(response) else response

    return handler, seen


# ---------------------------------------------------------------------------- headers & bodies


async def test_get_headers() -> None:
    handler, seen = recording(httpx2.Response(200, json={"incidents": []}))
    async with make_client(handler) as client:
        await client.get("/incidents")
    request = seen[0]
    assert request.method == "GET"
    assert str(request.url) == "https://api.pagerduty.com/incidents"
    assert request.headers["Authorization"] == f"Token token={TOKEN}"
    assert request.headers["Accept"] == ACCEPT
    assert request.headers["User-Agent"].startswith("alex-pagerduty-bot/")
    assert "From" not in request.headers
    assert "Content-Type" not in request.headers
    assert request.content == b""


async def test_post_sends_json_from_and_content_type() -> None:
    handler, seen = recording(httpx2.Response(201, json={"note": {"id": "N1", "content": "hi"}}))
    async with make_client(handler) as client:
        body = await client.post(
            "/incidents/PX1/notes", {"note": {"content": "hi"}}, from_email="ana@example.com"
        )
    assert body == {"note": {"id": "N1", "content": "hi"}}
    request = seen[0]
    assert request.method == "POST"
    assert request.headers["From"] == "ana@example.com"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == ACCEPT
    assert json.loads(request.content) == {"note": {"content": "hi"}}


async def test_put_without_from_sends_no_from_header() -> None:
    handler, seen = recording(httpx2.Response(200, json={"incident": {}}))
    async with make_client(handler) as client:
        await client.put("/incidents/PX1", {"incident": {"type": "incident_reference", "status": "resolved"}})
    assert "From" not in seen[0].headers
    assert seen[0].headers["Content-Type"] == "application/json"


async def test_bearer_auth_and_secretstr_token() -> None:
    handler, seen = recording(httpx2.Response(200, json={}))
    async with make_client(handler, token=SecretStr("oauth-abc"), auth_type="bearer") as client:
        await client.get("/users/me")
    assert seen[0].headers["Authorization"] == "Bearer oauth-abc"


async def test_eu_host_by_base_url() -> None:
    handler, seen = recording(httpx2.Response(200, json={}))
    async with make_client(handler, base_url=EU_BASE_URL) as client:
        await client.get("/services/PS1")
    assert str(seen[0].url) == "https://api.eu.pagerduty.com/services/PS1"


async def test_post_returns_bare_array_body() -> None:
    result = [{"status": 201, "errors": [], "override": {"id": "O1"}}]
    handler, _ = recording(httpx2.Response(201, json=result))
    async with make_client(handler) as client:
        assert await client.post("/schedules/S1/overrides", {"overrides": []}, from_email="a@b.io") == result


async def test_delete_204_is_none_and_200_is_body() -> None:
    handler, _ = recording(httpx2.Response(204))
    async with make_client(handler) as client:
        assert await client.delete("/schedules/S1/overrides/O1") is None
    handler, _ = recording(httpx2.Response(200, json={"override": {"id": "O1"}}))
    async with make_client(handler) as client:
        assert await client.delete("/schedules/S1/overrides/O1") == {"override": {"id": "O1"}}


# ---------------------------------------------------------------------------- query params


async def test_list_and_bool_params_encoding() -> None:
    handler, seen = recording(httpx2.Response(200, json={"incidents": []}))
    since = datetime(2026, 5, 10, 9, 0, tzinfo=timezone(timedelta(hours=2)))
    async with make_client(handler) as client:
        await client.get(
            "/incidents",
            {
                "statuses[]": ["triggered", "acknowledged"],
                "service_ids": ("PS1",),  # "[]" is added when missing
                "include[]": [],
                "total": True,
                "earliest": False,
                "since": since,
                "time_zone": None,
                "limit": 5,
            },
        )
    params = seen[0].url.params
    assert params.get_list("statuses[]") == ["triggered", "acknowledged"]
    assert params.get_list("service_ids[]") == ["PS1"]
    assert "include[]" not in params and "time_zone" not in params
    assert params["total"] == "true" and params["earliest"] == "false"
    assert params["since"] == "2026-05-10T09:00:00+02:00"
    assert b"%2B02%3A00" in seen[0].url.raw_path  # '+' must not be sent raw (it would decode as a space)
    assert params["limit"] == "5"


async def test_naive_datetime_param_rejected_before_sending() -> None:
    handler, seen = recording(httpx2.Response(200, json={}))
    async with make_client(handler) as client:
        with pytest.raises(ValueError, match="timezone-aware"):
            await client.get("/incidents", {"since": datetime(2026, 5, 10, 9, 0)})  # noqa: DTZ001
    assert seen == []


# ---------------------------------------------------------------------------- responses & errors


@pytest.mark.parametrize(
    ("status", "cls", "message", "code", "errors"),
    [
        (401, AuthenticationError, "Unauthorized", 2006, []),
        (402, AbilityError, "Account does not have the abilities", 2014, ["coordinated_responding"]),
        (403, ForbiddenError, "Access Denied", 2010, ["detail1", "detail2"]),
        (404, NotFoundError, "Not Found", 2100, []),
        (400, InvalidInputError, "Invalid Input Provided", 2001, ["Title can't be blank"]),
    ],
)
async def test_typed_http_errors(
    status: int, cls: type[PagerDutyError], message: str, code: int, errors: list[str]
) -> None:
    body = {"error": {"message": message, "code": code, "errors": errors}}
    handler, seen = recording(httpx2.Response(status, json=body))
    async with make_client(handler) as client:
        with pytest.raises(cls) as info:
            await client.post("/incidents", {"incident": {}}, from_email="ana@example.com")
    err = info.value
    assert (err.status, err.message, err.code, err.errors) == (status, message, code, errors)
    assert (err.method, err.path) == ("POST", "/incidents")
    assert err.maybe_applied is False
    assert str(err).startswith(f"PagerDuty {status} {message} (code {code})")
    assert len(seen) == 1


async def test_already_acknowledged_is_a_polite_no_op() -> None:
    body = {"error": {"message": "Incident Already Acknowledged", "code": 1002}}
    handler, _ = recording(httpx2.Response(400, json=body))
    async with make_client(handler) as client:
        with pytest.raises(InvalidInputError) as info:
            await client.put("/incidents/PX1", {"incident": {"status": "acknowledged"}}, from_email="a@b.io")
    assert info.value.is_already_done


async def test_v3_error_object_flattened_through_client() -> None:
    body = {
        "error": {"message": "Invalid request", "code": 2001, "errors": {"rotation.events": ["is empty"]}}
    }
    handler, _ = recording(httpx2.Response(400, json=body))
    async with make_client(handler) as client:
        with pytest.raises(InvalidInputError) as info:
            await client.post("/v3/schedules", {"schedule": {}}, from_email="a@b.io")
    assert info.value.errors == ["rotation.events: is empty"]


@pytest.mark.parametrize(
    "response",
    [
        httpx2.Response(200, content=b"<html>oops</html>"),
        httpx2.Response(200, content=b'{"incidents": ['),
        httpx2.Response(200, json=["not", "an", "object"]),
        httpx2.Response(200),
    ],
)
async def test_malformed_2xx_get(response: httpx2.Response) -> None:
    handler, _ = recording(response)
    async with make_client(handler) as client:
        with pytest.raises(MalformedResponseError) as info:
            await client.get("/incidents")
    assert info.value.maybe_applied is False


async def test_malformed_2xx_post_is_flagged_as_applied() -> None:
    handler, seen = recording(httpx2.Response(201, content=b"not json"))
    async with make_client(handler) as client:
        with pytest.raises(MalformedResponseError) as info:
            await client.post("/incidents/PX1/snooze", {"duration": 3600}, from_email="a@b.io")
    assert info.value.maybe_applied is True and len(seen) == 1


# ---------------------------------------------------------------------------- token hygiene


async def test_token_never_leaks_into_logs_repr_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    answers: list[httpx2.Response | Exception] = [
        # a hostile/buggy server echoing the Authorization header back in the error body
        httpx2.Response(401, json={"error": {"message": "bad {auth}", "code": 2006, "errors": ["{auth}"]}}),
        httpx2.Response(403, json={"error": {"message": "Access Denied", "code": 2010}}),
        httpx2.Response(429),
        httpx2.Response(500, text="{auth}"),
        httpx2.ReadTimeout("timed out"),
        httpx2.ConnectError("refused"),
        httpx2.Response(200, content=b"not json"),
    ]

    def handler(request: httpx2.Request) -> httpx2.Response:
        answer = answers[0]
        if isinstance(answer, Exception):
            raise answer
        auth = request.headers["Authorization"]
        return httpx2.Response(
            answer.status_code,
            content=answer.content.replace(b"{auth}", auth.encode()),
            headers=answer.headers,
        )

    raised: list[PagerDutyError] = []
    client = make_client(handler, retry=RetryPolicy(max_attempts=2))
    async with client:
        while answers:
            with pytest.raises(PagerDutyError) as info:
                await client.post("/incidents/PX1/notes", {"note": {"content": "x"}}, from_email="a@b.io")
            raised.append(info.value)
            answers.pop(0)
    assert len(raised) == 7
    for err in raised:
        assert TOKEN not in str(err)
        assert TOKEN not in repr(err)
        assert TOKEN not in " ".join(err.errors)
    assert TOKEN not in repr(client)
    assert "DUMMYTOKEN" not in caplog.text
    assert "PagerDuty POST /incidents/PX1/notes -> 401 (attempt 1/2" in caplog.text


def test_invalid_token_error_does_not_echo_it() -> None:
    with pytest.raises(ValueError) as info:
        PagerDutyClient("u+DUMMYTOKEN-abc123\r\nX-Evil: 1")
    assert "DUMMYTOKEN" not in str(info.value)


# ---------------------------------------------------------------------------- argument validation


@pytest.mark.parametrize(
    "path", ["incidents", "https://evil.example/x", "//evil.example/x", "/incidents?x=1", "/a/../b"]
)
async def test_bad_paths_rejected(path: str) -> None:
    handler, seen = recording(httpx2.Response(200, json={}))
    async with make_client(handler) as client:
        with pytest.raises(ValueError):
            await client.get(path)
    assert seen == []


@pytest.mark.parametrize("email", ["bot", "a@b", "a b@c.io", "a@b.io\r\nX: y"])
async def test_bad_from_email_rejected(email: str) -> None:
    handler, seen = recording(httpx2.Response(201, json={}))
    async with make_client(handler) as client:
        with pytest.raises(ValueError):
            await client.post("/incidents/PX1/notes", {"note": {}}, from_email=email)
    assert seen == []


def test_plain_http_only_for_loopback() -> None:
    with pytest.raises(ValueError):
        PagerDutyClient(TOKEN, base_url="http://api.pagerduty.com")
    PagerDutyClient(TOKEN, base_url="http://127.0.0.1:8080")  # local sandbox is fine


# ---------------------------------------------------------------------------- conveniences


async def test_me_returns_user() -> None:
    handler, seen = recording(httpx2.Response(200, json={"user": {"id": "PU1", "email": "ana@example.com"}}))
    async with make_client(handler) as client:
        assert (await client.me())["id"] == "PU1"
    assert seen[0].url.path == "/users/me"


SINCE = datetime(2026, 5, 10, 0, 0, tzinfo=UTC)
UNTIL = SINCE + timedelta(days=7)


async def test_get_schedule_v3() -> None:
    schedule = {"id": "PS1", "type": "schedule_v3", "final_schedule": {"computed_shift_assignments": []}}
    handler, seen = recording(httpx2.Response(200, json={"schedule": schedule}))
    async with make_client(handler) as client:
        result = await client.get_schedule("PS1", SINCE, UNTIL, time_zone="Europe/Berlin")
    assert (result.kind, result.id, result.schedule) == ("v3", "PS1", schedule)
    assert len(seen) == 1
    request = seen[0]
    assert request.url.path == "/v3/schedules/PS1"
    assert request.url.params.get_list("include[]") == ["final_schedule"]
    assert request.url.params["since"] == "2026-05-10T00:00:00+00:00"
    assert request.url.params["until"] == "2026-05-17T00:00:00+00:00"
    assert request.url.params["time_zone"] == "Europe/Berlin"


@pytest.mark.parametrize(
    "v3_failure",
    [
        httpx2.Response(404, json={"error": {"message": "Not Found", "code": 2100}}),
        httpx2.Response(400, json={"error": {"message": "This is a v2 schedule", "code": 2001}}),
    ],
)
async def test_get_schedule_falls_back_to_v2(v3_failure: httpx2.Response) -> None:
    schedule = {"id": "PS2", "type": "schedule", "final_schedule": {"rendered_schedule_entries": []}}

    def answer(request: httpx2.Request) -> httpx2.Response:
        if request.url.path.startswith("/v3/"):
            return v3_failure
        return httpx2.Response(200, json={"schedule": schedule})

    handler, seen = recording(answer)
    async with make_client(handler) as client:
        result = await client.get_schedule("PS2", SINCE, UNTIL)
    assert (result.kind, result.schedule) == ("v2", schedule)
    assert [r.url.path for r in seen] == ["/v3/schedules/PS2", "/schedules/PS2"]
    v2 = seen[1].url.params
    assert v2["since"] == "2026-05-10T00:00:00+00:00" and "include[]" not in v2


async def test_get_schedule_not_found_anywhere() -> None:
    handler, seen = recording(httpx2.Response(404, json={"error": {"message": "Not Found", "code": 2100}}))
    async with make_client(handler) as client:
        with pytest.raises(NotFoundError):
            await client.get_schedule("PNOPE", SINCE, UNTIL)
    assert len(seen) == 2


async def test_get_schedule_rejects_naive_datetimes() -> None:
    handler, seen = recording(httpx2.Response(200, json={}))
    async with make_client(handler) as client:
        with pytest.raises(ValueError):
            await client.get_schedule("PS1", SINCE.replace(tzinfo=None), UNTIL)
        with pytest.raises(ValueError):
            await client.get_schedule("PS1", UNTIL, SINCE)
    assert seen == []
