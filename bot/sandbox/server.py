"""Serve a :class:`~bot.sandbox.app.Sandbox` over HTTP with aiohttp.

Every path is answered by the sandbox, except the admin routes under ``/_sandbox/``:

* ``GET /_sandbox/health`` — liveness and the sandbox's current time;
* ``GET|POST|DELETE /_sandbox/faults`` — list, add (a :class:`~bot.sandbox.faults.Fault` as JSON) or clear
  injected faults;
* ``GET /_sandbox/requests`` — the last requests received (method, path, From, status);
* ``POST /_sandbox/events`` — publish one webhook event for an incident as it is now
  (``{"incident_id", "event_type"?, "agent_id"?, "responder_id"?, "message"?}``, see
  :meth:`~bot.sandbox.webhooks.Webhooks.fire`); 202 with the payload and its deliveries;
* ``GET /_sandbox/webhook_deliveries`` — the last webhook deliveries (state, attempts; never a secret).

Every answer outside ``/_sandbox/`` is PagerDuty-shaped JSON, also where aiohttp itself refuses a request
(a body over 2 MiB, a path no route pattern takes): see :func:`_json_errors`. ``self`` links use the base
URL the request came to (scheme and ``Host``), unless the sandbox has a ``public_url``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.sandbox.app import Sandbox, to_sandbox_request
from bot.sandbox.faults import Fault
from bot.sandbox.http import iso
from bot.sandbox.serialize import links_under

ADMIN_PREFIX = "/_sandbox"
TIMEOUT_HANG_SECONDS = 60.0
"""How long an injected timeout keeps the connection silent; longer than any sane client timeout."""
_HOST_RE = re.compile(r"^[A-Za-z0-9.\-]{1,253}(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]{2,45}\](?::\d{1,5})?$")
"""A ``Host`` header fit to build links from: a name or IPv4 address, or a bracketed IPv6 one, and a port."""
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def make_app(sandbox: Sandbox, *, hang_seconds: float = TIMEOUT_HANG_SECONDS) -> web.Application:
    app = web.Application(client_max_size=2 * 1024 * 1024, middlewares=[_json_errors])
    app.router.add_get(f"{ADMIN_PREFIX}/health", _health(sandbox))
    app.router.add_route("*", f"{ADMIN_PREFIX}/faults", _faults(sandbox))
    app.router.add_get(f"{ADMIN_PREFIX}/requests", _requests(sandbox))
    app.router.add_post(f"{ADMIN_PREFIX}/events", _events(sandbox))
    app.router.add_get(f"{ADMIN_PREFIX}/webhook_deliveries", _deliveries(sandbox))

    async def stop_webhooks(app: web.Application) -> None:
        await sandbox.webhooks.aclose()

    app.on_cleanup.append(stop_webhooks)
    # [\s\S]: every path reaches the sandbox, one with an encoded newline too ("." stops at one).
    app.router.add_route("*", r"/{tail:[\s\S]*}", _api(sandbox, hang_seconds))
    return app


@web.middleware
async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's own refusals (413, 404, 405) as PagerDuty's JSON error body instead of plain text."""
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        code = 2100 if error.status in (404, 405) else 2001
        headers = {"allow": error.headers["Allow"]} if "Allow" in error.headers else {}
        body = {"error": {"message": error.reason, "code": code, "errors": [error.text or error.reason]}}
        return web.json_response(body, status=error.status, headers=headers)


def base_url_of(request: web.Request) -> str:
    """``scheme://host[:port]`` the request came to; the bound address when ``Host`` is unfit for links."""
    host = request.headers.get("Host", "")
    if not _HOST_RE.match(host):
        sockname = request.transport.get_extra_info("sockname") if request.transport else None
        host = f"{sockname[0]}:{sockname[1]}" if sockname else "127.0.0.1"
    return f"{request.scheme}://{host}"


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


