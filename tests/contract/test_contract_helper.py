"""Tests of the contract helper itself: it accepts what PagerDuty really sends and catches real mistakes.

Traffic here is hand-written (httpx2.MockTransport handlers), shaped like the real API's.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from openapi_spec_validator import OpenAPIV30SpecValidator

from tests.contract.openapi_contract import (
    MISSING_SPEC_MESSAGE,
    SPEC_ENV_VAR,
    SPEC_PATCHES,
    Contract,
    ContractViolation,
    SpecPatch,
    ValidatingTransport,
    apply_spec_patches,
    require_contract,
    spec_path,
)

BASE_URL = "http://sandbox.test"
HEADERS = {
    "Accept": "application/vnd.pagerduty+json;version=2",
    "Authorization": "Token token=x",
    "Content-Type": "application/json",
}
FROM = {"From": "oncall@example.com"}

Handler = Callable[[httpx2.Request], httpx2.Response]


# ---------------------------------------------------------------------------------------------------------
# Realistic payloads
# ---------------------------------------------------------------------------------------------------------


def ref(kind: str, id_: str, summary: str = "") -> dict[str, Any]:
    return {
        "id": id_,
        "type": f"{kind}_reference",
        "summary": summary or id_,
        "self": f"https://api.pagerduty.com/{kind}s/{id_}",
        "html_url": f"https://acme.pagerduty.com/{kind}s/{id_}",
    }


def incident(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": "PT4KHLK",
        "type": "incident",
        "summary": "[#1234] The server is on fire.",
        "self": "https://api.pagerduty.com/incidents/PT4KHLK",
        "html_url": "https://acme.pagerduty.com/incidents/PT4KHLK",
        "incident_number": 1234,
        "title": "The server is on fire.",
        "created_at": "2026-03-01T09:30:42Z",
        "updated_at": "2026-03-01T09:40:23Z",
        "status": "acknowledged",
        "incident_key": "baf7cf21b1da41b4b0221008339ff357",
        "service": ref("service", "PIJ90N7", "Mail"),
        "assignments": [{"at": "2026-03-01T09:31:00Z", "assignee": ref("user", "PXPGF42", "Earline")}],
        "acknowledgements": [{"at": "2026-03-01T09:35:00Z", "acknowledger": ref("user", "PXPGF42")}],
        "assigned_via": "escalation_policy",
        "last_status_change_at": "2026-03-01T09:35:00Z",
        "resolved_at": None,
        "first_trigger_log_entry": {
            **ref("log_entry", "Q02JTSNZWHSEKV"),
            "type": "trigger_log_entry_reference",
        },
        "alert_counts": {"all": 2, "triggered": 2, "resolved": 0},
        "is_mergeable": True,
        "escalation_policy": ref("escalation_policy", "PT20YPA"),
        "teams": [ref("team", "PQ9K7I8", "Engineering")],
        "pending_actions": [],
        "priority": ref("priority", "P53ZZH5", "P2"),
        "urgency": "high",
        "resolve_reason": None,
        "alert_grouping": None,
    }
    body.update(overrides)
    return body


def incident_list(*incidents: dict[str, Any]) -> dict[str, Any]:
    return {"incidents": list(incidents), "limit": 25, "offset": 0, "more": False, "total": None}


def note() -> dict[str, Any]:
    return {
        "id": "PWL7QXS",
        "user": ref("user", "PXPGF42"),
        "channel": {"summary": "The PagerDuty website or APIs"},
        "content": "Firefighters are on the scene.",
        "created_at": "2026-03-01T09:41:00Z",
    }


# ---------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------


def request(
    method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
) -> httpx2.Request:
    return httpx2.Request(method, BASE_URL + path, headers={**HEADERS, **(headers or {})}, **kwargs)


def answer(status: int, body: Any) -> Handler:
    def handler(_: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(status, json=body)

    return handler


def client(contract: Contract, handler: Handler) -> tuple[httpx2.AsyncClient, ValidatingTransport]:
    transport = ValidatingTransport(httpx2.MockTransport(handler), contract)
    return httpx2.AsyncClient(transport=transport, base_url=BASE_URL, headers=HEADERS), transport


def check(contract: Contract, req: httpx2.Request, status: int, body: Any) -> None:
    """Validate ``req`` and a JSON response to it."""
    contract.validate_request(req)
    contract.validate_response(req, httpx2.Response(status, json=body))


@pytest.fixture(scope="module")
def official_spec(contract: Contract) -> dict[str, Any]:
    """The unpatched official document (the ``contract`` fixture already proved it exists)."""
    path = spec_path()
    assert path is not None
    with path.open("rb") as fh:
        spec: dict[str, Any] = json.load(fh)
    return spec


def contract_without(official: dict[str, Any], patch_name: str) -> Contract:
    """A contract with every patch except ``patch_name``, to show that patch is needed."""
    patches = [p for p in SPEC_PATCHES if p.name != patch_name]
    assert len(patches) == len(SPEC_PATCHES) - 1, f"no patch named {patch_name!r}"
    return Contract(apply_spec_patches(copy.deepcopy(official), patches))


# ---------------------------------------------------------------------------------------------------------
# Locating the spec
# ---------------------------------------------------------------------------------------------------------


def test_spec_path_prefers_the_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    custom = tmp_path / "spec.json"
    custom.write_text("{}")
    monkeypatch.setenv(SPEC_ENV_VAR, str(custom))
    assert spec_path() == custom

    monkeypatch.setenv(SPEC_ENV_VAR, str(tmp_path / "missing.json"))
    assert spec_path() is None


def test_require_contract_skips_with_instructions_when_the_spec_is_absent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SPEC_ENV_VAR, str(tmp_path / "missing.json"))
    monkeypatch.delenv("ALEX_REQUIRE_SPECS", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        require_contract()
    assert skipped.value.msg == MISSING_SPEC_MESSAGE
    assert "github.com/PagerDuty/api-schema" in MISSING_SPEC_MESSAGE
    monkeypatch.setenv("ALEX_REQUIRE_SPECS", "1")  # CI: the same absence is a failure
    with pytest.raises(pytest.fail.Exception):
        require_contract()


def test_default_location_is_shared_specs_next_to_the_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SPEC_ENV_VAR, raising=False)
    found = spec_path()
    if found is None:
        pytest.skip(MISSING_SPEC_MESSAGE)
    repo_root = Path(__file__).resolve().parents[2]
    assert found == repo_root.parent / "shared" / "specs" / "pagerduty-rest-openapiv3.json"


# ---------------------------------------------------------------------------------------------------------
# Accepts what the real API sends
# ---------------------------------------------------------------------------------------------------------


async def test_incident_list_with_repeated_array_params_passes(contract: Contract) -> None:
    seen: list[httpx2.Request] = []

    def handler(req: httpx2.Request) -> httpx2.Response:
        seen.append(req)
        return httpx2.Response(200, json=incident_list(incident(), incident(id="PX2", status="triggered")))

    http, transport = client(contract, handler)
    async with http:
        params: list[tuple[str, str | int | float | bool | None]] = [
            ("statuses[]", "triggered"),
            ("statuses[]", "acknowledged"),
            ("include[]", "services"),
            ("limit", "25"),
        ]
        response = await http.get("/incidents", params=params)

    assert response.status_code == 200
    assert response.json()["incidents"][0]["id"] == "PT4KHLK"  # the body is still readable downstream
    assert seen[0].url.params.get_list("statuses[]") == ["triggered", "acknowledged"]
    assert transport.checked_paths == {("GET", "/incidents")}
    assert transport.violations == []


@pytest.mark.parametrize(
    "base_url", ["https://api.pagerduty.com", "https://api.eu.pagerduty.com", "http://127.0.0.1:8080"]
)
def test_requests_are_matched_by_path_whatever_the_host(contract: Contract, base_url: str) -> None:
    req = httpx2.Request("GET", f"{base_url}/incidents/PT4KHLK", headers=HEADERS)
    assert contract.validate_request(req) == "/incidents/{id}"
    assert (
        contract.validate_response(req, httpx2.Response(200, json={"incident": incident()}))
        == "/incidents/{id}"
    )


def test_create_incident_with_service_reference_passes(
    contract: Contract, official_spec: dict[str, Any]
) -> None:
    body = {
        "incident": {
            "type": "incident",
            "title": "Disk full on db-1",
            "service": {"id": "PIJ90N7", "type": "service_reference"},
            "urgency": "high",
            "body": {"type": "incident_body", "details": "/var is at 99%"},
            "escalation_policy": {"id": "PT20YPA", "type": "escalation_policy_reference"},
        }
    }
    req = request("POST", "/incidents", headers=FROM, json=body)
    check(contract, req, 201, {"incident": incident(status="triggered", acknowledgements=[])})

    # Without the patch, the official readOnly on reference ids rejects the very shape the API expects.
    with pytest.raises(ContractViolation, match="Tried to write read-only property"):
        contract_without(official_spec, "writable reference id/type").validate_request(req)


def test_override_for_a_user_reference_passes(contract: Contract) -> None:
    body = {
        "override": {
            "start": "2026-03-02T09:00:00Z",
            "end": "2026-03-02T17:00:00Z",
            "user": {"id": "PXPGF42", "type": "user_reference"},
        }
    }
    contract.validate_request(request("POST", "/schedules/PI7DH85/overrides", json=body))


def test_permanent_oncall_with_null_start_end_schedule_passes(
    contract: Contract, official_spec: dict[str, Any]
) -> None:
    permanent = {
        "escalation_policy": ref("escalation_policy", "PT20YPA"),
        "escalation_level": 1,
        "schedule": None,
        "user": ref("user", "PXPGF42"),
        "start": None,
        "end": None,
    }
    scheduled = {
        **permanent,
        "escalation_level": 2,
        "schedule": ref("schedule", "PI7DH85"),
        "start": "2026-03-01T00:00:00Z",
        "end": "2026-03-08T00:00:00Z",
    }
    body = {"oncalls": [permanent, scheduled], "limit": 25, "offset": 0, "more": False, "total": None}
    req = request("GET", "/oncalls", params=[("escalation_policy_ids[]", "PT20YPA"), ("earliest", "true")])
    check(contract, req, 200, body)

    with pytest.raises(
        ContractViolation, match=r"\$\.oncalls\[0\]\.start: null, but the schema is not nullable"
    ):
        contract_without(official_spec, "nullable Oncall.start/end/schedule").validate_response(
            req, httpx2.Response(200, json=body)
        )


def test_null_acknowledgements_pass(contract: Contract, official_spec: dict[str, Any]) -> None:
    req = request("GET", "/incidents/PT4KHLK")
    check(contract, req, 200, {"incident": incident(status="triggered", acknowledgements=None)})

    with pytest.raises(ContractViolation, match=r"\$\.incident\.acknowledgements: null"):
        contract_without(official_spec, "nullable Incident.acknowledgements").validate_response(
            req, httpx2.Response(200, json={"incident": incident(acknowledgements=None)})
        )


async def test_note_created_with_201_passes(contract: Contract, official_spec: dict[str, Any]) -> None:
    http, transport = client(contract, answer(201, {"note": note()}))
    async with http:
        response = await http.post(
            "/incidents/PT4KHLK/notes",
            headers=FROM,
            json={"note": {"content": "Firefighters are on the scene."}},
        )
    assert response.status_code == 201
    assert transport.checked_paths == {("POST", "/incidents/{id}/notes")}

    with pytest.raises(ContractViolation, match=r"Unknown response http status: 201 \(documented: 200,"):
        contract_without(official_spec, "POST /incidents/{id}/notes answers 201").validate_response(
            response.request, response
        )


def test_listing_overrides_may_answer_200(contract: Contract) -> None:
    window = {"since": "2026-03-01T00:00:00Z", "until": "2026-03-08T00:00:00Z"}
    req = request("GET", "/schedules/PI7DH85/overrides", params=window)
    override = {
        "id": "PQ47DCP",
        "start": "2026-03-02T09:00:00Z",
        "end": "2026-03-02T17:00:00Z",
        "user": ref("user", "PXPGF42"),
    }
    check(contract, req, 200, {"overrides": [override]})
    check(contract, req, 201, {"overrides": [override]})  # what the spec documents


def test_create_bodies_may_carry_the_entity_type(contract: Contract, official_spec: dict[str, Any]) -> None:
    req = request("POST", "/teams", json={"team": {"type": "team", "name": "Engineering"}})
    contract.validate_request(req)
    with pytest.raises(ContractViolation, match=r"\$\.team\.type: Tried to write read-only property"):
        contract_without(official_spec, "writable entity type").validate_request(req)


def test_log_entries_with_a_channel_pass(contract: Contract, official_spec: dict[str, Any]) -> None:
    entry = {
        **ref("log_entry", "Q02JTSNZWHSEKV", "Triggered through the API"),
        "type": "trigger_log_entry",
        "created_at": "2026-03-01T09:30:42Z",
        "agent": ref("service", "PIJ90N7"),
        "channel": {"type": "api"},
        "service": ref("service", "PIJ90N7"),
        "incident": ref("incident", "PT4KHLK"),
        "teams": [],
        "contexts": [],
    }
    body = {"log_entries": [entry], "limit": 25, "offset": 0, "more": False, "total": None}
    req = request("GET", "/incidents/PT4KHLK/log_entries")
    check(contract, req, 200, body)
    with pytest.raises(ContractViolation, match="matches more than one oneOf alternative"):
        contract_without(official_spec, "Channel: oneOf -> anyOf").validate_response(
            req, httpx2.Response(200, json=body)
        )


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/incidents", {}),
        ("GET", "/incidents/{id}", {}),
        ("POST", "/incidents", FROM),
        ("GET", "/incidents/{id}/notes", {}),
        ("POST", "/incidents/{id}/notes", FROM),
        ("GET", "/incidents/{id}/log_entries", {}),
        ("GET", "/log_entries", {}),
        ("GET", "/oncalls", {}),
        ("GET", "/services", {}),
        ("POST", "/teams", {}),
        ("POST", "/schedules", {}),
        ("GET", "/priorities", {}),
    ],
)
def test_the_specs_own_examples_pass(
    contract: Contract, method: str, path: str, headers: dict[str, str]
) -> None:
    """PagerDuty's published examples for endpoints we use validate against the patched spec."""
    operation = contract.spec["paths"][path][method.lower()]
    concrete = path.replace("{id}", "PT4KHLK")
    checked = 0
    for example in _examples(operation.get("requestBody", {})):
        contract.validate_request(request(method, concrete, headers=headers, json=example))
        checked += 1
    for status, response in operation["responses"].items():
        for example in _examples(response):
            contract.validate_response(
                request(method, concrete, headers=headers), httpx2.Response(int(status), json=example)
            )
            checked += 1
    assert checked, "no examples found"


