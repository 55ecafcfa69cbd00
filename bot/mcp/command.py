"""``alex mcp``: serve alex's PagerDuty tools to an MCP client, over stdio (default) or streamable HTTP.

The person is the token's user (``PAGERDUTY_USER_API_KEY``, ``GET /users/me``: :mod:`bot.terminal.session`);
``--sandbox`` serves the built-in demo account instead (``--as EMAIL`` picks its person). Read tools only,
unless ``--enable-writes``: then write tools propose and the person confirms each change
(:mod:`bot.mcp.server`), with the proposals in alex's state store and every write in its audit log.

Setup problems (no token, PagerDuty refusing it, an unusable state store, a missing ``ALEX_MCP_TOKEN``
for ``--http``) exit with status 2 and one line on stderr; stdout belongs to the protocol. This module
imports the MCP SDK only when ``alex mcp`` runs (``import bot.cli`` stays light).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import TYPE_CHECKING, Any, TextIO

from bot.cli_types import aware_time

if TYPE_CHECKING:
    from bot.config import Settings
    from bot.mcp.server import AlexMcp
    from bot.store import StateStore
    from bot.terminal.session import Session
    from bot.tools.base import Asker

SETUP_FAILED = 2
INTERRUPTED = 130
MIN_TOKEN_CHARS = 24


def add_mcp_parser(commands: Any) -> None:
    """Add ``mcp`` to the ``alex`` subcommands."""
    mcp = commands.add_parser(
        "mcp", help="serve alex's PagerDuty tools over MCP (Claude Desktop, Cursor, VS Code)",
        description="alex's tools for an MCP client, as the PagerDuty token's user: over stdio (the client "
                    "starts this command) or, with --http, streamable HTTP at /mcp (a bearer token, "
                    "ALEX_MCP_TOKEN, on every request). Read-only unless --enable-writes: then changes are "
                    "proposed and made only when the person confirms them.")
    mcp.add_argument("--http", type=_port, metavar="PORT", default=None,
                     help="serve streamable HTTP on PORT (path /mcp) instead of stdio; needs ALEX_MCP_TOKEN")
    mcp.add_argument("--host", default="127.0.0.1",
                     help="the address --http listens on (default 127.0.0.1: this machine only)")
    mcp.add_argument("--enable-writes", action="store_true",
                     help="offer the write tools: each proposes a change that runs only once the person confirms it")
    mcp.add_argument("--sandbox", action="store_true", help="serve the built-in PagerDuty sandbox (no keys)")
    mcp.add_argument("--dataset", choices=["demo", "large"], default="demo", help="the sandbox account (default demo)")
    mcp.add_argument("--now", type=aware_time, default=None, metavar="ISO",
                     help="the sandbox's time, e.g. 2026-03-10T14:00:00Z (default that instant)")
    mcp.add_argument("--as", dest="as_email", metavar="EMAIL", default=None,
                     help="with --sandbox: act as this person of the account (default its Manager)")
    mcp.set_defaults(run=run_mcp)


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (1-65535)")
    return port


def run_mcp(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(serve(args, sys.stderr))
    except KeyboardInterrupt:
        return INTERRUPTED


async def serve(args: argparse.Namespace, err: TextIO) -> int:
    """Open the session (and the state, for writes), then serve until the client or a signal ends it."""
    from bot import logsafe
    from bot.config import InvalidSettings, read_settings
    from bot.terminal.session import SessionError

    logging.basicConfig(level=logging.WARNING, stream=err, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logsafe.install()
    if (args.as_email or args.now) and not args.sandbox:
        err.write("alex mcp: --as and --now are for --sandbox: on PagerDuty, alex acts as the token's user, at the "
                  "current time.\n")
        return SETUP_FAILED
    try:
        settings = read_settings()
    except InvalidSettings as exc:
        err.write(f"alex mcp: {exc}\n")
        return SETUP_FAILED
    token = settings.mcp_token.get_secret_value().strip() if settings.mcp_token is not None else ""
    if args.http is not None and (problem := _token_problem(token)):
        err.write(f"alex mcp: {problem}\n")
        return SETUP_FAILED
    try:
        session = await _open_session(args, settings)
    except SessionError as exc:
        err.write(f"alex mcp: {exc}\n")
        return SETUP_FAILED
    state: StateStore | None = None
    try:
        writes = writes_offered(args.enable_writes, settings, session.asker, err)
        if writes:
            state = _open_state(args, settings)
            health = await state.health(thorough=True)
            if not health.ok:
                err.write(f"alex mcp: the state store is unusable: {health.detail}. Set ALEX_STATE_PATH to a "
                          "writable file (or ALEX_STATE_URL).\n")
                return SETUP_FAILED
        alex = _build(session, settings, state)
        offered = "with write tools (each change confirmed by the person)" if writes else "read-only"
        where = f"http://{args.host}:{args.http}/mcp" if args.http is not None else "stdio"
        err.write(f"alex mcp: serving {where}, {offered}, as {session.describe()}, on {session.where}.\n")
        await _run(alex, args, token)
    finally:
        if state is not None:
            await state.aclose()
        await session.aclose()
    return 0


def _token_problem(token: str) -> str | None:
    if not token:
        return ("--http needs ALEX_MCP_TOKEN, the bearer token every client must send (e.g. from "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`).")
    if len(token) < MIN_TOKEN_CHARS:
        return f"ALEX_MCP_TOKEN is too short: use at least {MIN_TOKEN_CHARS} random characters."
    return None


async def _open_session(args: argparse.Namespace, settings: Settings) -> Session:
    from bot.terminal.session import pagerduty_session, sandbox_session

    if args.sandbox:
        return sandbox_session(args.dataset, now=args.now, as_email=args.as_email)
    return await pagerduty_session(settings)


def writes_offered(enable_writes: bool, settings: Settings, asker: Asker, err: TextIO) -> bool:
    """Whether write tools are offered: asked for, ``ALEX_READ_ONLY`` unset, and ``asker`` able to write (else
    ``err`` says why not)."""
    from bot.tools.proposals import refusal

    if not enable_writes:
        return False
    if settings.read_only:
        err.write("alex mcp: ALEX_READ_ONLY is set, so no write tool is offered.\n")
        return False
    refused = refusal(asker, "make changes")
    if refused is not None:
        err.write(f"alex mcp: {refused} No write tool is offered.\n")
        return False
    return True


def _open_state(args: argparse.Namespace, settings: Settings) -> StateStore:
    """The state store Slack uses (proposals, audit log); the sandbox keeps it in memory, as ``alex serve`` does."""
    from bot.store import open_state
    from bot.store.memory import MemoryState

    if args.sandbox and settings.state_url is None:
        return MemoryState(proposal_ttl_s=settings.proposal_ttl_seconds, audit_max_rows=settings.audit_max_rows)
    return open_state(settings)


def _build(session: Session, settings: Settings, state: StateStore | None) -> AlexMcp:
    from bot.mcp.confirm import Confirmations
    from bot.mcp.server import AlexMcp
    from bot.store.audit_buffer import AuditBuffer, DurableAudit, default_buffer_path
    from bot.tools.registry import ALL_TOOLS, READ_TOOLS

    if state is None:
        return AlexMcp(session, READ_TOOLS, deadline_s=settings.message_deadline_seconds)
    buffer = AuditBuffer(settings.audit_buffer_path or default_buffer_path(settings.state_path))
    confirmations = Confirmations(state.proposals, DurableAudit(state, buffer), session.asker,
                                  settings.proposal_ttl_seconds)
    return AlexMcp(session, ALL_TOOLS, confirmations=confirmations, deadline_s=settings.message_deadline_seconds)


async def _run(alex: AlexMcp, args: argparse.Namespace, token: str) -> None:
    server = alex.server()
    if args.http is not None:
        from bot.mcp.http import serve as serve_http

        await serve_http(server, token, host=args.host, port=args.http)
        return
    from mcp.server.stdio import stdio_server

    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())
