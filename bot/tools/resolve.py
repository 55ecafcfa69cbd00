"""Names people use -> PagerDuty objects, by code: exact, then case-insensitive, then closest matches.

Names compare ignoring case, spaces and punctuation ("Platform Engineering" is the service
"platform-engineering"). Every resolver raises :class:`ToolError` with a message the model can act on
("No service named 'chekout'. Closest: checkout-web, checkout-api.") rather than letting a 404 surface.
When one name is several kinds of object (a service, its escalation policy and its team), code picks
one (services first) and :func:`choice_note` says which.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.pagerduty import InvalidInputError, NotFoundError
from bot.tools.base import ToolContext
from bot.tools.errors import ToolError

_PD_ID = re.compile(r"^P[A-Z0-9]{6}$")
_PLACEHOLDERS = {"null", "none", "undefined", "nil", "n/a", "id", "<id>", "incident_id", "unknown", "?"}
_INVISIBLE_CHARS = "\u200b\u200c\u200d\u2060\ufeff\u00ad\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
_INVISIBLE = dict.fromkeys(map(ord, _INVISIBLE_CHARS), None)
_INCIDENT_REF = re.compile(r"^[A-Za-z0-9]{1,32}$")
_MAX_DIRECTORY = 1_000
_WORD = re.compile(r"[^\W_]+")
KIND_WORDS = {"service": "a service", "escalation_policy": "an escalation policy", "schedule": "a schedule",
              "team": "a team"}
LOOKUPS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "service": ("/services", "services", {"include[]": ["escalation_policies"]}),
    "escalation_policy": ("/escalation_policies", "escalation_policies", {}),
    "schedule": ("/schedules", "schedules", {}),
    "team": ("/teams", "teams", {}),
}
"""Where each kind of named object is listed (path, key, params sent with the name query)."""


def clean_ref(value: str | None, what: str) -> str:
    """Strip quotes, ``#`` and invisible characters around it; reject blanks, placeholders, invisible
    characters inside it ("P\u200bABC123") and IDs spelt with look-alike letters (Cyrillic "Р"), before
    any call."""
    raw = value or ""
    edges = raw.strip(_INVISIBLE_CHARS + " \t\r\n")
    text = raw.translate(_INVISIBLE).strip().strip("\"'`").strip()
    text = text.removeprefix("#").strip()
    if not text or text.lower() in _PLACEHOLDERS or (text.startswith("<") and text.endswith(">")):
        raise ToolError(f"A real {what} is needed, not {value!r}.",
                        f"Ask the user which {what} they mean, or look it up first.")
    if any(char in _INVISIBLE_CHARS for char in edges):
        raise ToolError(f"The {what} {value!r} contains invisible characters.",
                        f"Ask the user to type the {what} again.")
    if not text.isascii() and _id_shaped(text):
        raise ToolError(f"The {what} {value!r} looks like a PagerDuty ID with look-alike (non-Latin) letters.",
                        f"Ask the user to type the {what} again.")
    return text


def _id_shaped(text: str) -> bool:
    """Seven upper-case letters or digits, like a PagerDuty ID ("PABC123")."""
    return len(text) == 7 and all(c.isalnum() for c in text) and text.upper() == text


def clean_incident_ref(value: str | None) -> str:
    """An incident number or ID: :func:`clean_ref`, and only Latin letters and digits (no look-alikes)."""
    text = clean_ref(value, "incident number")
    if not _INCIDENT_REF.match(text):
        raise ToolError(f"{value!r} is not an incident number or ID.",
                        "Incident numbers are digits (e.g. 1204); IDs are Latin letters and digits.")
    return text


def looks_like_id(text: str) -> bool:
    return bool(_PD_ID.match(text))


def name_key(name: Any) -> str:
    """A name as compared: lower case, words only, "and" as good as "&" ("Platform-Engineering " ->
    "platform engineering", "Checkout and Web" -> "checkout web")."""
    return " ".join(word for word in _WORD.findall(str(name or "").lower()) if word != "and")


def search_term(wanted: str) -> str:
    """The second query for a name of several words that PagerDuty's ``query`` (a name substring) did
    not find as written: its longest word, so "platform engineering" finds "platform-engineering"."""
    words = _WORD.findall(wanted)
    return max(words, key=len) if len(words) > 1 else wanted


async def query_by_name(ctx: ToolContext, path: str, key: str, wanted: str,
                        params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The candidates for ``wanted`` on a list endpoint: PagerDuty's ``query`` with the name as written
    (one request), and only when that finds nothing, with :func:`search_term` (the names containing
    the same words)."""
    page = await ctx.client.fetch(path, key, {"query": wanted, **(params or {})}, max_items=100,
                                  deadline=ctx.deadline)
    term = search_term(wanted)
    if page.items or term == wanted:
        return list(page.items)
    page = await ctx.client.fetch(path, key, {"query": term, **(params or {})}, max_items=100,
                                  deadline=ctx.deadline)
    words = name_key(wanted)
    return [item for item in page.items if words in name_key(item.get("name"))]


