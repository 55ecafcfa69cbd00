"""Contract checks against PagerDuty's official REST API OpenAPI document.

The document (``reference/REST/openapiv3.json`` from github.com/PagerDuty/api-schema) is third-party data
and is *not* part of this repository: it is looked up via ``PAGERDUTY_OPENAPI_SPEC`` or in
``../shared/specs/`` next to the repository (see :func:`spec_path`). Tests that need it call
:func:`require_contract` (or use the ``contract`` fixture) and are skipped when it is absent.

The official file has a handful of known defects. They are fixed *in memory* by the patches in
:data:`SPEC_PATCHES` -- the one place listing every deviation from the official contract, each with the
reason. Nothing else changes the spec.

Usage::

    contract = require_contract()
    contract.validate_request(request)             # raises ContractViolation
    contract.validate_response(request, response)  # raises ContractViolation

    transport = ValidatingTransport(inner_transport, contract)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sandbox.test") as client:
        ...
    assert ("GET", "/incidents") in transport.checked_paths

Requests are matched by *path* only: the host (``http://sandbox.test``, ``http://127.0.0.1:8080``,
``https://api.eu.pagerduty.com`` ...) is ignored and replaced by the spec's server before validation.

Responses with an error status (>= 400) that the operation does not document (e.g. a 429 on an
operation that lists none) are validated against PagerDuty's generic error body instead of being reported
as "unknown status": the API can answer any call with 400/401/403/404/429/5xx and documents its error
format once, so the per-operation status lists are not exhaustive. Undocumented *success* statuses are
still violations.
"""

from __future__ import annotations

import copy
import functools
import json
import os
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import httpx2
from jsonschema.exceptions import ValidationError as JsonSchemaError
from jsonschema.protocols import Validator
from jsonschema_path import SchemaPath
from openapi_core.casting.schemas import oas30_types_caster
from openapi_core.casting.schemas.factories import SchemaCastersFactory
from openapi_core.datatypes import Parameters, RequestParameters
from openapi_core.templating.paths.datatypes import PathOperationServer
from openapi_core.templating.paths.finders import APICallPathFinder
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_core.validation.request.exceptions import (
    InvalidParameter,
    InvalidRequestBody,
    MissingParameter,
    ParametersError,
    ParameterValidationError,
)
from openapi_core.validation.request.validators import V30RequestValidator
from openapi_core.validation.response.exceptions import InvalidData, InvalidHeader
from openapi_core.validation.response.validators import V30ResponseValidator
from openapi_core.validation.schemas.datatypes import FormatValidatorsDict
from openapi_core.validation.schemas.factories import SchemaValidatorsFactory
from openapi_core.validation.schemas.validators import SchemaValidator
from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator
from openapi_spec_validator import OpenAPIV30SpecValidator
from werkzeug.datastructures import Headers, ImmutableMultiDict

from tests.specs import missing

__all__ = [
    "MISSING_SPEC_MESSAGE",
    "SPEC_ENV_VAR",
    "SPEC_PATCHES",
    "SPEC_SERVER",
    "Contract",
    "ContractViolation",
    "SpecPatch",
    "ValidatingTransport",
    "apply_spec_patches",
    "load_contract",
    "require_contract",
    "spec_path",
]

SPEC_ENV_VAR = "PAGERDUTY_OPENAPI_SPEC"
SPEC_FILENAME = "pagerduty-rest-openapiv3.json"
#: The only server listed in the spec; every request is validated as if sent there.
SPEC_SERVER = "https://api.pagerduty.com"
MISSING_SPEC_MESSAGE = (
    "PagerDuty OpenAPI spec not found: set PAGERDUTY_OPENAPI_SPEC or place pagerduty-rest-openapiv3.json "
    "in ../shared/specs (get it from github.com/PagerDuty/api-schema reference/REST/openapiv3.json)"
)

_HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_REPO_ROOT = Path(__file__).resolve().parents[2]

Spec = dict[str, Any]


# ---------------------------------------------------------------------------------------------------------
# Locating and loading the spec
# ---------------------------------------------------------------------------------------------------------


def spec_path() -> Path | None:
    """Where the spec is: ``$PAGERDUTY_OPENAPI_SPEC``, else ``<repo root>/../shared/specs/<file>``.

    Returns None when the chosen file does not exist.
    """
    configured = os.environ.get(SPEC_ENV_VAR)
    candidate = Path(configured) if configured else _REPO_ROOT.parent / "shared" / "specs" / SPEC_FILENAME
    return candidate if candidate.is_file() else None


@functools.cache
def load_contract() -> Contract:
    """The patched contract, built once per process (~0.1 s: reading 2.7 MB of JSON, patching, wiring).

    Raises FileNotFoundError when the spec is absent; tests should use :func:`require_contract`.
    """
    path = spec_path()
    if path is None:
        raise FileNotFoundError(MISSING_SPEC_MESSAGE)
    return Contract.from_path(path)


