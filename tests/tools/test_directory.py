"""find_people: users by name fragment or e-mail, teams with members and roles, in plain words."""

from __future__ import annotations

import json
from typing import Any

from bot.sandbox import Sandbox
from bot.tools.base import ToolResult
from bot.tools.directory import TOOLS
from bot.tools.results.directory import PeopleFound
from bot.tools.runner import run_tool
from bot.tools.schema import openai_tool
from tests.tools.conftest import ContextFactory

FIND = TOOLS[0]


async def call(sandbox: Sandbox, make_ctx: ContextFactory, args: dict[str, Any]) -> tuple[ToolResult[PeopleFound], int]:
    ctx = make_ctx(sandbox)
    before = len(sandbox.requests)
    result = await run_tool(FIND, args, ctx)
    return result, len(sandbox.requests) - before


def test_schema_is_small() -> None:
    size = len(json.dumps(openai_tool(FIND.name, FIND.description, FIND.args), separators=(",", ":")))
    assert size <= 650


async def test_by_name_fragment(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result, requests = await call(demo, make_ctx, {"query": "priya", "kind": "user"})
    assert requests == 1
    assert result.data["users"] == [{"name": "Priya Raman", "email": "priya.raman@acme-payments.example",
                                     "role": "Admin", "time_zone": "Asia/Kolkata", "teams": ["Platform"]}]
    fragment, _ = await call(demo, make_ctx, {"query": "an", "kind": None})
    expected = {u.name for u in demo.world.users.values() if "an" in u.name.lower() or "an" in u.email.lower()}
    assert {u["name"] for u in fragment.data["users"]} == expected
    assert fragment.data["users_total"] == len(expected)


async def test_by_email_gives_one_person_with_role_in_plain_words(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result, requests = await call(demo, make_ctx, {"query": "ben.carter@acme-payments.example", "kind": None})
    assert requests == 1  # an e-mail is not a team name: no teams search
    assert [u["name"] for u in result.data["users"]] == ["Ben Carter"]
    assert result.data["users"][0]["role"] == "Responder"  # limited_user
    assert "teams" not in result.data


async def test_team_with_members_and_team_roles(demo: Sandbox, make_ctx: ContextFactory) -> None:
    team = next(t for t in demo.world.teams.values() if t.name == "Platform")
    result, requests = await call(demo, make_ctx, {"query": "platform", "kind": "team"})
    assert requests == 2  # the teams search + the members of the one match
    found = result.data["teams"][0]
    assert found["name"] == "Platform" and found["count"] == len(team.members)
    roles = {m["name"]: m["role"] for m in found["members"]}
    assert roles["Priya Raman"] == "Manager" and roles["Ben Carter"] == "Responder"
    assert roles["Olivia Observer"] == "Observer"
    assert [m["role"] for m in found["members"]][0] == "Manager"  # managers listed first


async def test_nothing_found(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result, _ = await call(demo, make_ctx, {"query": "nobody-like-this", "kind": None})
    assert result.status == "no_data"


async def test_list_is_bounded_on_the_large_account(large: Sandbox, make_ctx: ContextFactory) -> None:
    result, requests = await call(large, make_ctx, {"query": None, "kind": "user"})
    assert requests == 1 and len(result.data["users"]) == 20
    assert result.data["users_total"] == len(large.world.users)
