"""Team scope enforced by alex: what a team-scoped person may see and change, whatever token is used.

With one shared ``PAGERDUTY_USER_API_KEY`` PagerDuty applies the *token owner's* permissions to every
request, so a Restricted Access user asking through alex would see and change what the owner can.
:class:`ScopedClient` closes that gap for the people PagerDuty limits to their teams
(:data:`TEAM_SCOPED_ROLES`): it is a :class:`~bot.pagerduty.client.PagerDutyClient` that reads the
person's teams and team roles from PagerDuty (:func:`load_access`, cached for ``ttl_s``) and then

* narrows incident lists to their teams' services (``service_ids[]``) and on-call lists to their
  policies (``escalation_policy_ids[]``), and drops other teams' services, policies, schedules and log
  entries from lists;
* answers 404 (:class:`~bot.pagerduty.errors.NotFoundError`, as PagerDuty does for a restricted
  token) for an incident, service, policy or schedule outside their teams;
* refuses (:class:`ScopeError`, a 403) a write on an incident, service or schedule outside the teams
  where their team role is Responder or Manager, and every write for read-only roles;
* refuses any other path (complete mediation: a path this list does not know is not guessed at).

Directory reads (users, teams, ``/users/me``) and the account's priority list stay unscoped, as in PagerDuty.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from pydantic import SecretStr

from .client import PagerDutyClient
from .errors import ForbiddenError, NotFoundError
from .pagination import Getter, fetch
from .params import QueryParams

__all__ = ["READ_ONLY_ROLES", "TEAM_SCOPED_ROLES", "WRITE_TEAM_ROLES", "Access", "ScopeError", "ScopedClient",
           "load_access"]

TEAM_SCOPED_ROLES = frozenset({"restricted_access", "read_only_limited_user"})
"""Account roles that PagerDuty limits to the person's own teams (Restricted Access, Limited Stakeholder)."""
READ_ONLY_ROLES = frozenset({"observer", "read_only_user", "read_only_limited_user"})
WRITE_TEAM_ROLES = frozenset({"responder", "manager"})
"""Team roles that may act on their team's incidents and schedules (a team Observer only reads)."""
ACCESS_TTL_S = 300.0
"""How long a person's teams and team roles are trusted before PagerDuty is asked again."""
MAX_TEAMS = 100
_INCIDENT_CACHE = 2_000
_ID = r"([^/]+)"
_INCIDENT_PATH = re.compile(rf"/incidents/{_ID}(?:/[a-z_]+)?")
_SERVICE_PATH = re.compile(rf"/services/{_ID}")
_POLICY_PATH = re.compile(rf"/escalation_policies/{_ID}")
_SCHEDULE_PATH = re.compile(rf"/(?:v3/)?schedules/{_ID}(?:/(?:overrides|users)(?:/[^/]+)?)?")
_DIRECTORY = re.compile(r"/users(?:/[^/]+(?:/(?:notification_rules|contact_methods))?)?|/teams(?:/[^/]+(?:/members)?)?"
                        r"|/priorities")


class ScopeError(ForbiddenError):
    """alex refused a request the asker's PagerDuty role or teams do not allow (nothing was sent)."""


@dataclass(frozen=True, slots=True)
class Access:
    """One person's reach in PagerDuty: their role, their teams, and what those make visible/writable."""

    user_id: str
    name: str
    role: str
    team_names: Mapping[str, str]
    """Team id -> name of every team the person is on."""
    services: frozenset[str]
    writable_services: frozenset[str]
    policies: frozenset[str]
    schedules: frozenset[str]
    writable_schedules: frozenset[str]

    @property
    def can_write(self) -> bool:
        return self.role not in READ_ONLY_ROLES

    def teams_text(self) -> str:
        return ", ".join(sorted(self.team_names.values())) or "no team"