def require_contract() -> Contract:
    """:func:`load_contract`, or skip the calling test when the spec is not available."""
    if spec_path() is None:
        missing(MISSING_SPEC_MESSAGE)
    return load_contract()


# ---------------------------------------------------------------------------------------------------------
# The patch list: every deviation from the official document, applied in memory
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SpecPatch:
    """One in-memory fix of the official spec. ``apply`` mutates the spec dict in place."""

    name: str
    reason: str
    apply: Callable[[Spec], None]


def _schema(spec: Spec, name: str) -> dict[str, Any]:
    schema: dict[str, Any] = spec["components"]["schemas"][name]
    return schema


def _resolve(spec: Spec, ref: str) -> Any:
    """Follow a local ``#/a/b~1c`` JSON pointer."""
    node: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _properties(spec: Spec, schema_name: str) -> dict[str, Any]:
    """The ``properties`` of a component schema (or of the part of its ``allOf`` that has them)."""
    schema = _schema(spec, schema_name)
    for part in [schema, *schema.get("allOf", [])]:
        if "properties" in part:
            props: dict[str, Any] = part["properties"]
            return props
    raise KeyError(f"{schema_name} has no properties")


def _make_nullable(container: dict[str, Any], key: str) -> None:
    """Allow ``null`` for ``container[key]``.

    OAS 3.0 ``nullable`` only works next to ``type``, so a pure ``$ref``/``oneOf`` schema is wrapped in
    ``anyOf: [original, <null only>]`` instead.
    """
    schema = container[key]
    if "type" in schema:
        schema["nullable"] = True
    else:
        null_only = {"type": "object", "nullable": True, "enum": [None]}
        container[key] = {"anyOf": [schema, null_only], "description": schema.get("description", "")}


def _fix_sre_memories_limit_default(spec: Spec) -> None:
    spec["components"]["parameters"]["sre_memories_limit"]["schema"]["default"] = 20


_REFERENCE_KEYS = ("id", "type")


def _has_read_only_reference_keys(schema: Mapping[str, Any]) -> bool:
    props = schema.get("properties", {})
    return any(props.get(key, {}).get("readOnly") for key in _REFERENCE_KEYS)


def _make_reference_keys_writable(spec: Spec, schema: dict[str, Any]) -> None:
    for key in _REFERENCE_KEYS:
        schema.get("properties", {}).get(key, {}).pop("readOnly", None)
    for combinator in ("allOf", "anyOf", "oneOf"):
        parts = schema.get(combinator, [])
        for index, part in enumerate(parts):
            ref = part.get("$ref")
            if ref is None:
                _make_reference_keys_writable(spec, part)
            elif not ref.startswith("#/components/schemas/") or "/" in ref.removeprefix(
                "#/components/schemas/"
            ):
                # A shared fragment such as ``#/components/schemas/Tag/allOf/0`` (the base object of every
                # entity): inline a writable copy so only the reference schema changes, not every entity.
                target = _resolve(spec, ref)
                if _has_read_only_reference_keys(target):
                    parts[index] = copy.deepcopy(target)
                    _make_reference_keys_writable(spec, parts[index])
            # Whole component schemas (e.g. ``Reference``) are patched on their own.


def _writable_reference_ids(spec: Spec) -> None:
    for name, schema in spec["components"]["schemas"].items():
        if name.endswith("Reference"):
            _make_reference_keys_writable(spec, schema)


def _nullable_incident_acknowledgements(spec: Spec) -> None:
    _make_nullable(_properties(spec, "Incident"), "acknowledgements")


def _nullable_permanent_oncall(spec: Spec) -> None:
    props = _properties(spec, "Oncall")
    for key in ("start", "end", "schedule"):
        _make_nullable(props, key)


def _nullable_schedule_fields(spec: Spec) -> None:
    _make_nullable(_properties(spec, "ScheduleLayer"), "end")
    for name in ("ScheduleLayer", "SubSchedule"):
        _make_nullable(_properties(spec, name), "rendered_coverage_percentage")


def _expanded_oncall_references(spec: Spec) -> None:
    props = _properties(spec, "Oncall")
    for key, full in (("user", "User"), ("escalation_policy", "EscalationPolicy"), ("schedule", "Schedule")):
        props[key] = {"anyOf": [props[key], {"$ref": f"#/components/schemas/{full}"}]}
    v3_schedule = copy.deepcopy(_schema(spec, "ScheduleResponse")["properties"]["schedule"])
    props["schedule"]["anyOf"].append(v3_schedule)


def _nullable_service_timeouts(spec: Spec) -> None:
    props = _properties(spec, "Service")
    for key in ("acknowledgement_timeout", "auto_resolve_timeout"):
        _make_nullable(props, key)


def _acknowledge_log_entry_type(spec: Spec) -> None:
    schema = _schema(spec, "AcknowledgeLogEntry")["allOf"][1]
    schema["properties"]["type"]["enum"].append("acknowledge_log_entry")


