"""The model boundary: a small ``ChatModel`` protocol and its OpenAI adapter.

Everything else in alex talks to :class:`ChatModel` (tests use a scripted model). This is the only
module that imports ``openai``. Messages and tools use the Chat Completions shapes, which every
OpenAI-compatible server (Azure, Ollama, vLLM, LiteLLM, ...) implements.

Sampling settings are opt-in (:class:`ModelOptions`): nothing is sent that the person did not set,
because reasoning models (GPT-5 family, o-series) answer 400 to any ``temperature`` but the default and
some servers reject ``parallel_tool_calls`` or ``reasoning_effort``. Should the server still answer 400
naming one of them (``param``/``code`` ``unsupported_parameter``/``unsupported_value``), the request is
sent once more without it, and it stays off for this process, with one warning naming the setting.

Streaming: ``complete(..., on_text=...)`` asks for ``stream=true`` and hands each text delta to
``on_text`` as it arrives; tool-call deltas are assembled into whole calls. The reply is the same
:class:`ModelReply` either way.

Error taxonomy: every failure to get an answer (timeout, connection, 5xx, 429 after retries, auth,
a refused request, an empty response) is :class:`ModelUnavailable`; a 4xx the server meant (an unknown
model, a refused parameter) is its subclass :class:`ModelRefused`, whose text is "The model refused the
request: <the server's message>". Texts never carry the API key.

``openai`` is imported when an :class:`OpenAIChatModel` is made, not with this module: the protocol and
the error types are needed by every command, the SDK (most of a second to import) only with a model.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, cast

import httpx2
from pydantic import SecretStr

from bot.agent.turn import Usage

if TYPE_CHECKING:
    import openai
    from openai.types.chat import ChatCompletion, ChatCompletionChunk

    from bot.config import Settings

log = logging.getLogger("bot.agent.llm")

NO_KEY_PLACEHOLDER = "not-needed"
"""Sent as the key to an OPENAI_BASE_URL server that needs none (Ollama, vLLM without auth)."""


class ModelUnavailable(Exception):
    """The model could not answer (timeout, connection, 5xx, auth, refused request, empty response)."""


class ModelRefused(ModelUnavailable):
    """The model server refused the request itself (a 4xx such as an unknown model): a setting to fix."""


ReasoningEffort = Literal["none", "minimal", "low", "medium", "high"]
TextSink = Callable[[str], Awaitable[None]]
"""Receives the model's text as it streams in."""
OPTIONAL_PARAMS = {"temperature": "ALEX_TEMPERATURE", "parallel_tool_calls": "ALEX_PARALLEL_TOOL_CALLS",
                   "reasoning_effort": "ALEX_REASONING_EFFORT", "strict": "ALEX_STRICT_TOOLS",
                   "stream_options": "ALEX_LLM_STREAM"}
"""Request parameters alex may drop after a 400, and the setting that sends each."""
_REFUSAL_WORDS = ("unsupported", "not supported", "does not support", "extra inputs are not permitted",
                  "unrecognized request argument", "unknown parameter")


@dataclass(frozen=True, slots=True)
class ModelOptions:
    """What is sent besides the messages and tools; None means "not sent" (the server's default)."""

    temperature: float | None = None
    reasoning_effort: ReasoningEffort | None = None
    parallel_tool_calls: bool | None = None
    strict_tools: bool = True
    stream: bool = True
    """Stream when the caller listens for text (``on_text``); off: always one response."""


@dataclass(frozen=True, slots=True)
class ModelToolCall:
    """One function call the model asked for; ``arguments`` is the raw JSON text, unvalidated."""

    id: str
    name: str
    arguments: str


@dataclass(slots=True)
class ModelReply:
    """One model response: text, tool calls, or both."""

    text: str | None
    tool_calls: list[ModelToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)


class ChatModel(Protocol):
    """What the agent loop needs from a model: one Chat Completions round trip."""

    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *,
                       on_text: TextSink | None = None) -> ModelReply:
        """Answer ``messages``; ``tools`` is the OpenAI ``tools`` list (empty: text only); ``on_text``
        (optional) hears the answer's text as it streams in."""
        ...

    async def aclose(self) -> None: ...


