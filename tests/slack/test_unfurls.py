"""Unfurls through Bolt's dispatch: a pasted PagerDuty incident link gets the incident's card, read as the
person who shared it; someone who cannot see the incident gets no unfurl (never a leak); at most a few
links a message; never in a Slack Connect conversation, outside the allowlist or in the composer."""

from __future__ import annotations

import json
from typing import Any

from bot.sandbox import Sandbox
from bot.slack.unfurls import MAX_LINKS, incident_links, incident_ref, web_domain
from tests.fakes.fake_slack import BOT_USER_ID, SlackCall
from tests.slack.conftest import (
    GENERAL,
    SAM,
    VISITOR,
    SlackFactory,
    SlackHarness,
    event_callback,
    incident,
    triggered_number,
)
from tests.slack.test_slash import ELSEWHERE
from tests.specs import BLOCK_KIT, required

RILEY = "U0RILEY"
RILEY_EMAIL = "riley.walsh@acme-payments.example"
"""Restricted Access in the demo: PagerDuty shows Riley only Riley's teams' incidents."""


def link(sandbox: Sandbox, number: int, tail: str = "") -> str:
    return f"https://{sandbox.world.subdomain}.pagerduty.com/incidents/{incident(sandbox, number).id}{tail}"


def shared(urls: list[str], *, user: str = SAM, channel: str = GENERAL, **extra: Any) -> dict[str, Any]:
    return {"type": "link_shared", "channel": channel, "is_bot_user_member": True, "user": user,
            "message_ts": "1773151200.000500", "event_ts": "1773151200.000501",
            "links": [{"domain": "pagerduty.com", "url": url} for url in urls], **extra}


async def share(slack: SlackHarness, urls: list[str], **options: Any) -> list[SlackCall]:
    """Paste ``urls`` in a message; the chat.unfurl calls alex made."""
    response = await slack.event(shared(urls, **options))
    assert response.status == 200
    await slack.settle()
    return slack.fake.of("chat.unfurl")


def unfurls_of(call: SlackCall) -> dict[str, Any]:
    raw = call.args["unfurls"]
    return json.loads(raw) if isinstance(raw, str) else dict(raw)


def assert_valid_cards(cards: dict[str, Any]) -> None:
    from tests.slack import blockkit

    for url, card in cards.items():
        blocks = card["blocks"]
        found = blockkit.message_problems(blocks)
        schema = blockkit.schema_problems(blocks)
        if schema is None and required():
            found.append(BLOCK_KIT)
        assert not found + (schema or []), (url, found, schema)


def incident_requests(slack: SlackHarness) -> list[str]:
    return [r.path for r in slack.sandbox.requests if r.path.startswith("/incidents/")]