_CONTACT_METHODS = ("PhoneContactMethod", "PushContactMethod", "EmailContactMethod", "WhatsAppContactMethod")
# (schema, property, full schemas the reference may expand to); every one is an include[] value the spec lists.
_EXPANDABLE: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("User", "teams", ("Team",)),
    ("User", "contact_methods", _CONTACT_METHODS),
    ("User", "notification_rules", ("NotificationRule",)),
    ("NotificationRule", "contact_method", _CONTACT_METHODS),
    ("Service", "escalation_policy", ("EscalationPolicy",)),
    ("Service", "teams", ("Team",)),
    ("EscalationPolicy", "services", ("Service",)),
    ("EscalationPolicy", "teams", ("Team",)),
)


def _or_full(reference: dict[str, Any], full: tuple[str, ...]) -> dict[str, Any]:
    return {"anyOf": [reference, *({"$ref": f"#/components/schemas/{name}"} for name in full)]}


def _expandable_references(spec: Spec) -> None:
    for schema_name, key, full in _EXPANDABLE:
        props = _properties(spec, schema_name)
        if props[key].get("type") == "array":
            props[key]["items"] = _or_full(props[key]["items"], full)
        else:
            props[key] = _or_full(props[key], full)
    members = spec["paths"]["/teams/{id}/members"]["get"]["responses"]["200"]["content"]["application/json"]
    member = members["schema"]["allOf"][1]["properties"]["members"]["items"]["properties"]
    member["user"] = _or_full(member["user"], ("User",))


def _writable_entity_type(spec: Spec) -> None:
    base = _resolve(spec, "#/components/schemas/Tag/allOf/0")
    base["properties"]["type"].pop("readOnly")


def _nullable_incident_fields(spec: Spec) -> None:
    props = _properties(spec, "Incident")
    for key in ("resolved_at", "resolve_reason", "alert_grouping", "priority", "conference_bridge"):
        _make_nullable(props, key)
    _make_nullable(props["alert_grouping"]["properties"], "ended_at")


def _incident_body_details_string(spec: Spec) -> None:
    props = _schema(spec, "IncidentBody")["properties"]
    details = props["details"]
    props["details"] = {"description": details.get("description", ""), "anyOf": [{"type": "string"}, details]}


def _one_of_to_any_of(schema: dict[str, Any]) -> None:
    schema["anyOf"] = schema.pop("oneOf")


def _channel_any_of(spec: Spec) -> None:
    _one_of_to_any_of(_schema(spec, "Channel"))


def _alert_grouping_any_of(spec: Spec) -> None:
    _one_of_to_any_of(_properties(spec, "Service")["alert_grouping_parameters"])
    _one_of_to_any_of(_schema(spec, "AlertGroupingParameters")["properties"]["config"])


def _add_status(path: str, method: str, documented: str, extra: str) -> Callable[[Spec], None]:
    def apply(spec: Spec) -> None:
        responses = spec["paths"][path][method]["responses"]
        responses.setdefault(extra, copy.deepcopy(responses[documented]))

    return apply


