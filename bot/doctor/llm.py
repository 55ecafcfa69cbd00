"""LLM check: the OpenAI-compatible endpoint answers ``GET /models`` and offers ``ALEX_MODEL``.

Uses httpx2 directly (``bot/agent/llm.py`` stays the only module importing ``openai``), with the same
base URL and bearer key the agent's client uses.
"""

from __future__ import annotations

import difflib

import httpx2

from bot.config import Settings
from bot.doctor.report import Check, redact

OPENAI_BASE_URL = "https://api.openai.com/v1"


def _host(url: httpx2.URL) -> str:
    return f"{url.host}:{url.port}" if url.port else url.host


async def check_llm(settings: Settings, *, transport: httpx2.AsyncBaseTransport | None = None,
                    timeout_s: float = 10.0) -> list[Check]:
    key = settings.openai_api_key.get_secret_value().strip() if settings.openai_api_key else ""
    base = (settings.openai_base_url or "").strip()
    model = settings.llm_model
    if not key and not base:
        return [Check("LLM", "endpoint", "info", "no LLM configured (OPENAI_API_KEY and OPENAI_BASE_URL unset): "
                      "command mode only", "set OPENAI_API_KEY (or OPENAI_BASE_URL for a compatible server) to "
                      "answer free-form questions")]
    try:
        url = httpx2.URL((base or OPENAI_BASE_URL).rstrip("/") + "/models")
        if url.scheme not in ("http", "https") or not url.host:
            raise httpx2.InvalidURL("not an http(s) URL")
    except httpx2.InvalidURL:
        return [Check("LLM", "endpoint", "fail", "OPENAI_BASE_URL is not a valid http(s) URL",
                      "set it to the API root, e.g. https://api.openai.com/v1 or http://localhost:11434/v1")]
    where = _host(url)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    try:
        async with httpx2.AsyncClient(transport=transport, timeout=timeout_s, follow_redirects=False) as http:
            response = await http.get(url, headers=headers)
    except httpx2.TimeoutException:
        return [Check("LLM", "endpoint", "fail", f"{where} did not answer within {timeout_s:g} s",
                      "check OPENAI_BASE_URL and that the server is up")]
    except httpx2.HTTPError as exc:
        reason = redact(str(exc), [key]) or type(exc).__name__
        return [Check("LLM", "endpoint", "fail", f"cannot reach {where}: {reason}",
                      "check OPENAI_BASE_URL, the network / proxy, and that the server is up")]
    return [_judge(response, where, model, has_key=bool(key))]


def _judge(response: httpx2.Response, where: str, model: str, *, has_key: bool) -> Check:
    status = response.status_code
    if status in (401, 403):
        fix = "check OPENAI_API_KEY (not expired, allowed on this endpoint)" if has_key else \
            "this server needs a key: set OPENAI_API_KEY"
        return Check("LLM", "endpoint", "fail", f"{where} refused the key ({status})", fix)
    if status in (404, 405):
        return Check("LLM", "model", "warn", f"{where} does not list models ({status}): cannot check "
                     f"ALEX_MODEL={model}", "if chat fails too, check OPENAI_BASE_URL includes the API prefix "
                     "(usually /v1)")
    if not response.is_success:
        return Check("LLM", "endpoint", "fail", f"{where} answered {status} to GET /models",
                     "try again later; check the provider's status page")
    try:
        data = response.json().get("data")
        ids = sorted({str(item["id"]) for item in data if isinstance(item, dict) and "id" in item})
    except (ValueError, AttributeError, TypeError):
        return Check("LLM", "model", "warn", f"{where} answered GET /models with an unexpected body: cannot check "
                     f"ALEX_MODEL={model}", "check OPENAI_BASE_URL points at an OpenAI-compatible API")
    if model in ids or f"{model}:latest" in ids:
        return Check("LLM", "model", "ok", f"{where} reachable; model {model} available")
    offer = difflib.get_close_matches(model, ids, n=3, cutoff=0.4) or ids[:5]
    more = f" (and {len(ids) - len(offer)} more)" if len(ids) > len(offer) else ""
    listed = f"; it offers {', '.join(offer)}{more}" if ids else "; it lists no models"
    return Check("LLM", "model", "fail", f"model {model} is not offered by {where}{listed}",
                 "set ALEX_MODEL to a model the endpoint offers (or pull / deploy it)")
