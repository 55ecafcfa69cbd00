"""``alex serve``: run the Slack app.

* Socket Mode when ``SLACK_APP_TOKEN`` (xapp-…) is set: alex opens a WebSocket to Slack; no public URL.
* Otherwise HTTP on ``PORT``: ``POST /slack/events`` (events and button clicks; size, signature with
  ``SLACK_SIGNING_SECRET`` and shape checked before Bolt sees them, :mod:`bot.slack.ingress`) and
  ``GET /healthz`` (``{"ok": true, "state": …}``, or 503 with ``"ok": false`` when the state store fails
  its probe).
* With ``ALEX_PAGERDUTY_WEBHOOK_SECRETS`` set, ``POST /pagerduty/webhooks`` too (PagerDuty V3 webhooks →
  live incident cards, :mod:`bot.notify`): on ``PORT`` in HTTP mode, on ``ALEX_WEBHOOK_PORT`` (with its own
  ``GET /healthz``) in Socket Mode. At start the cards are caught up with PagerDuty (:mod:`bot.notify.catchup`).

At start the state store is opened and checked (a damaged SQLite file stops it with exit status 2 and
a line naming the file), and every log record is escaped and capped (:mod:`bot.logsafe`).

``--sandbox`` answers from the built-in PagerDuty sandbox instead of ``PAGERDUTY_USER_API_KEY``'s
account: each Slack user is matched by e-mail to a sandbox person and acts with that person's own
token and role. Slack users who are nobody in the sandbox can read (``ALEX_ALLOW_UNMAPPED_READS``),
or act as the person given with ``--as EMAIL``. A missing setting stops it with exit status 2 and a
line naming the variable (never a value).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, TextIO
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from bot.cli_types import aware_time
from bot.config import InvalidSettings, MissingSettingError, Settings, read_settings

if TYPE_CHECKING:  # Slack, aiohttp and the agent load only when serving (`alex chat` starts faster)
    from aiohttp import web
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.notify.receiver import WebhookReceiver
    from bot.slack.runtime import SlackRuntime
    from bot.store import StateHealth

log = logging.getLogger("bot.slack.serve")

SETUP_FAILED = 2
EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
HEALTH_CACHE_S = 1.0
"""``/healthz`` probes the store at most this often (it is unauthenticated: a flood must not become load)."""
SCHEDULED_READ_S = 30.0
"""How long one scheduled post may read PagerDuty (retries stop at it)."""


def add_serve_parser(commands: Any) -> None:
    """Add ``serve`` to the ``alex`` subcommands."""
    serve = commands.add_parser(
        "serve", help="run the Slack app (Socket Mode with SLACK_APP_TOKEN, else HTTP on PORT)",
        description="Run alex in Slack. Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP on PORT "
                    f"({EVENTS_PATH}, {HEALTH_PATH}).")
    serve.add_argument("--sandbox", action="store_true",
                       help="answer from the built-in PagerDuty sandbox (Slack users matched by e-mail)")
    serve.add_argument("--dataset", choices=["demo", "large"], default="demo", help="the sandbox account")
    serve.add_argument("--now", type=aware_time, default=None, metavar="ISO",
                       help="the current time, e.g. 2026-03-10T14:00:00Z (sandbox default: that instant)")
    serve.add_argument("--as", dest="as_email", metavar="EMAIL", default=None,
                       help="sandbox only: Slack users who are nobody in the sandbox act as this person")
    serve.set_defaults(run=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from bot import logsafe

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logsafe.install()
    try:
        return asyncio.run(serve(args, sys.stderr))
    except KeyboardInterrupt:
        return 0


def missing_settings(settings: Settings, *, sandbox: bool) -> list[str]:
    """The variables ``alex serve`` needs and does not have (names only)."""
    missing: list[str] = []
    if not _secret(settings.slack_bot_token):
        missing.append("SLACK_BOT_TOKEN")
    if not _secret(settings.slack_app_token) and not _secret(settings.slack_signing_secret):
        missing.append("SLACK_SIGNING_SECRET (or SLACK_APP_TOKEN for Socket Mode)")
    if not sandbox and not _secret(settings.pagerduty_user_api_key):
        missing.append("PAGERDUTY_USER_API_KEY (or use --sandbox)")
    return missing


async def serve(args: argparse.Namespace, err: TextIO) -> int:
    try:
        settings = read_settings()
    except InvalidSettings as exc:
        err.write(f"alex serve: {exc}\n")
        return SETUP_FAILED
    if args.as_email and not args.sandbox:
        err.write("alex serve: --as works with --sandbox only (in PagerDuty, people act as themselves)\n")
        return SETUP_FAILED
    if missing := missing_settings(settings, sandbox=args.sandbox):
        err.write(f"alex serve: missing settings: {', '.join(missing)}. See README, \"Running alex in Slack\".\n")
        return SETUP_FAILED
    from bot.notify.routes import RouteError, notify_routes

    try:
        notify_routes(settings)
    except RouteError as exc:
        err.write(f"alex serve: invalid settings: ALEX_NOTIFY_ROUTES / ALEX_NOTIFY_PRIORITIES: {exc}\n")
        return SETUP_FAILED
    client = slack_client(settings)
    try:
        rt = build_runtime(settings, client, sandbox=args.sandbox, dataset=args.dataset, now=args.now,
                           stand_in_email=args.as_email)
    except MissingSettingError as exc:
        err.write(f"alex serve: {exc}\n")
        return SETUP_FAILED
    health = await rt.state.health(thorough=True)
    if not health.ok:
        err.write(f"alex serve: the state store is unusable: {health.detail}. Move the file aside (alex then "
                  "starts an empty one: pending proposals and the audit log stay in the old file) or restore "
                  "a backup; set ALEX_STATE_PATH to use another file.\n")
        await rt.aclose()
        return SETUP_FAILED
    from bot.slack.app import build_app

    signing_secret = _secret(settings.slack_signing_secret)
    app = build_app(rt, client=client, signing_secret=signing_secret)
    err.write(f"alex: answering from {rt.backend.where}; {rt.agent.describe_mode()}\n")
    app_token = _secret(settings.slack_app_token)
    receiver, catching_up = start_notifications(settings, client, rt, err, socket_mode=bool(app_token))
    if receiver is not None:
        await receiver.start()
    scheduling = start_scheduler(settings, client, rt, err)
    if app_token:
        running = run_socket_mode(app, app_token, err)
        if receiver is not None and settings.webhook_port is not None:
            running = _both(running, run_webhooks(receiver, settings.webhook_port, err, health=rt.state.health))
    else:
        running = run_http(app, settings.port, err, signing_secret=signing_secret, health=rt.state.health,
                           webhooks=receiver)
    try:
        await until_stopped(running)
    except OSError as exc:  # the port is taken, Slack unreachable...
        err.write(f"alex serve: {exc}\n")
        return SETUP_FAILED
    finally:
        for task in (catching_up, scheduling):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if receiver is not None:
            await receiver.aclose()
        await rt.aclose()
    return 0


def start_notifications(settings: Settings, client: AsyncWebClient, rt: SlackRuntime, err: TextIO, *,
                        socket_mode: bool) -> tuple[WebhookReceiver | None, asyncio.Task[None] | None]:
    """The webhook receiver drawing live cards (the caller starts it), and the catch-up running in the
    background; none without ``ALEX_PAGERDUTY_WEBHOOK_SECRETS`` (or, in Socket Mode, without
    ``ALEX_WEBHOOK_PORT``). With ``--sandbox`` the sandbox delivers to it in process."""
    from bot.notify.events import WEBHOOK_PATH
    from bot.notify.receiver import WebhookReceiver
    from bot.slack.notify_cards import LiveCards

    secrets = settings.webhook_secrets
    sandbox = getattr(rt.backend, "sandbox", None)  # alex serve --sandbox: its own deliveries, in process
    if sandbox is not None and rt.notify is not None:
        return _sandbox_notifications(settings, client, rt, err, sandbox)
    if not secrets or rt.notify is None:
        if settings.notify_routes.strip():
            err.write("alex: ALEX_NOTIFY_ROUTES is set but ALEX_PAGERDUTY_WEBHOOK_SECRETS is not: no incident "
                      "cards until it is (README, \"Incident notifications\")\n")
        return None, None
    if socket_mode and settings.webhook_port is None:
        err.write("alex: Socket Mode: set ALEX_WEBHOOK_PORT to receive PagerDuty webhooks (no incident cards "
                  "until then)\n")
        return None, None
    cards = LiveCards(client, rt.state.notify, rt.notify)
    receiver = WebhookReceiver(secrets, rt.state, cards.handle)
    where = f"port {settings.webhook_port}" if socket_mode else f"port {settings.port}"
    err.write(f"alex: PagerDuty webhooks at POST {WEBHOOK_PATH} ({where}); {len(rt.notify.env)} route(s) from "
              "ALEX_NOTIFY_ROUTES\n")
    catching_up = asyncio.ensure_future(_catch_up(rt, cards)) if settings.notify_catch_up else None
    return receiver, catching_up


def start_scheduler(settings: Settings, client: AsyncWebClient, rt: SlackRuntime,
                    err: TextIO) -> asyncio.Task[None] | None:
    """The scheduled posts (``ALEX_SCHEDULED_POSTS``), ticking in the background on every replica (one of
    them works: :mod:`bot.notify.scheduled`); None when they are off."""
    from bot.analysis.due import parse_kinds, parse_weekly_at, parse_zone
    from bot.notify.scheduled import Scheduler
    from bot.slack.scheduled_posts import SlackPosts
    from bot.tools.base import Asker, ToolContext

    kinds = parse_kinds(settings.scheduled_posts)
    if not kinds or rt.notify is None:
        return None
    directory = rt.backend.directory

    def contexts(zone: ZoneInfo, now: datetime) -> ToolContext:
        return ToolContext(directory, Asker(None, None, "alex", zone), now, time.monotonic() + SCHEDULED_READ_S)

    scheduler = Scheduler(rt.state, rt.notify, SlackPosts(client), contexts, kinds,
                          parse_weekly_at(settings.scheduled_at), parse_zone(settings.scheduled_timezone),
                          timedelta(minutes=settings.shift_reminder_minutes))
    err.write(f"alex: scheduled posts: {scheduled_posts(settings)} (default zone {settings.scheduled_timezone}), "
              "in the channels with notification routes\n")
    return asyncio.ensure_future(scheduler.run(rt.backend.now))


def scheduled_posts(settings: Settings) -> str:
    """``ALEX_SCHEDULED_POSTS`` and their times in words (empty: off)."""
    from bot.analysis.due import describe, parse_kinds, parse_weekly_at

    return describe(parse_kinds(settings.scheduled_posts), parse_weekly_at(settings.scheduled_at),
                    settings.shift_reminder_minutes)


def _sandbox_notifications(settings: Settings, client: AsyncWebClient, rt: SlackRuntime, err: TextIO,
                           sandbox: Any) -> tuple[WebhookReceiver, asyncio.Task[None] | None]:
    """``--sandbox``: the sandbox subscribes alex's receiver and delivers its signed events in process, so a
    team trying alex sees cards arrive and change as people act (in Slack or on the sandbox's REST API)."""
    from bot.notify.events import WEBHOOK_PATH
    from bot.notify.receiver import WebhookReceiver
    from bot.sandbox.webhooks import WebhookRequest
    from bot.slack.notify_cards import LiveCards

    assert rt.notify is not None
    rt.notify.receiving = True
    cards = LiveCards(client, rt.state.notify, rt.notify)
    receiver = WebhookReceiver(settings.webhook_secrets, rt.state, cards.handle)
    subscription = sandbox.webhooks.subscribe(f"http://alex.sandbox.invalid{WEBHOOK_PATH}",
                                              description="alex serve --sandbox: live incident cards")
    receiver.add_secret(subscription.secret)

    async def deliver(request: WebhookRequest) -> int:
        return receiver.admit(request.body, request.headers).status

    sandbox.webhooks.deliver_with(deliver)
    err.write(f"alex: the sandbox delivers its PagerDuty webhooks to alex in process; {len(rt.notify.env)} "
              "route(s) from ALEX_NOTIFY_ROUTES (or type `@alex notify this channel about payments-api`)\n")
    return receiver, None


async def _catch_up(rt: SlackRuntime, cards: Any) -> None:
    """The catch-up (:mod:`bot.notify.catchup`) when any channel gets cards; its failure is logged, never raised."""
    from bot.notify.catchup import catch_up

    try:
        if rt.notify is None or not (await rt.notify.all_routes() or await rt.state.notify.open_cards(1)):
            return
        await catch_up(rt.backend.directory, rt.state, cards, now=rt.backend.now())
    except Exception as exc:  # the cards catch up with the next events anyway
        log.warning("the catch-up on incident cards failed (%s)", type(exc).__name__)


async def _both(one: Coroutine[Any, Any, None], two: Coroutine[Any, Any, None]) -> None:
    """Run both until either ends (then the other is cancelled)."""
    tasks = [asyncio.ensure_future(one), asyncio.ensure_future(two)]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def until_stopped(running: Coroutine[Any, Any, None]) -> None:
    """Run ``running`` until it ends or SIGTERM/SIGINT arrives (then cancel it and return)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on this platform / thread
            loop.add_signal_handler(sig, stop.set)
    task = asyncio.ensure_future(running)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
        stopper.cancel()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await stopper
        with contextlib.suppress(asyncio.CancelledError):
            await task


def slack_client(settings: Settings) -> AsyncWebClient:
    """The Web API client (``SLACK_API_URL``), retrying once or twice when Slack rate-limits."""
    from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token=_secret(settings.slack_bot_token), base_url=settings.slack_api_url)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    return client


def build_runtime(settings: Settings, client: AsyncWebClient, *, sandbox: bool = False, dataset: str = "demo",
                  now: datetime | None = None, stand_in_email: str | None = None) -> SlackRuntime:
    """The agent, PagerDuty (real or sandbox), identities, war rooms and the shared state (:mod:`bot.store`):
    Redis with ALEX_STATE_URL, else the SQLite file at ALEX_STATE_PATH (the sandbox keeps it in memory)."""
    from bot.agent.agent import Agent
    from bot.notify.routes import Routing, notify_routes
    from bot.slack.approvers import Approvers
    from bot.slack.backend import PagerDutyBackend
    from bot.slack.identity import IdentityResolver
    from bot.slack.runtime import RateLimits, SlackRuntime
    from bot.slack.streaming import Streaming
    from bot.slack.warroom import WarRooms
    from bot.store import StateStore, open_state
    from bot.store.audit_buffer import AuditBuffer, default_buffer_path
    from bot.store.linked_tokens import open_linked_tokens
    from bot.store.memory import MemoryState

    state: StateStore
    backend: PagerDutyBackend
    if sandbox:  # the sandbox is imported only when it serves (a real account never loads it)
        from bot.sandbox import DEFAULT_NOW, build_sandbox, default_token
        from bot.slack.sandbox_backend import SandboxBackend

        name: Literal["demo", "large"] = "large" if dataset == "large" else "demo"
        at = now or DEFAULT_NOW
        box = build_sandbox(name, now=at)
        backend = SandboxBackend(
            box, default_token(name), where=f"the {name} sandbox (clock frozen at {at:%a %Y-%m-%d %H:%M} UTC)")
        state = open_state(settings) if settings.state_url is not None else MemoryState(
            proposal_ttl_s=settings.proposal_ttl_seconds, audit_max_rows=settings.audit_max_rows)
    else:
        backend = PagerDutyBackend.from_settings(settings, now=now)
        state = open_state(settings)
    identities = IdentityResolver(client, backend, stand_in_email=stand_in_email)
    routing = Routing(notify_routes(settings), state.notify, receiving=bool(settings.webhook_secrets),
                      scheduled=scheduled_posts(settings), default_zone=settings.scheduled_timezone)
    approvers = Approvers(client, settings.approver_group) if settings.approver_group else None
    limits = RateLimits(settings.rate_limit_per_user, settings.rate_limit_per_channel,
                        settings.rate_limit_window_seconds)
    return SlackRuntime(Agent.from_settings(settings, state.memory), backend, identities,
                        WarRooms(client, settings.warroom_pattern, defaults=routing.default_of), state.proposals,
                        approvers,
                        allow_unmapped_reads=settings.allow_unmapped_reads, state=state, rate_limits=limits,
                        dedupe_ttl_s=settings.dedupe_ttl_seconds, allowed_channels=settings.allowed_channel_ids,
                        streaming=Streaming(enabled=settings.slack_stream), notify=routing,
                        linked_tokens=open_linked_tokens(settings, in_memory=sandbox and settings.state_url is None),
                        audit_buffer=AuditBuffer(settings.audit_buffer_path
                                                 or default_buffer_path(settings.state_path)))


def web_app(app: AsyncApp | None, *, signing_secret: str | None,
            health: Callable[[], Awaitable[StateHealth]] | None = None,
            health_cache_s: float = HEALTH_CACHE_S, webhooks: WebhookReceiver | None = None) -> web.Application:
    """HTTP mode: ``POST /slack/events`` through :class:`~bot.slack.ingress.SlackIngress` (size, signature
    with ``signing_secret``, shape) into Bolt; ``GET /healthz`` with the state store's ``health`` (probed at
    most every ``health_cache_s``); with ``webhooks``, ``POST /pagerduty/webhooks`` (:mod:`bot.notify.receiver`).
    Without ``app`` (Socket Mode's webhook port) only the last two."""
    from aiohttp import web
    from slack_bolt.adapter.aiohttp import to_aiohttp_response

    from bot.logsafe import guard_bolt_verification
    from bot.slack.ingress import MAX_BODY_BYTES, TOO_LARGE, Refusal, SlackIngress

    guard_bolt_verification()
    ingress = SlackIngress(signing_secret) if signing_secret else None

    async def events(request: web.Request) -> web.Response:
        if ingress is None or app is None:  # no secret: nothing can be authenticated
            return web.json_response({"error": "invalid request"}, status=401)
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return web.json_response(TOO_LARGE.body(), status=TOO_LARGE.status)
        try:
            raw = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return web.json_response(TOO_LARGE.body(), status=TOO_LARGE.status)
        admitted = ingress.admit(raw, request.headers, request.query_string)
        if isinstance(admitted, Refusal):
            return web.json_response(admitted.body(), status=admitted.status)
        return await to_aiohttp_response(await app.async_dispatch(admitted))

    last: list[tuple[float, StateHealth]] = []
    probing = asyncio.Lock()  # one probe at a time, however many requests arrive together

    async def healthz(_: web.Request) -> web.Response:
        if health is None:
            return web.json_response({"ok": True})
        async with probing:
            if not last or time.monotonic() - last[0][0] >= health_cache_s:
                last[:] = [(time.monotonic(), await health())]
            state = last[0][1]
        return web.json_response({"ok": state.ok, "state": state.detail}, status=200 if state.ok else 503)

    application = web.Application(client_max_size=MAX_BODY_BYTES)
    if app is not None:
        application.router.add_post(EVENTS_PATH, events)
    application.router.add_get(HEALTH_PATH, healthz)
    if webhooks is not None:
        webhooks.mount(application)
    return application


async def run_http(app: AsyncApp, port: int, err: TextIO, *, signing_secret: str | None, host: str = "0.0.0.0",
                   ready: asyncio.Event | None = None,
                   health: Callable[[], Awaitable[StateHealth]] | None = None,
                   webhooks: WebhookReceiver | None = None) -> None:
    from aiohttp import web

    runner = web.AppRunner(web_app(app, signing_secret=signing_secret, health=health, webhooks=webhooks))
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        hooks = f", POST {webhooks.path}" if webhooks is not None else ""
        err.write(f"alex: HTTP mode on port {port}: POST {EVENTS_PATH}{hooks}, GET {HEALTH_PATH} (Ctrl-C stops)\n")
        if ready is not None:
            ready.set()
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


async def run_webhooks(receiver: WebhookReceiver, port: int, err: TextIO, *, host: str = "0.0.0.0",
                       ready: asyncio.Event | None = None,
                       health: Callable[[], Awaitable[StateHealth]] | None = None) -> None:
    """Socket Mode's own port for PagerDuty: ``POST /pagerduty/webhooks`` and ``GET /healthz``."""
    from aiohttp import web

    from bot.notify.events import WEBHOOK_PATH

    runner = web.AppRunner(web_app(None, signing_secret=None, health=health, webhooks=receiver))
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        err.write(f"alex: PagerDuty webhooks on port {port}: POST {WEBHOOK_PATH}, GET {HEALTH_PATH}\n")
        if ready is not None:
            ready.set()
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


async def run_socket_mode(app: AsyncApp, app_token: str, err: TextIO) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    handler = AsyncSocketModeHandler(app, app_token)
    err.write("alex: Socket Mode: connecting to Slack (Ctrl-C stops)\n")
    try:
        await handler.start_async()  # type: ignore[no-untyped-call]
    finally:
        await handler.close_async()  # type: ignore[no-untyped-call]


def _secret(value: SecretStr | None) -> str | None:
    """The secret's text; blank counts as unset."""
    if value is None:
        return None
    return value.get_secret_value().strip() or None