#: Every deviation from the official document. Keep each entry small and explain why it is needed.
SPEC_PATCHES: tuple[SpecPatch, ...] = (
    SpecPatch(
        "sre_memories_limit default",
        "components/parameters/sre_memories_limit/schema/default is the string '20 - incident_summary' on "
        "an integer schema: the only error openapi-spec-validator finds, and strict loaders (openapi-core) "
        "refuse the whole file. Set it to 20.",
        _fix_sre_memories_limit_default,
    ),
    SpecPatch(
        "writable reference id/type",
        "Every *Reference schema marks id and type readOnly (inherited from the shared entity base "
        "Tag/allOf/0), so request bodies such as POST /incidents {service: {id, type: service_reference}} "
        "or POST /schedules/{id}/overrides {user: {id, type}} fail with 'Tried to write read-only "
        "property' -- yet references are exactly how the API takes ids. Drop readOnly from id/type in "
        "all component schemas named *Reference (inlining a writable copy of the shared base so full "
        "entities keep their readOnly id).",
        _writable_reference_ids,
    ),
    SpecPatch(
        "writable entity type",
        "The shared entity base (Tag/allOf/0) marks type readOnly, so every create/update body that "
        "carries its type -- POST /services {service: {type: service}}, /teams, /users, /schedules, "
        "/escalation_policies, as in the spec's own request examples -- fails; Service even lists type "
        "as required. Drop readOnly from the base's type (ids of full entities stay readOnly).",
        _writable_entity_type,
    ),
    SpecPatch(
        "nullable Incident.acknowledgements",
        "The API (and the official docs example) returns acknowledgements: null for unacknowledged "
        "incidents; the schema says a non-nullable array.",
        _nullable_incident_acknowledgements,
    ),
    SpecPatch(
        "nullable Oncall.start/end/schedule",
        "Permanent on-calls (escalation rules targeting a user directly) have start, end and schedule "
        "null -- the schema's own descriptions say so ('If null, the on-call is a permanent user "
        "on-call') but the properties are not nullable.",
        _nullable_permanent_oncall,
    ),
    SpecPatch(
        "nullable Incident.resolved_at/resolve_reason/alert_grouping(.ended_at)/priority/conference_bridge",
        "Unresolved incidents have resolved_at and resolve_reason null, alert_grouping is null when "
        "the incident has no alerts (ended_at null while grouping is active), and priority is null on "
        "incidents without one (the spec's own examples include priority: null), as is conference_bridge "
        "(webhook payloads show it): the descriptions say so and "
        "the spec's own GET /incidents, GET /incidents/{id} and POST /incidents examples contain these "
        "nulls, yet none of the schemas is nullable.",
        _nullable_incident_fields,
    ),
    SpecPatch(
        "IncidentBody.details may be a string",
        "POST /incidents takes body: {type: incident_body, details: '<text>'} (the spec's own request "
        "example and the API docs); the schema only allows an object.",
        _incident_body_details_string,
    ),
    SpecPatch(
        "Channel: oneOf -> anyOf",
        "Log entry channels (Channel) are a oneOf of variants with only optional properties, so any "
        "channel such as {type: api} matches several variants and oneOf rejects it: every log entry fails "
        "(including the spec's own examples for GET /log_entries and GET /incidents/{id}/log_entries).",
        _channel_any_of,
    ),
    SpecPatch(
        "alert grouping parameters: oneOf -> anyOf",
        "Service.alert_grouping_parameters and AlertGroupingParameters.config are oneOfs of variants "
        "with only optional properties, so {type: intelligent} or {timeout: 2} match several and are "
        "rejected (the spec's own GET /services and POST /services examples fail).",
        _alert_grouping_any_of,
    ),
    SpecPatch(
        "nullable ScheduleLayer.end and rendered_coverage_percentage",
        "A layer without an end has end: null (the schema's own description: 'If null, the layer does "
        "not end'), and rendered_coverage_percentage 'returns null unless since or until are set' "
        "(ScheduleLayer and SubSchedule descriptions), yet neither is nullable.",
        _nullable_schedule_fields,
    ),
    SpecPatch(
        "expanded Oncall references",
        "GET /oncalls with include[]=users|escalation_policies|schedules replaces the references with "
        "full objects (as include[] does everywhere), but Oncall only allows references.",
        _expanded_oncall_references,
    ),
    SpecPatch(
        "nullable Service.acknowledgement_timeout/auto_resolve_timeout",
        "Both descriptions say 'Value is null if the feature is disabled', but neither is nullable.",
        _nullable_service_timeouts,
    ),
    SpecPatch(
        "AcknowledgeLogEntry type acknowledge_log_entry",
        "The base LogEntry (and the API) say type acknowledge_log_entry; the AcknowledgeLogEntry variant "
        "only allows acknowledgement_log_entry, so no acknowledgement entry can validate.",
        _acknowledge_log_entry_type,
    ),
    SpecPatch(
        "references expanded by include[]",
        "include[] 'expands references into full objects' (users' teams, contact_methods and "
        "notification_rules; services' escalation_policies and teams; policies' services and teams; team "
        "members' users). Incident models this with oneOf [Reference, Object]; these schemas only allow "
        "the reference. Allow the full object too, for exactly the include[] values the spec lists.",
        _expandable_references,
    ),
    SpecPatch(
        "POST /incidents/{id}/notes answers 201",
        "Creating a note answers 201 Created, like the other create endpoints document; the spec lists "
        "only 200. Accept 201 with the same body.",
        _add_status("/incidents/{id}/notes", "post", documented="200", extra="201"),
    ),
    SpecPatch(
        "GET /schedules/{id}/overrides answers 200",
        "Listing overrides is a read and the real API answers 200; the spec documents only 201 (the "
        "status of the create operation next to it). Accept 200 with the same body.",
        _add_status("/schedules/{id}/overrides", "get", documented="201", extra="200"),
    ),
)


def apply_spec_patches(spec: Spec, patches: Iterable[SpecPatch] = SPEC_PATCHES) -> Spec:
    """Apply ``patches`` to ``spec`` in place and return it."""
    for patch in patches:
        try:
            patch.apply(spec)
        except (KeyError, IndexError, TypeError) as exc:  # the upstream file changed shape
            raise RuntimeError(f"spec patch {patch.name!r} no longer applies: {exc!r}") from exc
    return spec


# ---------------------------------------------------------------------------------------------------------
# openapi-core protocol adapters for httpx2 objects
# ---------------------------------------------------------------------------------------------------------


def _content_type(headers: httpx2.Headers) -> str:
    return headers.get("content-type", "").lower()