def _api(sandbox: Sandbox, hang_seconds: float) -> Any:
    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        sandbox_request = to_sandbox_request(request.method, request.path, request.query.items(),
                                             request.headers.items(), body, base_url=base_url_of(request))
        latency, fault = sandbox.faults.take(sandbox_request)
        if latency:
            await asyncio.sleep(latency)
        if fault is not None and fault.timeout is not None:
            if fault.timeout == "after":
                sandbox.dispatch(sandbox_request)
            await asyncio.sleep(hang_seconds)
        response = sandbox.dispatch(sandbox_request, fault)
        headers = {k: v for k, v in response.headers.items() if k != "content-type"}
        return web.Response(status=response.status, body=response.encode(), headers=headers,
                            content_type="application/json")

    return handle


def _health(sandbox: Sandbox) -> Any:
    async def handle(request: web.Request) -> web.Response:
        return _json({"ok": True, "now": iso(sandbox.now)})

    return handle


def _faults(sandbox: Sandbox) -> Any:
    fields = {f.name for f in dataclasses.fields(Fault)} - {"fired"}

    async def handle(request: web.Request) -> web.Response:
        if request.method == "POST":
            try:
                spec = await request.json()
                unknown = set(spec) - fields
                if unknown:
                    return _json({"error": f"unknown fault fields: {sorted(unknown)}"}, 400)
                rule = sandbox.faults.add(Fault(**spec))
            except (ValueError, TypeError) as exc:
                return _json({"error": f"invalid fault: {exc}"}, 400)
            return _json({"fault": rule.as_dict()}, 201)
        if request.method == "DELETE":
            sandbox.faults.clear()
            return _json({"faults": []})
        return _json({"faults": [rule.as_dict() for rule in sandbox.faults.rules()]})

    return handle


def _requests(sandbox: Sandbox) -> Any:
    async def handle(request: web.Request) -> web.Response:
        recent = list(sandbox.requests)[-200:]
        return _json({"requests": [dataclasses.asdict(r) for r in recent]})

    return handle


_EVENT_FIELDS = ("incident_id", "event_type", "agent_id", "responder_id", "message")


def _events(sandbox: Sandbox) -> Any:
    async def handle(request: web.Request) -> web.Response:
        try:
            spec = await request.json()
        except ValueError:
            return _json({"error": "the body must be JSON"}, 400)
        if not isinstance(spec, dict) or not isinstance(spec.get("incident_id"), str | int):
            return _json({"error": "incident_id is required (an incident's ID or number)"}, 400)
        unknown = set(spec) - set(_EVENT_FIELDS)
        if unknown or not all(isinstance(spec.get(k, ""), str) for k in _EVENT_FIELDS[1:]):
            return _json({"error": f"fields are {', '.join(_EVENT_FIELDS)} (strings)"}, 400)
        try:
            with links_under(sandbox.public_url or base_url_of(request)):
                fired = sandbox.webhooks.fire(
                    str(spec["incident_id"]), spec.get("event_type", "incident.triggered"),
                    agent_id=spec.get("agent_id"), responder_id=spec.get("responder_id"),
                    message=spec.get("message"))
        except LookupError as exc:
            return _json({"error": str(exc).strip("'\"")}, 404)
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"event": fired.event.payload()["event"],
                      "deliveries": [d.as_dict() for d in fired.deliveries]}, 202)

    return handle


def _deliveries(sandbox: Sandbox) -> Any:
    async def handle(request: web.Request) -> web.Response:
        recent = list(sandbox.webhooks.deliveries)[-200:]
        return _json({"deliveries": [d.as_dict() for d in recent]})

    return handle


async def serve(sandbox: Sandbox, host: str, port: int, *,
                hang_seconds: float = TIMEOUT_HANG_SECONDS,
                ssl_context: ssl.SSLContext | None = None) -> web.AppRunner:
    """Start serving in the running loop (port 0 picks a free one: see ``runner.addresses``); over
    HTTPS with ``ssl_context`` (see :mod:`bot.sandbox.tls`).

    The caller keeps the runner and calls ``cleanup()``.
    """
    runner = web.AppRunner(make_app(sandbox, hang_seconds=hang_seconds), access_log=None, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, host, port, ssl_context=ssl_context).start()
    return runner