def _examples(holder: dict[str, Any]) -> Iterator[Any]:
    media = holder.get("content", {}).get("application/json", {})
    if "example" in media:
        yield media["example"]
    for example in media.get("examples", {}).values():
        yield example["value"]


# ---------------------------------------------------------------------------------------------------------
# Error responses
# ---------------------------------------------------------------------------------------------------------

RATE_LIMITED = {"error": {"message": "Rate Limit Exceeded", "code": 2020}}


def test_documented_429_passes(contract: Contract) -> None:
    check(contract, request("GET", "/incidents"), 429, RATE_LIMITED)


async def test_undocumented_error_status_is_checked_against_the_generic_error_schema(
    contract: Contract,
) -> None:
    assert "429" not in contract.spec["paths"]["/services"]["get"]["responses"]
    http, transport = client(contract, answer(429, RATE_LIMITED))
    async with http:
        response = await http.get("/services")
    assert response.status_code == 429

    # PUT /incidents/{id} documents no 400; a real 400 body still validates.
    invalid = {"error": {"message": "Invalid Input Provided", "code": 2001, "errors": ["Status is invalid."]}}
    req = request(
        "PUT", "/incidents/PT4KHLK", headers=FROM, json={"incident": {"type": "incident_reference"}}
    )
    check(contract, req, 400, invalid)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"message": "Rate Limit Exceeded"}, "'error' is a required property"),
        ({"error": {"message": "Rate Limit Exceeded"}}, r"\$\.error: 'code' is a required property"),
        ({"error": {"message": "x", "code": "2020"}}, r"\$\.error\.code: '2020' is not of type 'integer'"),
    ],
)
def test_undocumented_error_status_with_a_malformed_body_fails(
    contract: Contract, body: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ContractViolation, match=expected) as raised:
        contract.validate_response(request("GET", "/services"), httpx2.Response(429, json=body))
    assert "status 429 not documented for this operation" in str(raised.value)