def _cookies(headers: httpx2.Headers) -> ImmutableMultiDict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for value in headers.get_list("cookie"):
        jar.load(value)
    return ImmutableMultiDict([(key, morsel.value) for key, morsel in jar.items()])


class OpenAPIRequest:
    """openapi-core ``Request`` + ``SupportsPathPattern`` view of an ``httpx2.Request``.

    ``host_url`` is always the spec's server: requests are matched by path, whatever host they went to.
    """

    def __init__(self, request: httpx2.Request, path_pattern: str, path_params: Mapping[str, str]) -> None:
        self.host_url = SPEC_SERVER
        self.path = request.url.path
        self.path_pattern = path_pattern
        self.method = request.method.lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(request.url.params.multi_items()),
            header=Headers(list(request.headers.multi_items())),
            cookie=_cookies(request.headers),
            path=dict(path_params),
        )
        self.content_type = _content_type(request.headers)
        try:
            self.body: bytes | None = request.content or None
        except httpx2.RequestNotRead as exc:
            raise RuntimeError("streaming request body: call `await request.aread()` first") from exc


class OpenAPIResponse:
    """openapi-core ``Response`` view of an ``httpx2.Response``."""

    def __init__(self, response: httpx2.Response) -> None:
        self.status_code = response.status_code
        self.content_type = _content_type(response.headers)
        self.headers = Headers(list(response.headers.multi_items()))
        try:
            self.data: bytes | None = response.content or None
        except httpx2.ResponseNotRead as exc:
            raise RuntimeError("streaming response: call `await response.aread()` first") from exc


# ---------------------------------------------------------------------------------------------------------
# Violations and their messages
# ---------------------------------------------------------------------------------------------------------


class ContractViolation(AssertionError):
    """A request or response that does not match the (patched) PagerDuty OpenAPI contract."""

    def __init__(
        self, kind: str, method: str, path: str, template: str | None, errors: list[str], status: int | None
    ) -> None:
        self.kind = kind
        self.method = method
        self.path = path
        self.template = template
        self.errors = errors
        self.status = status
        super().__init__(self._message())

    def _message(self) -> str:
        head = f"PagerDuty contract violation in {self.kind}: {self.method} {self.path}"
        if self.status is not None:
            head += f" -> {self.status}"
        if self.template is not None and self.template != self.path:
            head += f"  (spec: {self.method} {self.template})"
        return "\n".join([head, *(f"  - {line}" for line in self.errors)])


_MAX_REPR = 160
_MAX_SUB_ERRORS = 12

# openapi-core error classes whose str() is just the class name or a wrapper of the cause.
_HEADLINES: dict[type[BaseException], Callable[[Any], str]] = {
    InvalidRequestBody: lambda exc: "request body does not match the schema",
    InvalidData: lambda exc: "response body does not match the schema",
    InvalidHeader: lambda exc: f"invalid response header {exc.name}",
    InvalidParameter: lambda exc: f"invalid {exc.location} parameter {exc.name!r}",
}


def _short(value: Any) -> str:
    try:
        text = json.dumps(value, default=str)
    except ValueError:
        text = repr(value)
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


def _location(error: JsonSchemaError) -> str:
    out = "$"
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _schema_error_lines(error: JsonSchemaError, indent: str = "") -> Iterator[str]:
    """Readable lines for one jsonschema error, descending into oneOf/anyOf branch errors."""
    where = f"{indent}at {_location(error)}:"
    if error.validator == "type" and error.instance is None:
        # openapi-schema-validator reports null twice ("None for not nullable", "None is not of type");
        # keep the first, reworded.
        if error.message == "None for not nullable":
            yield f"{where} null, but the schema is not nullable (type {error.validator_value!r})"
        return
    if error.validator in ("oneOf", "anyOf") and error.context:
        yield f"{where} matches none of the {error.validator} alternatives (value: {_short(error.instance)})"
        by_branch: dict[Any, list[JsonSchemaError]] = {}
        for sub in error.context:
            by_branch.setdefault(sub.schema_path[0] if sub.schema_path else "?", []).append(sub)
        shown = 0
        for branch, subs in by_branch.items():
            yield f"{indent}    alternative {branch}:"
            for sub in subs:
                if shown >= _MAX_SUB_ERRORS:
                    yield f"{indent}      ... more errors omitted"
                    return
                shown += 1
                yield from _schema_error_lines(sub, indent + "      ")
        return
    if error.validator == "oneOf":  # no context: several alternatives matched
        yield f"{where} matches more than one oneOf alternative (value: {_short(error.instance)})"
        return
    message = error.message
    if len(message) > 2 * _MAX_REPR:
        message = message[: 2 * _MAX_REPR] + "..."
    yield f"{where} {message}"