async def load_access(get: Getter, user_id: str, *, deadline: float | None = None) -> Access:
    """What ``user_id`` may see and change, read from PagerDuty with ``get`` (an unscoped client's)."""
    user = (await get(f"/users/{user_id}", {"include[]": ["teams"]}, deadline=deadline)).get("user") or {}
    role = str(user.get("role") or "")
    teams = {str(t["id"]): str(t.get("name") or t.get("summary") or t["id"])
             for t in (user.get("teams") or [])[:MAX_TEAMS] if isinstance(t, dict) and t.get("id")}
    team_roles = dict(zip(teams, await asyncio.gather(*(_team_role(get, t, user_id, deadline) for t in teams)),
                          strict=True))
    writable_teams = ({t for t, r in team_roles.items() if r in WRITE_TEAM_ROLES}
                      if role not in READ_ONLY_ROLES else set())
    services: dict[str, dict[str, Any]] = {}
    if teams:
        page = await fetch(get, "/services", "services", {"team_ids[]": list(teams)}, max_items=2_000,
                           deadline=deadline)
        services = {str(s["id"]): s for s in page.items if isinstance(s, dict) and _team_ids(s) & set(teams)}
    writable_services = {sid for sid, s in services.items() if _team_ids(s) & writable_teams}
    service_policies = {sid: str((s.get("escalation_policy") or {}).get("id") or "") for sid, s in services.items()}
    policies = await _policies(get, set(teams), set(filter(None, service_policies.values())), deadline)
    schedules_page = await fetch(get, "/schedules", "schedules", None, max_items=2_000, deadline=deadline)
    team_schedules = {str(s["id"]): _team_ids(s) for s in schedules_page.items if isinstance(s, dict)}
    targeted = {pid: _schedule_targets(p) for pid, p in policies.items()}
    writable_policies = {service_policies[s] for s in writable_services}
    schedules = {sid for sid, owners in team_schedules.items() if owners & set(teams)}
    schedules.update(s for targets in targeted.values() for s in targets)
    writable_schedules = {sid for sid, owners in team_schedules.items() if owners & writable_teams}
    writable_schedules.update(s for pid in writable_policies for s in targeted.get(pid, ()))
    return Access(user_id, str(user.get("name") or user_id), role, teams, frozenset(services),
                  frozenset(writable_services), frozenset(policies), frozenset(schedules),
                  frozenset(writable_schedules))


async def _team_role(get: Getter, team_id: str, user_id: str, deadline: float | None) -> str:
    page = await fetch(get, f"/teams/{team_id}/members", "members", None, max_items=10_000, deadline=deadline)
    return next((str(m.get("role")) for m in page.items
                 if isinstance(m, dict) and (m.get("user") or {}).get("id") == user_id), "observer")


async def _policies(get: Getter, teams: set[str], of_services: set[str],
                    deadline: float | None) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    if teams:
        page = await fetch(get, "/escalation_policies", "escalation_policies", {"team_ids[]": sorted(teams)},
                           max_items=2_000, deadline=deadline)
        found = {str(p["id"]): p for p in page.items if isinstance(p, dict) and _team_ids(p) & teams}
    missing = sorted(of_services - set(found))
    bodies = await asyncio.gather(*(get(f"/escalation_policies/{p}", deadline=deadline) for p in missing))
    found.update((p, b.get("escalation_policy") or {}) for p, b in zip(missing, bodies, strict=True))
    return found


def _team_ids(item: Mapping[str, Any]) -> set[str]:
    return {str(t["id"]) for t in item.get("teams") or [] if isinstance(t, dict) and t.get("id")}


def _schedule_targets(policy: Mapping[str, Any]) -> set[str]:
    return {str(t["id"]) for rule in policy.get("escalation_rules") or [] if isinstance(rule, dict)
            for t in rule.get("targets") or []
            if isinstance(t, dict) and "schedule" in str(t.get("type")) and t.get("id")}