def test_v3_endpoints_use_the_v3_error_schema(contract: Contract) -> None:
    body = {
        "error": {"message": "Invalid", "code": 2001, "errors": {"rotation.events": ["must not be empty"]}}
    }
    req = request("GET", "/v3/schedules")
    responses = contract.spec["paths"]["/v3/schedules"]["get"]["responses"]
    assert "429" not in responses
    contract.validate_response(req, httpx2.Response(429, json=body))


def test_undocumented_success_status_fails(contract: Contract) -> None:
    with pytest.raises(
        ContractViolation, match=r"GET /incidents -> 202\n.*Unknown response http status: 202"
    ):
        contract.validate_response(request("GET", "/incidents"), httpx2.Response(202, json=incident_list()))


# ---------------------------------------------------------------------------------------------------------
# Catches real mistakes
# ---------------------------------------------------------------------------------------------------------


def test_response_missing_a_required_field_fails_readably(contract: Contract) -> None:
    req = request("GET", "/incidents", params={"limit": "25"})
    with pytest.raises(ContractViolation) as raised:
        contract.validate_response(req, httpx2.Response(200, json={"limit": 25, "offset": 0, "more": False}))
    message = str(raised.value)
    assert message.splitlines()[0] == "PagerDuty contract violation in response: GET /incidents -> 200"
    assert "response body does not match the schema" in message
    assert "at $: 'incidents' is a required property" in message


