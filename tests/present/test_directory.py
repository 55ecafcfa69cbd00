"""find_people: the typed result (wire JSON as the model reads it) and its presenter's blocks and text."""

from __future__ import annotations

import json
from typing import Any

from bot.present.directory import people_blocks, people_text
from bot.present.kit.limits import Room
from bot.present.registry import presenter_for
from bot.present.results import result_text
from bot.sandbox import Sandbox
from bot.tools.base import ToolResult
from bot.tools.directory import FindPeople
from bot.tools.registry import TOOLS_BY_NAME
from bot.tools.results.directory import Member, PeopleFound, Person, Team
from bot.tools.runner import parse_arguments, run_parsed
from tests.tools.conftest import ContextFactory, demo, make_ctx

FIXTURES = (demo, make_ctx)
PRIYA = Person(name="Priya Raman", email="priya.raman@acme.example", role="Admin", time_zone="Asia/Kolkata",
               teams=["Platform"])
PLATFORM = Team(name="Platform", count=3, members=[Member(name="Priya Raman", role="Manager"),
                                                   Member(name="Ben Carter", role="Responder")],
                url="https://acme.pagerduty.com/teams/PT1")
ARGS = FindPeople(query=None, kind=None)


def texts(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


async def run(demo: Sandbox, make_ctx: ContextFactory, raw: dict[str, Any]) -> ToolResult[PeopleFound]:
    tool = TOOLS_BY_NAME["find_people"]
    return await run_parsed(tool, parse_arguments(tool, raw), make_ctx(demo))


async def test_the_tool_answers_with_its_model(demo: Sandbox, make_ctx: ContextFactory) -> None:
    assert TOOLS_BY_NAME["find_people"].result is PeopleFound and presenter_for("find_people") is not None
    result = await run(demo, make_ctx, {"query": None, "kind": None})
    assert isinstance(result.value, PeopleFound) and result.data == result.value.wire()
    teams = result.data["teams"]
    assert set(teams[0]) == {"name", "count", "members", "url"} and teams[-1] == {"name": "Mobile"}
    assert result.data["teams_note"].startswith("members shown for the first 3")


def test_wire_leaves_out_what_was_not_searched() -> None:
    assert PeopleFound(query="ben@x.example", users=[], users_total=0).wire() == {
        "query": "ben@x.example", "users": [], "users_total": 0}
    assert PeopleFound(query=None).wire() == {"query": None}
    missing = Person(name=None, email=None, role=None, time_zone=None, teams=[])
    assert missing.wire() == {"name": None, "email": None, "role": None, "time_zone": None, "teams": []}
    assert Team(name="Data").wire() == {"name": "Data"} and not Team(name="Data").detailed
    assert Team(name="Empty", count=0, members=[]).wire() == {"name": "Empty", "count": 0, "members": []}


def test_text_lists_people_then_teams_with_members() -> None:
    found = PeopleFound(query=None, users=[PRIYA], users_total=4,
                        teams=[PLATFORM, Team(name="Data"), Team(name="Mobile")], teams_total=5,
                        teams_note="members shown for the first 3; name one team for its members")
    assert people_text(ToolResult.ok(found), ARGS) == [
        "4 people:",
        "• Priya Raman · Admin · priya.raman@acme.example · Asia/Kolkata · teams Platform",
        "…and 3 more.",
        "5 teams:",
        "• Platform (3 members): Priya Raman (Manager), Ben Carter (Responder) and 1 more",
        "• Also: Data, Mobile",
        "…and 2 more.",
        "Members shown for the first 3; name one team for its members.",
    ]


def test_text_keeps_pagerduty_text_on_one_line_and_says_when_nothing_matches() -> None:
    forged = Person(name="Eve\n• Admin", email=None, role="Responder", time_zone=None, teams=[])
    lines = people_text(ToolResult.ok(PeopleFound(query="eve", users=[forged], users_total=1)), ARGS)
    assert lines == ["1 person:", "• Eve • Admin · Responder"]
    nothing = ToolResult.nothing("No user or team matches 'zz'.", PeopleFound(query="zz", users=[], users_total=0))
    assert result_text("find_people", FindPeople(query="zz", kind=None), nothing) == "No user or team matches 'zz'."


async def test_text_from_the_demo_account(demo: Sandbox, make_ctx: ContextFactory) -> None:
    result = await run(demo, make_ctx, {"query": "platform", "kind": "team"})
    reply = result_text("find_people", FindPeople(query="platform", kind="team"), result)
    assert reply.startswith("1 team:\n• Platform (6 members): Priya Raman (Manager), Sam Rivera (Manager)")
    assert "Times are in" not in reply


def test_blocks_escape_names_and_link_teams() -> None:
    hostile = Person(name="<!channel> Eve", email="eve@evil.example", role=None, time_zone=None, teams=[])
    found = PeopleFound(query=None, users=[hostile], users_total=1, teams=[PLATFORM, Team(name="Data")],
                        teams_total=2)
    body = texts(people_blocks(ToolResult.ok(found), ARGS, Room()))
    assert "<!channel>" not in body and "*&lt;!channel&gt; Eve*" in body
    assert "*1 person*" in body and "*2 teams*" in body
    assert "*<https://acme.pagerduty.com/teams/PT1|Platform>* (3 members): Priya Raman (Manager)" in body
    assert "• Also: Data" in body
    empty: ToolResult[PeopleFound] = ToolResult.nothing("No users are visible.", None)
    assert "No users are visible." in texts(people_blocks(empty, ARGS, Room()))