class OpenAIChatModel:
    """:class:`ChatModel` over the Chat Completions API (OpenAI or any compatible server)."""

    def __init__(
        self,
        *,
        model: str,
        api_key: SecretStr | None = None,
        base_url: str | None = None,
        timeout_s: float = 30.0,
        max_retries: int = 1,
        options: ModelOptions | None = None,
        http_client: httpx2.AsyncClient | None = None,
    ) -> None:
        self.model = model
        self.options = options or ModelOptions()
        self.dropped: set[str] = set()
        """Optional parameters the server refused: not sent again by this process."""
        key = api_key.get_secret_value() if api_key is not None else ""
        self._secrets = tuple(s for s in (key,) if len(s) >= 4)
        import openai

        # Explicit timeout and retries: the openai defaults (600 s, 2 retries) are far too long for a chat reply.
        self._client = openai.AsyncOpenAI(
            api_key=key or NO_KEY_PLACEHOLDER,
            base_url=base_url or None,
            timeout=httpx2.Timeout(timeout_s, connect=min(5.0, timeout_s)),
            max_retries=max_retries,
            http_client=http_client,
        )

    def __repr__(self) -> str:
        return f"OpenAIChatModel(model={self.model!r}, base_url={str(self._client.base_url)!r})"

    async def complete(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], *,
                       on_text: TextSink | None = None) -> ModelReply:
        import openai

        sink = on_text if self.options.stream else None
        while True:  # bounded: each pass drops one more optional parameter, or ends
            try:
                return await self._request(messages, tools, sink)
            except openai.BadRequestError as exc:
                param = self._unsupported(exc)
                if param is None:
                    raise self._failure(exc) from None
                self.dropped.add(param)
                log.warning("the model server refused %s for %s: alex no longer sends it (set by %s; "
                            "unset it to silence this)", param, self.model, OPTIONAL_PARAMS[param])
            except openai.APIError as exc:
                raise self._failure(exc) from None

    async def aclose(self) -> None:
        await self._client.close()

    async def models(self) -> list[str]:
        """The model ids the endpoint offers (``GET /models``)."""
        import openai

        try:
            page = await self._client.models.list()
        except openai.APIError as exc:
            raise self._failure(exc) from None
        return [m.id for m in page.data]

    # -- the request -------------------------------------------------------------------------------
    def request_options(self, tools: list[dict[str, Any]], *, stream: bool) -> dict[str, Any]:
        """The keyword arguments besides ``model`` and ``messages`` (what the server will receive)."""
        chosen = self.options
        options: dict[str, Any] = {}
        if chosen.temperature is not None and "temperature" not in self.dropped:
            options["temperature"] = chosen.temperature
        if chosen.reasoning_effort is not None and "reasoning_effort" not in self.dropped:
            options["reasoning_effort"] = chosen.reasoning_effort
        if tools:
            strict = chosen.strict_tools and "strict" not in self.dropped
            options["tools"] = tools if strict else [_without_strict(t) for t in tools]
            if chosen.parallel_tool_calls is not None and "parallel_tool_calls" not in self.dropped:
                options["parallel_tool_calls"] = chosen.parallel_tool_calls
        if stream:
            options["stream"] = True
            if "stream_options" not in self.dropped:
                options["stream_options"] = {"include_usage": True}
        return options

    async def _request(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]],
                       on_text: TextSink | None) -> ModelReply:
        options = {"model": self.model, "messages": messages,
                   **self.request_options(tools, stream=on_text is not None)}
        if on_text is None:
            completion: ChatCompletion = await self._client.chat.completions.create(**options)
            return self._reply(completion)
        chunks = await self._client.chat.completions.create(**options)
        return await _assemble(chunks, on_text)

    def _unsupported(self, exc: openai.BadRequestError) -> str | None:
        """The optional parameter a 400 refuses (not yet dropped), or None when it is about something else."""
        error = _error_body(exc)
        code = str(error.get("code") or exc.code or "")
        param = str(error.get("param") or exc.param or "")
        message = str(error.get("message") or exc.message).lower()
        if code not in ("unsupported_parameter", "unsupported_value", "extra_forbidden") \
                and not any(words in message for words in _REFUSAL_WORDS):
            return None
        candidates = [p for p in OPTIONAL_PARAMS if p not in self.dropped]
        named = next((p for p in candidates if p == param.rsplit(".", 1)[-1]), None)
        return named or next((p for p in candidates if p in message), None)

    def _reply(self, completion: ChatCompletion) -> ModelReply:
        if not completion.choices:
            raise ModelUnavailable("The model returned no answer.")
        message = completion.choices[0].message
        calls = [ModelToolCall(call.id, call.function.name, call.function.arguments or "")
                 for call in message.tool_calls or () if call.type == "function"]
        usage = Usage()
        if completion.usage is not None:
            usage = Usage(completion.usage.prompt_tokens, completion.usage.completion_tokens)
        return ModelReply(message.content or message.refusal, calls, usage)

    def _failure(self, exc: openai.APIError) -> ModelUnavailable:
        status = cast("int | None", getattr(exc, "status_code", None))
        refused = (status is not None and 400 <= status < 500 and status not in (401, 403, 408, 429))
        return (ModelRefused if refused else ModelUnavailable)(self._describe(exc))

    def _describe(self, exc: openai.APIError) -> str:
        import openai

        if isinstance(exc, openai.APITimeoutError):
            return "The model did not answer in time."
        if isinstance(exc, openai.APIConnectionError):
            return "The model server could not be reached."
        status = cast("int | None", getattr(exc, "status_code", None))
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return f"The model server rejected the credentials (HTTP {status}): check OPENAI_API_KEY."
        if isinstance(exc, openai.RateLimitError):
            return "The model server is rate limiting or out of quota (HTTP 429)."
        if status is not None and 400 <= status < 500:
            # Worth showing (an unknown model, an oversized request), with any secret scrubbed.
            return f"The model refused the request (HTTP {status}): {self._scrub(_server_message(exc))}"
        if status is not None:
            return f"The model server failed (HTTP {status})."
        return f"The model server failed ({type(exc).__name__})."

    def _scrub(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[redacted]")
        return " ".join(part if not part.startswith(("sk-", "'sk-", '"sk-')) else "[redacted]"
                        for part in text.split(" "))[:300]


async def _assemble(chunks: Any, on_text: TextSink) -> ModelReply:
    """One :class:`ModelReply` from a stream: text deltas passed on as they come, tool calls joined by index."""
    text: list[str] = []
    calls: dict[int, dict[str, str]] = {}
    usage = Usage()
    seen = False
    async for chunk in chunks:
        chunk = cast("ChatCompletionChunk", chunk)
        if chunk.usage is not None:
            usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
        for choice in chunk.choices[:1]:
            seen = True
            delta = choice.delta
            piece = delta.content or delta.refusal
            if piece:
                text.append(piece)
                await on_text(piece)
            for call in delta.tool_calls or ():
                slot = calls.setdefault(call.index, {"id": "", "name": "", "arguments": ""})
                slot["id"] = call.id or slot["id"]
                if call.function is not None:
                    slot["name"] += call.function.name or ""
                    slot["arguments"] += call.function.arguments or ""
    if not seen:
        raise ModelUnavailable("The model returned no answer.")
    tool_calls = [ModelToolCall(c["id"] or f"call_{i}", c["name"], c["arguments"])
                  for i, c in sorted(calls.items()) if c["name"]]
    return ModelReply("".join(text) or None, tool_calls, usage)


def _without_strict(tool: dict[str, Any]) -> dict[str, Any]:
    function = {k: v for k, v in (tool.get("function") or {}).items() if k != "strict"}
    return {**tool, "function": function}


def _error_body(exc: openai.APIError) -> dict[str, Any]:
    """The server's ``error`` object (openai passes either it or the whole body)."""
    body: dict[str, Any] = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    return error if isinstance(error, dict) else body


def _server_message(exc: openai.APIError) -> str:
    return str(_error_body(exc).get("message") or exc.message)


def make_chat_model(settings: Settings, *, http_client: httpx2.AsyncClient | None = None) -> ChatModel | None:
    """The configured model, or None when neither OPENAI_API_KEY nor OPENAI_BASE_URL is set (command mode)."""
    key = settings.openai_api_key
    if key is not None and not key.get_secret_value().strip():
        key = None
    base_url = (settings.openai_base_url or "").strip() or None
    if key is None and base_url is None:
        return None
    options = ModelOptions(temperature=settings.llm_temperature, reasoning_effort=settings.llm_reasoning_effort,
                           parallel_tool_calls=settings.llm_parallel_tool_calls, strict_tools=settings.llm_strict_tools,
                           stream=settings.llm_stream)
    return OpenAIChatModel(model=settings.llm_model, api_key=key, base_url=base_url,
                           timeout_s=settings.llm_timeout_seconds, max_retries=settings.llm_max_retries,
                           options=options, http_client=http_client)