class ScopedClient(PagerDutyClient):
    """A client for one team-scoped person: every request passes their :class:`Access` first.

    It holds the shared token but never answers more than the person's teams allow (see the module
    docstring). The person's access is loaded on first use and again after ``ttl_s``.
    """

    def __init__(self, token: str | SecretStr, *, user_id: str, ttl_s: float = ACCESS_TTL_S,
                 access_clock: Callable[[], float] = time.monotonic, **options: Any) -> None:
        super().__init__(token, **options)
        self.user_id = user_id
        self._ttl_s = ttl_s
        self._access_clock = access_clock
        self._access: tuple[float, Access] | None = None
        self._access_lock = asyncio.Lock()
        self._incident_services: OrderedDict[str, str] = OrderedDict()

    def forget(self) -> None:
        """Read the person's teams and roles again on the next request."""
        self._access = None

    async def access(self, *, deadline: float | None = None) -> Access:
        async with self._access_lock:
            if self._access is None or self._access[0] <= self._access_clock():
                access = await load_access(self._unscoped_get, self.user_id, deadline=deadline)
                self._access = (self._access_clock() + self._ttl_s, access)
            return self._access[1]

    async def _unscoped_get(self, path: str, params: QueryParams | None = None, *,
                            deadline: float | None = None) -> dict[str, Any]:
        return await super().get(path, params, deadline=deadline)

    # -- reads -------------------------------------------------------------------------------------
    async def get(self, path: str, params: QueryParams | None = None, *,
                  deadline: float | None = None) -> dict[str, Any]:
        if _DIRECTORY.fullmatch(path):
            return await super().get(path, params, deadline=deadline)
        access = await self.access(deadline=deadline)
        if path == "/incidents":
            return await self._scoped_list(path, params, "service_ids[]", access.services, "incidents", deadline)
        if path == "/oncalls":
            return await self._scoped_list(path, params, "escalation_policy_ids[]", access.policies, "oncalls",
                                           deadline)
        if path == "/services":
            return _keep(await super().get(path, params, deadline=deadline), "services", access.services)
        if path == "/escalation_policies":
            return _keep(await super().get(path, params, deadline=deadline), "escalation_policies", access.policies)
        if path == "/schedules":
            return _keep(await super().get(path, params, deadline=deadline), "schedules", access.schedules)
        if path == "/log_entries":
            body = await super().get(path, params, deadline=deadline)
            entries = [e for e in body.get("log_entries") or []
                       if isinstance(e, dict) and (e.get("service") or {}).get("id") in access.services]
            return _trimmed(body, "log_entries", entries)
        await self._check_visible(path, access, deadline)
        return await super().get(path, params, deadline=deadline)

    async def _scoped_list(self, path: str, params: QueryParams | None, name: str, allowed: frozenset[str],
                           key: str, deadline: float | None) -> dict[str, Any]:
        query = dict(params or {})
        asked = _values(query.get(name))
        wanted = sorted(allowed & set(asked)) if asked else sorted(allowed)
        if not wanted:
            return {key: [], "more": False, "total": 0, "offset": query.get("offset", 0),
                    "limit": query.get("limit", 25)}
        query[name] = wanted
        return await super().get(path, query, deadline=deadline)

    async def _check_visible(self, path: str, access: Access, deadline: float | None) -> None:
        if match := _INCIDENT_PATH.fullmatch(path):
            if await self._incident_service(unquote(match.group(1)), deadline) not in access.services:
                raise _not_found(path)
        elif match := _SERVICE_PATH.fullmatch(path):
            if unquote(match.group(1)) not in access.services:
                raise _not_found(path)
        elif match := _POLICY_PATH.fullmatch(path):
            if unquote(match.group(1)) not in access.policies:
                raise _not_found(path)
        elif match := _SCHEDULE_PATH.fullmatch(path):
            if unquote(match.group(1)) not in access.schedules:
                raise _not_found(path)
        else:
            raise ScopeError(f"alex does not read {path} for people limited to their teams", status=403,
                             method="GET", path=path)

    async def _incident_service(self, incident: str, deadline: float | None) -> str | None:
        known = self._incident_services.get(incident)
        if known is not None:
            return known
        try:
            body = await super().get(f"/incidents/{incident}", deadline=deadline)
        except NotFoundError:
            return None
        found = body.get("incident") or {}
        service = str((found.get("service") or {}).get("id") or "")
        for key in {incident, str(found.get("id") or ""), str(found.get("incident_number") or "")} - {""}:
            self._incident_services[key] = service
        while len(self._incident_services) > _INCIDENT_CACHE:
            self._incident_services.popitem(last=False)
        return service

    # -- writes ------------------------------------------------------------------------------------
    async def post(self, path: str, json: Any, *, from_email: str | None = None,
                   deadline: float | None = None, **options: Any) -> Any:
        await self._check_write("POST", path, json, deadline)
        return await super().post(path, json, from_email=from_email, deadline=deadline, **options)

    async def put(self, path: str, json: Any, *, from_email: str | None = None,
                  deadline: float | None = None, **options: Any) -> Any:
        await self._check_write("PUT", path, json, deadline)
        return await super().put(path, json, from_email=from_email, deadline=deadline, **options)

    async def delete(self, path: str, *, from_email: str | None = None,
                     deadline: float | None = None, **options: Any) -> Any | None:
        await self._check_write("DELETE", path, None, deadline)
        return await super().delete(path, from_email=from_email, deadline=deadline, **options)

    async def _check_write(self, method: str, path: str, body: Any, deadline: float | None) -> None:
        access = await self.access(deadline=deadline)
        if not access.can_write:
            raise self._refused(method, path, access, f"their {access.role} role can't make changes")
        if path == "/incidents" and method == "PUT":
            items = (body or {}).get("incidents") or [] if isinstance(body, dict) else []
            for incident in (str(i.get("id")) for i in items if isinstance(i, dict)):
                await self._check_incident(method, path, incident, access, deadline)
        elif path == "/incidents" and method == "POST":
            service = (((body or {}).get("incident") or {}).get("service") or {}).get("id")
            if service not in access.writable_services:
                raise self._refused(method, path, access, "that service is not one of their teams'")
        elif match := _INCIDENT_PATH.fullmatch(path):
            await self._check_incident(method, path, unquote(match.group(1)), access, deadline)
        elif (match := _SCHEDULE_PATH.fullmatch(path)) and "/overrides" in path:
            if unquote(match.group(1)) not in access.writable_schedules:
                raise self._refused(method, path, access, "that schedule is not one of their teams'")
        else:
            raise self._refused(method, path, access,
                                "alex does not make that change for people limited to their teams")

    async def _check_incident(self, method: str, path: str, incident: str, access: Access,
                              deadline: float | None) -> None:
        service = await self._incident_service(incident, deadline)
        if service not in access.services:
            raise _not_found(path, method)
        if service not in access.writable_services:
            raise self._refused(method, path, access, "that incident's service is not one their team role lets "
                                                      "them change")

    @staticmethod
    def _refused(method: str, path: str, access: Access, why: str) -> ScopeError:
        return ScopeError(f"{access.name} may not do this through alex: {why} (teams: {access.teams_text()})",
                          status=403, method=method, path=path)


def _not_found(path: str, method: str = "GET") -> NotFoundError:
    return NotFoundError("Not Found", status=404, code=2100, method=method, path=path,
                         errors=["It does not exist, or belongs to a team the asker is not on"])


def _values(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return [str(value)]


def _keep(body: dict[str, Any], key: str, allowed: frozenset[str]) -> dict[str, Any]:
    items = [i for i in body.get(key) or [] if isinstance(i, dict) and i.get("id") in allowed]
    return _trimmed(body, key, items)


def _trimmed(body: dict[str, Any], key: str, items: list[Any]) -> dict[str, Any]:
    kept = {k: v for k, v in body.items() if k != "total"}  # a filtered page's total would mislead
    kept[key] = items
    return kept