def _describe(exc: BaseException) -> list[str]:
    """Turn an openapi-core error into lines, digging into ``__cause__`` and ``schema_errors``."""
    headline = next((make(exc) for cls, make in _HEADLINES.items() if isinstance(exc, cls)), None)
    lines = [headline or str(exc)]
    if isinstance(exc, ResponseNotFound):
        lines[0] += f" (documented: {', '.join(exc.availableresponses)})"
    cause: BaseException | None = exc.__cause__
    while cause is not None:
        schema_errors = getattr(cause, "schema_errors", None)
        if schema_errors:
            for schema_error in schema_errors:
                if isinstance(schema_error, JsonSchemaError):
                    lines.extend("    " + line for line in _schema_error_lines(schema_error))
                else:
                    lines.append(f"    {schema_error}")
        elif headline is not None or str(cause) not in lines[0]:
            lines.append(f"    {type(cause).__name__}: {cause}")
        cause = cause.__cause__
    # allOf parts repeating a property schema give the same error twice in a row.
    return [line for i, line in enumerate(lines) if i == 0 or line != lines[i - 1]]


# ---------------------------------------------------------------------------------------------------------
# The contract
# ---------------------------------------------------------------------------------------------------------


# openapi-core re-does a lot of work on every call. The three subclasses below cache what never changes
# for a given spec. Measured on GET /incidents with 4 query parameters: request validation 5.5 ms with
# stock openapi-core (17 declared parameters walked through lazily resolved SchemaPaths, a jsonschema
# validator + format-checker deepcopy built per value) -> ~1.2 ms. They override openapi-core internals
# (``find``, ``create``, ``_get_parameters``): pyproject pins openapi-core <0.24.


class _CachingPathFinder(APICallPathFinder):
    """openapi-core's finder scans all 273 paths per call; we always pass the matched template as the URL,
    so (method, template URL) is a small, stable cache key."""

    def __init__(self, spec: Any, base_url: str | None = None) -> None:
        super().__init__(spec, base_url=base_url)
        self._cache: dict[tuple[str, str], PathOperationServer] = {}

    def find(self, method: str, name: str) -> PathOperationServer:
        key = (method, name)
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = super().find(method, name)
        return found


class _CachingSchemaValidatorsFactory(SchemaValidatorsFactory):
    """Builds each schema's jsonschema validator once (openapi-core builds one per value, deep-copying the
    format checker each time). Validators are stateless, so sharing them is safe."""

    def __init__(self, schema_validator_cls: type[Validator]) -> None:
        super().__init__(schema_validator_cls)
        self._cache: dict[tuple[Any, ...], SchemaValidator] = {}

    def create(
        self,
        spec: SchemaPath,
        schema: SchemaPath,
        format_validators: FormatValidatorsDict | None = None,
        extra_format_validators: FormatValidatorsDict | None = None,
        forbid_unspecified_additional_properties: bool = False,
        enforce_properties_required: bool = False,
    ) -> SchemaValidator:
        if format_validators is not None or extra_format_validators is not None:  # not used here
            return super().create(
                spec,
                schema,
                format_validators,
                extra_format_validators,
                forbid_unspecified_additional_properties,
                enforce_properties_required,
            )
        key = (schema.parts, forbid_unspecified_additional_properties, enforce_properties_required)
        validator = self._cache.get(key)
        if validator is None:
            validator = self._cache[key] = super().create(
                spec,
                schema,
                forbid_unspecified_additional_properties=forbid_unspecified_additional_properties,
                enforce_properties_required=enforce_properties_required,
            )
        return validator


@dataclass(frozen=True)
class _Param:
    spec: SchemaPath
    name: str
    location: str
    required: bool


