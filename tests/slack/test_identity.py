"""Slack user → e-mail (users.info) → PagerDuty user: exact e-mail match, cached, Slack time zone first;
people with no PagerDuty account read only; each sandbox person acts with their own token."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import Sandbox, default_token
from bot.slack.backend import PagerDutyBackend
from bot.slack.identity import IdentityError, IdentityResolver
from bot.slack.sandbox_backend import SANDBOX_TOKEN_PREFIX, SandboxBackend
from tests.fakes.fake_slack import FakeSlack
from tests.helpers import sandbox_transport
from tests.slack.conftest import AISHA, BEN, MANAGER_EMAIL, OBSERVER_EMAIL, OLIVIA, SAM, VISITOR

Build = Callable[..., IdentityResolver]


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def backend(demo: Sandbox) -> AsyncIterator[PagerDutyBackend]:
    pd = SandboxBackend(demo, default_token("demo"), transport=sandbox_transport(demo))
    yield pd
    await pd.aclose()


@pytest.fixture
def resolver(fake_slack: FakeSlack, backend: PagerDutyBackend) -> Build:
    def build(**options: object) -> IdentityResolver:
        client = AsyncWebClient(token="xoxb-test-token", base_url=fake_slack.api_url)
        return IdentityResolver(client, backend, **options)  # type: ignore[arg-type]

    return build


def user_lookups(sandbox: Sandbox) -> int:
    return len([r for r in sandbox.requests if r.path == "/users"])


async def test_a_slack_user_is_their_pagerduty_user_by_exact_email(resolver: Build) -> None:
    identity = await resolver().resolve(SAM)  # Slack has the e-mail in capitals
    asker = identity.asker
    assert identity.mapped and asker.user_id
    assert (asker.email, asker.name, asker.role) == (MANAGER_EMAIL, "Sam Rivera", "user")
    assert asker.can_write


async def test_the_slack_time_zone_wins_then_pagerduty_then_utc(resolver: Build, fake_slack: FakeSlack) -> None:
    fake_slack.add_user(AISHA, email="aisha.khan@acme-payments.example", tz="Asia/Tokyo", name="Aisha Khan")
    fake_slack.add_user(BEN, email="ben.carter@acme-payments.example", tz=None, name="Ben Carter")
    fake_slack.add_user(VISITOR, email="visitor@elsewhere.example", tz="Not/AZone", name="Vic Visitor")
    people = resolver()
    assert (await people.resolve(AISHA)).asker.time_zone.key == "Asia/Tokyo"
    assert (await people.resolve(BEN)).asker.time_zone.key == "America/New_York"  # from PagerDuty
    assert (await people.resolve(VISITOR)).asker.time_zone.key == "UTC"


async def test_someone_without_a_pagerduty_account_cannot_write(resolver: Build) -> None:
    identity = await resolver().resolve(VISITOR)
    assert not identity.mapped
    assert identity.asker.user_id is None and not identity.asker.can_write
    assert identity.asker.name == "Vic Visitor"
    assert identity.asker.time_zone.key == "Europe/Paris"


async def test_no_visible_email_or_no_slack_profile_means_unmapped(resolver: Build, fake_slack: FakeSlack,
                                                                   demo: Sandbox) -> None:
    fake_slack.add_user("U0HIDDEN", email=None, name="Hidden Email")
    people = resolver()
    hidden = await people.resolve("U0HIDDEN")
    ghost = await people.resolve("U0GHOST")  # users.info: user_not_found
    assert not hidden.mapped and not ghost.mapped
    assert ghost.asker.name == "U0GHOST"
    assert user_lookups(demo) == 0, "no e-mail, nothing to look up in PagerDuty"


async def test_identities_are_cached(resolver: Build, fake_slack: FakeSlack, demo: Sandbox) -> None:
    clock = Ticks()
    people = resolver(ttl_s=900, clock=clock)
    await people.resolve(SAM)
    await people.resolve(SAM)
    await asyncio.gather(*(people.resolve(OLIVIA) for _ in range(5)))
    assert len(fake_slack.of("users.info")) == 2
    assert user_lookups(demo) == 2
    clock.now += 901
    await people.resolve(SAM)
    assert len(fake_slack.of("users.info")) == 3, "looked up again after the TTL"


async def test_a_pagerduty_failure_is_an_identity_error_without_secrets(fake_slack: FakeSlack, demo: Sandbox) -> None:
    broken = SandboxBackend(demo, "sandbox-revoked-token", transport=sandbox_transport(demo))
    client = AsyncWebClient(token="xoxb-test-token", base_url=fake_slack.api_url)
    try:
        with pytest.raises(IdentityError) as raised:
            await IdentityResolver(client, broken).resolve(SAM)
    finally:
        await broken.aclose()
    assert "sandbox-revoked-token" not in str(raised.value)
    assert "PagerDuty" in str(raised.value)


async def test_a_sandbox_stand_in_for_people_who_are_nobody_there(resolver: Build) -> None:
    identity = await resolver(stand_in_email=OBSERVER_EMAIL).resolve(VISITOR)
    assert identity.mapped and identity.asker.role == "observer"
    assert identity.slack_email == "visitor@elsewhere.example"


async def test_each_sandbox_person_acts_with_their_own_token(resolver: Build, backend: PagerDutyBackend,
                                                             demo: Sandbox) -> None:
    people = resolver()
    sam, ben, visitor = [await people.resolve(u) for u in (SAM, BEN, VISITOR)]
    for identity in (sam, ben):
        me = await backend.client_for(identity.asker).me()
        assert me["email"] == identity.asker.email
    assert backend.client_for(sam.asker) is backend.client_for(sam.asker)
    assert backend.client_for(visitor.asker) is backend.directory
    assert f"{SANDBOX_TOKEN_PREFIX}{ben.asker.user_id}" in demo.world.tokens, "Ben had no token: one was minted"
