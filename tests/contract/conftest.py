"""Fixtures for contract tests against PagerDuty's official OpenAPI document."""

from __future__ import annotations

import pytest

from tests.contract.openapi_contract import Contract, require_contract


@pytest.fixture(scope="session")
def contract() -> Contract:
    """The patched PagerDuty REST API contract (built once per process); skips when the spec is absent."""
    return require_contract()
