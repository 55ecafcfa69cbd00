"""Test helpers shared across the suite: an httpx client over a sandbox, contract-checked when possible."""

from __future__ import annotations

import httpx2

from bot.sandbox.app import Sandbox

PD_ACCEPT = "application/vnd.pagerduty+json;version=2"
BASE_URL = "https://api.pagerduty.com"


def sandbox_transport(sandbox: Sandbox) -> httpx2.AsyncBaseTransport:
    """The sandbox's in-process transport, wrapped in the OpenAPI contract check when the spec is here.

    Every test that talks to the sandbox through this proves its requests and the sandbox's answers
    against PagerDuty's official OpenAPI file (tests/contract/openapi_contract.py).
    """
    from tests.contract.openapi_contract import MISSING_SPEC_MESSAGE, ValidatingTransport, load_contract, spec_path
    from tests.specs import missing, required

    inner = sandbox.transport()
    if spec_path() is None:
        if required():
            missing(MISSING_SPEC_MESSAGE)
        return inner
    return ValidatingTransport(inner, load_contract())


def sandbox_client(sandbox: Sandbox, token: str | None, *, from_email: str | None = None,
                   validate: bool = True) -> httpx2.AsyncClient:
    """A raw httpx client speaking to the sandbox the way PagerDuty clients do.

    ``validate=False`` skips the contract check, for requests that break the spec on purpose.
    """
    headers = {"Accept": PD_ACCEPT}
    if token is not None:
        headers["Authorization"] = f"Token token={token}"
    if from_email is not None:
        headers["From"] = from_email
    transport = sandbox_transport(sandbox) if validate else sandbox.transport()
    return httpx2.AsyncClient(transport=transport, base_url=BASE_URL, headers=headers)
