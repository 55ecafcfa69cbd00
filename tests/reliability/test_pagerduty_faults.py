"""D. PagerDuty faults (reliability.md §6 D1–D8): the demo sandbox with injected faults, a client whose
retry waits are recorded (not slept), and the Slack renderer for the size limits."""

from __future__ import annotations

import json
import logging
import time

import pytest

from bot.agent.turn import ToolCallRecord, Turn
from bot.pagerduty import AuthenticationError, RateLimitedError, ServerError
from bot.pagerduty.client import DEFAULT_RETRY
from bot.sandbox import DEFAULT_NOW, Sandbox, build_sandbox, default_token
from bot.slack.render import render_turn
from bot.tools.proposals import execute
from bot.tools.registry import TOOLS_BY_NAME
from bot.tools.runner import run_tool
from tests.reliability.conftest import ClientFactory, Page2Fault, pd_writes
from tests.slack.conftest import triggered_number

LIST = TOOLS_BY_NAME["list_incidents"]
NO_ARGS = dict.fromkeys(LIST.args.model_fields)
DEADLINE_S = 45.0


async def test_D1_one_429_waits_ratelimit_reset_then_answers(demo: Sandbox, pd_ctx: ClientFactory) -> None:
    ctx, sleeps = pd_ctx(demo)
    demo.faults.add(path="/incidents", method="GET", status=429, headers={"ratelimit-reset": "2"}, times=1)
    result = await run_tool(LIST, NO_ARGS, ctx)
    assert result.status == "ok" and result.data["incidents"]
    assert sleeps.waits == [2.0]


async def test_D2_429_storm_is_bounded_and_says_rate_limited(demo: Sandbox, pd_ctx: ClientFactory) -> None:
    ctx, sleeps = pd_ctx(demo)
    ctx.deadline = time.monotonic() + DEADLINE_S
    demo.faults.add(path="/incidents", method="GET", status=429, headers={"ratelimit-reset": "2"})
    started = time.monotonic()
    with pytest.raises(RateLimitedError):
        await ctx.client.get("/incidents", deadline=ctx.deadline)
    assert ctx.client.requests_sent <= DEFAULT_RETRY.max_attempts, "bounded attempts for one call"
    result = await run_tool(LIST, NO_ARGS, ctx)
    assert result.status == "error" and "rate limit" in (result.error or "")
    assert sum(sleeps.waits) < DEADLINE_S and time.monotonic() - started < DEADLINE_S


async def test_D2_D3_at_most_three_attempts_per_call(demo: Sandbox, pd_ctx: ClientFactory) -> None:
    ctx, _ = pd_ctx(demo)
    demo.faults.add(path="/incidents", method="GET", status=503)
    with pytest.raises(ServerError):
        await ctx.client.get("/incidents")
    assert ctx.client.requests_sent <= 3


async def test_D3_two_5xx_then_200_on_a_get_answers(demo: Sandbox, pd_ctx: ClientFactory) -> None:
    for status in (500, 502):
        demo.faults.add(path="/incidents", method="GET", status=status, times=1)
    ctx, sleeps = pd_ctx(demo)
    body = await ctx.client.get("/incidents")
    assert body["incidents"]
    assert ctx.client.requests_sent == 3 and len(sleeps.waits) == 2
    for status in (500, 502):
        demo.faults.add(path="/incidents", method="GET", status=status, times=1)
    result = await run_tool(LIST, NO_ARGS, ctx)
    assert result.status == "ok" and result.data["incidents"] and not result.partial


@pytest.mark.parametrize("applied", [True, False])
async def test_D4_a_timed_out_note_is_never_posted_twice(demo: Sandbox, pd_ctx: ClientFactory, applied: bool) -> None:
    """No second POST; alex re-reads the notes and reports honestly whether the note landed."""
    ctx, _ = pd_ctx(demo)
    number = triggered_number(demo)
    prepared = await run_tool(TOOLS_BY_NAME["add_incident_note"], {"incident": str(number), "note": "db failover"},
                              ctx)
    assert prepared.proposal is not None
    posts = demo.faults.add(path="/incidents/*/notes", method="POST")  # counts the attempts
    demo.faults.add(path="/incidents/*/notes", method="POST", timeout="after" if applied else "before")
    outcome = await execute(prepared.proposal, ctx.asker, ctx.client)
    assert posts.fired == 1, "no second POST after a timeout"
    assert [r.method for r in demo.requests if r.path.endswith("/notes")][-1] == "GET", "the notes were re-read"
    if applied:
        assert outcome.ok and not outcome.maybe_applied
        assert "the note is there" in " ".join(outcome.lines)
    else:
        assert not outcome.ok and outcome.maybe_applied
        assert "may have been applied" in outcome.summary and "check" in outcome.summary.lower()


