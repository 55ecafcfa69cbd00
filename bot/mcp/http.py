"""``alex mcp --http PORT``: streamable HTTP at ``/mcp``, for a bearer token only.

* Every HTTP request must send ``Authorization: Bearer <ALEX_MCP_TOKEN>``; the check (in constant time,
  on digests) comes before anything reads the request, and a refusal is a 401 that says nothing more.
* Bodies are bounded (:data:`MAX_BODY_BYTES`, 413 past it: the SDK's own limit, set lower).
* The default address is loopback (``127.0.0.1``), where the SDK also checks ``Host`` and ``Origin``
  against loopback names (DNS rebinding); another ``--host`` is the operator's choice.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import uvicorn
from mcp.server import Server
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

PATH = "/mcp"
MAX_BODY_BYTES = 256 * 1024
"""Far more than a tool call needs (arguments are a few hundred characters; a note at most 25,000)."""
UNAUTHORIZED = {"error": "unauthorized", "message": "Send Authorization: Bearer <the server's ALEX_MCP_TOKEN>."}


class BearerToken:
    """ASGI middleware: HTTP requests without the right bearer token get 401 before the app sees them."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self._digest = hashlib.sha256(token.encode()).digest()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.allowed(Headers(scope=scope).get("authorization", "")):
            response = JSONResponse(UNAUTHORIZED, status_code=401, headers={"WWW-Authenticate": 'Bearer realm="alex"'})
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def allowed(self, header: str) -> bool:
        scheme, _, value = header.strip().partition(" ")
        digest = hashlib.sha256(value.strip().encode()).digest()
        return hmac.compare_digest(digest, self._digest) and scheme.lower() == "bearer"


def http_app(server: Server[Any], token: str, *, host: str) -> ASGIApp:
    """The streamable HTTP app of ``server`` at :data:`PATH`, behind the bearer token."""
    app = server.streamable_http_app(streamable_http_path=PATH, max_request_body_size=MAX_BODY_BYTES, host=host)
    return BearerToken(app, token)


def config(app: ASGIApp, *, host: str, port: int) -> uvicorn.Config:
    """How uvicorn serves it: no access log (tool arguments are the person's), lifespan on (the SDK's sessions)."""
    return uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="on",
                          server_header=False)


async def serve(server: Server[Any], token: str, *, host: str, port: int) -> None:
    await uvicorn.Server(config(http_app(server, token, host=host), host=host, port=port)).serve()