async def test_an_incident_link_gets_its_card_as_the_sharer_sees_it(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    number = triggered_number(demo)
    url = link(demo, number)
    unfurl_id = "C0GENERAL.1773151200.000500.abc"
    [call] = await share(slack, [url], unfurl_id=unfurl_id, source="conversations_history")
    assert (call.args["unfurl_id"], call.args["source"]) == (unfurl_id, "conversations_history")
    cards = unfurls_of(call)
    assert list(cards) == [url]
    said = json.dumps(cards[url]["blocks"])
    assert f"#{number}" in said and incident(demo, number).title.split()[0] in said
    assert not any(b["type"] == "actions" for b in cards[url]["blocks"]), "read-only: no buttons"
    assert_valid_cards(cards)
    assert slack.writes() == []


async def test_without_an_unfurl_id_the_message_is_named_by_channel_and_ts(make_slack: SlackFactory,
                                                                           demo: Sandbox) -> None:
    slack = await make_slack()
    [call] = await share(slack, [link(demo, triggered_number(demo), "/timeline")])
    assert (call.args["channel"], call.args["ts"]) == (GENERAL, "1773151200.000500")


async def test_someone_who_cannot_see_the_incident_gets_no_unfurl(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    slack.fake.add_user(RILEY, email=RILEY_EMAIL, name="Riley Walsh")
    riley = demo.world.user_by_email(RILEY_EMAIL)
    assert riley is not None
    visible = demo.world.visible_service_ids(riley)
    assert visible is not None
    hidden = next(i for i in demo.world.incidents.values() if i.service_id not in visible)
    seen = next(i for i in demo.world.incidents.values() if i.service_id in visible)
    assert await share(slack, [link(demo, hidden.number)], user=RILEY) == []
    [call] = await share(slack, [link(demo, seen.number)], user=RILEY)  # Riley's own team's: unfurled
    assert list(unfurls_of(call)) == [link(demo, seen.number)]
    slack.fake.calls.clear()
    # Nor does someone with no PagerDuty account, even where unmapped reads are allowed.
    assert await share(slack, [link(demo, hidden.number)], user=VISITOR) == []
    assert slack.writes() == []


async def test_at_most_a_few_incident_links_a_message(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    numbers = sorted(i.number for i in demo.world.incidents.values())[:MAX_LINKS + 2]
    urls = [link(demo, n) for n in numbers]
    others = [f"https://{demo.world.subdomain}.pagerduty.com/services/PH17IVY", "https://pagerduty.com/incidents/X",
              f"https://{demo.world.subdomain}.eu.pagerduty.com.evil.example/incidents/PX"]
    [call] = await share(slack, [urls[0], urls[0], *others, *urls])
    assert list(unfurls_of(call)) == urls[:MAX_LINKS]
    assert len(set(incident_requests(slack))) <= MAX_LINKS * 3


async def test_nothing_is_unfurled_where_the_card_could_leak_or_the_place_is_unknown(make_slack: SlackFactory,
                                                                                    demo: Sandbox) -> None:
    slack = await make_slack(allowed_channels=frozenset({GENERAL}))
    url = link(demo, triggered_number(demo))
    assert await share(slack, [url], channel=ELSEWHERE) == []  # outside the allowlist
    assert await share(slack, [url], channel="COMPOSER", source="composer", unfurl_id="U0SAM-1") == []
    body = {**event_callback(shared([url]), "Ev9001"), "is_ext_shared_channel": True}  # Slack Connect
    assert (await slack.send(json.dumps(body))).status == 200
    await slack.settle()
    assert slack.fake.of("chat.unfurl") == [] and incident_requests(slack) == []


async def test_an_unknown_incident_is_left_as_a_link(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    known = link(demo, triggered_number(demo))
    unknown = f"https://{demo.world.subdomain}.pagerduty.com/incidents/PNOSUCH1"
    [call] = await share(slack, [unknown, known])
    assert list(unfurls_of(call)) == [known]


async def test_alex_own_links_are_not_unfurled_again(make_slack: SlackFactory, demo: Sandbox) -> None:
    slack = await make_slack()
    assert await share(slack, [link(demo, triggered_number(demo))], user=BOT_USER_ID) == []


def test_incident_links_are_read_from_the_pagerduty_domain_only() -> None:
    assert web_domain("https://api.pagerduty.com") == "pagerduty.com"
    assert web_domain("https://api.eu.pagerduty.com") == "eu.pagerduty.com"
    assert incident_ref("https://acme.pagerduty.com/incidents/Q1ABC23", "pagerduty.com") == "Q1ABC23"
    assert incident_ref("https://acme.eu.pagerduty.com/incidents/Q1ABC23/timeline", "eu.pagerduty.com") == "Q1ABC23"
    for url in ("https://acme.pagerduty.com/services/PABC123", "http://acme.pagerduty.com/incidents/Q1",
                "https://acme.pagerduty.com.evil.example/incidents/Q1", "https://pagerduty.com/incidents/Q1",
                "https://acme.pagerduty.com/incidents/Q1?x=<y>", "https://acme.pagerduty.com/incidents/../users/P1"):
        assert incident_ref(url, "pagerduty.com") is None, url
    assert incident_ref("https://acme.pagerduty.com/incidents/Q1ABC23", "eu.pagerduty.com") is None
    event = {"links": [{"url": f"https://acme.pagerduty.com/incidents/P{i}"} for i in range(10)]}
    assert len(incident_links(event, "pagerduty.com")) == MAX_LINKS