def pick_by_name(items: list[dict[str, Any]], wanted: str, kind: str) -> dict[str, Any] | None:
    """The one item named ``wanted`` (ignoring case, spaces and punctuation), else the only partial
    match; an ambiguous partial match raises, no match returns None."""
    key = name_key(wanted)
    exact = [item for item in items if name_key(item.get("name")) == key]
    if exact:
        return exact[0]
    if len(items) == 1:
        return items[0]
    if len(items) > 1:
        listed = ", ".join(str(item.get("name")) for item in items[:8])
        raise ToolError(f"{len(items)} {kind}s match {wanted!r}: {listed}.", f"Use the exact {kind} name.")
    return None


async def resolve_named(ctx: ToolContext, kind: str, path: str, key: str, name: str,
                        params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Find one object of a list endpoint by name (or ID): exact match, then a single partial match,
    then an error with the closest names. ``params`` go with every lookup (e.g. ``include[]``)."""
    wanted = clean_ref(name, kind)
    if looks_like_id(wanted):
        try:
            body = await ctx.client.get(f"{path}/{quote(wanted, safe='')}", params, deadline=ctx.deadline)
        except (NotFoundError, InvalidInputError):  # a v3 schedule's ID on the v2 endpoint answers 400
            body = {}
        found: dict[str, Any] | None = next((v for v in body.values() if isinstance(v, dict)), None)
        if found is not None:
            return found
    picked = pick_by_name(await query_by_name(ctx, path, key, wanted, params), wanted, kind)
    if picked is not None:
        return picked
    everything = await ctx.client.fetch(path, key, params, max_items=_MAX_DIRECTORY, deadline=ctx.deadline)
    same: list[dict[str, Any]] = [o for o in everything.items if name_key(o.get("name")) == name_key(wanted)]
    if same:  # beyond the first 100 matches of the query
        return same[0]
    names = [str(o.get("name", "")) for o in everything.items]
    close = difflib.get_close_matches(wanted, names, n=4, cutoff=0.5) or difflib.get_close_matches(
        wanted.lower(), [n.lower() for n in names], n=4, cutoff=0.5)
    if close:
        raise ToolError(f"No {kind} named {wanted!r}. Closest: {', '.join(close)}.",
                        "Use one of those names if it is what the user meant, or ask them.")
    raise ToolError(f"No {kind} named {wanted!r} is visible to this PagerDuty user.",
                    "Check the name; team-scoped users only see their teams' objects.")


@dataclass(frozen=True, slots=True)
class Named:
    """One object found by name, and its kind (a key of :data:`LOOKUPS`)."""

    kind: str
    obj: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.obj.get("name") or self.obj.get("summary") or self.obj.get("id"))


async def exact_named(ctx: ToolContext, kind: str, wanted: str) -> Named | None:
    """The object of this kind named ``wanted`` (ignoring case, spaces and punctuation), or None: one query."""
    path, key, params = LOOKUPS[kind]
    items = await query_by_name(ctx, path, key, wanted, params)
    same = [item for item in items if name_key(item.get("name")) == name_key(wanted)]
    return Named(kind, same[0]) if same else None


_RELATED = {"escalation_policy": "escalation_policy", "escalation_policies": "escalation_policy",
            "teams": "team", "services": "service"}


def choice_note(chosen: Named, wanted: str) -> str | None:
    """``"service platform-engineering (also an escalation policy of that name)"`` when an object linked
    to the chosen one (its policy, teams, services) has the same name, so the result says which was
    meant; else None. Costs no request: the links come with the object."""
    key = name_key(wanted)
    others: list[str] = []
    for field, kind in _RELATED.items():
        value = chosen.obj.get(field)
        for ref in value if isinstance(value, list) else [value]:
            if (isinstance(ref, dict) and kind != chosen.kind and KIND_WORDS[kind] not in others
                    and name_key(ref.get("summary") or ref.get("name")) == key):
                others.append(KIND_WORDS[kind])
    if not others:
        return None
    also = others[0] if len(others) == 1 else ", ".join(others[:-1]) + " and " + others[-1]
    return f"{chosen.kind.replace('_', ' ')} {chosen.name} (also {also} of that name)"


async def resolve_service(ctx: ToolContext, name: str, *, with_policy: bool = False) -> dict[str, Any]:
    """A service; ``with_policy`` embeds its escalation policy in the same request."""
    params = {"include[]": ["escalation_policies"]} if with_policy else None
    return await resolve_named(ctx, "service", "/services", "services", name, params)


async def resolve_policy(ctx: ToolContext, name: str) -> dict[str, Any]:
    return await resolve_named(ctx, "escalation policy", "/escalation_policies", "escalation_policies", name)


async def resolve_schedule(ctx: ToolContext, name: str) -> dict[str, Any]:
    """A schedule by name or ID (layer-based ones are listed by PagerDuty; a shift-based (v3) one is
    found by ID, or by name through the escalation policies that target it)."""
    try:
        return await resolve_named(ctx, "schedule", "/schedules", "schedules", name)
    except ToolError as not_listed:
        wanted = clean_ref(name, "schedule").lower()
        policies = await ctx.client.fetch("/escalation_policies", "escalation_policies",
                                          max_items=_MAX_DIRECTORY, deadline=ctx.deadline)
        for policy in policies.items:
            for rule in policy.get("escalation_rules", []):
                for target in rule.get("targets", []):
                    if target.get("type") == "schedule_v3_reference" and (
                            str(target.get("summary", "")).lower() == wanted or target.get("id") == name):
                        return {"id": target["id"], "name": target.get("summary"), "type": "schedule_v3"}
        raise not_listed


async def resolve_team(ctx: ToolContext, name: str) -> dict[str, Any]:
    return await resolve_named(ctx, "team", "/teams", "teams", name)


async def resolve_user(ctx: ToolContext, name: str) -> dict[str, Any]:
    """A user by "me", e-mail (exact, case-insensitive), name or ID."""
    wanted = clean_ref(name, "user")
    if wanted.lower() in ("me", "myself", "i"):
        if ctx.asker.user_id is None:
            raise ToolError("The asker has no PagerDuty account linked.", "Ask them to name the person.")
        return {"id": ctx.asker.user_id, "name": ctx.asker.name, "email": ctx.asker.email,
                "time_zone": ctx.asker.time_zone.key}
    if "@" in wanted:
        page = await ctx.client.fetch("/users", "users", {"query": wanted}, max_items=100, deadline=ctx.deadline)
        match = [u for u in page.items if str(u.get("email", "")).lower() == wanted.lower()]
        if match:
            found: dict[str, Any] = match[0]
            return found
        raise ToolError(f"No PagerDuty user has the e-mail {wanted!r}.", "Check the address or use the name.")
    return await resolve_named(ctx, "user", "/users", "users", wanted)


async def get_incident(ctx: ToolContext, ref: str, *, include: tuple[str, ...] = ()) -> dict[str, Any]:
    """One incident by number ("4521", "#4521") or ID; a clear error when there is none."""
    wanted = clean_incident_ref(ref)
    try:
        body = await ctx.client.get(f"/incidents/{quote(wanted, safe='')}",
                                    {"include[]": list(include)} if include else None, deadline=ctx.deadline)
    except NotFoundError as exc:
        raise ToolError(f"There is no incident {wanted} visible to this PagerDuty user.",
                        "Check the number; list incidents to find it.") from exc
    incident: dict[str, Any] = body["incident"]
    return incident
