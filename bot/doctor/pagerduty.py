"""PagerDuty checks: a User API token (``/users/me``), its role and region, and how many services it sees."""

from __future__ import annotations

import time

import httpx2

from bot.config import Settings, pagerduty_client
from bot.doctor.report import Check, redact
from bot.pagerduty import (
    DEFAULT_BASE_URL,
    EU_BASE_URL,
    AuthenticationError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    PagerDutyClient,
    PagerDutyError,
)
from bot.pagerduty.scope import READ_ONLY_ROLES
from bot.tools.directory import ROLES

_NEW_TOKEN = "My Profile → User Settings → API Access → Create API User Token"
_US_HOST = httpx2.URL(DEFAULT_BASE_URL).host
_EU_HOST = httpx2.URL(EU_BASE_URL).host


def region(base_url: str) -> str:
    url = httpx2.URL(base_url)
    if url.host == _US_HOST:
        return f"US ({_US_HOST})"
    if url.host == _EU_HOST:
        return f"EU ({_EU_HOST})"
    host = f"{url.host}:{url.port}" if url.port else url.host
    return f"custom host {host}, not PagerDuty's US or EU API"


def _other_region(base_url: str) -> str:
    if httpx2.URL(base_url).host == _EU_HOST:
        return f"a US account needs PAGERDUTY_API_URL unset (or {DEFAULT_BASE_URL})"
    return f"an EU account needs PAGERDUTY_API_URL={EU_BASE_URL}"


async def check_pagerduty(settings: Settings, *, transport: httpx2.AsyncBaseTransport | None = None,
                          timeout_s: float = 10.0) -> list[Check]:
    key = settings.pagerduty_user_api_key
    if key is None or not key.get_secret_value().strip():
        return [Check("PagerDuty", "token", "fail", "PAGERDUTY_USER_API_KEY is not set",
                      f"create a User API token ({_NEW_TOKEN}) and export it as PAGERDUTY_USER_API_KEY")]
    try:
        client = pagerduty_client(settings, transport)
    except ValueError as exc:
        return [Check("PagerDuty", "token", "fail", redact(str(exc), [key.get_secret_value()]),
                      "check PAGERDUTY_USER_API_KEY (no spaces or quotes) and PAGERDUTY_API_URL (https://)")]
    async with client:
        return await _check_account(client, settings.pagerduty_api_url, time.monotonic() + timeout_s)


async def _check_account(client: PagerDutyClient, base_url: str, deadline: float) -> list[Check]:
    where = region(base_url)
    try:
        me = await client.me(deadline=deadline)
    except PagerDutyError as exc:
        return [_me_error(exc, base_url)]
    role = str(me.get("role") or "unknown")
    role_name = ROLES.get(role, role)
    checks = [Check("PagerDuty", "user", "ok", f"user token for {me.get('name')} <{me.get('email')}>, role "
                    f"{role_name} ({role}); region {where}")]
    if role in READ_ONLY_ROLES:
        checks.append(Check("PagerDuty", "role", "warn", f"{role_name} reads only: writes will be refused "
                            "(ack, resolve, notes, overrides)", "to act through alex, use the User API token "
                            "of a Responder, Manager or Admin"))
    elif role == "restricted_access":
        checks.append(Check("PagerDuty", "role", "warn", "Restricted Access sees only its own teams' objects",
                            "use the token of a user with account-wide access if alex should see every team"))
    if role not in READ_ONLY_ROLES and (probe := await _check_writes(client, str(me.get("email") or ""), deadline)):
        checks.append(probe)
    checks.append(await _check_services(client, deadline))
    return checks


async def _check_writes(client: PagerDutyClient, email: str, deadline: float) -> Check | None:
    """A write that changes nothing (a bulk update of no incidents): a read-only token gets 403 for it, as
    for every write; any other answer means writes are not refused outright (None: nothing to report)."""
    try:
        await client.put("/incidents", {"incidents": []}, from_email=email or None, deadline=deadline)
    except ForbiddenError:
        return Check("PagerDuty", "writes", "warn", "this token is read-only: reads work, but every ack, resolve, "
                     "note and override will be refused (403)",
                     f"to act through alex, create a token that is not read-only ({_NEW_TOKEN}); or set "
                     "ALEX_READ_ONLY=true so alex offers no writes")
    except PagerDutyError:
        return None
    return None


def _me_error(exc: PagerDutyError, base_url: str) -> Check:
    if isinstance(exc, AuthenticationError):
        revoked = "revoked" in exc.message.lower()
        what = "the token has been revoked" if revoked else "the token is wrong or revoked"
        return Check("PagerDuty", "user", "fail", f"Authentication failed (401): {what}",
                     f"verify PAGERDUTY_USER_API_KEY; if it was revoked, create a new one ({_NEW_TOKEN}); use a User "
                     f"API token, not a REST API key; {_other_region(base_url)}")
    if isinstance(exc, ForbiddenError):
        return Check("PagerDuty", "user", "fail", f"Permission denied ({exc.status}) on /users/me",
                     "the token may be restricted or the user's role may not read users; use a User API token of "
                     "a user with at least the Observer role")
    if isinstance(exc, InvalidInputError | NotFoundError):
        return Check("PagerDuty", "user", "fail", f"/users/me answered {exc.status}: this is not a user token "
                     "(an account-level REST API key has no user)",
                     f"use a User API token ({_NEW_TOKEN}): alex acts with that user's permissions")
    return Check("PagerDuty", "user", "fail", f"cannot talk to PagerDuty at {region(base_url)}: {exc}",
                 "check the network and PAGERDUTY_API_URL, then try again")


async def _check_services(client: PagerDutyClient, deadline: float) -> Check:
    try:
        body = await client.get("/services", {"limit": 1, "total": True}, deadline=deadline)
    except PagerDutyError as exc:
        return Check("PagerDuty", "services", "fail", f"listing services failed: {exc}",
                     "the user's role or team access may not allow reading services")
    total = body.get("total")
    services = body.get("services")
    count = total if isinstance(total, int) else len(services) if isinstance(services, list) else 0
    if count == 0:
        return Check("PagerDuty", "services", "fail", "the token's user sees no services",
                     "PagerDuty shows only the services of teams the user can access (team scope): add the user "
                     "to those teams, or use the token of a user with account-wide access")
    plural = "s" if count != 1 else ""
    more = "" if isinstance(total, int) else "at least "
    return Check("PagerDuty", "services", "ok", f"sees {more}{count} service{plural}")
