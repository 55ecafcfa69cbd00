"""Unit tests for bot.pagerduty.errors: parsing PagerDuty error bodies into typed errors."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from bot.pagerduty.errors import (
    AbilityError,
    AuthenticationError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    PagerDutyError,
    PagerDutyTimeout,
    RateLimitedError,
    ServerError,
    error_from_response,
    parse_ratelimit_reset,
)


def _response(
    status: int, body: Any = None, *, content: bytes | None = None, headers: Any = None
) -> httpx2.Response:
    if content is None and body is not None:
        return httpx2.Response(status, json=body, headers=headers)
    return httpx2.Response(status, content=content or b"", headers=headers)


def _err(response: httpx2.Response, **kwargs: Any) -> PagerDutyError:
    return error_from_response(response, method="PUT", path="/incidents/P1", **kwargs)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, InvalidInputError),
        (401, AuthenticationError),
        (402, AbilityError),
        (403, ForbiddenError),
        (404, NotFoundError),
        (408, PagerDutyTimeout),
        (413, InvalidInputError),
        (429, RateLimitedError),
        (500, ServerError),
        (503, ServerError),
        (418, PagerDutyError),
    ],
)
def test_status_maps_to_type(status: int, cls: type[PagerDutyError]) -> None:
    err = _err(_response(status, {"error": {"message": "Nope", "code": 2001}}))
    assert type(err) is cls
    assert err.status == status
    assert err.method == "PUT" and err.path == "/incidents/P1"


def test_ability_error_is_a_forbidden_error() -> None:
    assert issubclass(AbilityError, ForbiddenError)


def test_v2_body_message_code_errors_and_str() -> None:
    body = {"error": {"message": "Access Denied", "code": 2010, "errors": ["detail1", "detail2"]}}
    err = _err(_response(403, body))
    assert isinstance(err, ForbiddenError)
    assert (err.message, err.code, err.errors) == ("Access Denied", 2010, ["detail1", "detail2"])
    assert str(err) == "PagerDuty 403 Access Denied (code 2010): detail1; detail2"


def test_v3_errors_object_is_flattened() -> None:
    body = {
        "error": {
            "message": "Invalid request",
            "code": 2001,
            "errors": {
                "event.effective_since": ["must be in the future"],
                "rotation.events": ["is empty", "x"],
            },
        }
    }
    err = _err(_response(400, body))
    assert err.errors == [
        "event.effective_since: must be in the future",
        "rotation.events: is empty",
        "rotation.events: x",
    ]
    assert "event.effective_since: must be in the future" in str(err)


@pytest.mark.parametrize(
    "response",
    [
        _response(502),  # empty body
        _response(502, content=b"<html>Bad Gateway</html>", headers={"content-type": "text/html"}),
        _response(502, ["not", "an", "object"]),
        _response(502, {"error": None}),
        _response(502, {"unexpected": True}),
    ],
)
def test_missing_or_odd_bodies_fall_back_to_reason_phrase(response: httpx2.Response) -> None:
    err = _err(response)
    assert isinstance(err, ServerError)
    assert err.message == "Bad Gateway"
    assert err.code is None and err.errors == []
    assert str(err) == "PagerDuty 502 Bad Gateway"


def test_string_error_and_string_code_are_tolerated() -> None:
    assert _err(_response(400, {"error": "Bad thing"})).message == "Bad thing"
    assert _err(_response(400, {"error": {"message": "m", "code": "2001"}})).code == 2001
    assert _err(_response(400, {"error": {"message": "m", "code": True}})).code is None


def test_429_without_headers_or_body() -> None:
    err = _err(_response(429))
    assert isinstance(err, RateLimitedError)
    assert err.retry_after is None
    assert err.message == "Too Many Requests"


def test_429_with_pd_body_and_reset_header() -> None:
    body = {"error": {"message": "Rate Limit Exceeded", "code": 2020}}
    err = _err(_response(429, body, headers={"ratelimit-reset": "2", "ratelimit-remaining": "0"}))
    assert isinstance(err, RateLimitedError)
    assert err.retry_after == 2.0
    assert str(err) == "PagerDuty 429 Rate Limit Exceeded (code 2020)"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"ratelimit-reset": "17"}, 17.0),
        ({"RateLimit-Reset": " 0.5 "}, 0.5),
        ({"ratelimit-reset": "soon"}, None),
        ({"ratelimit-reset": "-3"}, None),
        ({"ratelimit-reset": "nan"}, None),
        ({"retry-after": "5"}, None),  # PagerDuty does not send Retry-After; don't pretend it does
    ],
)
def test_parse_ratelimit_reset(headers: dict[str, str], expected: float | None) -> None:
    assert parse_ratelimit_reset(httpx2.Headers(headers)) == expected


@pytest.mark.parametrize(("code", "done"), [(1001, True), (1002, True), (1003, False), (None, False)])
def test_is_already_done(code: int | None, done: bool) -> None:
    err = _err(_response(400, {"error": {"message": "Incident Already Resolved", "code": code}}))
    assert err.is_already_done is done


def test_maybe_applied_is_carried() -> None:
    err = _err(_response(500), maybe_applied=True)
    assert err.maybe_applied is True
    assert _err(_response(500)).maybe_applied is False


def test_redact_removes_secret_from_message_and_errors() -> None:
    secret = "u+DUMMYTOKEN-abc123"
    body = {"error": {"message": f"bad token {secret}", "errors": [f"got {secret}"]}}
    err = _err(_response(401, body), redact=secret)
    assert secret not in str(err)
    assert secret not in repr(err)
    assert err.message == "bad token ***" and err.errors == ["got ***"]


def test_error_without_status() -> None:
    err = PagerDutyTimeout("request timed out (ReadTimeout)", method="GET", path="/users/me")
    assert str(err) == "PagerDuty request timed out (ReadTimeout)"
    assert err.status is None and err.code is None and err.errors == []