@pytest.mark.parametrize("token", ["sandbox-revoked-token", "sandbox-readonly-token"])
async def test_D5_401_and_403_are_not_retried_and_leak_no_token(demo: Sandbox, pd_ctx: ClientFactory, token: str,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    email = "sam.rivera@acme-payments.example" if "revoked" in token else "alex.morgan@acme-payments.example"
    ctx, sleeps = pd_ctx(demo, email, token=token)
    number = triggered_number(demo)
    if "revoked" in token:  # 401 on a read
        with pytest.raises(AuthenticationError):
            await ctx.client.get("/incidents")
        assert ctx.client.requests_sent == 1
        result = await run_tool(LIST, NO_ARGS, ctx)
        assert result.status == "error" and "token" in (result.error or "").lower()
        text = json.dumps(result.to_model())
    else:  # 403 on a write with a read-only key
        prepared = await run_tool(TOOLS_BY_NAME["acknowledge_incidents"], {"incidents": [str(number)]}, ctx)
        assert prepared.proposal is not None
        puts = demo.faults.add(path="/incidents", method="PUT")  # counts the attempts
        outcome = await execute(prepared.proposal, ctx.asker, ctx.client)
        assert not outcome.ok and "permission" in outcome.summary.lower()
        assert puts.fired == 1
        text = outcome.summary + json.dumps(outcome.lines)
    assert sleeps.waits == []
    assert token not in text
    assert token not in "\n".join(r.getMessage() for r in caplog.records)


async def test_D6_malformed_json_is_an_error_result_not_a_crash(demo: Sandbox, pd_ctx: ClientFactory) -> None:
    ctx, _ = pd_ctx(demo)
    demo.faults.add(path="/incidents", method="GET", malformed=True)
    result = await run_tool(LIST, NO_ARGS, ctx)
    assert result.status == "error" and result.error
    message = render_turn(Turn("PagerDuty's answer was unreadable.", "llm",
                               tool_calls=[ToolCallRecord("list_incidents", {}, result, 1.0)]))
    assert message.text and message.blocks


async def test_D6_unexpected_schema_is_an_error_result(demo: Sandbox, pd_ctx: ClientFactory) -> None:
    ctx, _ = pd_ctx(demo)
    demo.faults.add(path="/incidents/*", method="GET", status=200, message=None)
    # A 200 without the expected object: the sandbox's fault body is {"error": ...}.
    result = await run_tool(TOOLS_BY_NAME["get_incident"], {"incident": str(triggered_number(demo))}, ctx)
    assert result.status == "error"


@pytest.fixture(scope="module")
def large() -> Sandbox:
    return build_sandbox("large", now=DEFAULT_NOW, rate_limit_per_minute=None)


async def test_D7_thousands_of_incidents_stay_bounded(large: Sandbox, pd_ctx: ClientFactory) -> None:
    token = default_token("large")
    ctx, _ = pd_ctx(large, large.world.users[large.world.tokens[token].user_id].email, token=token)
    result = await run_tool(LIST, NO_ARGS | {"limit": 100}, ctx)
    assert result.status == "ok"
    assert len(result.data["incidents"]) <= 100
    assert result.data.get("total", 0) > 1000 or result.data.get("more")
    message = render_turn(Turn("Lots open.", "llm", tool_calls=[ToolCallRecord("list_incidents", {}, result, 1.0)]))
    assert len(message.blocks) <= 50
    for block in message.blocks:
        text = block.get("text")
        texts = [text.get("text", "")] if isinstance(text, dict) else []
        texts += [f.get("text", "") for f in block.get("fields") or [] if isinstance(f, dict)]
        assert all(len(t) <= 3000 for t in texts)
    assert "more" in json.dumps(message.blocks).lower()


async def test_D8_a_failing_page_two_is_never_shown_as_complete(demo: Sandbox, pd_ctx: ClientFactory) -> None:
    ctx, _ = pd_ctx(demo)
    demo.faults.add(Page2Fault(path="/incidents", method="GET", status=500))
    args = NO_ARGS | {"window": "last 30 days", "statuses": ["resolved"], "limit": 100}
    result = await run_tool(LIST, args, ctx)
    assert result.status == "error" or result.partial, result
    assert pd_writes(demo) == []