def test_response_with_a_wrong_type_fails_readably(contract: Contract) -> None:
    bad = incident(incident_number="1234", urgency="urgent")
    with pytest.raises(ContractViolation) as raised:
        contract.validate_response(
            request("GET", "/incidents"), httpx2.Response(200, json=incident_list(bad))
        )
    message = str(raised.value)
    assert "at $.incidents[0].incident_number: '1234' is not of type 'integer'" in message
    assert "at $.incidents[0].urgency: 'urgent' is not one of ['high', 'low']" in message


def test_nested_oneof_errors_show_each_alternative(contract: Contract) -> None:
    broken_service = {"type": "service_reference", "summary": "Mail"}  # references need an id
    with pytest.raises(ContractViolation) as raised:
        contract.validate_response(
            request("GET", "/incidents/PT4KHLK"),
            httpx2.Response(200, json={"incident": incident(service=broken_service)}),
        )
    message = str(raised.value)
    assert "(spec: GET /incidents/{id})" in message
    assert "at $.incident.service: matches none of the oneOf alternatives" in message
    assert "alternative 0:" in message and "alternative 1:" in message
    assert "at $.incident.service: 'id' is a required property" in message


def test_request_with_invalid_query_parameter_fails(contract: Contract) -> None:
    with pytest.raises(ContractViolation) as raised:
        contract.validate_request(
            request("GET", "/incidents", params={"limit": "lots", "urgencies[]": "meh"})
        )
    message = str(raised.value)
    assert "Query parameter error: limit" in message
    assert "Failed to cast value to integer type: lots" in message
    assert "invalid query parameter 'urgencies[]'" in message
    assert "'meh' is not one of ['high', 'low']" in message


