"""The sandbox over real HTTP on loopback: the same answers, plus the admin routes for faults."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator

import httpx2
import pytest
from aiohttp import web

from bot.pagerduty import PagerDutyClient, PagerDutyTimeout, RetryPolicy
from bot.sandbox import DEFAULT_NOW, Sandbox, build_sandbox, default_token
from bot.sandbox.server import serve


@pytest.fixture
async def served() -> AsyncIterator[tuple[Sandbox, str]]:
    sandbox = build_sandbox("demo", now=DEFAULT_NOW)
    runner: web.AppRunner = await serve(sandbox, "127.0.0.1", 0, hang_seconds=2)
    host, port = runner.addresses[0][:2]
    try:
        yield sandbox, f"http://{host}:{port}"
    finally:
        await runner.cleanup()


async def no_sleep(seconds: float) -> None:
    return None


async def test_client_over_http_with_admin_faults(served: tuple[Sandbox, str]) -> None:
    sandbox, url = served
    async with httpx2.AsyncClient(base_url=url) as admin:
        added = await admin.post("/_sandbox/faults", json={"path": "/services", "status": 502, "times": 1})
        assert added.status_code == 201
        assert (await admin.post("/_sandbox/faults", json={"nonsense": 1})).status_code == 400
        async with PagerDutyClient(default_token("demo"), base_url=url, sleep=no_sleep) as pd:
            me = await pd.me()
            services = await pd.fetch("/services", "services")
        log = (await admin.get("/_sandbox/requests")).json()["requests"]
        health = (await admin.get("/_sandbox/health")).json()
        assert (await admin.delete("/_sandbox/faults")).json() == {"faults": []}
    assert me["email"] == "sam.rivera@acme-payments.example"
    assert {s["name"] for s in services.items} >= {"platform-engineering", "payments-api"}
    assert [(r["path"], r["status"]) for r in log][-3:] == [("/users/me", 200), ("/services", 502),
                                                            ("/services", 200)]
    assert health["ok"] is True


async def test_injected_timeout_over_http_is_a_timeout(served: tuple[Sandbox, str]) -> None:
    sandbox, url = served
    sandbox.faults.add(path="/incidents/*/notes", method="POST", timeout="before", times=1)
    incident = next(i for i in sandbox.world.incidents.values() if i.is_open)
    async with PagerDutyClient(default_token("demo"), base_url=url, timeout=httpx2.Timeout(0.3),
                               retry=RetryPolicy(max_attempts=1)) as pd:
        with pytest.raises(PagerDutyTimeout) as caught:
            await pd.post(f"/incidents/{incident.id}/notes", {"note": {"content": "x"}},
                          from_email="sam.rivera@acme-payments.example")
    assert caught.value.maybe_applied


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def test_alex_sandbox_command_serves_and_prints_url_and_token() -> None:
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.cli", "sandbox", "--port", str(port), "--now", "2026-03-10T14:00:00Z",
        "--token", "my-own-token", stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert process.stdout is not None
        banner = [(await asyncio.wait_for(process.stdout.readline(), 30)).decode() for _ in range(3)]
        assert f"http://127.0.0.1:{port}" in banner[0] and "now=2026-03-10T14:00:00Z" in banner[0]
        assert re.search(r"PAGERDUTY_USER_API_KEY=my-own-token", "".join(banner))
        async with PagerDutyClient("my-own-token", base_url=f"http://127.0.0.1:{port}") as pd:
            assert (await pd.me())["role"] == "user"
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 10) == 0
