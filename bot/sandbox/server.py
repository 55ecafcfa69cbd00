"""Serve a :class:`~bot.sandbox.app.Sandbox` over HTTP with aiohttp.

Every path is answered by the sandbox, except the admin routes under ``/_sandbox/``:

* ``GET /_sandbox/health`` — liveness and the sandbox's current time;
* ``GET|POST|DELETE /_sandbox/faults`` — list, add (a :class:`~bot.sandbox.faults.Fault` as JSON) or clear
  injected faults;
* ``GET /_sandbox/requests`` — the last requests received (method, path, From, status).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any

from aiohttp import web

from bot.sandbox.app import Sandbox, to_sandbox_request
from bot.sandbox.faults import Fault
from bot.sandbox.http import iso

ADMIN_PREFIX = "/_sandbox"
TIMEOUT_HANG_SECONDS = 60.0
"""How long an injected timeout keeps the connection silent; longer than any sane client timeout."""


def make_app(sandbox: Sandbox, *, hang_seconds: float = TIMEOUT_HANG_SECONDS) -> web.Application:
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app.router.add_get(f"{ADMIN_PREFIX}/health", _health(sandbox))
    app.router.add_route("*", f"{ADMIN_PREFIX}/faults", _faults(sandbox))
    app.router.add_get(f"{ADMIN_PREFIX}/requests", _requests(sandbox))
    app.router.add_route("*", "/{tail:.*}", _api(sandbox, hang_seconds))
    return app


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


def _api(sandbox: Sandbox, hang_seconds: float) -> Any:
    async def handle(request: web.Request) -> web.StreamResponse:
        body = await request.read()
        sandbox_request = to_sandbox_request(request.method, request.path, request.query.items(),
                                             request.headers.items(), body)
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


async def serve(sandbox: Sandbox, host: str, port: int, *,
                hang_seconds: float = TIMEOUT_HANG_SECONDS) -> web.AppRunner:
    """Start serving in the running loop (port 0 picks a free one: see ``runner.addresses``).

    The caller keeps the runner and calls ``cleanup()``.
    """
    runner = web.AppRunner(make_app(sandbox, hang_seconds=hang_seconds), access_log=None, shutdown_timeout=1)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
