"""LLM check: the OpenAI-compatible endpoint answers ``GET /models`` and offers ``ALEX_MODEL``, then one
tiny chat request with the settings alex sends (``ALEX_TEMPERATURE``, ``ALEX_REASONING_EFFORT``,
``ALEX_PARALLEL_TOOL_CALLS``, strict tools) shows whether the model accepts them.

Uses httpx2 directly (``bot/agent/llm.py`` stays the only module importing ``openai``), with the same
base URL and bearer key the agent's client uses.
"""

from __future__ import annotations

import difflib

import httpx2

from bot.agent.llm import OPTIONAL_PARAMS
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
    async with httpx2.AsyncClient(transport=transport, timeout=timeout_s, follow_redirects=False) as http:
        try:
            response = await http.get(url, headers=headers)
        except httpx2.TimeoutException:
            return [Check("LLM", "endpoint", "fail", f"{where} did not answer within {timeout_s:g} s",
                          "check OPENAI_BASE_URL and that the server is up")]
        except httpx2.HTTPError as exc:
            reason = redact(str(exc), [key]) or type(exc).__name__
            return [Check("LLM", "endpoint", "fail", f"cannot reach {where}: {reason}",
                          "check OPENAI_BASE_URL, the network / proxy, and that the server is up")]
        models = _judge(response, where, model, has_key=bool(key))
        if models.status == "fail":
            return [models]
        chat = httpx2.URL((base or OPENAI_BASE_URL).rstrip("/") + "/chat/completions")
        return [models, await _chat(http, chat, headers, settings, where)]


_PROBE_FUNCTION: dict[str, object] = {
    "name": "ping", "description": "Answer ping.", "strict": True,
    "parameters": {"type": "object", "properties": {"ok": {"type": ["boolean", "null"]}}, "required": ["ok"],
                   "additionalProperties": False}}
async def _chat(http: httpx2.AsyncClient, url: httpx2.URL, headers: dict[str, str], settings: Settings,
                where: str) -> Check:
    """One small chat request with tools, sent with exactly the optional settings alex would send."""
    function = {k: v for k, v in _PROBE_FUNCTION.items() if settings.llm_strict_tools or k != "strict"}
    tool = {"type": "function", "function": function}
    body: dict[str, object] = {"model": settings.llm_model, "tools": [tool],
                               "messages": [{"role": "user", "content": "Reply with the word OK."}]}
    for name, value in (("temperature", settings.llm_temperature), ("reasoning_effort", settings.llm_reasoning_effort),
                        ("parallel_tool_calls", settings.llm_parallel_tool_calls)):
        if value is not None:
            body[name] = value
    try:
        response = await http.post(url, headers=headers, json=body)
    except httpx2.HTTPError as exc:
        return Check("LLM", "chat", "warn", f"{where} did not answer a chat request ({type(exc).__name__})",
                     "check the server's logs; alex falls back to command mode when the model fails")
    if response.is_success:
        return Check("LLM", "chat", "ok", f"{settings.llm_model} answers a chat request with alex's settings")
    error = _error(response)
    message = str(error.get("message") or response.reason_phrase)[:300]
    param = str(error.get("param") or "").rsplit(".", 1)[-1]
    named = param if param in OPTIONAL_PARAMS else next((p for p in OPTIONAL_PARAMS if p in message.lower()), None)
    if response.status_code == 400 and named is not None:
        return Check("LLM", "chat", "warn", f"the model refuses {named}: {message}",
                     f"unset {OPTIONAL_PARAMS[named]} (alex drops it after the first refusal, with a warning)")
    if 400 <= response.status_code < 500:
        return Check("LLM", "chat", "fail", f"the model refused the request ({response.status_code}): {message}",
                     "check ALEX_MODEL (for Azure: the deployment name) and the endpoint's access to it")
    return Check("LLM", "chat", "warn", f"{where} failed a chat request ({response.status_code})",
                 "try again later; check the provider's status page")


def _error(response: httpx2.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else body if isinstance(body, dict) else {}


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
