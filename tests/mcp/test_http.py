"""``alex mcp --http``: a real uvicorn on loopback, the bearer token on every request, bounded bodies, and the
SDK's streamable HTTP client against the sandbox (both protocol eras, a write confirmed by elicitation)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator

import httpx2
import mcp.types as types
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from bot.mcp.http import MAX_BODY_BYTES, PATH, config, http_app
from tests.mcp.conftest import MODES, Person, Serve, Served

TOKEN = "mcp-DUMMY-token-0123456789abcdef"
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                         "clientInfo": {"name": "test", "version": "1"}}}
ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture
def running(serve: Serve) -> Iterator[tuple[str, Served]]:
    """``alex mcp --http`` with write tools, on a free loopback port, in its own thread and event loop."""
    served = serve(writes=True)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(config(http_app(served.alex.server(), TOKEN, host="127.0.0.1"), host="127.0.0.1",
                                   port=port))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    assert server.started
    try:
        yield f"http://127.0.0.1:{port}{PATH}", served
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


async def test_every_request_needs_the_bearer_token(running: tuple[str, Served]) -> None:
    url, _ = running
    async with httpx2.AsyncClient(timeout=10) as http:
        for headers in ({}, {"Authorization": "Bearer wrong-token"}, {"Authorization": f"Basic {TOKEN}"},
                        {"Authorization": f"Bearer {TOKEN}x"}):
            refused = await http.post(url, json=INITIALIZE, headers=ACCEPT | headers)
            assert refused.status_code == 401, headers
            assert refused.headers["www-authenticate"].startswith("Bearer")
            assert TOKEN not in refused.text
        allowed = await http.post(url, json=INITIALIZE, headers=ACCEPT | {"Authorization": f"Bearer {TOKEN}"})
        assert allowed.status_code == 200, allowed.text


async def test_a_body_over_the_bound_is_refused(running: tuple[str, Served]) -> None:
    url, _ = running
    async with httpx2.AsyncClient(timeout=10) as http:
        big = b'{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"' + b"x" * MAX_BODY_BYTES + b'"}}'
        refused = await http.post(url, content=big, headers=ACCEPT | {"Authorization": f"Bearer {TOKEN}"})
    assert refused.status_code == 413


@pytest.mark.parametrize("mode", MODES)
async def test_the_sdk_client_reads_and_confirms_a_write_over_http(running: tuple[str, Served], mode: str,
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    url, served = running
    caplog.set_level(logging.DEBUG)
    person = Person("yes")
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10) as http:
        transport = streamable_http_client(url, http_client=http)
        async with Client(transport, mode=mode, elicitation_callback=person) as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            assert "acknowledge_incidents" in names and "confirm_proposal" not in names
            oncall = await client.call_tool("who_is_on_call", {"target": "platform-engineering"})
            assert not oncall.is_error and isinstance(oncall.structured_content, dict)
            done = await client.call_tool("acknowledge_incidents", {"incidents": ["1252"]})
    assert done.structured_content is not None and done.structured_content["state"] == "done"
    assert len(person.asked) == 1 and served.status(1252) == "acknowledged"
    assert all(isinstance(block, types.TextContent) for block in done.content)
    assert TOKEN not in caplog.text
