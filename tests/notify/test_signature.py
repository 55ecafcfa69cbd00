"""X-PagerDuty-Signature: v1= hex HMAC-SHA256 of the raw body, several during a rotation, constant-time."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from bot.notify.signature import sign, signatures, verify
from tests.notify.payloads import OLD_SECRET, SECRET

BODY = '{"event": {"id": "E1", "title": "café ☕"}}'.encode()


def test_the_signature_is_the_hex_hmac_sha256_of_the_raw_body() -> None:
    expected = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    assert sign(BODY, SECRET) == f"v1={expected}"
    assert verify(BODY, f"v1={expected}", [SECRET]) == "ok"


def test_any_of_several_signatures_and_any_of_several_secrets_verifies_during_a_rotation() -> None:
    header = f"{sign(BODY, 'someone-else')}, {sign(BODY, OLD_SECRET)}"
    assert verify(BODY, header, [SECRET, OLD_SECRET]) == "ok"
    assert verify(BODY, sign(BODY, SECRET), [SECRET, OLD_SECRET]) == "ok"
    assert verify(BODY, f"v2=abc,{sign(BODY, SECRET)}", [SECRET]) == "ok", "other versions are skipped"


@pytest.mark.parametrize("header", [None, "", "v1", "v1=", "sha256=abc", "v1=xyz", "v1=" + "a" * 63, "v1=" + "a" * 65,
                                    "v1=" + "a" * 64 + ";", ",".join(["v1=" + "a" * 64] * 9), "v1 = " + "a" * 64])
def test_a_missing_or_unreadable_header_is_malformed(header: str | None) -> None:
    assert verify(BODY, header, [SECRET]) == "malformed"


def test_a_wrong_secret_an_altered_body_or_no_secret_is_forged() -> None:
    assert verify(BODY, sign(BODY, "not-the-secret"), [SECRET]) == "forged"
    assert verify(BODY + b" ", sign(BODY, SECRET), [SECRET]) == "forged"
    assert verify(BODY, sign(BODY, SECRET), []) == "forged", "no secret configured: nothing is authentic"
    assert verify(BODY, "v2=" + "a" * 64, [SECRET]) == "forged", "no v1 signature to check"


def test_upper_case_hex_is_read_and_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    good = sign(BODY, SECRET)
    assert verify(BODY, f"{good.upper().replace('V1=', 'v1=')},{sign(BODY, 'x')}", [SECRET, OLD_SECRET]) == "ok"
    assert len(compared) == 4, "every signature against every secret, found or not"
    assert signatures("v1=" + "AB" * 32) == ["ab" * 32]