def test_bulk_update_with_empty_from_header_fails(contract: Contract) -> None:
    body = {"incidents": [{"id": "PT4KHLK", "type": "incident_reference", "status": "acknowledged"}]}
    contract.validate_request(request("PUT", "/incidents", headers=FROM, json=body))

    with pytest.raises(ContractViolation) as raised:
        contract.validate_request(request("PUT", "/incidents", headers={"From": ""}, json=body))
    message = str(raised.value)
    assert "PUT /incidents" in message
    assert "invalid header parameter 'From'" in message
    assert "'' is not a 'email'" in message


def test_missing_required_from_header_fails(contract: Contract) -> None:
    body = {"incidents": [{"id": "PT4KHLK", "type": "incident_reference", "status": "acknowledged"}]}
    with pytest.raises(ContractViolation, match="Missing required header parameter: From"):
        contract.validate_request(request("PUT", "/incidents", json=body))


def test_request_without_credentials_fails(contract: Contract) -> None:
    req = httpx2.Request("GET", f"{BASE_URL}/incidents", headers={"Accept": HEADERS["Accept"]})
    with pytest.raises(ContractViolation, match="Security not found"):
        contract.validate_request(req)


def test_request_body_of_the_wrong_shape_fails(contract: Contract) -> None:
    req = request("POST", "/incidents", headers=FROM, json={"title": "flat, not wrapped in 'incident'"})
    with pytest.raises(ContractViolation, match=r"at \$: 'incident' is a required property"):
        contract.validate_request(req)