class _RequestValidator(V30RequestValidator):
    """openapi-core's request validator, minus the per-call cost of optional parameters that are absent.

    openapi-core walks every declared parameter of the operation (17 on GET /incidents) through lazily
    resolved SchemaPaths on each call, only to find most of them absent. Every PagerDuty parameter is a
    plain ``name=value`` one (no deepObject/object styles), so "absent" is just ``name not in location``:
    we list each operation's parameters once and hand openapi-core only the required or present ones.
    Skipped: validating the *spec's own* ``default`` of absent parameters -- not a property of the request.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._params_by_operation: dict[tuple[Any, ...], list[_Param]] = {}

    def _operation_params(self, operation: SchemaPath, path: SchemaPath) -> list[_Param]:
        key = operation.parts
        params = self._params_by_operation.get(key)
        if params is None:
            params, seen = [], set()
            # Operation-level parameters override path-level ones with the same (name, in).
            groups: tuple[Iterable[SchemaPath], ...] = (
                operation.get("parameters", []),
                path.get("parameters", []),
            )
            for group in groups:
                for param in group:
                    name, location = (param / "name").read_str(), (param / "in").read_str()
                    if (name, location) not in seen:
                        seen.add((name, location))
                        required = (param / "required").read_bool(default=False)
                        params.append(_Param(param, name, location, required))
            self._params_by_operation[key] = params
        return params

    def _get_parameters(
        self, parameters: RequestParameters, operation: SchemaPath, path: SchemaPath
    ) -> Parameters:
        errors: list[Exception] = []
        validated = Parameters()
        for param in self._operation_params(operation, path):
            if not param.required and param.name not in parameters[param.location]:
                continue
            try:
                value = self._get_parameter(parameters, param.spec)
            except MissingParameter:
                continue
            except ParameterValidationError as exc:
                errors.append(exc)
                continue
            getattr(validated, param.location)[param.name] = value
        if errors:
            raise ParametersError(errors=errors, parameters=validated)  # type: ignore[arg-type]
        return validated


@dataclass(frozen=True)
class _Template:
    template: str
    regex: re.Pattern[str]
    variables: int
    methods: frozenset[str]


def _compile_template(template: str, methods: frozenset[str]) -> _Template:
    pattern = ""
    for literal, variable in re.findall(r"([^{]*)(?:\{([^}]+)\})?", template):
        pattern += re.escape(literal)
        if variable:
            pattern += f"(?P<{re.sub(r'[^0-9A-Za-z_]', '_', variable)}>[^/]+)"
    return _Template(template, re.compile(pattern + "$"), template.count("{"), methods)


class Contract:
    """Validates httpx2 requests/responses against the patched PagerDuty OpenAPI document."""

    def __init__(self, spec: Spec, *, check_spec: bool = False) -> None:
        """``spec`` must already be patched (see :func:`apply_spec_patches`).

        ``check_spec`` runs openapi-spec-validator over the whole document first (~2 s on this file: it is
        all of openapi-core's ``OpenAPI.from_dict`` time). Off by default; the test suite checks the
        patched spec once in a dedicated test instead.
        """
        self.spec = spec
        if check_spec:
            OpenAPIV30SpecValidator(spec).validate()
        schema_path = SchemaPath.from_dict(spec)
        write = _CachingSchemaValidatorsFactory(OAS30WriteValidator)  # requests: readOnly is forbidden
        read = _CachingSchemaValidatorsFactory(OAS30ReadValidator)  # responses: writeOnly is forbidden
        self._request_validator = _RequestValidator(
            schema_path,
            path_finder_cls=_CachingPathFinder,
            schema_validators_factory=write,
            schema_casters_factory=SchemaCastersFactory(write, oas30_types_caster),
        )
        self._response_validator = V30ResponseValidator(
            schema_path,
            path_finder_cls=_CachingPathFinder,
            schema_validators_factory=read,
            schema_casters_factory=SchemaCastersFactory(read, oas30_types_caster),
        )
        templates = []
        for template, item in spec["paths"].items():
            methods = frozenset(m.upper() for m in item if m in _HTTP_METHODS)
            if methods:
                templates.append(_compile_template(template, methods))
        # Literal paths first (/users/me before /users/{id}), then fewer variables: openapi-core's order.
        self._templates = sorted(templates, key=lambda t: t.variables)
        self._names_by_template = {
            t.template: {
                name: re.sub(r"[^0-9A-Za-z_]", "_", name) for name in re.findall(r"\{([^}]+)\}", t.template)
            }
            for t in templates
        }
        self._error_schemas = self._build_error_validators()

    @classmethod
    def from_path(cls, path: Path, *, check_spec: bool = False) -> Contract:
        """Load the official file from ``path``, apply :data:`SPEC_PATCHES` and build the validators."""
        with path.open("rb") as fh:
            spec = json.load(fh)
        return cls(apply_spec_patches(spec), check_spec=check_spec)

    # -- path lookup ----------------------------------------------------------------------------------

    @property
    def operations(self) -> set[tuple[str, str]]:
        """All (METHOD, path template) pairs of the spec."""
        return {(method, t.template) for t in self._templates for method in t.methods}

    @functools.lru_cache(maxsize=8192)  # noqa: B019 -- one Contract per process
    def resolve(self, method: str, path: str) -> tuple[str, dict[str, str]] | None:
        """The spec path template (and path variables) for ``METHOD /concrete/path``, or None."""
        method = method.upper()
        fallback: tuple[str, dict[str, str]] | None = None
        for t in self._templates:
            match = t.regex.match(path)
            if match is None:
                continue
            names = self._names_by_template[t.template]
            variables = {name: match.group(group) for name, group in names.items()}
            if method in t.methods:
                return t.template, variables
            fallback = fallback or (t.template, variables)
        return None if fallback is None else (fallback[0], {})

    def _resolve_or_raise(
        self, kind: str, request: httpx2.Request, status: int | None
    ) -> tuple[str, dict[str, str]]:
        method, path = request.method.upper(), request.url.path
        found = self.resolve(method, path)
        if found is None:
            raise ContractViolation(
                kind, method, path, None, ["no such path in the PagerDuty API spec"], status
            )
        template, variables = found
        if method.lower() not in self.spec["paths"][template]:
            allowed = ", ".join(sorted(m.upper() for m in self.spec["paths"][template] if m in _HTTP_METHODS))
            raise ContractViolation(
                kind,
                method,
                path,
                template,
                [f"method not in the spec for this path (spec has: {allowed})"],
                status,
            )
        return template, variables

    # -- validation -----------------------------------------------------------------------------------

    def validate_request(self, request: httpx2.Request) -> str:
        """Raise :class:`ContractViolation` unless ``request`` conforms; return the matched path template."""
        template, variables = self._resolve_or_raise("request", request, None)
        wrapped = OpenAPIRequest(request, template, variables)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # "parameter X is deprecated" is not a breach
            errors = list(self._request_validator.iter_errors(wrapped))
        if errors:
            lines = [line for error in errors for line in _describe(error)]
            raise ContractViolation("request", request.method, request.url.path, template, lines, None)
        return template

    def validate_response(self, request: httpx2.Request, response: httpx2.Response) -> str:
        """Raise :class:`ContractViolation` unless ``response`` conforms to what the spec documents for
        ``request``'s operation; return the matched path template."""
        status = response.status_code
        template, variables = self._resolve_or_raise("response", request, status)
        documented = self.spec["paths"][template][request.method.lower()].get("responses", {})
        if status >= 400 and not ({str(status), f"{status // 100}XX", "default"} & documented.keys()):
            lines = self._undocumented_error_problems(template, response)
        else:
            wrapped_request = OpenAPIRequest(request, template, variables)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                errors = list(
                    self._response_validator.iter_errors(wrapped_request, OpenAPIResponse(response))
                )
            lines = [line for error in errors for line in _describe(error)]
        if lines:
            raise ContractViolation("response", request.method, request.url.path, template, lines, status)
        return template

    # -- undocumented error statuses ------------------------------------------------------------------

    def _build_error_validators(self) -> dict[str, OAS30ReadValidator]:
        """Validators for PagerDuty's generic error bodies.

        * v2 endpoints: the "Generic error response from the PagerDuty API" schema every v2 error response
          points at (components/responses/*, e.g. TooManyRequests -> Conflict's inline schema;
          ``error.errors`` is a list of strings). The spec declares no field required there; PagerDuty's
          error docs say every error has a message and a code, so we require ``error.message`` and
          ``error.code``.
        * /v3/ endpoints: components/schemas/V3ErrorResponse (``error.errors`` is a field -> messages map).
        """
        responses = self.spec["components"]["responses"]
        generic = _resolve(
            self.spec, responses["TooManyRequests"]["content"]["application/json"]["schema"]["$ref"]
        )
        v2 = {
            "allOf": [
                generic,
                {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "object", "required": ["message", "code"]}},
                },
            ]
        }
        v3 = _schema(self.spec, "V3ErrorResponse")
        return {
            "v2": OAS30ReadValidator(v2, format_checker=OAS30ReadValidator.FORMAT_CHECKER),
            "v3": OAS30ReadValidator(v3, format_checker=OAS30ReadValidator.FORMAT_CHECKER),
        }

    def _undocumented_error_problems(self, template: str, response: httpx2.Response) -> list[str]:
        header = (
            f"status {response.status_code} not documented for this operation; "
            "checked as a generic PagerDuty error body"
        )
        if not _content_type(response.headers).startswith("application/json"):
            return [header, f"    expected application/json, got {_content_type(response.headers)!r}"]
        try:
            body = json.loads(response.content)
        except ValueError as exc:
            return [header, f"    body is not JSON: {exc}"]
        validator = self._error_schemas["v3" if template.startswith("/v3/") else "v2"]
        errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        if not errors:
            return []
        return [header, *("    " + line for error in errors for line in _schema_error_lines(error))]


# ---------------------------------------------------------------------------------------------------------
# Transport wrapper
# ---------------------------------------------------------------------------------------------------------


class ValidatingTransport(httpx2.AsyncBaseTransport):
    """Validate every request before sending it to ``inner``, and every response after.

    A violation is appended to :attr:`violations` and raised at once as :class:`ContractViolation`.
    :attr:`checked_paths` collects the (METHOD, spec path template) pairs that went through.
    """

    def __init__(self, inner: httpx2.AsyncBaseTransport, contract: Contract) -> None:
        self.inner = inner
        self.contract = contract
        self.violations: list[str] = []
        self.checked_paths: set[tuple[str, str]] = set()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        await request.aread()
        template = self._check(lambda: self.contract.validate_request(request))
        self.checked_paths.add((request.method.upper(), template))
        response = await self.inner.handle_async_request(request)
        await response.aread()
        self._check(lambda: self.contract.validate_response(request, response))
        return response

    def _check(self, validate: Callable[[], str]) -> str:
        try:
            return validate()
        except ContractViolation as violation:
            self.violations.append(str(violation))
            raise

    async def aclose(self) -> None:
        await self.inner.aclose()
