"""Run one tool call safely: validate the model's arguments, call the handler, keep the result small.

Whatever happens, the caller gets a :class:`ToolResult`: bad JSON, unknown fields, PagerDuty errors
and oversized answers all come back as errors the model can correct.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pydantic import ValidationError

from bot.pagerduty import (
    AbilityError,
    AuthenticationError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    PagerDutyError,
    PagerDutyTimeout,
    RateLimitedError,
)
from bot.pagerduty.scope import ScopeError
from bot.tools.base import RESULT_BUDGET_CHARS, Tool, ToolArgs, ToolContext, ToolResult
from bot.tools.errors import ToolError, ToolProblem

log = logging.getLogger("bot.tools")


def parse_arguments(tool: Tool[Any], raw: str | dict[str, Any] | None) -> ToolArgs:
    """The model's arguments as the tool's model; raises ToolError with a correctable message."""
    try:
        data = json.loads(raw or "{}") if isinstance(raw, str) else (raw or {})
    except ValueError as exc:
        raise ToolError(f"The arguments for {tool.name} are not valid JSON.", "Send a JSON object.") from exc
    if not isinstance(data, dict):
        raise ToolError(f"The arguments for {tool.name} must be a JSON object.")
    fields = tool.args.model_fields
    # Strict mode sends every field; a model that leaves some out means "not given".
    data = {name: data.get(name) for name in fields} | {k: v for k, v in data.items() if k not in fields}
    try:
        args: ToolArgs = tool.args.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
        raise ToolError(f"Invalid arguments for {tool.name}: {problems}.", "Fix them and call again.") from exc
    return args


async def run_tool(tool: Tool[Any], raw: str | dict[str, Any] | None, ctx: ToolContext) -> ToolResult[Any]:
    """Parse the model's raw arguments, then :func:`run_parsed`; bad arguments come back as an error result."""
    try:
        args = parse_arguments(tool, raw)
    except ToolError as exc:
        return ToolResult.failed(exc.problem)
    return await run_parsed(tool, args, ctx)


async def run_parsed(tool: Tool[Any], args: ToolArgs, ctx: ToolContext) -> ToolResult[Any]:
    """Run ``tool`` on arguments already parsed by :func:`parse_arguments` (the loop parses each call once)."""
    try:
        result = await tool.handler(args, ctx)
    except ToolError as exc:
        return ToolResult.failed(exc.problem)
    except PagerDutyError as exc:
        return ToolResult.failed(explain_pagerduty_error(exc))
    except Exception:
        log.exception("tool %s failed", tool.name)
        return ToolResult.fail(f"{tool.name} failed unexpectedly.", "Try a simpler request.", kind="internal")
    if len(result.to_json()) > RESULT_BUDGET_CHARS:
        return ToolResult.fail(f"The answer from {tool.name} is too large to send back.",
                               "Narrow the query: a shorter window, a status, a service, or a smaller limit.",
                               kind="too_large")
    return result


def explain_pagerduty_error(error: PagerDutyError) -> ToolProblem:
    """PagerDuty's own message plus the troubleshooting step a person would take."""
    detail = error.message + (f" ({'; '.join(error.errors)})" if error.errors else "")
    if isinstance(error, AuthenticationError):
        return ToolProblem("auth", f"PagerDuty rejected the API token: {detail}.",
                "Check that PAGERDUTY_USER_API_KEY is a valid User API token and has not been revoked "
                "(My Profile -> User Settings -> API Access). EU accounts need "
                "PAGERDUTY_API_URL=https://api.eu.pagerduty.com.")
    if isinstance(error, ScopeError):
        return ToolProblem("refused", f"Not allowed: {detail}.",
                "alex limits people to what their own PagerDuty role and teams allow; someone who is a "
                "Responder or Manager on that team can do it. Do not retry this.")
    if isinstance(error, AbilityError):
        return ToolProblem("plan", f"This PagerDuty account's plan does not include that feature: {detail}.",
                "Tell the user; there is no workaround through the API.")
    if isinstance(error, ForbiddenError):
        return ToolProblem("forbidden", f"PagerDuty denied permission: {detail}.",
                "The user's PagerDuty role or team access does not allow this (writes need Responder or "
                "Manager; Observers read only), or the token is read-only.")
    if isinstance(error, NotFoundError):
        return ToolProblem("not_found", f"PagerDuty could not find it: {detail}.",
                "It may not exist, or belong to a team this user cannot see (team scope).")
    if isinstance(error, RateLimitedError):
        wait = f" in {int(error.retry_after)} s" if error.retry_after else " shortly"
        return ToolProblem("rate_limited", f"PagerDuty is rate limiting requests: {detail}.", f"Try again{wait}.")
    if isinstance(error, PagerDutyTimeout):
        return ToolProblem("timeout", "PagerDuty did not answer in time.",
                "Try again; if it was a change, check whether it was applied before repeating it.")
    if isinstance(error, InvalidInputError):
        return ToolProblem("invalid", f"PagerDuty refused the request: {detail}.",
                           "Correct the arguments and try again.")
    return ToolProblem("pagerduty", f"PagerDuty failed: {detail}.", "Try again in a moment.")
