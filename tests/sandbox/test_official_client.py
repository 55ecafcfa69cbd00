"""Issue #12 item 4: PagerDuty's official Python client (``pagerduty`` 7.x) against ``alex sandbox --https``.

The client refuses any base URL that is not ``https://``, so the recipe in the README is: start the sandbox
with ``--https``, and trust the CA certificate whose path it prints. This test is that recipe, verbatim:
list incidents, acknowledge one by following its ``self`` link (item 3), read it back.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx2
import pytest

from tests.sandbox.served import alex_sandbox

pagerduty = pytest.importorskip(
    "pagerduty", reason="PagerDuty's official client is absent: pip install -e '.[dev]' (or 'pagerduty>=7,<8')")

MANAGER_TOKEN = "sandbox-manager-token"
MANAGER_EMAIL = "sam.rivera@acme-payments.example"


def test_12_4_the_official_client_lists_and_acknowledges_incidents_on_the_https_sandbox() -> None:
    with alex_sandbox("--https", "--now", "2026-03-10T14:00:00Z") as served:
        ca_file = served.banner_value("CA certificate:")
        assert Path(ca_file).is_file()
        # --- the README's recipe ---
        client = pagerduty.RestApiV2Client(
            MANAGER_TOKEN, default_from=MANAGER_EMAIL, base_url=served.url,
            verify=ssl.create_default_context(cafile=ca_file))
        triggered = client.list_all("incidents", params={"statuses[]": ["triggered"]})
        incident = triggered[0]
        acknowledged = client.rput(incident, json={"type": "incident_reference", "status": "acknowledged"})
        # ---
        again = client.rget(incident["self"])
        open_now = client.list_all("incidents", params={"statuses[]": ["triggered"]})
        client.close()
    assert len(triggered) > 1 and incident["self"].startswith(f"{served.url}/incidents/")
    assert acknowledged["status"] == again["status"] == "acknowledged"
    assert [a["assignee"]["summary"] for a in again["assignments"]] == ["Sam Rivera"]
    assert incident["id"] not in {i["id"] for i in open_now}
    assert not Path(ca_file).exists()  # the temporary pair goes with the sandbox


def test_12_4_without_https_the_official_client_refuses_the_sandbox_url() -> None:
    """Why the recipe needs --https: the client will not take a plain-http base URL at all."""
    with pytest.raises(pagerduty.UrlError):
        pagerduty.RestApiV2Client(MANAGER_TOKEN, base_url="http://127.0.0.1:8765")


def test_12_4_the_certificate_is_only_trusted_through_the_printed_ca(tmp_path: Path) -> None:
    with alex_sandbox("--https", "--tls-dir", str(tmp_path), "--now", "2026-03-10T14:00:00Z") as served:
        assert served.banner_value("CA certificate:") == str(tmp_path / "ca.pem")
        assert (tmp_path / "server-key.pem").stat().st_mode & 0o077 == 0  # the key is the owner's only
        with pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx2.get(f"{served.url}/_sandbox/health", verify=ssl.create_default_context())
        trusted = httpx2.get(f"{served.url}/_sandbox/health",
                             verify=ssl.create_default_context(cafile=str(tmp_path / "ca.pem")))
        assert trusted.json()["ok"] is True
    assert (tmp_path / "ca.pem").is_file()  # --tls-dir keeps the files