async def test_unknown_path_is_reported_before_anything_is_sent(contract: Contract) -> None:
    sent: list[httpx2.Request] = []

    def handler(req: httpx2.Request) -> httpx2.Response:
        sent.append(req)
        return httpx2.Response(200, json={})

    http, transport = client(contract, handler)
    async with http:
        with pytest.raises(
            ContractViolation, match="GET /incident_list\n  - no such path in the PagerDuty API spec"
        ):
            await http.get("/incident_list")
        with pytest.raises(
            ContractViolation, match=r"method not in the spec for this path \(spec has: GET, POST, PUT\)"
        ):
            await http.delete("/incidents")
    assert sent == []
    assert len(transport.violations) == 2
    assert transport.checked_paths == set()


async def test_transport_raises_on_a_bad_response_and_records_it(contract: Contract) -> None:
    http, transport = client(contract, answer(200, {"incident": incident(status="on fire")}))
    async with http:
        with pytest.raises(ContractViolation, match=r"\$\.incident\.status: 'on fire' is not one of"):
            await http.get("/incidents/PT4KHLK")
    assert transport.checked_paths == {("GET", "/incidents/{id}")}
    assert len(transport.violations) == 1
    assert transport.violations[0].startswith(
        "PagerDuty contract violation in response: GET /incidents/PT4KHLK"
    )


def test_resolve_prefers_literal_paths(contract: Contract) -> None:
    assert contract.resolve("GET", "/users/me") == ("/users/me", {})
    assert contract.resolve("GET", "/users/PXPGF42") == ("/users/{id}", {"id": "PXPGF42"})
    assert contract.resolve("DELETE", "/schedules/PI7/overrides/PQ4") == (
        "/schedules/{id}/overrides/{override_id}",
        {"id": "PI7", "override_id": "PQ4"},
    )
    assert contract.resolve("GET", "/nope") is None
    assert ("GET", "/incidents") in contract.operations


# ---------------------------------------------------------------------------------------------------------
# The patch list itself
# ---------------------------------------------------------------------------------------------------------


def test_every_patch_is_documented() -> None:
    assert len({p.name for p in SPEC_PATCHES}) == len(SPEC_PATCHES)
    for patch in SPEC_PATCHES:
        assert isinstance(patch, SpecPatch)
        assert len(patch.reason) > 40, patch.name


def test_patches_fail_loudly_when_the_upstream_file_changes_shape() -> None:
    with pytest.raises(RuntimeError, match="spec patch 'sre_memories_limit default' no longer applies"):
        apply_spec_patches({"components": {"parameters": {}}}, SPEC_PATCHES[:1])


@pytest.mark.slow
def test_patched_spec_is_valid_openapi(contract: Contract, official_spec: dict[str, Any]) -> None:
    """The patched document passes openapi-spec-validator (the official one has exactly one error, which the
    first patch fixes). Takes ~2 s, so Contract skips this check when it is built."""
    errors = [e.message for e in OpenAPIV30SpecValidator(contract.spec).iter_errors()]
    assert errors == []
    # ... which the official one is not (its only error, per openapi-spec-validator):
    official_default = official_spec["components"]["parameters"]["sre_memories_limit"]["schema"]["default"]
    assert official_default == "20 - incident_summary"
